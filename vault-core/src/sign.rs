//! Ed25519 signing keys for format version 2 (docs/design/format-v2.md
//! §14 and §16), derived rather than stored.
//!
//! The quorum key is derived from the master key and the generation, so
//! only a quorum can make it; a custodian's key is derived from that
//! custodian's share value `y`, so only that custodian can. Nothing sealed
//! is kept in the file for either: there is no blob to swap and nothing to
//! drift out of step with the master key. Verification is strict (RFC 8032
//! with canonical `S` and no small-order points, `verify_strict`), and a
//! public key of small order is refused outright.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::MasterKey;
use crate::VaultId;

/// HKDF label of the quorum signing seed.
const LABEL_QUORUM: &[u8] = b"breakglass/v2/quorum-sign";
/// HKDF label of a custodian's signing seed.
const LABEL_CUSTODIAN: &[u8] = b"breakglass/v2/custodian-sign";

/// Signature label of records a quorum signs.
pub const RECORD_SIG: &[u8] = b"breakglass/v2/record-sig";
/// Signature label of records one custodian signs (share checks).
pub const CUSTODIAN_SIG: &[u8] = b"breakglass/v2/custodian-sig";
/// Signature label of the old generation's handover to the new one.
pub const HANDOVER_SIG: &[u8] = b"breakglass/v2/handover";

/// An Ed25519 signature, 64 bytes.
pub type SignatureBytes = [u8; 64];

/// A private signing key: the quorum's or one custodian's. Zeroized on
/// drop (ed25519-dalek's `zeroize` feature); `Debug` never shows it.
pub struct SecretSigningKey(SigningKey);

impl SecretSigningKey {
    fn from_seed(seed: &Zeroizing<[u8; 32]>) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The public half, as stored in genesis.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs the concatenation of `parts` (label first, by convention).
    pub fn sign(&self, parts: &[&[u8]]) -> SignatureBytes {
        self.0.sign(&parts.concat()).to_bytes()
    }
}

impl std::fmt::Debug for SecretSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretSigningKey([REDACTED], public {:?})",
            self.public()
        )
    }
}

/// A public verification key as stored in a genesis record.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// Why a public key is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The 32 bytes are not a point on the curve.
    #[error("not an Ed25519 public key")]
    NotAPoint,
    /// A small-order point: anything would verify under it.
    #[error("a weak (small-order) Ed25519 public key")]
    Weak,
}

impl PublicKey {
    /// Decodes and checks the key: a point on the curve, not of small
    /// order. A genesis whose key fails this is damage.
    pub fn check(&self) -> Result<(), KeyError> {
        self.decode().map(|_| ())
    }

    fn decode(&self) -> Result<VerifyingKey, KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::NotAPoint)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(key)
    }

    /// True when `sig` is a strictly valid signature by this key over the
    /// concatenation of `parts`. A weak or undecodable key verifies nothing.
    pub fn verify(&self, parts: &[&[u8]], sig: &SignatureBytes) -> bool {
        let Ok(key) = self.decode() else {
            return false;
        };
        key.verify_strict(&parts.concat(), &Signature::from_bytes(sig))
            .is_ok()
    }
}

fn seed(salt: &VaultId, ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(salt.as_bytes()), ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The quorum signing key of generation `generation`:
/// `HKDF-SHA256(salt = vault_id, ikm = MK, info = "breakglass/v2/quorum-sign" ‖ u16 generation)`.
pub fn quorum_key(master: &MasterKey, vault_id: &VaultId, generation: u16) -> SecretSigningKey {
    let info: [&[u8]; 2] = [LABEL_QUORUM, &generation.to_be_bytes()];
    SecretSigningKey::from_seed(&seed(vault_id, master.expose(), &info))
}

/// Custodian `index`'s signing key from their share value `y`:
/// `HKDF-SHA256(salt = vault_id, ikm = y, info = "breakglass/v2/custodian-sign" ‖ u16 generation ‖ u8 index)`.
pub fn custodian_key(
    y: &[u8; 32],
    vault_id: &VaultId,
    generation: u16,
    index: u8,
) -> SecretSigningKey {
    let info: [&[u8]; 3] = [LABEL_CUSTODIAN, &generation.to_be_bytes(), &[index]];
    SecretSigningKey::from_seed(&seed(vault_id, y, &info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    /// RFC 8032 §7.1, tests 1 and 2: pins the crate's Ed25519 to the
    /// standard (seed → public key → signature).
    #[test]
    fn rfc8032_known_answers() {
        let cases = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                &[][..],
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                 5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                &[0x72][..],
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                 085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
        ];
        for (secret, public, msg, sig) in cases {
            let key = SecretSigningKey::from_seed(&Zeroizing::new(hex::<32>(secret)));
            assert_eq!(key.public(), PublicKey(hex::<32>(public)));
            let signed = key.sign(&[msg]);
            assert_eq!(signed, hex::<64>(sig));
            assert!(key.public().verify(&[msg], &signed));
        }
    }

    #[test]
    fn derived_keys_depend_on_every_input() {
        let mk = MasterKey::from_slice(&[7; 32]).unwrap();
        let id = VaultId([1; 16]);
        let base = quorum_key(&mk, &id, 1).public();
        assert_eq!(base, quorum_key(&mk, &id, 1).public(), "deterministic");
        assert_ne!(base, quorum_key(&mk, &id, 2).public(), "generation");
        assert_ne!(
            base,
            quorum_key(&mk, &VaultId([2; 16]), 1).public(),
            "vault id"
        );
        let other = MasterKey::from_slice(&[8; 32]).unwrap();
        assert_ne!(base, quorum_key(&other, &id, 1).public(), "master key");
        let c = custodian_key(&[7; 32], &id, 1, 1).public();
        assert_ne!(
            c, base,
            "custodian and quorum keys differ for the same bytes"
        );
        assert_ne!(c, custodian_key(&[7; 32], &id, 1, 2).public(), "index");
        assert_ne!(c, custodian_key(&[7; 32], &id, 2, 1).public(), "generation");
        assert_ne!(
            c,
            custodian_key(&[9; 32], &id, 1, 1).public(),
            "share value"
        );
    }

    #[test]
    fn a_signature_covers_every_byte_and_only_its_key() {
        let mk = MasterKey::from_slice(&[7; 32]).unwrap();
        let id = VaultId([1; 16]);
        let key = quorum_key(&mk, &id, 1);
        let parts: [&[u8]; 3] = [RECORD_SIG, &[0x13], b"body"];
        let sig = key.sign(&parts);
        assert!(key.public().verify(&parts, &sig));
        let message = parts.concat();
        for i in 0..message.len() {
            let mut changed = message.clone();
            changed[i] ^= 1;
            assert!(!key.public().verify(&[&changed], &sig), "byte {i}");
        }
        for i in 0..64 {
            let mut bad = sig;
            bad[i] ^= 0x80;
            assert!(!key.public().verify(&parts, &bad), "signature byte {i}");
        }
        let other = quorum_key(&mk, &id, 2);
        assert!(
            !other.public().verify(&parts, &sig),
            "another generation's key"
        );
    }

    #[test]
    fn weak_and_invalid_public_keys_verify_nothing() {
        // The identity point (small order) and a y-coordinate off the curve.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey(identity).check(), Err(KeyError::Weak));
        assert!(!PublicKey(identity).verify(&[b"x"], &[0; 64]));
        // y = 2: (y² − 1)/(d·y² + 1) is not a square mod p, so no x exists.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(PublicKey(off_curve).check(), Err(KeyError::NotAPoint));
        assert!(!PublicKey(off_curve).verify(&[b"x"], &[0; 64]));
    }

    #[test]
    fn debug_never_shows_the_secret_key() {
        let key = custodian_key(&[3; 32], &VaultId([1; 16]), 1, 1);
        let shown = format!("{key:?}");
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("0303"));
    }
}
