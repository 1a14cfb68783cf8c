//! Request and contribution tokens (pasted from chat): parse, and a parsed
//! request re-encodes to a token that parses to the same request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::remote::{Asking, Purpose, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(req) = Request::from_text(text) {
        assert_eq!(Request::from_text(&req.to_token()).unwrap(), req);
        let asking = Asking {
            vault_id: req.vault_id,
            fingerprint: [0; 32],
            generation: 1,
            operator: String::new(),
            purpose: Purpose::Unseal,
        };
        let (_, key) = Request::new(&asking, "", 0, 60).unwrap();
        let _ = req.open(&key, text);
    }
});
