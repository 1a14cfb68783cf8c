//! Reading an export where it lies: a file of any length is read in passes
//! over a seekable source, never held whole (docs/HARDENING.md, "Budgets").
//!
//! - [`scan`] reads the source once from the start in 64 KiB pieces: a
//!   UTF-8 byte order mark, whether every byte is UTF-8 without NUL, the
//!   preamble and the delimiter (from the first 1 MiB, as [`super::decode`]
//!   settles them). Anything but UTF-8 (UTF-16, Windows-1252) is decoded
//!   whole by [`super::decode`] instead, within [`MAX_HELD`].
//! - [`Window`] shows the CSV reader the text after the byte order mark and
//!   preamble, with offsets counted from there (what `csv::Position` holds).
//! - [`Lines`] counts physical lines as the CSV reader reads, so that a
//!   record's line is known without the text: the same numbers as
//!   [`super::decode::Decoded::line_of`] (tested against it), and refuses
//!   a record longer than [`MAX_RECORD`] before holding more of it.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};

use zeroize::Zeroizing;

use super::decode::{
    first_line, preamble_of, sniff_delimiter, DecodeError, Preamble, TextEncoding,
};

/// A source an import reads from: a file, or bytes in memory.
pub trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// The longest export that is decoded whole (UTF-16, Windows-1252): its
/// bytes and its text are both held while it is imported. UTF-8 files of
/// any length are read where they lie.
pub const MAX_HELD: u64 = 64 << 20;

/// The longest record (a row, quoted line breaks and all): longer, and the
/// file is refused at that line rather than held.
pub const MAX_RECORD: u64 = 1 << 20;

/// How much of a file's start the preamble and delimiter are read from.
const PREFIX: usize = 1 << 20;

/// The piece [`scan`] reads at a time.
const PIECE: usize = 64 << 10;

/// What [`scan`] settled about a UTF-8 export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Front {
    /// UTF-8, with or without a byte order mark.
    pub encoding: TextEncoding,
    /// The field delimiter.
    pub delimiter: u8,
    /// Whether it was sniffed.
    pub sniffed: bool,
    /// A skipped first line.
    pub preamble: Option<Preamble>,
    /// Where the text (the header) starts in the source.
    pub start: u64,
    /// The text's length: what was checked, and all that is read.
    pub len: u64,
    /// Physical lines before it (the preamble).
    pub lines_before: u64,
}

/// What [`scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// UTF-8 text, read where it lies.
    Utf8(Front),
    /// Another encoding: decode it whole.
    Other,
}

/// Reads up to `buf.len()` bytes (fewer only at the end of the source).
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Why a scan stopped.
#[derive(Debug)]
pub enum ScanError {
    /// The text cannot be read.
    Decode(DecodeError),
    /// The source could not be read.
    Io(io::Error),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<DecodeError> for ScanError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// Reads `source` once from its start (see the module documentation),
/// holding at most 1 MiB of it.
pub fn scan(source: &mut dyn Source, delimiter: Option<u8>) -> Result<Scan, ScanError> {
    scan_in(source, delimiter, PREFIX, PIECE)
}

/// [`scan`], reading the first `prefix` bytes, then `piece` at a time.
fn scan_in(
    source: &mut dyn Source,
    delimiter: Option<u8>,
    prefix: usize,
    piece: usize,
) -> Result<Scan, ScanError> {
    source.seek(SeekFrom::Start(0))?;
    let mut buf = Zeroizing::new(vec![0u8; prefix.max(piece + 3)]);
    let filled = fill(source, &mut buf[..prefix])?;
    let head = &buf[..filled];
    let bom = match encoding_rs::Encoding::for_bom(head) {
        None => 0,
        Some((enc, bom)) if enc == encoding_rs::UTF_8 => bom,
        Some(_) => return Ok(Scan::Other),
    };
    let encoding = if bom > 0 {
        TextEncoding::Utf8Bom
    } else {
        TextEncoding::Utf8
    };
    let not_utf8 = || {
        if bom > 0 {
            Err(ScanError::Decode(DecodeError::Malformed(encoding.name())))
        } else {
            Ok(Scan::Other)
        }
    };
    // The start: its valid part (a character cut at the end of the prefix
    // is carried into the first piece).
    let valid = match std::str::from_utf8(&head[bom..]) {
        Ok(s) => s.len(),
        Err(e) if e.error_len().is_none() && filled == prefix => e.valid_up_to(),
        Err(_) => return not_utf8(),
    };
    let text = std::str::from_utf8(&head[bom..bom + valid]).expect("checked just above");
    // Decided in the order `decode` decides: not UTF-8, then NUL, then
    // the rest.
    let mut nul = text.contains('\0');
    let (end, next) = first_line(text);
    let (preamble, from_sep) = preamble_of(&text[..end]);
    let skip = if preamble.is_some() { next } else { 0 };
    // The header's first line must end within the prefix (a preamble's
    // CRLF cut after its CR ends there too: the header then begins past
    // it), or the delimiter and the text's start are not known.
    let header_open = first_line(&text[skip..]).0 == text.len() - skip && filled == prefix;
    let (delimiter, sniffed) = match delimiter.or(from_sep) {
        Some(d) => (d, false),
        None => (sniff_delimiter(&text[skip..]), true),
    };
    let mut blank = text[skip..].chars().all(char::is_whitespace);
    // The rest, a piece at a time: UTF-8, no NUL, anything but whitespace.
    let mut carry = filled - bom - valid;
    let mut more = false;
    let mut total = filled as u64;
    buf.copy_within(bom + valid..filled, 0);
    loop {
        let n = fill(source, &mut buf[carry..carry + piece])?;
        let piece = &buf[..carry + n];
        let valid = match std::str::from_utf8(piece) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
            Err(_) => return not_utf8(),
        };
        let text = std::str::from_utf8(&piece[..valid]).expect("checked just above");
        nul = nul || text.contains('\0');
        blank = blank && text.chars().all(char::is_whitespace);
        if n == 0 {
            break;
        }
        more = true;
        total += n as u64;
        carry = piece.len() - valid;
        buf.copy_within(valid..valid + carry, 0);
    }
    if nul {
        return Err(DecodeError::NotText.into());
    }
    if header_open && more {
        return Err(DecodeError::LongFirstLine.into());
    }
    if blank {
        return Err(DecodeError::Empty.into());
    }
    Ok(Scan::Utf8(Front {
        encoding,
        delimiter,
        sniffed,
        preamble,
        start: (bom + skip) as u64,
        len: total - (bom + skip) as u64,
        lines_before: u64::from(preamble.is_some()),
    }))
}

/// A source seen from `base` on, up to `len` bytes (what [`scan`]
/// checked: bytes appended since are not read): offsets count from `base`.
pub struct Window<R> {
    inner: R,
    base: u64,
    len: u64,
    /// Where the next read starts (from `base`).
    pos: u64,
    /// With [`Window::record_at_a_time`], bytes read since the last seek.
    since_seek: Option<u64>,
}

impl<R: Read + Seek> Window<R> {
    /// `len` bytes of `inner` from `base`, read from there.
    pub fn new(mut inner: R, base: u64, len: u64) -> io::Result<Self> {
        inner.seek(SeekFrom::Start(base))?;
        Ok(Self {
            inner,
            base,
            len,
            pos: 0,
            since_seek: None,
        })
    }
    /// From now on, reading more than a record's budget since the last
    /// call (or seek) is an error ([`RecordTooLong`]): call it before
    /// reading each row again (the CSV reader does not seek when the row
    /// follows the one before).
    pub fn record_at_a_time(&mut self) {
        self.since_seek = Some(0);
    }
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(since) = self.since_seek {
            if since > MAX_RECORD + PIECE as u64 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, RecordTooLong));
            }
        }
        let left = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        let n = self.inner.read(&mut buf[..n])?;
        self.pos += n as u64;
        if let Some(since) = &mut self.since_seek {
            *since += n as u64;
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Window<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.inner.seek(SeekFrom::Start(self.base + to))?;
        self.pos = to;
        if self.since_seek.is_some() {
            self.since_seek = Some(0);
        }
        Ok(to)
    }
}

/// The error [`Lines`] gives past [`MAX_RECORD`].
#[derive(Debug)]
pub struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a row longer than {} MiB", MAX_RECORD >> 20)
    }
}

impl std::error::Error for RecordTooLong {}

/// The bit of a [`Lines`] break marking that it ends a line.
const ENDS: u64 = 1 << 63;

/// Passes a text on to the CSV reader, noting where its line breaks are.
/// A line ends at LF, at the LF of a CRLF, and at a lone CR (as
/// [`super::decode::Decoded::line_of`] counts them).
pub struct Lines<R> {
    inner: R,
    /// Bytes passed on.
    pos: u64,
    /// CR and LF bytes passed on and not yet behind a record asked about:
    /// their offsets, with [`ENDS`] when they end a line.
    breaks: VecDeque<u64>,
    /// Lines ended before the breaks still held.
    ended: u64,
    /// Physical lines before the text.
    lines_before: u64,
    /// Where the record being read starts (for [`MAX_RECORD`]).
    record_start: u64,
    /// Whether the last byte passed on was a CR.
    last_cr: bool,
}

impl<R> Lines<R> {
    /// Counts the lines of `inner`, read from its start, after
    /// `lines_before` lines of preamble.
    pub fn new(inner: R, lines_before: u64) -> Self {
        Self {
            inner,
            pos: 0,
            breaks: VecDeque::new(),
            ended: 0,
            lines_before,
            record_start: 0,
            last_cr: false,
        }
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The physical line (1-based, in the whole file) of the record that
    /// starts at `offset` (as the CSV reader reports it: maybe on the line
    /// break before the record, which is skipped). Offsets must not go
    /// backwards; the CSV reader must have read the record.
    pub fn line_of(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&b) = self.breaks.front() {
            let p = b & !ENDS;
            if p > at {
                break;
            }
            // Behind the record, or a break the record's start sits on.
            if p == at {
                at += 1;
            }
            self.ended += u64::from(b & ENDS != 0);
            self.breaks.pop_front();
        }
        self.lines_before + 1 + self.ended
    }

    /// Marks where the next record starts (for [`MAX_RECORD`]).
    pub fn next_record_at(&mut self, offset: u64) {
        self.record_start = offset;
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The CSV reader reads ahead by its buffer (8 KiB): allow for it.
        if self.pos.saturating_sub(self.record_start) > MAX_RECORD + PIECE as u64 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.pos + i as u64;
            match b {
                b'\n' => {
                    // The CR of a CRLF does not end a line; its LF does.
                    let crlf = at > 0 && self.cr_before(at, buf, i);
                    if let Some(last) = self.breaks.back_mut() {
                        if crlf && *last == (at - 1) | ENDS {
                            *last &= !ENDS;
                        }
                    }
                    self.breaks.push_back(at | ENDS);
                }
                b'\r' => self.breaks.push_back(at | ENDS),
                _ => {}
            }
        }
        self.last_cr = n > 0 && buf[n - 1] == b'\r';
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R> Lines<R> {
    /// Whether the byte before `at` (`buf[i]`) is a CR: in this read, or
    /// the last byte of the one before.
    fn cr_before(&self, at: u64, buf: &[u8], i: usize) -> bool {
        debug_assert!(at > 0);
        match i {
            0 => self.last_cr,
            _ => buf[i - 1] == b'\r',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::decode::decode;
    use proptest::prelude::*;
    use std::io::Cursor;

    /// Bytes given at most `step` a read, so that pieces are cut anywhere.
    struct Trickle {
        inner: Cursor<Vec<u8>>,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step);
            self.inner.read(&mut buf[..n])
        }
    }

    impl Seek for Trickle {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    fn trickle(bytes: &[u8], step: usize) -> Trickle {
        Trickle {
            inner: Cursor::new(bytes.to_vec()),
            step,
        }
    }

    /// Every record's offset and the line [`Lines`] gives it.
    fn counted_lines(text: &[u8], step: usize, lines_before: u64) -> Vec<(u64, u64)> {
        let lines = Lines::new(trickle(text, step), lines_before);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .trim(csv::Trim::All)
            .from_reader(lines);
        let mut record = csv::StringRecord::new();
        let mut found = Vec::new();
        loop {
            let offset = reader.position().byte();
            let read = reader.read_record(&mut record);
            let at = match &read {
                Ok(_) => record.position().map_or(offset, csv::Position::byte),
                Err(e) => e.position().map_or(offset, csv::Position::byte),
            };
            found.push((at, reader.get_mut().line_of(at)));
            if matches!(read, Ok(false)) {
                return found;
            }
        }
    }

    #[test]
    fn lines_are_counted_as_the_held_text_numbers_them() {
        let text = b"#TYPE T\r\nh\r\nr1\r\n\"a\r\nb\"\r\n\r\n\rr3\rr4\nr5";
        let d = decode(text, None).unwrap();
        let found = counted_lines(d.text.as_bytes(), 1, d.lines_before());
        let lines: Vec<u64> = found.iter().map(|&(_, l)| l).collect();
        // h r1 "a..b" r3 r4 r5 (the blank lines are skipped), then the end.
        assert_eq!(&lines[..6], &[2, 3, 4, 8, 9, 10]);
        for (at, line) in found {
            assert_eq!(line, d.line_of(at), "offset {at}");
        }
    }

    proptest! {
        /// [`Lines`] numbers every record as [`Decoded::line_of`] does over
        /// the held text, however the reads cut the text.
        #[test]
        fn counted_lines_match_the_held_text(
            text in "(#TYPE x\r?\n)?[a,\"\r\n]{0,60}",
            step in 1usize..9,
        ) {
            let Ok(d) = decode(text.as_bytes(), None) else { return Ok(()) };
            for (at, line) in counted_lines(d.text.as_bytes(), step, d.lines_before()) {
                prop_assert_eq!(line, d.line_of(at), "offset {}", at);
            }
        }

        /// [`scan`] settles what [`decode`] settles over the whole bytes:
        /// UTF-8 read where it lies (the same text, delimiter, preamble and
        /// lines), anything else left to `decode`, the same refusals.
        #[test]
        fn scanning_agrees_with_decoding_the_whole(
            bom in 0usize..4,
            body in "(#TYPE x\r?\n|sep=;\n)?[a,;\t\"\r\n é\u{0}]{0,40}",
            junk in proptest::option::weighted(0.2, (0usize..48, any::<u8>())),
            prefix in 4usize..48,
            piece in 1usize..9,
        ) {
            let boms: [&[u8]; 4] = [b"", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];
            let mut bytes = [boms[bom], body.as_bytes()].concat();
            if let Some((at, b)) = junk {
                let at = at.min(bytes.len());
                bytes.insert(at, b);
            }
            let scanned = scan_in(&mut trickle(&bytes, piece), None, prefix, piece);
            let decoded = decode(&bytes, None);
            match scanned {
                Ok(Scan::Utf8(f)) => {
                    let d = decoded.expect("scan read it as UTF-8");
                    prop_assert_eq!(d.encoding, f.encoding);
                    prop_assert_eq!(d.preamble, f.preamble);
                    prop_assert_eq!(d.lines_before(), f.lines_before);
                    prop_assert_eq!(&bytes[f.start as usize..], d.text.as_bytes());
                    if bytes.len() <= prefix {
                        prop_assert_eq!((d.delimiter, d.sniffed), (f.delimiter, f.sniffed));
                    }
                }
                Ok(Scan::Other) => prop_assert!(!matches!(
                    decoded.map(|d| d.encoding),
                    Ok(TextEncoding::Utf8 | TextEncoding::Utf8Bom)
                )),
                Err(ScanError::Decode(DecodeError::LongFirstLine)) => {
                    prop_assert!(bytes.len() > prefix);
                }
                Err(ScanError::Decode(e)) => prop_assert_eq!(decoded.err(), Some(e)),
                Err(ScanError::Io(e)) => prop_assert!(false, "{e}"),
            }
        }
    }

    #[test]
    fn a_first_line_past_the_prefix_is_refused_only_when_more_follows() {
        let long = [b'a'; 10];
        let scanned = |bytes: &[u8]| scan_in(&mut trickle(bytes, 3), None, 10, 3);
        assert!(matches!(scanned(&long), Ok(Scan::Utf8(_))));
        let longer = [&long[..], b"b\nc"].concat();
        assert!(matches!(
            scanned(&longer),
            Err(ScanError::Decode(DecodeError::LongFirstLine))
        ));
    }

    #[test]
    fn a_preamble_whose_crlf_is_cut_by_the_prefix_is_not_misread() {
        // Red team: the prefix ended on the CR of "#TYPE x\r\n", the text
        // then started on the LF and the delimiter was sniffed from nothing.
        let bytes = b"#TYPE x\r\nh;a\n1;2\n";
        let scanned = scan_in(&mut trickle(bytes, 3), None, 8, 3);
        assert!(
            matches!(scanned, Err(ScanError::Decode(DecodeError::LongFirstLine))),
            "{scanned:?}"
        );
        // With the header inside the prefix it is read as decode reads it.
        let Ok(Scan::Utf8(f)) = scan_in(&mut trickle(bytes, 3), None, 14, 3) else {
            panic!("not read")
        };
        assert_eq!((f.start, f.delimiter, f.lines_before), (9, b';', 1));
    }

    #[test]
    fn reading_rows_again_is_budgeted_a_row_at_a_time() {
        // Rows read again one after another (no seek between them) each get
        // the whole budget; one read past it without a new row is refused.
        let text = vec![b'x'; 3 * MAX_RECORD as usize];
        let mut w = Window::new(Cursor::new(text.clone()), 0, text.len() as u64).unwrap();
        w.record_at_a_time();
        let mut buf = vec![0u8; 1 << 16];
        let mut read = 0;
        while read < text.len() {
            w.record_at_a_time();
            read += w.read(&mut buf).unwrap();
        }
        w.seek(SeekFrom::Start(0)).unwrap();
        let err = loop {
            match w.read(&mut buf) {
                Ok(0) => panic!("read past the budget"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(err.get_ref().unwrap().is::<RecordTooLong>());
    }

    #[test]
    fn a_record_past_its_budget_stops_the_reading_there() {
        let mut text = b"h\nshort\n\"".to_vec();
        text.resize(text.len() + (MAX_RECORD as usize) + 2 * PIECE, b'x');
        text.extend_from_slice(b"\"\nafter\n");
        let mut lines = Lines::new(Cursor::new(text), 0);
        let mut buf = vec![0u8; 8192];
        let mut read = 0u64;
        let err = loop {
            match lines.read(&mut buf) {
                Ok(0) => panic!("read to the end past the budget"),
                Ok(n) => read += n as u64,
                Err(e) => break e,
            }
        };
        assert!(err.get_ref().unwrap().is::<RecordTooLong>());
        assert!(read <= MAX_RECORD + PIECE as u64 + 8192, "{read}");
    }
}
