//! The public import digest that makes re-imports idempotent, and the
//! entropy bound below which none is kept (a digest of a guessable
//! password would be an offline guessing oracle).

use crate::keys::sha256;
use crate::vault::Vault;

/// The least estimated entropy for which a password's public import
/// digest is kept: guessing 2^80 candidates, each a SHA-256, is out of
/// reach; below it the digest would be an offline guessing oracle.
pub const DIGEST_MIN_BITS: f64 = 80.0;

/// An estimate of a password's entropy that errs low, the lower of two:
/// - as words: a password of two or more letter-only words — split at
///   spaces, `-`, `_`, `.` and where a lower-case letter is followed by an
///   upper-case one (Windows LAPS passphrases are capitalised words run
///   together, `SkiingProduceIdentify`) — counts each word as one draw from
///   a 1,276-word list (10.3 bits, the EFF short list), or less for a very
///   short word (its letters × log2 26);
/// - as characters: its length times log2 of the size of the character
///   classes it uses (26 lower, 26 upper, 10 digits, 33 other printable
///   ASCII; 128 for anything beyond ASCII), counting a character repeated
///   next to itself once.
///
/// The character count is an upper bound for a random string over those
/// classes and says nothing about a human pattern like `Summer2024!` —
/// which LAPS does not make: LAPS passwords follow the policy's generator.
pub fn estimated_entropy_bits(password: &str) -> f64 {
    let characters = character_bits(password);
    let words = words(password);
    if words.len() >= 2 && words.iter().all(|w| w.chars().all(char::is_alphabetic)) {
        let per_word = |w: &&str| (w.chars().count() as f64 * 26f64.log2()).min(1276f64.log2());
        return words.iter().map(per_word).sum::<f64>().min(characters);
    }
    characters
}

/// The words of a passphrase: split at separators and at a lower-case
/// letter followed by an upper-case one.
fn words(password: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in password
        .split([' ', '-', '_', '.'])
        .filter(|w| !w.is_empty())
    {
        let mut start = 0;
        let mut prev_lower = false;
        for (i, c) in part.char_indices() {
            if prev_lower && c.is_uppercase() {
                out.push(&part[start..i]);
                start = i;
            }
            prev_lower = c.is_lowercase();
        }
        out.push(&part[start..]);
    }
    out
}

fn character_bits(password: &str) -> f64 {
    /// A character class and how many characters it has.
    type Class = (fn(char) -> bool, u32);
    const CLASSES: [Class; 5] = [
        (|c| c.is_ascii_lowercase(), 26),
        (|c| c.is_ascii_uppercase(), 26),
        (|c| c.is_ascii_digit(), 10),
        (|c| c.is_ascii_graphic() && !c.is_ascii_alphanumeric(), 33),
        (|c| !c.is_ascii(), 128),
    ];
    let pool: u32 = CLASSES
        .iter()
        .filter(|(member, _)| password.chars().any(member))
        .map(|(_, size)| size)
        .sum();
    let mut runs = password.chars().collect::<Vec<_>>();
    runs.dedup();
    runs.len() as f64 * f64::from(pool.max(1)).log2()
}

/// The public import digest of a row (32 hex digits).
pub fn digest(vault: &Vault, label: &str, secret: &[u8]) -> String {
    let h = sha256(&[
        b"breakglass/v1/import-digest",
        vault.id().as_bytes(),
        label.as_bytes(),
        &[0],
        secret,
    ]);
    crate::hex_lower(&h[..16])
}
