//! Recovery-key format checks (typed or imported keys): never panic, and a
//! key that passes is in canonical form (checking it again changes nothing).
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::recovery_key::{check, check_key_id};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((canonical, format)) = check(text) {
        assert_eq!(check(&canonical).unwrap(), (canonical.clone(), format));
    }
    let _ = check_key_id(text);
});
