//! The lifecycle on the real binary: generated secrets, validated kinds,
//! rotation and history, exposure deadlines, drills, status and the
//! verifiable audit trail.

use crate::util::{json, pass_lines, share_flags, stderr, stdout, strs, Env, FIVE};
use predicates::prelude::*;

fn plain3() -> Env {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env
}

/// Unseals with alice's and bob's plain shares, as JSON.
fn unseal_json(env: &Env, extra: &[&str]) -> serde_json::Value {
    json(
        &env.unseal(&["alice", "bob"], &[extra, &["--json"]].concat(), "")
            .success(),
    )
}

/// `plain3` with entry `ba` sealed (`secret`, with `flags`) and unsealed
/// once, so exposed.
fn exposed_ba(flags: &[&str], secret: &str) -> Env {
    let env = plain3();
    env.run(
        &[&["seal", "v.bg", "--label", "ba"][..], flags].concat(),
        secret,
    )
    .success();
    unseal_json(&env, &["--entry", "ba"]);
    env
}

/// A directory with alice's and carol's shares of the v1 golden vault.
fn golden_shares() -> Env {
    let env = Env::new();
    for f in ["alice.share", "carol.share"] {
        env.copy_fixture(&format!("v1/{f}"), f);
    }
    env
}

// ---------------------------------------------------------------- generate

#[test]
fn generated_password_is_shown_once_and_sealed() {
    let env = plain3();
    let out = env
        .run(
            &["seal", "v.bg", "--label", "ba", "--generate", "--json"],
            "",
        )
        .success();
    let v = json(&out);
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.chars().count(), 24);
    assert!((v["entropy_bits"].as_f64().unwrap() - 149.9).abs() < 0.2);
    let u = unseal_json(&env, &["--entry", "ba"]);
    assert_eq!(u["entries"][0]["secret"], secret.as_str());
    // Human output says it is shown once.
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "b2",
            "--generate",
            "--length",
            "40",
            "--readable",
        ],
        "",
    )
    .success()
    .stdout(predicate::str::contains("shown this once"));
    let u = unseal_json(&env, &["--entry", "b2"]);
    let s = u["entries"][0]["secret"].as_str().unwrap();
    assert_eq!(s.len(), 40);
    assert!(!s.contains(|c| "IOQlo01".contains(c)));
}

#[test]
fn generation_policies_and_their_limits() {
    let env = plain3();
    // `seal v.bg --label LABEL --generate FLAGS`.
    let generate = |label: &str, flags: &[&str]| {
        let args = [&["seal", "v.bg", "--label", label, "--generate"][..], flags].concat();
        env.run(&args, "")
    };
    let v = json(&generate("pin", &["--charset", "digits", "--length", "16", "--json"]).success());
    assert!(v["secret"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
    let v = json(
        &env.run(
            &[
                "seal",
                "v.bg",
                "--label",
                "words",
                "--kind",
                "note",
                "--generate",
                "--words",
                "8",
                "--json",
            ],
            "",
        )
        .success(),
    );
    assert!(v["secret"].as_str().unwrap().split('-').count() >= 8);
    assert!((v["entropy_bits"].as_f64().unwrap() - 103.4).abs() < 0.1);
    generate("x", &["--length", "12"])
        .code(2)
        .stderr(predicate::str::contains(
            "--length 12 is refused: 16 to 128",
        ));
    generate("x", &["--words", "5"])
        .code(2)
        .stderr(predicate::str::contains("6 to 10 words"));
    generate("x", &["--charset", "emoji"])
        .code(1)
        .stderr(predicate::str::contains("--charset emoji"));
    env.run(&["seal", "v.bg", "--label", "x", "--length", "20"], "")
        .code(1);
}

// ---------------------------------------------------------------- kinds

#[test]
fn recovery_keys_are_validated_by_group() {
    let env = plain3();
    // `seal v.bg --label LABEL --kind recovery-key FLAGS` with stdin `key`.
    let seal_key = |label: &str, flags: &[&str], key: &str| {
        let kind = ["seal", "v.bg", "--label", label, "--kind", "recovery-key"];
        env.run(&[&kind[..], flags].concat(), key)
    };
    seal_key(
        "bl",
        &["--key-id", "1a2b3c4d", "--device", "PC-1"],
        "123453-654467-111111-000000-720885-055000-222222-333333\n",
    )
    .success();
    seal_key(
        "bl2",
        &[],
        "123453-654467-111111-000000-720885-055000-222223-333333\n",
    )
    .code(2)
    .stderr(predicate::str::contains(
        "BitLocker recovery password group 7 of 8 is wrong",
    ))
    .stderr(predicate::str::contains("222223").not());
    seal_key("fv", &[], "abcd-efgh-ijkl-mnop-qrst-uvw")
        .code(2)
        .stderr(predicate::str::contains(
            "FileVault recovery key group 6 of 6 is wrong",
        ));
    seal_key("fv", &[], "abcd-efgh-ijkl-mnop-qrst-uvwx\n").success();
    seal_key(
        "k",
        &["--key-id", "1A2B3C4D"],
        "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
    )
    .code(2)
    .stderr(predicate::str::contains(
        "--key-id goes with a BitLocker recovery password",
    ));
    env.run(&["seal", "v.bg", "--label", "pw"], "two\nlines")
        .code(2)
        .stderr(predicate::str::contains("a password must be one line"));
    let u = unseal_json(&env, &["--entry", "fv"]);
    assert_eq!(
        u["entries"][0]["secret"], "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
        "stored in canonical form"
    );
    let list = json(&env.run(&["list", "v.bg", "--json"], "").success());
    let bl = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["label"] == "bl")
        .unwrap();
    assert_eq!(bl["device"], "PC-1");
}

#[test]
fn file_entries_hold_binary_data() {
    let env = plain3();
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    env.run(
        &["seal", "v.bg", "--label", "escrow.key", "--kind", "file"],
        data.clone(),
    )
    .success();
    let u = unseal_json(&env, &["--entry", "escrow.key"]);
    assert_eq!(u["entries"][0]["encoding"], "base64");
    let got = data_encoding::BASE64
        .decode(u["entries"][0]["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(got, data);
    env.run(
        &["seal", "v.bg", "--label", "big", "--kind", "file"],
        vec![0u8; 64 * 1024 + 1],
    )
    .code(2)
    .stderr(predicate::str::contains("at most 65536 bytes"));
}

// ---------------------------------------------------------------- rotate

#[test]
fn rotate_adds_a_version_keeps_history_and_clears_exposure() {
    let env = exposed_ba(&["--username", "ba@contoso"], "old-password");
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(s["exposed"][0]["label"], "ba");
    assert_eq!(s["exposed"][0]["overdue"], false);
    let v = json(
        &env.run(
            &[
                "rotate",
                "v.bg",
                "ba",
                "--generate",
                "--username",
                "ba@contoso",
                "--json",
            ],
            "",
        )
        .success(),
    );
    assert_eq!(v["version"], 2);
    assert_eq!(v["rotation"], true);
    let new = v["secret"].as_str().unwrap().to_owned();
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(
        s["exposed"],
        serde_json::json!([]),
        "rotation clears the exposure"
    );
    let h = unseal_json(&env, &["--entry", "ba", "--history"]);
    let secrets = strs(h["entries"].as_array().unwrap(), "secret");
    assert_eq!(secrets, ["old-password", new.as_str()]);
    assert_eq!(h["entries"][0]["username"], "ba@contoso");
    let audit = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    assert!(audit.lines().any(|l| l.contains("\"event\":\"rotate\"")));
    env.run(&["rotate", "v.bg", "nope"], "x")
        .code(2)
        .stderr(predicate::str::contains("no entry 'nope'"));
    env.run(&["rotate", "v.bg", "ba"], "typed-new-one")
        .success()
        .stderr(predicate::str::contains("give --username"));
}

// ---------------------------------------------------------------- status

#[test]
fn status_reports_exposure_deadlines_and_overdue_drills() {
    let env = exposed_ba(&["--rotate-after-use", "2"], "pw");
    // Fresh: nothing overdue yet.
    env.run(&["status", "v.bg"], "")
        .success()
        .stdout(predicate::str::contains("rotate by"));
    // Three hours later the 2-hour exposure window has passed.
    let later = time_plus_hours(3);
    let out = env
        .run(&["status", "v.bg", "--at", &later, "--json"], "")
        .code(5);
    let s = json(&out);
    assert_eq!(s["ok"], false);
    assert_eq!(s["exposed"][0]["overdue"], true);
    assert_eq!(s["drill_overdue"], false);
    // 100 days later: drill and rotation overdue too.
    let much_later = time_plus_hours(24 * 100);
    let s = json(
        &env.run(&["status", "v.bg", "--at", &much_later, "--json"], "")
            .code(5),
    );
    assert_eq!(s["drill_overdue"], true);
    assert_eq!(s["rotation_overdue"][0]["label"], "ba");
    env.run(&["status", "v.bg", "--at", "yesterday"], "")
        .code(1);
}

fn time_plus_hours(h: u64) -> String {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(h * 3600);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[test]
fn status_warns_when_one_lost_envelope_locks_everyone_out() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    let w = s["warnings"].as_array().unwrap();
    assert!(w
        .iter()
        .any(|w| w.as_str().unwrap().contains("one lost envelope")));
    assert!(w
        .iter()
        .any(|w| w.as_str().unwrap().contains("never checked their share")));
}

// ---------------------------------------------------------------- drill

#[test]
fn drill_proves_every_version_decrypts_and_reveals_nothing() {
    let env = plain3();
    env.seal("a", "secret-a-1");
    env.seal("a", "secret-a-2");
    env.seal("b", "secret-b");
    let out = env
        .run(
            &[
                "drill",
                "v.bg",
                "--share",
                "shares/carol.share",
                "--share",
                "shares/alice.share",
            ],
            "",
        )
        .success();
    assert!(
        stdout(&out).contains("all 3 versions of 2 entries decrypt"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("secret-") && !stderr(&out).contains("secret-"));
    let audit = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "drill");
    assert_eq!(last["kind"], "drill");
    assert_eq!(last["custodians"], serde_json::json!(["alice", "carol"]));
    assert_eq!(last["versions_ok"], 3);
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert!(s["last_drill"].is_string());
    // A drill is not an unseal: nothing exposed.
    assert_eq!(s["exposed"], serde_json::json!([]));
    env.run(
        &[
            "drill",
            "v.bg",
            "--share",
            "shares/carol.share",
            "--kind",
            "emergency",
        ],
        "",
    )
    .code(3)
    .stderr(predicate::str::contains("need 2 valid shares, got 1"));
}

#[test]
fn drill_of_a_damaged_vault_names_the_entry_and_exits_4() {
    let env = golden_shares();
    env.copy_fixture("bad/moved-label.bg", "v.bg");
    env.run(
        &[
            "drill",
            "v.bg",
            "--share",
            "alice.share",
            "--share",
            "carol.share",
        ],
        "golden-alice-passphrase\n",
    )
    .code(4)
    .stderr(predicate::str::contains(
        "entry 'filevault-C02XG0FDH7JZ' version 1 (record #4) does not decrypt",
    ))
    .stderr(predicate::str::contains(
        "drill failed: 1 of 4 entry versions",
    ));
    // The failed drill is itself recorded.
    let audit = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    assert!(audit
        .lines()
        .last()
        .unwrap()
        .contains("\"versions_failed\":1"));
}

// ---------------------------------------------------------------- audit

#[test]
fn audit_verify_with_shares_checks_quorum_macs() {
    let env = golden_shares();
    env.copy_fixture("v1/golden.bg", "good.bg");
    env.copy_fixture("bad/forged-unseal-reason.bg", "forged.bg");
    let args = |v: &'static str| {
        [
            "audit",
            v,
            "--verify",
            "--share",
            "alice.share",
            "--share",
            "carol.share",
        ]
    };
    env.run(&args("good.bg"), "golden-alice-passphrase\n")
        .success()
        .stderr(predicate::str::contains("quorum records authentic"));
    // Without shares the forged record passes the chain check: only the MAC catches it.
    env.run(&["audit", "forged.bg", "--verify"], "").success();
    env.run(&args("forged.bg"), "golden-alice-passphrase\n")
        .code(4)
        .stderr(predicate::str::contains("audit record #6 fails its MAC"));
}

// ---------------------------------------------------------------- the quarterly cycle

#[test]
fn quarterly_cycle_drill_unseal_rotate_status_clean() {
    let env = Env::new();
    env.init(3, &FIVE, false);
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "entra-ba1",
            "--username",
            "ba1@contoso",
            "--generate",
        ],
        "",
    )
    .success();
    for who in FIVE {
        env.run(
            &["verify-share", "v.bg", "--share", &env.share(who)],
            pass_lines(&[who]),
        )
        .success();
    }
    let ade = ["alice", "dave", "erin"];
    let files = env.shares(&ade);
    let shares = &share_flags(&files)[..];
    let pass = pass_lines(&ade);
    env.run(&[&["drill", "v.bg"][..], shares].concat(), &pass)
        .success();
    env.unseal(
        &ade,
        &["--entry", "entra-ba1", "--reason", "quarterly test"],
        &pass,
    )
    .success();
    env.run(&["status", "v.bg"], "")
        .success()
        .stdout(predicate::str::contains("pending"));
    env.run(
        &[
            "rotate",
            "v.bg",
            "entra-ba1",
            "--generate",
            "--username",
            "ba1@contoso",
        ],
        "",
    )
    .success();
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["exposed"], serde_json::json!([]));
    assert_eq!(s["warnings"], serde_json::json!([]), "{s}");
    env.run(
        &[&["audit", "v.bg", "--verify"][..], shares].concat(),
        &pass,
    )
    .success();
}

// ---------------------------------------------------------------- lookup

#[test]
fn entries_are_found_and_unsealed_by_device() {
    let env = plain3();
    for (label, device, key) in [
        (
            "fv-C02XG0FDH7JY",
            "C02XG0FDH7JY",
            "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
        ),
        (
            "fv-C02ZZZZZZZZZ",
            "C02ZZZZZZZZZ",
            "ZZZZ-EFGH-IJKL-MNOP-QRST-UVWX",
        ),
    ] {
        env.run(
            &[
                "seal",
                "v.bg",
                "--label",
                label,
                "--kind",
                "recovery-key",
                "--device",
                device,
            ],
            key,
        )
        .success();
    }
    env.seal("entra-ba1", "pw");
    let list = |args: &[&str]| {
        json(
            &env.run(&[&["list", "v.bg", "--json"][..], args].concat(), "")
                .success(),
        )
    };
    let v = list(&["--device", "c02xg0fdh7jy"]);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    assert_eq!(v["entries"][0]["label"], "fv-C02XG0FDH7JY");
    assert_eq!(
        list(&["--search", "c02"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        list(&["--search", "entra"])["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    env.run(&["list", "v.bg", "--search", "nothing-like-this"], "")
        .success()
        .stdout(predicate::str::contains("No entry matches."));
    let u = unseal_json(&env, &["--device", "C02ZZZZZZZZZ"]);
    assert_eq!(u["entries"].as_array().unwrap().len(), 1);
    assert_eq!(u["entries"][0]["secret"], "ZZZZ-EFGH-IJKL-MNOP-QRST-UVWX");
    env.unseal(&["alice", "bob"], &["--device", "NOPE"], "")
        .code(2)
        .stderr(predicate::str::contains("no entry for device 'NOPE'"));
}
