//! The quorum: shares checked one by one (vault, custodian, passphrase,
//! commitment), then combined and the key checked.

use secrecy::SecretString;

use super::rules::check_actor;
use super::unsealed::Unsealed;
use super::Vault;
use crate::keys::MasterKey;
use crate::record::{Record, ShareVerified};
use crate::shamir::{self, KeyShare};
use crate::share::{ShareBody, UnlockError};

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

impl Vault {
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
