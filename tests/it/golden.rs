//! The compatibility contract: the golden files in fixtures/ from every
//! released format version must keep opening, with known contents, forever.
//! If one of these tests fails, the change broke old vaults: fix the change,
//! never the fixture.

use crate::util::{encode_log, hex, json, strs, unseal_args, Env};
use predicates::prelude::*;
use secrecy::SecretString;
use vault_core::entry::EntryKind;
use vault_core::log;
use vault_core::record::Record;
use vault_core::share_text;
use vault_core::vault::Vault;

fn fixture(name: &str) -> Vec<u8> {
    crate::util::fixture(&format!("v1/{name}"))
}

fn golden() -> Vault {
    Vault::replay(&log::parse(&fixture("golden.bg")).unwrap()).unwrap()
}

fn pass(s: &str) -> Option<SecretString> {
    Some(SecretString::from(s.to_owned()))
}

#[test]
fn fixture_files_are_unchanged() {
    // SHA256SUMS pins the bytes: a regenerated fixture is a new fixture.
    let sums = String::from_utf8(fixture("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        let got = vault_core::keys::sha256(&[&fixture(name)]);
        assert_eq!(hex(&got), hash, "fixtures/v1/{name} changed");
    }
}

/// Decodes every record of `parsed` and encodes them again: the bytes
/// that gives, and the records' kinds in order.
fn reencode(parsed: &log::Log) -> (Vec<u8>, Vec<u8>) {
    let records: Vec<Record> = parsed
        .frames
        .iter()
        .map(|f| Record::decode(f.kind, &f.body).unwrap())
        .collect();
    let kinds = records.iter().map(Record::kind).collect();
    (encode_log(&records), kinds)
}

#[test]
fn v1_records_reencode_to_the_same_bytes() {
    let bytes = fixture("golden.bg");
    let parsed = log::parse(&bytes).unwrap();
    assert!(parsed.torn.is_none());
    let (out, kinds) = reencode(&parsed);
    assert_eq!(
        out, bytes,
        "decode→encode must reproduce the file byte for byte"
    );
    assert_eq!(kinds, [1, 2, 2, 2, 2, 3, 4]);
}

#[test]
fn v1_public_view() {
    let v = golden();
    assert_eq!(v.name(), "breakglass golden v1");
    assert_eq!(v.threshold(), 2);
    let names: Vec<&str> = v.custodians().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(v.genesis().time, 1_795_478_400);
    let e = &v.entries().get("entra-ba1").unwrap();
    assert_eq!((e.kind, e.versions.len()), (EntryKind::Password, 2));
    let fv = &v.entries().get("filevault-C02XG0FDH7JY").unwrap();
    assert_eq!(fv.kind, EntryKind::RecoveryKey);
    assert_eq!(fv.current().device.as_deref(), Some("C02XG0FDH7JY"));
    assert_eq!(v.entries().get("runbook").unwrap().kind, EntryKind::Note);
    assert_eq!(v.records().len(), 7);
}

#[test]
fn v1_opens_with_documented_shares_and_passphrases() {
    let v = golden();
    let body = |n: &str| share_text::decode(&String::from_utf8(fixture(n)).unwrap()).unwrap();
    let alice = v
        .check_share(
            &body("alice.share"),
            pass("golden-alice-passphrase").as_ref(),
        )
        .unwrap();
    let bob = v
        .check_share(&body("bob.share"), pass("golden-bob-passphrase").as_ref())
        .unwrap();
    let carol = v.check_share(&body("carol.share"), None).unwrap();
    for pair in [
        [alice.clone(), bob.clone()],
        [bob, carol.clone()],
        [alice, carol],
    ] {
        let un = v.open(&pair).unwrap();
        assert!(un.bad_macs(&v).is_empty(), "genesis and unseal MACs verify");
        let text = |label: &str, version: u32| {
            let r = un.reveal_version(&v, label, version).unwrap().unwrap();
            (
                r.secret.username.to_string(),
                String::from_utf8(r.secret.secret.to_vec()).unwrap(),
            )
        };
        assert_eq!(
            text("entra-ba1", 1),
            (
                "ba1@contoso.onmicrosoft.com".into(),
                "Golden-Entra-v1!".into()
            )
        );
        assert_eq!(
            text("entra-ba1", 2),
            (
                "ba1@contoso.onmicrosoft.com".into(),
                "Golden-Entra-v2!".into()
            )
        );
        assert_eq!(
            text("filevault-C02XG0FDH7JY", 1).1,
            "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"
        );
        assert_eq!(
            text("runbook", 1).1,
            "1. Open the safe.\n2. Unseal.\n3. Rotate."
        );
    }
}

#[test]
fn v1_opens_through_the_binary() {
    let env = Env::new();
    for name in ["golden.bg", "alice.share", "bob.share", "carol.share"] {
        env.write(name, fixture(name));
    }
    let mut args = unseal_args("golden.bg", &["alice.share", "carol.share"]);
    args.extend(["--json", "--all"]);
    let v = json(&env.run(&args, "golden-alice-passphrase\n").success());
    let secrets = strs(v["entries"].as_array().unwrap(), "secret");
    assert_eq!(
        secrets,
        [
            "Golden-Entra-v2!",
            "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
            "1. Open the safe.\n2. Unseal.\n3. Rotate."
        ]
    );
    env.run(&["list", "golden.bg"], "")
        .success()
        .stdout(predicate::str::contains(
            "any 2 of 3 unseal — alice, bob, carol",
        ));
    env.run(&["audit", "golden.bg", "--verify"], "").success();
}

/// `golden.bg.index` is an index of version 1 (written by earlier builds,
/// no key-ID table): it is refused as such and replaced by a whole read
/// with the version 2 index pinned in `golden.bg.index-v2` (FORMAT.md §12).
#[test]
fn a_version_1_index_is_refused_and_rebuilt() {
    use vault_core::index::{Index, IndexError};
    let old = fixture("golden.bg.index");
    assert!(matches!(
        Index::open(std::io::Cursor::new(old.clone())),
        Err(IndexError::Version(1))
    ));
    let env = Env::new();
    env.write("golden.bg", fixture("golden.bg"));
    env.write("golden.bg.index", &old);
    env.run(&["list", "golden.bg", "--device", "C02XG0FDH7JY"], "")
        .success()
        .stdout(predicate::str::contains("filevault-C02XG0FDH7JY"));
    assert!(
        std::fs::read(env.path("golden.bg.index")).unwrap() == fixture("golden.bg.index-v2"),
        "a whole read replaced the version 1 index with the current one"
    );
}

#[test]
fn v1_index_is_pinned_and_is_used() {
    use vault_core::index::{self, Index, Table};
    let bytes = fixture("golden.bg.index-v2");
    assert!(
        vault_core::scope::index_bytes(&golden()) == bytes,
        "the index of golden.bg is no longer the pinned bytes (FORMAT.md §12)"
    );
    let mut idx = Index::open(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(idx.header().records, 7);
    assert_eq!(idx.header().key_ids, 0, "golden.bg holds no BitLocker key");
    assert_eq!(idx.header().last, golden().records()[6].frame.offset);
    let rows = idx
        .find(Table::Devices, index::device_key("c02xg0fdh7jy"))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].number, 4);
    assert_eq!(rows[0].offset, golden().records()[3].frame.offset);
    let versions = idx
        .find(Table::Labels, index::label_key("entra-ba1"))
        .unwrap();
    assert_eq!(
        versions.iter().map(|r| r.number).collect::<Vec<_>>(),
        [2, 3]
    );

    // The binary reveals through it, and leaves it as it was.
    let env = Env::new();
    for name in ["golden.bg", "alice.share", "carol.share"] {
        env.write(name, fixture(name));
    }
    env.write("golden.bg.index", &bytes);
    let unseal_device = |device: &str| {
        let mut args = unseal_args("golden.bg", &["carol.share", "alice.share"]);
        args.extend(["--device", device]);
        env.run(&args, "golden-alice-passphrase\n")
    };
    unseal_device("C02XG0FDH7JY")
        .success()
        .stdout(predicate::str::contains("ABCD-EFGH-IJKL-MNOP-QRST-UVWX"))
        .stdout(predicate::str::contains("Golden-Entra").not());
    // One record after the index: it stays as it was until 1024 are.
    assert!(std::fs::read(env.path("golden.bg.index")).unwrap() == bytes);

    // Damage to a record the lookup does not need (the runbook deposit):
    // the device is still revealed through the index, which proves it was
    // used, and every whole read names the damage (FORMAT.md §12).
    let mut vault = std::fs::read(env.path("golden.bg")).unwrap();
    let runbook = golden().records()[4].frame.offset as usize;
    vault[runbook + log::FRAME_HEAD + 3] ^= 1;
    env.write("golden.bg", &vault);
    unseal_device("c02xg0fdh7jy")
        .success()
        .stdout(predicate::str::contains("ABCD-EFGH-IJKL-MNOP-QRST-UVWX"));
    for whole in [
        &["list", "golden.bg"][..],
        &["audit", "golden.bg", "--verify"],
    ] {
        env.run(whole, "")
            .code(4)
            .stderr(predicate::str::contains("record #5"));
    }
}

/// Tampering with any byte of a quorum record is detected, even when the
/// chain is recomputed to hide it: by replay, by the share checks, by the
/// key check, or by the record's MAC.
#[test]
fn any_altered_byte_of_a_quorum_record_is_detected() {
    let bytes = fixture("golden.bg");
    let parsed = log::parse(&bytes).unwrap();
    let body = |n: &str| share_text::decode(&String::from_utf8(fixture(n)).unwrap()).unwrap();
    // Unlock once (Argon2 is the slow part); check commitments per flip.
    let alice = body("alice.share")
        .unlock(pass("golden-alice-passphrase").as_ref())
        .unwrap();
    let carol = body("carol.share").unlock(None).unwrap();
    let mut checked = 0;
    for target in [0usize, 5] {
        // record 1 (genesis) and record 6 (unseal)
        for i in 0..parsed.frames[target].body.len() {
            let mut file = log::header(1).to_vec();
            let mut prev = log::genesis_prev(1);
            for (j, f) in parsed.frames.iter().enumerate() {
                let mut b = f.body.clone();
                if j == target {
                    b[i] ^= 0x01;
                }
                let (framed, hash) = log::encode_frame(&prev, f.kind, &b);
                file.extend_from_slice(&framed);
                prev = hash;
            }
            let Ok(v) = Vault::replay(&log::parse(&file).unwrap()) else {
                continue;
            };
            let committed = |s: &vault_core::shamir::KeyShare| {
                s.matches(v.id(), &v.custodians()[s.index() as usize - 1].commitment)
            };
            if !committed(&alice) || !committed(&carol) {
                continue;
            }
            let Ok(un) = v.open(&[alice.clone(), carol.clone()]) else {
                continue;
            };
            assert!(
                un.bad_macs(&v).contains(&(target + 1)),
                "flipping byte {i} of record {} went unnoticed",
                target + 1
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} flips reached the MAC check");
}

// ---------------------------------------------------------------- lifecycle fixture

fn lifecycle_file(name: &str) -> Vec<u8> {
    fixture(&format!("lifecycle/{name}"))
}

#[test]
fn v1_lifecycle_fixture_is_unchanged_and_reencodes() {
    let sums = String::from_utf8(lifecycle_file("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(
            hex(&vault_core::keys::sha256(&[&lifecycle_file(name)])),
            hash,
            "{name} changed"
        );
    }
    let bytes = lifecycle_file("lifecycle.bg");
    let (out, kinds) = reencode(&log::parse(&bytes).unwrap());
    assert_eq!(out, bytes);
    assert_eq!(kinds, [1, 6, 2, 2, 2, 2, 6, 6, 7, 2]);
}

#[test]
fn v1_lifecycle_fixture_opens_with_known_contents() {
    let v = Vault::replay(&log::parse(&lifecycle_file("lifecycle.bg")).unwrap()).unwrap();
    let names: Vec<&str> = v.custodians().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["bob", "carol", "dave"]);
    let e = &v.entries().get("entra-ba1").unwrap();
    assert_eq!((e.rotate_days, e.expose_hours), (30, 4));
    assert!(e.versions[1].rotation);
    assert_eq!(
        e.exposed_at,
        Some(1_795_478_400 + 660),
        "exposed by the unseal before the rekey"
    );
    let bl = &v.entries().get("bitlocker-PC-0042").unwrap();
    assert_eq!(bl.current().device.as_deref(), Some("PC-0042"));
    assert_eq!(bl.current().key_id.as_deref(), Some("1A2B3C4D"));
    assert_eq!(v.drills().len(), 1);
    let body =
        |n: &str| share_text::decode(&String::from_utf8(lifecycle_file(n)).unwrap()).unwrap();
    let bob = v.check_share(&body("bob.share"), None).unwrap();
    let dave = v
        .check_share(
            &body("dave.share"),
            pass("lifecycle-dave-passphrase").as_ref(),
        )
        .unwrap();
    let un = v.open(&[bob, dave]).unwrap();
    assert!(un.bad_macs(&v).is_empty());
    let secret = |l: &str, ver| {
        un.reveal_version(&v, l, ver)
            .unwrap()
            .unwrap()
            .secret
            .secret
            .to_vec()
    };
    assert_eq!(secret("entra-ba1", 1), b"Lifecycle-v1!");
    assert_eq!(secret("entra-ba1", 2), b"Lifecycle-v2!");
    assert_eq!(
        secret("bitlocker-PC-0042", 1),
        b"123453-654467-111111-000000-720885-055000-222222-333333"
    );
    assert_eq!(secret("escrow.key", 1), [0, 1, 2, 253, 254, 255]);
    assert_eq!(secret("after-rekey", 1), b"sealed after the rekey");
    assert_eq!(un.check_all(&v).ok, 5);
}

// ------------------------------------------------------- shares, format 2

fn share_v2(name: &str) -> Vec<u8> {
    crate::util::fixture(&format!("share-v2/{name}"))
}

/// `fixtures/share-v2/`: format-2 shares (alice and bob protected, carol
/// plain) of a vault in file format 1, their compact (QR) forms, pinned by
/// SHA256SUMS. They keep opening their vault, and the compact form reads
/// as the same share, forever.
#[test]
fn share_v2_fixture_is_pinned_and_opens_its_vault() {
    let sums = String::from_utf8(share_v2("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 7);
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        let got = vault_core::keys::sha256(&[&share_v2(name)]);
        assert_eq!(hex(&got), hash, "fixtures/share-v2/{name} changed");
    }
    let vault = Vault::replay(&log::parse(&share_v2("vault.bg")).unwrap()).unwrap();
    let mut quorum = vault_core::Quorum::new(&vault);
    for (name, passphrase) in [
        ("alice", pass("golden-v2-alice-passphrase")),
        ("carol", None),
    ] {
        let text = String::from_utf8(share_v2(&format!("{name}.share"))).unwrap();
        assert!(text.starts_with("BREAKGLASS SHARE v2\n"));
        let body = share_text::decode(&text).unwrap();
        assert_eq!(body.format(), 2);
        assert_eq!(body.identity.generation(), Some(1));
        let compact = String::from_utf8(share_v2(&format!("{name}.compact"))).unwrap();
        assert_eq!(share_text::decode(&compact).unwrap(), body);
        assert_eq!(share_text::compact(&body).as_str(), compact.trim_end());
        assert_eq!(quorum.add(&body, passphrase.as_ref()).unwrap(), name);
    }
    assert!(quorum.open().is_ok());
}

/// The CLI checks a format-2 share from the fixture, typed without its
/// header on stdin and as its compact form.
#[test]
fn share_v2_fixture_verifies_from_stdin_typed_and_compact() {
    let env = Env::new();
    env.write("v.bg", share_v2("vault.bg"));
    let carol = String::from_utf8(share_v2("carol.share")).unwrap();
    let typed: String = carol
        .lines()
        .filter(|l| l.get(2..3) == Some(":"))
        .map(|l| format!("{}\n", l.replacen(':', "", 1).to_lowercase()))
        .collect();
    env.run(
        &["verify-share", "v.bg", "--share", "-"],
        format!("{typed}\n"),
    )
    .success()
    .stdout(predicate::str::contains("Share OK: carol (share 3 of 3)"));
    let compact = String::from_utf8(share_v2("alice.compact")).unwrap();
    env.run(
        &["verify-share", "v.bg", "--share", "-"],
        format!("{compact}golden-v2-alice-passphrase\n"),
    )
    .success()
    .stdout(predicate::str::contains("Share OK: alice (share 1 of 3)"));
}

/// The smallest QR version holding `data` in alphanumeric mode at level H
/// (the `qrcode` encoder the envelopes use).
fn qr_version_alnum_h(data: &str) -> i16 {
    use qrcode::bits::Bits;
    use qrcode::types::{EcLevel, Version};
    (1..=40)
        .find(|&v| {
            let mut bits = Bits::new(Version::Normal(v));
            bits.push_alphanumeric_data(data.as_bytes()).is_ok()
                && bits.push_terminator(EcLevel::H).is_ok()
                && qrcode::QrCode::with_bits(bits, EcLevel::H).is_ok()
        })
        .expect("fits version 40")
}

/// Issue 13: the compact form is QR alphanumeric at level H, version ≤ 13
/// for a protected share and ≤ 8 for a plain one (measured: 12 and 8).
#[test]
fn compact_share_fits_the_qr_versions_of_issue_13() {
    let alice = String::from_utf8(share_v2("alice.compact")).unwrap();
    let carol = String::from_utf8(share_v2("carol.compact")).unwrap();
    let (protected, plain) = (alice.trim_end(), carol.trim_end());
    assert_eq!((protected.len(), plain.len()), (208, 106));
    let (vp, vn) = (qr_version_alnum_h(protected), qr_version_alnum_h(plain));
    println!("compact share QR (alphanumeric, level H): protected v{vp}, plain v{vn}");
    assert!(vp <= 13, "protected share needs version {vp}");
    assert!(vn <= 8, "plain share needs version {vn}");
    assert_eq!((vp, vn), (12, 8));
}

/// A format-2 share of a generation newer than the vault file stops the
/// command with exit 4 before any passphrase; one of another vault is
/// bad input (exit 2). FORMAT.md §6.7.
#[test]
fn share_v2_precheck_exit_codes() {
    use vault_core::share::ShareIdentity;
    let env = Env::new();
    env.write("v.bg", share_v2("vault.bg"));
    let carol = String::from_utf8(share_v2("carol.share")).unwrap();
    let body = share_text::decode(&carol).unwrap();
    let ShareIdentity::V2 {
        vault_tag,
        fingerprint,
        ..
    } = body.identity
    else {
        panic!("format 2")
    };
    let header = share_text::ShareHeader {
        vault_name: "breakglass shares v2",
        fingerprint: "-",
        custodian: "carol",
    };
    let with = |identity| {
        let b = vault_core::share::ShareBody {
            identity,
            ..body.clone()
        };
        share_text::encode(&b, &header).to_string()
    };
    env.write(
        "newer.share",
        with(ShareIdentity::V2 {
            vault_tag,
            generation: 2,
            fingerprint,
        }),
    );
    env.run(&["verify-share", "v.bg", "--share", "newer.share"], "")
        .code(4)
        .stderr(predicate::str::contains(
            "is from generation 2, newer than this vault file (generation 1): the file is an old \
             copy or was rolled back — use the current vault file",
        ));
    let mut other = vault_tag;
    other[0] ^= 1;
    env.write(
        "foreign.share",
        with(ShareIdentity::V2 {
            vault_tag: other,
            generation: 1,
            fingerprint,
        }),
    );
    env.run(&["verify-share", "v.bg", "--share", "foreign.share"], "")
        .code(2)
        .stderr(predicate::str::contains("belongs to another vault"));
}
