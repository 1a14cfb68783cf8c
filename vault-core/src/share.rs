//! A custodian's share as data: the binary share body
//! (docs/FORMAT.md §6), plain or passphrase-protected.

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::codec::{DecodeError, Reader, Writer};
use crate::keys::sha256;
use crate::passphrase::{KdfParams, KdfParamsError, WrappedShare};
use crate::shamir::KeyShare;
use crate::VaultId;

/// Share body format version written by this build.
pub const SHARE_FORMAT: u8 = 1;
const PROTECTION_NONE: u8 = 0;
const PROTECTION_PASSPHRASE: u8 = 1;

/// How the share's secret bytes are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum Protection {
    /// In the clear (`--no-passphrase`).
    None(Zeroizing<[u8; 32]>),
    /// Sealed under the custodian's passphrase.
    Passphrase(WrappedShare),
}

/// A decoded share body. Everything but the secret bytes is public.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareBody {
    /// The vault this share belongs to.
    pub vault_id: VaultId,
    /// The custodian's index (1-based x coordinate).
    pub index: u8,
    /// Threshold k when the share was made (informational; the vault's copy rules).
    pub threshold: u8,
    /// Number of custodians n when the share was made (informational).
    pub custodians: u8,
    /// The share's secret bytes, plain or wrapped.
    pub protection: Protection,
}

impl std::fmt::Debug for ShareBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareBody")
            .field("vault_id", &self.vault_id)
            .field("index", &self.index)
            .field("threshold", &self.threshold)
            .field("custodians", &self.custodians)
            .field("protected", &self.is_protected())
            .finish_non_exhaustive()
    }
}

/// Why a share's secret could not be taken out of its body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// The share is protected and no passphrase was given.
    #[error("this share is protected by a passphrase")]
    PassphraseRequired,
    /// The passphrase does not open the share.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The share's Argon2 parameters are out of bounds.
    #[error("the share's key-derivation parameters are refused: {0}")]
    Params(#[from] KdfParamsError),
}

/// Whole-share check: the first 4 bytes of SHA-256 over a label and the body.
fn whole_check(body: &[u8]) -> [u8; 4] {
    let h = sha256(&[b"breakglass/v1/share-check", body]);
    [h[0], h[1], h[2], h[3]]
}

impl ShareBody {
    /// True when a passphrase is needed.
    pub fn is_protected(&self) -> bool {
        matches!(self.protection, Protection::Passphrase(_))
    }

    /// Builds a plain or passphrase-protected body for `share`.
    pub fn seal(
        vault_id: VaultId,
        threshold: u8,
        custodians: u8,
        share: &KeyShare,
        passphrase: Option<(&SecretString, KdfParams)>,
    ) -> Result<Self, KdfParamsError> {
        let protection = match passphrase {
            None => Protection::None(Zeroizing::new(*share.y())),
            Some((pass, params)) => Protection::Passphrase(WrappedShare::seal(
                share.y(),
                pass,
                params,
                &vault_id,
                share.index(),
            )?),
        };
        Ok(Self {
            vault_id,
            index: share.index(),
            threshold,
            custodians,
            protection,
        })
    }

    /// The key share inside, opening it with `passphrase` if protected.
    pub fn unlock(&self, passphrase: Option<&SecretString>) -> Result<KeyShare, UnlockError> {
        let y = match (&self.protection, passphrase) {
            (Protection::None(y), _) => y.clone(),
            (Protection::Passphrase(_), None) => return Err(UnlockError::PassphraseRequired),
            (Protection::Passphrase(w), Some(p)) => w
                .open(p, &self.vault_id, self.index)?
                .ok_or(UnlockError::WrongPassphrase)?,
        };
        Ok(KeyShare::new(self.index, y).expect("decoded index is non-zero"))
    }

    /// The canonical bytes, with the whole-share check appended.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.u8(SHARE_FORMAT);
        match &self.protection {
            Protection::None(_) => w.u8(PROTECTION_NONE),
            Protection::Passphrase(_) => w.u8(PROTECTION_PASSPHRASE),
        };
        w.bytes(self.vault_id.as_bytes())
            .u8(self.index)
            .u8(self.threshold)
            .u8(self.custodians);
        match &self.protection {
            Protection::None(y) => w.bytes(y.as_ref()),
            Protection::Passphrase(s) => w
                .u32(s.params.m_kib)
                .u32(s.params.t)
                .u32(s.params.p)
                .bytes(&s.salt)
                .bytes(&s.nonce)
                .bytes(&s.ciphertext),
        };
        let mut bytes = Zeroizing::new(w.finish());
        let check = whole_check(&bytes);
        bytes.extend_from_slice(&check);
        bytes
    }

    /// The encoded length for a body with this protection byte, if known.
    pub fn encoded_len(protection: u8) -> Option<usize> {
        match protection {
            PROTECTION_NONE => Some(2 + 16 + 3 + 32 + 4),
            PROTECTION_PASSPHRASE => Some(2 + 16 + 3 + 12 + 16 + 12 + 48 + 4),
            _ => None,
        }
    }

    /// Decodes and checks a body. Every rule of FORMAT.md §6 is enforced.
    pub fn decode(bytes: &[u8]) -> Result<Self, ShareDecodeError> {
        if bytes.len() < 4 {
            return Err(ShareDecodeError::Malformed(DecodeError::Truncated {
                field: "share",
                at: 0,
                needed: 4,
                left: bytes.len(),
            }));
        }
        let (body, check) = bytes.split_at(bytes.len() - 4);
        // The check first: a typo must not pass for a newer format.
        if whole_check(body) != check {
            return Err(ShareDecodeError::WholeCheck);
        }
        if let Some(&version) = body.first() {
            if version > SHARE_FORMAT {
                return Err(ShareDecodeError::NewerFormat(version));
            }
        }
        Self::decode_fields(body).map_err(ShareDecodeError::Malformed)
    }

    fn decode_fields(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let at = r.pos();
        if r.u8("share format")? != SHARE_FORMAT {
            return Err(r.invalid("share format", at, "unknown share format"));
        }
        let at = r.pos();
        let kind = r.u8("protection")?;
        let vault_id = VaultId(r.array("vault id")?);
        let at_index = r.pos();
        let index = r.u8("index")?;
        let threshold = r.u8("threshold")?;
        let custodians = r.u8("custodians")?;
        if index == 0 {
            return Err(r.invalid("index", at_index, "index 0 is not a share"));
        }
        let protection = match kind {
            PROTECTION_NONE => Protection::None(Zeroizing::new(r.array("share bytes")?)),
            PROTECTION_PASSPHRASE => {
                let params = KdfParams {
                    m_kib: r.u32("argon2 memory")?,
                    t: r.u32("argon2 passes")?,
                    p: r.u32("argon2 lanes")?,
                };
                Protection::Passphrase(WrappedShare {
                    params,
                    salt: r.array("salt")?,
                    nonce: r.array("nonce")?,
                    ciphertext: r.array("wrapped share")?,
                })
            }
            _ => return Err(r.invalid("protection", at, "unknown protection")),
        };
        r.finish()?;
        Ok(Self {
            vault_id,
            index,
            threshold,
            custodians,
            protection,
        })
    }
}

/// Why share bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareDecodeError {
    /// The whole-share check failed: a typo survived the line checks, or
    /// lines are missing.
    #[error("the whole-share check does not match")]
    WholeCheck,
    /// Written by a newer breakglass.
    #[error("share format {0} is newer than this breakglass understands (upgrade breakglass)")]
    NewerFormat(u8),
    /// Fields out of rules.
    #[error("malformed share: {0}")]
    Malformed(DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;
    use crate::shamir::split;
    use proptest::prelude::*;

    fn pass() -> SecretString {
        SecretString::from("tr0ub4dor&3".to_owned())
    }

    #[test]
    fn plain_and_protected_roundtrip_with_fixed_lengths() {
        let shares = split(&MasterKey::generate(), 2, 3).unwrap();
        let id = VaultId([5; 16]);
        let plain = ShareBody::seal(id, 2, 3, &shares[0], None).unwrap();
        let bytes = plain.encode();
        assert_eq!(bytes.len(), ShareBody::encoded_len(0).unwrap());
        assert_eq!(ShareBody::decode(&bytes).unwrap(), plain);
        assert_eq!(plain.unlock(None).unwrap().y(), shares[0].y());

        let prot =
            ShareBody::seal(id, 2, 3, &shares[1], Some((&pass(), KdfParams::FLOOR))).unwrap();
        let bytes = prot.encode();
        assert_eq!(bytes.len(), ShareBody::encoded_len(1).unwrap());
        let back = ShareBody::decode(&bytes).unwrap();
        assert_eq!(back.unlock(Some(&pass())).unwrap().y(), shares[1].y());
        assert_eq!(
            back.unlock(None).unwrap_err(),
            UnlockError::PassphraseRequired
        );
        let wrong = SecretString::from("nope-nope".to_owned());
        assert_eq!(
            back.unlock(Some(&wrong)).unwrap_err(),
            UnlockError::WrongPassphrase
        );
    }

    #[test]
    fn debug_never_shows_secret_bytes() {
        let shares = split(&MasterKey::generate(), 2, 2).unwrap();
        let body = ShareBody::seal(VaultId([5; 16]), 2, 2, &shares[0], None).unwrap();
        let text = format!("{body:?}");
        assert!(!text.contains(&format!("{:?}", shares[0].y())));
        assert!(text.contains("protected: false"));
    }

    #[test]
    fn newer_format_is_named() {
        let shares = split(&MasterKey::generate(), 2, 2).unwrap();
        let mut bytes = ShareBody::seal(VaultId([5; 16]), 2, 2, &shares[0], None)
            .unwrap()
            .encode()
            .to_vec();
        bytes[0] = 2;
        // A newer format is only believed when the whole check holds.
        assert_eq!(
            ShareBody::decode(&bytes).unwrap_err(),
            ShareDecodeError::WholeCheck
        );
        let n = bytes.len();
        let check = whole_check(&bytes[..n - 4]);
        bytes[n - 4..].copy_from_slice(&check);
        assert_eq!(
            ShareBody::decode(&bytes).unwrap_err(),
            ShareDecodeError::NewerFormat(2)
        );
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_caught(byte in 0usize..57, bit in 0u8..8) {
            let shares = split(&MasterKey::generate(), 2, 2).unwrap();
            let mut bytes = ShareBody::seal(VaultId([5; 16]), 2, 2, &shares[0], None).unwrap().encode().to_vec();
            bytes[byte] ^= 1 << bit;
            prop_assert!(ShareBody::decode(&bytes).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..140)) {
            let _ = ShareBody::decode(&bytes);
        }
    }
}
