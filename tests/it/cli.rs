//! The command-line contract, tested on the real binary: every command's
//! success path and each bad input with its message and exit code.

use crate::util::{
    init_args, json, pass_lines, passphrase, stderr, stdout, strs, unseal_args, with_genesis, Env,
    FIVE, FLOOR,
};
use predicates::prelude::*;

// ---------------------------------------------------------------- init

#[test]
fn init_writes_vault_and_one_0600_share_per_custodian() {
    let env = Env::new();
    env.init(3, &FIVE, false);
    for n in FIVE {
        let text = env.read(&format!("shares/{n}.share"));
        assert!(text.starts_with("BREAKGLASS SHARE v2\n"));
        assert!(text.contains(&format!("Custodian: {n}\n")));
        assert!(text.contains("any 3 of the 5 custodians"));
        assert!(text.contains("(generation 1)"));
        assert!(text.contains("Protection: passphrase (Argon2id)"));
        assert!(
            !text.contains(&passphrase(n)),
            "the passphrase is never written"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(env.path(&format!("shares/{n}.share")))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{n}.share");
        }
    }
    assert!(env.path("v.bg").exists());
}

#[test]
fn init_no_passphrase_writes_plain_shares() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    assert!(env.read("shares/alice.share").contains("Protection: none"));
}

#[test]
fn init_json_reports_shares() {
    let env = Env::new();
    let mut args = init_args("v.bg", "J", "2", &["a", "b"], "s");
    args.extend(["--no-passphrase", "--json"]);
    args.extend(FLOOR);
    let out = env.run(&args, "").success();
    let v = json(&out);
    assert_eq!(v["threshold"], 2);
    assert_eq!(v["shares"][1]["custodian"], "b");
    assert_eq!(v["shares"][1]["passphrase"], false);
    assert_eq!(v["id"].as_str().unwrap().len(), 32);
}

/// `init` of a plain vault `v.bg` named X, shares in `shares/`, at FLOOR.
fn plain_init_args<'a>(k: &'a str, names: &[&'a str]) -> Vec<&'a str> {
    let mut args = init_args("v.bg", "X", k, names, "shares");
    args.push("--no-passphrase");
    args.extend(FLOOR);
    args
}

#[test]
fn init_refuses_bad_thresholds_and_names() {
    let env = Env::new();
    for (k, names, msg) in [
        ("1", vec!["a", "b"], "threshold 1 is refused"),
        (
            "3",
            vec!["a", "b"],
            "threshold 3 is more than the 2 custodians",
        ),
        ("2", vec!["a", "b", "a"], "custodian 'a' is named twice"),
        ("2", vec!["a", "B", "b"], "custodian 'b' is named twice"),
        ("2", vec!["a", "x/y"], "cannot be a file name"),
    ] {
        env.run(&plain_init_args(k, &names), "")
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    assert!(!env.path("v.bg").exists(), "nothing written");
    assert!(!env.path("shares").exists(), "nothing written");
}

#[test]
fn init_refuses_more_than_255_custodians() {
    let env = Env::new();
    let names: Vec<String> = (0..256).map(|i| format!("c{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    env.run(&plain_init_args("2", &refs), "")
        .code(2)
        .stderr(predicate::str::contains(
            "256 custodians is too many: at most 255",
        ));
}

#[test]
fn init_refuses_argon2_below_the_floor() {
    let env = Env::new();
    let mut base = plain_init_args("2", &["a", "b"]);
    base.truncate(base.len() - FLOOR.len());
    // Memory below the floor, then time below it.
    for (memory, time) in [("8", "2"), ("19", "1")] {
        let argon2 = [
            "--argon2-memory",
            memory,
            "--argon2-time",
            time,
            "--argon2-parallelism",
            "1",
        ];
        env.run(&[&base[..], &argon2].concat(), "")
            .code(2)
            .stderr(predicate::str::contains("below the floor"));
    }
}

#[test]
fn init_refuses_an_existing_vault_without_force() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let before = std::fs::read(env.path("v.bg")).unwrap();
    env.run(&plain_init_args("2", &["a", "b"]), "")
        .code(2)
        .stderr(predicate::str::contains(
            "v.bg: already exists (use --force",
        ));
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    let mut args = plain_init_args("2", &["alice", "bob"]);
    args.push("--force");
    env.run(&args, "").success();
    assert_ne!(std::fs::read(env.path("v.bg")).unwrap(), before);
}

#[test]
fn init_refuses_short_passphrase_and_missing_lines() {
    let env = Env::new();
    let mut args = plain_init_args("2", &["alice", "bob"]);
    args.retain(|a| *a != "--no-passphrase");
    env.run(&args, "short\n")
        .code(2)
        .stderr(predicate::str::contains(
            "passphrase for alice's share is shorter than 8",
        ));
    env.run(&args, "long-enough-1\n")
        .code(2)
        .stderr(predicate::str::contains("found the end of input"));
    assert!(!env.path("v.bg").exists());
}

// ---------------------------------------------------------------- seal / list

#[test]
fn seal_needs_no_share_and_adds_versions() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.run(
        &["seal", "v.bg", "--label", "root", "--username", "admin"],
        "first\n",
    )
    .success()
    .stdout(predicate::str::contains(
        "Sealed 'root' (password, version 1)",
    ));
    env.run(&["seal", "v.bg", "--label", "root"], "second")
        .success()
        .stdout(predicate::str::contains("version 2"));
    let out = env.run(&["list", "v.bg", "--json"], "").success();
    let v = json(&out);
    assert_eq!(v["entries"][0]["label"], "root");
    assert_eq!(v["entries"][0]["versions"], 2);
    assert_eq!(v["vault"]["threshold"], 2);
    // The secret is nowhere in the file or in list output.
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"second"));
    assert!(!bytes.windows(5).any(|w| w == b"admin"));
    assert!(!stdout(&out).contains("second"));
}

#[test]
fn seal_refuses_empty_secret_kind_change_and_bad_label() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.run(&["seal", "v.bg", "--label", "x"], "")
        .code(2)
        .stderr(predicate::str::contains("the secret is empty"));
    env.seal("x", "pw");
    env.run(&["seal", "v.bg", "--label", "x", "--kind", "note"], "n")
        .code(2)
        .stderr(predicate::str::contains(
            "entry 'x' holds a password, not a note",
        ));
    env.run(&["seal", "v.bg", "--label", " padded"], "n")
        .code(2)
        .stderr(predicate::str::contains(
            "label has leading or trailing spaces",
        ));
    env.run(&["seal", "v.bg", "--label", "bin"], [0xff_u8, 0xfe])
        .code(2)
        .stderr(predicate::str::contains("not UTF-8"));
}

#[test]
fn list_human_output_and_empty_vault() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.run(&["list", "v.bg"], "")
        .success()
        .stdout(predicate::str::contains("any 2 of 2 unseal — alice, bob"))
        .stdout(predicate::str::contains("No entries yet"));
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "fv-C02X",
            "--kind",
            "recovery-key",
        ],
        "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
    )
    .success();
    env.run(&["list", "v.bg"], "")
        .success()
        .stdout(predicate::str::is_match(r"fv-C02X\s+recovery-key\s+1\s+\d{4}-").unwrap());
}

#[test]
fn missing_file_and_not_a_vault_are_bad_input() {
    let env = Env::new();
    env.run(&["list", "nope.bg"], "")
        .code(2)
        .stderr(predicate::str::contains("nope.bg: No such file"));
    env.write("x.bg", "BREAKGLASS SHARE v1\n");
    env.run(&["list", "x.bg"], "")
        .code(2)
        .stderr(predicate::str::contains("not a breakglass vault"));
}

#[test]
fn newer_format_is_refused_with_upgrade_hint() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let mut bytes = std::fs::read(env.path("v.bg")).unwrap();
    bytes[9] = 3;
    env.write("v.bg", &bytes);
    env.run(&["list", "v.bg"], "").code(2).stderr(
        predicate::str::contains("format version 3 is newer")
            .and(predicate::str::contains("upgrade breakglass")),
    );
}

#[test]
fn usage_errors_exit_1() {
    let env = Env::new();
    env.run(&["seal"], "").code(1);
    env.run(&["frobnicate"], "").code(1);
    env.run(&["unseal", "v.bg"], "")
        .code(1)
        .stderr(predicate::str::contains("--share"));
    env.run(&["--help"], "")
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

// ---------------------------------------------------------------- unseal

#[test]
fn any_three_of_five_unseal_and_no_two_do() {
    let env = Env::new();
    env.init(3, &FIVE, true);
    env.seal("entra-ba1", "Hunter2-entra");
    env.seal("mac-admin", "Hunter2-mac");
    // Every subset of FIVE by bit mask: 3 members open, 2 do not.
    for mask in 0u32..32 {
        let picked: Vec<&str> = (0..5)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| FIVE[i])
            .collect();
        match picked.len() {
            3 => {
                env.unseal(&picked, &[], "")
                    .success()
                    .stdout(predicate::str::contains("secret:   Hunter2-entra"))
                    .stdout(predicate::str::contains("secret:   Hunter2-mac"));
            }
            2 => {
                env.unseal(&picked, &[], "")
                    .code(3)
                    .stderr(predicate::str::contains("need 3 valid shares, got 2"))
                    .stdout(predicate::str::is_empty());
            }
            _ => {}
        }
    }
}

#[test]
fn unseal_with_passphrases_and_selected_entry_and_json() {
    let env = Env::new();
    env.init(2, &FIVE[..3], false);
    env.run(
        &["seal", "v.bg", "--label", "a", "--username", "ba@contoso"],
        "pw-a",
    )
    .success();
    env.seal("b", "pw-b");
    let out = env
        .unseal(
            &["carol", "alice"],
            &["--entry", "a", "--json", "--reason", "IdP outage"],
            pass_lines(&["carol", "alice"]),
        )
        .success();
    let v = json(&out);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    assert_eq!(v["entries"][0]["secret"], "pw-a");
    assert_eq!(v["entries"][0]["username"], "ba@contoso");
    assert_eq!(v["entries"][0]["version"], 1);
    assert_eq!(v["custodians"], serde_json::json!(["carol", "alice"]));
    assert!(!stdout(&out).contains("pw-b"));
}

#[test]
fn unseal_reveals_the_current_version() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "old-password");
    env.seal("root", "new-password");
    env.unseal(&["alice", "bob"], &[], "")
        .success()
        .stdout(
            predicate::str::contains("new-password")
                .and(predicate::str::contains("old-password").not()),
        )
        .stdout(predicate::str::contains("version 2"));
}

#[test]
fn wrong_passphrase_is_named_and_unseal_goes_on_with_enough_good_shares() {
    let env = Env::new();
    env.init(2, &FIVE[..3], false);
    env.seal("x", "the-secret");
    let input = format!(
        "{}\nnot-bobs-passphrase\n{}\n",
        passphrase("alice"),
        passphrase("carol")
    );
    env.unseal(&["alice", "bob", "carol"], &[], &input)
        .success()
        .stderr(predicate::str::contains(
            "share shares/bob.share: custodian bob: wrong passphrase",
        ))
        .stdout(predicate::str::contains("the-secret"));
    // With only two shares given, one wrong passphrase leaves one: exit 3.
    let input = format!("{}\nwrong-wrong\n", passphrase("alice"));
    env.unseal(&["alice", "bob"], &[], &input)
        .code(3)
        .stderr(predicate::str::contains(
            "need 2 valid shares, got 1 (valid: alice; rejected: shares/bob.share)",
        ));
}

#[test]
fn mistyped_share_is_named_by_line_and_custodian() {
    let env = Env::new();
    env.init(2, &FIVE[..3], true);
    env.seal("x", "the-secret");
    let text = env.read("shares/bob.share");
    let line = text.lines().find(|l| l.starts_with("04: ")).unwrap();
    let mut typo = line.as_bytes().to_vec();
    typo[6] = if typo[6] == b'Z' { b'Y' } else { b'Z' };
    env.write(
        "typo.share",
        text.replace(line, std::str::from_utf8(&typo).unwrap()),
    );
    let s = vec![
        env.share("alice"),
        "typo.share".to_owned(),
        env.share("carol"),
    ];
    env.run(&[unseal_args("v.bg", &s), vec!["--all"]].concat(), "")
        .success()
        .stderr(predicate::str::contains(
            "share typo.share: custodian bob (per its header): line 4: symbol 3 of group 1 is mistyped",
        ))
        .stderr(predicate::str::contains("look at that symbol on the envelope"));
}

#[test]
fn forgiving_share_text_still_unseals() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("x", "the-secret");
    // Lower case, no spaces, O for 0 and l for 1: typed in a hurry.
    let sloppy: String = env
        .read("shares/alice.share")
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => {
                format!(
                    "{n}:{}\n",
                    rest.replace(' ', "")
                        .to_lowercase()
                        .replace('0', "o")
                        .replace('1', "l")
                )
            }
            _ => format!("{l}\n"),
        })
        .collect();
    env.write("sloppy.share", sloppy);
    let s = vec!["sloppy.share".to_owned(), env.share("bob")];
    env.run(&[unseal_args("v.bg", &s), vec!["--all"]].concat(), "")
        .success()
        .stdout(predicate::str::contains("the-secret"));
}

#[test]
fn foreign_duplicate_and_junk_shares_are_named() {
    let env = Env::new();
    env.init(2, &FIVE[..3], true);
    env.seal("x", "the-secret");
    env.foreign_share(["alice", "bob"], "foreign.share");
    env.write("junk.share", "hello\n");
    let s = vec![
        "foreign.share".to_owned(),
        env.share("alice"),
        env.share("alice"),
        "junk.share".to_owned(),
        env.share("carol"),
    ];
    env.run(&[unseal_args("v.bg", &s), vec!["--all"]].concat(), "")
        .success()
        .stderr(predicate::str::contains(
            "share foreign.share: belongs to another vault",
        ))
        .stderr(predicate::str::contains(
            "share shares/alice.share: duplicate: custodian alice's share was already given",
        ))
        .stderr(predicate::str::contains(
            "share junk.share: not a breakglass share",
        ))
        .stdout(predicate::str::contains("the-secret"));
}

#[test]
fn share_of_the_wrong_custodian_slot_fails_its_commitment() {
    let env = Env::new();
    env.init(2, &FIVE[..3], true);
    env.seal("x", "s");
    // A share from another init of a vault that happens to have the same id
    // cannot be made; instead: re-init over the same path, keep old shares.
    std::fs::create_dir(env.path("old")).unwrap();
    std::fs::copy(env.path("shares/alice.share"), env.path("old/alice.share")).unwrap();
    let mut args = plain_init_args("2", &FIVE[..3]);
    args.push("--force");
    env.run(&args, "").success();
    env.seal("x", "s");
    let s = vec!["old/alice.share".to_owned(), env.share("bob")];
    env.run(&[unseal_args("v.bg", &s), vec!["--all"]].concat(), "")
        .code(3)
        .stderr(predicate::str::contains(
            "share old/alice.share: belongs to another vault",
        ));
}

#[test]
fn share_from_stdin_then_passphrases() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.seal("x", "the-secret");
    let input = format!(
        "{}{}\n{}\n",
        env.read("shares/bob.share"),
        passphrase("bob"),
        passphrase("alice")
    );
    env.run(
        &[
            "unseal",
            "v.bg",
            "--share",
            "-",
            "--share",
            "shares/alice.share",
            "--all",
        ],
        &input,
    )
    .success()
    .stdout(predicate::str::contains("the-secret"));
}

#[test]
fn unknown_entry_is_refused_before_any_share_is_read() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.seal("x", "s");
    env.unseal(&["alice", "bob"], &["--entry", "nope"], "")
        .code(2)
        .stderr(predicate::str::contains(
            "no entry 'nope' in vault 'Test vault'",
        ));
}

#[test]
fn unseal_of_an_empty_vault_says_so() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.unseal(&["alice", "bob"], &[], "")
        .code(2)
        .stderr(predicate::str::contains("holds no entries"));
}

#[test]
fn running_out_of_passphrase_lines_is_bad_input() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.seal("x", "s");
    env.unseal(&["alice", "bob"], &[], pass_lines(&["alice"]))
        .code(2)
        .stderr(predicate::str::contains("found the end of input"));
}

// ---------------------------------------------------------------- verify-share

#[test]
fn verify_share_checks_one_share_alone_and_is_audited() {
    let env = Env::new();
    env.init(3, &FIVE, false);
    env.seal("x", "the-secret");
    env.run(
        &["verify-share", "v.bg", "--share", "shares/dave.share"],
        pass_lines(&["dave"]),
    )
    .success()
    .stdout(predicate::str::contains("Share OK: dave (share 4 of 5)"))
    .stdout(predicate::str::contains("the-secret").not());
    env.run(
        &["verify-share", "v.bg", "--share", "shares/dave.share"],
        "nope-nope\n",
    )
    .code(2)
    .stderr(predicate::str::contains("custodian dave: wrong passphrase"));
    let out = env.run(&["audit", "v.bg", "--json"], "").success();
    let last = stdout(&out).lines().last().unwrap().to_owned();
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["event"], "share-verified");
    assert_eq!(v["custodians"], serde_json::json!(["dave"]));
}

// ---------------------------------------------------------------- audit

#[test]
fn audit_records_deposits_and_unseals_with_reason() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("x", "s");
    env.unseal(&["bob", "alice"], &["--reason", "MFA outage INC-7"], "")
        .success();
    let events = env.audit_events();
    let kinds = strs(&events, "event");
    assert_eq!(kinds, ["init", "deposit", "unseal"]);
    let u = &events[2];
    assert_eq!(u["reason"], "MFA outage INC-7");
    assert_eq!(u["custodians"], serde_json::json!(["alice", "bob"]));
    assert_eq!(
        u["entries"],
        serde_json::json!([{"label": "x", "version": 1}])
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["record"], i + 1);
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(e["hash"].as_str().unwrap().len(), 64);
    }
    env.run(&["audit", "v.bg"], "").success().stdout(
        predicate::str::contains("unseal")
            .and(predicate::str::contains("reason=\"MFA outage INC-7\"")),
    );
}

#[test]
fn audit_verify_prints_head_and_catches_tampering() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("x", "s");
    env.seal("y", "t");
    let out = env.run(&["audit", "v.bg", "--verify"], "").success();
    assert!(stderr(&out)
        .contains("hash chain intact, every quorum and custodian signature valid. Head hash: "));
    // Flip one byte inside the second record (the first deposit).
    let mut bytes = std::fs::read(env.path("v.bg")).unwrap();
    let len = bytes.len();
    bytes[len / 2] ^= 0x01;
    env.write("v.bg", &bytes);
    env.run(&["audit", "v.bg", "--verify"], "")
        .code(4)
        .stderr(predicate::str::contains("record #"));
    env.run(&["list", "v.bg"], "")
        .code(4)
        .stderr(predicate::str::contains("damaged or was altered"));
}

#[test]
fn torn_tail_is_reported_then_set_aside() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("x", "s");
    let mut bytes = std::fs::read(env.path("v.bg")).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0, 0, 1]);
    env.write("v.bg", &bytes);
    env.run(&["list", "v.bg"], "")
        .success()
        .stderr(predicate::str::contains("unfinished write"));
    env.run(&["audit", "v.bg", "--verify"], "").code(4);
    env.seal("y", "t");
    let aside = env.path(&format!("v.bg.torn-{good}"));
    assert_eq!(std::fs::read(aside).unwrap(), [0, 0, 1]);
    env.run(&["audit", "v.bg", "--verify"], "").success();
    env.run(&["list", "v.bg"], "")
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn damaged_key_material_is_exit_4() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("x", "s");
    // Rewrite the key-check value inside the genesis record and fix up the
    // chain so only the key check is wrong: the genesis signature fails,
    // and the vault is refused before any share is read.
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let out = with_genesis(&bytes, |genesis| genesis.key_check[0] ^= 1);
    env.write("v.bg", &out);
    env.unseal(&["alice", "bob"], &[], "")
        .code(4)
        .stderr(predicate::str::contains(
            "the genesis record's signature does not verify",
        ));
    // Signed again by someone else's key, the file is consistent — of
    // another vault: the fingerprint covers the key check and the
    // signature key, so format-2 shares name the change before any
    // passphrase (format-1 shares pass their commitments and combine to a
    // key the vault does not know: vault-core's
    // `altered_key_check_is_damage`).
    let out = crate::util::resigned(&bytes, &vault_core::keys::MasterKey::generate(), |g| {
        g.key_check[0] ^= 1
    });
    env.write("v.bg", &out);
    env.unseal(&["alice", "bob"], &[], "")
        .code(4)
        .stderr(predicate::str::contains(
            "was issued for a different generation-1 vault (fingerprint ",
        ))
        .stderr(predicate::str::contains(
            "this vault file was replaced or altered",
        ));
    // Signed again with the vault's own master key (an insider quorum),
    // the shares pass their fingerprint but the key check does not match.
    let mk = crate::util::master_key(
        &bytes,
        &[
            &env.path("shares/alice.share"),
            &env.path("shares/bob.share"),
        ],
    );
    let out = crate::util::resigned(&bytes, &mk, |g| g.key_check[0] ^= 1);
    env.write("v.bg", &out);
    env.unseal(&["alice", "bob"], &[], "").code(4);
}

// ---------------------------------------------------------------- concurrency

#[test]
fn concurrent_depositors_lose_nothing() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let children: Vec<_> = (0..12)
        .map(|i| {
            env.spawn(
                &["seal", "v.bg", "--label", &format!("entry-{i}")],
                format!("secret-{i}").as_bytes(),
            )
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let out = env.run(&["list", "v.bg", "--json"], "").success();
    let v = json(&out);
    assert_eq!(v["entries"].as_array().unwrap().len(), 12);
    env.run(&["audit", "v.bg", "--verify"], "").success();
    let out = env.unseal(&["alice", "bob"], &[], "").success();
    for i in 0..12 {
        assert!(
            stdout(&out).contains(&format!("secret:   secret-{i}\n")),
            "entry-{i}"
        );
    }
}

// ---------------------------------------------------------------- secret hygiene

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn no_secret_or_passphrase_is_left_in_any_file() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "root",
            "--username",
            "hidden-admin-name",
        ],
        "Very-Secret-Value-42",
    )
    .success();
    env.unseal(&["alice", "bob"], &[], pass_lines(&["alice", "bob"]))
        .success()
        .stdout(predicate::str::contains("Very-Secret-Value-42"));
    env.run(
        &["verify-share", "v.bg", "--share", "shares/bob.share"],
        pass_lines(&["bob"]),
    )
    .success();
    assert_eq!(
        files_under(env.dir.path()),
        [
            "shares/alice.share",
            "shares/bob.share",
            "v.bg",
            "v.bg.index"
        ]
    );
    for f in files_under(env.dir.path()) {
        let bytes = std::fs::read(env.path(&f)).unwrap();
        for needle in [
            "Very-Secret-Value-42",
            "hidden-admin-name",
            &passphrase("alice"),
            &passphrase("bob"),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{f} contains {needle}"
            );
        }
    }
}

#[test]
fn no_command_takes_a_secret_as_an_argument() {
    let env = Env::new();
    for cmd in ["init", "seal", "list", "unseal", "verify-share", "audit"] {
        let help = stdout(&env.run(&[cmd, "--help"], "").success()).to_lowercase();
        // Flags that take a value: `--name <NAME>`. Switches carry no secret.
        for line in help
            .lines()
            .filter(|l| l.trim_start().starts_with("--") && l.contains(" <"))
        {
            let flag = line.split_whitespace().next().unwrap();
            // --key-id is a BitLocker key ID: public, like a serial number.
            for word in ["pass", "secret", "password", "key"] {
                assert!(
                    !flag.contains(word) || flag == "--key-id",
                    "{cmd} has a flag {flag} that may take a secret"
                );
            }
        }
    }
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout(&env.run(&["completions", shell], "").success());
        for cmd in ["init", "unseal", "rekey", "envelope", "contribute"] {
            assert!(out.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    let man = stdout(&env.run(&["man"], "").success());
    assert!(
        man.starts_with(".ie") || man.contains(".TH breakglass"),
        "{}",
        &man[..80.min(man.len())]
    );
    assert!(man.contains("Exit codes"));
    env.run(&["completions", "tcsh"], "").code(1);
}

/// A `--share` path that names no file: without a terminal, exit 2 at
/// once, naming the file once, before any passphrase line is read (the
/// lines would no longer match their shares) — not "need 2 valid shares"
/// (exit 3) after the others were tried. At a terminal it is named and the
/// others go on when they can reach the threshold.
#[test]
fn a_missing_share_file_is_bad_input_named_once() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.seal("root", "s3cret");
    for args in [
        vec![
            "unseal",
            "v.bg",
            "--share",
            "shares/alice.share",
            "--share",
            "shares/bobb.share",
            "--all",
        ],
        vec![
            "drill",
            "v.bg",
            "--share",
            "shares/bobb.share",
            "--share",
            "shares/alice.share",
        ],
    ] {
        let out = env.run(&args, "");
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(2), "{err}");
        assert_eq!(err.matches("shares/bobb.share").count(), 1, "{err}");
        assert!(
            err.contains("no such file — check the path")
                && err.contains("the passphrase lines could not be matched"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one error, nothing tried: {err}");
    }
}
