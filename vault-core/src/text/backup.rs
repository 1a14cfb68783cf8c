//! The whole vault on paper (docs/FORMAT.md §11): the file cut into
//! numbered parts, each a text block in the share-text line format (so it
//! can be scanned from a QR code or typed, with a check per line), and
//! reassembled byte for byte from parts given in any order.
//!
//! ```text
//! BREAKGLASS BACKUP v1
//! Vault: <fingerprint>
//! Part: 2 of 5
//!
//! 01: XXXX XXXX XXXX XXXX  CC
//! …
//! END BREAKGLASS BACKUP
//! ```
//!
//! A part's body is `vault_id[16] | part u16 | parts u16 | file_len u32 |
//! file_sha256[32] | chunk blob | check[4]`.
//!
//! Its QR code holds the compact form `BREAKGLASS-BACKUP-1:` followed by the
//! body in base32 on one line: upper-case alphanumerics only, so QR
//! alphanumeric mode (5.5 bits a symbol instead of 8 a character, and no
//! line numbers or check codes, which the body's own check replaces).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::lines::{base32, check_line, line_check, normalize, numbered, SYMBOLS_PER_LINE};
use super::share_text::ShareTextError;
use crate::codec::{Reader, Writer};
use crate::keys::sha256;
use crate::VaultId;

/// First line of a part.
pub const MAGIC_LINE: &str = "BREAKGLASS BACKUP v1";
/// Last line of a part.
pub const END_LINE: &str = "END BREAKGLASS BACKUP";
/// Bytes of the vault file per part written: a part is about 106 typed
/// lines, and two parts fill a page.
pub const CHUNK: usize = 1000;
/// The largest chunk a part may hold when read (backups made before
/// parts grew held 150 bytes).
pub const MAX_CHUNK: usize = 1000;
/// Start of a part's compact (QR) form.
pub const COMPACT_PREFIX: &str = "BREAKGLASS-BACKUP-1:";
/// The most parts a backup may have.
pub const MAX_PARTS: usize = 4096;

/// Why parts could not be read or put together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Nothing that looks like a part.
    #[error("no 'BREAKGLASS BACKUP v1' part found")]
    NoParts,
    /// A line of a part fails its check (part number if known).
    #[error("part {part}: {error}")]
    Line {
        /// Part number as printed, or "?" when unknown.
        part: String,
        /// The line problem.
        error: ShareTextError,
    },
    /// A part's whole check fails or its fields are malformed.
    #[error("part {0}: damaged (its check does not match): rescan or retype it")]
    Damaged(String),
    /// Parts of different vaults or backups were mixed.
    #[error("part {part} belongs to another backup (vault {vault}, {parts} parts)")]
    Mixed {
        /// The part number.
        part: u16,
        /// Its vault (short id).
        vault: String,
        /// Its total number of parts.
        parts: u16,
    },
    /// Some parts were never given.
    #[error("missing part{} {} of {total}: scan or type {}", if .missing.len() == 1 { "" } else { "s" }, list(.missing), if .missing.len() == 1 { "it" } else { "them" })]
    Missing {
        /// The missing part numbers.
        missing: Vec<u16>,
        /// How many parts the backup has.
        total: u16,
    },
    /// All parts present, but the file they make does not match its hash.
    #[error(
        "the parts put together do not match the backup's checksum: one part is from another copy"
    )]
    HashMismatch,
}

fn list(parts: &[u16]) -> String {
    parts
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One part, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    vault_id: VaultId,
    part: u16,
    parts: u16,
    file_len: u32,
    file_hash: [u8; 32],
    chunk: Vec<u8>,
}

fn part_check(body: &[u8]) -> [u8; 4] {
    let h = sha256(&[b"breakglass/v1/backup-part", body]);
    [h[0], h[1], h[2], h[3]]
}

/// Cuts a vault file into part texts.
pub fn split(file: &[u8], vault_id: &VaultId) -> Vec<String> {
    split_in(file, vault_id, CHUNK)
        .into_iter()
        .map(|p| p.text)
        .collect()
}

/// One part, to print: its text (typed lines with checks) and its compact
/// form for the QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedPart {
    /// The text block (docs/FORMAT.md §11).
    pub text: String,
    /// The compact form: [`COMPACT_PREFIX`] and the body in base32.
    pub compact: String,
}

/// Cuts a vault file into parts of `chunk` bytes (at most [`MAX_CHUNK`]).
pub fn split_in(file: &[u8], vault_id: &VaultId, chunk: usize) -> Vec<PrintedPart> {
    let chunk = chunk.clamp(1, MAX_CHUNK);
    let file_hash = sha256(&[file]);
    let chunks: Vec<&[u8]> = file.chunks(chunk).collect();
    let parts = chunks.len() as u16;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut w = Writer::new();
            w.bytes(vault_id.as_bytes())
                .u16(i as u16 + 1)
                .u16(parts)
                .u32(file.len() as u32)
                .bytes(&file_hash)
                .blob(chunk);
            let mut body = w.finish();
            let check = part_check(&body);
            body.extend_from_slice(&check);
            let symbols = base32().encode(&body);
            PrintedPart {
                text: render(&symbols, vault_id, i as u16 + 1, parts),
                compact: format!("{COMPACT_PREFIX}{symbols}"),
            }
        })
        .collect()
}

fn render(symbols: &str, vault_id: &VaultId, part: u16, parts: u16) -> String {
    let mut out = format!(
        "{MAGIC_LINE}\nVault: {}\nPart: {part} of {parts}\n\n",
        vault_id.fingerprint()
    );
    for (i, chunk) in symbols.as_bytes().chunks(SYMBOLS_PER_LINE).enumerate() {
        let line = std::str::from_utf8(chunk).expect("base32 is ASCII");
        let groups: Vec<&str> = line
            .as_bytes()
            .chunks(4)
            .map(|g| std::str::from_utf8(g).expect("ASCII"))
            .collect();
        let _ = writeln!(
            out,
            "{:02}: {}  {}",
            i + 1,
            groups.join(" "),
            line_check(i + 1, line)
        );
    }
    out.push_str(END_LINE);
    out.push('\n');
    out
}

/// Puts a vault file back together from parts found in any texts, in any
/// order; duplicates of a part are fine.
#[derive(Default)]
pub struct Assembler {
    parts: BTreeMap<u16, Part>,
}

impl Assembler {
    /// A new, empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every part in `text`. Returns the part numbers read; a bad
    /// part is an error naming it (and the parts before it are kept).
    /// Linear in the text: it is cut into blocks in one forward pass.
    /// Parts in compact form (one a line, as a QR reader returns them) are
    /// read as well as text blocks.
    pub fn add_text(&mut self, text: &str) -> Result<Vec<u16>, BackupError> {
        let mut read = Vec::new();
        let compact: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(COMPACT_PREFIX))
            .collect();
        let blocks = blocks(text);
        if blocks.is_empty() && compact.is_empty() {
            return Err(BackupError::NoParts);
        }
        for line in compact {
            let part = decode_compact(line)?;
            read.push(part.part);
            self.add(part)?;
        }
        for block in blocks {
            let part = decode_block(block)?;
            read.push(part.part);
            self.add(part)?;
        }
        Ok(read)
    }

    fn add(&mut self, part: Part) -> Result<(), BackupError> {
        if let Some(first) = self.parts.values().next() {
            if first.vault_id != part.vault_id
                || first.parts != part.parts
                || first.file_hash != part.file_hash
            {
                return Err(BackupError::Mixed {
                    part: part.part,
                    vault: part.vault_id.short(),
                    parts: part.parts,
                });
            }
        }
        self.parts.insert(part.part, part);
        Ok(())
    }

    /// The vault id and total parts, once any part was read.
    pub fn progress(&self) -> Option<(VaultId, u16, usize)> {
        self.parts
            .values()
            .next()
            .map(|p| (p.vault_id, p.parts, self.parts.len()))
    }

    /// The vault file, if every part is there and the whole matches.
    pub fn finish(&self) -> Result<Vec<u8>, BackupError> {
        let first = self.parts.values().next().ok_or(BackupError::NoParts)?;
        let missing: Vec<u16> = (1..=first.parts)
            .filter(|n| !self.parts.contains_key(n))
            .collect();
        if !missing.is_empty() {
            return Err(BackupError::Missing {
                missing,
                total: first.parts,
            });
        }
        let file: Vec<u8> = self
            .parts
            .values()
            .flat_map(|p| p.chunk.iter().copied())
            .collect();
        if file.len() != first.file_len as usize || sha256(&[&file]) != first.file_hash {
            return Err(BackupError::HashMismatch);
        }
        Ok(file)
    }
}

fn parse_part(body: &[u8]) -> Result<Part, crate::codec::DecodeError> {
    let mut r = Reader::new(body);
    let part = Part {
        vault_id: VaultId(r.array("vault id")?),
        part: r.u16("part")?,
        parts: r.u16("parts")?,
        file_len: r.u32("file length")?,
        file_hash: r.array("file hash")?,
        chunk: r.blob("chunk")?.to_vec(),
    };
    r.finish()?;
    Ok(part)
}

/// Start of a part's first line, whatever the version (a newer one is
/// then refused by its own check).
const MAGIC_PREFIX: &str = "BREAKGLASS BACKUP V";

/// Cuts `text` into part blocks: each runs from a magic line to its END
/// line, or to the next magic line or the end of the text when its END line
/// is missing. One forward pass over one upper-cased copy: every byte is
/// searched about twice (the search for the next part and the search for
/// this part's END line overlap), so a text of n parts costs O(n) — searching the
/// rest of the text again for every part made restore quadratic (16k parts
/// took 29.5 s).
fn blocks(text: &str) -> Vec<&str> {
    // ASCII upper-casing keeps byte offsets, so offsets into `upper` are
    // offsets into `text`, on the same character boundaries.
    let upper = text.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut next = find_in(&upper, 0, upper.len(), MAGIC_PREFIX);
    while let Some(start) = next {
        next = find_in(&upper, start + 1, upper.len(), MAGIC_PREFIX);
        let bound = next.unwrap_or(upper.len());
        let end = find_in(&upper, start, bound, END_LINE).map_or(bound, |i| i + END_LINE.len());
        out.push(&text[start..end]);
    }
    out
}

/// Where `needle` first occurs in `hay[from..to]` (as an offset into
/// `hay`). `from` may fall inside a character: the search starts at the
/// next character boundary.
fn find_in(hay: &str, mut from: usize, to: usize, needle: &str) -> Option<usize> {
    while from < to && !hay.is_char_boundary(from) {
        from += 1;
    }
    if from >= to {
        return None;
    }
    let found = hay[from..to].find(needle);
    // A search reads up to the end of its match, or its whole range.
    #[cfg(test)]
    SEARCHED.with(|n| n.set(n.get() + found.map_or(to - from, |i| i + needle.len())));
    found.map(|i| from + i)
}

#[cfg(test)]
thread_local! {
    /// Bytes searched by `find_in` on this thread: the structural check
    /// that reading parts is linear.
    static SEARCHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn decode_block(block: &str) -> Result<Part, BackupError> {
    let label = block
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Part:")
                .map(|v| v.split_whitespace().next().unwrap_or("?").to_owned())
        })
        .unwrap_or_else(|| "?".to_owned());
    let mut lines: Vec<Option<String>> = Vec::new();
    for line in block.lines().skip(1) {
        let Some((n, rest)) = numbered(line) else {
            continue;
        };
        if n == 0 || n > 400 {
            return Err(BackupError::Line {
                part: label,
                error: ShareTextError::TooManyLines(n),
            });
        }
        let data = check_line(n, &normalize(rest)).map_err(|error| BackupError::Line {
            part: label.clone(),
            error,
        })?;
        if lines.len() < n {
            lines.resize(n, None);
        }
        lines[n - 1] = Some(data.to_string());
    }
    let mut symbols = String::new();
    for (i, l) in lines.iter().enumerate() {
        let l = l.as_ref().ok_or_else(|| BackupError::Line {
            part: label.clone(),
            error: ShareTextError::MissingLine(i + 1),
        })?;
        symbols.push_str(l);
    }
    from_symbols(&symbols, label)
}

/// A part in compact form: the prefix, then the body's symbols.
fn decode_compact(line: &str) -> Result<Part, BackupError> {
    let symbols = line.strip_prefix(COMPACT_PREFIX).unwrap_or(line);
    // Its number, for messages, is only known once it decodes.
    from_symbols(&normalize(symbols), "?".to_owned())
}

/// A part from its body's base32 symbols, checked.
fn from_symbols(symbols: &str, label: String) -> Result<Part, BackupError> {
    let bytes = base32()
        .decode(symbols.as_bytes())
        .map_err(|_| BackupError::Damaged(label.clone()))?;
    if bytes.len() < 4 || part_check(&bytes[..bytes.len() - 4]) != bytes[bytes.len() - 4..] {
        return Err(BackupError::Damaged(label));
    }
    let part =
        parse_part(&bytes[..bytes.len() - 4]).map_err(|_| BackupError::Damaged(label.clone()))?;
    if part.part == 0
        || part.part > part.parts
        || part.parts as usize > MAX_PARTS
        || part.chunk.len() > MAX_CHUNK
    {
        return Err(BackupError::Damaged(label));
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn split_and_restore_in_any_order() {
        let id = VaultId([4; 16]);
        let f = file(3500);
        let parts = split(&f, &id);
        assert_eq!(parts.len(), 4);
        assert!(parts[1].contains("Part: 2 of 4"));
        let mut a = Assembler::new();
        for p in [&parts[3], &parts[0], &parts[2], &parts[0]] {
            a.add_text(p).unwrap();
        }
        assert_eq!(
            a.finish().unwrap_err(),
            BackupError::Missing {
                missing: vec![2],
                total: 4
            }
        );
        a.add_text(&parts[1].to_lowercase()).unwrap();
        assert_eq!(a.finish().unwrap(), f);
        // Several parts in one text (as zbarimg prints a page).
        let mut b = Assembler::new();
        b.add_text(&parts.concat()).unwrap();
        assert_eq!(b.finish().unwrap(), f);
    }

    #[test]
    fn damage_mixing_and_typos_are_named() {
        let id = VaultId([4; 16]);
        let parts = split(&file(2900), &id);
        let line = parts[1].lines().find(|l| l.starts_with("02: ")).unwrap();
        let mut typo = line.as_bytes().to_vec();
        typo[5] = if typo[5] == b'Z' { b'Y' } else { b'Z' };
        let bad = parts[1].replace(line, std::str::from_utf8(&typo).unwrap());
        let err = Assembler::new().add_text(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "part 2: line 2: check code does not match (typo on this line?)"
        );
        let other = split(&file(3500), &VaultId([5; 16]));
        let mut a = Assembler::new();
        a.add_text(&parts[0]).unwrap();
        assert!(matches!(
            a.add_text(&other[1]),
            Err(BackupError::Mixed { part: 2, .. })
        ));
        assert_eq!(
            Assembler::new().add_text("hello").unwrap_err(),
            BackupError::NoParts
        );
        // A part from another copy of the same vault (same id and count,
        // different bytes) is caught by the whole-file hash.
        let mut changed = file(2900);
        changed[2500] ^= 1;
        let copy = split(&changed, &id);
        let mut a = Assembler::new();
        for p in [&parts[0], &parts[1]] {
            a.add_text(p).unwrap();
        }
        assert!(matches!(
            a.add_text(&copy[2]),
            Err(BackupError::Mixed { .. })
        ));
    }

    /// Restore is linear in its input: the bytes searched to find n parts
    /// stay under three times the text, whatever n (the old loop searched the
    /// rest of the text again for each part: quadratic). Counts work
    /// instead of timing it, so it cannot be flaky.
    #[test]
    fn reading_parts_searches_each_byte_a_bounded_number_of_times() {
        let id = VaultId([6; 16]);
        let parts: Vec<String> = split_in(&file(150 * 1024), &id, 150)
            .into_iter()
            .map(|p| p.text)
            .collect();
        assert_eq!(parts.len(), 1024);
        for copies in [1, 2, 4, 8] {
            let text: String = (0..copies)
                .flat_map(|_| parts.iter().map(String::as_str))
                .collect();
            SEARCHED.with(|n| n.set(0));
            let mut a = Assembler::new();
            let read = a.add_text(&text).unwrap();
            let searched = SEARCHED.with(std::cell::Cell::get);
            println!(
                "budget: {} parts, {} bytes of text, {searched} bytes searched",
                read.len(),
                text.len()
            );
            assert_eq!(read.len(), 1024 * copies);
            assert!(
                searched <= 3 * text.len(),
                "{searched} > 3 × {}",
                text.len()
            );
            assert_eq!(a.finish().unwrap(), file(150 * 1024));
        }
        // Parts missing their END line are still cut at the next part, in
        // one pass.
        let text: String = parts[..64]
            .iter()
            .map(|p| p.replace(END_LINE, ""))
            .collect();
        SEARCHED.with(|n| n.set(0));
        let mut a = Assembler::new();
        assert_eq!(a.add_text(&text).unwrap().len(), 64);
        assert!(SEARCHED.with(std::cell::Cell::get) <= 3 * text.len());
    }

    /// The compact (QR) form restores like the text, alone or mixed with
    /// text parts and other lines, and is all QR alphanumerics.
    #[test]
    fn compact_parts_restore() {
        let id = VaultId([8; 16]);
        let f = file(2500);
        let parts = split_in(&f, &id, CHUNK);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(p
                .compact
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-:".contains(&b)));
            assert!(p.compact.len() < 1800, "{}", p.compact.len());
        }
        let mut a = Assembler::new();
        a.add_text(&format!(
            "{}\nnoise\n{}\n",
            parts[2].compact, parts[0].compact
        ))
        .unwrap();
        a.add_text(&parts[1].text).unwrap();
        assert_eq!(a.finish().unwrap(), f);
        let mut damaged = parts[1].compact.clone().into_bytes();
        damaged[100] = if damaged[100] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            Assembler::new()
                .add_text(std::str::from_utf8(&damaged).unwrap())
                .unwrap_err(),
            BackupError::Damaged("?".into())
        );
        // Parts of 150 bytes (backups printed before) still read.
        let old = split_in(&f, &id, 150);
        let mut a = Assembler::new();
        for p in &old {
            a.add_text(&p.text).unwrap();
        }
        assert_eq!(a.finish().unwrap(), f);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn roundtrip_any_file(f in proptest::collection::vec(any::<u8>(), 1..2000)) {
            let id = VaultId([1; 16]);
            let mut a = Assembler::new();
            for p in split(&f, &id).iter().rev() {
                a.add_text(p).unwrap();
            }
            prop_assert_eq!(a.finish().unwrap(), f);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = Assembler::new().add_text(&format!("BREAKGLASS BACKUP v1\r\né{s}\r\nEND BREAKGLASS BACKUP\r\nBREAKGLASS BACKUP v1 ü"));
            let _ = Assembler::new().add_text(&s);
            let _ = Assembler::new().add_text(&format!("BREAKGLASS BACKUP v1\n{s}\nEND BREAKGLASS BACKUP"));
        }
    }
}
