//! Writes the golden fixture of format version 1 (fixtures/v1/).
//!
//! ```text
//! cargo run -p vault-core --example make_golden -- fixtures/v1
//! ```
//!
//! The fixture is a compatibility contract: once committed it is never
//! regenerated (the bytes are random and pinned by SHA256SUMS). This program
//! exists so the next format version's fixture can be made the same way,
//! and so anyone can see exactly what the fixture holds.

use std::path::Path;

use secrecy::SecretString;
use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::log;
use vault_core::passphrase::KdfParams;
use vault_core::record::Record;
use vault_core::share_text;
use vault_core::vault::{create, DepositMeta, InitSpec, Vault};
use zeroize::Zeroizing;

/// 2026-11-24T00:00:00Z, and one minute per later record.
const T0: u64 = 1_795_478_400;

fn main() {
    let out = std::env::args().nth(1).expect("usage: make_golden OUT_DIR");
    let out = Path::new(&out);
    let spec = InitSpec {
        name: "breakglass golden v1".into(),
        threshold: 2,
        custodians: vec!["alice".into(), "bob".into(), "carol".into()],
        actor: "fixture@breakglass".into(),
        time: T0,
        kdf: KdfParams::FLOOR,
    };
    let pass = |s: &str| Some(SecretString::from(s.to_owned()));
    let created = create(
        &spec,
        &[
            pass("golden-alice-passphrase"),
            pass("golden-bob-passphrase"),
            None,
        ],
    )
    .expect("valid spec");
    let mut bytes = created.bytes;
    let deposits: [(&str, EntryKind, &str, &str, Option<&str>); 4] = [
        (
            "entra-ba1",
            EntryKind::Password,
            "ba1@contoso.onmicrosoft.com",
            "Golden-Entra-v1!",
            None,
        ),
        (
            "entra-ba1",
            EntryKind::Password,
            "ba1@contoso.onmicrosoft.com",
            "Golden-Entra-v2!",
            None,
        ),
        (
            "filevault-C02XG0FDH7JY",
            EntryKind::RecoveryKey,
            "",
            "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
            Some("C02XG0FDH7JY"),
        ),
        (
            "runbook",
            EntryKind::Note,
            "",
            "1. Open the safe.\n2. Unseal.\n3. Rotate.",
            None,
        ),
    ];
    let mut t = T0;
    for (label, kind, user, secret, device) in deposits {
        t += 60;
        let vault = replay(&bytes);
        let s = EntrySecret {
            username: Zeroizing::new(user.into()),
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
        };
        let meta = DepositMeta {
            actor: "fixture@breakglass".into(),
            time: t,
            device: device.map(str::to_owned),
            ..DepositMeta::default()
        };
        let record = vault.deposit(label, kind, &s, &meta).unwrap();
        push(&mut bytes, &vault, &record);
    }
    // An unseal by alice and carol, and bob verifying his share.
    let vault = replay(&bytes);
    let shares: Vec<_> = created
        .shares
        .iter()
        .map(|s| share_text::decode(&s.text).unwrap())
        .collect();
    let alice = vault
        .check_share(&shares[0], pass("golden-alice-passphrase").as_ref())
        .unwrap();
    let carol = vault.check_share(&shares[2], None).unwrap();
    let unsealed = vault.open(&[alice, carol]).unwrap();
    t += 60;
    let record = unsealed
        .unseal_record(
            &[("entra-ba1".into(), 2)],
            "golden fixture",
            "fixture@breakglass",
            t,
            vault.head(),
        )
        .unwrap();
    push(&mut bytes, &vault, &record);
    let vault = replay(&bytes);
    t += 60;
    push(
        &mut bytes,
        &vault,
        &vault.share_verified(2, "fixture@breakglass", t),
    );

    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("golden.bg"), &bytes).unwrap();
    for s in &created.shares {
        std::fs::write(
            out.join(format!("{}.share", s.custodian)),
            s.text.as_bytes(),
        )
        .unwrap();
    }
    eprintln!(
        "wrote {} ({} bytes) and 3 shares",
        out.join("golden.bg").display(),
        bytes.len()
    );
}

fn replay(bytes: &[u8]) -> Vault {
    Vault::replay(&log::parse(bytes).unwrap()).unwrap()
}

fn push(bytes: &mut Vec<u8>, vault: &Vault, record: &Record) {
    let (frame, _) = log::encode_frame(vault.head(), record.kind(), &record.encode_body());
    bytes.extend_from_slice(&frame);
}
