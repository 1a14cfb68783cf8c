//! Record bodies of the vault file (docs/FORMAT.md §7).
//!
//! Each record type has one canonical encoding; `decode(encode(r)) == r`
//! and `encode(decode(b)) == b` for every accepted `b`.

use crate::codec::{DecodeError, Reader, Writer};
use crate::entry::EntryKind;
use crate::escrow::SealedEscrowKey;
use crate::keys::RecordMacKey;
use crate::text_rules::TextProblem;
use crate::VaultId;

/// Record type bytes.
pub mod kind {
    /// Vault creation.
    pub const GENESIS: u8 = 0x01;
    /// A deposit (seal) of one entry version.
    pub const DEPOSIT: u8 = 0x02;
    /// An unseal by a quorum.
    pub const UNSEAL: u8 = 0x03;
    /// A custodian checked their share.
    pub const SHARE_VERIFIED: u8 = 0x04;
    /// A drill (or emergency/misuse review) by a quorum.
    pub const DRILL: u8 = 0x05;
    /// A record of the vault before a rekey, kept for the audit trail.
    pub const HISTORY: u8 = 0x06;
    /// A rekey: new master key, escrow key and custodians.
    pub const REKEY: u8 = 0x07;
    /// A deposit in the exported-key form (§7.8): sealed with or without
    /// the vault file, alone or in a batch.
    pub const DEPOSIT_EXPORTED: u8 = 0x12;
}

/// Limits on text fields, in bytes.
pub mod limits {
    /// Vault name.
    pub const NAME: usize = 128;
    /// Custodian name.
    pub const CUSTODIAN: usize = 64;
    /// Entry label.
    pub const LABEL: usize = 128;
    /// Self-asserted actor (user@host).
    pub const ACTOR: usize = 128;
    /// Reason given for an unseal.
    pub const REASON: usize = 1024;
    /// A deposit attribute's value.
    pub const ATTRIBUTE: usize = 128;
    /// HPKE ciphertext of one deposit.
    pub const CIPHERTEXT: usize = crate::entry::MAX_SECRET + crate::entry::MAX_USERNAME + 64;
}

/// Why a text field is refused as new input (labels, names, devices,
/// reasons): see [`crate::text_rules`]. Records already in a file are
/// decoded with the older rule, [`crate::text_rules::replay_problem`], so
/// every vault written before the stricter rule still opens.
pub fn text_problem(value: &str, max: usize, may_be_empty: bool) -> Option<TextProblem> {
    crate::text_rules::input_problem(value, max, may_be_empty)
}

fn read_text<'a>(
    r: &mut Reader<'a>,
    field: &'static str,
    max: usize,
    may_be_empty: bool,
) -> Result<&'a str, DecodeError> {
    let at = r.pos();
    let s = r.str(field)?;
    match crate::text_rules::replay_problem(s, max, may_be_empty) {
        Some(why) => Err(r.invalid(field, at, why)),
        None => Ok(s),
    }
}

/// A custodian as listed in the genesis record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Custodian {
    /// Name as given at init.
    pub name: String,
    /// Commitment to this custodian's share.
    pub commitment: [u8; 32],
}

/// The first record: the vault's public parameters and sealed escrow key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// Random vault id.
    pub vault_id: VaultId,
    /// Creation time, Unix seconds.
    pub time: u64,
    /// Who created it (self-asserted).
    pub actor: String,
    /// Vault name.
    pub name: String,
    /// Shares needed to unseal.
    pub threshold: u8,
    /// Custodians in index order (index = position + 1).
    pub custodians: Vec<Custodian>,
    /// Escrow X25519 public key.
    pub escrow_public: [u8; 32],
    /// Escrow private key sealed under the master key.
    pub escrow_sealed: SealedEscrowKey,
    /// Key-check value derived from the master key.
    pub key_check: [u8; 32],
    /// MAC under the record key.
    pub mac: [u8; 32],
}

/// Public attribute tags of a deposit (docs/FORMAT.md §7.2).
pub mod attr {
    /// Device identifier used for lookup: serial number, host name, key ID.
    pub const DEVICE: u8 = 1;
    /// BitLocker recovery key ID (8 hex digits).
    pub const KEY_ID: u8 = 2;
    /// Rotation policy: rotate at least every N days (decimal).
    pub const ROTATE_DAYS: u8 = 3;
    /// Exposure window: after an unseal, rotate within N hours (decimal).
    pub const EXPOSE_HOURS: u8 = 4;
    /// Marks the deposit as a rotation of the entry (value `rotate`).
    pub const ROTATION: u8 = 5;
    /// Import digest: 32 hex digits identifying label and secret, so a
    /// re-import adds nothing. Only for high-entropy secrets.
    pub const IMPORT_DIGEST: u8 = 6;
    /// Another name of the device, for search (a computer or display name
    /// when `DEVICE` holds a serial number or device ID).
    pub const ALSO_KNOWN_AS: u8 = 7;
    /// The device's user as an export names them, for search.
    pub const USER: u8 = 8;
    /// The most attributes one deposit may carry.
    pub const MAX: usize = 16;
}

/// One entry version deposited to the escrow key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Who deposited (self-asserted).
    pub actor: String,
    /// Entry label.
    pub label: String,
    /// Entry kind.
    pub kind: EntryKind,
    /// Version number, 1 for a new label, then +1 each deposit.
    pub version: u32,
    /// Public attributes `(tag, value)`, tags strictly ascending. Unknown
    /// tags are kept and authenticated like known ones.
    pub attributes: Vec<(u8, String)>,
    /// HPKE encapsulated key.
    pub enc: [u8; 32],
    /// HPKE ciphertext of the entry secret.
    pub ciphertext: Vec<u8>,
    /// `Some` for the exported-key form (`0x12`, §7.8): the deposit's
    /// random id, which is also what makes its key unique in a batch.
    /// `None` for the original form (`0x02`, §7.2).
    pub deposit_id: Option<[u8; 16]>,
}

/// An unseal by a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseal {
    /// Time, Unix seconds.
    pub time: u64,
    /// Who ran it (self-asserted).
    pub actor: String,
    /// Indices of the custodians whose shares were used, ascending.
    pub custodians: Vec<u8>,
    /// Entry versions revealed: (label, version).
    pub entries: Vec<(String, u32)>,
    /// Reason given (may be empty).
    pub reason: String,
    /// MAC under the record key.
    pub mac: [u8; 32],
}

/// A custodian checked their share (and passphrase) alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareVerified {
    /// Time, Unix seconds.
    pub time: u64,
    /// Who ran it (self-asserted).
    pub actor: String,
    /// The custodian's index.
    pub custodian: u8,
}

/// What a drill record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillKind {
    /// A scheduled test.
    Drill,
    /// A review after a real emergency use.
    Emergency,
    /// A review after suspected misuse.
    Misuse,
}

impl DrillKind {
    /// The byte in the file.
    pub fn code(self) -> u8 {
        match self {
            Self::Drill => 1,
            Self::Emergency => 2,
            Self::Misuse => 3,
        }
    }
    /// The kind for a byte from the file.
    pub fn from_code(code: u8) -> Option<Self> {
        [Self::Drill, Self::Emergency, Self::Misuse]
            .into_iter()
            .find(|k| k.code() == code)
    }
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Drill => "drill",
            Self::Emergency => "emergency",
            Self::Misuse => "misuse",
        }
    }
}

/// A quorum proved the shares combine and every entry version decrypts,
/// revealing nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drill {
    /// Time, Unix seconds.
    pub time: u64,
    /// Who ran it (self-asserted).
    pub actor: String,
    /// Indices of the custodians present, ascending.
    pub custodians: Vec<u8>,
    /// Drill, emergency or misuse.
    pub kind: DrillKind,
    /// Entry versions that decrypted.
    pub versions_ok: u32,
    /// Entry versions that did not.
    pub versions_failed: u32,
    /// Reason or notes (may be empty).
    pub reason: String,
    /// MAC under the record key.
    pub mac: [u8; 32],
}

/// A record from before a rekey, kept for the audit trail. It has no effect
/// on keys; its MAC (if any) was made with the old master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The old record's type.
    pub kind: u8,
    /// Its 1-based number in the old file.
    pub record: u32,
    /// Its chain hash in the old file.
    pub hash: [u8; 32],
    /// Its body (a genesis body with its sealed escrow key zeroed).
    pub body: Vec<u8>,
}

/// The vault was rekeyed: this file starts over from a new genesis and
/// links to the head of the file it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekey {
    /// Time, Unix seconds.
    pub time: u64,
    /// Who ran it (self-asserted).
    pub actor: String,
    /// Old custodians whose shares authorised it (old numbering), ascending.
    pub custodians: Vec<u8>,
    /// Old threshold.
    pub old_threshold: u8,
    /// Old number of custodians.
    pub old_custodians: u8,
    /// Head (last chain hash) of the replaced file.
    pub old_head: [u8; 32],
    /// Number of records in the replaced file.
    pub old_records: u32,
    /// Reason (may be empty).
    pub reason: String,
    /// MAC under the new record key.
    pub mac: [u8; 32],
}

/// Any record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// See [`Genesis`].
    Genesis(Genesis),
    /// See [`Deposit`].
    Deposit(Deposit),
    /// See [`Unseal`].
    Unseal(Unseal),
    /// See [`ShareVerified`].
    ShareVerified(ShareVerified),
    /// See [`Drill`].
    Drill(Drill),
    /// See [`History`].
    History(History),
    /// See [`Rekey`].
    Rekey(Rekey),
}

/// Decoding failed: an unknown type, or a malformed body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A type this build does not know.
    #[error("unknown record type 0x{0:02x}")]
    UnknownType(u8),
    /// A malformed body.
    #[error("{0}")]
    Body(#[from] DecodeError),
}

impl Deposit {
    /// The public metadata bytes: everything before `enc`, less the
    /// leading `version` of the exported-key form (its sealed-meta, §7.8).
    fn encode_meta(&self, w: &mut Writer) {
        if let Some(id) = &self.deposit_id {
            w.bytes(id);
        }
        w.u64(self.time)
            .str(&self.actor)
            .str(&self.label)
            .u8(self.kind.code());
        if self.deposit_id.is_none() {
            w.u32(self.version);
        }
        w.u8(self.attributes.len() as u8);
        for (tag, value) in &self.attributes {
            w.u8(*tag).str(value);
        }
    }

    /// The sealed metadata of the exported-key form (§7.8): the body from
    /// `deposit_id` through the last attribute; also the token's middle.
    pub fn sealed_meta(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_meta(&mut w);
        w.finish()
    }

    /// The AAD of the exported-key form (§7.8):
    /// `"breakglass/v2/deposit" ‖ F ‖ sealed-meta`.
    pub fn exported_aad(&self, fingerprint: &crate::fingerprint::Fingerprint) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(b"breakglass/v2/deposit")
            .bytes(fingerprint.as_bytes());
        self.encode_meta(&mut w);
        w.finish()
    }

    /// The value of attribute `tag`, if present.
    pub fn attribute(&self, tag: u8) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_str())
    }

    /// HPKE associated data: a label, the vault id and the public metadata,
    /// so metadata cannot be moved between entries or vaults.
    pub fn aad(&self, vault_id: &VaultId) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(b"breakglass/v1/deposit").bytes(vault_id.as_bytes());
        self.encode_meta(&mut w);
        w.finish()
    }
}

impl Record {
    /// The type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Genesis(_) => kind::GENESIS,
            Self::Deposit(d) if d.deposit_id.is_some() => kind::DEPOSIT_EXPORTED,
            Self::Deposit(_) => kind::DEPOSIT,
            Self::Unseal(_) => kind::UNSEAL,
            Self::ShareVerified(_) => kind::SHARE_VERIFIED,
            Self::Drill(_) => kind::DRILL,
            Self::History(_) => kind::HISTORY,
            Self::Rekey(_) => kind::REKEY,
        }
    }

    /// True for records that carry a MAC (written by a quorum).
    pub fn has_mac(&self) -> bool {
        matches!(
            self,
            Self::Genesis(_) | Self::Unseal(_) | Self::Drill(_) | Self::Rekey(_)
        )
    }

    /// The body without its MAC (the whole body when there is none).
    fn encode_unsigned(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Genesis(g) => {
                w.bytes(g.vault_id.as_bytes())
                    .u64(g.time)
                    .str(&g.actor)
                    .str(&g.name)
                    .u8(g.threshold)
                    .u8(g.custodians.len() as u8);
                for c in &g.custodians {
                    w.str(&c.name).bytes(&c.commitment);
                }
                w.bytes(&g.escrow_public)
                    .bytes(&g.escrow_sealed.nonce)
                    .bytes(&g.escrow_sealed.ciphertext)
                    .bytes(&g.key_check);
            }
            Self::Deposit(d) => {
                if d.deposit_id.is_some() {
                    w.u32(d.version);
                }
                d.encode_meta(&mut w);
                w.bytes(&d.enc).blob(&d.ciphertext);
            }
            Self::Unseal(u) => {
                w.u64(u.time)
                    .str(&u.actor)
                    .u8(u.custodians.len() as u8)
                    .bytes(&u.custodians)
                    .u16(u.entries.len() as u16);
                for (label, version) in &u.entries {
                    w.str(label).u32(*version);
                }
                w.str(&u.reason);
            }
            Self::ShareVerified(s) => {
                w.u64(s.time).str(&s.actor).u8(s.custodian);
            }
            Self::History(h) => {
                w.u8(h.kind).u32(h.record).bytes(&h.hash).blob(&h.body);
            }
            Self::Rekey(k) => {
                w.u64(k.time)
                    .str(&k.actor)
                    .u8(k.custodians.len() as u8)
                    .bytes(&k.custodians)
                    .u8(k.old_threshold)
                    .u8(k.old_custodians)
                    .bytes(&k.old_head)
                    .u32(k.old_records)
                    .str(&k.reason);
            }
            Self::Drill(d) => {
                w.u64(d.time)
                    .str(&d.actor)
                    .u8(d.custodians.len() as u8)
                    .bytes(&d.custodians)
                    .u8(d.kind.code())
                    .u32(d.versions_ok)
                    .u32(d.versions_failed)
                    .str(&d.reason);
            }
        }
        w.finish()
    }

    fn mac_field(&self) -> Option<&[u8; 32]> {
        match self {
            Self::Genesis(g) => Some(&g.mac),
            Self::Unseal(u) => Some(&u.mac),
            Self::Drill(d) => Some(&d.mac),
            Self::Rekey(k) => Some(&k.mac),
            _ => None,
        }
    }

    fn mac_field_mut(&mut self) -> Option<&mut [u8; 32]> {
        match self {
            Self::Genesis(g) => Some(&mut g.mac),
            Self::Unseal(u) => Some(&mut u.mac),
            Self::Drill(d) => Some(&mut d.mac),
            Self::Rekey(k) => Some(&mut k.mac),
            _ => None,
        }
    }

    /// The canonical body bytes.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut body = self.encode_unsigned();
        if let Some(mac) = self.mac_field() {
            body.extend_from_slice(mac);
        }
        body
    }

    fn mac_input<'a>(prev: &'a [u8; 32], kind: &'a [u8; 1], unsigned: &'a [u8]) -> [&'a [u8]; 4] {
        [b"breakglass/v1/record-mac", prev, kind, unsigned]
    }

    /// Sets the MAC of a quorum record for its place after `prev` (the
    /// chain hash of the record before it). No effect on other records.
    pub fn sign(&mut self, key: &RecordMacKey, prev: &[u8; 32]) {
        let unsigned = self.encode_unsigned();
        let kind = [self.kind()];
        let tag = key.mac(&Self::mac_input(prev, &kind, &unsigned));
        if let Some(mac) = self.mac_field_mut() {
            *mac = tag;
        }
    }

    /// Checks the MAC of a quorum record placed after `prev`. Records
    /// without a MAC return `None`.
    pub fn verify_mac(&self, key: &RecordMacKey, prev: &[u8; 32]) -> Option<bool> {
        let mac = self.mac_field()?;
        let unsigned = self.encode_unsigned();
        let kind = [self.kind()];
        Some(key.verify(&Self::mac_input(prev, &kind, &unsigned), mac))
    }

    /// Decodes a body of type `kind`.
    pub fn decode(kind: u8, body: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader::new(body);
        let record = match kind {
            kind::GENESIS => Self::Genesis(decode_genesis(&mut r)?),
            kind::DEPOSIT => Self::Deposit(decode_deposit(&mut r, false)?),
            kind::DEPOSIT_EXPORTED => Self::Deposit(decode_deposit(&mut r, true)?),
            kind::UNSEAL => Self::Unseal(decode_unseal(&mut r)?),
            kind::DRILL => Self::Drill(decode_drill(&mut r)?),
            kind::HISTORY => Self::History(decode_history(&mut r)?),
            kind::REKEY => Self::Rekey(Rekey {
                time: r.u64("time")?,
                actor: read_text(&mut r, "actor", limits::ACTOR, true)?.to_owned(),
                custodians: read_custodians(&mut r)?,
                old_threshold: r.u8("old threshold")?,
                old_custodians: r.u8("old custodians")?,
                old_head: r.array("old head")?,
                old_records: r.u32("old records")?,
                reason: read_text(&mut r, "reason", limits::REASON, true)?.to_owned(),
                mac: r.array("mac")?,
            }),
            kind::SHARE_VERIFIED => Self::ShareVerified(ShareVerified {
                time: r.u64("time")?,
                actor: read_text(&mut r, "actor", limits::ACTOR, true)?.to_owned(),
                custodian: r.u8("custodian")?,
            }),
            other => return Err(RecordError::UnknownType(other)),
        };
        r.finish()?;
        Ok(record)
    }
}

fn decode_genesis(r: &mut Reader<'_>) -> Result<Genesis, DecodeError> {
    let vault_id = VaultId(r.array("vault id")?);
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?.to_owned();
    let name = read_text(r, "vault name", limits::NAME, false)?.to_owned();
    let at = r.pos();
    let threshold = r.u8("threshold")?;
    let n = r.u8("custodian count")?;
    if threshold < 2 || n < threshold {
        return Err(r.invalid("threshold", at, "need 2 <= k <= n"));
    }
    let mut custodians = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = read_text(r, "custodian name", limits::CUSTODIAN, false)?.to_owned();
        custodians.push(Custodian {
            name,
            commitment: r.array("commitment")?,
        });
    }
    Ok(Genesis {
        vault_id,
        time,
        actor,
        name,
        threshold,
        custodians,
        escrow_public: r.array("escrow public key")?,
        escrow_sealed: SealedEscrowKey {
            nonce: r.array("escrow key nonce")?,
            ciphertext: r.array("sealed escrow key")?,
        },
        key_check: r.array("key check")?,
        mac: r.array("mac")?,
    })
}

fn decode_deposit(r: &mut Reader<'_>, exported: bool) -> Result<Deposit, DecodeError> {
    let (version, deposit_id) = if exported {
        let version = read_version(r)?;
        (Some(version), Some(r.array("deposit id")?))
    } else {
        (None, None)
    };
    let mut meta = decode_sealed_meta(r, deposit_id)?;
    meta.version = match version {
        Some(v) => v,
        None => read_version(r)?,
    };
    read_attributes_and_ciphertext(r, meta)
}

fn read_version(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let at = r.pos();
    let version = r.u32("version")?;
    if version == 0 {
        return Err(r.invalid("version", at, "versions start at 1"));
    }
    Ok(version)
}

/// The fields from `time` through `kind` (the `version` and the
/// attributes follow, in an order that depends on the form).
fn decode_sealed_meta(
    r: &mut Reader<'_>,
    deposit_id: Option<[u8; 16]>,
) -> Result<Deposit, DecodeError> {
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?.to_owned();
    let label = read_text(r, "label", limits::LABEL, false)?.to_owned();
    let at = r.pos();
    let kind = EntryKind::from_code(r.u8("kind")?)
        .ok_or_else(|| r.invalid("kind", at, "unknown entry kind"))?;
    Ok(Deposit {
        time,
        actor,
        label,
        kind,
        version: 0,
        attributes: Vec::new(),
        enc: [0; 32],
        ciphertext: Vec::new(),
        deposit_id,
    })
}

fn read_attributes_and_ciphertext(
    r: &mut Reader<'_>,
    mut d: Deposit,
) -> Result<Deposit, DecodeError> {
    let at = r.pos();
    let count = r.u8("attribute count")? as usize;
    if count > attr::MAX {
        return Err(r.invalid("attribute count", at, "more than 16 attributes"));
    }
    let mut attributes: Vec<(u8, String)> = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.pos();
        let tag = r.u8("attribute tag")?;
        if attributes.last().is_some_and(|(last, _)| *last >= tag) || tag == 0 {
            return Err(r.invalid("attribute tag", at, "tags must be non-zero and ascending"));
        }
        attributes.push((
            tag,
            read_text(r, "attribute value", limits::ATTRIBUTE, false)?.to_owned(),
        ));
    }
    d.attributes = attributes;
    d.enc = r.array("encapsulated key")?;
    let at = r.pos();
    let ciphertext = r.blob("ciphertext")?;
    if ciphertext.len() > limits::CIPHERTEXT {
        return Err(r.invalid("ciphertext", at, "larger than the largest deposit"));
    }
    d.ciphertext = ciphertext.to_vec();
    Ok(d)
}

fn read_custodians(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let count = r.u8("custodian count")? as usize;
    let at = r.pos();
    let custodians = r.take("custodians", count)?.to_vec();
    if custodians.windows(2).any(|w| w[0] >= w[1]) || custodians.contains(&0) {
        return Err(r.invalid("custodians", at, "indices must be ascending and non-zero"));
    }
    Ok(custodians)
}

fn decode_history(r: &mut Reader<'_>) -> Result<History, DecodeError> {
    let at = r.pos();
    let kind = r.u8("history type")?;
    if kind == kind::HISTORY {
        return Err(r.invalid("history type", at, "history records are not nested"));
    }
    let record = r.u32("history record")?;
    let hash = r.array("history hash")?;
    let body = r.blob("history body")?.to_vec();
    // The old body must itself be a valid record of its type.
    Record::decode(kind, &body)
        .map_err(|_| r.invalid("history body", at, "not a valid record of its type"))?;
    Ok(History {
        kind,
        record,
        hash,
        body,
    })
}

fn decode_drill(r: &mut Reader<'_>) -> Result<Drill, DecodeError> {
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?.to_owned();
    let custodians = read_custodians(r)?;
    let at = r.pos();
    let kind = DrillKind::from_code(r.u8("drill kind")?)
        .ok_or_else(|| r.invalid("drill kind", at, "unknown drill kind"))?;
    Ok(Drill {
        time,
        actor,
        custodians,
        kind,
        versions_ok: r.u32("versions ok")?,
        versions_failed: r.u32("versions failed")?,
        reason: read_text(r, "reason", limits::REASON, true)?.to_owned(),
        mac: r.array("mac")?,
    })
}

fn decode_unseal(r: &mut Reader<'_>) -> Result<Unseal, DecodeError> {
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?.to_owned();
    let custodians = read_custodians(r)?;
    let count = r.u16("entry count")? as usize;
    let mut entries = Vec::with_capacity(count.min(r.remaining() / 6));
    for _ in 0..count {
        let label = read_text(r, "label", limits::LABEL, false)?.to_owned();
        entries.push((label, r.u32("version")?));
    }
    let reason = read_text(r, "reason", limits::REASON, true)?.to_owned();
    Ok(Unseal {
        time,
        actor,
        custodians,
        entries,
        reason,
        mac: r.array("mac")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9@._-]([a-zA-Z0-9 @._-]{0,20}[a-zA-Z0-9@._-])?"
    }

    fn record() -> impl Strategy<Value = Record> {
        let genesis = (
            any::<[u8; 16]>(),
            any::<u64>(),
            text(),
            text(),
            proptest::collection::vec((text(), any::<[u8; 32]>()), 2..6),
            any::<[u8; 32]>(),
            any::<[u8; 12]>(),
        )
            .prop_map(|(id, time, actor, name, custodians, public, nonce)| {
                Record::Genesis(Genesis {
                    vault_id: VaultId(id),
                    time,
                    actor,
                    name,
                    threshold: 2,
                    custodians: custodians
                        .into_iter()
                        .map(|(name, commitment)| Custodian { name, commitment })
                        .collect(),
                    escrow_public: public,
                    escrow_sealed: SealedEscrowKey {
                        nonce,
                        ciphertext: [7; 48],
                    },
                    key_check: public,
                    mac: [9; 32],
                })
            });
        let deposit = (
            any::<u64>(),
            text(),
            text(),
            0u8..3,
            1u32..,
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..100),
            proptest::collection::btree_map(1u8.., text(), 0..4),
            proptest::option::of(any::<[u8; 16]>()),
        )
            .prop_map(
                |(time, actor, label, k, version, enc, ciphertext, attrs, deposit_id)| {
                    Record::Deposit(Deposit {
                        time,
                        actor,
                        label,
                        kind: EntryKind::from_code(k + 1).unwrap(),
                        version,
                        attributes: attrs.into_iter().collect(),
                        enc,
                        ciphertext,
                        deposit_id,
                    })
                },
            );
        let unseal = (
            any::<u64>(),
            text(),
            proptest::collection::btree_set(1u8.., 0..5),
            proptest::collection::vec((text(), any::<u32>()), 0..4),
            text(),
        )
            .prop_map(|(time, actor, custodians, entries, reason)| {
                Record::Unseal(Unseal {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    entries,
                    reason,
                    mac: [1; 32],
                })
            });
        let verified = (any::<u64>(), text(), any::<u8>()).prop_map(|(time, actor, custodian)| {
            Record::ShareVerified(ShareVerified {
                time,
                actor,
                custodian,
            })
        });
        let drill = (
            any::<u64>(),
            text(),
            proptest::collection::btree_set(1u8.., 0..5),
            1u8..=3,
            any::<u32>(),
            any::<u32>(),
            text(),
        )
            .prop_map(|(time, actor, custodians, k, ok, failed, reason)| {
                Record::Drill(Drill {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    kind: DrillKind::from_code(k).unwrap(),
                    versions_ok: ok,
                    versions_failed: failed,
                    reason,
                    mac: [3; 32],
                })
            });
        let rekey = (
            any::<u64>(),
            text(),
            proptest::collection::btree_set(1u8.., 0..5),
            any::<[u8; 32]>(),
            any::<u32>(),
        )
            .prop_map(|(time, actor, custodians, old_head, old_records)| {
                Record::Rekey(Rekey {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    old_threshold: 2,
                    old_custodians: 3,
                    old_head,
                    old_records,
                    reason: String::new(),
                    mac: [4; 32],
                })
            });
        let base = prop_oneof![genesis, deposit, unseal, verified, drill, rekey];
        base.prop_flat_map(|r| {
            let history = Record::History(History {
                kind: r.kind(),
                record: 7,
                hash: [8; 32],
                body: r.encode_body(),
            });
            prop_oneof![Just(r), Just(history)]
        })
    }

    proptest! {
        #[test]
        fn encode_decode_roundtrip(r in record()) {
            let body = r.encode_body();
            let back = Record::decode(r.kind(), &body).unwrap();
            prop_assert_eq!(&back, &r);
            prop_assert_eq!(back.encode_body(), body);
        }

        #[test]
        fn truncated_or_extended_bodies_are_rejected(r in record(), cut in any::<prop::sample::Index>()) {
            let body = r.encode_body();
            let cut = cut.index(body.len());
            prop_assert!(Record::decode(r.kind(), &body[..cut]).is_err());
            let mut longer = body.clone();
            longer.push(0);
            prop_assert!(Record::decode(r.kind(), &longer).is_err());
        }

        #[test]
        fn arbitrary_bodies_never_panic(kind in 0u8..10, body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Record::decode(kind, &body);
        }
    }

    #[test]
    fn unknown_type_is_named() {
        assert_eq!(
            Record::decode(0x7f, &[]),
            Err(RecordError::UnknownType(0x7f))
        );
    }

    #[test]
    fn mac_binds_body_and_position() {
        let key = MasterKey::generate().record_mac_key(&VaultId([1; 16]));
        let mut r = Record::Unseal(Unseal {
            time: 1,
            actor: "a".into(),
            custodians: vec![1, 2],
            entries: vec![("x".into(), 1)],
            reason: "drill".into(),
            mac: [0; 32],
        });
        r.sign(&key, &[5; 32]);
        assert_eq!(r.verify_mac(&key, &[5; 32]), Some(true));
        assert_eq!(r.verify_mac(&key, &[6; 32]), Some(false));
        if let Record::Unseal(u) = &mut r {
            u.reason = "fun".into();
        }
        assert_eq!(r.verify_mac(&key, &[5; 32]), Some(false));
        let deposit = Record::ShareVerified(ShareVerified {
            time: 1,
            actor: String::new(),
            custodian: 1,
        });
        assert_eq!(deposit.verify_mac(&key, &[5; 32]), None);
    }

    #[test]
    fn text_rules() {
        let problem = |s, max, empty| text_problem(s, max, empty).map(|p| p.to_string());
        assert_eq!(problem("", 5, false).as_deref(), Some("is empty"));
        assert_eq!(problem("", 5, true), None);
        assert_eq!(problem("abcdef", 5, false).as_deref(), Some("is too long"));
        assert_eq!(
            problem("a\nb", 5, false).as_deref(),
            Some("contains control characters (U+000A at character 2)")
        );
        assert_eq!(
            problem(" a", 5, false).as_deref(),
            Some("has leading or trailing spaces")
        );
        assert_eq!(problem("a b", 5, false), None);
    }
}
