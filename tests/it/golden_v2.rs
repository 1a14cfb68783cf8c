//! Format version 2's golden files (fixtures/v2/, docs/FORMAT.md §14): they
//! open with known contents forever, their signatures are checked without
//! shares, and any byte an attacker changes — re-chaining the file after
//! it, as anyone who can write the file can — is caught without shares,
//! or else sits in a deposit that no longer opens. If one of these tests
//! fails, the change broke version 2 vaults: fix the change, never the
//! fixture.

use crate::util::{encode_log, hex, json, strs, unseal_args, Env};
use secrecy::SecretString;
use vault_core::log;
use vault_core::record::Record;
use vault_core::share_text;
use vault_core::vault::{Unsealed, Vault};

fn fixture(name: &str) -> Vec<u8> {
    crate::util::fixture(&format!("v2/{name}"))
}

fn replay(bytes: &[u8]) -> Result<Vault, String> {
    let parsed = log::parse(bytes).map_err(|e| e.to_string())?;
    Vault::replay(&parsed).map_err(|e| e.to_string())
}

fn pass(s: &str) -> Option<SecretString> {
    Some(SecretString::from(s.to_owned()))
}

/// Opens `vault` with the share files `names` (under fixtures/v2/`dir`).
fn open(vault: &Vault, dir: &str, names: &[(&str, Option<&str>)]) -> Unsealed {
    let shares: Vec<_> = names
        .iter()
        .map(|(name, pw)| {
            let text = String::from_utf8(fixture(&format!("{dir}{name}.share"))).unwrap();
            let body = share_text::decode(&text).unwrap();
            vault
                .check_share(&body, pw.and_then(pass).as_ref())
                .unwrap()
        })
        .collect();
    vault.open(&shares).unwrap()
}

fn kinds(bytes: &[u8]) -> Vec<u8> {
    log::parse(bytes)
        .unwrap()
        .frames
        .iter()
        .map(|f| f.kind)
        .collect()
}

#[test]
fn v2_fixture_files_are_unchanged_and_reencode() {
    for (dir, file) in [
        ("", "golden.bg"),
        ("lifecycle/", "lifecycle.bg"),
        ("upgraded/", "upgraded.bg"),
    ] {
        let sums = String::from_utf8(fixture(&format!("{dir}SHA256SUMS"))).unwrap();
        for line in sums.lines() {
            let (hash, name) = line.split_once("  ").unwrap();
            let got = vault_core::keys::sha256(&[&fixture(&format!("{dir}{name}"))]);
            assert_eq!(hex(&got), hash, "fixtures/v2/{dir}{name} changed");
        }
        let bytes = fixture(&format!("{dir}{file}"));
        let parsed = log::parse(&bytes).unwrap();
        let records: Vec<Record> = parsed
            .frames
            .iter()
            .map(|f| Record::decode(f.kind, &f.body).unwrap())
            .collect();
        assert_eq!(encode_log(&records), bytes, "{dir}{file} re-encodes");
    }
    assert_eq!(
        kinds(&fixture("golden.bg")),
        [0x11, 2, 2, 2, 2, 0x13, 0x14, 0x18]
    );
    let rewritten = [0x11, 0x16, 2, 2, 2, 2, 0x16, 0x16, 0x17];
    assert_eq!(kinds(&fixture("lifecycle/lifecycle.bg"))[..9], rewritten);
    assert_eq!(kinds(&fixture("upgraded/upgraded.bg")), rewritten);
}

#[test]
fn v2_golden_opens_with_known_contents_and_pinned_fingerprint() {
    let v = replay(&fixture("golden.bg")).unwrap();
    assert_eq!(v.format(), 2);
    assert_eq!(v.generation(), 1);
    assert_eq!(v.name(), "breakglass golden v2");
    assert_eq!(v.contact(), "Security on-call +1 555 0100");
    assert_eq!(v.location(), "Safe 2, 4th floor");
    assert_eq!(v.fingerprint().short(), GOLDEN_SHORT);
    assert_eq!(v.fingerprint().full(), GOLDEN_FULL);
    assert_eq!(
        v.verifications()[&2].0,
        1,
        "bob's signed share check counts"
    );
    let un = open(
        &v,
        "",
        &[("alice", Some("golden-alice-passphrase")), ("carol", None)],
    );
    let secret = |l: &str, ver| {
        let r = un.reveal_version(&v, l, ver).unwrap().unwrap();
        String::from_utf8(r.secret.secret.to_vec()).unwrap()
    };
    assert_eq!(secret("entra-ba1", 1), "Golden-Entra-v1!");
    assert_eq!(secret("entra-ba1", 2), "Golden-Entra-v2!");
    assert_eq!(
        secret("filevault-C02XG0FDH7JY", 1),
        "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"
    );
    assert_eq!(
        secret("runbook", 1),
        "1. Open the safe.\n2. Unseal.\n3. Rotate."
    );
}

/// The fingerprint printed on the golden vault's envelopes, pinned forever
/// like the file. The full form was computed independently of this code
/// (Python's hashlib over the label and the genesis body up to FP_END,
/// FORMAT.md §14.2).
const GOLDEN_SHORT: &str = "8RPH-HWCR-WQHA-9XR5-N37M";
const GOLDEN_FULL: &str = "462d18f198e5e2a4f705a8cf4715f4af600e9f6cd832178568ee58a6300ff923";

#[test]
fn v2_opens_through_the_binary_and_verifies_without_shares() {
    let env = Env::new();
    for name in ["golden.bg", "alice.share", "bob.share", "carol.share"] {
        env.write(name, fixture(name));
    }
    let out = env.run(&["audit", "golden.bg", "--verify"], "").success();
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("every quorum and custodian signature valid"),
        "{err}"
    );
    let mut args = unseal_args("golden.bg", &["alice.share", "carol.share"]);
    args.extend(["--json", "--all"]);
    let v = json(&env.run(&args, "golden-alice-passphrase\n").success());
    let secrets = strs(v["entries"].as_array().unwrap(), "secret");
    assert_eq!(secrets[0], "Golden-Entra-v2!");
    // The unseal just written is signed: the trail still verifies.
    env.run(&["audit", "golden.bg", "--verify"], "").success();
}

#[test]
fn v2_lifecycle_rekeyed_generation_opens_and_keeps_its_history() {
    let v = replay(&fixture("lifecycle/lifecycle.bg")).unwrap();
    assert_eq!((v.format(), v.generation()), (2, 2));
    let names: Vec<&str> = v.custodians().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["bob", "carol", "dave"]);
    assert_eq!(
        v.drills().len(),
        1,
        "the drill of generation 1, signed by its key"
    );
    let e = &v.entries().get("entra-ba1").unwrap();
    assert_eq!(e.exposed_at, Some(1_795_478_400 + 660));
    let un = open(
        &v,
        "lifecycle/",
        &[("bob", None), ("dave", Some("lifecycle-dave-passphrase"))],
    );
    let secret = |l: &str| {
        let r = un.reveal(&v, l).unwrap().unwrap();
        r.secret.secret.to_vec()
    };
    assert_eq!(secret("entra-ba1"), b"Lifecycle-v2!");
    assert_eq!(secret("after-rekey"), b"sealed after the rekey");
    assert_eq!(un.check_all(&v).ok, 5);
}

#[test]
fn v1_golden_upgraded_opens_with_the_v1_shares() {
    let v = replay(&fixture("upgraded/upgraded.bg")).unwrap();
    assert_eq!((v.format(), v.generation()), (2, 1));
    let v1 = replay(&crate::util::fixture("v1/golden.bg")).unwrap();
    let previous = v.genesis().v2.as_ref().unwrap().previous;
    assert_eq!(
        &previous,
        v1.fingerprint().as_bytes(),
        "previous = the v1 fingerprint"
    );
    assert!(
        v.verifications().is_empty(),
        "bob's v1 share check carried no MAC: it is kept in the trail, not counted"
    );
    let share = |name: &str, pw: Option<&str>| {
        let text = String::from_utf8(crate::util::fixture(&format!("v1/{name}.share"))).unwrap();
        v.check_share(
            &share_text::decode(&text).unwrap(),
            pw.and_then(pass).as_ref(),
        )
        .unwrap()
    };
    let un = v
        .open(&[
            share("alice", Some("golden-alice-passphrase")),
            share("carol", None),
        ])
        .unwrap();
    let r = un.reveal(&v, "entra-ba1").unwrap().unwrap();
    assert_eq!(&r.secret.secret[..], b"Golden-Entra-v2!");
    // A receipt the v1 vault gave still verifies through the upgrade.
    let receipt = vault_core::receipt::Receipt::of(&v1);
    assert_eq!(
        receipt.verdict(&v).unwrap(),
        vault_core::receipt::Verdict::Extends
    );
}

/// Every byte of every record, changed and the file re-chained after it:
/// either replay refuses it without shares (a signature fails, or a rule),
/// or the record is a deposit after the last signed record and no longer
/// opens (its AEAD covers its metadata and ciphertext). Over the golden
/// and the rekeyed (lifecycle) fixtures.
#[test]
fn any_changed_byte_is_caught_without_shares_or_by_the_deposits_aead() {
    for (file, shares) in [
        (
            "golden.bg",
            vec![("alice", Some("golden-alice-passphrase")), ("carol", None)],
        ),
        (
            "lifecycle/lifecycle.bg",
            vec![("bob", None), ("carol", None)],
        ),
    ] {
        let bytes = fixture(file);
        let good = replay(&bytes).unwrap();
        let dir = file
            .rsplit_once('/')
            .map_or("", |(d, _)| &file[..d.len() + 1]);
        let un = open(&good, dir, &shares);
        let records: Vec<Record> = log::parse(&bytes)
            .unwrap()
            .frames
            .iter()
            .map(|f| Record::decode(f.kind, &f.body).unwrap())
            .collect();
        let last_signed = records.iter().rposition(|r| r.signer().is_some()).unwrap();
        let (mut refused, mut aead) = (0, 0);
        for (j, record) in records.iter().enumerate() {
            let body = record.encode_body();
            for i in 0..body.len() {
                let mut changed = body.clone();
                changed[i] ^= 0x01;
                let file_bytes = with_body(&records, j, record.kind(), &changed);
                match replay(&file_bytes) {
                    Err(_) => refused += 1,
                    Ok(v) => {
                        assert!(
                            j > last_signed && matches!(record, Record::Deposit(_)),
                            "{file}: record #{} byte {i} changed and nothing noticed",
                            j + 1
                        );
                        let d = match Record::decode(record.kind(), &changed).unwrap() {
                            Record::Deposit(d) => d,
                            _ => unreachable!(),
                        };
                        let opened = v
                            .entries()
                            .get(&d.label)
                            .and_then(|e| un.reveal_version(&v, &d.label, e.current().version));
                        assert!(
                            !matches!(opened, Some(Ok(_))),
                            "{file}: deposit #{} byte {i} changed and it still opens",
                            j + 1
                        );
                        aead += 1;
                    }
                }
            }
        }
        println!("{file}: {refused} changed bytes refused without shares, {aead} caught by the deposit's AEAD");
        assert!(refused > 0);
    }
}

/// The records of a file with record `j`'s body replaced, framed and
/// chained again from there on (the chain is unkeyed).
fn with_body(records: &[Record], j: usize, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = log::header(2).to_vec();
    let mut prev = log::genesis_prev(2);
    for (k, r) in records.iter().enumerate() {
        let (t, b) = if k == j {
            (kind, body.to_vec())
        } else {
            (r.kind(), r.encode_body())
        };
        let (frame, hash) = log::encode_frame(&prev, t, &b);
        out.extend_from_slice(&frame);
        prev = hash;
    }
    out
}
