//! A new vault: a master key split among the custodians, an escrow key
//! pair, and the signed genesis record.

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::rules::{check_actor, check_text};
use crate::error::{Field, InputError};
use crate::escrow;
use crate::fingerprint::Fingerprint;
use crate::keys::{random_bytes, MasterKey};
use crate::log;
use crate::passphrase::KdfParams;
use crate::record::{limits, Custodian, Genesis, GenesisV2, Origin, Proof, Record};
use crate::shamir;
use crate::share::{ShareBody, ShareIdentity};
use crate::share_text::{self, ShareHeader};
use crate::sign::{self, SecretSigningKey};
use crate::VaultId;

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
    /// Whom to call (printed on envelopes; may be empty).
    pub contact: String,
    /// Where the envelopes are kept (may be empty).
    pub location: String,
}

impl InitSpec {
    /// A spec for `name`, any `threshold` of `custodians`, with the default
    /// Argon2id costs, no actor and time 0 (set them with the `with_`
    /// methods).
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        threshold: usize,
        custodians: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            threshold,
            custodians: custodians.into_iter().map(Into::into).collect(),
            actor: String::new(),
            time: 0,
            kdf: KdfParams::DEFAULT,
            contact: String::new(),
            location: String::new(),
        }
    }

    /// The same spec with whom to call and where the envelopes are kept,
    /// kept in the genesis record and printed on every envelope.
    pub fn with_contact(mut self, contact: impl Into<String>, location: impl Into<String>) -> Self {
        self.contact = contact.into();
        self.location = location.into();
        self
    }

    /// The same spec with creation time `time` (Unix seconds).
    pub fn with_time(mut self, time: u64) -> Self {
        self.time = time;
        self
    }

    /// The same spec created by `actor`.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// The same spec with Argon2id costs `kdf`.
    pub fn with_kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }
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

/// A new vault: its id, the file's bytes, and one share per custodian.
#[derive(Debug)]
pub struct Created {
    /// The new vault's id.
    pub id: VaultId,
    /// Its fingerprint (what people compare and depositors pin).
    pub fingerprint: Fingerprint,
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
    let keys = new_keys(spec, vault_id, Lineage::INIT, passphrases)?;
    let mut bytes = log::header(log::FORMAT_VERSION).to_vec();
    let body = keys.genesis.encode_body();
    let prev = log::genesis_prev(log::FORMAT_VERSION);
    bytes.extend_from_slice(&log::encode_frame(&prev, keys.genesis.kind(), &body).0);
    Ok(Created {
        id: vault_id,
        fingerprint: keys.fingerprint,
        bytes,
        shares: keys.shares,
    })
}

/// A new master key and everything made from it: the signed genesis
/// record (first in its file), its fingerprint, the quorum's signing key
/// and the custodians' shares.
pub(crate) struct NewKeys {
    pub(crate) genesis: Record,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) quorum: SecretSigningKey,
    pub(crate) escrow_public: [u8; 32],
    pub(crate) shares: Vec<IssuedShare>,
}

/// Where a new genesis sits in its vault's line (FORMAT.md §14.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lineage {
    pub(crate) generation: u16,
    pub(crate) origin: Origin,
    pub(crate) previous: [u8; 32],
    pub(crate) carried: u32,
}

impl Lineage {
    /// A new vault.
    pub(crate) const INIT: Self = Self {
        generation: 1,
        origin: Origin::Init,
        previous: [0; 32],
        carried: 0,
    };
}

/// Makes a master key, splits it, makes an escrow key pair, and builds and
/// signs the format 2 genesis record for `vault_id`.
pub(crate) fn new_keys(
    spec: &InitSpec,
    vault_id: VaultId,
    lineage: Lineage,
    passphrases: &[Option<SecretString>],
) -> Result<NewKeys, InputError> {
    assert_eq!(
        passphrases.len(),
        spec.custodians.len(),
        "one passphrase slot per custodian"
    );
    let mk = MasterKey::generate();
    let n = spec.custodians.len();
    let key_shares = shamir::split(&mk, spec.threshold, n)?;
    let (escrow_public, escrow_sealed) = escrow::generate(&mk, &vault_id);
    let genesis = Genesis {
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
                public: None,
            })
            .collect(),
        escrow_public,
        escrow_sealed,
        key_check: mk.key_check(&vault_id),
        proof: Proof::UNSIGNED,
        v2: None,
    };
    let (genesis, fingerprint, quorum) = sign_genesis_v2(genesis, &mk, &key_shares, lineage, spec)?;
    let generation = lineage.generation;
    let identity = ShareIdentity::v2(&vault_id, generation, &fingerprint);
    let short = fingerprint.short();
    let mut shares = Vec::with_capacity(n);
    for ((name, share), pass) in spec.custodians.iter().zip(&key_shares).zip(passphrases) {
        let body = ShareBody::seal(
            identity,
            spec.threshold as u8,
            n as u8,
            share,
            pass.as_ref().map(|p| (p, spec.kdf)),
        )?;
        let header = ShareHeader {
            vault_name: &spec.name,
            fingerprint: &short,
            custodian: name,
        };
        shares.push(IssuedShare {
            custodian: name.clone(),
            text: share_text::encode(&body, &header),
        });
    }
    Ok(NewKeys {
        genesis,
        fingerprint,
        quorum,
        escrow_public,
        shares,
    })
}

/// Makes `genesis` (its format 1 fields set) a format 2 genesis for
/// `lineage`: every custodian's public key from their share (`shares` holds
/// all n, in index order), the quorum's from `mk`, contact and location
/// from `spec`; then signs it. Returns it with its fingerprint and the
/// quorum's signing key.
pub(crate) fn sign_genesis_v2(
    mut genesis: Genesis,
    mk: &MasterKey,
    shares: &[shamir::KeyShare],
    lineage: Lineage,
    spec: &InitSpec,
) -> Result<(Record, Fingerprint, SecretSigningKey), InputError> {
    check_contact(spec)?;
    let (id, generation) = (genesis.vault_id, lineage.generation);
    assert_eq!(
        shares.len(),
        genesis.custodians.len(),
        "a share per custodian"
    );
    for (c, share) in genesis.custodians.iter_mut().zip(shares) {
        let key = sign::custodian_key(share.y(), &id, generation, share.index());
        c.public = Some(key.public().0);
    }
    let quorum = sign::quorum_key(mk, &id, generation);
    genesis.v2 = Some(GenesisV2 {
        generation,
        origin: lineage.origin,
        previous: lineage.previous,
        carried: lineage.carried,
        contact: spec.contact.clone(),
        location: spec.location.clone(),
        quorum_public: quorum.public().0,
    });
    genesis.proof = Proof::UNSIGNED;
    let fingerprint = Fingerprint::of(&genesis);
    let mut record = Record::Genesis(genesis);
    record.sign_v2(
        &quorum,
        fingerprint.as_bytes(),
        &log::genesis_prev(log::FORMAT_VERSION),
    );
    Ok((record, fingerprint, quorum))
}

/// Contact and location: may be empty; otherwise the text rules.
fn check_contact(spec: &InitSpec) -> Result<(), InputError> {
    for (field, value) in [
        (Field::Contact, &spec.contact),
        (Field::Location, &spec.location),
    ] {
        if !value.is_empty() {
            check_text(field, value, limits::CONTACT)?;
        }
    }
    Ok(())
}

/// Checks an init spec: name, threshold, custodian names, Argon2 costs.
pub fn validate(spec: &InitSpec) -> Result<(), InputError> {
    check_text(Field::VaultName, &spec.name, limits::NAME)?;
    let (k, n) = (spec.threshold, spec.custodians.len());
    if k < 2 {
        return Err(InputError::ThresholdTooLow { k });
    }
    if n > 255 {
        return Err(InputError::TooManyCustodians { n });
    }
    if k > n {
        return Err(InputError::ThresholdAboveCustodians { k, n });
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &spec.custodians {
        check_text(Field::CustodianName, name, limits::CUSTODIAN)?;
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(InputError::CustodianNotAFileName { name: name.clone() });
        }
        // Case-insensitively: names become share file names.
        if !seen.insert(name.to_lowercase()) {
            return Err(InputError::CustodianTwice { name: name.clone() });
        }
    }
    Ok(spec.kdf.validate()?)
}
