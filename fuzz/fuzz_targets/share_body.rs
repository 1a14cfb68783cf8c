//! The binary share body: decode, and re-encode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::share::ShareBody;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = ShareBody::decode(data) {
        assert_eq!(body.encode().as_slice(), data, "canonical re-encoding differs");
    }
});
