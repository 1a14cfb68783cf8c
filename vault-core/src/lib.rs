//! # vault-core
//!
//! The library behind `breakglass`: a break-glass credential vault whose
//! master key is Shamir-split among custodians, and into which anyone may
//! deposit a secret (HPKE to the vault's escrow key) while only a quorum
//! can read. No terminal, no printing: the CLI does that.
//!
//! Modules follow the key hierarchy and the file layout of
//! `docs/FORMAT.md`:
//! - [`keys`]: master key, HKDF-derived keys, AES-GCM helper, OS randomness
//! - [`shamir`]: k-of-n split/combine (blahaj) and share commitments
//! - [`passphrase`]: Argon2id → AES-256-GCM protection of a share
//! - [`escrow`]: the X25519 escrow key pair and HPKE deposits
//! - [`share`], [`share_text`]: a share's bytes and its printable text
//! - [`backup`]: the whole vault as numbered paper parts, and back
//! - [`codec`], [`record`], [`log`]: canonical bytes, record bodies, framing
//! - [`text_rules`]: text people compare (no invisible or reordering
//!   characters, NFC), and look-alike names
//! - [`entry`]: entry kinds and the sealed username/secret
//! - [`recovery_key`], [`generate`]: recovery-key formats, generated secrets
//! - [`readiness`]: the status report (drills, rotations, exposure)
//! - [`import`]: CSV exports (FileVault, BitLocker, LAPS, generic) as deposits
//! - [`rekey`]: new keys and custodians, every entry re-encrypted
//! - [`remote`]: unseal requests and custodians' sealed contributions
//! - [`vault`]: state replayed from the records (`vault::replay`), init,
//!   the rules names follow, deposits, the quorum (`vault::Quorum`), what an
//!   unsealed vault can do, and which entries an operation is about
//! - [`fingerprint`], [`receipt`]: what people compare and depositors pin;
//!   the line that detects a dropped record or a rolled-back file
//! - [`error`]: typed input errors (no command-line flag in any message)
//! - `fs` (default feature): [`store`], the file on disk (locks, fsync,
//!   torn tails, atomic writes), and [`scope`], reading only the records an
//!   operation needs through the lookup [`index`] beside the vault. Without
//!   it the core is bytes in, records out, and compiles for
//!   `wasm32-unknown-unknown`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod entry;
pub mod error;
pub mod escrow;
pub mod fingerprint;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "fs")]
pub use fs::{scope, store};
pub mod generate;
pub mod import;
pub mod index;
pub mod keys;
pub mod log;
pub mod passphrase;
pub mod readiness;
pub mod receipt;
pub mod recipient;
pub mod record;
pub mod recovery_key;
pub mod rekey;
pub mod remote;
#[cfg(feature = "scan")]
pub mod scan;
pub mod shamir;
pub mod share;
pub mod sign;
pub mod text;
pub mod text_rules;
pub mod token;
pub use text::{backup, share_text};
pub mod vault;

// The main types, at the crate root.
pub use entry::{EntryKind, EntrySecret};
pub use error::InputError;
pub use fingerprint::Fingerprint;
pub use receipt::Receipt;
pub use record::Record;
pub use vault::{Entry, InitSpec, Opened, Quorum, Revealed, ShareProblem, Unsealed, Vault};

/// A vault's random 16-byte identifier (public).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultId(pub [u8; 16]);

impl VaultId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
    /// Short id for messages: the first four bytes in upper-case hex.
    pub fn short(&self) -> String {
        hex_upper(&self.0[..4])
    }
    /// Full id in groups of four hex digits, for printing on paper.
    pub fn fingerprint(&self) -> String {
        let hex = hex_upper(&self.0);
        hex.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }
    /// Lower-case hex, for JSON.
    pub fn hex(&self) -> String {
        hex_upper(&self.0).to_lowercase()
    }
}

impl std::fmt::Debug for VaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultId({})", self.hex())
    }
}

/// Upper-case hex of `bytes`.
pub fn hex_upper(bytes: &[u8]) -> String {
    hex_with(bytes, b"0123456789ABCDEF")
}

/// Lower-case hex of `bytes`.
pub fn hex_lower(bytes: &[u8]) -> String {
    hex_with(bytes, b"0123456789abcdef")
}

/// One allocation, no formatting machinery: import writes a digest per row.
fn hex_with(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digits[usize::from(b >> 4)] as char);
        out.push(digits[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_every_nibble() {
        let all: Vec<u8> = (0..=255).collect();
        let upper = hex_upper(&all);
        assert_eq!(&upper[..6], "000102");
        assert_eq!(&upper[upper.len() - 4..], "FEFF");
        assert_eq!(hex_lower(&[0x0A, 0xBC, 0xDE, 0xF0]), "0abcdef0");
        let expected: String = all.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(upper, expected);
    }

    #[test]
    fn id_formats() {
        let id = VaultId([0xAB; 16]);
        assert_eq!(id.short(), "ABABABAB");
        assert_eq!(id.fingerprint().len(), 32 + 7);
        assert!(id.fingerprint().starts_with("ABAB-ABAB-"));
        assert_eq!(id.hex(), "ab".repeat(16));
    }
}
