//! Lookups a help desk makes (issue 14, item 5): a BitLocker key by the key
//! ID on the recovery screen, a search by computer name or key ID, and a
//! device with several keys, which reveals one key, not all of them.

use predicates::prelude::*;

use crate::util::{json, pass_lines, stderr, strs, Env};

pub const AB: [&str; 2] = ["alice", "bob"];
/// Two valid BitLocker recovery passwords (every group a multiple of 11).
pub const KEY_OS: &str = "123453-654467-111111-000000-720885-055000-222222-333333";
pub const KEY_DATA: &str = "123453-654467-111111-000000-720885-055000-222222-444444";

/// A 2-of-2 vault (`plain`: without passphrases) holding two BitLocker keys
/// of PC-7 (`pc7-os`, key ID 1A2B3C4D; `pc7-data`, 5E6F7A8B) and a
/// FileVault key of Mac C02XG0FDH7JY.
pub fn two_keys_of_one_pc(plain: bool) -> Env {
    let env = Env::new();
    env.init(2, &AB, plain);
    for (label, device, key_id, key) in [
        ("pc7-os", "PC-7", Some("1a2b3c4d"), KEY_OS),
        ("pc7-data", "PC-7", Some("5E6F7A8B"), KEY_DATA),
        ("mac", "C02XG0FDH7JY", None, "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"),
    ] {
        let mut args = vec![
            "seal",
            "v.bg",
            "--label",
            label,
            "--kind",
            "recovery-key",
            "--device",
            device,
        ];
        args.extend(key_id.iter().flat_map(|id| ["--key-id", *id]));
        env.run(&args, key).success();
    }
    env
}

/// Unseals with both plain shares and `extra`, as JSON; returns the labels
/// revealed and the secrets.
fn revealed(env: &Env, extra: &[&str]) -> (Vec<String>, Vec<String>) {
    let v = json(
        &env.unseal(&AB, &[extra, &["--json"]].concat(), "")
            .success(),
    );
    let entries = v["entries"].as_array().unwrap();
    let own = |field| {
        strs(entries, field)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    (own("label"), own("secret"))
}

/// The labels the last audit event (an unseal) names.
fn last_unseal(env: &Env) -> Vec<String> {
    let events = env.audit_events();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "unseal", "{last}");
    strs(last["entries"].as_array().unwrap(), "label")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn unseal_count(env: &Env) -> usize {
    env.audit_events()
        .iter()
        .filter(|e| e["event"] == "unseal")
        .count()
}

#[test]
fn key_id_prefix_in_lower_case_reveals_and_exposes_only_that_key() {
    let env = two_keys_of_one_pc(true);
    let (labels, secrets) = revealed(&env, &["--key-id", "1a2b3c4d"]);
    assert_eq!(labels, ["pc7-os"]);
    assert_eq!(secrets, [KEY_OS]);
    // The unseal record, what the audit trail and exposure go by, names it alone.
    assert_eq!(last_unseal(&env), ["pc7-os"]);
    // Exposed (to be rotated within the window): that key alone.
    let status = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(
        strs(status["exposed"].as_array().unwrap(), "label"),
        ["pc7-os"]
    );
}

#[test]
fn key_id_with_braces_or_as_the_whole_guid_finds_its_first_8_digits() {
    let env = two_keys_of_one_pc(true);
    for given in [
        "{1A2B3C4D}",
        "1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D",
        "{5e6f7a8b-0e1f-2a3b-4c5d-6e7f8a9b0c1d}",
    ] {
        let (labels, _) = revealed(&env, &["--key-id", given]);
        let want = if given.contains("5e6f") {
            "pc7-data"
        } else {
            "pc7-os"
        };
        assert_eq!(labels, [want], "{given}");
        assert_eq!(last_unseal(&env), [want], "{given}");
    }
}

#[test]
fn unknown_key_id_is_refused_before_any_share_is_asked_for() {
    // Passphrase-protected shares and an empty stdin: had a share been
    // opened, the missing passphrase would be the error.
    let env = two_keys_of_one_pc(false);
    let out = env
        .unseal(&AB, &["--key-id", "0badf00d"], "")
        .code(2)
        .stderr(predicate::str::contains(
            "no entry for key ID 0BADF00D in vault 'Test vault' (see: breakglass list --search)",
        ));
    assert!(!stderr(&out).contains("passphrase"), "{}", stderr(&out));
    assert_eq!(unseal_count(&env), 0);
    // The same shares with their passphrases do open it: the refusal was the lookup's.
    env.unseal(&AB, &["--key-id", "1A2B3C4D"], pass_lines(&AB))
        .success();
    assert_eq!(last_unseal(&env), ["pc7-os"]);
}

#[test]
fn malformed_key_id_is_refused_saying_what_a_key_id_looks_like() {
    let env = two_keys_of_one_pc(false);
    for given in [
        "1A2B3C4",
        "1A2B3C4DE",
        "{1A2B3C4D",
        "1A2B3C4D-0E1F",
        "PC-7",
        // A recovery password pasted by mistake is not repeated.
        KEY_OS,
    ] {
        let out = env
            .unseal(&AB, &["--key-id", given], "")
            .code(2)
            .stderr(predicate::str::contains(
            "not a BitLocker key ID: give the 8 hexadecimal digits shown on the recovery screen",
        ));
        let err = stderr(&out);
        assert!(!err.contains("passphrase"), "{given}: {err}");
        assert!(!err.contains("654467"), "{given}: {err}");
    }
    assert_eq!(unseal_count(&env), 0);
}

#[test]
fn a_device_with_two_keys_is_refused_without_a_terminal_naming_both() {
    let env = two_keys_of_one_pc(false);
    env.unseal(&AB, &["--device", "pc-7"], "")
        .code(2)
        .stderr(predicate::str::contains(
            "device 'pc-7' matches 2 entries: pc7-data, pc7-os — reveal one with --entry LABEL \
             (or all of them deliberately with --all-matches)",
        ));
    assert_eq!(unseal_count(&env), 0);
}

#[test]
fn all_matches_reveals_both_and_entry_picks_one() {
    let env = two_keys_of_one_pc(true);
    let (labels, _) = revealed(&env, &["--device", "PC-7", "--all-matches"]);
    assert_eq!(labels, ["pc7-data", "pc7-os"]);
    assert_eq!(last_unseal(&env), ["pc7-data", "pc7-os"]);
    let (labels, secrets) = revealed(&env, &["--device", "PC-7", "--entry", "pc7-data"]);
    assert_eq!(labels, ["pc7-data"]);
    assert_eq!(secrets, [KEY_DATA]);
    assert_eq!(last_unseal(&env), ["pc7-data"]);
    // --entry with --device keeps its meaning: an entry not for the device is none.
    env.unseal(&AB, &["--device", "PC-7", "--entry", "mac"], "")
        .code(2)
        .stderr(predicate::str::contains("no entry for device 'PC-7'"));
    // A device with one entry needs no choice.
    let (labels, _) = revealed(&env, &["--device", "c02xg0fdh7jy"]);
    assert_eq!(labels, ["mac"]);
}

#[test]
fn key_id_with_device_or_all_matches_alone_are_usage_errors() {
    let env = two_keys_of_one_pc(true);
    env.unseal(&AB, &["--device", "PC-7", "--key-id", "1A2B3C4D"], "")
        .code(1);
    env.unseal(&AB, &["--all-matches"], "").code(1);
    assert_eq!(unseal_count(&env), 0);
}

#[test]
fn list_search_finds_key_ids_and_computer_names() {
    let env = two_keys_of_one_pc(true);
    let search = |text: &str| -> Vec<String> {
        let v = json(
            &env.run(&["list", "v.bg", "--json", "--search", text], "")
                .success(),
        );
        strs(v["entries"].as_array().unwrap(), "label")
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(search("1a2b3c4d"), ["pc7-os"]);
    assert_eq!(search("6F7A"), ["pc7-data"]);
    assert_eq!(search("{1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D}"), ["pc7-os"]);
    assert_eq!(search("pc-7"), ["pc7-data", "pc7-os"]);
    assert_eq!(search("c02xg0"), ["mac"]);
    // Secrets are not searched.
    assert!(search("654467").is_empty());
    let v = json(
        &env.run(&["list", "v.bg", "--json", "--search", "1A2B3C4D"], "")
            .success(),
    );
    assert_eq!(v["entries"][0]["key_id"], "1A2B3C4D");
    env.run(&["list", "v.bg", "--search", "5e6f7a8b"], "")
        .success()
        .stdout(predicate::str::contains("KEY ID"))
        .stdout(predicate::str::contains("5E6F7A8B"));
}

#[test]
fn imported_bitlocker_keys_are_found_by_key_id_and_computer_name() {
    // The case: the recovery screen shows the key ID; the device
    // attribute holds the computer name, the key-id attribute the ID.
    let env = Env::new();
    env.init(2, &AB, true);
    let from = crate::util::root().join("fixtures/import/bitlocker-intune.csv");
    env.run(
        &[
            "import",
            "v.bg",
            "--from",
            from.to_str().unwrap(),
            "--format",
            "bitlocker",
        ],
        "",
    )
    .success();
    let (labels, secrets) = revealed(&env, &["--key-id", "87322e25"]);
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert!(
        labels[0].starts_with("bitlocker-DESKTOP-0000-"),
        "{labels:?}"
    );
    assert_eq!(
        secrets,
        ["512831-321211-475299-321574-281358-345147-577698-326909"]
    );
    let v = json(
        &env.run(&["list", "v.bg", "--json", "--search", "desktop-0001"], "")
            .success(),
    );
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["entries"][0]["key_id"], "7E26F36A");
}

/// A FileVault entry is found by its serial, and also by the computer name
/// and the user the export names (issue 14): both kept as public,
/// search-only attributes; the recovery key is never searched.
#[test]
fn imported_filevault_keys_are_found_by_computer_name_and_user() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let jamf = crate::util::root().join("fixtures/import/filevault-jamf.csv");
    env.run(
        &[
            "import",
            "v.bg",
            "--from",
            jamf.to_str().unwrap(),
            "--format",
            "filevault",
        ],
        "",
    )
    .success();
    let search = |text: &str| -> serde_json::Value {
        json(
            &env.run(&["list", "v.bg", "--json", "--search", text], "")
                .success(),
        )["entries"]
            .clone()
    };
    for text in ["mac-001", "MAC-001", "user1", "C02X0001JHD3"] {
        let found = search(text);
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert_eq!(found[0]["device"], "C02X0001JHD3");
        assert_eq!(found[0]["also_known_as"], "mac-001");
        assert_eq!(found[0]["user"], "user1");
    }
    assert!(
        search("ZDOC-9IS0").as_array().unwrap().is_empty(),
        "keys are not searched"
    );
}

/// `unseal --key-id` reads through the index's key-ID table (FORMAT.md
/// §12): a record it does not need may be damaged and it still reveals,
/// while every whole read names the damage. A key ID changed by a new
/// version is found by its new value only, as a whole replay says.
#[test]
fn key_id_lookups_read_through_the_index_and_follow_the_current_version() {
    let env = two_keys_of_one_pc(true);
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "pc7-os",
            "--kind",
            "recovery-key",
            "--device",
            "PC-7",
            "--key-id",
            "99AA88BB",
        ],
        KEY_OS,
    )
    .success();
    env.run(&["list", "v.bg"], "").success(); // the index covers every record
    let (labels, _) = revealed(&env, &["--key-id", "99aa88bb"]);
    assert_eq!(labels, ["pc7-os"]);
    env.unseal(&AB, &["--key-id", "1A2B3C4D"], "")
        .code(2)
        .stderr(predicate::str::contains("no entry for key ID 1A2B3C4D"));

    // Damage pc7-data's deposit (record 3): not needed for pc7-os.
    let path = env.path("v.bg");
    let mut bytes = std::fs::read(&path).unwrap();
    let frames = vault_core::log::parse(&bytes).unwrap().frames;
    bytes[frames[2].offset as usize + vault_core::log::FRAME_HEAD + 3] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let (labels, secrets) = revealed(
        &env,
        &["--key-id", "{99AA88BB-0E1F-2A3B-4C5D-6E7F8A9B0C1D}"],
    );
    assert_eq!(
        (labels, secrets),
        (vec!["pc7-os".to_owned()], vec![KEY_OS.to_owned()])
    );
    env.run(&["list", "v.bg"], "")
        .code(4)
        .stderr(predicate::str::contains("record #3"));
}
