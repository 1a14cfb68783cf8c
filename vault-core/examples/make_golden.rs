//! Writes the golden fixtures of the format version this build writes
//! (version 2: fixtures/v2/; fixtures/v1/ was made by the same program
//! when it wrote version 1).
//!
//! ```text
//! cargo run -p vault-core --example make_golden -- fixtures/v2
//! cargo run -p vault-core --example make_golden -- fixtures/v2/lifecycle lifecycle
//! cargo run -p vault-core --example make_golden -- fixtures/v2/upgraded upgrade
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
    let out = std::env::args()
        .nth(1)
        .expect("usage: make_golden OUT_DIR [lifecycle]");
    let out = Path::new(&out);
    match std::env::args().nth(2).as_deref() {
        Some("lifecycle") => return lifecycle(out),
        Some("upgrade") => return upgrade(out),
        _ => {}
    }
    let spec = InitSpec::new("breakglass golden v2", 2, ["alice", "bob", "carol"])
        .with_contact("Security on-call +1 555 0100", "Safe 2, 4th floor")
        .with_actor("fixture@breakglass")
        .with_time(T0)
        .with_kdf(KdfParams::FLOOR);
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
    let bob = vault
        .check_share(&shares[1], pass("golden-bob-passphrase").as_ref())
        .unwrap();
    push(
        &mut bytes,
        &vault,
        &vault.share_verified(&bob, "fixture@breakglass", t, vault.head()),
    );
    // Bob's envelope lost: alice and carol re-issue it (signed, 0x18).
    let vault = replay(&bytes);
    t += 60;
    let reissue = unsealed
        .reissue_record(
            2,
            "bob's envelope lost",
            "fixture@breakglass",
            t,
            vault.head(),
        )
        .unwrap();
    push(&mut bytes, &vault, &reissue);

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

/// The lifecycle fixture: every record type and attribute added after the
/// first fixture, ending in a rekey.
fn lifecycle(out: &Path) {
    use vault_core::record::DrillKind;
    use vault_core::rekey::RekeySpec;
    let spec = InitSpec::new("breakglass lifecycle v2", 2, ["alice", "bob", "carol"])
        .with_actor("fixture@breakglass")
        .with_time(T0)
        .with_kdf(KdfParams::FLOOR);
    let created = create(&spec, &[None, None, None]).expect("valid spec");
    let mut bytes = created.bytes;
    let mut t = T0;
    let mut meta = |device: Option<&str>, key_id: Option<&str>, days, hours, rotation| {
        t += 60;
        DepositMeta {
            actor: "fixture@breakglass".into(),
            time: t,
            device: device.map(str::to_owned),
            key_id: key_id.map(str::to_owned),
            rotate_days: days,
            expose_hours: hours,
            rotation,
            digest: None,
            ..DepositMeta::default()
        }
    };
    let secret = |user: &str, s: &[u8]| EntrySecret {
        username: Zeroizing::new(user.into()),
        secret: Zeroizing::new(s.to_vec()),
    };
    let deposits = [
        (
            "entra-ba1",
            EntryKind::Password,
            secret("ba1@contoso.onmicrosoft.com", b"Lifecycle-v1!"),
            meta(None, None, Some(30), Some(4), false),
        ),
        (
            "entra-ba1",
            EntryKind::Password,
            secret("ba1@contoso.onmicrosoft.com", b"Lifecycle-v2!"),
            meta(None, None, None, None, true),
        ),
        (
            "bitlocker-PC-0042",
            EntryKind::RecoveryKey,
            secret(
                "",
                b"123453-654467-111111-000000-720885-055000-222222-333333",
            ),
            meta(Some("PC-0042"), Some("1A2B3C4D"), None, None, false),
        ),
        (
            "escrow.key",
            EntryKind::File,
            secret("", &[0, 1, 2, 253, 254, 255]),
            meta(None, None, None, None, false),
        ),
    ];
    for (label, kind, s, m) in deposits {
        let vault = replay(&bytes);
        push(
            &mut bytes,
            &vault,
            &vault.deposit(label, kind, &s, &m).unwrap(),
        );
    }
    let bodies: Vec<_> = created
        .shares
        .iter()
        .map(|s| share_text::decode(&s.text).unwrap())
        .collect();
    let vault = replay(&bytes);
    let shares = [
        vault.check_share(&bodies[0], None).unwrap(),
        vault.check_share(&bodies[1], None).unwrap(),
    ];
    let unsealed = vault.open(&shares).unwrap();
    let outcome = unsealed.check_all(&vault);
    let drill = unsealed
        .drill_record(
            &outcome,
            DrillKind::Drill,
            "quarterly",
            "fixture@breakglass",
            T0 + 600,
            vault.head(),
        )
        .unwrap();
    push(&mut bytes, &vault, &drill);
    let vault = replay(&bytes);
    let unseal = unsealed
        .unseal_record(
            &[("entra-ba1".into(), 2)],
            "incident",
            "fixture@breakglass",
            T0 + 660,
            vault.head(),
        )
        .unwrap();
    push(&mut bytes, &vault, &unseal);
    let vault = replay(&bytes);
    let rekey = RekeySpec {
        threshold: 2,
        custodians: vec!["bob".into(), "carol".into(), "dave".into()],
        actor: "fixture@breakglass".into(),
        time: T0 + 720,
        kdf: KdfParams::FLOOR,
        reason: "alice left".into(),
        contact: None,
        location: None,
    };
    let pass = Some(SecretString::from("lifecycle-dave-passphrase".to_owned()));
    let rekeyed = unsealed.rekey(&vault, &rekey, &[None, None, pass]).unwrap();
    let mut bytes = rekeyed.bytes;
    let vault = replay(&bytes);
    let after = vault
        .deposit(
            "after-rekey",
            EntryKind::Note,
            &secret("", b"sealed after the rekey"),
            &DepositMeta {
                actor: "fixture@breakglass".into(),
                time: T0 + 780,
                ..DepositMeta::default()
            },
        )
        .unwrap();
    push(&mut bytes, &vault, &after);
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("lifecycle.bg"), &bytes).unwrap();
    for s in &rekeyed.shares {
        std::fs::write(
            out.join(format!("{}.share", s.custodian)),
            s.text.as_bytes(),
        )
        .unwrap();
    }
    eprintln!(
        "wrote {} ({} bytes) and 3 shares",
        out.join("lifecycle.bg").display(),
        bytes.len()
    );
}

/// The v1 golden vault (fixtures/v1/) upgraded to format 2 with alice's and
/// carol's shares: the same shares open it.
fn upgrade(out: &Path) {
    use vault_core::rekey::UpgradeSpec;
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/v1");
    let bytes = std::fs::read(v1.join("golden.bg")).unwrap();
    let vault = replay(&bytes);
    let body = |name: &str| {
        share_text::decode(&std::fs::read_to_string(v1.join(format!("{name}.share"))).unwrap())
            .unwrap()
    };
    let pass = Some(SecretString::from("golden-alice-passphrase".to_owned()));
    let alice = vault.check_share(&body("alice"), pass.as_ref()).unwrap();
    let carol = vault.check_share(&body("carol"), None).unwrap();
    let unsealed = vault.open(&[alice, carol]).unwrap();
    let spec = UpgradeSpec {
        actor: "fixture@breakglass".into(),
        time: T0 + 3600,
        reason: "upgrade to format version 2".into(),
        contact: "Security on-call +1 555 0100".into(),
        location: String::new(),
    };
    let mut upgraded = Vec::new();
    unsealed
        .upgrade_into(&vault, &spec, || {}, &mut upgraded)
        .unwrap();
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("upgraded.bg"), &upgraded).unwrap();
    eprintln!(
        "wrote {} ({} bytes); the v1 shares open it",
        out.join("upgraded.bg").display(),
        upgraded.len()
    );
}
