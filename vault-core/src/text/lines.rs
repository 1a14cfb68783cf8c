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

/// How a share text's lines are checked: format 1 checks each line alone;
/// format 2 binds every line to line 1, which names the share (the
/// format, protection, custodian index, generation and vault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checks<'a> {
    /// `breakglass/v1/line-check` (FORMAT.md §6.3).
    V1,
    /// `breakglass/v2/line-check` under this line 1 (FORMAT.md §6.5).
    V2 {
        /// Line 1's 16 data symbols, normalized.
        line1: &'a str,
    },
}

/// Two check symbols for share line `number` holding `symbols`, under
/// `checks` (FORMAT.md §6.5). In format 2 the symbols are a linear code
/// over GF(32) — so every change of one symbol, and of any two, in a line
/// changes its check — plus a key made from the line number and line 1,
/// so a line of another share, vault or number fails (but 1 in 1024).
pub(crate) fn share_line_check(checks: Checks<'_>, number: usize, symbols: &str) -> String {
    let Checks::V2 { line1 } = checks else {
        return line_check(number, symbols);
    };
    let n = (number as u32).to_be_bytes();
    let key = if number == 1 {
        sha256(&[b"breakglass/v2/line-check", &n])
    } else {
        sha256(&[b"breakglass/v2/line-check", &n, line1.as_bytes()])
    };
    let k = ((key[0] as usize) << 2) | (key[1] as usize >> 6);
    let (mut sum, mut weighted, mut power) = (0u8, 0u8, 1u8);
    for c in symbols.bytes() {
        let d = ALPHABET.bytes().position(|a| a == c).unwrap_or(0) as u8;
        power = gf32_mul(power, 2);
        sum ^= d;
        weighted ^= gf32_mul(power, d);
    }
    let a = ALPHABET.as_bytes();
    let c1 = usize::from(sum) ^ (k >> 5);
    let c2 = usize::from(weighted) ^ (k & 31);
    [a[c1] as char, a[c2] as char].into_iter().collect()
}

/// Multiplication in GF(32) = GF(2)[x] / (x⁵ + x² + 1).
fn gf32_mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0x25;
        }
    }
    r
}

/// [`check_line`] under `checks`.
pub(crate) fn check_share_line(
    checks: Checks<'_>,
    number: usize,
    symbols: &str,
) -> Result<Zeroizing<String>, ShareTextError> {
    let Checks::V2 { .. } = checks else {
        return check_line(number, symbols);
    };
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
    if share_line_check(checks, number, data) != check {
        return Err(ShareTextError::LineCheck { line: number });
    }
    Ok(Zeroizing::new(data.to_owned()))
}

/// Like [`numbered`], but the colon may be left out (`05 7K3Q …`): the
/// envelope says spaces do not matter, and a colon is easy to miss. Without
/// a colon the number must be 1–2 digits followed by a space, and the rest
/// must be share symbols.
pub(crate) fn numbered_loose(line: &str) -> Option<(usize, &str)> {
    if let Some(found) = numbered(line) {
        return Some(found);
    }
    let t = line.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return None;
    }
    let rest = &t[digits..];
    let rest = rest.strip_prefix(['.', ')']).unwrap_or(rest);
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    // A copy of share symbols: wiped when dropped.
    let symbols = Zeroizing::new(normalize(rest));
    if symbols.len() < 3 || !symbols.chars().all(|c| ALPHABET.contains(c)) {
        return None;
    }
    Some((t[..digits].parse().ok()?, rest))
}
