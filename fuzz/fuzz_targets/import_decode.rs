//! The import front end (encoding detection and decoding, `#TYPE`/`sep=`
//! preamble, delimiter sniffing, physical line numbers): never panics, and
//! what it decodes round-trips — UTF-8 text read back from its bytes, and the
//! same text written as UTF-16LE with a BOM, decode to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::import::decode::{decode, decode_text, TextEncoding};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = decode(data, None) else { return };
    assert!(matches!(d.delimiter, b',' | b';' | b'\t') || !d.sniffed);
    // Line numbers grow with the offset and start at the header's line.
    let mut last = 0;
    for offset in 0..=d.text.len() as u64 {
        let line = d.line_of(offset);
        assert!(line >= last && line >= 1);
        last = line;
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
