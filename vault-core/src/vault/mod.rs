//! The vault: state replayed from its records, and the operations on it.
//! No I/O here; the file on disk is `crate::fs`'s.
//!
//! One concept per module:
//! - [`replay`]: records in, state out, every rule checked
//! - [`init`]: a new vault: keys, shares, the genesis record
//! - [`rules`]: the rules every name, label and reason follows
//! - [`deposit`]: a deposit checked, its metadata fixed, sealed to escrow
//! - [`quorum`]: shares checked one by one, gathered, and combined
//! - [`unsealed`]: what a quorum can do: reveal, drill, sign records
//! - [`select`]: which entries an operation is about; the device-match rule

use std::collections::BTreeMap;

use crate::entry::EntryKind;
use crate::log::Frame;
use crate::record::{Custodian, DrillKind, Genesis, Record};
use crate::VaultId;

pub mod advice;
pub mod deposit;
pub mod entries;
pub mod init;
pub mod quorum;
pub mod reissue;
pub mod replay;
pub mod rules;
pub mod select;
pub mod session;
mod trust;
pub mod unsealed;

pub use crate::error::InputError;
pub(crate) use deposit::open_deposit;
pub use deposit::{
    deposit_attributes, exported_info, validate_secret, DepositMeta, PreparedDeposit,
    MAX_EXPOSE_HOURS, MAX_ROTATE_DAYS,
};
pub use entries::{Entries, EntryId, EntryRef, VersionId, VersionRef};
pub(crate) use init::new_keys;
pub use init::{create, validate, Created, InitSpec, IssuedShare};
pub use quorum::{OpenError, Opened, Quorum, ShareProblem};
pub use reissue::ReissueError;
pub use replay::ReplayError;
pub use rules::{check_actor as clean_actor, check_reason, check_text};
pub use select::{
    device_lookup_form, device_matches, KeyIdQuery, KeyIdQueryError, Lookup, SelectError, Several,
};
pub use unsealed::{DrillOutcome, EntryDamaged, Revealed, Unsealed};

/// One version of an entry (public view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryVersion {
    /// Version number, from 1.
    pub version: u32,
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Device identifier, if the deposit named one.
    pub device: Option<String>,
    /// BitLocker key ID, if the deposit named one.
    pub key_id: Option<String>,
    /// Another name of the device (a computer name beside a serial), for
    /// search.
    pub also_known_as: Option<String>,
    /// The device's user, for search.
    pub user: Option<String>,
    /// True when this version was deposited as a rotation.
    pub rotation: bool,
    /// Import digest, if the version was imported.
    pub digest: Option<String>,
    /// The deposit id of an exported-key deposit (`0x12`); `None` for the
    /// original form.
    pub deposit_id: Option<[u8; 16]>,
    /// The deposit's record number − 1 (its index in [`Vault::records`]
    /// when the vault keeps its records).
    pub record: usize,
    /// File offset of the deposit's frame: where a reveal reads it.
    pub offset: u64,
}

/// An entry (public view): label, kind and versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: EntryKind,
    /// Versions, oldest first; never empty.
    pub versions: Vec<EntryVersion>,
    /// Rotate at least every this many days.
    pub rotate_days: u32,
    /// After an unseal, rotate within this many hours.
    pub expose_hours: u32,
    /// When the current version was last revealed by an unseal (Unix
    /// seconds); cleared by a new version.
    pub exposed_at: Option<u64>,
}

impl Entry {
    /// The newest version.
    pub fn current(&self) -> &EntryVersion {
        self.versions
            .last()
            .expect("an entry has at least one version")
    }

    /// When the current version must be rotated because it was revealed.
    pub fn exposure_deadline(&self) -> Option<u64> {
        self.exposed_at
            .map(|t| t.saturating_add(u64::from(self.expose_hours) * 3600))
    }

    /// When the current version is due for routine rotation.
    pub fn rotation_due(&self) -> u64 {
        // Times come from the file: saturate rather than overflow.
        self.current()
            .time
            .saturating_add(u64::from(self.rotate_days) * 86_400)
    }
}

/// A drill as recorded (public view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillEvent {
    /// Time, Unix seconds.
    pub time: u64,
    /// Drill, emergency or misuse.
    pub kind: DrillKind,
    /// Custodians present.
    pub custodians: Vec<u8>,
    /// Versions that did not decrypt.
    pub versions_failed: u32,
}

/// A lost share re-issued by a quorum (public view; format 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReissueEvent {
    /// Time, Unix seconds.
    pub time: u64,
    /// The custodian whose share was re-issued (index).
    pub reissued: u8,
    /// The custodians whose shares authorised it.
    pub by: Vec<u8>,
    /// Its record number (1-based).
    pub record: usize,
}

/// The most re-issues a vault's state remembers (the newest).
pub const REISSUES_KEPT: usize = 64;

/// A record with where it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The record.
    pub record: Record,
    /// Its frame (offset, chain hashes).
    pub frame: Frame,
}

/// Where a vault whose records were not kept reads a deposit again when a
/// reveal needs its ciphertext (the file it was replayed from; see
/// `crate::fs::store`). Whatever it returns is checked again: the frame
/// (frame check, chain hash) by the source, the record's label and version
/// by the vault.
pub trait RecordSource: std::fmt::Debug + Send + Sync {
    /// The checked frame that starts at `offset`, if there is one.
    fn frame_at(&self, offset: u64) -> Option<Frame>;
    /// Hands every record replayed to `each` (number, frame), in order,
    /// one at a time; false if they could not all be read again.
    fn for_each_frame(&self, each: &mut dyn FnMut(usize, &Frame)) -> bool;
}

/// A vault's state: the replay of its records.
#[derive(Debug, Clone)]
pub struct Vault {
    genesis: Genesis,
    /// Chain hash of the genesis record.
    genesis_hash: [u8; 32],
    entries: entries::Entries,
    /// Every record replayed, when `keep` (else empty).
    records: Vec<Placed>,
    keep: bool,
    /// Where deposits not in `records` are read from.
    source: Option<std::sync::Arc<dyn RecordSource>>,
    head: [u8; 32],
    drills: Vec<DrillEvent>,
    /// Per custodian index: (times verified, last time).
    verifications: BTreeMap<u8, (u32, u64)>,
    /// Records in the file (more than `records` holds when partial).
    count: usize,
    /// File offset just past the last record.
    end: u64,
    /// File offset of the last record's frame.
    last: u64,
    /// False when read through the index: only some entries are here.
    whole: bool,
    /// The genesis records of earlier generations, kept in History by each
    /// rekey, in file order: the newest (generation g − 1) first.
    earlier: Vec<Genesis>,
    /// The last record (1-based) at which a quorum decrypted every entry
    /// version before it: a drill with no failure, or the rekey that
    /// re-sealed them all. Deposits after it are unchecked: anyone with
    /// the file can append one.
    checked_through: usize,
    /// The newest recovery sessions (at most `session::SESSIONS_KEPT`).
    sessions: Vec<session::SessionSummary>,
    /// The newest share re-issues (at most [`REISSUES_KEPT`]).
    reissues: Vec<ReissueEvent>,
    /// The format 2 checks (signatures, carried segment, handover).
    trust: trust::Trust,
}

/// True for the genesis an upgrade to format 2 wrote.
fn upgraded(genesis: &Genesis) -> bool {
    genesis
        .v2
        .as_ref()
        .is_some_and(|v| v.origin == crate::record::Origin::Upgrade)
}

/// Where a file's records end: for a vault read in part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Chain hash of the last record.
    pub head: [u8; 32],
    /// File offset just past the last record.
    pub end: u64,
    /// File offset of the last record's frame.
    pub last: u64,
    /// Records in the file.
    pub records: usize,
}

/// Default rotation policy: every 90 days.
pub const DEFAULT_ROTATE_DAYS: u32 = 90;
/// Default exposure window: rotate within 24 hours of an unseal.
pub const DEFAULT_EXPOSE_HOURS: u32 = 24;

impl Vault {
    /// Drills, oldest first.
    pub fn drills(&self) -> &[DrillEvent] {
        &self.drills
    }

    /// The record (1-based) through which a quorum decrypted every entry
    /// version: the last drill without failures, or the rekey that
    /// re-sealed them (0: never). Versions after it were not checked.
    pub fn checked_through(&self) -> usize {
        self.checked_through
    }

    /// The newest recovery sessions the records tell of, oldest first (at
    /// most [`session::SESSIONS_KEPT`]): in format 2 their records are
    /// signed, so this is what a quorum did.
    pub fn sessions(&self) -> &[session::SessionSummary] {
        &self.sessions
    }

    /// Lost shares re-issued by a quorum, oldest first (the newest
    /// [`REISSUES_KEPT`]); signed records, so what a quorum did.
    pub fn reissues(&self) -> &[ReissueEvent] {
        &self.reissues
    }

    /// Share verifications per custodian index: (count, last time).
    pub fn verifications(&self) -> &BTreeMap<u8, (u32, u64)> {
        &self.verifications
    }

    /// Vault id.
    pub fn id(&self) -> &VaultId {
        &self.genesis.vault_id
    }
    /// The vault's fingerprint, computed from the genesis record (never
    /// read from a cache): what people compare and depositors pin.
    pub fn fingerprint(&self) -> crate::fingerprint::Fingerprint {
        crate::fingerprint::Fingerprint::of(&self.genesis)
    }
    /// The generation: 1 at init, one more at each rekey; an upgrade to
    /// format 2 keeps it. Format 2 states it in the genesis; format 1
    /// counts the geneses in the history (a format 1 vault read in part
    /// through the index may not know them: then 1).
    pub fn generation(&self) -> u32 {
        match self.genesis.generation() {
            Some(g) => u32::from(g),
            None => self.earlier.len() as u32 + 1,
        }
    }
    /// The file's epoch: 1 + the rewrites (rekeys and the upgrade) that
    /// led to it. Receipts count records through rewrites, not generations.
    pub fn epoch(&self) -> u32 {
        self.earlier.len() as u32 + 1
    }
    /// The genesis of the file of epoch `epoch` (< this one) and when the
    /// rewrite that replaced it began (Unix seconds).
    pub fn earlier_epoch(&self, epoch: u32) -> Option<(&Genesis, u64)> {
        let back = self.epoch().checked_sub(epoch)? as usize;
        let genesis = self.earlier.get(back.checked_sub(1)?)?;
        let ended = match back {
            1 => self.genesis.time,
            _ => self.earlier[back - 2].time,
        };
        Some((genesis, ended))
    }
    /// Generation `generation`'s genesis record (< this generation) and
    /// when a rekey ended it (Unix seconds), if this replay saw it.
    pub fn earlier_generation(&self, generation: u32) -> Option<(&Genesis, u64)> {
        let current = self.generation();
        let (mut newer, mut newer_gen) = (&self.genesis, current);
        for e in &self.earlier {
            let gen = match e.generation() {
                Some(g) => u32::from(g),
                // The format 1 file an upgrade replaced holds the same
                // generation as the upgrade.
                None if upgraded(newer) => newer_gen,
                None => newer_gen.saturating_sub(1),
            };
            if gen == generation && gen < current {
                return Some((e, newer.time));
            }
            (newer, newer_gen) = (e, gen);
        }
        None
    }
    /// The vault's recipient: what a depositor needs to seal to it without
    /// the file, and to recognise it (FORMAT.md §7.9).
    pub fn recipient(&self) -> crate::recipient::Recipient {
        crate::recipient::Recipient {
            fingerprint: self.fingerprint(),
            escrow_public: self.genesis.escrow_public,
        }
    }
    /// The record number (1-based) of the exported-key deposit with this
    /// deposit id, if the vault holds one.
    pub fn deposit_with_id(&self, id: &[u8; 16]) -> Option<usize> {
        self.entries.deposit_with_id(id)
    }
    /// Vault name.
    pub fn name(&self) -> &str {
        &self.genesis.name
    }
    /// Whom to call, as the genesis records it (format 2; empty in 1).
    pub fn contact(&self) -> &str {
        self.genesis.v2.as_ref().map_or("", |v| v.contact.as_str())
    }
    /// Where the envelopes are kept (format 2; empty in format 1).
    pub fn location(&self) -> &str {
        self.genesis.v2.as_ref().map_or("", |v| v.location.as_str())
    }
    /// The file's format version: 2 when its genesis is a format 2 one.
    pub fn format(&self) -> u16 {
        if self.genesis.v2.is_some() {
            2
        } else {
            1
        }
    }
    /// The genesis record.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    /// Shares needed to unseal.
    pub fn threshold(&self) -> usize {
        self.genesis.threshold as usize
    }
    /// Custodians in index order (index = position + 1).
    pub fn custodians(&self) -> &[Custodian] {
        &self.genesis.custodians
    }
    /// The name of custodian `index` (1-based).
    pub fn custodian_name(&self, index: u8) -> Option<&str> {
        let i = (index as usize).checked_sub(1)?;
        self.genesis.custodians.get(i).map(|c| c.name.as_str())
    }
    /// Entries by label (a compact table: see [`entries::Entries`]).
    pub fn entries(&self) -> &entries::Entries {
        &self.entries
    }
    /// Every record, in file order (when partial: those read). Empty
    /// unless the vault was replayed keeping its records
    /// ([`Vault::keeps_records`]): a vault read from a file one frame at a
    /// time holds only its state.
    pub fn records(&self) -> &[Placed] {
        &self.records
    }
    /// True when [`Vault::records`] holds the records replayed.
    pub fn keeps_records(&self) -> bool {
        self.keep
    }
    /// Chain hash of the genesis record.
    pub fn genesis_hash(&self) -> &[u8; 32] {
        &self.genesis_hash
    }
    /// Hands every record to `each` (number, frame, record) in file order,
    /// one at a time: the records kept, or else read again from the
    /// source. False if the source could not read them all again.
    pub fn for_each_record(&self, mut each: impl FnMut(usize, &Frame, &Record)) -> bool {
        if self.keep || self.source.is_none() {
            for (i, p) in self.records.iter().enumerate() {
                each(i + 1, &p.frame, &p.record);
            }
            return true;
        }
        let source = self.source.as_ref().expect("checked above");
        source.for_each_frame(&mut |number, frame| {
            if let Ok(record) = Record::decode(frame.kind, &frame.body) {
                each(number, frame, &record);
            }
        })
    }
    /// Sets where deposits are read again when the vault did not keep them.
    pub fn set_source(&mut self, source: std::sync::Arc<dyn RecordSource>) {
        self.source = Some(source);
    }
    /// The deposit of `label` whose frame starts at `offset`: from the
    /// records kept, else read again from the source and checked to be
    /// that label's deposit of `version`.
    pub fn deposit_at(
        &self,
        label: &str,
        version: u32,
        offset: u64,
    ) -> Option<std::borrow::Cow<'_, crate::record::Deposit>> {
        use std::borrow::Cow;
        let is_it = |d: &crate::record::Deposit| d.label == label && d.version == version;
        if let Ok(i) = self
            .records
            .binary_search_by_key(&offset, |p| p.frame.offset)
        {
            return match &self.records[i].record {
                Record::Deposit(d) if is_it(d) => Some(Cow::Borrowed(d)),
                _ => None,
            };
        }
        let frame = self.source.as_ref()?.frame_at(offset)?;
        match Record::decode(frame.kind, &frame.body).ok()? {
            Record::Deposit(d) if is_it(&d) => Some(Cow::Owned(d)),
            _ => None,
        }
    }
    /// Makes room for about `entries` entries before a replay (an
    /// estimate from the file's size), so that the entry table does not
    /// grow by rehashing as the records come.
    pub fn reserve_entries(&mut self, entries: usize) {
        self.entries.reserve(entries);
    }
    /// From now on, the versions replayed keep no import digest (see
    /// [`entries::Entries::drop_digests`]): for reads that never compare them.
    pub fn drop_digests(&mut self) {
        self.entries.drop_digests();
    }
    /// Lets go of the entry table's lookup tables before a last pass over
    /// every entry (see [`entries::Entries::shed_lookups`]).
    #[cfg(feature = "fs")]
    pub(crate) fn shed_lookups(&mut self) {
        self.entries.shed_lookups();
    }
    /// What the versions pushed from now on keep of their attributes (see
    /// [`entries::Keep`]); returns what they did.
    pub(crate) fn keep(&mut self, keep: entries::Keep) -> entries::Keep {
        self.entries.keep(keep)
    }
    /// What the versions pushed keep of their attributes.
    pub(crate) fn keeping(&self) -> entries::Keep {
        self.entries.keeping()
    }
    /// How many records the file holds.
    pub fn record_count(&self) -> usize {
        self.count
    }
    /// File offset just past the last record.
    pub fn end(&self) -> u64 {
        self.end
    }
    /// File offset of the last record's frame.
    pub fn last_offset(&self) -> u64 {
        self.last
    }
    /// True when every record was replayed; false when the vault was read
    /// in part through the index (see [`Vault::partial`]).
    pub fn is_whole(&self) -> bool {
        self.whole
    }
    /// Chain hash of the last record.
    pub fn head(&self) -> &[u8; 32] {
        &self.head
    }
}

#[cfg(test)]
mod tests;
