//! CSV import rows (exports from Jamf, Intune, Entra ID, LAPS, or any CSV):
//! never panic, and every row is either read or named with its line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::entry::EntryKind;
use vault_core::import::{read, Format, GenericColumns};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let generic = Format::Generic(GenericColumns {
        label: "name".into(),
        secret: "secret".into(),
        device: Some("host".into()),
        username: None,
        kind: EntryKind::RecoveryKey,
    });
    for format in [Format::FileVault, Format::BitLocker, Format::Laps, generic] {
        if let Ok((rows, errors)) = read(text, &format) {
            for e in &errors {
                assert!(!e.why.is_empty());
            }
            let _ = rows.len();
        }
    }
});
