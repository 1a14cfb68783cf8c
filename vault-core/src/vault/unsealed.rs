//! The vault opened by a quorum: reveal entry versions, drill, and sign
//! the records a quorum writes.

use super::deposit::Openers;
use super::rules::{check_actor, check_reason};
use super::{Entry, EntryVersion, Vault};
use crate::entry::{EntryKind, EntrySecret};
use crate::error::InputError;
use crate::escrow::EscrowSecret;
use crate::keys::MasterKey;
use crate::record::{Drill, DrillKind, Proof, Record, Unseal};
use crate::VaultId;

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

impl Revealed {
    /// The secret as text, as every front end shows it: text kinds as they
    /// are (checked to be UTF-8 when sealed), files as base64.
    pub fn secret_text(&self) -> zeroize::Zeroizing<String> {
        match std::str::from_utf8(&self.secret.secret) {
            Ok(t) if self.kind.is_text() => zeroize::Zeroizing::new(t.to_owned()),
            _ => zeroize::Zeroizing::new(data_encoding::BASE64.encode(&self.secret.secret)),
        }
    }
}

/// What a drill found: how many entry versions decrypted, and which did not.
#[derive(Debug, Default)]
pub struct DrillOutcome {
    /// Versions that decrypted.
    pub ok: u32,
    /// Versions that did not (damaged or altered).
    pub failed: Vec<EntryDamaged>,
}

/// The vault opened by a quorum: the master key, the escrow private key,
/// the shares that opened it and (format 2) the quorum's signing key.
/// Dropping it zeroizes them all.
pub struct Unsealed {
    pub(crate) vault_id: VaultId,
    /// `None` once forgotten ([`Unsealed::forget_master_key`], format 2).
    pub(crate) mk: Option<MasterKey>,
    pub(crate) escrow: EscrowSecret,
    pub(crate) custodians: Vec<u8>,
    pub(crate) inconsistent: Vec<u8>,
    /// The checked shares that opened it (an upgrade rebuilds the others).
    pub(crate) shares: Vec<crate::shamir::KeyShare>,
    /// The vault's threshold.
    pub(crate) threshold: usize,
    /// Format 2: the quorum's key, checked against the genesis.
    pub(crate) signer: Option<QuorumSigner>,
}

/// The quorum's signing key of a format 2 vault, and the fingerprint its
/// signatures cover.
pub(crate) struct QuorumSigner {
    pub(crate) key: crate::sign::SecretSigningKey,
    pub(crate) fingerprint: crate::fingerprint::Fingerprint,
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
        Some(self.open_version(vault, &entry, entry.current()))
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
        Some(self.open_version(vault, &entry, v))
    }

    pub(crate) fn open_version(
        &self,
        vault: &Vault,
        entry: &Entry,
        v: &EntryVersion,
    ) -> Result<Revealed, EntryDamaged> {
        let fingerprint = vault.fingerprint();
        let mut openers = Openers::new(&self.escrow, &self.vault_id, &fingerprint);
        Self::open_with(&mut openers, vault, entry, v)
    }

    /// [`Unsealed::open_version`] through `openers` (one pass over many
    /// versions shares them).
    fn open_with(
        openers: &mut Openers<'_>,
        vault: &Vault,
        entry: &Entry,
        v: &EntryVersion,
    ) -> Result<Revealed, EntryDamaged> {
        let damaged = || EntryDamaged {
            label: entry.label.clone(),
            version: v.version,
            record: v.record + 1,
        };
        let d = vault
            .deposit_at(&entry.label, v.version, v.offset)
            .ok_or_else(damaged)?;
        let plain = openers.open(&d).ok_or_else(damaged)?;
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
        let fingerprint = vault.fingerprint();
        let mut openers = Openers::new(&self.escrow, &self.vault_id, &fingerprint);
        // In the order deposits were first made, near the file's: each
        // deposit is read again from the file, and no label order is built.
        for entry in vault.entries.refs_unordered().map(|e| e.to_entry()) {
            for v in &entry.versions {
                progress();
                match Self::open_with(&mut openers, vault, &entry, v) {
                    Ok(_) => outcome.ok += 1,
                    Err(e) => outcome.failed.push(e),
                }
            }
        }
        // Named in label order, as the entries are everywhere else.
        outcome
            .failed
            .sort_by(|a, b| (&a.label, a.version).cmp(&(&b.label, b.version)));
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
            proof: self.proof(),
        });
        Ok(self.signed(record, prev))
    }

    /// An unsigned proof of the vault's format.
    fn proof(&self) -> Proof {
        match self.signer {
            Some(_) => Proof::UNSIGNED,
            None => Proof::UNMACED,
        }
    }

    /// `record` signed (format 2) or MAC'd (format 1) for its place after
    /// `prev`.
    fn signed(&self, mut record: Record, prev: &[u8; 32]) -> Record {
        match &self.signer {
            Some(s) => record.sign_v2(&s.key, s.fingerprint.as_bytes(), prev),
            None => record.sign(&self.master().record_mac_key(&self.vault_id), prev),
        }
        record
    }

    /// Quorum records whose MAC does not verify (1-based record numbers):
    /// evidence that the audit trail was altered. A vault that did not keep
    /// its records reads them again one at a time; if that fails the
    /// record that could not be read is named (as failing: it cannot be
    /// shown authentic).
    pub fn bad_macs(&self, vault: &Vault) -> Vec<usize> {
        let Some(mk) = &self.mk else {
            return Vec::new();
        };
        // Format 2: every quorum record is signed and checked at every
        // replay, and what a rewrite carried over is pinned by the signed
        // record that closes it; a second pass over a fleet's records
        // would find nothing.
        if vault.format() >= 2 {
            return Vec::new();
        }
        let key = mk.record_mac_key(&self.vault_id);
        let mut bad = Vec::new();
        let mut seen = 0;
        let read = vault.for_each_record(|number, frame, record| {
            seen = number;
            if record.verify_mac(&key, &frame.prev) == Some(false) {
                bad.push(number);
            }
        });
        if !read {
            bad.push(seen + 1);
        }
        bad
    }

    /// True when `record`, read at its place after `prev`, is a quorum
    /// record whose MAC does not verify: [`Unsealed::bad_macs`] one record
    /// at a time, for records streamed from the file.
    pub fn mac_fails(&self, record: &Record, prev: &[u8; 32]) -> bool {
        self.mk.as_ref().is_some_and(|mk| {
            record.verify_mac(&mk.record_mac_key(&self.vault_id), prev) == Some(false)
        })
    }

    /// Drops the master key, keeping the escrow key (to reveal) and the
    /// quorum's signing key (to sign what it writes): for a session that
    /// holds the keys for hours (issue 19). Only a format 2 vault can: a
    /// format 1 record's MAC needs the master key itself. True when
    /// dropped.
    pub fn forget_master_key(&mut self) -> bool {
        if self.signer.is_none() {
            return false;
        }
        self.mk = None;
        // k shares make the master key again: they go too (zeroized).
        self.shares.clear();
        true
    }

    /// True while the master key, or the shares that make it, are held.
    pub fn holds_master_key(&self) -> bool {
        self.mk.is_some() || !self.shares.is_empty()
    }

    /// The master key, for what only it can do (format 1 MACs, upgrade);
    /// held whenever those can be asked for: only format 2 forgets it.
    pub(crate) fn master(&self) -> &MasterKey {
        self.mk
            .as_ref()
            .expect("only a format 2 vault forgets its master key, and never needs it after")
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
            proof: self.proof(),
        });
        // FORMAT.md §7.3: the count is a u16 and a body at most 1 MiB; a
        // record that cannot say what was revealed must not be written.
        if entries.len() > usize::from(u16::MAX)
            || record.encode_body().len() > crate::log::MAX_BODY
        {
            return Err(InputError::TooManyRevealed {
                count: entries.len(),
            });
        }
        Ok(self.signed(record, prev))
    }
}
