//! The share text parser (typed, pasted or scanned shares).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vault_core::share_text::decode(text);
        let _ = vault_core::share_text::header_field(text, "Custodian");
    }
});
