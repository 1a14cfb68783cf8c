//! Re-issuing one custodian's lost share (issue 12; docs/FORMAT.md §14.4,
//! record `0x18`). k shares fix the polynomial, so the share rebuilt at the
//! custodian's index is the very share they lost — the same `y`, the same
//! commitment — and nothing else in the vault changes. A quorum signs a
//! record of it. A share that may have been *copied* (compromised, not
//! lost) is not a case for this: the copy would still work; that is what
//! `rekey` is for.

use secrecy::SecretString;

use super::init::IssuedShare;
use super::rules::{check_actor, check_reason};
use super::{InputError, Unsealed, Vault};
use crate::passphrase::KdfParams;
use crate::record::{Proof, Record, Reissue};
use crate::share::{ShareBody, ShareIdentity};
use crate::share_text::{self, ShareHeader};

/// Why a share could not be re-issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReissueError {
    /// A format 1 vault has no signed record to say who re-issued it.
    #[error("re-issuing a share needs a version 2 vault, whose records are signed: move it there first with breakglass upgrade")]
    FormatOne,
    /// These keys are another vault's, or hold no shares any more (a
    /// session forgot them).
    #[error("these keys cannot re-issue a share of this vault (another vault's, or forgotten)")]
    WrongKeys,
    /// No custodian has this index.
    #[error("the vault has no custodian {0}")]
    UnknownCustodian(u8),
    /// The rebuilt share does not match the custodian's commitment: the
    /// genesis (or a share given) was altered.
    #[error("custodian {0}'s share, rebuilt from the quorum's, does not match the commitment in the vault: the vault was altered — nothing was issued")]
    Commitment(u8),
    /// The passphrase or costs were refused, or the reason.
    #[error(transparent)]
    Input(#[from] InputError),
}

impl Unsealed {
    /// Rebuilds custodian `index`'s share of `vault` (which these shares
    /// opened), checks it against the custodian's commitment and key, and
    /// writes it out as a share text: protected by `passphrase` (with
    /// `kdf`), or plain.
    pub fn reissue(
        &self,
        vault: &Vault,
        index: u8,
        passphrase: Option<&SecretString>,
        kdf: KdfParams,
    ) -> Result<IssuedShare, ReissueError> {
        let generation = vault
            .genesis()
            .generation()
            .ok_or(ReissueError::FormatOne)?;
        if vault.id() != &self.vault_id || self.shares.is_empty() {
            return Err(ReissueError::WrongKeys);
        }
        let custodian = vault
            .custodian_name(index)
            .ok_or(ReissueError::UnknownCustodian(index))?;
        let share = crate::shamir::share_at(self.threshold, &self.shares, index)
            .map_err(|_| ReissueError::Commitment(index))?;
        vault
            .check_key_share(&share)
            .map_err(|_| ReissueError::Commitment(index))?;
        let fingerprint = vault.fingerprint();
        let identity = ShareIdentity::v2(vault.id(), generation, &fingerprint);
        let body = ShareBody::seal(
            identity,
            vault.threshold() as u8,
            vault.custodians().len() as u8,
            &share,
            passphrase.map(|p| (p, kdf)),
        )
        .map_err(InputError::from)?;
        let header = ShareHeader {
            vault_name: vault.name(),
            fingerprint: &fingerprint.short(),
            custodian,
        };
        Ok(IssuedShare {
            custodian: custodian.to_owned(),
            text: share_text::encode(&body, &header),
        })
    }

    /// The signed record that custodian `index`'s share was re-issued by
    /// this quorum, for its place after `prev`.
    pub fn reissue_record(
        &self,
        index: u8,
        reason: &str,
        actor: &str,
        time: u64,
        prev: &[u8; 32],
    ) -> Result<Record, ReissueError> {
        check_reason(reason)?;
        let Some(signer) = &self.signer else {
            return Err(ReissueError::FormatOne);
        };
        let mut record = Record::Reissue(Reissue {
            time,
            actor: check_actor(actor),
            custodians: self.custodians.clone(),
            reissued: index,
            reason: reason.to_owned(),
            proof: Proof::UNSIGNED,
        });
        record.sign_v2(&signer.key, signer.fingerprint.as_bytes(), prev);
        Ok(record)
    }
}
