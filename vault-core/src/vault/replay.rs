//! Replay: a parsed file's records in, the vault's state out, every rule
//! of docs/FORMAT.md checked on the way.

use std::collections::BTreeMap;

use super::deposit::DepositAttrs;
use super::entries::NewVersion;
use super::{DrillEvent, Placed, Tip, Vault};
use crate::log::{self, Frame, Log, LogError};
use crate::record::{DepositRef, Record, Unseal};

/// The file's records do not make a consistent vault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Framing or chain damage, or not a vault.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A record that decodes but breaks the vault's rules.
    #[error("record #{record} at offset {offset}: {why}")]
    Invalid {
        /// 1-based record number.
        record: usize,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        why: String,
    },
}

impl Vault {
    /// Replays a parsed file into a vault, checking every rule. Every
    /// record is kept ([`Vault::records`]): for files already in memory.
    pub fn replay(log: &Log) -> Result<Self, ReplayError> {
        let mut frames = log.frames.iter();
        let mut vault = Self::begin(frames.next(), true)?;
        for (i, frame) in frames.enumerate() {
            vault.replay_frame(frame, i + 2)?;
        }
        vault.finish()?;
        Ok(vault)
    }

    /// Ends a replay fed one frame at a time: a rekeyed format 2 file must
    /// reach the record that closes its rekey (FORMAT.md §14.5).
    pub fn finish(&self) -> Result<(), ReplayError> {
        self.trust
            .complete(self.count)
            .map_err(|why| ReplayError::Invalid {
                record: self.count,
                offset: self.end,
                why,
            })
    }

    /// Starts a replay at the file's first record, which must be a genesis
    /// record (`None`: the file has none). With `keep`, every record
    /// replayed is kept in [`Vault::records`]; without it the vault holds
    /// only its state (entries, drills, checks), so a replay fed one frame
    /// at a time ([`Vault::replay_frame`]) stays as small as that state
    /// whatever the records name.
    pub fn begin(first: Option<&Frame>, keep: bool) -> Result<Self, ReplayError> {
        let first = first.ok_or_else(|| ReplayError::Invalid {
            record: 1,
            offset: log::HEADER_LEN as u64,
            why: "the file has no records: it is not a complete vault".into(),
        })?;
        let genesis = match decode(first, 1)? {
            Record::Genesis(g) => g,
            _ => {
                return Err(invalid(
                    first,
                    1,
                    "the first record is not a genesis record",
                ))
            }
        };
        let trust =
            super::trust::Trust::begin(&genesis, first).map_err(|why| invalid(first, 1, &why))?;
        let mut records = Vec::new();
        if keep {
            records.push(Placed {
                record: Record::Genesis(genesis.clone()),
                frame: first.clone(),
            });
        }
        Ok(Self {
            genesis,
            genesis_hash: first.hash,
            entries: Default::default(),
            records,
            keep,
            source: None,
            head: first.hash,
            drills: Vec::new(),
            verifications: BTreeMap::new(),
            count: 1,
            end: frame_end(first),
            last: first.offset,
            whole: true,
            earlier: Vec::new(),
            checked_through: 0,
            sessions: Vec::new(),
            reissues: Vec::new(),
            trust,
        })
    }

    /// Replays the record in `frame`, number `number`, which must follow
    /// the records replayed so far.
    pub fn replay_frame(&mut self, frame: &Frame, number: usize) -> Result<(), ReplayError> {
        // A deposit not kept is read where it lies (most of a fleet
        // vault's records): the same checks as `apply`, no copies.
        if !self.keep {
            if let Some(decoded) = DepositRef::decode(frame.kind, &frame.body) {
                let d = decoded.map_err(|e| decode_error(frame, number, e))?;
                self.trust
                    .check_deposit(frame, number)
                    .map_err(|why| invalid(frame, number, &why))?;
                self.apply_deposit(&d, frame, number)?;
                self.advance(frame);
                return Ok(());
            }
        }
        let record = decode(frame, number)?;
        self.apply(record, frame, number)
    }

    /// A vault of its genesis and some deposits only (found through the
    /// index), each given with its record number, in file order: enough to
    /// check shares, deposit, and reveal those entries. `entries()` then
    /// holds just the entries those deposits make, which must be every
    /// version of each (replay's version rules are checked). Nothing else
    /// is replayed: exposure, drills and share checks are not known here.
    ///
    /// `earlier` are records 2, 3, … as long as each is a History record
    /// holding a genesis: after g − 1 rekeys, the geneses of generations
    /// g − 1 down to 1 (a rekey carries the old file's records over in
    /// order, its genesis first). So a share of an earlier generation is
    /// named as such, not as altered.
    pub fn partial(
        genesis: &Frame,
        earlier: &[Frame],
        deposits: &[(Frame, usize)],
        tip: Tip,
    ) -> Result<Self, ReplayError> {
        let mut vault = Self::begin(Some(genesis), true)?;
        for (i, frame) in earlier.iter().enumerate() {
            let record = decode(frame, i + 2)?;
            if !matches!(&record, Record::History(h) if crate::record::kind::is_genesis(h.kind)) {
                break;
            }
            vault.apply(record, frame, i + 2)?;
        }
        for (frame, number) in deposits {
            // Record numbers come from the index, which anyone who can
            // write beside the vault can rewrite: record 1 is the genesis.
            if *number < 2 {
                return Err(invalid(frame, 1, "the index names record #1 as a deposit"));
            }
            match decode(frame, *number)? {
                record @ Record::Deposit(_) => vault.apply(record, frame, *number)?,
                _ => {
                    return Err(invalid(
                        frame,
                        *number,
                        "the index points to a record that is not a deposit",
                    ))
                }
            }
        }
        vault.head = tip.head;
        vault.end = tip.end;
        vault.last = tip.last;
        vault.count = tip.records;
        vault.whole = false;
        Ok(vault)
    }

    /// Adds `record` after the current head, as an append would, and
    /// returns its frame bytes: for writing many records in one go (import)
    /// with each built against the state the ones before it made.
    pub fn push(&mut self, record: Record) -> Result<Vec<u8>, ReplayError> {
        let body = record.encode_body();
        let (bytes, hash) = log::encode_frame(&self.head, record.kind(), &body);
        let frame = Frame {
            offset: self.end,
            kind: record.kind(),
            body,
            prev: self.head,
            hash,
        };
        let number = self.count + 1;
        self.apply(record, &frame, number)?;
        Ok(bytes)
    }

    fn apply(&mut self, record: Record, frame: &Frame, number: usize) -> Result<(), ReplayError> {
        self.trust
            .check(&record, frame, number)
            .map_err(|why| invalid(frame, number, &why))?;
        let n = self.genesis.custodians.len() as u8;
        let unknown = |custodians: &[u8]| custodians.iter().any(|&c| c == 0 || c > n);
        match &record {
            Record::Genesis(_) => return Err(invalid(frame, number, "a second genesis record")),
            Record::Deposit(d) => {
                let d = d
                    .borrowed()
                    .ok_or_else(|| invalid(frame, number, "more than 16 attributes"))?;
                self.apply_deposit(&d, frame, number)?
            }
            Record::Unseal(u) if unknown(&u.custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::Unseal(u) => {
                self.mark_exposed(u);
                self.note_session(u, number);
            }
            Record::Drill(d) if unknown(&d.custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::Drill(d) => {
                if d.kind == crate::record::DrillKind::Drill && d.versions_failed == 0 {
                    self.checked_through = number;
                }
                self.drills.push(DrillEvent {
                    time: d.time,
                    kind: d.kind,
                    custodians: d.custodians.clone(),
                    versions_failed: d.versions_failed,
                })
            }
            Record::History(h) => self.apply_history(h),
            Record::Rekey(k) if k.custodians.iter().any(|&c| c == 0 || c > k.old_custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the old vault did not have",
                ))
            }
            // A rekey decrypted and re-sealed every version it carried.
            Record::Rekey(_) => self.checked_through = number,
            Record::Reissue(r) if unknown(&r.custodians) || unknown(&[r.reissued]) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::Reissue(r) => {
                if self.reissues.len() == super::REISSUES_KEPT {
                    self.reissues.remove(0);
                }
                self.reissues.push(super::ReissueEvent {
                    time: r.time,
                    reissued: r.reissued,
                    by: r.custodians.clone(),
                    record: number,
                });
            }
            Record::ShareVerified(s) if unknown(&[s.custodian]) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::ShareVerified(s) => {
                let v = self.verifications.entry(s.custodian).or_insert((0, 0));
                *v = (v.0 + 1, s.time);
            }
        }
        if self.keep {
            self.records.push(Placed {
                record,
                frame: frame.clone(),
            });
        }
        self.advance(frame);
        Ok(())
    }

    /// Makes `frame`, just applied, the head.
    fn advance(&mut self, frame: &Frame) {
        self.head = frame.hash;
        self.count += 1;
        self.end = frame_end(frame);
        self.last = frame.offset;
    }

    /// Records from before a rekey keep their effect on readiness: an old
    /// unseal still exposes what it revealed, an old drill still counts.
    /// Custodian numbers in them are the old vault's.
    fn apply_history(&mut self, h: &crate::record::History) {
        let inner = Record::decode(h.kind, &h.body);
        // In a format 2 file only a signed old record (checked by trust)
        // counts toward readiness: a format 1 record carried in its
        // history has a MAC nothing here can check, and its drill could
        // have been forged before the rekey or upgrade (red-team finding
        // 3). An old unseal still exposes what it revealed: counting it
        // can only ask for more rotation, never hide one.
        let verified = self.format() == 1
            || inner
                .as_ref()
                .is_ok_and(|r| r.signer().is_some() && h.v2.is_some());
        match inner {
            Ok(Record::Genesis(g)) => self.earlier.push(g),
            Ok(Record::Unseal(u)) => self.mark_exposed(&u),
            Ok(Record::Drill(d)) if verified => self.drills.push(DrillEvent {
                time: d.time,
                kind: d.kind,
                custodians: Vec::new(),
                versions_failed: d.versions_failed,
            }),
            _ => {}
        }
    }

    /// Follows recovery sessions through their unseal records' reasons
    /// (FORMAT.md §13), keeping the newest few.
    fn note_session(&mut self, u: &Unseal, number: usize) {
        use super::session::{SessionMark, SessionSummary, SESSIONS_KEPT};
        let Some(mark) = SessionMark::parse(&u.reason) else {
            return;
        };
        match mark {
            SessionMark::Start { id, ttl } => {
                if self.sessions.len() == SESSIONS_KEPT {
                    self.sessions.remove(0);
                }
                self.sessions.push(SessionSummary {
                    id,
                    started: u.time,
                    record: number,
                    ttl,
                    reveals: 0,
                    ended: None,
                });
            }
            SessionMark::Reveal { id } => {
                if let Some(s) = self.open_session(&id) {
                    s.reveals = s.reveals.saturating_add(1);
                }
            }
            SessionMark::End { id, why } => {
                if let Some(s) = self.open_session(&id) {
                    s.ended = Some((u.time, why));
                }
            }
        }
    }

    fn open_session(&mut self, id: &str) -> Option<&mut super::session::SessionSummary> {
        self.sessions
            .iter_mut()
            .rev()
            .find(|s| s.id == id && s.ended.is_none())
    }

    /// An unseal exposes the current versions it revealed.
    fn mark_exposed(&mut self, u: &Unseal) {
        for (label, version) in &u.entries {
            self.entries.mark_exposed(label, *version, u.time);
        }
    }

    fn apply_deposit(
        &mut self,
        d: &DepositRef,
        frame: &Frame,
        number: usize,
    ) -> Result<(), ReplayError> {
        use super::entries::AddError;
        let slot = self.entries.slot(d.label);
        if d.version != slot.next_version {
            return Err(invalid(frame, number, "entry version out of sequence"));
        }
        let attrs = DepositAttrs::read(d).map_err(|why| invalid(frame, number, why))?;
        let version = NewVersion {
            version: d.version,
            time: d.time,
            device: attrs.device,
            key_id: attrs.key_id,
            also_known_as: attrs.also_known_as,
            user: attrs.user,
            rotation: attrs.rotation,
            digest: attrs.digest,
            deposit_id: d.deposit_id,
            record: number - 1,
            offset: frame.offset,
        };
        let policy = (attrs.rotate_days, attrs.expose_hours);
        self.entries
            .add_at(slot, d.label, d.kind, &version, policy)
            .map_err(|e| {
                let why = match e {
                    AddError::OutOfSequence => "entry version out of sequence".to_owned(),
                    AddError::KindChanged => "entry kind changed between versions".to_owned(),
                    AddError::CopiedDeposit(earlier) => format!(
                        "deposit id repeats the deposit in record #{earlier} (a copied deposit)"
                    ),
                    AddError::Full => "the vault's labels and attributes pass 4 GiB, more than \
                        breakglass reads (split the vault)"
                        .to_owned(),
                };
                invalid(frame, number, &why)
            })
    }
}

fn decode(frame: &Frame, number: usize) -> Result<Record, ReplayError> {
    Record::decode(frame.kind, &frame.body).map_err(|e| decode_error(frame, number, e))
}

fn decode_error(frame: &Frame, number: usize, e: crate::record::RecordError) -> ReplayError {
    ReplayError::Invalid {
        record: number,
        offset: frame.offset,
        why: match e {
            crate::record::RecordError::UnknownType(t) => format!(
                "unknown record type 0x{t:02x} (written by a newer breakglass? upgrade breakglass)"
            ),
            crate::record::RecordError::Body(d) => d.to_string(),
        },
    }
}

fn frame_end(frame: &Frame) -> u64 {
    frame.offset + (frame.body.len() + log::FRAME_OVERHEAD) as u64
}

fn invalid(frame: &Frame, number: usize, why: &str) -> ReplayError {
    ReplayError::Invalid {
        record: number,
        offset: frame.offset,
        why: why.to_owned(),
    }
}
