//! The printable text form of a share (docs/FORMAT.md §6.3).
//!
//! ```text
//! BREAKGLASS SHARE v1
//! Vault: Acme emergency access (3F9A-7C21-0B4D-11E2)
//! Custodian: alice
//! Share: 1 of 5 (any 3 unseal)
//! Protection: passphrase
//!
//! 01: 04G0 A1B2 C3D4 E5F6  7Q
//! 02: ...
//! END BREAKGLASS SHARE
//! ```
//!
//! The body is Crockford base32 in lines of 16 symbols (four groups of
//! four) followed by a two-symbol line check, so a typo is reported by
//! line. Decoding forgives case, spaces, dashes, and reads O as 0 and
//! I/L as 1. Header lines other than the first are for people; the
//! authoritative data is the body.

use zeroize::Zeroizing;

pub use super::lines::SYMBOLS_PER_LINE;
use super::lines::{base32, check_line, line_check, normalize, numbered, ALPHABET};
use crate::share::{ShareBody, ShareDecodeError};

/// First line of every share text; the number is the text format version.
pub const MAGIC_LINE: &str = "BREAKGLASS SHARE v1";
/// Last line of a share text.
pub const END_LINE: &str = "END BREAKGLASS SHARE";
/// The most body lines any share can have; more is not a share.
const MAX_LINES: usize = 64;

/// Public details printed in the header for people to read.
#[derive(Debug, Clone)]
pub struct ShareHeader<'a> {
    /// The vault's name.
    pub vault_name: &'a str,
    /// The vault's fingerprint as printed (e.g. `3F9A-7C21-0B4D-11E2`).
    pub fingerprint: &'a str,
    /// The custodian's name.
    pub custodian: &'a str,
}

/// Renders a share as text. The result holds secret material (for a plain
/// share, the share itself): it is zeroized on drop.
pub fn encode(body: &ShareBody, header: &ShareHeader<'_>) -> Zeroizing<String> {
    use std::fmt::Write;
    let symbols = Zeroizing::new(base32().encode(&body.encode()));
    // Sized up front: a reallocation would leave a copy of the share behind.
    let mut out = Zeroizing::new(String::with_capacity(1024 + 2 * symbols.len()));
    let _ = write!(
        out,
        "{MAGIC_LINE}\nVault: {} ({})\nCustodian: {}\nShare: {} of {} (any {} unseal)\nProtection: {}\n\n",
        one_line(header.vault_name),
        header.fingerprint,
        one_line(header.custodian),
        body.index,
        body.custodians,
        body.threshold,
        if body.is_protected() {
            "passphrase (Argon2id)"
        } else {
            "none"
        },
    );
    for (i, line) in symbols.as_bytes().chunks(SYMBOLS_PER_LINE).enumerate() {
        let line = std::str::from_utf8(line).expect("base32 is ASCII");
        let _ = write!(out, "{:02}:", i + 1);
        for group in line.as_bytes().chunks(4) {
            out.push(' ');
            out.push_str(std::str::from_utf8(group).expect("ASCII"));
        }
        out.push_str("  ");
        out.push_str(&line_check(i + 1, line));
        out.push('\n');
    }
    out.push_str(END_LINE);
    out.push('\n');
    out
}

/// Header values are one line each: newlines would forge header lines.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Why a share text could not be read. Line numbers are the numbers
/// printed at the start of each body line; no message quotes the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareTextError {
    /// No `BREAKGLASS SHARE v1` line.
    #[error("not a breakglass share (no 'BREAKGLASS SHARE' line)")]
    NotAShare,
    /// `BREAKGLASS SHARE vN` with N newer than this build.
    #[error(
        "share text format v{0} is newer than this breakglass understands (upgrade breakglass)"
    )]
    NewerFormat(u32),
    /// No body lines at all.
    #[error("the share has no numbered lines")]
    Empty,
    /// A line's symbols do not match its check code.
    #[error("line {line}: check code does not match (typo on this line?)")]
    LineCheck {
        /// The line number.
        line: usize,
    },
    /// One mistyped symbol, located: changing it (and only it) makes the
    /// line and the whole share check.
    #[error("line {line}: {} is mistyped (the rest of the share confirms which one)", typo_place(*group, *position))]
    Typo {
        /// The line number.
        line: usize,
        /// The group (1–4), or `None` for the line's check code.
        group: Option<usize>,
        /// 1-based position in the group (or check code).
        position: usize,
    },
    /// A line holds the symbols of another line.
    #[error("line {line} holds the symbols of line {holds} (lines swapped or renumbered?)")]
    SwappedLine {
        /// The line number as written.
        line: usize,
        /// The line its symbols belong to.
        holds: usize,
    },
    /// A line holds a character that is not Crockford base32.
    #[error("line {line}: character {position} is not a valid share symbol")]
    BadSymbol {
        /// The line number.
        line: usize,
        /// 1-based position among the line's symbols.
        position: usize,
    },
    /// A line too short to hold a check code, or a full line too long.
    #[error("line {line}: wrong length ({found} symbols, expected {expected})")]
    LineLength {
        /// The line number.
        line: usize,
        /// Symbols found (without check).
        found: usize,
        /// Symbols expected.
        expected: usize,
    },
    /// A line number appears twice.
    #[error("line {0} appears twice")]
    DuplicateLine(usize),
    /// Line numbers have a gap or stop early.
    #[error("line {0} is missing")]
    MissingLine(usize),
    /// More lines than a share can have.
    #[error("line {0}: a share has at most {MAX_LINES} lines")]
    TooManyLines(usize),
    /// Every line checked but the decoded share did not.
    #[error("{0}")]
    Body(#[from] ShareDecodeError),
}

/// A header field (`Name: value`) as printed for people, e.g. the
/// custodian's name, for messages about a share that does not decode.
/// Never authoritative.
pub fn header_field(text: &str, name: &str) -> Option<String> {
    text.lines().take(12).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| one_line(value.trim()))
    })
}

/// True when the header says the share is passphrase-protected.
pub fn header_says_protected(text: &str) -> bool {
    header_field(text, "Protection")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("passphrase"))
}

fn typo_place(group: Option<usize>, position: usize) -> String {
    match group {
        Some(g) => format!("symbol {position} of group {g}"),
        None => format!("symbol {position} of the check code"),
    }
}

fn magic_version(line: &str) -> Option<u32> {
    let rest = line
        .trim()
        .to_ascii_uppercase()
        .strip_prefix("BREAKGLASS SHARE V")?
        .to_owned();
    rest.trim().parse().ok()
}

/// Checks one typed body line at once (for prompting line by line):
/// `None` if it is not a numbered body line, else its number or what is
/// wrong with it.
pub fn check_typed_line(line: &str) -> Option<Result<usize, ShareTextError>> {
    let (number, rest) = numbered(line)?;
    if number == 0 || number > MAX_LINES {
        return Some(Err(ShareTextError::TooManyLines(number)));
    }
    Some(check_line(number, &Zeroizing::new(normalize(rest))).map(|_| number))
}

/// A proposed fix for a typed line whose check fails: the only
/// single-symbol change that makes it check. For the custodian to confirm
/// against the envelope — never applied silently. Holds share symbols:
/// show it only to the person typing.
#[derive(Clone, PartialEq, Eq)]
pub struct LineFix {
    /// The line number.
    pub line: usize,
    /// Group 1–4 of the changed symbol (`None`: the check code).
    pub group: Option<usize>,
    /// The corrected group (or check code), as printed.
    pub corrected: Zeroizing<String>,
    /// The whole corrected line, as printed.
    pub corrected_line: Zeroizing<String>,
}

impl std::fmt::Debug for LineFix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LineFix {{ line: {}, group: {:?}, .. }}",
            self.line, self.group
        )
    }
}

/// The fix for a typed line that fails its check, if exactly one
/// single-symbol change makes it check.
pub fn propose_line_fix(line: &str) -> Option<LineFix> {
    let (number, rest) = numbered(line)?;
    let symbols = Zeroizing::new(normalize(rest));
    // Only full lines: a short line may be the last one, or a line with a
    // symbol too many or too few, which a one-symbol change cannot mend
    // (and could only "mend" by a chance match of the 10-bit check).
    if number == 0
        || number > MAX_LINES
        || symbols.len() != SYMBOLS_PER_LINE + 2
        || check_line(number, &symbols).is_ok()
    {
        return None;
    }
    let data_len = symbols.len() - 2;
    let mut found: Option<(usize, Zeroizing<String>)> = None;
    for (p, current) in symbols.char_indices() {
        for c in ALPHABET.chars().filter(|&c| c != current) {
            let mut candidate = Zeroizing::new(symbols.to_string());
            candidate.replace_range(p..p + 1, c.encode_utf8(&mut [0; 4]));
            if check_line(number, &candidate).is_ok() {
                if found.is_some() {
                    return None; // ambiguous: ask for the line again
                }
                found = Some((p, candidate));
            }
        }
    }
    let (p, fixed) = found?;
    let (data, check) = fixed.split_at(data_len);
    let groups: Vec<&str> = data
        .as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).expect("ASCII"))
        .collect();
    let corrected_line = Zeroizing::new(format!("{number:02}: {}  {check}", groups.join(" ")));
    let (group, corrected) = if p < data_len {
        (Some(p / 4 + 1), Zeroizing::new(groups[p / 4].to_owned()))
    } else {
        (None, Zeroizing::new(check.to_owned()))
    };
    Some(LineFix {
        line: number,
        group,
        corrected,
        corrected_line,
    })
}

/// Parses share text (as printed, typed, or decoded from a QR code).
pub fn decode(text: &str) -> Result<ShareBody, ShareTextError> {
    let mut lines = text.lines();
    let version = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .and_then(magic_version)
        .ok_or(ShareTextError::NotAShare)?;
    if version != 1 {
        return Err(ShareTextError::NewerFormat(version));
    }
    let mut body_lines: Vec<Option<Zeroizing<String>>> = Vec::new();
    let mut seen = [false; MAX_LINES + 1];
    let mut failed: Vec<(usize, Zeroizing<String>)> = Vec::new();
    for line in lines {
        if line.trim().eq_ignore_ascii_case(END_LINE) {
            break;
        }
        let Some((number, rest)) = numbered(line) else {
            continue;
        };
        if number == 0 || number > MAX_LINES {
            return Err(ShareTextError::TooManyLines(number));
        }
        if std::mem::replace(&mut seen[number], true) {
            return Err(ShareTextError::DuplicateLine(number));
        }
        let symbols = Zeroizing::new(normalize(rest));
        if body_lines.len() < number {
            body_lines.resize_with(number, || None);
        }
        match check_line(number, &symbols) {
            Ok(data) => body_lines[number - 1] = Some(data),
            Err(ShareTextError::LineCheck { .. }) => failed.push((number, symbols)),
            Err(e) => return Err(e),
        }
    }
    if let Some((number, symbols)) = failed.first() {
        return Err(diagnose(*number, symbols, &body_lines, failed.len()));
    }
    match assemble(&body_lines) {
        // Every line checks but the share does not: a typo the 10-bit line
        // check missed. Find it with the 32-bit whole-share check.
        Err(ShareTextError::Body(ShareDecodeError::WholeCheck)) => {
            Err(locate_typo_anywhere(&body_lines)
                .unwrap_or(ShareTextError::Body(ShareDecodeError::WholeCheck)))
        }
        other => other,
    }
}

/// A single-symbol change in any line that makes the whole share decode.
fn locate_typo_anywhere(lines: &[Option<Zeroizing<String>>]) -> Option<ShareTextError> {
    let mut found = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(data) = line else { continue };
        let mut with_check = Zeroizing::new(data.to_string());
        with_check.push_str(&line_check(i + 1, data));
        if let Some(t) = locate_typo(i + 1, &with_check, lines) {
            if found.replace(t).is_some() {
                return None; // more than one candidate: do not guess
            }
        }
    }
    found
}

/// Says what is wrong with a line whose check fails: it holds another
/// line's symbols (swapped or renumbered), or — when it is the only bad
/// line — exactly one single-symbol change makes both the line check and
/// the whole-share check pass (a typo, located but not quoted).
fn diagnose(
    number: usize,
    symbols: &str,
    lines: &[Option<Zeroizing<String>>],
    failed: usize,
) -> ShareTextError {
    let (data, check) = symbols.split_at(symbols.len() - 2);
    if failed == 1 {
        if let Some(typo) = locate_typo(number, symbols, lines) {
            return typo;
        }
    }
    // A swap: the symbols check as another line that is itself missing or bad.
    let holds = (1..=MAX_LINES).find(|&m| {
        m != number && line_check(m, data) == check && lines.get(m - 1).is_none_or(|l| l.is_none())
    });
    if let Some(holds) = holds {
        return ShareTextError::SwappedLine {
            line: number,
            holds,
        };
    }
    ShareTextError::LineCheck { line: number }
}

/// The single symbol whose change makes the line check and the whole
/// share decode, if there is exactly one.
fn locate_typo(
    number: usize,
    symbols: &str,
    lines: &[Option<Zeroizing<String>>],
) -> Option<ShareTextError> {
    let data_len = symbols.len() - 2;
    let mut found = Vec::new();
    let mut trial: Vec<Option<Zeroizing<String>>> = lines.to_vec();
    for (p, current) in symbols.char_indices() {
        for c in ALPHABET.chars().filter(|&c| c != current) {
            let mut candidate = Zeroizing::new(symbols.to_owned());
            candidate.replace_range(p..p + 1, c.encode_utf8(&mut [0; 4]));
            let (d, ck) = candidate.split_at(data_len);
            if line_check(number, d) != ck {
                continue;
            }
            trial[number - 1] = Some(Zeroizing::new(d.to_owned()));
            if assemble(&trial).is_ok() {
                found.push(p);
            }
        }
    }
    let [p] = found[..] else { return None };
    Some(if p < data_len {
        ShareTextError::Typo {
            line: number,
            group: Some(p / 4 + 1),
            position: p % 4 + 1,
        }
    } else {
        ShareTextError::Typo {
            line: number,
            group: None,
            position: p - data_len + 1,
        }
    })
}

/// Joins checked lines, finds gaps and short lines, and decodes the body.
fn assemble(lines: &[Option<Zeroizing<String>>]) -> Result<ShareBody, ShareTextError> {
    if lines.is_empty() {
        return Err(ShareTextError::Empty);
    }
    let mut symbols = Zeroizing::new(String::with_capacity(lines.len() * SYMBOLS_PER_LINE));
    for (i, line) in lines.iter().enumerate() {
        let line = line.as_ref().ok_or(ShareTextError::MissingLine(i + 1))?;
        let last = i + 1 == lines.len();
        if !last && line.len() != SYMBOLS_PER_LINE {
            return Err(ShareTextError::LineLength {
                line: i + 1,
                found: line.len(),
                expected: SYMBOLS_PER_LINE,
            });
        }
        symbols.push_str(line);
    }
    // The protection byte (second byte) fixes the body length, so lines
    // missing at the end are named rather than reported as a bad check.
    // Eight symbols are exactly five bytes; fewer do not decode.
    let expected = base32()
        .decode(symbols.get(..8).unwrap_or("").as_bytes())
        .ok()
        .and_then(|b| ShareBody::encoded_len(*b.get(1)?))
        .map(|bytes| base32().encode_len(bytes));
    if let Some(expected) = expected {
        if symbols.len() < expected {
            let have_lines = lines.len();
            if symbols.len() == have_lines * SYMBOLS_PER_LINE {
                return Err(ShareTextError::MissingLine(have_lines + 1));
            }
        }
        if symbols.len() != expected {
            return Err(ShareTextError::LineLength {
                line: lines.len(),
                found: lines
                    .last()
                    .map_or(0, |l| l.as_ref().map_or(0, |l| l.len())),
                expected: expected - (lines.len() - 1) * SYMBOLS_PER_LINE,
            });
        }
    }
    let bytes = Zeroizing::new(
        base32()
            .decode(symbols.as_bytes())
            .map_err(|_| ShareDecodeError::WholeCheck)?,
    );
    Ok(ShareBody::decode(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;
    use crate::passphrase::KdfParams;
    use crate::shamir::split;
    use crate::VaultId;
    use proptest::prelude::*;
    use secrecy::SecretString;

    fn header() -> ShareHeader<'static> {
        ShareHeader {
            vault_name: "Acme",
            fingerprint: "0505-0505",
            custodian: "alice",
        }
    }

    fn plain_body() -> ShareBody {
        let shares = split(&MasterKey::generate(), 2, 3).unwrap();
        ShareBody::seal(VaultId([5; 16]), 2, 3, &shares[0], None).unwrap()
    }

    fn body_line_numbers(text: &str) -> Vec<usize> {
        text.lines().filter_map(numbered).map(|(n, _)| n).collect()
    }

    #[test]
    fn layout_is_as_documented() {
        let text = encode(&plain_body(), &header());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], MAGIC_LINE);
        assert_eq!(lines[1], "Vault: Acme (0505-0505)");
        assert_eq!(lines[2], "Custodian: alice");
        assert_eq!(lines[3], "Share: 1 of 3 (any 2 unseal)");
        assert_eq!(lines[4], "Protection: none");
        assert_eq!(*lines.last().unwrap(), END_LINE);
        // 57 bytes -> 92 symbols -> 6 lines (5 full, one of 12).
        assert_eq!(body_line_numbers(&text), vec![1, 2, 3, 4, 5, 6]);
        let first = lines.iter().find(|l| l.starts_with("01: ")).unwrap();
        assert_eq!(first.len(), "01: AAAA BBBB CCCC DDDD  CC".len());
    }

    #[test]
    fn forgives_case_spaces_dashes_and_lookalikes() {
        let body = plain_body();
        let text = encode(&body, &header()).to_string();
        let sloppy: String = text
            .lines()
            .map(|l| match numbered(l) {
                Some((n, rest)) => {
                    let s = normalize(rest)
                        .to_lowercase()
                        .replace('0', "o")
                        .replace('1', "l");
                    let dashed: Vec<String> = s
                        .as_bytes()
                        .chunks(3)
                        .map(|c| String::from_utf8_lossy(c).into())
                        .collect();
                    format!("{n}:{}\n", dashed.join("-"))
                }
                None => format!("{l}\n"),
            })
            .collect();
        assert_eq!(decode(&sloppy).unwrap(), body);
    }

    #[test]
    fn typo_is_reported_by_line() {
        let text = encode(&plain_body(), &header()).to_string();
        let line3 = text.lines().find(|l| l.starts_with("03: ")).unwrap();
        let mut typo = line3.as_bytes().to_vec();
        typo[5] = if typo[5] == b'X' { b'Y' } else { b'X' };
        let bad = text.replace(line3, std::str::from_utf8(&typo).unwrap());
        // One mistyped symbol: located (line 3, group 1, symbol 2).
        assert_eq!(
            decode(&bad).unwrap_err(),
            ShareTextError::Typo {
                line: 3,
                group: Some(1),
                position: 2
            }
        );
    }

    #[test]
    fn swapped_missing_and_duplicate_lines_are_named() {
        let text = encode(&plain_body(), &header()).to_string();
        let l2 = text
            .lines()
            .find(|l| l.starts_with("02: "))
            .unwrap()
            .to_owned();
        let l3 = text
            .lines()
            .find(|l| l.starts_with("03: "))
            .unwrap()
            .to_owned();
        // Swapping the contents but keeping numbers breaks both checks.
        let swapped = text
            .replace(&l2, "@@")
            .replace(&l3, &format!("02:{}", &l3[3..]))
            .replace("@@", &format!("03:{}", &l2[3..]));
        // The first line read (now numbered 3) holds line 2's symbols.
        assert_eq!(
            decode(&swapped).unwrap_err(),
            ShareTextError::SwappedLine { line: 3, holds: 2 }
        );
        let missing = text.replace(&format!("{l3}\n"), "");
        assert_eq!(
            decode(&missing).unwrap_err(),
            ShareTextError::MissingLine(3)
        );
        let dup = text.replace(&l3, &format!("{l3}\n{l3}"));
        assert_eq!(decode(&dup).unwrap_err(), ShareTextError::DuplicateLine(3));
        let last = text.lines().find(|l| l.starts_with("06: ")).unwrap();
        let no_last = text.replace(&format!("{last}\n"), "");
        assert_eq!(
            decode(&no_last).unwrap_err(),
            ShareTextError::MissingLine(6)
        );
    }

    #[test]
    fn a_single_typo_is_located_and_two_are_not() {
        let body = plain_body();
        let text = encode(&body, &header()).to_string();
        let line2 = text
            .lines()
            .find(|l| l.starts_with("02: "))
            .unwrap()
            .to_owned();
        let mut chars: Vec<char> = line2.chars().collect();
        // "02: AAAA BBBB CCCC DDDD  CC": position 10 is group 2, symbol 2.
        chars[10] = if chars[10] == 'Z' { 'Y' } else { 'Z' };
        let typo: String = chars.iter().collect();
        let err = decode(&text.replace(&line2, &typo)).unwrap_err();
        assert_eq!(
            err,
            ShareTextError::Typo {
                line: 2,
                group: Some(2),
                position: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "line 2: symbol 2 of group 2 is mistyped (the rest of the share confirms which one)"
        );
        // A typo in the check code itself.
        let mut chars: Vec<char> = line2.chars().collect();
        let n = chars.len();
        chars[n - 1] = if chars[n - 1] == 'Z' { 'Y' } else { 'Z' };
        let typo: String = chars.iter().collect();
        assert_eq!(
            decode(&text.replace(&line2, &typo)).unwrap_err(),
            ShareTextError::Typo {
                line: 2,
                group: None,
                position: 2
            }
        );
        // Two typos in one line: named by line only.
        let mut chars: Vec<char> = line2.chars().collect();
        for i in [5, 15] {
            chars[i] = if chars[i] == 'Z' { 'Y' } else { 'Z' };
        }
        let typo: String = chars.iter().collect();
        assert_eq!(
            decode(&text.replace(&line2, &typo)).unwrap_err(),
            ShareTextError::LineCheck { line: 2 }
        );
    }

    #[test]
    fn typed_lines_are_checked_one_at_a_time() {
        let text = encode(&plain_body(), &header()).to_string();
        let line = text.lines().find(|l| l.starts_with("03: ")).unwrap();
        assert_eq!(check_typed_line(line), Some(Ok(3)));
        assert_eq!(check_typed_line(&line.to_lowercase()), Some(Ok(3)));
        let mut typo = line.as_bytes().to_vec();
        typo[5] = if typo[5] == b'Z' { b'Y' } else { b'Z' };
        assert_eq!(
            check_typed_line(std::str::from_utf8(&typo).unwrap()),
            Some(Err(ShareTextError::LineCheck { line: 3 }))
        );
        assert_eq!(check_typed_line("Custodian: alice"), None);
    }

    #[test]
    fn a_line_fix_is_proposed_only_when_unambiguous() {
        let text = encode(&plain_body(), &header()).to_string();
        let mut proposed = 0;
        for line in text.lines().filter(|l| numbered(l).is_some()) {
            assert!(propose_line_fix(line).is_none(), "a good line needs no fix");
            for pos in [5, 6, 7, 8, 10, 11, 12, 13] {
                if line.as_bytes()[pos] == b' ' {
                    continue; // the short last line has spaces here
                }
                let mut typo = line.as_bytes().to_vec();
                typo[pos] = if typo[pos] == b'Z' { b'Y' } else { b'Z' };
                if let Some(fix) = propose_line_fix(std::str::from_utf8(&typo).unwrap()) {
                    // When exactly one fix exists it is the original line.
                    assert_eq!(fix.corrected_line.as_str(), line);
                    assert_eq!(fix.group, Some((pos - 4) / 5 + 1));
                    proposed += 1;
                }
            }
        }
        assert!(proposed > 0);
        assert!(format!("{:?}", propose_line_fix("01: 0000 0000 0000 0000  00")).len() < 60);
        // A line with one symbol too many is never "fixed" by one change.
        let first = text.lines().find(|l| l.starts_with("01: ")).unwrap();
        let longer = format!("{}0{}", &first[..8], &first[8..]);
        assert!(propose_line_fix(&longer).is_none());
    }

    #[test]
    fn wrong_magic_and_newer_version() {
        assert_eq!(
            decode("hello\n01: AAAA").unwrap_err(),
            ShareTextError::NotAShare
        );
        assert_eq!(decode("").unwrap_err(), ShareTextError::NotAShare);
        assert_eq!(
            decode("BREAKGLASS SHARE v2\n01: AAAA").unwrap_err(),
            ShareTextError::NewerFormat(2)
        );
        assert_eq!(
            decode("BREAKGLASS SHARE v1\n").unwrap_err(),
            ShareTextError::Empty
        );
    }

    #[test]
    fn protected_share_roundtrips() {
        let shares = split(&MasterKey::generate(), 2, 3).unwrap();
        let pass = SecretString::from("a long passphrase".to_owned());
        let body = ShareBody::seal(
            VaultId([5; 16]),
            2,
            3,
            &shares[2],
            Some((&pass, KdfParams::FLOOR)),
        )
        .unwrap();
        let text = encode(&body, &header());
        assert!(text.contains("Protection: passphrase (Argon2id)"));
        assert_eq!(decode(&text).unwrap(), body);
    }

    #[test]
    fn header_fields_are_readable_for_messages() {
        let text = encode(&plain_body(), &header());
        assert_eq!(header_field(&text, "custodian").as_deref(), Some("alice"));
        assert!(!header_says_protected(&text));
        assert!(header_says_protected(
            "BREAKGLASS SHARE v1\nProtection: passphrase (Argon2id)"
        ));
    }

    #[test]
    fn header_values_cannot_inject_lines() {
        let h = ShareHeader {
            vault_name: "x\n01: AAAA",
            fingerprint: "f",
            custodian: "bob\r\nEND BREAKGLASS SHARE",
        };
        let body = plain_body();
        let text = encode(&body, &h);
        assert_eq!(decode(&text).unwrap(), body);
    }

    proptest! {
        #[test]
        fn roundtrip_any_share(key in any::<[u8; 32]>(), k in 2usize..5, extra in 0usize..3) {
            let n = k + extra;
            let shares = split(&MasterKey::from_slice(&key).unwrap(), k, n).unwrap();
            for s in &shares {
                let body = ShareBody::seal(VaultId(key[..16].try_into().unwrap()), k as u8, n as u8, s, None).unwrap();
                prop_assert_eq!(decode(&encode(&body, &header())).unwrap(), body);
            }
        }

        #[test]
        fn single_symbol_typos_never_decode_silently(line in 1usize..=6, pos in 0usize..16, sym in 0usize..32) {
            let body = plain_body();
            let text = encode(&body, &header()).to_string();
            let prefix = format!("{line:02}: ");
            let original = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
            let data: Vec<char> = normalize(&original[4..]).chars().collect();
            let data_len = data.len() - 2;
            let pos = pos % data_len;
            let new = ALPHABET.as_bytes()[sym] as char;
            prop_assume!(data[pos] != new);
            let mut changed = data.clone();
            changed[pos] = new;
            let typo = format!("{prefix}{}", changed.iter().collect::<String>());
            let result = decode(&text.replace(original, &typo));
            // Never silently accepted, and located exactly.
            prop_assert_eq!(result.unwrap_err(), ShareTextError::Typo { line, group: Some(pos / 4 + 1), position: pos % 4 + 1 });
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = decode(&s);
            let _ = decode(&format!("BREAKGLASS SHARE v1\n{s}"));
        }

        #[test]
        fn arbitrary_numbered_lines_never_panic(lines in proptest::collection::vec((0usize..80, "[0-9A-Za-z -]{0,24}"), 0..10)) {
            let mut text = String::from("BREAKGLASS SHARE v1\n");
            for (n, s) in lines {
                text.push_str(&format!("{n}: {s}\n"));
            }
            let _ = decode(&text);
        }
    }
}
