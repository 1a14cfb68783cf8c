//! Entries: what a deposit holds (docs/FORMAT.md §7.2).
//!
//! An entry has a public label and kind, and versions; each version's
//! username and secret are sealed to the escrow key.

use zeroize::Zeroizing;

use crate::codec::{DecodeError, Reader, Writer};

/// Largest secret one deposit may hold.
pub const MAX_SECRET: usize = 64 * 1024;
/// Largest username, in bytes.
pub const MAX_USERNAME: usize = 256;

/// What an entry holds; public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// An account password.
    Password,
    /// A recovery key (FileVault PRK, BitLocker recovery password, …).
    RecoveryKey,
    /// Free-form text.
    Note,
    /// A small binary attachment (an escrow private key, a certificate).
    File,
}

impl EntryKind {
    /// The byte written in the file.
    pub fn code(self) -> u8 {
        match self {
            Self::Password => 1,
            Self::RecoveryKey => 2,
            Self::Note => 3,
            Self::File => 4,
        }
    }
    /// The kind for a byte from the file.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Password),
            2 => Some(Self::RecoveryKey),
            3 => Some(Self::Note),
            4 => Some(Self::File),
            _ => None,
        }
    }
    /// True for kinds whose secret is text (UTF-8).
    pub fn is_text(self) -> bool {
        !matches!(self, Self::File)
    }

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RecoveryKey => "recovery-key",
            Self::Note => "note",
            Self::File => "file",
        }
    }
    /// Parses a name as used on the command line.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Password, Self::RecoveryKey, Self::Note, Self::File]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// The sealed part of an entry version: username and secret. Zeroized on
/// drop; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct EntrySecret {
    /// Account name (may be empty). Secret: it is half of a credential.
    pub username: Zeroizing<String>,
    /// The secret itself.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EntrySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntrySecret([REDACTED])")
    }
}

impl EntrySecret {
    /// The plaintext sealed by HPKE: `str` username, `blob` secret.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.str(&self.username).blob(&self.secret);
        Zeroizing::new(w.finish())
    }

    /// Decodes an opened plaintext.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let at = r.pos();
        let username = Zeroizing::new(r.str("username")?.to_owned());
        if username.len() > MAX_USERNAME {
            return Err(r.invalid("username", at, "longer than 256 bytes"));
        }
        let at = r.pos();
        let secret = Zeroizing::new(r.blob("secret")?.to_vec());
        if secret.len() > MAX_SECRET {
            return Err(r.invalid("secret", at, "longer than 64 KiB"));
        }
        r.finish()?;
        Ok(Self { username, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_roundtrip_by_code_and_name() {
        for k in [
            EntryKind::Password,
            EntryKind::RecoveryKey,
            EntryKind::Note,
            EntryKind::File,
        ] {
            assert_eq!(EntryKind::from_code(k.code()), Some(k));
            assert_eq!(EntryKind::from_name(k.name()), Some(k));
        }
        assert_eq!(EntryKind::from_code(0), None);
        assert_eq!(EntryKind::from_name("folder"), None);
    }

    #[test]
    fn debug_is_redacted() {
        let s = EntrySecret {
            username: Zeroizing::new("root".into()),
            secret: Zeroizing::new(b"hunter2".to_vec()),
        };
        assert_eq!(format!("{s:?}"), "EntrySecret([REDACTED])");
    }

    proptest! {
        #[test]
        fn roundtrip(user in "\\PC{0,40}", secret in proptest::collection::vec(any::<u8>(), 0..200)) {
            let s = EntrySecret { username: Zeroizing::new(user), secret: Zeroizing::new(secret) };
            prop_assert_eq!(EntrySecret::decode(&s.encode()).unwrap(), s);
        }
    }
}
