//! Custody by key (issue 12): shares sealed at birth to each custodian's
//! age recipient (an `age1…` X25519 key, an `ssh-ed25519`/`ssh-rsa`
//! public key, or a hardware token's `age1NAME1…` through an age plugin),
//! opened again with `--identity`. The age format and its
//! cryptography are the `age` crate's (rage); this module only chooses
//! recipients, bounds inputs and words messages. Share text stays
//! vault-core's: what is sealed here is exactly the text `init` would
//! otherwise have written.

pub mod callbacks;
pub mod deadline;
pub mod open;
pub mod plugin;
pub mod recipient;
pub mod transcript;

pub use recipient::{parse_custodians, Custody};

/// The largest age-encrypted share file read (an armored share is about
/// 1.5 KiB; see docs/HARDENING.md).
pub const MAX_AGE_FILE: usize = 64 * 1024;

/// The largest identity file read (an age identity is 74 bytes, an
/// OpenSSH ed25519 key about 400, an RSA-4096 key about 3.4 KiB).
pub const MAX_IDENTITY_FILE: usize = 64 * 1024;

/// The largest `--custodians` file read.
pub const MAX_CUSTODIANS_FILE: usize = 256 * 1024;

/// Extension of a share file sealed to its custodian: `DIR/<name>.share.age`.
pub const AGE_EXTENSION: &str = "share.age";

/// True when `bytes` look like an age file (binary or armored).
pub fn is_age(bytes: &[u8]) -> bool {
    let start = trim_ascii_start(bytes);
    start.starts_with(b"age-encryption.org/")
        || start.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}
