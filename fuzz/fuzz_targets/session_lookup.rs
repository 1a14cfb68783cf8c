//! Session lookups (typed at a prompt or sent by a help-desk tool): parse
//! never panics; a key ID is 8 upper-case hex digits; a name is the
//! trimmed input; a refusal never repeats what was given.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::vault::session::SessionLookup;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match SessionLookup::parse(text) {
        Ok(SessionLookup::KeyId(id)) => {
            let s = id.as_str();
            assert!(s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        }
        Ok(SessionLookup::Name(name)) => assert_eq!(name, text.trim()),
        Err(e) => {
            let t = text.trim();
            assert!(t.len() < 4 || !e.to_string().contains(t));
        }
    }
});
