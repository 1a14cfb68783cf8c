//! Typing a share line by line (docs/FORMAT.md §6.5, "Typed entry"): every
//! accepted line is kept until the share is whole; a line typed again
//! replaces the earlier one; a line typed under the wrong number is kept
//! under its own (never over a line already typed, and not when it also
//! checks as that number of another custodian's envelope); a line typed before
//! line 1 is held until line 1 can check it; a line from another
//! custodian's envelope is named at that line; a fix for a mistyped symbol
//! is proposed only when the whole-share check confirms it, so a line that
//! is wholly wrong never gets one. The same logic serves the terminal and
//! a browser page.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::lines::{normalize, numbered_loose, share_line_check, Checks, SYMBOLS_PER_LINE};
use super::share_text::{
    assemble, check_one, data_len, format_of_line1, line_one, line_one_symbols, locate_typo,
    LineOne, ShareTextError, END_LINE, MAX_LINES,
};
use crate::share::ShareBody;
use crate::vault::Vault;

/// Line 1 of a custodian's share of the vault being opened (both
/// protections), to name the envelope a stray line came from.
#[derive(Debug, Clone)]
pub struct KnownLineOne {
    /// The custodian's name.
    pub custodian: String,
    /// Their share's index.
    pub index: u8,
    symbols: [String; 2],
}

/// The line 1 every current custodian of `vault` has on their envelope
/// (format 2; line 1 is public: format, protection, index, generation,
/// vault tag).
pub fn known_line_ones(vault: &Vault) -> Vec<KnownLineOne> {
    let generation = u16::try_from(vault.generation()).unwrap_or(u16::MAX);
    let mut vault_tag = [0; 5];
    vault_tag.copy_from_slice(&vault.id().as_bytes()[..5]);
    vault
        .custodians()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let index = (i + 1) as u8;
            let line = |protected| {
                line_one_symbols(&LineOne {
                    protected,
                    index,
                    generation,
                    vault_tag,
                })
            };
            KnownLineOne {
                custodian: c.name.clone(),
                index,
                symbols: [line(false), line(true)],
            }
        })
        .collect()
}

/// What became of one typed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Kept as line `line`; `replaced` when it replaced an earlier one.
    /// `dropped` are lines typed before that no longer check (they were
    /// held until line 1, or checked under a line 1 now replaced).
    Kept {
        /// The line number.
        line: usize,
        /// An earlier line of that number was replaced.
        replaced: bool,
        /// Earlier lines that no longer check, each with why.
        dropped: Vec<LineProblem>,
    },
    /// Typed under number `typed`, it checks as line `line`: kept there.
    Renumbered {
        /// The number typed.
        typed: usize,
        /// The line it is.
        line: usize,
        /// An earlier line of that number was replaced.
        replaced: bool,
    },
    /// Kept unchecked until line 1 is typed (format 2 lines check against
    /// line 1).
    Held {
        /// The line number.
        line: usize,
    },
    /// A header line, the first line or the end line: nothing to keep.
    Header,
    /// Not a numbered share line.
    NotALine,
    /// Not kept.
    Refused(LineProblem),
}

/// Why a typed line was not kept. Names the line, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// Its form is wrong (symbol, length, missing check symbols, number).
    #[error("{0}")]
    Form(ShareTextError),
    /// It does not match its check code: a typo, or a line of another
    /// envelope or vault.
    #[error("line {line} does not match its check code (a typo, or a line from another envelope)")]
    Mismatch {
        /// The line number.
        line: usize,
    },
    /// It checks as line `line` of another custodian's share of this vault.
    /// Nothing is kept, even when it would also pass as another line of
    /// this share typed under the wrong number (`or_line`: a 10-bit check
    /// code lets about one stray line in a hundred do that).
    #[error("line {line} is from {custodian}'s envelope (share {index}), not from this one")]
    FromEnvelope {
        /// The line number.
        line: usize,
        /// Whose envelope it is from.
        custodian: String,
        /// Their share's index.
        index: u8,
        /// The line of this share it would also pass as.
        or_line: Option<usize>,
    },
    /// Past the last line of this share.
    #[error("this share has {lines} lines: there is no line {line}")]
    PastEnd {
        /// The number typed.
        line: usize,
        /// Lines this share has.
        lines: usize,
    },
}

impl LineProblem {
    /// The line the problem is at.
    pub fn line(&self) -> usize {
        match self {
            Self::Form(e) => match e {
                ShareTextError::BadSymbol { line, .. }
                | ShareTextError::LineLength { line, .. }
                | ShareTextError::CheckMissing { line }
                | ShareTextError::LineCheck { line }
                | ShareTextError::Typo { line, .. }
                | ShareTextError::SwappedLine { line, .. } => *line,
                ShareTextError::DuplicateLine(l)
                | ShareTextError::MissingLine(l)
                | ShareTextError::TooManyLines(l) => *l,
                _ => 0,
            },
            Self::Mismatch { line }
            | Self::FromEnvelope { line, .. }
            | Self::PastEnd { line, .. } => *line,
        }
    }
}

/// A proposed fix for a line: the only single-symbol change that makes the
/// line check and the whole share check. For the person typing to confirm
/// against the envelope — never applied silently. Holds share symbols.
#[derive(Clone, PartialEq, Eq)]
pub struct LineFix {
    /// The line number.
    pub line: usize,
    /// Group 1–4 of the changed symbol (`None`: the check code).
    pub group: Option<usize>,
    /// 1-based position of the symbol in its group (or check code).
    pub position: usize,
    /// The corrected group (or check code), as printed.
    pub corrected: Zeroizing<String>,
    symbols: Zeroizing<String>,
}

impl std::fmt::Debug for LineFix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LineFix {{ line: {}, group: {:?}, position: {}, .. }}",
            self.line, self.group, self.position
        )
    }
}

/// Where a typed share stands once the person says it is complete.
pub enum Finish {
    /// Every line is in and the whole share checks.
    Done(ShareBody),
    /// These lines are still needed (none typed, or the one typed did not
    /// check and no confirmed fix exists).
    Missing(Vec<usize>),
    /// One line failed, every other is in, and exactly one single-symbol
    /// change makes it and the whole share check: ask.
    Fix(LineFix),
    /// Every line checks but the whole share does not, and no single fix
    /// explains it: retype the share (or compare every line).
    Failed(ShareTextError),
}

/// A share being typed. Holds share symbols: never printed (its Debug
/// names line numbers only).
#[derive(Default)]
pub struct TypedShare {
    /// Body format: from the first line or line 1.
    format: Option<u8>,
    /// Accepted lines (data then check symbols), by number.
    lines: BTreeMap<usize, Zeroizing<String>>,
    /// Lines typed before line 1 (format 2): checked when it comes.
    held: BTreeMap<usize, Zeroizing<String>>,
    /// The last attempt at a line that failed its check.
    failed: BTreeMap<usize, Zeroizing<String>>,
    /// Numbers in the order kept, for [`TypedShare::back`].
    order: Vec<usize>,
    known: Vec<KnownLineOne>,
}

impl std::fmt::Debug for TypedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedShare")
            .field("format", &self.format)
            .field("kept", &self.kept())
            .finish_non_exhaustive()
    }
}

impl TypedShare {
    /// Nothing typed yet; `known` are the vault's custodians' line 1 (see
    /// [`known_line_ones`]), or empty without a vault.
    pub fn new(known: Vec<KnownLineOne>) -> Self {
        Self {
            known,
            ..Self::default()
        }
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.held.is_empty()
    }

    /// Lines kept (checked or held).
    pub fn kept(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.lines.keys().chain(self.held.keys()).copied().collect();
        v.sort_unstable();
        v
    }

    /// How many lines this share has, once line 1 says.
    pub fn line_count(&self) -> Option<usize> {
        let (format, protected) = self.format_and_protection()?;
        (1..=MAX_LINES)
            .take_while(|&n| data_len(format, protected, n).is_some())
            .last()
    }

    /// True when every line still needed has an attempt that failed its
    /// check (so [`TypedShare::finish`] may find the fix the whole share
    /// confirms), and at least one is needed.
    pub fn only_failed_lines_left(&self) -> bool {
        let Some(count) = self.line_count() else {
            return false;
        };
        let mut needed = (1..=count)
            .filter(|n| !self.lines.contains_key(n))
            .peekable();
        needed.peek().is_some() && needed.all(|n| self.failed.contains_key(&n))
    }

    /// The lowest line number still needed (1 before anything is typed).
    pub fn next_line(&self) -> usize {
        (1..=MAX_LINES)
            .find(|n| !self.lines.contains_key(n) && !self.held.contains_key(n))
            .unwrap_or(MAX_LINES)
    }

    /// What a format-2 line 1 says, once it is in.
    pub fn line_one(&self) -> Option<LineOne> {
        let l1 = self.lines.get(&1)?;
        line_one(&l1[..SYMBOLS_PER_LINE.min(l1.len())])
    }

    fn format_and_protection(&self) -> Option<(u8, bool)> {
        let l1 = self.lines.get(&1)?;
        format_of_line1(l1)
    }

    fn line1_data(&self) -> Option<&str> {
        self.lines
            .get(&1)
            .map(|l| &l[..SYMBOLS_PER_LINE.min(l.len())])
    }

    /// Forgets the line kept last, so it can be typed again; its number.
    pub fn back(&mut self) -> Option<usize> {
        let n = self.order.pop()?;
        self.lines.remove(&n);
        self.held.remove(&n);
        if n == 1 {
            // Lines checked under line 1 wait for the next one.
            let checked: Vec<usize> = self.lines.keys().copied().collect();
            for m in checked {
                if let Some(l) = self.lines.remove(&m) {
                    self.held.insert(m, l);
                }
            }
        }
        Some(n)
    }

    /// Takes one typed line.
    pub fn enter(&mut self, typed: &str) -> Typed {
        let trimmed = typed.trim();
        // Compared in place: an upper-cased copy of a typed line would be a
        // copy of share symbols left behind.
        const MAGIC: &str = "BREAKGLASS SHARE V";
        let magic = trimmed
            .get(..MAGIC.len())
            .filter(|p| p.eq_ignore_ascii_case(MAGIC))
            .and_then(|_| trimmed[MAGIC.len()..].trim().parse::<u32>().ok());
        if let Some(v) = magic {
            return match v {
                1 | 2 if self.format.is_none() => {
                    self.format = Some(v as u8);
                    Typed::Header
                }
                1 | 2 => Typed::Header,
                v => Typed::Refused(LineProblem::Form(ShareTextError::NewerFormat(v))),
            };
        }
        if trimmed.eq_ignore_ascii_case(END_LINE) {
            return Typed::Header;
        }
        let Some((number, rest)) = numbered_loose(trimmed) else {
            return if trimmed.contains(':') {
                Typed::Header
            } else {
                Typed::NotALine
            };
        };
        if number == 0 || number > MAX_LINES {
            return Typed::Refused(LineProblem::Form(ShareTextError::TooManyLines(number)));
        }
        let symbols = Zeroizing::new(normalize(rest));
        if number == 1 || self.lines.contains_key(&1) || self.format == Some(1) {
            self.check_and_keep(number, symbols)
        } else {
            self.hold(number, symbols)
        }
    }

    /// A line typed before line 1 (format 2, or format not known yet).
    fn hold(&mut self, number: usize, symbols: Zeroizing<String>) -> Typed {
        if let Some(problem) = self.form_problem(number, &symbols) {
            return Typed::Refused(problem);
        }
        // Line 1 typed under another number checks alone.
        if symbols.len() == SYMBOLS_PER_LINE + 2 && format_of_line1(&symbols).is_some() {
            let data = &symbols[..SYMBOLS_PER_LINE];
            if share_line_check(Checks::V2 { line1: data }, 1, data) == symbols[SYMBOLS_PER_LINE..]
            {
                return match self.check_and_keep(1, symbols) {
                    Typed::Kept { replaced, .. } => Typed::Renumbered {
                        typed: number,
                        line: 1,
                        replaced,
                    },
                    other => other,
                };
            }
        }
        self.failed.remove(&number);
        self.keep_order(number);
        self.held.insert(number, symbols);
        Typed::Held { line: number }
    }

    fn keep_order(&mut self, number: usize) {
        self.order.retain(|&n| n != number);
        self.order.push(number);
    }

    /// A problem of form (symbols, length, check symbols, number past the
    /// end), before any check.
    fn form_problem(&self, number: usize, symbols: &str) -> Option<LineProblem> {
        let fp = self.format_and_protection();
        if let Some(lines) = self.line_count().filter(|&n| number > n) {
            return Some(LineProblem::PastEnd {
                line: number,
                lines,
            });
        }
        let checks = Checks::V2 { line1: "" };
        match check_one(checks, fp, number, symbols) {
            Ok(_) | Err(ShareTextError::LineCheck { .. }) => {}
            Err(e) => return Some(LineProblem::Form(e)),
        }
        let expected = fp.and_then(|(f, p)| data_len(f, p, number))?;
        (symbols.len() != expected + 2).then(|| {
            LineProblem::Form(ShareTextError::LineLength {
                line: number,
                found: symbols.len() - 2,
                expected,
            })
        })
    }

    fn checks(&self) -> Checks<'_> {
        match (self.format_and_protection(), self.line1_data()) {
            (Some((1, _)), _) => Checks::V1,
            (_, Some(line1)) => Checks::V2 { line1 },
            _ if self.format == Some(1) => Checks::V1,
            _ => Checks::V2 { line1: "" },
        }
    }

    /// Checks a line (line 1 known, or format 1) and keeps it where it
    /// belongs.
    fn check_and_keep(&mut self, number: usize, symbols: Zeroizing<String>) -> Typed {
        if number == 1 {
            return self.keep_line_one(symbols);
        }
        // A line of the wrong length for its number may be another line.
        let form = self.form_problem(number, &symbols);
        let other_length = matches!(
            form,
            Some(LineProblem::Form(ShareTextError::LineLength { .. }))
        ) && (3..=SYMBOLS_PER_LINE + 2).contains(&symbols.len());
        if let Some(problem) = form.clone().filter(|_| !other_length) {
            return Typed::Refused(problem);
        }
        let (data, check) = symbols.split_at(symbols.len() - 2);
        let checks = self.checks();
        if form.is_none() && share_line_check(checks, number, data) == check {
            return self.keep(number, symbols, number);
        }
        // Typed under the wrong number: it checks as exactly one other line,
        // not yet typed (or typed the same). A typo passes as another line
        // about once in a hundred; it must not replace a line kept.
        let count = self.line_count().unwrap_or(MAX_LINES);
        let mut elsewhere = (2..=count).filter(|&m| {
            m != number
                && data_len_fits(self.format_and_protection(), m, data.len())
                && share_line_check(checks, m, data) == check
                && self.lines.get(&m).is_none_or(|kept| **kept == *symbols)
        });
        let renumbered = match (elsewhere.next(), elsewhere.next()) {
            (Some(m), None) => Some(m),
            _ => None,
        };
        // The same line of another envelope outweighs a line of this one
        // typed under the wrong number: keeping a stray line as another
        // would only be caught once the whole share is in.
        let stray = form.is_none().then(|| self.stray(number, data, check));
        if let Some(LineProblem::FromEnvelope {
            line,
            custodian,
            index,
            ..
        }) = stray
        {
            self.failed.insert(number, symbols);
            return Typed::Refused(LineProblem::FromEnvelope {
                line,
                custodian,
                index,
                or_line: renumbered,
            });
        }
        if let Some(m) = renumbered {
            return match self.keep(m, symbols, number) {
                Typed::Kept { replaced, .. } => Typed::Renumbered {
                    typed: number,
                    line: m,
                    replaced,
                },
                other => other,
            };
        }
        if let Some(problem) = form {
            return Typed::Refused(problem);
        }
        self.failed.insert(number, symbols);
        Typed::Refused(stray.unwrap_or(LineProblem::Mismatch { line: number }))
    }

    /// Names the envelope a line that fails its check came from, when
    /// exactly one other custodian's line 1 makes it check.
    fn stray(&self, number: usize, data: &str, check: &str) -> LineProblem {
        let own = self.line1_data().unwrap_or("");
        let from: Vec<&KnownLineOne> = self
            .known
            .iter()
            .filter(|k| {
                k.symbols.iter().any(|l1| {
                    l1 != own && share_line_check(Checks::V2 { line1: l1 }, number, data) == check
                })
            })
            .collect();
        match from[..] {
            [k] if self.checks() != Checks::V1 => LineProblem::FromEnvelope {
                line: number,
                custodian: k.custodian.clone(),
                index: k.index,
                or_line: None,
            },
            _ => LineProblem::Mismatch { line: number },
        }
    }

    fn keep(&mut self, number: usize, symbols: Zeroizing<String>, typed: usize) -> Typed {
        self.failed.remove(&number);
        self.failed.remove(&typed);
        self.keep_order(number);
        let replaced = self.lines.insert(number, symbols).is_some();
        Typed::Kept {
            line: number,
            replaced,
            dropped: Vec::new(),
        }
    }

    /// Line 1: checked alone; then every other line is checked under it.
    fn keep_line_one(&mut self, symbols: Zeroizing<String>) -> Typed {
        let fp = format_of_line1(&symbols);
        if let Err(e) = check_one(Checks::V2 { line1: "" }, fp, 1, &symbols) {
            if !matches!(e, ShareTextError::LineCheck { .. }) {
                return Typed::Refused(LineProblem::Form(e));
            }
        }
        let format = fp.map(|(f, _)| f).or(self.format).unwrap_or(2);
        let data = &symbols[..symbols.len() - 2];
        let checks = if format == 1 {
            Checks::V1
        } else {
            Checks::V2 { line1: data }
        };
        if fp.is_none() || share_line_check(checks, 1, data) != symbols[symbols.len() - 2..] {
            self.failed.insert(1, symbols);
            return Typed::Refused(LineProblem::Mismatch { line: 1 });
        }
        self.format = Some(format);
        let replaced = self.lines.contains_key(&1);
        self.keep(1, symbols, 1);
        Typed::Kept {
            line: 1,
            replaced,
            dropped: self.recheck(),
        }
    }

    /// Checks every other kept line under the current line 1.
    fn recheck(&mut self) -> Vec<LineProblem> {
        let mut pending: Vec<(usize, Zeroizing<String>)> =
            std::mem::take(&mut self.held).into_iter().collect();
        let others: Vec<usize> = self.lines.keys().copied().filter(|&n| n != 1).collect();
        for n in others {
            if let Some(l) = self.lines.remove(&n) {
                pending.push((n, l));
            }
        }
        pending.sort_by_key(|(n, _)| *n);
        let order = self.order.clone();
        let mut dropped = Vec::new();
        for (n, symbols) in pending {
            if let Typed::Refused(p) = self.check_and_keep(n, symbols) {
                self.order.retain(|&m| m != n);
                dropped.push(p);
            }
        }
        // Keep the order lines were typed in, for `back`.
        self.order = order
            .into_iter()
            .filter(|n| self.lines.contains_key(n))
            .collect();
        dropped
    }

    /// The share, or what is still needed.
    pub fn finish(&self) -> Finish {
        let Some(count) = self.line_count() else {
            return Finish::Missing(vec![1]);
        };
        let lines: Vec<Option<Zeroizing<String>>> = (1..=count)
            .map(|n| {
                self.lines
                    .get(&n)
                    .map(|l| Zeroizing::new(l[..l.len() - 2].to_owned()))
            })
            .collect();
        let missing: Vec<usize> = (1..=count).filter(|n| lines[n - 1].is_none()).collect();
        if let [n] = missing[..] {
            if let Some(fix) = self.failed.get(&n).and_then(|f| self.fix(n, f, &lines)) {
                return Finish::Fix(fix);
            }
        }
        if !missing.is_empty() {
            return Finish::Missing(missing);
        }
        match assemble(&lines) {
            Ok(body) => Finish::Done(body),
            Err(e) => {
                // A typo the 10-bit line check missed: the one line and
                // symbol that make the whole share check.
                let mut fixes = (2..=count).filter_map(|n| {
                    let mut others = lines.clone();
                    others[n - 1] = None;
                    self.fix(n, &self.lines[&n], &others)
                });
                match (fixes.next(), fixes.next()) {
                    (Some(fix), None) => Finish::Fix(fix),
                    _ => Finish::Failed(e),
                }
            }
        }
    }

    /// The single-symbol change of the attempt `symbols` at line `n` that
    /// makes it and the whole share check, if exactly one.
    fn fix(&self, n: usize, symbols: &str, lines: &[Option<Zeroizing<String>>]) -> Option<LineFix> {
        let Some(ShareTextError::Typo {
            group, position, ..
        }) = locate_typo(self.checks(), n, symbols, lines)
        else {
            return None;
        };
        let data_len = symbols.len() - 2;
        let p = group.map_or(data_len + position - 1, |g| (g - 1) * 4 + position - 1);
        let (mut fixed, checks) = (Zeroizing::new(symbols.to_owned()), self.checks());
        // The one symbol that makes the line check and the share decode.
        let c = super::lines::ALPHABET.chars().find(|&c| {
            let mut t = Zeroizing::new(symbols.to_owned());
            t.replace_range(p..p + 1, c.encode_utf8(&mut [0; 4]));
            let (d, ck) = t.split_at(data_len);
            if share_line_check(checks, n, d) != ck {
                return false;
            }
            let mut trial = lines.to_vec();
            trial[n - 1] = Some(Zeroizing::new(d.to_owned()));
            assemble(&trial).is_ok()
        })?;
        fixed.replace_range(p..p + 1, c.encode_utf8(&mut [0; 4]));
        let corrected = match group {
            Some(g) => {
                let end = (g * 4).min(data_len);
                Zeroizing::new(fixed[(g - 1) * 4..end].to_owned())
            }
            None => Zeroizing::new(fixed[data_len..].to_owned()),
        };
        Some(LineFix {
            line: n,
            group,
            position,
            corrected,
            symbols: fixed,
        })
    }

    /// Applies a fix the person confirmed against the envelope.
    pub fn accept_fix(&mut self, fix: &LineFix) {
        self.failed.remove(&fix.line);
        self.keep_order(fix.line);
        self.lines.insert(fix.line, fix.symbols.clone());
    }
}

fn data_len_fits(fp: Option<(u8, bool)>, number: usize, len: usize) -> bool {
    fp.and_then(|(f, p)| data_len(f, p, number))
        .is_none_or(|n| n == len)
}

#[cfg(test)]
#[path = "typed_tests.rs"]
mod tests;
