//! Record bodies of every type: decode, and re-encode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::record::Record;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else { return };
    if let Ok(record) = Record::decode(kind, body) {
        assert_eq!(record.encode_body(), body, "canonical re-encoding differs");
    }
});
