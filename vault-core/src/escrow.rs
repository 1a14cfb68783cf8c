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

/// Context label of the per-deposit key exported from a batch (format v2
/// §17.2).
const LABEL_DEPOSIT_KEY: &[u8] = b"breakglass/v2/deposit-key";

/// The exporter context of one deposit: a label and its whole AAD. The
/// AAD holds a fresh random deposit id, so no two deposits of a batch share
/// a key, and the fixed zero nonce is never reused under one key. (The AAD
/// itself, not a hash of it: HKDF takes a context of any length, and one
/// hash less per deposit is measurable at a million rows.)
fn deposit_key_context(aad: &[u8]) -> Vec<u8> {
    [LABEL_DEPOSIT_KEY, aad].concat()
}

const ZERO_NONCE: [u8; 12] = [0; 12];

/// Seals many deposits under one HPKE encapsulation (format v2 §17.2):
/// each deposit's key is exported from the one context (RFC 9180 §5.3)
/// with the deposit's AAD in the exporter context, and the deposit is
/// AES-256-GCM under that key. One X25519 encapsulation for a whole
/// import instead of one per row; each deposit still opens alone.
pub struct Batch {
    ctx: hpke::aead::AeadCtxS<AesGcm256, HkdfSha256, EscrowKem>,
    enc: [u8; 32],
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batch([REDACTED])")
    }
}

impl Batch {
    /// A fresh encapsulation to `public`, with HPKE `info`.
    pub fn new(public: &[u8; 32], info: &[u8]) -> Result<Self, BadPublicKey> {
        let pk = <EscrowKem as Kem>::PublicKey::from_bytes(public).map_err(|_| BadPublicKey)?;
        let (enc, ctx) = hpke::setup_sender_with_rng::<AesGcm256, HkdfSha256, EscrowKem>(
            &OpModeS::Base,
            &pk,
            info,
            &mut os_rng(),
        )
        .map_err(|_| BadPublicKey)?;
        Ok(Self {
            ctx,
            enc: enc.to_bytes().into(),
        })
    }

    /// The encapsulated key every deposit of this batch carries.
    pub fn enc(&self) -> [u8; 32] {
        self.enc
    }

    /// Seals one deposit. `aad` MUST hold a deposit id never used before.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.ctx
            .export(&deposit_key_context(aad), key.as_mut())
            .expect("32 bytes is a valid HPKE export length");
        aead_seal(&key, &ZERO_NONCE, plaintext, aad)
    }
}

/// The receiving side of one encapsulation: opens every deposit that
/// carries the same `enc` with one decapsulation.
pub struct BatchOpener(hpke::aead::AeadCtxR<AesGcm256, HkdfSha256, EscrowKem>);

impl std::fmt::Debug for BatchOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchOpener([REDACTED])")
    }
}

impl BatchOpener {
    /// Opens one deposit; `None` on any failure (no oracle).
    pub fn open(&self, aad: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.0
            .export(&deposit_key_context(aad), key.as_mut())
            .ok()?;
        aead_open(&key, &ZERO_NONCE, ciphertext, aad)
    }
}

impl EscrowSecret {
    /// Decapsulates `enc` once; the result opens every deposit of that
    /// batch. `None` when `enc` is not a valid encapsulation.
    pub fn batch_opener(&self, enc: &[u8; 32], info: &[u8]) -> Option<BatchOpener> {
        let enc = <EscrowKem as Kem>::EncappedKey::from_bytes(enc).ok()?;
        hpke::setup_receiver::<AesGcm256, HkdfSha256, EscrowKem>(
            &OpModeR::Base,
            &self.0,
            &enc,
            info,
        )
        .ok()
        .map(BatchOpener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 9180 A.1.1's receiver key, encapsulated key and info.
    fn a11_receiver() -> (
        <EscrowKem as Kem>::PrivateKey,
        <EscrowKem as Kem>::EncappedKey,
        Vec<u8>,
    ) {
        let sk = <EscrowKem as Kem>::PrivateKey::from_bytes(&h(
            "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        ))
        .unwrap();
        let enc = <EscrowKem as Kem>::EncappedKey::from_bytes(&h(
            "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
        ))
        .unwrap();
        let info = h("4f6465206f6e2061204772656369616e2055726e");
        (sk, enc, info)
    }

    /// RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// AES-128-GCM, base mode), sequence number 0. It pins the KEM and KDF
    /// we wire; AES-256-GCM itself has its own known answer in `keys`.
    #[test]
    fn rfc9180_a11_opens() {
        let (sk, enc, info) = a11_receiver();
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

    /// RFC 9180 A.1.1.2, exported values: pins the exporter the batches
    /// use (the suite differs only in the AEAD, which the exporter's key
    /// schedule names but does not run).
    #[test]
    fn rfc9180_a11_exports() {
        let (sk, enc, info) = a11_receiver();
        let ctx = hpke::setup_receiver::<hpke::aead::AesGcm128, HkdfSha256, EscrowKem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &info,
        )
        .unwrap();
        for (context, expected) in [
            (
                &b""[..],
                "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee",
            ),
            (
                &[0u8][..],
                "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5",
            ),
            (
                &b"TestContext"[..],
                "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931",
            ),
        ] {
            let mut out = [0u8; 32];
            ctx.export(context, &mut out).unwrap();
            assert_eq!(hex::encode(out), expected);
        }
    }

    #[test]
    fn a_batch_seals_many_deposits_each_opening_alone() {
        let mk = MasterKey::generate();
        let id = VaultId([1; 16]);
        let (public, sealed) = generate(&mk, &id);
        let secret = sealed.open(&mk, &id, &public).unwrap();
        let batch = Batch::new(&public, b"info").unwrap();
        let a = batch.seal(b"deposit-id-a", b"secret a");
        let b = batch.seal(b"deposit-id-b", b"secret b");
        // Same plaintext, other AAD: another key, so another ciphertext.
        assert_ne!(batch.seal(b"x", b"same"), batch.seal(b"y", b"same"));
        let opener = secret.batch_opener(&batch.enc(), b"info").unwrap();
        assert_eq!(
            opener.open(b"deposit-id-a", &a).unwrap().as_slice(),
            b"secret a"
        );
        assert_eq!(
            opener.open(b"deposit-id-b", &b).unwrap().as_slice(),
            b"secret b"
        );
        // Moved to another deposit's metadata, another info, or altered: refused.
        assert!(opener.open(b"deposit-id-b", &a).is_none());
        assert!(secret
            .batch_opener(&batch.enc(), b"other info")
            .unwrap()
            .open(b"deposit-id-a", &a)
            .is_none());
        for i in 0..a.len() {
            let mut bad = a.clone();
            bad[i] ^= 1;
            assert!(opener.open(b"deposit-id-a", &bad).is_none(), "byte {i}");
        }
        // Another batch's encapsulation opens nothing of this one.
        let other = Batch::new(&public, b"info").unwrap();
        assert_ne!(other.enc(), batch.enc());
        let other_opener = secret.batch_opener(&other.enc(), b"info").unwrap();
        assert!(other_opener.open(b"deposit-id-a", &a).is_none());
    }
}
