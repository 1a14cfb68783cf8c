//! The master key and the keys derived from it (docs/FORMAT.md §5).
//!
//! Every derived key is HKDF-SHA256 (RFC 5869) over the master key, with
//! the vault id as salt and a distinct label as info, so no two purposes
//! ever share a key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::VaultId;

/// HKDF label for the key that wraps the escrow private key.
const LABEL_ESCROW_WRAP: &[u8] = b"breakglass/v1/escrow-wrap";
/// HKDF label for the key-check value stored in the vault.
const LABEL_KEY_CHECK: &[u8] = b"breakglass/v1/key-check";
/// HKDF label for the key that MACs quorum records.
const LABEL_RECORD_MAC: &[u8] = b"breakglass/v1/record-mac";

/// Fills `buf` from the operating system's CSPRNG; the only source of
/// randomness in breakglass.
pub fn random_bytes(buf: &mut [u8]) {
    // A machine whose kernel cannot give random bytes cannot make a vault;
    // there is nothing safe to fall back to.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// `N` bytes from the operating system's CSPRNG (for values that are not
/// secret: ids).
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    random_bytes(&mut out);
    out
}

/// Two SipHash states keyed by no one outside this process: each a fresh
/// std key with 16 bytes from the OS written first (std's keys for two
/// hashers made one after the other are related). A 128-bit keyed hash,
/// lane by lane, for values an attacker must not be able to collide
/// (the index check's rows, an import's identities).
pub fn salted_lanes() -> [std::collections::hash_map::DefaultHasher; 2] {
    use std::hash::{BuildHasher, Hasher};
    let lane = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write(&random_array::<16>());
        h
    };
    [lane(), lane()]
}

/// The operating system's CSPRNG as a `rand_core` generator, for crates
/// that take one (blahaj, hpke).
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The 32-byte master key. Never written, never printed; zeroized on drop.
/// Boxed, so moving a `MasterKey` copies a pointer, not the key (a moved
/// array leaves its old stack slot as it was).
pub struct MasterKey(Box<Zeroizing<[u8; 32]>>);

impl MasterKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut key = Box::new(Zeroizing::new([0u8; 32]));
        random_bytes(&mut key[..]);
        Self(key)
    }

    /// Wraps recovered key bytes; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        // Copied straight into its heap slot: a `[u8; 32]` made on the
        // stack and moved in would leave a copy of the key behind (issue 15).
        if bytes.len() != 32 {
            return None;
        }
        let mut key = Box::new(Zeroizing::new([0u8; 32]));
        key.copy_from_slice(bytes);
        Some(Self(key))
    }

    /// The raw key, for splitting into shares.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn derive(&self, vault_id: &VaultId, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(vault_id.as_bytes()), &self.0[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(label, out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// The key-check value stored in the vault (public).
    pub fn key_check(&self, vault_id: &VaultId) -> [u8; 32] {
        *self.derive(vault_id, LABEL_KEY_CHECK)
    }

    /// True when this key produces `stored` as its key-check (constant time).
    pub fn matches_key_check(&self, vault_id: &VaultId, stored: &[u8; 32]) -> bool {
        self.derive(vault_id, LABEL_KEY_CHECK).ct_eq(stored).into()
    }

    /// The AES-256-GCM key that wraps the escrow private key.
    pub fn escrow_wrap_key(&self, vault_id: &VaultId) -> Zeroizing<[u8; 32]> {
        self.derive(vault_id, LABEL_ESCROW_WRAP)
    }

    /// The HMAC-SHA256 key for quorum records.
    pub fn record_mac_key(&self, vault_id: &VaultId) -> RecordMacKey {
        RecordMacKey(self.derive(vault_id, LABEL_RECORD_MAC))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// Key for the MAC carried by records a quorum writes.
pub struct RecordMacKey(Zeroizing<[u8; 32]>);

impl RecordMacKey {
    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(self.0.as_ref()).expect("HMAC takes any key");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of a MAC over `parts`.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8; 32]) -> bool {
        self.mac(parts).ct_eq(tag).into()
    }
}

/// AES-256-GCM with an explicit 12-byte nonce. Returns ciphertext || tag.
pub fn aead_seal(key: &[u8; 32], nonce: &[u8; 12], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
    cipher
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of a short message cannot fail")
}

/// Opens `ciphertext || tag`; `None` on any authentication failure.
pub fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
    cipher
        .decrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> VaultId {
        VaultId([7; 16])
    }

    #[test]
    fn derived_keys_are_distinct_and_deterministic() {
        let mk = MasterKey::from_slice(&[1; 32]).unwrap();
        let a = mk.key_check(&id());
        let b = *mk.escrow_wrap_key(&id());
        assert_ne!(a, b);
        assert_eq!(a, mk.key_check(&id()));
        assert_ne!(a, mk.key_check(&VaultId([8; 16])));
        assert!(mk.matches_key_check(&id(), &a));
        let other = MasterKey::from_slice(&[2; 32]).unwrap();
        assert!(!other.matches_key_check(&id(), &a));
    }

    /// HKDF-SHA256 known answer: RFC 5869 Appendix A.1 (test case 1).
    #[test]
    fn hkdf_rfc5869_case1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut okm)
            .unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// AES-256-GCM known answer: NIST GCM spec (McGrew & Viega) test case 14:
    /// zero key, zero IV, one zero block.
    #[test]
    fn aes256gcm_known_answer_and_flip() {
        let key = [0u8; 32];
        let nonce = [0u8; 12];
        let ct = aead_seal(&key, &nonce, &[0u8; 16], b"");
        assert_eq!(
            hex::encode(&ct),
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
        );
        assert_eq!(
            aead_open(&key, &nonce, &ct, b"").unwrap().as_slice(),
            &[0u8; 16]
        );
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 1;
            assert!(aead_open(&key, &nonce, &bad, b"").is_none(), "flip at {i}");
        }
        assert!(aead_open(&key, &nonce, &ct, b"other aad").is_none());
    }

    #[test]
    fn mac_binds_every_part() {
        let mk = MasterKey::from_slice(&[3; 32]).unwrap();
        let k = mk.record_mac_key(&id());
        let tag = k.mac(&[b"ab", b"c"]);
        assert!(k.verify(&[b"ab", b"c"], &tag));
        assert!(!k.verify(&[b"ab", b"d"], &tag));
    }

    #[test]
    fn debug_is_redacted() {
        let mk = MasterKey::from_slice(&[0x41; 32]).unwrap();
        assert_eq!(format!("{mk:?}"), "MasterKey([REDACTED])");
    }
}
