//! The escrow key pair and deposits (docs/FORMAT.md §5.3, §7.2).
//!
//! Deposits are HPKE (RFC 9180) base mode with the suite
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, to the vault's
//! escrow public key. Anyone holding the vault file can seal; only the
//! escrow private key — itself sealed under the master key — can open.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::keys::{aead_open, aead_seal, os_rng, random_bytes, MasterKey};
use crate::VaultId;

type EscrowKem = X25519HkdfSha256;

/// HPKE `info` for deposits: a label and the vault id.
fn hpke_info(vault_id: &VaultId) -> Vec<u8> {
    let mut info = b"breakglass/v1/escrow".to_vec();
    info.extend_from_slice(vault_id.as_bytes());
    info
}

/// The escrow private key sealed under a key derived from the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEscrowKey {
    /// AES-GCM nonce.
    pub nonce: [u8; 12],
    /// AES-256-GCM of the 32-byte X25519 private key, with tag.
    pub ciphertext: [u8; 48],
}

fn escrow_aad(vault_id: &VaultId, public: &[u8; 32]) -> Vec<u8> {
    let mut aad = b"breakglass/v1/escrow-key".to_vec();
    aad.extend_from_slice(vault_id.as_bytes());
    aad.extend_from_slice(public);
    aad
}

/// A fresh escrow key pair: the public key, and the private key sealed
/// under `mk`.
pub fn generate(mk: &MasterKey, vault_id: &VaultId) -> ([u8; 32], SealedEscrowKey) {
    let (sk, pk) = EscrowKem::gen_keypair_with_rng(&mut os_rng());
    let public: [u8; 32] = pk.to_bytes().into();
    let secret = Zeroizing::new(<[u8; 32]>::from(sk.to_bytes()));
    let mut nonce = [0u8; 12];
    random_bytes(&mut nonce);
    let ct = aead_seal(
        &mk.escrow_wrap_key(vault_id),
        &nonce,
        secret.as_ref(),
        &escrow_aad(vault_id, &public),
    );
    let ciphertext = ct.as_slice().try_into().expect("32 + 16 bytes");
    (public, SealedEscrowKey { nonce, ciphertext })
}

/// The escrow private key, opened by a quorum. Zeroized on drop.
pub struct EscrowSecret(<EscrowKem as Kem>::PrivateKey);

impl std::fmt::Debug for EscrowSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EscrowSecret([REDACTED])")
    }
}

impl SealedEscrowKey {
    /// Opens the private key; `None` if `mk` is not this vault's key or the
    /// sealed key was altered, or the key does not match `public`.
    pub fn open(
        &self,
        mk: &MasterKey,
        vault_id: &VaultId,
        public: &[u8; 32],
    ) -> Option<EscrowSecret> {
        let bytes = aead_open(
            &mk.escrow_wrap_key(vault_id),
            &self.nonce,
            &self.ciphertext,
            &escrow_aad(vault_id, public),
        )?;
        let sk = <EscrowKem as Kem>::PrivateKey::from_bytes(&bytes).ok()?;
        Some(EscrowSecret(sk))
    }
}

/// Failure to seal: the stored public key is not a valid X25519 point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the vault's escrow public key is invalid")]
pub struct BadPublicKey;

/// Seals `plaintext` to the escrow public key with `aad` bound.
/// Returns (encapsulated key, ciphertext).
pub fn seal(
    public: &[u8; 32],
    vault_id: &VaultId,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<([u8; 32], Vec<u8>), BadPublicKey> {
    let pk = <EscrowKem as Kem>::PublicKey::from_bytes(public).map_err(|_| BadPublicKey)?;
    let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, EscrowKem>(
        &OpModeS::Base,
        &pk,
        &hpke_info(vault_id),
        plaintext,
        aad,
        &mut os_rng(),
    )
    .map_err(|_| BadPublicKey)?;
    Ok((enc.to_bytes().into(), ct))
}

impl EscrowSecret {
    /// Opens a deposit; `None` on any failure (no oracle).
    pub fn open(
        &self,
        vault_id: &VaultId,
        enc: &[u8; 32],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let enc = <EscrowKem as Kem>::EncappedKey::from_bytes(enc).ok()?;
        hpke::single_shot_open::<AesGcm256, HkdfSha256, EscrowKem>(
            &OpModeR::Base,
            &self.0,
            &enc,
            &hpke_info(vault_id),
            ciphertext,
            aad,
        )
        .ok()
        .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// AES-128-GCM, base mode), sequence number 0. It pins the KEM and KDF
    /// we wire; AES-256-GCM itself has its own known answer in `keys`.
    #[test]
    fn rfc9180_a11_opens() {
        let sk = <EscrowKem as Kem>::PrivateKey::from_bytes(&h(
            "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        ))
        .unwrap();
        let enc = <EscrowKem as Kem>::EncappedKey::from_bytes(&h(
            "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
        ))
        .unwrap();
        let info = h("4f6465206f6e2061204772656369616e2055726e");
        let aad = h("436f756e742d30");
        let ct = h("f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a");
        let pt = hpke::single_shot_open::<hpke::aead::AesGcm128, HkdfSha256, EscrowKem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &info,
            &ct,
            &aad,
        )
        .unwrap();
        assert_eq!(pt, b"Beauty is truth, truth beauty");
        let mut bad = ct.clone();
        bad[0] ^= 1;
        assert!(
            hpke::single_shot_open::<hpke::aead::AesGcm128, HkdfSha256, EscrowKem>(
                &OpModeR::Base,
                &sk,
                &enc,
                &info,
                &bad,
                &aad
            )
            .is_err()
        );
        let pk = <EscrowKem as Kem>::sk_to_pk(&sk);
        assert_eq!(
            hex::encode(pk.to_bytes()),
            "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
        );
    }

    #[test]
    fn seal_open_roundtrip_binds_aad_and_vault() {
        let mk = MasterKey::generate();
        let id = VaultId([1; 16]);
        let (public, sealed) = generate(&mk, &id);
        let secret = sealed.open(&mk, &id, &public).unwrap();
        let (enc, ct) = seal(&public, &id, b"hunter2", b"label=a").unwrap();
        assert_eq!(
            secret.open(&id, &enc, &ct, b"label=a").unwrap().as_slice(),
            b"hunter2"
        );
        assert!(secret.open(&id, &enc, &ct, b"label=b").is_none());
        assert!(secret
            .open(&VaultId([2; 16]), &enc, &ct, b"label=a")
            .is_none());
        let mut bad = ct.clone();
        bad[3] ^= 0x80;
        assert!(secret.open(&id, &enc, &bad, b"label=a").is_none());
    }

    #[test]
    fn escrow_key_opens_only_under_its_master_key() {
        let mk = MasterKey::generate();
        let id = VaultId([1; 16]);
        let (public, sealed) = generate(&mk, &id);
        assert!(sealed.open(&MasterKey::generate(), &id, &public).is_none());
        let mut other_public = public;
        other_public[0] ^= 1;
        assert!(sealed.open(&mk, &id, &other_public).is_none());
    }
}
