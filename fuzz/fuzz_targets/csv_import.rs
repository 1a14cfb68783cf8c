//! CSV import rows (exports from Jamf, Intune, Entra ID, LAPS, or any CSV):
//! never panic, and every row is either read or named with its line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::entry::EntryKind;
use vault_core::import::{read, Format, GenericColumns, Options};

fuzz_target!(|data: &[u8]| {
    let generic = Format::Generic(GenericColumns {
        label: "name".into(),
        secret: "secret".into(),
        device: Some("host".into()),
        username: None,
        kind: EntryKind::RecoveryKey,
    });
    for format in [Format::FileVault, Format::BitLocker, Format::Laps, generic] {
        if let Ok(parsed) = read(data, &format, &Options::default()) {
            for e in &parsed.errors {
                assert!(e.line >= 2, "a refused row is never the header");
                assert!(!e.to_string().is_empty());
            }
            for r in &parsed.rows {
                assert!(r.line >= 2 && r.label.len() <= 128);
            }
        }
    }
});
