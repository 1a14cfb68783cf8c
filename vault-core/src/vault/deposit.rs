//! Deposits: anyone with the file seals a secret to the escrow key. The
//! secret is checked against its kind, the metadata fixed (version,
//! attributes, policy), then sealed with the metadata as HPKE's AAD.

use zeroize::Zeroizing;

use super::rules::{check_actor, check_text};
use super::Vault;
use crate::entry::{EntryKind, EntrySecret, MAX_SECRET, MAX_USERNAME};
use crate::error::{Field, InputError};
use crate::escrow;
use crate::fingerprint::Fingerprint;
use crate::record::{attr, limits, Deposit, Record};
use crate::recovery_key::{self, RecoveryFormat};
use crate::VaultId;

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
        )?;
        deposit.enc = enc;
        deposit.ciphertext = ciphertext;
        Ok(Record::Deposit(deposit))
    }

    /// Seals the secret in the exported-key form (`0x12`, FORMAT.md §7.8)
    /// under `batch`, which MUST have been made for this vault's escrow key
    /// with [`exported_info`] of `fingerprint`. `deposit_id` MUST be 16
    /// fresh bytes from the operating system's random number generator
    /// ([`crate::keys::random_bytes`]): it makes this deposit's key unique
    /// within the batch.
    pub fn seal_in(
        self,
        batch: &escrow::Batch,
        fingerprint: &Fingerprint,
        deposit_id: [u8; 16],
    ) -> Record {
        let mut deposit = self.deposit;
        deposit.deposit_id = Some(deposit_id);
        let aad = deposit.exported_aad(fingerprint);
        deposit.ciphertext = batch.seal(&aad, &self.secret.encode());
        deposit.enc = batch.enc();
        Record::Deposit(deposit)
    }
}

/// HPKE `info` of the exported-key form: `"breakglass/v2/escrow" ‖ F`.
pub fn exported_info(fingerprint: &Fingerprint) -> Vec<u8> {
    [&b"breakglass/v2/escrow"[..], fingerprint.as_bytes()].concat()
}

/// Opens a deposit of either form (`0x02` or `0x12`); `None` on any
/// failure. `fingerprint` is the vault's (only the `0x12` form uses it).
pub(crate) fn open_deposit(
    escrow: &escrow::EscrowSecret,
    vault_id: &VaultId,
    fingerprint: impl FnOnce() -> Fingerprint,
    d: &Deposit,
) -> Option<Zeroizing<Vec<u8>>> {
    match d.deposit_id {
        None => escrow.open(vault_id, &d.enc, &d.ciphertext, &d.aad(vault_id)),
        Some(_) => {
            let f = fingerprint();
            escrow
                .batch_opener(&d.enc, &exported_info(&f))?
                .open(&d.exported_aad(&f), &d.ciphertext)
        }
    }
}

/// Opens many deposits of one vault ([`open_deposit`] each), keeping the
/// vault's fingerprint and the HPKE context of the last few encapsulations
/// (an import seals all its rows under one): a drill over a fleet then
/// pays one X25519 decapsulation an import, not one a deposit. The cached
/// contexts are secrets derived from the escrow key, held only as long as
/// this is; at most [`Openers::KEPT`] at a time.
pub(crate) struct Openers<'a> {
    escrow: &'a escrow::EscrowSecret,
    vault_id: &'a VaultId,
    fingerprint: &'a Fingerprint,
    batches: std::collections::HashMap<[u8; 32], escrow::BatchOpener>,
}

impl<'a> Openers<'a> {
    /// Contexts kept (a vault sealed one deposit at a time has one per
    /// deposit: the cache then starts over rather than grow).
    pub(crate) const KEPT: usize = 64;

    pub(crate) fn new(
        escrow: &'a escrow::EscrowSecret,
        vault_id: &'a VaultId,
        fingerprint: &'a Fingerprint,
    ) -> Self {
        Self {
            escrow,
            vault_id,
            fingerprint,
            batches: std::collections::HashMap::new(),
        }
    }

    /// How many contexts are kept now.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.batches.len()
    }

    /// What [`open_deposit`] gives for `d` (`None` on any failure).
    pub(crate) fn open(&mut self, d: &Deposit) -> Option<Zeroizing<Vec<u8>>> {
        if d.deposit_id.is_none() {
            return open_deposit(self.escrow, self.vault_id, || *self.fingerprint, d);
        }
        if !self.batches.contains_key(&d.enc) {
            let opener = self
                .escrow
                .batch_opener(&d.enc, &exported_info(self.fingerprint))?;
            if self.batches.len() == Self::KEPT {
                self.batches.clear();
            }
            self.batches.insert(d.enc, opener);
        }
        self.batches[&d.enc].open(&d.exported_aad(self.fingerprint), &d.ciphertext)
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
    /// Another name of the device (a computer name beside a serial),
    /// public, for search.
    pub also_known_as: Option<String>,
    /// The device's user, public, for search.
    pub user: Option<String>,
}

/// The known attributes of a deposit, parsed and checked, borrowed from
/// the deposit (a replay reads a million of them: no copies).
#[derive(Debug, Default)]
pub(super) struct DepositAttrs<'a> {
    pub(super) device: Option<&'a str>,
    pub(super) key_id: Option<&'a str>,
    pub(super) also_known_as: Option<&'a str>,
    pub(super) user: Option<&'a str>,
    pub(super) rotate_days: Option<u32>,
    pub(super) expose_hours: Option<u32>,
    pub(super) rotation: bool,
    pub(super) digest: Option<&'a str>,
}

impl<'a> DepositAttrs<'a> {
    pub(super) fn read(d: &crate::record::DepositRef<'a>) -> Result<Self, &'static str> {
        let number = |tag, max: u32| -> Result<Option<u32>, &'static str> {
            d.attribute(tag)
                .map(|v| match v.parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) && n.to_string() == v => Ok(n),
                    _ => Err("a policy attribute is not a number in range"),
                })
                .transpose()
        };
        Ok(Self {
            device: d.attribute(attr::DEVICE),
            key_id: match d.attribute(attr::KEY_ID) {
                // FORMAT.md §7.2: 8 upper-case hex digits, as every writer
                // stores it (a lookup by key ID trusts this).
                Some(v)
                    if v.len() == 8
                        && v.bytes()
                            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)) =>
                {
                    Some(v)
                }
                Some(_) => return Err("a malformed key ID"),
                None => None,
            },
            also_known_as: d.attribute(attr::ALSO_KNOWN_AS),
            user: d.attribute(attr::USER),
            rotate_days: number(attr::ROTATE_DAYS, MAX_ROTATE_DAYS)?,
            expose_hours: number(attr::EXPOSE_HOURS, MAX_EXPOSE_HOURS)?,
            rotation: match d.attribute(attr::ROTATION) {
                None => false,
                Some("rotate") => true,
                Some(_) => return Err("an unknown rotation marker"),
            },
            digest: match d.attribute(attr::IMPORT_DIGEST) {
                Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => Some(v),
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
        return Err(InputError::SecretEmpty);
    }
    if secret.secret.len() > MAX_SECRET {
        return Err(InputError::SecretTooLong {
            len: secret.secret.len(),
            max: MAX_SECRET,
        });
    }
    if secret.username.len() > MAX_USERNAME || secret.username.chars().any(char::is_control) {
        return Err(InputError::Username { max: MAX_USERNAME });
    }
    let text = match std::str::from_utf8(&secret.secret) {
        Ok(t) => Some(t),
        Err(_) if kind.is_text() => return Err(InputError::SecretNotText { kind }),
        Err(_) => None,
    };
    let canonical = match (kind, text) {
        (EntryKind::Password, Some(t)) if t.contains(['\n', '\r']) => {
            return Err(InputError::PasswordLineBreak)
        }
        (EntryKind::RecoveryKey, Some(t)) => Some(recovery_key::check(t)?.0),
        _ => None,
    };
    Ok(EntrySecret {
        username: secret.username.clone(),
        secret: canonical.map_or_else(|| secret.secret.clone(), |c| Zeroizing::new(c.into_bytes())),
    })
}

impl Vault {
    /// The version a deposit of `label` would get, or why it is refused
    /// (a bad label, or a label that holds another kind).
    pub fn next_version(&self, label: &str, kind: EntryKind) -> Result<u32, InputError> {
        check_text(Field::Label, label, limits::LABEL)?;
        match self.entries.get(label) {
            None => Ok(1),
            Some(e) if e.kind != kind => Err(InputError::KindMismatch {
                label: label.to_owned(),
                held: e.kind,
                given: kind,
            }),
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
        let secret = validate_secret(kind, secret)?;
        self.prepare_canonical(label, kind, secret, meta)
    }

    /// [`Vault::prepare_deposit`] for a secret that [`validate_secret`]
    /// already returned (import checks every row while reading it).
    pub(crate) fn prepare_canonical(
        &self,
        label: &str,
        kind: EntryKind,
        secret: EntrySecret,
        meta: &DepositMeta,
    ) -> Result<PreparedDeposit, InputError> {
        let version = self.next_version(label, kind)?;
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
                deposit_id: None,
            },
            secret,
            vault_id: *self.id(),
            escrow_public: self.genesis.escrow_public,
        })
    }

    /// The attributes of a new deposit of `label`. A rotation needs an
    /// earlier version to rotate.
    fn deposit_attributes(
        &self,
        label: &str,
        secret: &EntrySecret,
        meta: &DepositMeta,
    ) -> Result<Vec<(u8, String)>, InputError> {
        if meta.rotation && !self.entries.contains_key(label) {
            return Err(InputError::NothingToRotate {
                label: label.to_owned(),
            });
        }
        deposit_attributes(secret, meta)
    }
}

/// The public attributes of a new deposit from its metadata, checked, in
/// the file's order (FORMAT.md §7.2). Needs no vault: a token is made this
/// way on a device that has only the recipient.
pub fn deposit_attributes(
    secret: &EntrySecret,
    meta: &DepositMeta,
) -> Result<Vec<(u8, String)>, InputError> {
    let mut attributes = Vec::new();
    if let Some(device) = &meta.device {
        check_text(Field::Device, device, limits::ATTRIBUTE)?;
        attributes.push((attr::DEVICE, device.clone()));
    }
    if let Some(id) = &meta.key_id {
        let is_bitlocker = std::str::from_utf8(&secret.secret)
            .ok()
            .and_then(|s| recovery_key::check(s).ok())
            .is_some_and(|(_, f)| f == RecoveryFormat::BitLocker);
        if !is_bitlocker {
            return Err(InputError::KeyIdWithoutBitLocker);
        }
        attributes.push((attr::KEY_ID, recovery_key::check_key_id(id)?));
    }
    let days = meta.rotate_days;
    if let Some(days) = days {
        if !(1..=MAX_ROTATE_DAYS).contains(&days) {
            return Err(InputError::RotateDays {
                days,
                max: MAX_ROTATE_DAYS,
            });
        }
        attributes.push((attr::ROTATE_DAYS, days.to_string()));
    }
    let hours = meta.expose_hours;
    if let Some(hours) = hours {
        if !(1..=MAX_EXPOSE_HOURS).contains(&hours) {
            return Err(InputError::ExposeHours {
                hours,
                max: MAX_EXPOSE_HOURS,
            });
        }
        attributes.push((attr::EXPOSE_HOURS, hours.to_string()));
    }
    for (tag, value) in [
        (attr::ALSO_KNOWN_AS, &meta.also_known_as),
        (attr::USER, &meta.user),
    ] {
        if let Some(value) = value {
            check_text(Field::Device, value, limits::ATTRIBUTE)?;
            attributes.push((tag, value.clone()));
        }
    }
    if let Some(digest) = &meta.digest {
        attributes.push((attr::IMPORT_DIGEST, digest.clone()));
    }
    if meta.rotation {
        attributes.push((attr::ROTATION, "rotate".into()));
    }
    // FORMAT.md §7.2: tags strictly ascending.
    attributes.sort_by_key(|(tag, _)| *tag);
    Ok(attributes)
}
