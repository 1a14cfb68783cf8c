//! Paper-backup parts (scanned or typed, any order): never panic, and
//! whatever assembles hashes to what the parts claim.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::backup::Assembler;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut a = Assembler::new();
    let _ = a.add_text(text);
    if let Ok(file) = a.finish() {
        let _ = vault_core::log::parse(&file);
    }
});
