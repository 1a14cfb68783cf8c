//! Record bodies of the vault file (docs/FORMAT.md §7, and §14 for
//! format version 2).
//!
//! One struct per record kind serves both versions: a quorum record's
//! [`Proof`] is a MAC in version 1 and an Ed25519 signature in version 2,
//! and the type byte follows from it (`0x03` or `0x13`, …).
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
    /// Format 2 genesis (§14.2), quorum-signed.
    pub const GENESIS_V2: u8 = 0x11;
    /// Format 2 unseal, quorum-signed.
    pub const UNSEAL_V2: u8 = 0x13;
    /// Format 2 share check, signed by the custodian.
    pub const SHARE_VERIFIED_V2: u8 = 0x14;
    /// Format 2 drill, quorum-signed.
    pub const DRILL_V2: u8 = 0x15;
    /// Format 2 history record (carries its generation and old link).
    pub const HISTORY_V2: u8 = 0x16;
    /// Format 2 rekey or upgrade closing record, quorum-signed.
    pub const REKEY_V2: u8 = 0x17;
    /// Format 2: a quorum re-issued one custodian's lost share
    /// (quorum-signed).
    pub const REISSUE: u8 = 0x18;

    /// True for a genesis of either format.
    pub fn is_genesis(kind: u8) -> bool {
        matches!(kind, GENESIS | GENESIS_V2)
    }

    /// True for the types only a version 2 file holds at top level.
    pub fn is_v2(kind: u8) -> bool {
        matches!(
            kind,
            GENESIS_V2 | UNSEAL_V2 | SHARE_VERIFIED_V2 | DRILL_V2 | HISTORY_V2 | REKEY_V2 | REISSUE
        )
    }
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
    /// Contact and location of a version 2 genesis (may be empty).
    pub const CONTACT: usize = 512;
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
    /// Format 2: this custodian's Ed25519 public key (derived from their
    /// share), which signs their share checks. `None` in format 1.
    pub public: Option<[u8; 32]>,
}

/// How a quorum record shows who wrote it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Format 1: HMAC-SHA256 under the master key; only k shares check it.
    Mac([u8; 32]),
    /// Format 2: an Ed25519 signature; anyone checks it (§14.3).
    Signature([u8; 64]),
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, bytes): (&str, &[u8]) = match self {
            Self::Mac(m) => ("Mac", m),
            Self::Signature(s) => ("Signature", s),
        };
        write!(f, "{name}(")?;
        for b in &bytes[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl Proof {
    /// A version 2 proof to be signed.
    pub const UNSIGNED: Self = Self::Signature([0; 64]);
    /// A version 1 proof to be MAC'd.
    pub const UNMACED: Self = Self::Mac([0; 32]);

    fn is_v2(&self) -> bool {
        matches!(self, Self::Signature(_))
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Mac(m) => m,
            Self::Signature(s) => s,
        }
    }
}

/// Why a version 2 genesis was written (§14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `init`: generation 1, nothing carried.
    Init,
    /// `rekey`: a new master key; the replaced file's records carried.
    Rekey,
    /// `upgrade`: a version 1 vault moved to version 2 with the same
    /// master key, shares and escrow key.
    Upgrade,
}

impl Origin {
    fn code(self) -> u8 {
        match self {
            Self::Init => 1,
            Self::Rekey => 2,
            Self::Upgrade => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Init),
            2 => Some(Self::Rekey),
            3 => Some(Self::Upgrade),
            _ => None,
        }
    }
}

/// The fields a version 2 genesis adds (§14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisV2 {
    /// 1 at init, one more at each rekey; an upgrade keeps it.
    pub generation: u16,
    /// Why this genesis was written.
    pub origin: Origin,
    /// The fingerprint of the file this one replaced (zeros at init).
    pub previous: [u8; 32],
    /// How many records after this one the rewrite carried over.
    pub carried: u32,
    /// Whom to call (may be empty).
    pub contact: String,
    /// Where the envelopes are kept (may be empty).
    pub location: String,
    /// The quorum's Ed25519 public key (derived from the master key).
    pub quorum_public: [u8; 32],
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
    /// MAC (format 1) or quorum signature (format 2).
    pub proof: Proof,
    /// What a format 2 genesis adds; `None` in format 1.
    pub v2: Option<GenesisV2>,
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

/// A deposit borrowed from its record body: what a replay reads of each
/// of a million deposits without copying a byte. [`Record::decode`] makes
/// its owned [`Deposit`] from this, so both read and check alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositRef<'a> {
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// Who deposited (self-asserted).
    pub actor: &'a str,
    /// Entry label.
    pub label: &'a str,
    /// Entry kind.
    pub kind: EntryKind,
    /// Version number.
    pub version: u32,
    attributes: [(u8, &'a str); attr::MAX],
    attribute_count: usize,
    /// HPKE encapsulated key.
    pub enc: [u8; 32],
    /// HPKE ciphertext of the entry secret.
    pub ciphertext: &'a [u8],
    /// The deposit id of the exported-key form.
    pub deposit_id: Option<[u8; 16]>,
}

impl<'a> DepositRef<'a> {
    /// Decodes a record body of type `kind` as a deposit: `None` when
    /// `kind` is not a deposit type; an error where [`Record::decode`]
    /// gives one.
    pub fn decode(kind: u8, body: &'a [u8]) -> Option<Result<Self, RecordError>> {
        let exported = match kind {
            kind::DEPOSIT => false,
            kind::DEPOSIT_EXPORTED => true,
            _ => return None,
        };
        let mut r = Reader::new(body);
        Some(
            decode_deposit_ref(&mut r, exported)
                .and_then(|d| r.finish().map(|()| d))
                .map_err(RecordError::from),
        )
    }

    /// Public attributes `(tag, value)`, tags strictly ascending.
    pub fn attributes(&self) -> &[(u8, &'a str)] {
        &self.attributes[..self.attribute_count]
    }

    /// The value of attribute `tag`, if present.
    pub fn attribute(&self, tag: u8) -> Option<&'a str> {
        self.attributes()
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|&(_, v)| v)
    }

    /// The owned deposit.
    pub fn to_deposit(&self) -> Deposit {
        Deposit {
            time: self.time,
            actor: self.actor.to_owned(),
            label: self.label.to_owned(),
            kind: self.kind,
            version: self.version,
            attributes: self
                .attributes()
                .iter()
                .map(|&(t, v)| (t, v.to_owned()))
                .collect(),
            enc: self.enc,
            ciphertext: self.ciphertext.to_vec(),
            deposit_id: self.deposit_id,
        }
    }
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
    /// MAC (format 1) or quorum signature (format 2).
    pub proof: Proof,
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
    /// Format 2: the custodian's signature (§14.3); `None` in format 1.
    pub signature: Option<[u8; 64]>,
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
    /// MAC (format 1) or quorum signature (format 2).
    pub proof: Proof,
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
    /// Format 2 (`0x16`): its generation and the chain hash before it in
    /// its file; `None` for a format 1 history record (`0x06`).
    pub v2: Option<HistoryV2>,
}

/// What a format 2 history record adds (§14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryV2 {
    /// The generation of the file the record was in.
    pub generation: u16,
    /// The chain hash before it in that file.
    pub prev: [u8; 32],
}

impl History {
    /// True when the old record's hash follows from `prev` and its body
    /// (format 2; format 1 history has no `prev` to check against).
    pub fn links(&self) -> Option<bool> {
        let v2 = self.v2.as_ref()?;
        Some(crate::log::chain_hash(&v2.prev, self.kind, &self.body) == self.hash)
    }
}

/// Who signs a format 2 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The quorum's key of the file's generation.
    Quorum,
    /// Custodian `i`'s key (a share check).
    Custodian(u8),
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
    /// Format 2: the previous generation's quorum key signs the handover
    /// to this one (§14.4); zeros when the replaced file was format 1.
    /// `None` in format 1.
    pub handover: Option<[u8; 64]>,
    /// MAC under the new record key (format 1) or the new quorum's
    /// signature (format 2).
    pub proof: Proof,
}

/// A quorum re-issued one custodian's lost share at its index (format 2,
/// §14.4): the same share, so the same commitment; nothing else changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reissue {
    /// Time, Unix seconds.
    pub time: u64,
    /// Who ran it (self-asserted).
    pub actor: String,
    /// Custodians whose shares authorised it, ascending.
    pub custodians: Vec<u8>,
    /// The custodian whose share was re-issued.
    pub reissued: u8,
    /// Reason (may be empty).
    pub reason: String,
    /// The quorum's signature (always format 2).
    pub proof: Proof,
}

impl Rekey {
    /// What the previous generation's quorum signs to hand over to the new
    /// one (§14.4): a label, the old and the new fingerprint, and what the
    /// old file held.
    pub fn handover_message(&self, old: &[u8; 32], new: &[u8; 32]) -> Vec<u8> {
        [
            crate::sign::HANDOVER_SIG,
            old,
            new,
            &self.old_head,
            &self.old_records.to_be_bytes(),
        ]
        .concat()
    }
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
    /// See [`Reissue`].
    Reissue(Reissue),
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
    /// This deposit, borrowed as a replay reads it; `None` with more
    /// attributes than a deposit may carry ([`attr::MAX`]).
    pub fn borrowed(&self) -> Option<DepositRef<'_>> {
        if self.attributes.len() > attr::MAX {
            return None;
        }
        let mut attributes = [(0, ""); attr::MAX];
        for (slot, (tag, value)) in attributes.iter_mut().zip(&self.attributes) {
            *slot = (*tag, value.as_str());
        }
        Some(DepositRef {
            time: self.time,
            actor: &self.actor,
            label: &self.label,
            kind: self.kind,
            version: self.version,
            attributes,
            attribute_count: self.attributes.len(),
            enc: self.enc,
            ciphertext: &self.ciphertext,
            deposit_id: self.deposit_id,
        })
    }

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
            Self::Genesis(g) if g.v2.is_some() => kind::GENESIS_V2,
            Self::Genesis(_) => kind::GENESIS,
            Self::Deposit(d) if d.deposit_id.is_some() => kind::DEPOSIT_EXPORTED,
            Self::Deposit(_) => kind::DEPOSIT,
            Self::Unseal(u) if u.proof.is_v2() => kind::UNSEAL_V2,
            Self::Unseal(_) => kind::UNSEAL,
            Self::ShareVerified(s) if s.signature.is_some() => kind::SHARE_VERIFIED_V2,
            Self::ShareVerified(_) => kind::SHARE_VERIFIED,
            Self::Drill(d) if d.proof.is_v2() => kind::DRILL_V2,
            Self::Drill(_) => kind::DRILL,
            Self::History(h) if h.v2.is_some() => kind::HISTORY_V2,
            Self::History(_) => kind::HISTORY,
            Self::Rekey(k) if k.proof.is_v2() => kind::REKEY_V2,
            Self::Rekey(_) => kind::REKEY,
            Self::Reissue(_) => kind::REISSUE,
        }
    }

    /// True for records that carry a MAC (format 1, written by a quorum).
    pub fn has_mac(&self) -> bool {
        self.mac_field().is_some()
    }

    /// The body without its MAC (the whole body when there is none).
    fn encode_unsigned(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Genesis(g) if g.v2.is_some() => {
                g.encode_v2_head(&mut w);
                w.bytes(&g.escrow_sealed.nonce)
                    .bytes(&g.escrow_sealed.ciphertext);
            }
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
                match &h.v2 {
                    Some(v2) => {
                        w.u16(v2.generation)
                            .u8(h.kind)
                            .u32(h.record)
                            .bytes(&v2.prev)
                            .bytes(&h.hash);
                    }
                    None => {
                        w.u8(h.kind).u32(h.record).bytes(&h.hash);
                    }
                }
                w.blob(&h.body);
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
                if k.proof.is_v2() {
                    w.bytes(&k.handover.unwrap_or([0; 64]));
                }
            }
            Self::Reissue(r) => {
                w.u64(r.time)
                    .str(&r.actor)
                    .u8(r.custodians.len() as u8)
                    .bytes(&r.custodians)
                    .u8(r.reissued)
                    .str(&r.reason);
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

    fn proof(&self) -> Option<&Proof> {
        match self {
            Self::Genesis(g) => Some(&g.proof),
            Self::Unseal(u) => Some(&u.proof),
            Self::Drill(d) => Some(&d.proof),
            Self::Rekey(k) => Some(&k.proof),
            Self::Reissue(r) => Some(&r.proof),
            _ => None,
        }
    }

    fn proof_mut(&mut self) -> Option<&mut Proof> {
        match self {
            Self::Genesis(g) => Some(&mut g.proof),
            Self::Unseal(u) => Some(&mut u.proof),
            Self::Drill(d) => Some(&mut d.proof),
            Self::Rekey(k) => Some(&mut k.proof),
            Self::Reissue(r) => Some(&mut r.proof),
            _ => None,
        }
    }

    fn mac_field(&self) -> Option<&[u8; 32]> {
        match self.proof()? {
            Proof::Mac(m) => Some(m),
            Proof::Signature(_) => None,
        }
    }

    /// The format 2 signature, if this is a signed record.
    pub fn signature(&self) -> Option<&[u8; 64]> {
        match self {
            Self::ShareVerified(s) => s.signature.as_ref(),
            _ => match self.proof()? {
                Proof::Signature(s) => Some(s),
                Proof::Mac(_) => None,
            },
        }
    }

    /// Who signs this record, if it is a format 2 signed record.
    pub fn signer(&self) -> Option<Signer> {
        self.signature()?;
        Some(match self {
            Self::ShareVerified(s) => Signer::Custodian(s.custodian),
            _ => Signer::Quorum,
        })
    }

    /// The canonical body bytes.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut body = self.encode_unsigned();
        if let Some(sig) = self.signature() {
            body.extend_from_slice(sig);
        } else if let Some(proof) = self.proof() {
            body.extend_from_slice(proof.bytes());
        }
        body
    }

    /// What a format 2 signature covers (§14.3): a label naming the
    /// signer, the file's fingerprint, the chain hash before the record,
    /// its type and its body without the signature.
    fn signed_message(&self, fingerprint: &[u8; 32], prev: &[u8; 32]) -> Option<Vec<u8>> {
        let label = match self.signer()? {
            Signer::Quorum => crate::sign::RECORD_SIG,
            Signer::Custodian(_) => crate::sign::CUSTODIAN_SIG,
        };
        let unsigned = self.encode_unsigned();
        Some([label, fingerprint, prev, &[self.kind()], &unsigned].concat())
    }

    /// Signs a format 2 record (built with [`Proof::UNSIGNED`], or a
    /// share check with a signature of zeros) for its place after `prev`
    /// in the file whose fingerprint is `fingerprint`.
    pub fn sign_v2(
        &mut self,
        key: &crate::sign::SecretSigningKey,
        fingerprint: &[u8; 32],
        prev: &[u8; 32],
    ) {
        let message = self
            .signed_message(fingerprint, prev)
            .expect("sign_v2 is for format 2 signed records");
        let sig = key.sign(&[&message]);
        match self {
            Self::ShareVerified(s) => s.signature = Some(sig),
            _ => *self.proof_mut().expect("a signed record has a proof") = Proof::Signature(sig),
        }
    }

    /// Checks a format 2 signature over the body bytes as read (`body`, of
    /// type `kind`: this record decoded), for its place after `prev` in the
    /// file whose fingerprint is `fingerprint`: what a reader checks, so
    /// that nothing rests on the encoding being canonical. `None` for
    /// records that are not signed.
    pub fn verify_signed_bytes(
        &self,
        key: &crate::sign::PublicKey,
        fingerprint: &[u8; 32],
        prev: &[u8; 32],
        kind: u8,
        body: &[u8],
    ) -> Option<bool> {
        let label = match self.signer()? {
            Signer::Quorum => crate::sign::RECORD_SIG,
            Signer::Custodian(_) => crate::sign::CUSTODIAN_SIG,
        };
        let (unsigned, sig) = body.split_at_checked(body.len().checked_sub(64)?)?;
        let sig: &[u8; 64] = sig.try_into().ok()?;
        Some(key.verify(&[label, fingerprint, prev, &[kind], unsigned], sig))
    }

    /// Checks a format 2 signature against `key` for the record's place
    /// after `prev` in the file whose fingerprint is `fingerprint`; `None`
    /// for records that are not signed.
    pub fn verify_signature(
        &self,
        key: &crate::sign::PublicKey,
        fingerprint: &[u8; 32],
        prev: &[u8; 32],
    ) -> Option<bool> {
        let message = self.signed_message(fingerprint, prev)?;
        Some(key.verify(&[&message], self.signature()?))
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
        if let Some(proof @ Proof::Mac(_)) = self.proof_mut() {
            *proof = Proof::Mac(tag);
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
        let v2 = kind::is_v2(kind);
        let record = match kind {
            kind::GENESIS => Self::Genesis(decode_genesis(&mut r)?),
            kind::GENESIS_V2 => Self::Genesis(decode_genesis_v2(&mut r)?),
            kind::DEPOSIT => Self::Deposit(decode_deposit(&mut r, false)?),
            kind::DEPOSIT_EXPORTED => Self::Deposit(decode_deposit(&mut r, true)?),
            kind::UNSEAL | kind::UNSEAL_V2 => Self::Unseal(decode_unseal(&mut r, v2)?),
            kind::DRILL | kind::DRILL_V2 => Self::Drill(decode_drill(&mut r, v2)?),
            kind::HISTORY | kind::HISTORY_V2 => Self::History(decode_history(&mut r, v2)?),
            kind::REKEY | kind::REKEY_V2 => Self::Rekey(Rekey {
                time: r.u64("time")?,
                actor: read_text(&mut r, "actor", limits::ACTOR, true)?.to_owned(),
                custodians: read_custodians(&mut r)?,
                old_threshold: r.u8("old threshold")?,
                old_custodians: r.u8("old custodians")?,
                old_head: r.array("old head")?,
                old_records: r.u32("old records")?,
                reason: read_text(&mut r, "reason", limits::REASON, true)?.to_owned(),
                handover: if v2 { Some(r.array("handover")?) } else { None },
                proof: read_proof(&mut r, v2)?,
            }),
            kind::REISSUE => Self::Reissue(Reissue {
                time: r.u64("time")?,
                actor: read_text(&mut r, "actor", limits::ACTOR, true)?.to_owned(),
                custodians: read_custodians(&mut r)?,
                reissued: r.u8("reissued custodian")?,
                reason: read_text(&mut r, "reason", limits::REASON, true)?.to_owned(),
                proof: read_proof(&mut r, true)?,
            }),
            kind::SHARE_VERIFIED | kind::SHARE_VERIFIED_V2 => Self::ShareVerified(ShareVerified {
                time: r.u64("time")?,
                actor: read_text(&mut r, "actor", limits::ACTOR, true)?.to_owned(),
                custodian: r.u8("custodian")?,
                signature: if v2 {
                    Some(r.array("signature")?)
                } else {
                    None
                },
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
            public: None,
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
        proof: Proof::Mac(r.array("mac")?),
        v2: None,
    })
}

fn read_proof(r: &mut Reader<'_>, v2: bool) -> Result<Proof, DecodeError> {
    Ok(if v2 {
        Proof::Signature(r.array("signature")?)
    } else {
        Proof::Mac(r.array("mac")?)
    })
}

/// A format 2 genesis body (§14.2).
fn decode_genesis_v2(r: &mut Reader<'_>) -> Result<Genesis, DecodeError> {
    let vault_id = VaultId(r.array("vault id")?);
    let at = r.pos();
    let generation = r.u16("generation")?;
    let origin = Origin::from_code(r.u8("origin")?)
        .ok_or_else(|| r.invalid("origin", at + 2, "unknown origin"))?;
    let previous = r.array("previous fingerprint")?;
    let carried = r.u32("carried")?;
    let consistent = match origin {
        Origin::Init => generation == 1 && previous == [0; 32] && carried == 0,
        Origin::Rekey => generation >= 2 && carried >= 1,
        Origin::Upgrade => generation >= 1 && carried >= 1,
    };
    if !consistent {
        return Err(r.invalid(
            "generation",
            at,
            "generation, origin, previous fingerprint and carried count disagree",
        ));
    }
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?.to_owned();
    let name = read_text(r, "vault name", limits::NAME, false)?.to_owned();
    let contact = read_text(r, "contact", limits::CONTACT, true)?.to_owned();
    let location = read_text(r, "location", limits::CONTACT, true)?.to_owned();
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
            public: Some(r.array("custodian key")?),
        });
    }
    let escrow_public = r.array("escrow public key")?;
    let quorum_public = r.array("quorum key")?;
    Ok(Genesis {
        vault_id,
        time,
        actor,
        name,
        threshold,
        custodians,
        escrow_public,
        key_check: r.array("key check")?,
        escrow_sealed: SealedEscrowKey {
            nonce: r.array("escrow key nonce")?,
            ciphertext: r.array("sealed escrow key")?,
        },
        proof: Proof::Signature(r.array("signature")?),
        v2: Some(GenesisV2 {
            generation,
            origin,
            previous,
            carried,
            contact,
            location,
            quorum_public,
        }),
    })
}

impl Genesis {
    /// A format 2 genesis body up to `FP_END` (§14.2): what the
    /// fingerprint hashes.
    fn encode_v2_head(&self, w: &mut Writer) {
        let v2 = self.v2.as_ref().expect("a format 2 genesis");
        w.bytes(self.vault_id.as_bytes())
            .u16(v2.generation)
            .u8(v2.origin.code())
            .bytes(&v2.previous)
            .u32(v2.carried)
            .u64(self.time)
            .str(&self.actor)
            .str(&self.name)
            .str(&v2.contact)
            .str(&v2.location)
            .u8(self.threshold)
            .u8(self.custodians.len() as u8);
        for c in &self.custodians {
            w.str(&c.name)
                .bytes(&c.commitment)
                .bytes(&c.public.unwrap_or([0; 32]));
        }
        w.bytes(&self.escrow_public)
            .bytes(&v2.quorum_public)
            .bytes(&self.key_check);
    }

    /// The fingerprinted part of a format 2 genesis body (`body[..FP_END]`);
    /// `None` for format 1.
    pub fn fingerprinted_v2(&self) -> Option<Vec<u8>> {
        self.v2.as_ref()?;
        let mut w = Writer::new();
        self.encode_v2_head(&mut w);
        Some(w.finish())
    }

    /// The generation this genesis states (format 2); `None` in format 1,
    /// where the generation is counted from the history (§3.3).
    pub fn generation(&self) -> Option<u16> {
        self.v2.as_ref().map(|v| v.generation)
    }
}

fn decode_deposit(r: &mut Reader<'_>, exported: bool) -> Result<Deposit, DecodeError> {
    decode_deposit_ref(r, exported).map(|d| d.to_deposit())
}

fn decode_deposit_ref<'a>(
    r: &mut Reader<'a>,
    exported: bool,
) -> Result<DepositRef<'a>, DecodeError> {
    let (version, deposit_id) = if exported {
        let version = read_version(r)?;
        (Some(version), Some(r.array("deposit id")?))
    } else {
        (None, None)
    };
    let mut d = decode_sealed_meta(r, deposit_id)?;
    d.version = match version {
        Some(v) => v,
        None => read_version(r)?,
    };
    read_attributes_and_ciphertext(r, &mut d)?;
    Ok(d)
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
fn decode_sealed_meta<'a>(
    r: &mut Reader<'a>,
    deposit_id: Option<[u8; 16]>,
) -> Result<DepositRef<'a>, DecodeError> {
    let time = r.u64("time")?;
    let actor = read_text(r, "actor", limits::ACTOR, true)?;
    let label = read_text(r, "label", limits::LABEL, false)?;
    let at = r.pos();
    let kind = EntryKind::from_code(r.u8("kind")?)
        .ok_or_else(|| r.invalid("kind", at, "unknown entry kind"))?;
    Ok(DepositRef {
        time,
        actor,
        label,
        kind,
        version: 0,
        attributes: [(0, ""); attr::MAX],
        attribute_count: 0,
        enc: [0; 32],
        ciphertext: &[],
        deposit_id,
    })
}

fn read_attributes_and_ciphertext<'a>(
    r: &mut Reader<'a>,
    d: &mut DepositRef<'a>,
) -> Result<(), DecodeError> {
    let at = r.pos();
    let count = r.u8("attribute count")? as usize;
    if count > attr::MAX {
        return Err(r.invalid("attribute count", at, "more than 16 attributes"));
    }
    for i in 0..count {
        let at = r.pos();
        let tag = r.u8("attribute tag")?;
        // `d` holds the `i` attributes read so far.
        if d.attributes().last().is_some_and(|(last, _)| *last >= tag) || tag == 0 {
            return Err(r.invalid("attribute tag", at, "tags must be non-zero and ascending"));
        }
        let value = read_text(r, "attribute value", limits::ATTRIBUTE, false)?;
        d.attributes[i] = (tag, value);
        d.attribute_count = i + 1;
    }
    d.enc = r.array("encapsulated key")?;
    let at = r.pos();
    let ciphertext = r.blob("ciphertext")?;
    if ciphertext.len() > limits::CIPHERTEXT {
        return Err(r.invalid("ciphertext", at, "larger than the largest deposit"));
    }
    d.ciphertext = ciphertext;
    Ok(())
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

fn decode_history(r: &mut Reader<'_>, v2: bool) -> Result<History, DecodeError> {
    let generation = if v2 { Some(r.u16("generation")?) } else { None };
    let at = r.pos();
    let kind = r.u8("history type")?;
    if kind == kind::HISTORY {
        return Err(r.invalid("history type", at, "history records are not nested"));
    }
    // Format 2 (§14.4): deposits are carried live, never as history.
    if v2
        && matches!(
            kind,
            kind::HISTORY_V2 | kind::DEPOSIT | kind::DEPOSIT_EXPORTED
        )
    {
        return Err(r.invalid(
            "history type",
            at,
            "a history record holds no deposit and no history record",
        ));
    }
    // A version 1 history record holds version 1 records only: nothing
    // checks what it holds, so it must not carry a signed type.
    if !v2 && kind::is_v2(kind) {
        return Err(r.invalid(
            "history type",
            at,
            "a version 1 history record holds no version 2 record",
        ));
    }
    let record = r.u32("history record")?;
    let prev = if v2 {
        Some(r.array("history link")?)
    } else {
        None
    };
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
        v2: generation
            .zip(prev)
            .map(|(generation, prev)| HistoryV2 { generation, prev }),
    })
}

fn decode_drill(r: &mut Reader<'_>, v2: bool) -> Result<Drill, DecodeError> {
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
        proof: read_proof(r, v2)?,
    })
}

fn decode_unseal(r: &mut Reader<'_>, v2: bool) -> Result<Unseal, DecodeError> {
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
        proof: read_proof(r, v2)?,
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
            proptest::option::of((1u16.., any::<[u8; 32]>(), 1u32.., text(), any::<[u8; 64]>())),
        )
            .prop_map(|(id, time, actor, name, custodians, public, nonce, v2)| {
                let v2 = v2.map(|(generation, quorum, carried, contact, sig)| {
                    let origin = match generation {
                        1 => Origin::Upgrade,
                        _ => Origin::Rekey,
                    };
                    (
                        GenesisV2 {
                            generation,
                            origin,
                            previous: quorum,
                            carried,
                            contact: contact.clone(),
                            location: contact,
                            quorum_public: quorum,
                        },
                        sig,
                    )
                });
                let proof = match &v2 {
                    Some((_, sig)) => Proof::Signature(*sig),
                    None => Proof::Mac([9; 32]),
                };
                let key = v2.as_ref().map(|_| public);
                Record::Genesis(Genesis {
                    vault_id: VaultId(id),
                    time,
                    actor,
                    name,
                    threshold: 2,
                    custodians: custodians
                        .into_iter()
                        .map(|(name, commitment)| Custodian {
                            name,
                            commitment,
                            public: key,
                        })
                        .collect(),
                    escrow_public: public,
                    escrow_sealed: SealedEscrowKey {
                        nonce,
                        ciphertext: [7; 48],
                    },
                    key_check: public,
                    proof,
                    v2: v2.map(|(v, _)| v),
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
            proof(),
        )
            .prop_map(|(time, actor, custodians, entries, reason, proof)| {
                Record::Unseal(Unseal {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    entries,
                    reason,
                    proof,
                })
            });
        let verified = (
            any::<u64>(),
            text(),
            any::<u8>(),
            proptest::option::of(any::<[u8; 64]>()),
        )
            .prop_map(|(time, actor, custodian, signature)| {
                Record::ShareVerified(ShareVerified {
                    time,
                    actor,
                    custodian,
                    signature,
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
            proof(),
        )
            .prop_map(|(time, actor, custodians, k, ok, failed, reason, proof)| {
                Record::Drill(Drill {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    kind: DrillKind::from_code(k).unwrap(),
                    versions_ok: ok,
                    versions_failed: failed,
                    reason,
                    proof,
                })
            });
        let rekey = (
            any::<u64>(),
            text(),
            proptest::collection::btree_set(1u8.., 0..5),
            any::<[u8; 32]>(),
            any::<u32>(),
            proof(),
            any::<[u8; 64]>(),
        )
            .prop_map(
                |(time, actor, custodians, old_head, old_records, proof, handover)| {
                    Record::Rekey(Rekey {
                        time,
                        actor,
                        custodians: custodians.into_iter().collect(),
                        old_threshold: 2,
                        old_custodians: 3,
                        old_head,
                        old_records,
                        reason: String::new(),
                        handover: matches!(proof, Proof::Signature(_)).then_some(handover),
                        proof,
                    })
                },
            );
        let reissue = (
            any::<u64>(),
            text(),
            proptest::collection::btree_set(1u8.., 0..5),
            1u8..,
            text(),
            any::<[u8; 64]>(),
        )
            .prop_map(|(time, actor, custodians, reissued, reason, sig)| {
                Record::Reissue(Reissue {
                    time,
                    actor,
                    custodians: custodians.into_iter().collect(),
                    reissued,
                    reason,
                    proof: Proof::Signature(sig),
                })
            });
        let base = prop_oneof![genesis, deposit, unseal, verified, drill, rekey, reissue];
        base.prop_flat_map(|r| {
            // A version 1 history record holds version 1 types only.
            let v1 = !kind::is_v2(r.kind());
            let history = Record::History(History {
                kind: r.kind(),
                record: 7,
                hash: [8; 32],
                body: r.encode_body(),
                v2: (!v1).then_some(HistoryV2 {
                    generation: 2,
                    prev: [6; 32],
                }),
            });
            let deposit = matches!(r, Record::Deposit(_));
            let history_v2 = Record::History(History {
                kind: r.kind(),
                record: 9,
                hash: [8; 32],
                body: r.encode_body(),
                v2: (!deposit).then_some(HistoryV2 {
                    generation: 3,
                    prev: [5; 32],
                }),
            });
            prop_oneof![Just(r), Just(history), Just(history_v2)]
        })
    }

    fn proof() -> impl Strategy<Value = Proof> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(Proof::Mac),
            any::<[u8; 64]>().prop_map(Proof::Signature),
        ]
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
        fn arbitrary_bodies_never_panic(kind in 0u8..0x20, body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Record::decode(kind, &body);
        }

        /// The borrowed deposit a replay reads agrees with the owned one
        /// on every record (whole, cut, or one byte changed): the same
        /// deposit, or the same error; nothing for other record types.
        /// A deposit is never signed, which is why a replay checks its
        /// trust by its type alone (`Trust::check_deposit`).
        #[test]
        fn a_borrowed_deposit_reads_as_the_owned_one(
            r in record(),
            cut in any::<prop::sample::Index>(),
            flip in any::<(prop::sample::Index, u8)>(),
        ) {
            let body = r.encode_body();
            let cut_body = body[..cut.index(body.len() + 1)].to_vec();
            let mut flipped = body.clone();
            if !flipped.is_empty() {
                let at = flip.0.index(flipped.len());
                flipped[at] ^= flip.1.max(1);
            }
            for bytes in [&body, &cut_body, &flipped] {
                let owned = Record::decode(r.kind(), bytes);
                match DepositRef::decode(r.kind(), bytes) {
                    None => prop_assert!(!matches!(owned, Ok(Record::Deposit(_)))),
                    Some(Ok(d)) => {
                        prop_assert_eq!(owned, Ok(Record::Deposit(d.to_deposit())));
                        prop_assert_eq!(Record::Deposit(d.to_deposit()).signer(), None);
                    }
                    Some(Err(e)) => prop_assert_eq!(owned, Err(e)),
                }
            }
            if let Record::Deposit(d) = &r {
                let back = d.borrowed().unwrap();
                prop_assert_eq!(&back.to_deposit(), d);
                for tag in 0..=u8::MAX {
                    let want = d.attributes.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.as_str());
                    prop_assert_eq!(back.attribute(tag), want);
                }
            }
        }
    }

    #[test]
    fn a_deposit_with_more_attributes_than_allowed_is_not_borrowed() {
        let mut d = Deposit {
            time: 1,
            actor: String::new(),
            label: "a".into(),
            kind: EntryKind::Note,
            version: 1,
            attributes: (1..=16).map(|t| (t, "v".to_owned())).collect(),
            enc: [0; 32],
            ciphertext: Vec::new(),
            deposit_id: None,
        };
        assert_eq!(d.borrowed().map(|b| b.attributes().len()), Some(16));
        d.attributes.push((17, "v".into()));
        assert!(d.borrowed().is_none());
    }

    /// The deposit decoder's bounds, at their edges: 16 attributes and
    /// not 17; tags non-zero and ascending; the largest ciphertext and not
    /// a byte more. Refused with an error, never a panic.
    #[test]
    fn a_deposit_body_is_read_within_its_bounds() {
        let deposit = |attributes: Vec<(u8, String)>, ciphertext: usize| {
            Record::Deposit(Deposit {
                time: 1,
                actor: String::new(),
                label: "a".into(),
                kind: EntryKind::Note,
                version: 1,
                attributes,
                enc: [0; 32],
                ciphertext: vec![7; ciphertext],
                deposit_id: None,
            })
        };
        let decodes = |r: &Record| {
            let body = r.encode_body();
            let owned = Record::decode(r.kind(), &body);
            let borrowed = DepositRef::decode(r.kind(), &body).unwrap();
            assert_eq!(owned.is_ok(), borrowed.is_ok());
            owned.is_ok()
        };
        let tags = |tags: &[u8]| {
            tags.iter()
                .map(|&t| (t, "v".to_owned()))
                .collect::<Vec<_>>()
        };
        assert!(decodes(&deposit(tags(&(1..=16).collect::<Vec<_>>()), 1)));
        assert!(!decodes(&deposit(tags(&(1..=17).collect::<Vec<_>>()), 1)));
        assert!(decodes(&deposit(tags(&[1, 2]), 1)));
        assert!(!decodes(&deposit(tags(&[0, 2]), 1)));
        assert!(!decodes(&deposit(tags(&[2, 1]), 1)));
        assert!(!decodes(&deposit(tags(&[2, 2]), 1)));
        assert!(decodes(&deposit(Vec::new(), limits::CIPHERTEXT)));
        assert!(!decodes(&deposit(Vec::new(), limits::CIPHERTEXT + 1)));
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
            proof: Proof::UNMACED,
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
            signature: None,
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
