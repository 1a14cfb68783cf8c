//! The front end of import: bytes of an export file in, text with its
//! delimiter and physical line numbers out.
//!
//! - Encoding: a byte order mark decides (UTF-8, UTF-16LE, UTF-16BE —
//!   what Windows PowerShell 5.1 `Out-File` and `>` write); without one,
//!   valid UTF-8 is UTF-8 and anything else is read as Windows-1252 (Excel's
//!   "CSV (Comma delimited)" on Western Windows). Decoding uses
//!   `encoding_rs`. Text that decodes with errors, holds NUL characters
//!   (UTF-16 without a BOM) or Windows-1252's unassigned bytes is refused.
//! - Preamble: a first line `#TYPE …` (Windows PowerShell 5.1 `Export-Csv`
//!   without `-NoTypeInformation`) or `sep=X` (Excel's delimiter hint) is
//!   skipped; `sep=X` also sets the delimiter.
//! - Delimiter: given by the caller, or sniffed from the header line: the
//!   most frequent of `,` `;` and tab outside quotes (`,` on a tie or when
//!   none occurs).
//! - Lines: physical, 1-based, counted from the file's first byte; LF, CRLF
//!   and a lone CR each end one line. A record's line is the line it starts
//!   on, so a quoted multi-line field does not shift later numbers.

use zeroize::Zeroizing;

/// The encodings an export file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte order mark.
    Utf8,
    /// UTF-8 with a byte order mark (Excel "CSV UTF-8", PowerShell 7 with
    /// `-Encoding utf8BOM`, Windows PowerShell 5.1 `Export-Csv -Encoding UTF8`).
    Utf8Bom,
    /// UTF-16 little-endian with a byte order mark (Windows PowerShell 5.1
    /// `Out-File`, `>`, `Export-Csv -Encoding Unicode`).
    Utf16Le,
    /// UTF-16 big-endian with a byte order mark.
    Utf16Be,
    /// Windows-1252 (Excel "CSV (Comma delimited)" in Western locales).
    Windows1252,
}

impl TextEncoding {
    /// A name for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf8Bom => "UTF-8 with BOM",
            Self::Utf16Le => "UTF-16LE with BOM",
            Self::Utf16Be => "UTF-16BE with BOM",
            Self::Windows1252 => "Windows-1252",
        }
    }
}

/// Why the bytes are not text we can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Malformed in the encoding its byte order mark names.
    #[error(
        "the file starts with a {0} byte order mark but is not valid {0}: save it as CSV UTF-8"
    )]
    Malformed(&'static str),
    /// NUL characters or unassigned bytes: not a text export (or UTF-16
    /// without a byte order mark).
    #[error("the file is not text in UTF-8, UTF-16 (with BOM) or Windows-1252 (binary, or UTF-16 without a BOM): save it as CSV UTF-8")]
    NotText,
    /// Nothing but a preamble or whitespace.
    #[error("the file is empty: no header line")]
    Empty,
    /// The header line does not end within the first MiB.
    #[error("the header line does not end within the file's first MiB: not a CSV export (save it as CSV UTF-8)")]
    LongFirstLine,
}

/// A decoded export, ready for the CSV reader.
pub struct Decoded {
    /// The text after the preamble.
    pub text: Zeroizing<String>,
    /// How the bytes were decoded.
    pub encoding: TextEncoding,
    /// The field delimiter.
    pub delimiter: u8,
    /// Whether the delimiter was sniffed (not given, not from `sep=`).
    pub sniffed: bool,
    /// A skipped first line, if any (`#TYPE …` or `sep=X`).
    pub preamble: Option<Preamble>,
    /// Byte offsets in `text` where each physical line starts.
    line_starts: Vec<usize>,
    /// Physical lines before `text` (the preamble).
    lines_before: u64,
}

/// A first line that is not the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// `#TYPE System.Management.Automation.PSCustomObject` and the like.
    PowerShellType,
    /// Excel's `sep=;`.
    ExcelSep,
}

impl Decoded {
    /// Physical lines before [`Decoded::text`] (the preamble).
    pub fn lines_before(&self) -> u64 {
        self.lines_before
    }

    /// The physical line (1-based, in the whole file) of byte `offset` of
    /// [`Decoded::text`].
    pub fn line_of(&self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset).unwrap_or(usize::MAX);
        // The csv crate may place a record's start on the line break that
        // ends the previous record (the `\n` of a CRLF, or blank lines it
        // skipped): a record starts at its first character.
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        let index = self.line_starts.partition_point(|&s| s <= offset);
        self.lines_before + index as u64
    }
}

/// Decodes `bytes` to text (see the module documentation).
pub fn decode_text(bytes: &[u8]) -> Result<(Zeroizing<String>, TextEncoding), DecodeError> {
    decode_text_owned(Zeroizing::new(bytes.to_vec()))
}

/// [`decode_text`], taking the bytes: UTF-8 (with or without a BOM)
/// becomes the text in place, without a copy.
pub fn decode_text_owned(
    mut bytes: Zeroizing<Vec<u8>>,
) -> Result<(Zeroizing<String>, TextEncoding), DecodeError> {
    let (text, encoding) = if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(&bytes) {
        if enc == encoding_rs::UTF_8 {
            bytes.drain(..bom);
            let text =
                utf8(bytes).map_err(|_| DecodeError::Malformed(TextEncoding::Utf8Bom.name()))?;
            (text, TextEncoding::Utf8Bom)
        } else {
            let which = if enc == encoding_rs::UTF_16LE {
                TextEncoding::Utf16Le
            } else {
                TextEncoding::Utf16Be
            };
            let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
            let text = Zeroizing::new(text.into_owned());
            if had_errors {
                return Err(DecodeError::Malformed(which.name()));
            }
            (text, which)
        }
    } else {
        match utf8(bytes) {
            Ok(text) => (text, TextEncoding::Utf8),
            Err(bytes) => {
                let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes);
                let text = Zeroizing::new(text.into_owned());
                // encoding_rs maps 0x81, 0x8D, 0x8F, 0x90 and 0x9D (unassigned
                // in Windows-1252) to C1 controls: no export holds them.
                if text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
                    return Err(DecodeError::NotText);
                }
                (text, TextEncoding::Windows1252)
            }
        }
    };
    if text.contains('\0') {
        return Err(DecodeError::NotText);
    }
    Ok((text, encoding))
}

/// `bytes` as a string if they are UTF-8 (moved, not copied), else the
/// bytes back.
fn utf8(mut bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<String>, Zeroizing<Vec<u8>>> {
    if std::str::from_utf8(&bytes).is_err() {
        return Err(bytes);
    }
    let vec = std::mem::take(&mut *bytes);
    Ok(Zeroizing::new(
        String::from_utf8(vec).expect("checked just above"),
    ))
}

/// The end of the first physical line of `text` (the index of its line
/// break, or the length), and the start of the next.
pub(super) fn first_line(text: &str) -> (usize, usize) {
    match text.find(['\r', '\n']) {
        Some(i) if text[i..].starts_with("\r\n") => (i, i + 2),
        Some(i) => (i, i + 1),
        None => (text.len(), text.len()),
    }
}

/// Whether a first line is a preamble, and the delimiter it names (`sep=X`).
pub(super) fn preamble_of(first: &str) -> (Option<Preamble>, Option<u8>) {
    if first.starts_with("#TYPE") {
        return (Some(Preamble::PowerShellType), None);
    }
    match first.strip_prefix("sep=").map(str::as_bytes) {
        Some(&[d]) => (Some(Preamble::ExcelSep), Some(d)),
        _ => (None, None),
    }
}

/// Counts `,` `;` and tab outside double quotes in the header line (which
/// may span lines inside quotes) and picks the most frequent.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = [b',', b';', b'\t']
        .into_iter()
        .zip(counts)
        .fold(
            (b',', 0),
            |best, (d, n)| if n > best.1 { (d, n) } else { best },
        );
    best.0
}

/// Decodes, skips a preamble, and settles the delimiter (`delimiter` if
/// given).
pub fn decode(bytes: &[u8], delimiter: Option<u8>) -> Result<Decoded, DecodeError> {
    decode_owned(Zeroizing::new(bytes.to_vec()), delimiter)
}

/// [`decode`], taking the bytes (UTF-8 is not copied).
pub fn decode_owned(
    bytes: Zeroizing<Vec<u8>>,
    delimiter: Option<u8>,
) -> Result<Decoded, DecodeError> {
    let (mut text, encoding) = decode_text_owned(bytes)?;
    let (end, next) = first_line(&text);
    let (preamble, from_sep) = preamble_of(&text[..end]);
    let lines_before = u64::from(preamble.is_some());
    if preamble.is_some() {
        text.drain(..next); // in place: no copy of the secrets is left behind
    }
    if text.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut line_starts = vec![0];
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line_starts.push(i + 1);
        }
    }
    let (delimiter, sniffed) = match delimiter.or(from_sep) {
        Some(d) => (d, false),
        None => (sniff_delimiter(&text), true),
    };
    Ok(Decoded {
        text,
        encoding,
        delimiter,
        sniffed,
        preamble,
        line_starts,
        lines_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        v
    }

    #[test]
    fn encodings_are_detected() {
        let d = decode(b"a,b\r\n1,2\r\n", None).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (TextEncoding::Utf8, "a,b\r\n1,2\r\n")
        );
        let d = decode(b"\xEF\xBB\xBFa,b\n", None).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (TextEncoding::Utf8Bom, "a,b\n")
        );
        let d = decode(&utf16le("n\u{e9},b\r\n"), None).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (TextEncoding::Utf16Le, "n\u{e9},b\r\n")
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend("x;y".encode_utf16().flat_map(u16::to_be_bytes));
        let d = decode(&be, None).unwrap();
        assert_eq!((d.encoding, d.delimiter), (TextEncoding::Utf16Be, b';'));
        let d = decode(b"Name\nJos\xE9\n", None).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            (TextEncoding::Windows1252, "Name\nJos\u{e9}\n")
        );
    }

    #[test]
    fn undecodable_files_say_what_to_do() {
        // UTF-16 without a BOM: NULs.
        let no_bom: Vec<u8> = "a,b".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let e = decode(&no_bom, None).err().unwrap();
        assert_eq!(e, DecodeError::NotText);
        assert!(e.to_string().contains("save it as CSV UTF-8"));
        // A lone surrogate after a UTF-16LE BOM.
        let e = decode(&[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00], None)
            .err()
            .unwrap();
        assert_eq!(e, DecodeError::Malformed("UTF-16LE with BOM"));
        assert_eq!(decode(b"\x81\x8d", None).err(), Some(DecodeError::NotText));
        assert_eq!(decode(b"#TYPE x\r\n", None).err(), Some(DecodeError::Empty));
    }

    #[test]
    fn delimiters_are_sniffed_outside_quotes() {
        assert_eq!(sniff_delimiter("a;b;c\n1,2"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("\"a;b;c\",d"), b',');
        assert_eq!(sniff_delimiter("single"), b',');
        assert_eq!(decode(b"sep=;\na,b\n", None).unwrap().delimiter, b';');
        assert_eq!(decode(b"a;b\n", Some(b',')).unwrap().delimiter, b',');
    }

    #[test]
    fn lines_are_physical() {
        let d = decode(b"#TYPE T\r\nh\r\nr1\r\n\"a\r\nb\"\r\nr3\r\n", None).unwrap();
        assert_eq!(d.preamble, Some(Preamble::PowerShellType));
        assert_eq!(d.line_of(0), 2, "the header");
        let at = |s: &str| d.text.find(s).unwrap() as u64;
        assert_eq!(d.line_of(at("r1")), 3);
        assert_eq!(d.line_of(at("\"a")), 4);
        assert_eq!(d.line_of(at("r3")), 6);
        let d = decode(b"h\rr1\rr2", None).unwrap();
        assert_eq!(d.line_of(d.text.find("r2").unwrap() as u64), 3);
    }
}
