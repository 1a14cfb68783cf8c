//! Typed lines: the Crockford base32 alphabet, one check code per line,
//! and the forgiving reading of what a person typed. Shared by share texts
//! and paper-backup parts (docs/FORMAT.md §6.3, §11).

use std::sync::OnceLock;

use data_encoding::{Encoding, Specification};
use zeroize::Zeroizing;

use super::share_text::ShareTextError;
use crate::keys::sha256;

/// Base32 symbols per body line.
pub const SYMBOLS_PER_LINE: usize = 16;
/// Crockford's base32 alphabet: no I, L, O or U.
pub(crate) const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The base32 encoding over [`ALPHABET`].
pub(crate) fn base32() -> &'static Encoding {
    static ENC: OnceLock<Encoding> = OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str(ALPHABET);
        spec.encoding()
            .expect("valid Crockford base32 specification")
    })
}

/// Two check symbols for body line `number` (1-based) holding `symbols`.
pub(crate) fn line_check(number: usize, symbols: &str) -> String {
    let h = sha256(&[
        b"breakglass/v1/line-check",
        &(number as u32).to_be_bytes(),
        symbols.as_bytes(),
    ]);
    let v = ((h[0] as usize) << 2) | (h[1] as usize >> 6);
    let a = ALPHABET.as_bytes();
    [a[v >> 5] as char, a[v & 31] as char].into_iter().collect()
}

/// Normalizes typed symbols: upper case, drop spaces and dashes, O→0, I/L→1.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// Splits `NN: symbols` into the number and the rest; `None` for other lines.
pub(crate) fn numbered(line: &str) -> Option<(usize, &str)> {
    let (num, rest) = line.trim().split_once(':')?;
    let num = num.trim();
    if num.is_empty() || num.len() > 3 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, rest))
}

/// Verifies one normalized line and returns its data symbols.
pub(crate) fn check_line(
    number: usize,
    symbols: &str,
) -> Result<Zeroizing<String>, ShareTextError> {
    if let Some(position) = symbols.chars().position(|c| !ALPHABET.contains(c)) {
        return Err(ShareTextError::BadSymbol {
            line: number,
            position: position + 1,
        });
    }
    if symbols.len() < 3 || symbols.len() > SYMBOLS_PER_LINE + 2 {
        return Err(ShareTextError::LineLength {
            line: number,
            found: symbols.len().saturating_sub(2),
            expected: SYMBOLS_PER_LINE,
        });
    }
    let (data, check) = symbols.split_at(symbols.len() - 2);
    if line_check(number, data) != check {
        return Err(ShareTextError::LineCheck { line: number });
    }
    Ok(Zeroizing::new(data.to_owned()))
}
