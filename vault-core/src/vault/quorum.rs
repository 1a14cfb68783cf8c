//! The quorum: shares checked one by one (vault, custodian, passphrase,
//! commitment), then combined and the key checked.

use secrecy::SecretString;

use super::rules::check_actor;
use super::unsealed::Unsealed;
use super::Vault;
use crate::keys::MasterKey;
use crate::record::{Record, ShareVerified};
use crate::shamir::{self, KeyShare};
use crate::share::{ShareBody, ShareIdentity, UnlockError};
use crate::share_text::LineOne;

/// The first 8 symbols of a fingerprint prefix, as `XXXX-XXXX`.
fn short_prefix(fingerprint: &[u8; 8]) -> String {
    let s = crate::text::lines::base32().encode(fingerprint);
    format!("{}-{}", &s[..4], &s[4..8])
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
    /// The share does not match what the vault holds for its custodian:
    /// mistyped in a way the line checks missed, or altered.
    #[error("does not match custodian {custodian}'s share (altered, or mistyped in a way the line checks missed)")]
    CommitmentMismatch {
        /// The custodian it claims to be.
        custodian: String,
    },
    /// The share matches its custodian's commitment, but the (format 2)
    /// genesis names another signature key for that custodian than the
    /// share makes: the genesis was not made with this share.
    #[error("matches custodian {custodian}'s commitment, but the vault names another signature key for them: the vault file was altered or forged — restore it from a copy you trust")]
    GenesisKey {
        /// The custodian.
        custodian: String,
    },
    /// A share of an earlier generation: a rekey revoked it.
    #[error("is {custodian}'s share of generation {generation}, revoked when the vault was rekeyed (Unix time {revoked}); the vault is at generation {current}")]
    EarlierGeneration {
        /// Its custodian in that generation.
        custodian: String,
        /// Its generation.
        generation: u32,
        /// When the rekey that revoked it was made (Unix seconds).
        revoked: u64,
        /// The vault's generation.
        current: u32,
    },
    /// A format-2 share of a generation this vault file has not reached:
    /// the file is an old copy or was rolled back.
    #[error("is from generation {generation}, newer than this vault file (generation {current}): the file is an old copy or was rolled back — use the current vault file")]
    NewerGeneration {
        /// The share's generation.
        generation: u32,
        /// The vault file's generation.
        current: u32,
    },
    /// A format-2 share of this generation number but another fingerprint:
    /// the vault file was replaced or the rekey redone.
    #[error("was issued for a different generation-{generation} vault (fingerprint {fingerprint}…): this vault file was replaced or altered, or the rekey was redone — use the vault file your envelope names")]
    OtherFingerprint {
        /// The generation both name.
        generation: u32,
        /// The share's fingerprint prefix, in the short form's symbols.
        fingerprint: String,
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
    /// does not recognise: the vault file was altered or damaged.
    #[error("the vault is damaged or was altered: shares that match their commitments do not combine to the vault's key")]
    KeyMismatch,
    /// The key checks but the sealed escrow key does not open with it: the
    /// vault file was altered or damaged.
    #[error("the vault is damaged or was altered: the sealed escrow key does not open")]
    EscrowSealed,
    /// The key checks but the genesis names another quorum signature key
    /// (format 2): the genesis record was altered.
    #[error("the vault is damaged or was altered: its genesis record names a signature key that is not this master key's")]
    SignatureKey,
}

/// Shares gathered one at a time toward a quorum. Each is checked alone
/// when it is added (right vault, known custodian, not a custodian already
/// counted, passphrase, commitment), so a bad one is named at once and the
/// others still count; [`Quorum::open`] then needs the threshold.
#[derive(Debug)]
pub struct Quorum<'v> {
    vault: &'v Vault,
    accepted: Vec<KeyShare>,
}

impl<'v> Quorum<'v> {
    /// The shares accepted so far, each checked against its commitment.
    pub fn shares(&self) -> &[KeyShare] {
        &self.accepted
    }

    /// An empty quorum for `vault`.
    pub fn new(vault: &'v Vault) -> Self {
        Self {
            vault,
            accepted: Vec::new(),
        }
    }

    /// The vault the shares are for.
    pub fn vault(&self) -> &'v Vault {
        self.vault
    }

    /// The checks that need no passphrase: the vault, the custodian, and
    /// that this custodian was not counted already. Returns the
    /// custodian's name. Run it before asking for a passphrase.
    pub fn precheck(&self, body: &ShareBody) -> Result<&'v str, ShareProblem> {
        self.vault.precheck_share(body)?;
        self.not_counted(body.index)
    }

    /// Adds a share: the prechecks, then the passphrase (if the share is
    /// protected) and the stored commitment. Returns the custodian's name.
    pub fn add(
        &mut self,
        body: &ShareBody,
        passphrase: Option<&SecretString>,
    ) -> Result<&'v str, ShareProblem> {
        let custodian = self.precheck(body)?;
        let share = self.vault.check_share(body, passphrase)?;
        self.accepted.push(share);
        Ok(custodian)
    }

    /// Adds a key share that arrived without its share body (a remote
    /// contribution): a known custodian not counted yet, and the stored
    /// commitment. Returns the custodian's name.
    pub fn add_key_share(&mut self, share: KeyShare) -> Result<&'v str, ShareProblem> {
        self.vault.check_key_share(&share)?;
        let custodian = self.not_counted(share.index())?;
        self.accepted.push(share);
        Ok(custodian)
    }

    fn not_counted(&self, index: u8) -> Result<&'v str, ShareProblem> {
        let custodian = self
            .vault
            .custodian_name(index)
            .ok_or(ShareProblem::UnknownIndex(index))?;
        if self.accepted.iter().any(|s| s.index() == index) {
            return Err(ShareProblem::Duplicate {
                custodian: custodian.to_owned(),
            });
        }
        Ok(custodian)
    }

    /// Names of the custodians whose shares were accepted, in the order
    /// given.
    pub fn custodians(&self) -> Vec<&'v str> {
        self.accepted
            .iter()
            .filter_map(|s| self.vault.custodian_name(s.index()))
            .collect()
    }

    /// Share indices of the custodians accepted, in the order given.
    pub fn indices(&self) -> Vec<u8> {
        self.accepted.iter().map(KeyShare::index).collect()
    }

    /// Shares accepted so far.
    pub fn len(&self) -> usize {
        self.accepted.len()
    }

    /// True when no share was accepted.
    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }

    /// Shares needed (the vault's threshold).
    pub fn need(&self) -> usize {
        self.vault.threshold()
    }

    /// True when enough shares were accepted to try to open the vault.
    pub fn is_complete(&self) -> bool {
        self.len() >= self.need()
    }

    /// Combines the accepted shares and opens the escrow key.
    pub fn open(&self) -> Result<Opened, OpenError> {
        let unsealed = self.vault.open(&self.accepted)?;
        let used = self
            .accepted
            .iter()
            .map(KeyShare::index)
            .filter(|i| !unsealed.inconsistent().contains(i))
            .filter_map(|i| self.vault.custodian_name(i))
            .map(str::to_owned)
            .collect();
        let inconsistent = unsealed
            .inconsistent()
            .iter()
            .filter_map(|&i| self.vault.custodian_name(i))
            .map(str::to_owned)
            .collect();
        Ok(Opened {
            unsealed,
            used,
            inconsistent,
        })
    }
}

/// A quorum that opened the vault.
#[derive(Debug)]
pub struct Opened {
    /// The opened vault's keys.
    pub unsealed: Unsealed,
    /// Custodians whose shares opened it, in the order given.
    pub used: Vec<String>,
    /// Custodians whose shares matched their commitments but not the
    /// other shares (the commitments were altered): left out.
    pub inconsistent: Vec<String>,
}

impl Vault {
    /// Why a share does not match its custodian's commitment: a share of an
    /// earlier generation (it matches a commitment in a genesis a rekey
    /// kept in History), or else altered or mistyped.
    fn mismatch(&self, share: &KeyShare, custodian: &str) -> ShareProblem {
        let current = self.generation();
        for generation in (1..current).rev() {
            let Some((genesis, revoked)) = self.earlier_generation(generation) else {
                continue;
            };
            let old = genesis
                .custodians
                .get(usize::from(share.index()).wrapping_sub(1));
            if let Some(old) = old.filter(|c| share.matches(self.id(), &c.commitment)) {
                return ShareProblem::EarlierGeneration {
                    custodian: old.name.clone(),
                    generation,
                    revoked,
                    current,
                };
            }
        }
        ShareProblem::CommitmentMismatch {
            custodian: custodian.to_owned(),
        }
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
        self.check_key_share(&share)?;
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
            return Err(self.mismatch(share, &custodian.name));
        }
        // Format 2 (§14.7): the key this share makes is the one the genesis
        // names, so a single custodian can tell a forged genesis too.
        if let Some(generation) = self.genesis.generation() {
            let own = crate::sign::custodian_key(share.y(), self.id(), generation, share.index());
            if custodian.public != Some(own.public().0) {
                return Err(ShareProblem::GenesisKey {
                    custodian: custodian.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The checks that need no passphrase: vault, generation and
    /// fingerprint (format 2), and index (FORMAT.md §6.7). Run them before
    /// asking a custodian for a passphrase.
    pub fn precheck_share(&self, body: &ShareBody) -> Result<(), ShareProblem> {
        if !body.identity.names_vault(self.id()) {
            return Err(ShareProblem::ForeignVault(body.identity.vault_short()));
        }
        if let ShareIdentity::V2 {
            generation,
            fingerprint,
            ..
        } = body.identity
        {
            self.precheck_generation(body.index, generation)?;
            if !self.names_fingerprint_prefix(&fingerprint) {
                return Err(ShareProblem::OtherFingerprint {
                    generation: u32::from(generation),
                    fingerprint: short_prefix(&fingerprint),
                });
            }
        }
        if self.custodian_name(body.index).is_none() {
            return Err(ShareProblem::UnknownIndex(body.index));
        }
        Ok(())
    }

    /// The checks a format-2 line 1 allows, as soon as it is typed: vault,
    /// generation, index (FORMAT.md §6.7).
    pub fn precheck_line_one(&self, line: &LineOne) -> Result<(), ShareProblem> {
        let tag = ShareIdentity::V2 {
            vault_tag: line.vault_tag,
            generation: line.generation,
            fingerprint: [0; 8],
        };
        if !tag.names_vault(self.id()) {
            return Err(ShareProblem::ForeignVault(tag.vault_short()));
        }
        self.precheck_generation(line.index, line.generation)?;
        if self.custodian_name(line.index).is_none() {
            return Err(ShareProblem::UnknownIndex(line.index));
        }
        Ok(())
    }

    /// A share of generation `generation` against this vault's.
    fn precheck_generation(&self, index: u8, generation: u16) -> Result<(), ShareProblem> {
        let (generation, current) = (u32::from(generation), self.generation());
        if generation > current {
            return Err(ShareProblem::NewerGeneration {
                generation,
                current,
            });
        }
        if generation < current {
            let (custodian, revoked) = match self.earlier_generation(generation) {
                Some((g, ended)) => (
                    g.custodians
                        .get(usize::from(index).wrapping_sub(1))
                        .map(|c| c.name.clone()),
                    ended,
                ),
                None => (None, self.genesis.time),
            };
            return Err(ShareProblem::EarlierGeneration {
                custodian: custodian.unwrap_or_else(|| format!("custodian {index}")),
                generation,
                revoked,
                current,
            });
        }
        Ok(())
    }

    /// True when a format 2 share's fingerprint prefix names this vault:
    /// its fingerprint, or — for a vault upgraded to format 2 with the same
    /// shares — the format 1 fingerprint it had before (FORMAT.md §14.6).
    fn names_fingerprint_prefix(&self, prefix: &[u8; 8]) -> bool {
        let upgraded = self
            .genesis
            .v2
            .as_ref()
            .filter(|v| v.origin == crate::record::Origin::Upgrade)
            .map(|v| v.previous);
        prefix[..] == self.fingerprint().as_bytes()[..8]
            || upgraded.is_some_and(|previous| prefix[..] == previous[..8])
    }

    /// A record that the custodian whose checked share is `share` verified
    /// it, for its place after `prev` (the file's head when it is
    /// appended): in format 2 signed with the custodian's key, which only
    /// their share makes.
    pub fn share_verified(
        &self,
        share: &KeyShare,
        actor: &str,
        time: u64,
        prev: &[u8; 32],
    ) -> Record {
        let mut record = Record::ShareVerified(ShareVerified {
            time,
            actor: check_actor(actor),
            custodian: share.index(),
            signature: None,
        });
        if let Some(generation) = self.genesis.generation() {
            if let Record::ShareVerified(s) = &mut record {
                s.signature = Some([0; 64]);
            }
            let key = crate::sign::custodian_key(share.y(), self.id(), generation, share.index());
            record.sign_v2(&key, self.fingerprint().as_bytes(), prev);
        }
        record
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
            .ok_or(OpenError::EscrowSealed)?;
        indices.retain(|i| !inconsistent.contains(i));
        let signer = match self.genesis.v2.as_ref() {
            None => None,
            Some(v2) => {
                let key = crate::sign::quorum_key(&mk, self.id(), v2.generation);
                if key.public().0 != v2.quorum_public {
                    return Err(OpenError::SignatureKey);
                }
                // Each custodian's key, from their share (FORMAT.md §14.7).
                for share in shares.iter().filter(|s| !inconsistent.contains(&s.index())) {
                    let own = crate::sign::custodian_key(
                        share.y(),
                        self.id(),
                        v2.generation,
                        share.index(),
                    );
                    let named = self
                        .genesis
                        .custodians
                        .get(usize::from(share.index()) - 1)
                        .and_then(|c| c.public);
                    if named != Some(own.public().0) {
                        return Err(OpenError::SignatureKey);
                    }
                }
                Some(super::unsealed::QuorumSigner {
                    key,
                    fingerprint: self.fingerprint(),
                })
            }
        };
        let shares = shares
            .iter()
            .filter(|s| !inconsistent.contains(&s.index()))
            .cloned()
            .collect();
        Ok(Unsealed {
            vault_id: *self.id(),
            mk: Some(mk),
            escrow,
            custodians: indices,
            inconsistent,
            shares,
            threshold: need,
            signer,
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
        Err(OpenError::KeyMismatch)
    }
}
