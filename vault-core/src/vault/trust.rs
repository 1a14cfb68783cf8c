//! What a format 2 file proves without shares (docs/FORMAT.md §14): every
//! signature, the shape of a rewritten file's carried segment, the links of
//! its history records, the lineage, and the old quorum's handover to the
//! new one.
//!
//! Replay asks [`Trust`] about every record in order; a record it refuses
//! is damage. A format 1 file has nothing to check here: its quorum
//! records carry MACs that only k shares can check.

use std::collections::BTreeMap;

use crate::fingerprint::Fingerprint;
use crate::log::Frame;
use crate::record::{kind, Genesis, History, Origin, Record, Rekey, Signer};
use crate::sign::PublicKey;

/// The keys of one format 2 generation.
#[derive(Debug, Clone)]
struct Keys {
    fingerprint: [u8; 32],
    quorum: PublicKey,
    custodians: Vec<PublicKey>,
}

impl Keys {
    /// The keys a format 2 genesis names, each checked usable (a point on
    /// the curve, not of small order).
    fn of(genesis: &Genesis) -> Result<Option<Self>, String> {
        let Some(v2) = &genesis.v2 else {
            return Ok(None);
        };
        let quorum = PublicKey(v2.quorum_public);
        quorum
            .check()
            .map_err(|e| format!("its quorum key is unusable ({e})"))?;
        let mut custodians = Vec::with_capacity(genesis.custodians.len());
        for (i, c) in genesis.custodians.iter().enumerate() {
            let key = PublicKey(c.public.unwrap_or([0; 32]));
            key.check()
                .map_err(|e| format!("custodian {}'s key is unusable ({e})", i + 1))?;
            custodians.push(key);
        }
        Ok(Some(Self {
            fingerprint: *Fingerprint::of(genesis).as_bytes(),
            quorum,
            custodians,
        }))
    }

    /// The key that signs `record`, if the record names a known signer.
    fn signer(&self, record: &Record) -> Option<&PublicKey> {
        match record.signer()? {
            Signer::Quorum => Some(&self.quorum),
            Signer::Custodian(i) => self.custodians.get(usize::from(i).checked_sub(1)?),
        }
    }

    /// Checks the signature of `record`, read as the bytes `body` of type
    /// `kind`, for its place after `prev`: over the bytes read, so nothing
    /// rests on the encoding being canonical.
    fn verify(&self, record: &Record, kind: u8, body: &[u8], prev: &[u8; 32]) -> bool {
        let Some(key) = self.signer(record) else {
            return false;
        };
        record.verify_signed_bytes(key, &self.fingerprint, prev, kind, body) == Some(true)
    }
}

/// A rewritten file (origin 2 or 3): where its carried segment ends.
#[derive(Debug, Clone, Copy)]
struct Rewrite {
    /// The closing rekey record's number (carried + 2).
    closes: usize,
    /// The replaced file's fingerprint.
    previous: [u8; 32],
    origin: Origin,
}

/// The format 2 checks of one file, fed its records in order.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    /// This file's generation keys; `None` for a format 1 file.
    own: Option<Keys>,
    /// This file's generation (format 2).
    generation: u16,
    rewrite: Option<Rewrite>,
    /// Keys of earlier format 2 generations, from the geneses carried in
    /// the history.
    earlier: BTreeMap<u16, Keys>,
    /// The replaced file's keys (when it was format 2), threshold and
    /// custodian count: record 2's genesis.
    replaced: Option<(Option<Keys>, u8, u8)>,
    /// The closing rekey record was seen where it belongs.
    closed: bool,
}

impl Trust {
    /// The checks of a file whose first record is `genesis` in `frame`:
    /// for format 2, its keys are usable and it is signed by its own
    /// quorum key, and the file's header says version 2.
    pub(crate) fn begin(genesis: &Genesis, frame: &Frame) -> Result<Self, String> {
        let version = crate::log::version_of_first(&frame.prev);
        let own = Keys::of(genesis)?;
        match (&own, version) {
            (None, Some(1)) | (Some(_), Some(2)) => {}
            (None, _) => return Err("a version 1 genesis record in a version 2 file".into()),
            (Some(_), _) => return Err("a version 2 genesis record in a version 1 file".into()),
        }
        if let Some(keys) = &own {
            let record = Record::Genesis(genesis.clone());
            if !keys.verify(&record, frame.kind, &frame.body, &frame.prev) {
                return Err(
                    "the genesis record's signature does not verify: the vault's keys or settings were altered"
                        .into(),
                );
            }
        }
        let rewrite = match genesis.v2.as_ref() {
            Some(v2) if v2.origin != Origin::Init => Some(Rewrite {
                closes: usize::try_from(u64::from(v2.carried) + 2)
                    .map_err(|_| "the genesis says it carried more records than a file holds")?,
                previous: v2.previous,
                origin: v2.origin,
            }),
            _ => None,
        };
        Ok(Self {
            own,
            generation: genesis.generation().unwrap_or(0),
            rewrite,
            earlier: BTreeMap::new(),
            replaced: None,
            closed: false,
        })
    }

    /// The record number the file must reach for its rewrite to be whole
    /// (the closing rekey record), if it was rewritten.
    pub(crate) fn closes_at(&self) -> Option<usize> {
        self.rewrite.map(|r| r.closes)
    }

    /// Checks record `number` (≥ 2) in `frame`.
    pub(crate) fn check(
        &mut self,
        record: &Record,
        frame: &Frame,
        number: usize,
    ) -> Result<(), String> {
        self.check_shape(Shape::of(record), frame, number)?;
        let Some(own) = &self.own else {
            return Ok(());
        };
        if record.signer().is_some() && !own.verify(record, frame.kind, &frame.body, &frame.prev) {
            return Err(
                "its signature does not verify: this record, or a record before it, was altered, removed or reordered"
                    .into(),
            );
        }
        match record {
            Record::History(h) => self.check_history(h, number),
            Record::Rekey(k) => {
                self.check_handover(k)?;
                self.closed = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// [`Trust::check`] of a deposit, known by its frame alone: a deposit
    /// is never signed, so where it stands and its record type's format
    /// are all there is to check (a replay checks a million of them
    /// without building each one's [`Record`]).
    pub(crate) fn check_deposit(&self, frame: &Frame, number: usize) -> Result<(), String> {
        self.check_shape(Shape::Deposit, frame, number)
    }

    /// What every record is checked for by its type alone: its format's
    /// record types, and its place (§14.5).
    fn check_shape(&self, shape: Shape, frame: &Frame, number: usize) -> Result<(), String> {
        if self.own.is_none() {
            return if kind::is_v2(frame.kind) {
                Err("a version 2 record in a version 1 file".into())
            } else {
                Ok(())
            };
        }
        if !kind::is_v2(frame.kind) && !matches!(shape, Shape::Deposit | Shape::History { .. }) {
            return Err("a version 1 record in a version 2 file".into());
        }
        self.check_place(shape, number)
    }

    /// Whether a rewritten file reached its closing record: a file that
    /// ends before it was cut short (damage, never a torn write: a rekey
    /// writes the whole new file before it replaces the old).
    pub(crate) fn complete(&self, records: usize) -> Result<(), String> {
        match self.closes_at() {
            Some(at) if records < at || !self.closed => Err(format!(
                "the file ends at record #{records} without the record #{at} that closes its rekey or upgrade: records were cut off"
            )),
            _ => Ok(()),
        }
    }

    /// Where history and rekey records may stand (§14.5): history only in
    /// the carried segment, the replaced file's genesis first; the rekey
    /// record right after it, and nothing else there.
    fn check_place(&self, shape: Shape, number: usize) -> Result<(), String> {
        let closes = self.closes_at().unwrap_or(0);
        let carried = number < closes;
        let carries_genesis = matches!(shape, Shape::History { genesis: true });
        match shape {
            _ if number == 2 && self.rewrite.is_some() && !carries_genesis => Err(
                "a rekeyed file's second record must be the replaced file's genesis, kept in the history"
                    .into(),
            ),
            Shape::Rekey if number == closes => Ok(()),
            _ if number == closes => Err(format!(
                "record #{closes} must be the rekey record that closes the records carried over, and it is not"
            )),
            Shape::Rekey => Err(
                "a rekey record where none belongs: a rekey record only closes the records its rekey carried over"
                    .into(),
            ),
            Shape::History { .. } if !carried => Err(
                "a history record outside the records a rekey carried over: it was added later".into(),
            ),
            Shape::Deposit | Shape::History { .. } => Ok(()),
            _ if carried => Err(format!(
                "record #{closes} should close the rekey, and only carried deposits and history come before it"
            )),
            _ => Ok(()),
        }
    }

    /// A history record: its link to its old file holds, a carried genesis
    /// is the one the previous fingerprint names, and a signed old record
    /// verifies under its generation's key.
    fn check_history(&mut self, h: &History, number: usize) -> Result<(), String> {
        let inner = Record::decode(h.kind, &h.body).map_err(|e| e.to_string())?;
        if let Record::Genesis(g) = &inner {
            return self.carried_genesis(g, h, number);
        }
        if h.links() == Some(false) {
            return Err("a history record whose chain hash does not follow from its body".into());
        }
        let Some(v2) = &h.v2 else { return Ok(()) };
        if inner.signer().is_none() {
            // A format 1 record: its MAC is an old master key's. Readers
            // do not count what it says toward readiness (replay).
            return Ok(());
        }
        match self.earlier.get(&v2.generation) {
            Some(keys) if keys.verify(&inner, h.kind, &h.body, &v2.prev) => Ok(()),
            Some(_) => Err(format!(
                "a record of generation {} kept in the history fails its signature",
                v2.generation
            )),
            None => Err(format!(
                "a signed record of generation {}, but the history holds no format 2 genesis of that generation",
                v2.generation
            )),
        }
    }

    fn carried_genesis(&mut self, g: &Genesis, h: &History, number: usize) -> Result<(), String> {
        let keys = Keys::of(g)?;
        if let (Some(v2), Some(gen)) = (&h.v2, g.generation()) {
            if v2.generation != gen {
                return Err("a history record's generation differs from its genesis's".into());
            }
        }
        if number == 2 {
            let rewrite = self
                .rewrite
                .ok_or("a history record in a file never rekeyed")?;
            if Fingerprint::of(g).as_bytes() != &rewrite.previous {
                return Err(
                    "the carried genesis is not the vault the previous fingerprint names: the history was swapped"
                        .into(),
                );
            }
            self.check_lineage(g, h, rewrite.origin)?;
            self.replaced = Some((keys.clone(), g.threshold, g.custodians.len() as u8));
        }
        if let (Some(keys), Some(gen)) = (keys, g.generation()) {
            // Only geneses older than this file's name earlier keys; the
            // first one kept for a generation is the newest.
            if gen < self.generation {
                self.earlier.entry(gen).or_insert(keys);
            }
        }
        Ok(())
    }

    /// The replaced file's genesis against this one (§14.2): an upgrade
    /// replaces a format 1 file, keeping its generation; a rekey replaces
    /// the generation before (when the replaced file states it).
    fn check_lineage(&self, g: &Genesis, h: &History, origin: Origin) -> Result<(), String> {
        let follows = h.v2.is_some()
            && match (origin, g.generation()) {
                (Origin::Upgrade, None) | (Origin::Rekey, None) => true,
                (Origin::Rekey, Some(old)) => u32::from(old) + 1 == u32::from(self.generation),
                (Origin::Upgrade, Some(_)) | (Origin::Init, _) => false,
            };
        if follows {
            Ok(())
        } else {
            Err("the genesis's generation and origin do not follow from the replaced file's".into())
        }
    }

    /// The closing record: it names the replaced file as record 2 holds
    /// it, it closes exactly the records carried, and — when the replaced
    /// file was format 2 — its old quorum signed the handover (§14.4); a
    /// format 1 file had no key, so the handover is zeros.
    fn check_handover(&self, k: &Rekey) -> Result<(), String> {
        let handover = k.handover.unwrap_or([0; 64]);
        let Some(own) = &self.own else { return Ok(()) };
        let Some((previous, threshold, n)) = &self.replaced else {
            return Err(
                "a rekey record, but record 2 did not hold the replaced file's genesis".into(),
            );
        };
        if (k.old_threshold, k.old_custodians) != (*threshold, *n) {
            return Err(
                "the rekey names another threshold or custodian count than the replaced file's genesis"
                    .into(),
            );
        }
        let carried = self.closes_at().map_or(0, |at| at - 2);
        if k.old_records as usize != carried {
            return Err(format!(
                "the rekey says the replaced file held {} records, but {carried} were carried over",
                k.old_records
            ));
        }
        match previous {
            None if handover == [0; 64] => Ok(()),
            None => Err("a handover signature, but the replaced file had no signature key".into()),
            Some(old) => {
                let message = k.handover_message(&old.fingerprint, &own.fingerprint);
                if old.quorum.verify(&[&message], &handover) {
                    Ok(())
                } else {
                    Err(
                        "the previous generation's quorum did not sign this rekey: it was forged"
                            .into(),
                    )
                }
            }
        }
    }
}

/// What [`Trust::check_place`] needs of a record: its type (and whether a
/// history record carries a genesis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Deposit,
    History { genesis: bool },
    Rekey,
    Other,
}

impl Shape {
    fn of(record: &Record) -> Self {
        match record {
            Record::Deposit(_) => Self::Deposit,
            Record::History(h) => Self::History {
                genesis: kind::is_genesis(h.kind),
            },
            Record::Rekey(_) => Self::Rekey,
            _ => Self::Other,
        }
    }
}
