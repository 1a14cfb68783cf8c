//! The printable text form of a share (docs/FORMAT.md §6.3, §6.5) and
//! its compact form for QR codes (§6.6).
//!
//! ```text
//! BREAKGLASS SHARE v2
//! Vault: Acme emergency access
//! Fingerprint: 7K3Q-9XW2-M4TB-0HC8-ZP6E (generation 1)
//! Custodian: alice
//! Share: 1 — any 3 of the 5 custodians
//! Protection: passphrase (Argon2id)
//!
//! 01: 0840 A1B2 C3D4 E5F6  7Q
//! 02: ...
//! END BREAKGLASS SHARE
//! ```
//!
//! The body is Crockford base32 in lines of 16 symbols (four groups of
//! four) followed by a two-symbol line check, so a typo is reported by
//! line. In format 2 line 1 names the share (format, protection,
//! custodian, generation, vault) and every other line's check covers line
//! 1 too, so a line typed from another envelope fails at that line.
//! Decoding forgives case, spaces, dashes, a missing colon, and reads O as
//! 0 and I/L as 1. Header lines other than the first are for people; the
//! authoritative data is the body.

use zeroize::Zeroizing;

pub use super::lines::SYMBOLS_PER_LINE;
use super::lines::{
    base32, check_share_line, normalize, numbered_loose, share_line_check, Checks, ALPHABET,
};
use crate::share::{ShareBody, ShareDecodeError, ShareIdentity, SHARE_FORMAT};

/// First line of every share text written now; the number is the text
/// (and body) format version.
pub const MAGIC_LINE: &str = "BREAKGLASS SHARE v2";
/// First line of a format-1 share text (read forever).
pub const MAGIC_LINE_V1: &str = "BREAKGLASS SHARE v1";
/// Last line of a share text.
pub const END_LINE: &str = "END BREAKGLASS SHARE";
/// How a compact share (the QR form, FORMAT.md §6.6) begins, followed by
/// the format digit.
pub const COMPACT_PREFIX: &str = "BGS";
/// The most body lines any share can have; more is not a share.
pub(crate) const MAX_LINES: usize = 64;

/// Public details printed in the header for people to read.
#[derive(Debug, Clone)]
pub struct ShareHeader<'a> {
    /// The vault's name.
    pub vault_name: &'a str,
    /// The vault's fingerprint as printed (e.g. `7K3Q-9XW2-M4TB-0HC8-ZP6E`).
    pub fingerprint: &'a str,
    /// The custodian's name.
    pub custodian: &'a str,
}

/// The line rule of a body format.
fn checks_for<'a>(format: u8, line1: &'a str) -> Checks<'a> {
    if format == 1 {
        Checks::V1
    } else {
        Checks::V2 { line1 }
    }
}

/// The body as checked lines: each line's 16 (or fewer) data symbols
/// followed by its two check symbols. Secret for a plain share.
pub fn body_lines(body: &ShareBody) -> Vec<Zeroizing<String>> {
    let symbols = Zeroizing::new(base32().encode(&body.encode()));
    let line1 = symbols[..SYMBOLS_PER_LINE.min(symbols.len())].to_owned();
    let checks = checks_for(body.format(), &line1);
    symbols
        .as_bytes()
        .chunks(SYMBOLS_PER_LINE)
        .enumerate()
        .map(|(i, line)| {
            let line = std::str::from_utf8(line).expect("base32 is ASCII");
            let mut out = Zeroizing::new(String::with_capacity(SYMBOLS_PER_LINE + 2));
            out.push_str(line);
            out.push_str(&share_line_check(checks, i + 1, line));
            out
        })
        .collect()
}

/// The compact form of a share, for a QR code in alphanumeric mode
/// (FORMAT.md §6.6): `BGS` and the format digit, then every body line's
/// symbols and check symbols, with nothing between them. Upper-case
/// letters and digits only; the same symbols, in the same order, as the
/// typed lines. Secret for a plain share: zeroized on drop.
pub fn compact(body: &ShareBody) -> Zeroizing<String> {
    let lines = body_lines(body);
    let mut out = Zeroizing::new(String::with_capacity(
        8 + lines.len() * (SYMBOLS_PER_LINE + 2),
    ));
    out.push_str(COMPACT_PREFIX);
    out.push(char::from(b'0' + body.format()));
    for line in &lines {
        out.push_str(line);
    }
    out
}

/// The compact form of a share given as text (any form [`decode`] reads):
/// for a caller holding the text, such as an envelope being printed.
pub fn compact_text(text: &str) -> Result<Zeroizing<String>, ShareTextError> {
    Ok(compact(&decode(text)?))
}

/// Renders a share as text. The result holds secret material (for a plain
/// share, the share itself): it is zeroized on drop. Format-1 bodies keep
/// the format-1 header.
pub fn encode(body: &ShareBody, header: &ShareHeader<'_>) -> Zeroizing<String> {
    use std::fmt::Write;
    let lines = body_lines(body);
    // Sized up front: a reallocation would leave a copy of the share behind.
    let mut out = Zeroizing::new(String::with_capacity(1024 + 40 * lines.len()));
    let protection = if body.is_protected() {
        "passphrase (Argon2id)"
    } else {
        "none"
    };
    match body.identity {
        ShareIdentity::V1(_) => {
            let _ = write!(
                out,
                "{MAGIC_LINE_V1}\nVault: {} ({})\nCustodian: {}\nShare: {} of {} (any {} unseal)\nProtection: {protection}\n\n",
                one_line(header.vault_name),
                header.fingerprint,
                one_line(header.custodian),
                body.index,
                body.custodians,
                body.threshold,
            );
        }
        ShareIdentity::V2 { generation, .. } => {
            let _ = write!(
                out,
                "{MAGIC_LINE}\nVault: {}\nFingerprint: {} (generation {generation})\nCustodian: {}\nShare: {} — any {} of the {} custodians\nProtection: {protection}\n\n",
                one_line(header.vault_name),
                one_line(header.fingerprint),
                one_line(header.custodian),
                body.index,
                body.threshold,
                body.custodians,
            );
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let (data, check) = line.split_at(line.len() - 2);
        let _ = write!(out, "{:02}:", i + 1);
        for group in data.as_bytes().chunks(4) {
            out.push(' ');
            out.push_str(std::str::from_utf8(group).expect("ASCII"));
        }
        out.push_str("  ");
        out.push_str(check);
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
    /// No `BREAKGLASS SHARE` line and no numbered lines.
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
    /// A line has its data symbols but not the two check symbols after them.
    #[error("line {line}: the two check symbols at the end of the line are missing")]
    CheckMissing {
        /// The line number.
        line: usize,
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

/// True when the header (or, for a compact or typed share, line 1) says
/// the share is passphrase-protected.
pub fn header_says_protected(text: &str) -> bool {
    if let Some(v) = header_field(text, "Protection") {
        return v.to_ascii_lowercase().starts_with("passphrase");
    }
    read_lines(text)
        .ok()
        .and_then(|t| t.lines.first().cloned().flatten())
        .and_then(|l1| line_one(l1.get(..SYMBOLS_PER_LINE)?))
        .is_some_and(|l| l.protected)
}

fn typo_place(group: Option<usize>, position: usize) -> String {
    match group {
        Some(g) => format!("symbol {position} of group {g}"),
        None => format!("symbol {position} of the check code"),
    }
}

/// The version of a `BREAKGLASS SHARE vN` line (compared in place: the
/// first line of a typed share is a body line, not to be copied).
fn magic_version(line: &str) -> Option<u32> {
    const MAGIC: &str = "BREAKGLASS SHARE V";
    let t = line.trim();
    t.get(..MAGIC.len())
        .filter(|p| p.eq_ignore_ascii_case(MAGIC))
        .and_then(|_| t[MAGIC.len()..].trim().parse().ok())
}

/// What line 1 of a format-2 share says (FORMAT.md §6.4): enough to refuse
/// a share of another vault or generation before line 2 is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOne {
    /// True for a passphrase-protected share.
    pub protected: bool,
    /// The custodian's index.
    pub index: u8,
    /// The generation the share was issued in.
    pub generation: u16,
    /// `vault_id[0..5]`.
    pub vault_tag: [u8; 5],
}

/// Decodes the 16 data symbols of a format-2 line 1 (whose check passed).
pub fn line_one(data: &str) -> Option<LineOne> {
    if data.len() != SYMBOLS_PER_LINE {
        return None;
    }
    let bytes = base32().decode(data.as_bytes()).ok()?;
    if bytes.len() != 10 || bytes[0] != SHARE_FORMAT || bytes[1] > 1 {
        return None;
    }
    let mut vault_tag = [0; 5];
    vault_tag.copy_from_slice(&bytes[5..10]);
    Some(LineOne {
        protected: bytes[1] == 1,
        index: bytes[2],
        generation: u16::from_be_bytes([bytes[3], bytes[4]]),
        vault_tag,
    })
}

/// The 16 data symbols of line 1 of a format-2 share with these public
/// fields: how a reader that has the vault recomputes the line 1 of each
/// of its custodians (to name the envelope a stray line came from).
pub fn line_one_symbols(line: &LineOne) -> String {
    let mut bytes = vec![SHARE_FORMAT, u8::from(line.protected), line.index];
    bytes.extend_from_slice(&line.generation.to_be_bytes());
    bytes.extend_from_slice(&line.vault_tag);
    base32().encode(&bytes)
}

/// Data symbols the line `number` of a share of this format and
/// protection holds (16 but for the last line), if it has such a line.
pub(crate) fn data_len(format: u8, protected: bool, number: usize) -> Option<usize> {
    let bytes = ShareBody::encoded_len_of(format, u8::from(protected))?;
    let total = base32().encode_len(bytes);
    let before = (number - 1) * SYMBOLS_PER_LINE;
    (number >= 1 && before < total).then(|| (total - before).min(SYMBOLS_PER_LINE))
}

/// The format and protection a line 1 (data symbols, check not needed)
/// says, if it says anything sensible.
pub(crate) fn format_of_line1(data: &str) -> Option<(u8, bool)> {
    let b = base32().decode(data.get(..8)?.as_bytes()).ok()?;
    match (b[0], b[1]) {
        (f @ (1 | 2), p @ (0 | 1)) => Some((f, p == 1)),
        _ => None,
    }
}

/// A share's numbered lines as read, before any check: each line's
/// symbols normalized (data then check), by number.
pub(crate) struct ReadLines {
    /// The body format the text says (magic line or compact prefix), or
    /// the one line 1 suggests.
    pub(crate) format: u8,
    /// Line n at index n − 1; `None` for a number not given.
    pub(crate) lines: Vec<Option<Zeroizing<String>>>,
}

/// True when `text` begins like a compact share (`BGS1…`, `BGS2…`).
pub fn is_compact(text: &str) -> bool {
    read_compact(text).is_some()
}

/// Reads a compact share (`BGS2…`), if `text` is one.
fn read_compact(text: &str) -> Option<Result<ReadLines, ShareTextError>> {
    let t = text.trim_start();
    let b = t.as_bytes();
    let n = COMPACT_PREFIX.len();
    if b.len() <= n || !b[..n].eq_ignore_ascii_case(COMPACT_PREFIX.as_bytes()) {
        return None;
    }
    let format = match b[n] {
        d @ b'1'..=b'2' => d - b'0',
        d @ b'3'..=b'9' => return Some(Err(ShareTextError::NewerFormat(u32::from(d - b'0')))),
        _ => return None,
    };
    // The prefix and the digit are ASCII: byte n + 1 is a char boundary.
    let symbols = Zeroizing::new(normalize(&t[n + 1..]));
    if symbols.len() > MAX_LINES * (SYMBOLS_PER_LINE + 2) {
        return Some(Err(ShareTextError::TooManyLines(MAX_LINES + 1)));
    }
    let lines = symbols
        .as_bytes()
        .chunks(SYMBOLS_PER_LINE + 2)
        .map(|c| Some(Zeroizing::new(String::from_utf8_lossy(c).into_owned())))
        .collect();
    Some(Ok(ReadLines { format, lines }))
}

/// Reads the numbered lines of a share text (as printed, typed with or
/// without its header, or compact). Duplicated numbers are refused.
pub(crate) fn read_lines(text: &str) -> Result<ReadLines, ShareTextError> {
    if let Some(compact) = read_compact(text) {
        return compact;
    }
    let mut format = None;
    let mut lines: Vec<Option<Zeroizing<String>>> = Vec::new();
    let mut first = true;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if std::mem::take(&mut first) {
            if let Some(v) = magic_version(line) {
                match v {
                    1 | 2 => format = Some(v as u8),
                    v if v > 2 => return Err(ShareTextError::NewerFormat(v)),
                    _ => return Err(ShareTextError::NotAShare),
                }
                continue;
            }
        }
        if line.trim().eq_ignore_ascii_case(END_LINE) {
            break;
        }
        let Some((number, rest)) = numbered_loose(line) else {
            continue;
        };
        if number == 0 || number > MAX_LINES {
            return Err(ShareTextError::TooManyLines(number));
        }
        if lines.len() < number {
            lines.resize_with(number, || None);
        }
        if lines[number - 1].is_some() {
            return Err(ShareTextError::DuplicateLine(number));
        }
        lines[number - 1] = Some(Zeroizing::new(normalize(rest)));
    }
    if format.is_none() && lines.is_empty() {
        return Err(ShareTextError::NotAShare);
    }
    let inferred = lines
        .first()
        .and_then(|l| l.as_deref())
        .and_then(|l| format_of_line1(l))
        .map(|(f, _)| f);
    Ok(ReadLines {
        format: format.or(inferred).unwrap_or(SHARE_FORMAT),
        lines,
    })
}

/// Parses share text (as printed, typed, compact, or decoded from a QR
/// code).
pub fn decode(text: &str) -> Result<ShareBody, ShareTextError> {
    let read = read_lines(text)?;
    check_lines(read.format, &read.lines)
}

/// A line that is its data symbols alone (no check symbols).
fn check_missing(format_hint: Option<(u8, bool)>, number: usize, symbols: &str) -> bool {
    if symbols.len() == SYMBOLS_PER_LINE {
        return true;
    }
    format_hint
        .and_then(|(f, p)| data_len(f, p, number))
        .is_some_and(|n| n < SYMBOLS_PER_LINE && symbols.len() == n)
}

/// Checks one line's form (symbols, length, check symbols present) and
/// then its check under `checks`.
pub(crate) fn check_one(
    checks: Checks<'_>,
    hint: Option<(u8, bool)>,
    number: usize,
    symbols: &str,
) -> Result<Zeroizing<String>, ShareTextError> {
    if symbols.chars().all(|c| ALPHABET.contains(c)) && check_missing(hint, number, symbols) {
        return Err(ShareTextError::CheckMissing { line: number });
    }
    check_share_line(checks, number, symbols)
}

/// Checks every line of a share of `format` and decodes the body; a
/// failing line is diagnosed (typo located with the whole-share check,
/// swapped line, or only named).
pub(crate) fn check_lines(
    format: u8,
    lines: &[Option<Zeroizing<String>>],
) -> Result<ShareBody, ShareTextError> {
    let Some(first) = lines.first() else {
        return Err(ShareTextError::Empty);
    };
    // What line 1 says about the others' lengths, once it checks.
    let line1_checks = |raw: &str| {
        let checks = checks_for(format, raw.get(..SYMBOLS_PER_LINE).unwrap_or(""));
        check_share_line(checks, 1, raw).is_ok()
    };
    let hint = first
        .as_deref()
        .filter(|raw| line1_checks(raw))
        .and_then(|l| format_of_line1(l));
    if format != 1 && first.is_none() {
        return Err(ShareTextError::MissingLine(1));
    }
    let line1 = match (format, first) {
        (1, _) | (_, None) => Zeroizing::new(String::new()),
        (_, Some(raw)) => match check_one(Checks::V2 { line1: "" }, None, 1, raw) {
            Ok(data) => data,
            Err(ShareTextError::LineCheck { .. }) => {
                syntax_of_others(format, hint, lines)?;
                return Err(diagnose_line1(raw, lines));
            }
            Err(e) => return Err(e),
        },
    };
    let checks = checks_for(format, &line1);
    let mut checked: Vec<Option<Zeroizing<String>>> = vec![None; lines.len()];
    let mut failed: Vec<(usize, &str)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(symbols) = line else { continue };
        match check_one(checks, hint, i + 1, symbols) {
            Ok(data) => checked[i] = Some(data),
            Err(ShareTextError::LineCheck { .. }) => failed.push((i + 1, symbols)),
            Err(e) => return Err(e),
        }
    }
    if let Some((number, symbols)) = failed.first() {
        return Err(diagnose(checks, *number, symbols, &checked, failed.len()));
    }
    match assemble(&checked) {
        // Every line checks but the share does not: a typo the 10-bit line
        // check missed. Find it with the 32-bit whole-share check.
        Err(ShareTextError::Body(ShareDecodeError::WholeCheck)) => {
            Err(typo_missed_by_line_checks(checks, lines, &checked)
                .unwrap_or(ShareTextError::Body(ShareDecodeError::WholeCheck)))
        }
        other => other,
    }
}

/// The errors of form (not of check) in lines 2… while line 1 fails.
fn syntax_of_others(
    format: u8,
    hint: Option<(u8, bool)>,
    lines: &[Option<Zeroizing<String>>],
) -> Result<(), ShareTextError> {
    for (i, line) in lines.iter().enumerate().skip(1) {
        let Some(symbols) = line else { continue };
        match check_one(checks_for(format, "0000000000000000"), hint, i + 1, symbols) {
            Ok(_) | Err(ShareTextError::LineCheck { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Line 1 of a format-2 share fails its check: the single-symbol
/// corrections of line 1 under which every other line checks and the
/// share decodes; exactly one is a located typo.
fn diagnose_line1(raw: &str, lines: &[Option<Zeroizing<String>>]) -> ShareTextError {
    let mut found = Vec::new();
    if raw.len() == SYMBOLS_PER_LINE + 2 {
        for (p, candidate) in single_changes(raw) {
            let data = &candidate[..SYMBOLS_PER_LINE];
            if share_line_check(Checks::V2 { line1: data }, 1, data)
                != candidate[SYMBOLS_PER_LINE..]
            {
                continue;
            }
            let mut trial = lines.to_vec();
            trial[0] = Some(candidate);
            if check_lines(SHARE_FORMAT, &trial).is_ok() {
                found.push(p);
            }
            if found.len() > 1 {
                break;
            }
        }
    }
    match found[..] {
        [p] => typo_at(1, SYMBOLS_PER_LINE, p),
        _ => ShareTextError::LineCheck { line: 1 },
    }
}

/// Every line checks but the whole share does not: the one line and
/// symbol whose change makes both pass, if there is exactly one.
fn typo_missed_by_line_checks(
    checks: Checks<'_>,
    raw: &[Option<Zeroizing<String>>],
    checked: &[Option<Zeroizing<String>>],
) -> Option<ShareTextError> {
    let mut found = None;
    for (i, line) in raw.iter().enumerate() {
        let Some(symbols) = line else { continue };
        // Line 1 of format 2 is every line's key: its change is not one typo
        // the line checks missed but a change to every check.
        if i == 0 && checks != Checks::V1 {
            continue;
        }
        if let Some(t) = locate_typo(checks, i + 1, symbols, checked) {
            if found.replace(t).is_some() {
                return None; // more than one candidate: do not guess
            }
        }
    }
    found
}

/// Every single-symbol change of `symbols`: (position, changed symbols).
fn single_changes(symbols: &str) -> impl Iterator<Item = (usize, Zeroizing<String>)> + '_ {
    symbols.char_indices().flat_map(move |(p, current)| {
        ALPHABET
            .chars()
            .filter(move |&c| c != current)
            .map(move |c| {
                let mut candidate = Zeroizing::new(symbols.to_owned());
                candidate.replace_range(p..p + 1, c.encode_utf8(&mut [0; 4]));
                (p, candidate)
            })
    })
}

/// A typo at position `p` of a line with `data_len` data symbols.
fn typo_at(line: usize, data_len: usize, p: usize) -> ShareTextError {
    if p < data_len {
        ShareTextError::Typo {
            line,
            group: Some(p / 4 + 1),
            position: p % 4 + 1,
        }
    } else {
        ShareTextError::Typo {
            line,
            group: None,
            position: p - data_len + 1,
        }
    }
}

/// Says what is wrong with a line whose check fails: it holds another
/// line's symbols (swapped or renumbered), or — when it is the only bad
/// line — exactly one single-symbol change makes both the line check and
/// the whole-share check pass (a typo, located but not quoted).
fn diagnose(
    checks: Checks<'_>,
    number: usize,
    symbols: &str,
    lines: &[Option<Zeroizing<String>>],
    failed: usize,
) -> ShareTextError {
    if failed == 1 {
        if let Some(typo) = locate_typo(checks, number, symbols, lines) {
            return typo;
        }
    }
    let count = lines.len();
    if let Some(holds) = holds_line(checks, number, symbols, lines, count) {
        return ShareTextError::SwappedLine {
            line: number,
            holds,
        };
    }
    ShareTextError::LineCheck { line: number }
}

/// The other line whose symbols these are (it checks under that number,
/// and that line is missing or bad), if exactly one.
pub(crate) fn holds_line(
    checks: Checks<'_>,
    number: usize,
    symbols: &str,
    lines: &[Option<Zeroizing<String>>],
    count: usize,
) -> Option<usize> {
    let (data, check) = symbols.split_at(symbols.len() - 2);
    let first = if checks == Checks::V1 { 1 } else { 2 };
    let mut holds = (first..=count).filter(|&m| {
        m != number
            && share_line_check(checks, m, data) == check
            && lines.get(m - 1).is_none_or(|l| l.is_none())
    });
    let first = holds.next()?;
    holds.next().is_none().then_some(first)
}

/// The single symbol whose change makes the line check and the whole
/// share decode, if there is exactly one.
pub(crate) fn locate_typo(
    checks: Checks<'_>,
    number: usize,
    symbols: &str,
    lines: &[Option<Zeroizing<String>>],
) -> Option<ShareTextError> {
    let data_len = symbols.len().checked_sub(2)?;
    let mut found = Vec::new();
    let mut trial: Vec<Option<Zeroizing<String>>> = lines.to_vec();
    for (p, candidate) in single_changes(symbols) {
        let (d, ck) = candidate.split_at(data_len);
        if share_line_check(checks, number, d) != ck {
            continue;
        }
        trial[number - 1] = Some(Zeroizing::new(d.to_owned()));
        if assemble(&trial).is_ok() {
            found.push(p);
        }
    }
    let [p] = found[..] else { return None };
    Some(typo_at(number, data_len, p))
}

/// Joins checked lines, finds gaps and short lines, and decodes the body.
pub(crate) fn assemble(lines: &[Option<Zeroizing<String>>]) -> Result<ShareBody, ShareTextError> {
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
    // The format and protection bytes fix the body length, so lines
    // missing at the end are named rather than reported as a bad check.
    let expected = format_of_line1(&symbols)
        .and_then(|(f, p)| ShareBody::encoded_len_of(f, u8::from(p)))
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
                expected: expected.saturating_sub((lines.len() - 1) * SYMBOLS_PER_LINE),
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
#[path = "share_text_tests.rs"]
pub(crate) mod tests;
