//! The vault file parser and replay: no input may panic, and a parsed
//! file re-encodes (record by record) to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::{log, record::Record, vault::Vault};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = log::parse(data) else { return };
    let _ = Vault::replay(&parsed);
    let version = log::read_header(data).expect("parsed, so the header is read");
    let mut out = log::header(version).to_vec();
    let mut prev = log::genesis_prev(version);
    for frame in &parsed.frames {
        let Ok(record) = Record::decode(frame.kind, &frame.body) else { return };
        let (bytes, hash) = log::encode_frame(&prev, record.kind(), &record.encode_body());
        out.extend_from_slice(&bytes);
        prev = hash;
    }
    let end = parsed.torn.as_ref().map_or(data.len(), |t| t.offset as usize);
    assert_eq!(out, &data[..end], "canonical re-encoding differs");
});
