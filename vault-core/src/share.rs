//! A custodian's share as data: the binary share body
//! (docs/FORMAT.md §6), plain or passphrase-protected, in format 1 (read
//! forever) or format 2 (written: it names the vault's generation and
//! fingerprint, and its first 10 bytes are exactly the first typed line).

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::codec::{DecodeError, Reader, Writer};
use crate::fingerprint::Fingerprint;
use crate::keys::sha256;
use crate::passphrase::{KdfParams, KdfParamsError, WrappedShare};
use crate::shamir::KeyShare;
use crate::VaultId;

/// Share body format version written by this build.
pub const SHARE_FORMAT: u8 = 2;
/// The oldest share body format still read (forever: FORMAT.md §6).
pub const SHARE_FORMAT_V1: u8 = 1;
const PROTECTION_NONE: u8 = 0;
const PROTECTION_PASSPHRASE: u8 = 1;
/// Bytes of a format-2 body before the secret: the public part that the
/// passphrase wrap binds (FORMAT.md §6.4).
pub const V2_PUBLIC_LEN: usize = 20;
/// Bytes of a format-2 body that make up its first typed line.
pub const V2_LINE1_LEN: usize = 10;

/// Which vault (and, in format 2, which generation of it) a share opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareIdentity {
    /// Format 1: the whole vault id, no generation.
    V1(VaultId),
    /// Format 2: the first 5 bytes of the vault id, the generation the
    /// share was issued in, and the first 8 bytes of that generation's
    /// fingerprint.
    V2 {
        /// `vault_id[0..5]`.
        vault_tag: [u8; 5],
        /// The vault's generation when the share was made (1 at init).
        generation: u16,
        /// `fingerprint[0..8]` of that generation.
        fingerprint: [u8; 8],
    },
}

impl ShareIdentity {
    /// The format-2 identity of a share of `vault_id` at `generation`,
    /// whose vault has `fingerprint`. Generations past 65535 are refused by
    /// the caller (a vault never gets there: one rekey a day for 179 years).
    pub fn v2(vault_id: &VaultId, generation: u16, fingerprint: &Fingerprint) -> Self {
        let mut vault_tag = [0; 5];
        vault_tag.copy_from_slice(&vault_id.as_bytes()[..5]);
        let mut fpr = [0; 8];
        fpr.copy_from_slice(&fingerprint.as_bytes()[..8]);
        Self::V2 {
            vault_tag,
            generation,
            fingerprint: fpr,
        }
    }

    /// The body format this identity is written in.
    pub fn format(&self) -> u8 {
        match self {
            Self::V1(_) => SHARE_FORMAT_V1,
            Self::V2 { .. } => SHARE_FORMAT,
        }
    }

    /// True when the share names vault `id` (format 2: by its first 5 bytes).
    pub fn names_vault(&self, id: &VaultId) -> bool {
        match self {
            Self::V1(v) => v == id,
            Self::V2 { vault_tag, .. } => id.as_bytes()[..5] == vault_tag[..],
        }
    }

    /// The vault as named in messages: the first 4 bytes of the id in hex.
    pub fn vault_short(&self) -> String {
        match self {
            Self::V1(v) => v.short(),
            Self::V2 { vault_tag, .. } => crate::hex_upper(&vault_tag[..4]),
        }
    }

    /// The generation a format-2 share was issued in.
    pub fn generation(&self) -> Option<u16> {
        match self {
            Self::V1(_) => None,
            Self::V2 { generation, .. } => Some(*generation),
        }
    }
}

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
    /// The vault (and generation) this share belongs to; its format.
    pub identity: ShareIdentity,
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
            .field("identity", &self.identity)
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
fn whole_check(format: u8, body: &[u8]) -> [u8; 4] {
    let label: &[u8] = if format == SHARE_FORMAT_V1 {
        b"breakglass/v1/share-check"
    } else {
        b"breakglass/v2/share-check"
    };
    let h = sha256(&[label, body]);
    [h[0], h[1], h[2], h[3]]
}

impl ShareBody {
    /// True when a passphrase is needed.
    pub fn is_protected(&self) -> bool {
        matches!(self.protection, Protection::Passphrase(_))
    }

    /// The body format (1 or 2).
    pub fn format(&self) -> u8 {
        self.identity.format()
    }

    /// Builds a plain or passphrase-protected body for `share`, in the
    /// format of `identity` (new shares: [`ShareIdentity::v2`]).
    pub fn seal(
        identity: ShareIdentity,
        threshold: u8,
        custodians: u8,
        share: &KeyShare,
        passphrase: Option<(&SecretString, KdfParams)>,
    ) -> Result<Self, KdfParamsError> {
        let mut body = Self {
            identity,
            index: share.index(),
            threshold,
            custodians,
            protection: Protection::None(Zeroizing::new(*share.y())),
        };
        if let Some((pass, params)) = passphrase {
            let aad = body.wrap_aad(PROTECTION_PASSPHRASE);
            body.protection =
                Protection::Passphrase(WrappedShare::seal(share.y(), pass, params, &aad)?);
        }
        Ok(body)
    }

    /// The associated data the passphrase wrap binds: format 1, the vault
    /// id and index; format 2, the whole public part of the body.
    fn wrap_aad(&self, protection: u8) -> Vec<u8> {
        match &self.identity {
            ShareIdentity::V1(id) => crate::passphrase::wrap_aad_v1(id, self.index),
            ShareIdentity::V2 { .. } => {
                let mut aad = b"breakglass/v2/share-wrap".to_vec();
                aad.extend_from_slice(&self.public_part(protection));
                aad
            }
        }
    }

    /// Format 2: bytes 0..20 of the body (everything before the secret).
    fn public_part(&self, protection: u8) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(self.format()).u8(protection).u8(self.index);
        match &self.identity {
            ShareIdentity::V1(id) => {
                w.bytes(id.as_bytes());
            }
            ShareIdentity::V2 {
                vault_tag,
                generation,
                fingerprint,
            } => {
                w.u16(*generation).bytes(vault_tag).bytes(fingerprint);
            }
        }
        w.u8(self.threshold).u8(self.custodians);
        w.finish()
    }

    fn protection_byte(&self) -> u8 {
        match &self.protection {
            Protection::None(_) => PROTECTION_NONE,
            Protection::Passphrase(_) => PROTECTION_PASSPHRASE,
        }
    }

    /// The key share inside, opening it with `passphrase` if protected.
    pub fn unlock(&self, passphrase: Option<&SecretString>) -> Result<KeyShare, UnlockError> {
        let y = match (&self.protection, passphrase) {
            (Protection::None(y), _) => y.clone(),
            (Protection::Passphrase(_), None) => return Err(UnlockError::PassphraseRequired),
            (Protection::Passphrase(w), Some(p)) => w
                .open(p, &self.wrap_aad(PROTECTION_PASSPHRASE))?
                .ok_or(UnlockError::WrongPassphrase)?,
        };
        Ok(KeyShare::new(self.index, y).expect("decoded index is non-zero"))
    }

    /// The canonical bytes, with the whole-share check appended.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        match &self.identity {
            ShareIdentity::V1(id) => {
                w.u8(SHARE_FORMAT_V1)
                    .u8(self.protection_byte())
                    .bytes(id.as_bytes())
                    .u8(self.index)
                    .u8(self.threshold)
                    .u8(self.custodians);
            }
            ShareIdentity::V2 { .. } => {
                w.bytes(&self.public_part(self.protection_byte()));
            }
        }
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
        let check = whole_check(self.format(), &bytes);
        bytes.extend_from_slice(&check);
        bytes
    }

    /// The encoded length of a body of this format and protection byte.
    pub fn encoded_len_of(format: u8, protection: u8) -> Option<usize> {
        let public = match format {
            SHARE_FORMAT_V1 => 2 + 16 + 3,
            SHARE_FORMAT => V2_PUBLIC_LEN,
            _ => return None,
        };
        let secret = match protection {
            PROTECTION_NONE => 32,
            PROTECTION_PASSPHRASE => 12 + 16 + 12 + 48,
            _ => return None,
        };
        Some(public + secret + 4)
    }

    /// The encoded length of a format-1 body with this protection byte.
    pub fn encoded_len(protection: u8) -> Option<usize> {
        Self::encoded_len_of(SHARE_FORMAT_V1, protection)
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
        let format = body.first().copied().unwrap_or(0);
        // The check first: a typo must not pass for a newer format. A
        // format above 2 is checked with the newest label this build knows.
        if whole_check(format, body) != check {
            return Err(ShareDecodeError::WholeCheck);
        }
        if format > SHARE_FORMAT {
            return Err(ShareDecodeError::NewerFormat(format));
        }
        Self::decode_fields(body).map_err(ShareDecodeError::Malformed)
    }

    fn decode_fields(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let at = r.pos();
        let format = r.u8("share format")?;
        if format != SHARE_FORMAT_V1 && format != SHARE_FORMAT {
            return Err(r.invalid("share format", at, "unknown share format"));
        }
        let at = r.pos();
        let kind = r.u8("protection")?;
        let (identity, at_index, index) = if format == SHARE_FORMAT_V1 {
            let id = VaultId(r.array("vault id")?);
            let at_index = r.pos();
            (ShareIdentity::V1(id), at_index, r.u8("index")?)
        } else {
            let at_index = r.pos();
            let index = r.u8("index")?;
            let generation = r.u16("generation")?;
            let vault_tag = r.array("vault tag")?;
            let fingerprint = r.array("fingerprint")?;
            let identity = ShareIdentity::V2 {
                vault_tag,
                generation,
                fingerprint,
            };
            (identity, at_index, index)
        };
        let threshold = r.u8("threshold")?;
        let custodians = r.u8("custodians")?;
        if index == 0 {
            return Err(r.invalid("index", at_index, "index 0 is not a share"));
        }
        if identity.generation() == Some(0) {
            return Err(r.invalid(
                "generation",
                at_index + 1,
                "generation 0 is not a generation",
            ));
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
            identity,
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
        let plain = ShareBody::seal(ShareIdentity::V1(id), 2, 3, &shares[0], None).unwrap();
        let bytes = plain.encode();
        assert_eq!(bytes.len(), ShareBody::encoded_len(0).unwrap());
        assert_eq!(ShareBody::decode(&bytes).unwrap(), plain);
        assert_eq!(plain.unlock(None).unwrap().y(), shares[0].y());

        let prot = ShareBody::seal(
            ShareIdentity::V1(id),
            2,
            3,
            &shares[1],
            Some((&pass(), KdfParams::FLOOR)),
        )
        .unwrap();
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
        let body =
            ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 2, &shares[0], None).unwrap();
        let text = format!("{body:?}");
        assert!(!text.contains(&format!("{:?}", shares[0].y())));
        assert!(text.contains("protected: false"));
    }

    #[test]
    fn newer_format_is_named() {
        let shares = split(&MasterKey::generate(), 2, 2).unwrap();
        let mut bytes =
            ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 2, &shares[0], None)
                .unwrap()
                .encode()
                .to_vec();
        bytes[0] = 3;
        // A newer format is only believed when the whole check holds.
        assert_eq!(
            ShareBody::decode(&bytes).unwrap_err(),
            ShareDecodeError::WholeCheck
        );
        let n = bytes.len();
        let check = whole_check(3, &bytes[..n - 4]);
        bytes[n - 4..].copy_from_slice(&check);
        assert_eq!(
            ShareBody::decode(&bytes).unwrap_err(),
            ShareDecodeError::NewerFormat(3)
        );
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_caught(byte in 0usize..57, bit in 0u8..8) {
            let shares = split(&MasterKey::generate(), 2, 2).unwrap();
            let mut bytes = ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 2, &shares[0], None).unwrap().encode().to_vec();
            bytes[byte] ^= 1 << bit;
            prop_assert!(ShareBody::decode(&bytes).is_err());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..140)) {
            let _ = ShareBody::decode(&bytes);
        }
    }
}
