//! Deposit tokens and recipients (pasted from MDM profiles, scripts, token
//! files): never panic, and whatever parses re-encodes to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::recipient::Recipient;
use vault_core::token::{self, Token};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (_, parsed) in token::find(text) {
        if let Ok(t) = parsed {
            assert_eq!(Token::parse(&t.to_line()).unwrap(), t);
        }
    }
    if let Ok(r) = Recipient::parse(text) {
        assert_eq!(Recipient::parse(&r.to_string()).unwrap(), r);
    }
});
