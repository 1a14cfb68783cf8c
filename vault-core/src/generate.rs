//! Generated secrets: random passwords and passphrases from the OS CSPRNG,
//! with their entropy. Sampling is uniform (`rand`'s `random_range`, which
//! rejects biased values), never `% n`.

use rand::RngExt;
use zeroize::Zeroizing;

use crate::keys::os_rng;
/// A generation policy out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// A password length outside 16..=128.
    #[error("a password of {length} characters is refused: 16 to 128")]
    Length {
        /// Given.
        length: usize,
    },
    /// No character class chosen.
    #[error("a password needs at least one character class: upper, lower, digits, symbols")]
    NoCharset,
    /// A passphrase length outside 6..=10 words.
    #[error("a passphrase of {words} words is refused: 6 to 10")]
    Words {
        /// Given.
        words: usize,
    },
}

/// Character classes a password may draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Charset {
    /// A–Z.
    Upper,
    /// a–z.
    Lower,
    /// 0–9.
    Digits,
    /// Symbols accepted by common identity providers and safe in shells and
    /// forms: no quotes, backslash or space.
    Symbols,
}

impl Charset {
    /// Every class.
    pub const ALL: [Charset; 4] = [Self::Upper, Self::Lower, Self::Digits, Self::Symbols];

    fn chars(self) -> &'static str {
        match self {
            Self::Upper => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            Self::Lower => "abcdefghijklmnopqrstuvwxyz",
            Self::Digits => "0123456789",
            Self::Symbols => "!#$%&*+-=?@^_~",
        }
    }

    /// Parses a class name (`upper`, `lower`, `digits`, `symbols`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The class name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Upper => "upper",
            Self::Lower => "lower",
            Self::Digits => "digits",
            Self::Symbols => "symbols",
        }
    }
}

/// Characters left out in readable mode: they look like others.
pub const LOOKALIKES: &str = "IOQlo01";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// A password of `length` characters with at least one of each class;
    /// `readable` leaves out look-alikes.
    Password {
        /// 16 to 128.
        length: usize,
        /// Classes used (at least one).
        charsets: Vec<Charset>,
        /// Leave out I O Q l o 0 1.
        readable: bool,
    },
    /// A passphrase of `words` words from the EFF long word list (7776
    /// words), joined by dashes.
    Passphrase {
        /// 6 to 10.
        words: usize,
    },
}

impl Default for Policy {
    fn default() -> Self {
        Self::Password {
            length: 24,
            charsets: Charset::ALL.to_vec(),
            readable: false,
        }
    }
}

/// A generated secret and its strength.
pub struct Generated {
    /// The secret (shown once, then sealed).
    pub secret: Zeroizing<String>,
    /// Bits of entropy (log2 of the number of equally likely outcomes).
    pub entropy_bits: f64,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Generated {{ secret: [REDACTED], entropy_bits: {:.1} }}",
            self.entropy_bits
        )
    }
}

/// Generates a secret for `policy`.
pub fn generate(policy: &Policy) -> Result<Generated, GenerateError> {
    match policy {
        Policy::Password {
            length,
            charsets,
            readable,
        } => password(*length, charsets, *readable),
        Policy::Passphrase { words } => passphrase(*words),
    }
}

fn password(
    length: usize,
    charsets: &[Charset],
    readable: bool,
) -> Result<Generated, GenerateError> {
    if !(16..=128).contains(&length) {
        return Err(GenerateError::Length { length });
    }
    let mut sets: Vec<Vec<char>> = Vec::new();
    let mut classes = charsets.to_vec();
    classes.sort();
    classes.dedup();
    for c in classes {
        sets.push(
            c.chars()
                .chars()
                .filter(|ch| !readable || !LOOKALIKES.contains(*ch))
                .collect(),
        );
    }
    if sets.is_empty() {
        return Err(GenerateError::NoCharset);
    }
    let alphabet: Vec<char> = sets.concat();
    let mut rng = os_rng();
    // Uniform over all strings that contain every class: draw, and draw
    // again if a class is missing (rare at 16+ characters).
    let secret = loop {
        let mut s = Zeroizing::new(String::with_capacity(length * 4));
        for _ in 0..length {
            s.push(alphabet[rng.random_range(0..alphabet.len())]);
        }
        if sets.iter().all(|set| s.chars().any(|c| set.contains(&c))) {
            break s;
        }
    };
    // Slightly above the true figure (strings missing a class are
    // excluded); the difference is below 0.1 bit at 16 characters.
    let entropy_bits = length as f64 * (alphabet.len() as f64).log2();
    Ok(Generated {
        secret,
        entropy_bits,
    })
}

fn passphrase(words: usize) -> Result<Generated, GenerateError> {
    if !(6..=10).contains(&words) {
        return Err(GenerateError::Words { words });
    }
    let list = diceware_wordlists::Wordlist::EffLong.get_list();
    let mut rng = os_rng();
    let mut secret = Zeroizing::new(String::with_capacity(words * 12));
    for i in 0..words {
        if i > 0 {
            secret.push('-');
        }
        secret.push_str(list[rng.random_range(0..list.len())]);
    }
    Ok(Generated {
        secret,
        entropy_bits: words as f64 * (list.len() as f64).log2(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(length: usize, charsets: &[Charset], readable: bool) -> Generated {
        generate(&Policy::Password {
            length,
            charsets: charsets.to_vec(),
            readable,
        })
        .unwrap()
    }

    #[test]
    fn default_password_has_every_class_and_its_entropy() {
        for _ in 0..200 {
            let g = generate(&Policy::default()).unwrap();
            assert_eq!(g.secret.chars().count(), 24);
            for c in Charset::ALL {
                assert!(
                    g.secret.chars().any(|ch| c.chars().contains(ch)),
                    "{:?} missing",
                    c
                );
            }
            assert!(!g.secret.contains(['"', '\'', '\\', ' ']));
            // 24 × log2(76) ≈ 149.9
            assert!((g.entropy_bits - 149.95).abs() < 0.1, "{}", g.entropy_bits);
        }
    }

    #[test]
    fn readable_mode_has_no_lookalikes() {
        for _ in 0..200 {
            let g = pw(32, &Charset::ALL, true);
            assert!(!g.secret.contains(|c| LOOKALIKES.contains(c)));
        }
    }

    #[test]
    fn only_the_chosen_classes() {
        let g = pw(16, &[Charset::Digits], false);
        assert!(g.secret.chars().all(|c| c.is_ascii_digit()));
        assert!((g.entropy_bits - 16.0 * 10f64.log2()).abs() < 1e-9);
    }

    #[test]
    fn bounds_are_enforced() {
        for len in [0, 15, 129] {
            assert!(generate(&Policy::Password {
                length: len,
                charsets: Charset::ALL.to_vec(),
                readable: false
            })
            .is_err());
        }
        assert!(generate(&Policy::Password {
            length: 20,
            charsets: vec![],
            readable: false
        })
        .is_err());
        for words in [5, 11] {
            assert!(generate(&Policy::Passphrase { words }).is_err());
        }
    }

    #[test]
    fn passphrase_words_come_from_the_eff_list() {
        let list = diceware_wordlists::Wordlist::EffLong.get_list();
        assert_eq!(list.len(), 7776);
        let g = generate(&Policy::Passphrase { words: 7 }).unwrap();
        let words: Vec<&str> = g.secret.split('-').collect();
        assert_eq!(words.len(), 7);
        // Some EFF words contain a dash themselves ("drop-down"): check by list.
        assert!(g
            .secret
            .split('-')
            .all(|w| list.iter().any(|l| l.split('-').any(|p| p == w))));
        assert!((g.entropy_bits - 7.0 * 7776f64.log2()).abs() < 1e-9); // ≈ 90.5
    }

    #[test]
    fn outputs_differ_and_cover_the_alphabet() {
        let a = generate(&Policy::default()).unwrap();
        let b = generate(&Policy::default()).unwrap();
        assert_ne!(*a.secret, *b.secret);
        // 2000 × 24 draws from 76 symbols: every symbol appears.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            seen.extend(generate(&Policy::default()).unwrap().secret.chars());
        }
        assert_eq!(seen.len(), 76);
    }
}
