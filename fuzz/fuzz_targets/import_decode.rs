//! The import front end (encoding detection and decoding, `#TYPE`/`sep=`
//! preamble, delimiter sniffing, physical line numbers): never panics, and
//! what it decodes round-trips — UTF-8 text read back from its bytes, and the
//! same text written as UTF-16LE with a BOM, decode to the same text. The
//! streaming front end (`source::scan`, `source::Lines`) agrees with the
//! held one: the same encoding, preamble, delimiter, text and line numbers.
#![no_main]
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vault_core::import::decode::{decode, decode_text, TextEncoding};
use vault_core::import::source::{scan, Lines, Scan};

fuzz_target!(|data: &[u8]| {
    let scanned = scan(&mut Cursor::new(data.to_vec()), None);
    let Ok(d) = decode(data, None) else {
        assert!(!matches!(scanned, Ok(Scan::Utf8(_))));
        return;
    };
    if let Ok(Scan::Utf8(f)) = &scanned {
        assert_eq!(&data[f.start as usize..], d.text.as_bytes());
        assert_eq!(
            (f.encoding, f.delimiter, f.preamble, f.lines_before),
            (d.encoding, d.delimiter, d.preamble, d.lines_before())
        );
    } else {
        assert!(!matches!(d.encoding, TextEncoding::Utf8 | TextEncoding::Utf8Bom));
    }
    assert!(matches!(d.delimiter, b',' | b';' | b'\t') || !d.sniffed);
    // Line numbers grow with the offset and start at the header's line.
    let mut last = 0;
    for offset in 0..=d.text.len() as u64 {
        let line = d.line_of(offset);
        assert!(line >= last && line >= 1);
        last = line;
    }
    // Counted as the CSV reader reads, every record's line is the same.
    let lines = Lines::new(Cursor::new(d.text.as_bytes().to_vec()), d.lines_before());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .delimiter(d.delimiter)
        .trim(csv::Trim::All)
        .from_reader(lines);
    let mut record = csv::StringRecord::new();
    loop {
        let offset = reader.position().byte();
        let read = reader.read_record(&mut record);
        let at = match &read {
            Ok(_) => record.position().map_or(offset, csv::Position::byte),
            Err(e) => e.position().map_or(offset, csv::Position::byte),
        };
        assert_eq!(reader.get_mut().line_of(at), d.line_of(at));
        if !matches!(read, Ok(true)) {
            break;
        }
    }
    let (text, encoding) = decode_text(data).unwrap();
    if encoding == TextEncoding::Utf8 {
        assert_eq!(text.as_bytes(), data);
    }
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let (again, enc) = decode_text(&utf16).unwrap();
    assert_eq!((again.as_str(), enc), (text.as_str(), TextEncoding::Utf16Le));
});
