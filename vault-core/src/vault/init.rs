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
use crate::record::{limits, Custodian, Genesis, Record};
use crate::shamir;
use crate::share::{ShareBody, ShareIdentity};
use crate::share_text::{self, ShareHeader};
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
        }
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
    let keys = new_keys(spec, vault_id, 1, passphrases)?;
    let Record::Genesis(genesis) = &keys.genesis else {
        unreachable!("new_keys makes a genesis record")
    };
    let fingerprint = Fingerprint::of_v1(genesis);
    let mut bytes = log::header().to_vec();
    let body = keys.genesis.encode_body();
    bytes.extend_from_slice(&log::encode_frame(&log::genesis_prev(), keys.genesis.kind(), &body).0);
    Ok(Created {
        id: vault_id,
        fingerprint,
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
    generation: u16,
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
    let Record::Genesis(g) = &genesis else {
        unreachable!("built as a genesis record")
    };
    let fingerprint = Fingerprint::of_v1(g);
    let identity = ShareIdentity::v2(&vault_id, generation, &fingerprint);
    let fingerprint = fingerprint.short();
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
            fingerprint: &fingerprint,
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
