//! The vault's recipient string (docs/design/format-v2.md §20.4): one line
//! a depositor pins, in an MDM profile or a script, holding the vault's
//! fingerprint and escrow public key behind a Bech32 checksum (BIP 173, as
//! age recipients are, without the 90-character limit):
//! `breakglass1…`, 120 characters.
//!
//! With it a device seals a deposit without the vault file, and `--expect`
//! refuses a vault whose fingerprint or escrow key is not the pinned one.

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};

use crate::fingerprint::Fingerprint;

/// The human-readable part.
const HRP: &str = "breakglass";
/// Bytes of data: fingerprint ‖ escrow public key.
const DATA_LEN: usize = 64;
/// Longest text tried as a recipient; anything longer is refused unread.
pub const MAX_TEXT: usize = 256;

/// What a depositor needs to seal to a vault and to recognise it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The vault's fingerprint.
    pub fingerprint: Fingerprint,
    /// The vault's escrow X25519 public key.
    pub escrow_public: [u8; 32],
}

/// Why a text is not a recipient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    /// Longer than any recipient.
    #[error("is {len} characters long; a recipient has 120")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Not Bech32, or its checksum fails (a character was changed or lost).
    #[error("is not a recipient, or a character was mistyped ({why})")]
    NotBech32 {
        /// The decoder's words.
        why: String,
    },
    /// Another kind of key (for example an age recipient).
    #[error("starts with '{hrp}1', not 'breakglass1': it is not a breakglass recipient")]
    OtherKind {
        /// Its human-readable part.
        hrp: String,
    },
    /// The data has the wrong length.
    #[error("holds {len} bytes, not {DATA_LEN}")]
    WrongLength {
        /// Bytes found.
        len: usize,
    },
}

impl Recipient {
    /// Parses a recipient; all-lower or all-upper case, surrounding
    /// whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, RecipientError> {
        let text = text.trim();
        if text.len() > MAX_TEXT {
            return Err(RecipientError::TooLong { len: text.len() });
        }
        let checked = CheckedHrpstring::new::<Bech32>(text)
            .map_err(|e| RecipientError::NotBech32 { why: e.to_string() })?;
        let hrp = checked.hrp().to_lowercase();
        if hrp != HRP {
            return Err(RecipientError::OtherKind { hrp });
        }
        let data: Vec<u8> = checked.byte_iter().collect();
        let data: [u8; DATA_LEN] = data
            .try_into()
            .map_err(|d: Vec<u8>| RecipientError::WrongLength { len: d.len() })?;
        let mut fingerprint = [0u8; 32];
        let mut escrow_public = [0u8; 32];
        fingerprint.copy_from_slice(&data[..32]);
        escrow_public.copy_from_slice(&data[32..]);
        Ok(Self {
            fingerprint: Fingerprint::from_bytes(fingerprint),
            escrow_public,
        })
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse(HRP).expect("a valid human-readable part");
        let mut data = [0u8; DATA_LEN];
        data[..32].copy_from_slice(self.fingerprint.as_bytes());
        data[32..].copy_from_slice(&self.escrow_public);
        let text =
            bech32::encode_lower::<Bech32>(hrp, &data).expect("64 bytes fit a Bech32 string");
        f.write_str(&text)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Recipient {
        Recipient {
            fingerprint: Fingerprint::from_bytes([0xA5; 32]),
            escrow_public: [0x3C; 32],
        }
    }

    #[test]
    fn is_120_characters_and_round_trips_in_either_case() {
        let text = sample().to_string();
        assert_eq!(text.len(), 120);
        assert!(text.starts_with("breakglass1"));
        assert_eq!(Recipient::parse(&text), Ok(sample()));
        assert_eq!(Recipient::parse(&text.to_uppercase()), Ok(sample()));
        assert_eq!(Recipient::parse(&format!("  {text}\n")), Ok(sample()));
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let text = sample().to_string();
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        for (i, original) in text.char_indices().skip(HRP.len() + 1) {
            for c in alphabet.chars().filter(|&c| c != original) {
                let mut changed = text.clone();
                changed.replace_range(i..i + 1, &c.to_string());
                assert!(Recipient::parse(&changed).is_err(), "{i}: {c}");
            }
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let text = sample().to_string();
        let mixed = format!("B{}", &text[1..]);
        assert!(matches!(
            Recipient::parse(&mixed),
            Err(RecipientError::NotBech32 { .. })
        ));
        assert!(matches!(
            Recipient::parse(&"q".repeat(300)),
            Err(RecipientError::TooLong { len: 300 })
        ));
        let age = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert_eq!(
            Recipient::parse(age),
            Err(RecipientError::OtherKind { hrp: "age".into() })
        );
        let hrp = Hrp::parse(HRP).unwrap();
        let short = bech32::encode_lower::<Bech32>(hrp, &[1; 32]).unwrap();
        assert_eq!(
            Recipient::parse(&short),
            Err(RecipientError::WrongLength { len: 32 })
        );
    }

    proptest! {
        #[test]
        fn any_recipient_round_trips(f in any::<[u8; 32]>(), e in any::<[u8; 32]>()) {
            let r = Recipient { fingerprint: Fingerprint::from_bytes(f), escrow_public: e };
            prop_assert_eq!(Recipient::parse(&r.to_string()), Ok(r));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = Recipient::parse(&s);
        }
    }
}
