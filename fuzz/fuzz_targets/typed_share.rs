//! Typed entry of a share, line by line (vault-core `text::typed`), and
//! the compact QR form: whatever is typed, nothing panics, and a share
//! the typed entry accepts reads back the same from its compact form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::text::typed::{Finish, TypedShare};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut typed = TypedShare::new(Vec::new());
    for line in text.lines().take(256) {
        match line.trim() {
            "b" => {
                typed.back();
            }
            "" => {
                if let Finish::Fix(fix) = typed.finish() {
                    typed.accept_fix(&fix);
                }
            }
            l => {
                typed.enter(l);
            }
        }
    }
    if let Finish::Done(body) = typed.finish() {
        let compact = vault_core::share_text::compact(&body);
        assert_eq!(vault_core::share_text::decode(&compact).ok(), Some(body));
    }
    let _ = vault_core::share_text::decode(&format!("BGS2{text}"));
});
