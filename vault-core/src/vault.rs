//! The vault: state replayed from records, and the operations on it
//! (init, deposit, share checks, unseal). No I/O here; see `store`.

use std::collections::BTreeMap;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::entry::{EntryKind, EntrySecret, MAX_SECRET, MAX_USERNAME};
use crate::escrow::{self, EscrowSecret};
use crate::keys::{random_bytes, MasterKey};
use crate::log::{self, Frame, Log, LogError};
use crate::passphrase::{KdfParams, KdfParamsError};
use crate::record::{
    attr, limits, text_problem, Custodian, Deposit, Drill, DrillKind, Genesis, Record,
    ShareVerified, Unseal,
};
use crate::recovery_key::{self, RecoveryFormat};
use crate::shamir::{self, KeyShare};
use crate::share::{ShareBody, UnlockError};
use crate::share_text::{self, ShareHeader};
use crate::VaultId;

/// Input that breaks a rule (a name, a label, a threshold…). The message
/// says which value and why; it never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

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

/// One version of an entry (public view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryVersion {
    /// Version number, from 1.
    pub version: u32,
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Who deposited (self-asserted).
    pub actor: String,
    /// Device identifier, if the deposit named one.
    pub device: Option<String>,
    /// BitLocker key ID, if the deposit named one.
    pub key_id: Option<String>,
    /// True when this version was deposited as a rotation.
    pub rotation: bool,
    /// Import digest, if the version was imported.
    pub digest: Option<String>,
    /// Index into [`Vault::records`] of the deposit.
    pub record: usize,
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

/// A record with where it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The record.
    pub record: Record,
    /// Its frame (offset, chain hashes).
    pub frame: Frame,
}

/// A vault's state: the replay of its records.
#[derive(Debug, Clone)]
pub struct Vault {
    genesis: Genesis,
    entries: BTreeMap<String, Entry>,
    records: Vec<Placed>,
    head: [u8; 32],
    drills: Vec<DrillEvent>,
    /// Per custodian index: (times verified, last time).
    verifications: BTreeMap<u8, (u32, u64)>,
    /// Records in the file (more than `records` holds when partial).
    count: usize,
    /// File offset just past the last record.
    end: u64,
    /// False when read through the index: only some entries are here.
    whole: bool,
}

/// Where a file's records end: for a vault read in part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Chain hash of the last record.
    pub head: [u8; 32],
    /// File offset just past the last record.
    pub end: u64,
    /// Records in the file.
    pub records: usize,
}

/// A checked deposit waiting to be sealed (HPKE) into its record.
pub struct PreparedDeposit {
    deposit: Deposit,
    secret: EntrySecret,
    vault_id: VaultId,
    escrow_public: [u8; 32],
}

impl std::fmt::Debug for PreparedDeposit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PreparedDeposit {{ label: {:?}, version: {}, .. }}",
            self.deposit.label, self.deposit.version
        )
    }
}

impl PreparedDeposit {
    /// Seals the secret to the escrow key, the metadata bound as AAD.
    pub fn seal(self) -> Result<Record, InputError> {
        let mut deposit = self.deposit;
        let aad = deposit.aad(&self.vault_id);
        let (enc, ciphertext) = escrow::seal(
            &self.escrow_public,
            &self.vault_id,
            &self.secret.encode(),
            &aad,
        )
        .map_err(|e| InputError(e.to_string()))?;
        deposit.enc = enc;
        deposit.ciphertext = ciphertext;
        Ok(Record::Deposit(deposit))
    }
}

/// Who deposits, when, and the deposit's public attributes.
#[derive(Debug, Clone, Default)]
pub struct DepositMeta {
    /// Who is depositing (self-asserted).
    pub actor: String,
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Device identifier for lookup (serial, host name, key ID), public.
    pub device: Option<String>,
    /// BitLocker key ID (8 hex digits), public.
    pub key_id: Option<String>,
    /// Rotate at least every N days; unset keeps the entry's policy
    /// (default 90).
    pub rotate_days: Option<u32>,
    /// After an unseal, rotate within N hours; unset keeps the entry's
    /// policy (default 24).
    pub expose_hours: Option<u32>,
    /// This deposit rotates the entry (recorded as a rotation).
    pub rotation: bool,
    /// Import digest (see `import`), for idempotent re-imports.
    pub digest: Option<String>,
}

/// Default rotation policy: every 90 days.
pub const DEFAULT_ROTATE_DAYS: u32 = 90;
/// Default exposure window: rotate within 24 hours of an unseal.
pub const DEFAULT_EXPOSE_HOURS: u32 = 24;

/// What `init` needs to know.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// Vault name.
    pub name: String,
    /// Shares needed to unseal.
    pub threshold: usize,
    /// Custodian names, in index order.
    pub custodians: Vec<String>,
    /// Who is creating it (self-asserted).
    pub actor: String,
    /// Creation time, Unix seconds.
    pub time: u64,
    /// Argon2id costs for passphrase-protected shares.
    pub kdf: KdfParams,
}

/// A share as issued at init: the custodian's name and the share's text.
pub struct IssuedShare {
    /// Custodian name.
    pub custodian: String,
    /// Text form (see `share_text`); secret material, zeroized on drop.
    pub text: Zeroizing<String>,
}

impl std::fmt::Debug for IssuedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IssuedShare {{ custodian: {:?}, text: [REDACTED] }}",
            self.custodian
        )
    }
}

/// Why a share was not accepted. Each names one custodian's problem; none
/// reveals anything about the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareProblem {
    /// The share is for another vault.
    #[error("belongs to another vault (id {0})")]
    ForeignVault(String),
    /// The index is not one of this vault's custodians.
    #[error("share index {0} is not a custodian of this vault")]
    UnknownIndex(u8),
    /// The share does not match the commitment stored for its custodian:
    /// mistyped in a way the line checks missed, altered, or from an
    /// earlier key of this vault.
    #[error("does not match the commitment stored for custodian {custodian} (altered, or from before a rekey)")]
    CommitmentMismatch {
        /// The custodian it claims to be.
        custodian: String,
    },
    /// A second share for a custodian already counted.
    #[error("duplicate: custodian {custodian}'s share was already given")]
    Duplicate {
        /// The custodian.
        custodian: String,
    },
    /// Passphrase missing or wrong, or refused parameters.
    #[error("{0}")]
    Unlock(#[from] UnlockError),
}

/// Why a set of accepted shares did not open the vault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Fewer valid shares than the threshold.
    #[error("need {need} valid shares, got {got}")]
    TooFew {
        /// The threshold.
        need: usize,
        /// Valid shares.
        got: usize,
    },
    /// Shares that each match their commitment combine to a key the vault
    /// does not recognise, or the escrow key does not open: the vault file
    /// was altered or damaged.
    #[error("the vault is damaged or was altered: {0}")]
    Damaged(String),
}

/// Unseal failed on an entry version: its record is damaged or altered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry '{label}' version {version} (record #{record}) does not decrypt: the vault is damaged or was altered")]
pub struct EntryDamaged {
    /// Entry label.
    pub label: String,
    /// Version.
    pub version: u32,
    /// 1-based record number.
    pub record: usize,
}

/// The known attributes of a deposit, parsed and checked.
#[derive(Debug, Default)]
struct DepositAttrs {
    device: Option<String>,
    key_id: Option<String>,
    rotate_days: Option<u32>,
    expose_hours: Option<u32>,
    rotation: bool,
    digest: Option<String>,
}

impl DepositAttrs {
    fn read(d: &Deposit) -> Result<Self, &'static str> {
        let number = |tag, max: u32| -> Result<Option<u32>, &'static str> {
            d.attribute(tag)
                .map(|v| match v.parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) && n.to_string() == v => Ok(n),
                    _ => Err("a policy attribute is not a number in range"),
                })
                .transpose()
        };
        Ok(Self {
            device: d.attribute(attr::DEVICE).map(str::to_owned),
            key_id: d.attribute(attr::KEY_ID).map(str::to_owned),
            rotate_days: number(attr::ROTATE_DAYS, MAX_ROTATE_DAYS)?,
            expose_hours: number(attr::EXPOSE_HOURS, MAX_EXPOSE_HOURS)?,
            rotation: match d.attribute(attr::ROTATION) {
                None => false,
                Some("rotate") => true,
                Some(_) => return Err("an unknown rotation marker"),
            },
            digest: match d.attribute(attr::IMPORT_DIGEST) {
                Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Some(v.to_owned())
                }
                Some(_) => return Err("a malformed import digest"),
                None => None,
            },
        })
    }
}

/// Longest rotation policy accepted: 10 years.
pub const MAX_ROTATE_DAYS: u32 = 3650;
/// Longest exposure window accepted: one year.
pub const MAX_EXPOSE_HOURS: u32 = 8760;

/// Checks a secret against its kind; returns it in canonical form
/// (recovery keys trimmed and upper-cased).
pub fn validate_secret(kind: EntryKind, secret: &EntrySecret) -> Result<EntrySecret, InputError> {
    if secret.secret.is_empty() {
        return Err(InputError("the secret is empty: nothing to seal".into()));
    }
    if secret.secret.len() > MAX_SECRET {
        return Err(InputError(format!(
            "the secret is {} bytes: at most {MAX_SECRET} bytes can be sealed",
            secret.secret.len()
        )));
    }
    if secret.username.len() > MAX_USERNAME || secret.username.chars().any(char::is_control) {
        return Err(InputError(format!(
            "the username must be one line of at most {MAX_USERNAME} bytes"
        )));
    }
    let text = match std::str::from_utf8(&secret.secret) {
        Ok(t) => Some(t),
        Err(_) if kind.is_text() => {
            return Err(InputError(format!(
                "the secret is not UTF-8 text: a {} must be text (use --kind file for binary data)",
                kind.name()
            )))
        }
        Err(_) => None,
    };
    let canonical = match (kind, text) {
        (EntryKind::Password, Some(t)) if t.contains(['\n', '\r']) => {
            return Err(InputError(
                "a password must be one line (use --kind note for text with line breaks)".into(),
            ))
        }
        (EntryKind::RecoveryKey, Some(t)) => Some(recovery_key::check(t)?.0),
        _ => None,
    };
    Ok(EntrySecret {
        username: secret.username.clone(),
        secret: canonical.map_or_else(|| secret.secret.clone(), |c| Zeroizing::new(c.into_bytes())),
    })
}

/// Checks a `--reason`: one line, at most 1024 bytes, may be empty.
pub fn check_reason(reason: &str) -> Result<(), InputError> {
    match text_problem(reason, limits::REASON, true) {
        Some(why) => Err(InputError(format!(
            "--reason {why} (at most {} bytes, one line)",
            limits::REASON
        ))),
        None => Ok(()),
    }
}

/// Checks a name-like input value.
pub fn check_text(what: &str, value: &str, max: usize) -> Result<(), InputError> {
    match text_problem(value, max, false) {
        Some(why) => Err(InputError(format!(
            "{what} {why} (at most {max} bytes, one line)"
        ))),
        None => Ok(()),
    }
}

fn check_actor(actor: &str) -> String {
    // Self-asserted and informational: clean it up rather than refuse.
    let cleaned: String = actor.chars().filter(|c| !c.is_control()).collect();
    let mut cleaned = cleaned.trim().to_owned();
    while cleaned.len() > limits::ACTOR {
        cleaned.pop();
    }
    cleaned.trim().to_owned()
}

/// A new vault: its id, the file's bytes, and one share per custodian.
#[derive(Debug)]
pub struct Created {
    /// The new vault's id.
    pub id: VaultId,
    /// The complete vault file.
    pub bytes: Vec<u8>,
    /// One share per custodian, in custodian order.
    pub shares: Vec<IssuedShare>,
}

/// Creates a vault. `passphrases[i]` protects custodian i's share
/// (`None`: plain share).
pub fn create(
    spec: &InitSpec,
    passphrases: &[Option<SecretString>],
) -> Result<Created, InputError> {
    validate(spec)?;
    let mut id = [0u8; 16];
    random_bytes(&mut id);
    let vault_id = VaultId(id);
    let keys = new_keys(spec, vault_id, passphrases)?;
    let mut bytes = log::header().to_vec();
    let body = keys.genesis.encode_body();
    bytes.extend_from_slice(&log::encode_frame(&log::genesis_prev(), keys.genesis.kind(), &body).0);
    Ok(Created {
        id: vault_id,
        bytes,
        shares: keys.shares,
    })
}

/// A new master key and everything made from it: the signed genesis
/// record (first in its file) and the custodians' shares.
pub(crate) struct NewKeys {
    pub(crate) mk: MasterKey,
    pub(crate) genesis: Record,
    pub(crate) escrow_public: [u8; 32],
    pub(crate) shares: Vec<IssuedShare>,
}

/// Makes a master key, splits it, makes an escrow key pair, and builds and
/// signs the genesis record for `vault_id`.
pub(crate) fn new_keys(
    spec: &InitSpec,
    vault_id: VaultId,
    passphrases: &[Option<SecretString>],
) -> Result<NewKeys, InputError> {
    assert_eq!(
        passphrases.len(),
        spec.custodians.len(),
        "one passphrase slot per custodian"
    );
    let mk = MasterKey::generate();
    let n = spec.custodians.len();
    let key_shares =
        shamir::split(&mk, spec.threshold, n).map_err(|e| InputError(e.to_string()))?;
    let (escrow_public, escrow_sealed) = escrow::generate(&mk, &vault_id);
    let mut genesis = Record::Genesis(Genesis {
        vault_id,
        time: spec.time,
        actor: check_actor(&spec.actor),
        name: spec.name.clone(),
        threshold: spec.threshold as u8,
        custodians: spec
            .custodians
            .iter()
            .zip(&key_shares)
            .map(|(name, share)| Custodian {
                name: name.clone(),
                commitment: share.commitment(&vault_id),
            })
            .collect(),
        escrow_public,
        escrow_sealed,
        key_check: mk.key_check(&vault_id),
        mac: [0; 32],
    });
    genesis.sign(&mk.record_mac_key(&vault_id), &log::genesis_prev());
    let mut shares = Vec::with_capacity(n);
    for ((name, share), pass) in spec.custodians.iter().zip(&key_shares).zip(passphrases) {
        let body = ShareBody::seal(
            vault_id,
            spec.threshold as u8,
            n as u8,
            share,
            pass.as_ref().map(|p| (p, spec.kdf)),
        )
        .map_err(|e: KdfParamsError| InputError(e.to_string()))?;
        let header = ShareHeader {
            vault_name: &spec.name,
            fingerprint: &vault_id.fingerprint(),
            custodian: name,
        };
        shares.push(IssuedShare {
            custodian: name.clone(),
            text: share_text::encode(&body, &header),
        });
    }
    Ok(NewKeys {
        mk,
        genesis,
        escrow_public,
        shares,
    })
}

/// Checks an init spec: name, threshold, custodian names, Argon2 costs.
pub fn validate(spec: &InitSpec) -> Result<(), InputError> {
    check_text("vault name", &spec.name, limits::NAME)?;
    let (k, n) = (spec.threshold, spec.custodians.len());
    if k < 2 {
        return Err(InputError(format!(
            "threshold {k} is refused: a vault needs at least 2 custodians to unseal"
        )));
    }
    if n > 255 {
        return Err(InputError(format!(
            "{n} custodians is too many: at most 255"
        )));
    }
    if k > n {
        return Err(InputError(format!(
            "threshold {k} is more than the {n} custodians named"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &spec.custodians {
        check_text("custodian name", name, limits::CUSTODIAN)?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(InputError(format!(
                "custodian name '{name}' cannot be a file name (no '/', '\\' or leading '.')"
            )));
        }
        // Case-insensitively: names become share file names.
        if !seen.insert(name.to_lowercase()) {
            return Err(InputError(format!("custodian '{name}' is named twice")));
        }
    }
    spec.kdf.validate().map_err(|e| InputError(e.to_string()))
}

impl Vault {
    /// Replays a parsed file into a vault, checking every rule.
    pub fn replay(log: &Log) -> Result<Self, ReplayError> {
        let mut frames = log.frames.iter();
        let first = frames.next().ok_or_else(|| ReplayError::Invalid {
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
        let mut vault = Self {
            genesis: genesis.clone(),
            entries: BTreeMap::new(),
            records: vec![Placed {
                record: Record::Genesis(genesis),
                frame: first.clone(),
            }],
            head: first.hash,
            drills: Vec::new(),
            verifications: BTreeMap::new(),
            count: 1,
            end: frame_end(first),
            whole: true,
        };
        for (i, frame) in frames.enumerate() {
            let number = i + 2;
            let record = decode(frame, number)?;
            vault.apply(record, frame, number)?;
        }
        Ok(vault)
    }

    /// A vault of its genesis and some deposits only (found through the
    /// index), each given with its record number, in file order: enough to
    /// check shares, deposit, and reveal those entries. `entries()` then
    /// holds just the entries those deposits make, which must be every
    /// version of each (replay's version rules are checked). Nothing else
    /// is replayed: exposure, drills and share checks are not known here.
    pub fn partial(
        genesis: &Frame,
        deposits: &[(Frame, usize)],
        tip: Tip,
    ) -> Result<Self, ReplayError> {
        let log = Log {
            frames: vec![genesis.clone()],
            head: genesis.hash,
            torn: None,
        };
        let mut vault = Self::replay(&log)?;
        for (frame, number) in deposits {
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
        let n = self.genesis.custodians.len() as u8;
        let unknown = |custodians: &[u8]| custodians.iter().any(|&c| c == 0 || c > n);
        match &record {
            Record::Genesis(_) => return Err(invalid(frame, number, "a second genesis record")),
            Record::Deposit(d) => self.apply_deposit(d, frame, number)?,
            Record::Unseal(u) if unknown(&u.custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::Unseal(u) => self.mark_exposed(u),
            Record::Drill(d) if unknown(&d.custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the vault does not have",
                ))
            }
            Record::Drill(d) => self.drills.push(DrillEvent {
                time: d.time,
                kind: d.kind,
                custodians: d.custodians.clone(),
                versions_failed: d.versions_failed,
            }),
            Record::History(h) => self.apply_history(h),
            Record::Rekey(k) if k.custodians.iter().any(|&c| c == 0 || c > k.old_custodians) => {
                return Err(invalid(
                    frame,
                    number,
                    "names a custodian the old vault did not have",
                ))
            }
            Record::Rekey(_) => {}
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
        self.records.push(Placed {
            record,
            frame: frame.clone(),
        });
        self.head = frame.hash;
        self.count += 1;
        self.end = frame_end(frame);
        Ok(())
    }

    /// Records from before a rekey keep their effect on readiness: an old
    /// unseal still exposes what it revealed, an old drill still counts.
    /// Custodian numbers in them are the old vault's.
    fn apply_history(&mut self, h: &crate::record::History) {
        match Record::decode(h.kind, &h.body) {
            Ok(Record::Unseal(u)) => self.mark_exposed(&u),
            Ok(Record::Drill(d)) => self.drills.push(DrillEvent {
                time: d.time,
                kind: d.kind,
                custodians: Vec::new(),
                versions_failed: d.versions_failed,
            }),
            _ => {}
        }
    }

    /// An unseal exposes the current versions it revealed.
    fn mark_exposed(&mut self, u: &Unseal) {
        for (label, version) in &u.entries {
            if let Some(e) = self.entries.get_mut(label) {
                if e.current().version == *version {
                    e.exposed_at = Some(u.time);
                }
            }
        }
    }

    fn apply_deposit(
        &mut self,
        d: &Deposit,
        frame: &Frame,
        number: usize,
    ) -> Result<(), ReplayError> {
        let expected = self
            .entries
            .get(&d.label)
            .map_or(1, |e| e.current().version + 1);
        if d.version != expected {
            return Err(invalid(frame, number, "entry version out of sequence"));
        }
        let attrs = DepositAttrs::read(d).map_err(|why| invalid(frame, number, why))?;
        let entry = self
            .entries
            .entry(d.label.clone())
            .or_insert_with(|| Entry {
                label: d.label.clone(),
                kind: d.kind,
                versions: Vec::new(),
                rotate_days: DEFAULT_ROTATE_DAYS,
                expose_hours: DEFAULT_EXPOSE_HOURS,
                exposed_at: None,
            });
        if entry.kind != d.kind {
            return Err(invalid(
                frame,
                number,
                "entry kind changed between versions",
            ));
        }
        entry.rotate_days = attrs.rotate_days.unwrap_or(entry.rotate_days);
        entry.expose_hours = attrs.expose_hours.unwrap_or(entry.expose_hours);
        entry.exposed_at = None;
        entry.versions.push(EntryVersion {
            version: d.version,
            time: d.time,
            actor: d.actor.clone(),
            device: attrs.device,
            key_id: attrs.key_id,
            rotation: attrs.rotation,
            digest: attrs.digest,
            record: self.records.len(),
        });
        Ok(())
    }

    /// Drills, oldest first.
    pub fn drills(&self) -> &[DrillEvent] {
        &self.drills
    }

    /// Share verifications per custodian index: (count, last time).
    pub fn verifications(&self) -> &BTreeMap<u8, (u32, u64)> {
        &self.verifications
    }

    /// Vault id.
    pub fn id(&self) -> &VaultId {
        &self.genesis.vault_id
    }
    /// Vault name.
    pub fn name(&self) -> &str {
        &self.genesis.name
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
    /// Entries by label.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }
    /// Every record, in file order (when partial: those read).
    pub fn records(&self) -> &[Placed] {
        &self.records
    }
    /// How many records the file holds.
    pub fn record_count(&self) -> usize {
        self.count
    }
    /// File offset just past the last record.
    pub fn end(&self) -> u64 {
        self.end
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

    /// The version a deposit of `label` would get, or why it is refused
    /// (a bad label, or a label that holds another kind).
    pub fn next_version(&self, label: &str, kind: EntryKind) -> Result<u32, InputError> {
        check_text("label", label, limits::LABEL)?;
        match self.entries.get(label) {
            None => Ok(1),
            Some(e) if e.kind != kind => Err(InputError(format!(
                "entry '{label}' holds a {}, not a {}: use --kind {} or another label",
                e.kind.name(),
                kind.name(),
                e.kind.name()
            ))),
            Some(e) => Ok(e.current().version + 1),
        }
    }

    /// Builds a deposit record for a new version of `label`.
    pub fn deposit(
        &self,
        label: &str,
        kind: EntryKind,
        secret: &EntrySecret,
        meta: &DepositMeta,
    ) -> Result<Record, InputError> {
        self.prepare_deposit(label, kind, secret, meta)?.seal()
    }

    /// Checks a deposit and fixes its metadata (version, attributes) without
    /// sealing it yet: sealing is the costly part, and prepared deposits of
    /// different labels can be sealed in parallel.
    pub fn prepare_deposit(
        &self,
        label: &str,
        kind: EntryKind,
        secret: &EntrySecret,
        meta: &DepositMeta,
    ) -> Result<PreparedDeposit, InputError> {
        let version = self.next_version(label, kind)?;
        let secret = validate_secret(kind, secret)?;
        let attributes = self.deposit_attributes(label, &secret, meta)?;
        Ok(PreparedDeposit {
            deposit: Deposit {
                time: meta.time,
                actor: check_actor(&meta.actor),
                label: label.to_owned(),
                kind,
                version,
                attributes,
                enc: [0; 32],
                ciphertext: Vec::new(),
            },
            secret,
            vault_id: *self.id(),
            escrow_public: self.genesis.escrow_public,
        })
    }

    /// The attributes of a new deposit: the given ones, with the policy
    /// carried over from the entry's previous version when not given.
    fn deposit_attributes(
        &self,
        label: &str,
        secret: &EntrySecret,
        meta: &DepositMeta,
    ) -> Result<Vec<(u8, String)>, InputError> {
        let prev = self.entries.get(label);
        let mut attributes = Vec::new();
        if let Some(device) = &meta.device {
            check_text("--device", device, limits::ATTRIBUTE)?;
            attributes.push((attr::DEVICE, device.clone()));
        }
        if let Some(id) = &meta.key_id {
            let is_bitlocker = std::str::from_utf8(&secret.secret)
                .ok()
                .and_then(|s| recovery_key::check(s).ok())
                .is_some_and(|(_, f)| f == RecoveryFormat::BitLocker);
            if !is_bitlocker {
                return Err(InputError(
                    "--key-id goes with a BitLocker recovery password".into(),
                ));
            }
            attributes.push((attr::KEY_ID, recovery_key::check_key_id(id)?));
        }
        let days = meta.rotate_days;
        if let Some(days) = days {
            if !(1..=MAX_ROTATE_DAYS).contains(&days) {
                return Err(InputError(format!(
                    "rotation every {days} days is refused: 1 to {MAX_ROTATE_DAYS}"
                )));
            }
            attributes.push((attr::ROTATE_DAYS, days.to_string()));
        }
        let hours = meta.expose_hours;
        if let Some(hours) = hours {
            if !(1..=MAX_EXPOSE_HOURS).contains(&hours) {
                return Err(InputError(format!(
                    "an exposure window of {hours} hours is refused: 1 to {MAX_EXPOSE_HOURS}"
                )));
            }
            attributes.push((attr::EXPOSE_HOURS, hours.to_string()));
        }
        if let Some(digest) = &meta.digest {
            attributes.push((attr::IMPORT_DIGEST, digest.clone()));
        }
        if meta.rotation {
            if prev.is_none() {
                return Err(InputError(format!(
                    "no entry '{label}' to rotate (see: breakglass list)"
                )));
            }
            attributes.push((attr::ROTATION, "rotate".into()));
        }
        // FORMAT.md §7.2: tags strictly ascending.
        attributes.sort_by_key(|(tag, _)| *tag);
        Ok(attributes)
    }

    /// Checks one share alone: right vault, known custodian, passphrase,
    /// commitment. Reveals nothing and needs no other share.
    pub fn check_share(
        &self,
        body: &ShareBody,
        passphrase: Option<&SecretString>,
    ) -> Result<KeyShare, ShareProblem> {
        self.precheck_share(body)?;
        let share = body.unlock(passphrase)?;
        let custodian = &self.genesis.custodians[body.index as usize - 1];
        if !share.matches(self.id(), &custodian.commitment) {
            return Err(ShareProblem::CommitmentMismatch {
                custodian: custodian.name.clone(),
            });
        }
        Ok(share)
    }

    /// Checks a key share that arrived without its share body (a remote
    /// contribution): a known custodian, and the stored commitment.
    pub fn check_key_share(&self, share: &KeyShare) -> Result<(), ShareProblem> {
        let custodian = self
            .genesis
            .custodians
            .get(share.index() as usize - 1)
            .ok_or(ShareProblem::UnknownIndex(share.index()))?;
        if !share.matches(self.id(), &custodian.commitment) {
            return Err(ShareProblem::CommitmentMismatch {
                custodian: custodian.name.clone(),
            });
        }
        Ok(())
    }

    /// The checks that need no passphrase: vault id and index. Run them
    /// before asking a custodian for a passphrase.
    pub fn precheck_share(&self, body: &ShareBody) -> Result<(), ShareProblem> {
        if body.vault_id != *self.id() {
            return Err(ShareProblem::ForeignVault(body.vault_id.short()));
        }
        if self.custodian_name(body.index).is_none() {
            return Err(ShareProblem::UnknownIndex(body.index));
        }
        Ok(())
    }

    /// A record that custodian `index` verified their share.
    pub fn share_verified(&self, index: u8, actor: &str, time: u64) -> Record {
        Record::ShareVerified(ShareVerified {
            time,
            actor: check_actor(actor),
            custodian: index,
        })
    }

    /// Combines checked shares and opens the escrow key.
    pub fn open(&self, shares: &[KeyShare]) -> Result<Unsealed, OpenError> {
        let need = self.threshold();
        let mut indices: Vec<u8> = shares.iter().map(KeyShare::index).collect();
        indices.sort_unstable();
        indices.dedup();
        if indices.len() != shares.len() || shares.len() < need {
            return Err(OpenError::TooFew {
                need,
                got: indices.len(),
            });
        }
        let (mk, inconsistent) = self.combine_checked(shares)?;
        let escrow = self
            .genesis
            .escrow_sealed
            .open(&mk, self.id(), &self.genesis.escrow_public)
            .ok_or_else(|| OpenError::Damaged("the sealed escrow key does not open".into()))?;
        indices.retain(|i| !inconsistent.contains(i));
        Ok(Unsealed {
            vault_id: *self.id(),
            mk,
            escrow,
            custodians: indices,
            inconsistent,
        })
    }

    /// Combines shares and checks the key. With more shares than needed, a
    /// share that matches its commitment but not the others (so the
    /// commitments were altered) is found by leaving each out in turn, and
    /// returned so it can be named.
    fn combine_checked(&self, shares: &[KeyShare]) -> Result<(MasterKey, Vec<u8>), OpenError> {
        let need = self.threshold();
        let check = |set: &[KeyShare]| {
            shamir::combine(need, set)
                .ok()
                .filter(|mk| mk.matches_key_check(self.id(), &self.genesis.key_check))
        };
        if let Some(mk) = check(shares) {
            return Ok((mk, Vec::new()));
        }
        if shares.len() > need {
            for skip in 0..shares.len() {
                let rest: Vec<KeyShare> = shares
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, s)| s.clone())
                    .collect();
                if let Some(mk) = check(&rest) {
                    return Ok((mk, vec![shares[skip].index()]));
                }
            }
        }
        Err(OpenError::Damaged(
            "shares that match their commitments do not combine to the vault's key".into(),
        ))
    }
}

fn decode(frame: &Frame, number: usize) -> Result<Record, ReplayError> {
    Record::decode(frame.kind, &frame.body).map_err(|e| ReplayError::Invalid {
        record: number,
        offset: frame.offset,
        why: match e {
            crate::record::RecordError::UnknownType(t) => format!(
                "unknown record type 0x{t:02x} (written by a newer breakglass? upgrade breakglass)"
            ),
            crate::record::RecordError::Body(d) => d.to_string(),
        },
    })
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

/// A revealed entry version.
#[derive(Debug)]
pub struct Revealed {
    /// Label.
    pub label: String,
    /// Kind.
    pub kind: EntryKind,
    /// Version.
    pub version: u32,
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Username and secret.
    pub secret: EntrySecret,
}

/// What a drill found: how many entry versions decrypted, and which did not.
#[derive(Debug, Default)]
pub struct DrillOutcome {
    /// Versions that decrypted.
    pub ok: u32,
    /// Versions that did not (damaged or altered).
    pub failed: Vec<EntryDamaged>,
}

/// The vault opened by a quorum: the master key and the escrow private key.
/// Dropping it zeroizes both.
pub struct Unsealed {
    pub(crate) vault_id: VaultId,
    pub(crate) mk: MasterKey,
    pub(crate) escrow: EscrowSecret,
    pub(crate) custodians: Vec<u8>,
    pub(crate) inconsistent: Vec<u8>,
}

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsealed")
            .field("vault_id", &self.vault_id)
            .field("custodians", &self.custodians)
            .finish_non_exhaustive()
    }
}

impl Unsealed {
    /// Indices of the custodians whose shares opened it, ascending.
    pub fn custodians(&self) -> &[u8] {
        &self.custodians
    }

    /// Indices of shares that matched their commitments but not the other
    /// shares: evidence that the vault's commitments were altered. They
    /// were left out; the key was checked without them.
    pub fn inconsistent(&self) -> &[u8] {
        &self.inconsistent
    }

    /// Decrypts the current version of `label`; `None` if there is no such entry.
    pub fn reveal(&self, vault: &Vault, label: &str) -> Option<Result<Revealed, EntryDamaged>> {
        let entry = vault.entries.get(label)?;
        Some(self.open_version(vault, entry, entry.current()))
    }

    /// Decrypts version `version` of `label`; `None` if there is no such
    /// entry or version.
    pub fn reveal_version(
        &self,
        vault: &Vault,
        label: &str,
        version: u32,
    ) -> Option<Result<Revealed, EntryDamaged>> {
        let entry = vault.entries.get(label)?;
        let v = entry.versions.iter().find(|v| v.version == version)?;
        Some(self.open_version(vault, entry, v))
    }

    pub(crate) fn open_version(
        &self,
        vault: &Vault,
        entry: &Entry,
        v: &EntryVersion,
    ) -> Result<Revealed, EntryDamaged> {
        let damaged = || EntryDamaged {
            label: entry.label.clone(),
            version: v.version,
            record: v.record + 1,
        };
        let Record::Deposit(d) = &vault.records[v.record].record else {
            return Err(damaged());
        };
        let plain = self
            .escrow
            .open(
                &self.vault_id,
                &d.enc,
                &d.ciphertext,
                &d.aad(&self.vault_id),
            )
            .ok_or_else(damaged)?;
        let secret = EntrySecret::decode(&plain).map_err(|_| damaged())?;
        Ok(Revealed {
            label: entry.label.clone(),
            kind: entry.kind,
            version: v.version,
            time: v.time,
            secret,
        })
    }

    /// Decrypts every version of every entry and reports which fail,
    /// keeping nothing: the proof a drill needs.
    pub fn check_all(&self, vault: &Vault) -> DrillOutcome {
        self.check_all_with(vault, || {})
    }

    /// [`Unsealed::check_all`], calling `progress` once per entry version.
    pub fn check_all_with(&self, vault: &Vault, mut progress: impl FnMut()) -> DrillOutcome {
        assert!(vault.is_whole(), "a drill checks the whole vault");
        let mut outcome = DrillOutcome::default();
        for entry in vault.entries.values() {
            for v in &entry.versions {
                progress();
                match self.open_version(vault, entry, v) {
                    Ok(_) => outcome.ok += 1,
                    Err(e) => outcome.failed.push(e),
                }
            }
        }
        outcome
    }

    /// The drill record for `outcome`, signed for its place after `prev`.
    pub fn drill_record(
        &self,
        outcome: &DrillOutcome,
        kind: DrillKind,
        reason: &str,
        actor: &str,
        time: u64,
        prev: &[u8; 32],
    ) -> Result<Record, InputError> {
        check_reason(reason)?;
        let record = Record::Drill(Drill {
            time,
            actor: check_actor(actor),
            custodians: self.custodians.clone(),
            kind,
            versions_ok: outcome.ok,
            versions_failed: outcome.failed.len() as u32,
            reason: reason.to_owned(),
            mac: [0; 32],
        });
        Ok(self.signed(record, prev))
    }

    /// `record` with its MAC for its place after `prev`.
    fn signed(&self, mut record: Record, prev: &[u8; 32]) -> Record {
        record.sign(&self.mk.record_mac_key(&self.vault_id), prev);
        record
    }

    /// Quorum records whose MAC does not verify (1-based record numbers):
    /// evidence that the audit trail was altered.
    pub fn bad_macs(&self, vault: &Vault) -> Vec<usize> {
        let key = self.mk.record_mac_key(&self.vault_id);
        vault
            .records
            .iter()
            .enumerate()
            .filter(|(_, p)| p.record.verify_mac(&key, &p.frame.prev) == Some(false))
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// The unseal record for `entries`, signed for its place after `prev`
    /// (the head of the file at the time it is appended).
    pub fn unseal_record(
        &self,
        entries: &[(String, u32)],
        reason: &str,
        actor: &str,
        time: u64,
        prev: &[u8; 32],
    ) -> Result<Record, InputError> {
        check_reason(reason)?;
        let record = Record::Unseal(Unseal {
            time,
            actor: check_actor(actor),
            custodians: self.custodians.clone(),
            entries: entries.to_vec(),
            reason: reason.to_owned(),
            mac: [0; 32],
        });
        Ok(self.signed(record, prev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share_text;

    pub(crate) fn spec(k: usize, names: &[&str]) -> InitSpec {
        InitSpec {
            name: "Test vault".into(),
            threshold: k,
            custodians: names.iter().map(|s| s.to_string()).collect(),
            actor: "tester@host".into(),
            time: 1_700_000_000,
            kdf: KdfParams::FLOOR,
        }
    }

    fn meta(time: u64) -> DepositMeta {
        DepositMeta {
            actor: "x".into(),
            time,
            ..DepositMeta::default()
        }
    }

    fn secret(s: &str) -> EntrySecret {
        EntrySecret {
            username: Zeroizing::new("admin".into()),
            secret: Zeroizing::new(s.as_bytes().to_vec()),
        }
    }

    fn append(bytes: &mut Vec<u8>, vault: &Vault, record: &Record) {
        bytes.extend_from_slice(
            &log::encode_frame(vault.head(), record.kind(), &record.encode_body()).0,
        );
    }

    fn load(bytes: &[u8]) -> Vault {
        Vault::replay(&log::parse(bytes).unwrap()).unwrap()
    }

    fn shares_of(issued: &[IssuedShare]) -> Vec<ShareBody> {
        issued
            .iter()
            .map(|s| share_text::decode(&s.text).unwrap())
            .collect()
    }

    #[test]
    fn init_deposit_unseal_end_to_end() {
        let Created {
            mut bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b", "c"]), &[None, None, None]).unwrap();
        let vault = load(&bytes);
        let d = vault
            .deposit("root", EntryKind::Password, &secret("s3cret"), &meta(5))
            .unwrap();
        append(&mut bytes, &vault, &d);
        let vault = load(&bytes);
        let d = vault
            .deposit("root", EntryKind::Password, &secret("n3w"), &meta(6))
            .unwrap();
        append(&mut bytes, &vault, &d);
        let vault = load(&bytes);
        assert_eq!(vault.entries()["root"].versions.len(), 2);

        let bodies = shares_of(&issued);
        let shares: Vec<KeyShare> = bodies[1..]
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        let unsealed = vault.open(&shares).unwrap();
        assert_eq!(unsealed.custodians(), &[2, 3]);
        let r = unsealed.reveal(&vault, "root").unwrap().unwrap();
        assert_eq!(r.secret.secret.as_slice(), b"n3w");
        assert_eq!(r.version, 2);
        assert!(unsealed.bad_macs(&vault).is_empty());
        let rec = unsealed
            .unseal_record(&[("root".into(), 2)], "drill", "me", 7, vault.head())
            .unwrap();
        append(&mut bytes, &vault, &rec);
        let vault = load(&bytes);
        assert!(unsealed.bad_macs(&vault).is_empty());
    }

    #[test]
    fn a_reason_is_one_line_of_at_most_1024_bytes() {
        assert!(check_reason("").is_ok());
        assert!(check_reason("INC-42 IdP outage").is_ok());
        let two_lines = check_reason("a\nb").unwrap_err();
        assert!(two_lines.0.contains("control characters"), "{two_lines}");
        assert!(check_reason(&"x".repeat(1025))
            .unwrap_err()
            .0
            .contains("too long"));
        let Created {
            bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let vault = load(&bytes);
        let s: Vec<KeyShare> = shares_of(&issued)
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        let un = vault.open(&s).unwrap();
        assert!(un.unseal_record(&[], "a\nb", "", 1, vault.head()).is_err());
        let outcome = un.check_all(&vault);
        assert!(un
            .drill_record(&outcome, DrillKind::Drill, "a\tb", "", 1, vault.head())
            .is_err());
        // A good one is signed for its place: appended, its MAC verifies;
        // altered, it does not.
        let ok = un.unseal_record(&[], "fine", "", 1, vault.head()).unwrap();
        let mut grown = vault.clone();
        grown.push(ok.clone()).unwrap();
        assert!(un.bad_macs(&grown).is_empty());
        let Record::Unseal(mut u) = ok else {
            unreachable!()
        };
        u.reason = "fine!".into();
        let mut forged = vault.clone();
        forged.push(Record::Unseal(u)).unwrap();
        assert_eq!(un.bad_macs(&forged), vec![2]);
    }

    #[test]
    fn rejects_bad_specs() {
        for (k, names, msg) in [
            (1, vec!["a", "b"], "at least 2"),
            (3, vec!["a", "b"], "more than the 2"),
            (2, vec!["a", "A"], "named twice"),
            (2, vec!["a", ""], "custodian name is empty"),
            (2, vec!["a", "b\nc"], "control characters"),
        ] {
            let s = spec(k, &names);
            let err = create(&s, &vec![None; names.len()]).unwrap_err();
            assert!(err.0.contains(msg), "{err} should contain {msg}");
        }
        let names: Vec<String> = (0..256).map(|i| format!("c{i}")).collect();
        let s = InitSpec {
            custodians: names,
            ..spec(2, &[])
        };
        assert!(create(&s, &vec![None; 256])
            .unwrap_err()
            .0
            .contains("at most 255"));
        let weak = InitSpec {
            kdf: KdfParams {
                m_kib: 1024,
                t: 1,
                p: 1,
            },
            ..spec(2, &["a", "b"])
        };
        assert!(create(&weak, &[None, None])
            .unwrap_err()
            .0
            .contains("below the floor"));
    }

    #[test]
    fn share_problems_are_specific() {
        let Created {
            bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b", "c"]), &[None, None, None]).unwrap();
        let Created { shares: other, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let vault = load(&bytes);
        let foreign = share_text::decode(&other[0].text).unwrap();
        assert!(matches!(
            vault.check_share(&foreign, None),
            Err(ShareProblem::ForeignVault(_))
        ));
        let mut body = share_text::decode(&issued[0].text).unwrap();
        body.index = 2; // claims to be b's
        assert_eq!(
            vault.check_share(&body, None).unwrap_err(),
            ShareProblem::CommitmentMismatch {
                custodian: "b".into()
            }
        );
        body.index = 9;
        assert_eq!(
            vault.check_share(&body, None).unwrap_err(),
            ShareProblem::UnknownIndex(9)
        );
    }

    #[test]
    fn too_few_and_duplicates_do_not_open() {
        let Created {
            bytes,
            shares: issued,
            ..
        } = create(&spec(3, &["a", "b", "c"]), &[None, None, None]).unwrap();
        let vault = load(&bytes);
        let s: Vec<KeyShare> = shares_of(&issued)
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        assert_eq!(
            vault.open(&s[..2]).unwrap_err(),
            OpenError::TooFew { need: 3, got: 2 }
        );
        let dup = vec![s[0].clone(), s[0].clone(), s[1].clone()];
        assert_eq!(
            vault.open(&dup).unwrap_err(),
            OpenError::TooFew { need: 3, got: 2 }
        );
    }

    #[test]
    fn an_inconsistent_share_among_more_than_k_is_named() {
        let Created {
            bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b", "c"]), &[None, None, None]).unwrap();
        let vault = load(&bytes);
        let mut s: Vec<KeyShare> = shares_of(&issued)
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        // As if b's commitment had been replaced to match a forged share.
        s[1] = KeyShare::new(2, Zeroizing::new([0x42; 32])).unwrap();
        let un = vault.open(&s).unwrap();
        assert_eq!(un.inconsistent(), &[2]);
        assert_eq!(un.custodians(), &[1, 3]);
        // With exactly k shares there is nothing to leave out: damage.
        assert!(matches!(vault.open(&s[..2]), Err(OpenError::Damaged(_))));
    }

    #[test]
    fn altered_key_check_is_damage() {
        let Created {
            bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let mut vault = load(&bytes);
        vault.genesis.key_check[0] ^= 1;
        let s: Vec<KeyShare> = shares_of(&issued)
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        assert!(matches!(vault.open(&s), Err(OpenError::Damaged(_))));
    }

    #[test]
    fn kind_cannot_change_and_versions_count_up() {
        let Created { bytes, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let vault = load(&bytes);
        let mut bytes = bytes;
        let d = vault
            .deposit(
                "k",
                EntryKind::RecoveryKey,
                &secret("ABCD-EFGH-IJKL-MNOP-QRST-UVWX"),
                &meta(1),
            )
            .unwrap();
        append(&mut bytes, &vault, &d);
        let vault = load(&bytes);
        let err = vault
            .deposit("k", EntryKind::Password, &secret("y"), &meta(2))
            .unwrap_err();
        assert!(err.0.contains("holds a recovery-key"), "{err}");
        assert!(vault
            .deposit(
                "k",
                EntryKind::RecoveryKey,
                &EntrySecret {
                    username: Zeroizing::new(String::new()),
                    secret: Zeroizing::new(Vec::new()),
                },
                &meta(2)
            )
            .is_err());
    }

    #[test]
    fn replayed_deposit_is_refused() {
        let Created { mut bytes, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let vault = load(&bytes);
        let d = vault
            .deposit("k", EntryKind::Note, &secret("x"), &meta(1))
            .unwrap();
        append(&mut bytes, &vault, &d);
        let vault = load(&bytes);
        append(&mut bytes, &vault, &d); // the same record again, correctly chained
        let err = Vault::replay(&log::parse(&bytes).unwrap()).unwrap_err();
        assert!(err.to_string().contains("version out of sequence"), "{err}");
    }

    #[test]
    fn moved_metadata_fails_to_decrypt() {
        let Created {
            mut bytes,
            shares: issued,
            ..
        } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
        let vault = load(&bytes);
        let d = vault
            .deposit("alpha", EntryKind::Password, &secret("x"), &meta(1))
            .unwrap();
        let Record::Deposit(mut moved) = d.clone() else {
            unreachable!()
        };
        moved.label = "beta".into();
        append(&mut bytes, &vault, &Record::Deposit(moved));
        let vault = load(&bytes);
        let s: Vec<KeyShare> = shares_of(&issued)
            .iter()
            .map(|b| vault.check_share(b, None).unwrap())
            .collect();
        let un = vault.open(&s).unwrap();
        let err = un.reveal(&vault, "beta").unwrap().unwrap_err();
        assert_eq!(err.label, "beta");
        assert_eq!(err.record, 2);
    }
}
