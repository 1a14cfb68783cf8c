//! The recovery page's logic, natively, against the golden vaults: the
//! same shares, passphrases and records the command line's tests use
//! (fixtures/README.md). The browser test (tests/kit/) drives the same
//! calls through the WebAssembly module.

use secrecy::SecretString;
use serde_json::Value;
use vault_core::log;
use vault_core::vault::Vault;
use vault_kit::api::Session;
use vault_kit::kit::{Kit, Refused, LISTED, MAX_PASSPHRASE, MAX_SHARE_TEXT, MAX_VAULT_FILE};

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{}/../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn text(path: &str) -> String {
    String::from_utf8(fixture(path)).unwrap()
}

fn pass(p: &str) -> Option<SecretString> {
    Some(SecretString::from(p.to_owned()))
}

/// The typed lines of a share file (`NN: ...`), as on the envelope.
fn typed_lines(share: &str) -> Vec<String> {
    share
        .lines()
        .filter(|l| l.get(2..3) == Some(":"))
        .map(str::to_owned)
        .collect()
}

fn with_two_shares(vault: &str, dir: &str) -> Kit {
    let mut kit = Kit::open(fixture(vault)).unwrap();
    let o = kit
        .offer_text("carol.share", &text(&format!("{dir}/carol.share")))
        .unwrap();
    assert_eq!((o.custodian.as_str(), o.protected), ("carol", false));
    let o = kit
        .offer_text("alice.share", &text(&format!("{dir}/alice.share")))
        .unwrap();
    assert_eq!((o.custodian.as_str(), o.protected), ("alice", true));
    assert_eq!(kit.pending(), Some("alice"));
    kit
}

#[test]
fn two_shares_reveal_the_current_secret_and_the_record_is_in_the_new_file() {
    for (vault, dir, alice_pass) in [
        ("v2/golden.bg", "v2", "golden-alice-passphrase"),
        ("v1/golden.bg", "v1", "golden-alice-passphrase"),
    ] {
        let before = fixture(vault);
        let records_before = Vault::replay(&log::parse(&before).unwrap())
            .unwrap()
            .record_count();
        let mut kit = with_two_shares(vault, dir);
        assert_eq!(kit.unlock(pass(alice_pass)).unwrap(), "alice");
        assert_eq!(kit.accepted(), ["carol", "alice"]);

        let done = kit
            .unseal(
                &["entra-ba1".into()],
                "outage INC-7",
                "kit-test",
                1_796_083_200,
            )
            .unwrap();
        assert_eq!(done.revealed.len(), 1, "{vault}");
        assert_eq!(done.revealed[0].version, 2, "{vault}: the current version");
        assert_eq!(done.revealed[0].secret_text().as_str(), "Golden-Entra-v2!");
        assert!(done.warnings.is_empty(), "{vault}: {:?}", done.warnings);

        // The new file is the old one plus one record, which any reader
        // replays (its signature and place checked) as an unseal.
        assert_eq!(
            &done.file[..before.len()],
            &before[..],
            "{vault}: appended only"
        );
        let again = Vault::replay(&log::parse(&done.file).unwrap()).unwrap();
        assert_eq!(again.record_count(), records_before + 1, "{vault}");
        assert_eq!(done.receipt.record as usize, records_before + 1);

        // Spent: the page must load the new file to unseal again.
        let Err(Refused(e)) = kit.unseal(&["runbook".into()], "again", "kit-test", 1) else {
            panic!("{vault}: a second unseal on the old state")
        };
        assert!(e.contains("load the new vault file"), "{e}");
    }
}

#[test]
fn a_wrong_passphrase_keeps_the_share_waiting_and_names_the_custodian() {
    let mut kit = with_two_shares("v2/golden.bg", "v2");
    let Err(Refused(e)) = kit.unlock(pass("not-her-passphrase")) else {
        panic!("a wrong passphrase opened the share")
    };
    assert!(e.starts_with("share alice.share: custodian alice: "), "{e}");
    assert!(e.contains("passphrase"), "{e}");
    assert_eq!(kit.pending(), Some("alice"), "kept to be typed again");
    assert_eq!(kit.accepted(), ["carol"]);
    assert_eq!(
        kit.unlock(pass("golden-alice-passphrase")).unwrap(),
        "alice"
    );
}

#[test]
fn one_share_is_not_enough_and_nothing_is_written() {
    let mut kit = Kit::open(fixture("v2/golden.bg")).unwrap();
    kit.offer_text("carol.share", &text("v2/carol.share"))
        .unwrap();
    let Err(Refused(e)) = kit.unseal(&["entra-ba1".into()], "r", "a", 1) else {
        panic!("one share of two unsealed")
    };
    assert!(e.contains("need 2 valid shares, got 1"), "{e}");
    // Not spent: a second custodian can still come.
    kit.offer_text("alice.share", &text("v2/alice.share"))
        .unwrap();
    kit.unlock(pass("golden-alice-passphrase")).unwrap();
    assert!(kit.unseal(&["runbook".into()], "r", "a", 1).is_ok());
}

#[test]
fn foreign_repeated_and_damaged_shares_are_refused_by_name() {
    let mut kit = Kit::open(fixture("v2/golden.bg")).unwrap();
    // A share of the v1 golden vault: another vault.
    let Err(Refused(e)) = kit.offer_text("old.share", &text("v1/carol.share")) else {
        panic!("a share of another vault was accepted")
    };
    assert!(e.starts_with("share old.share: "), "{e}");
    assert!(e.contains("vault"), "{e}");

    kit.offer_text("carol.share", &text("v2/carol.share"))
        .unwrap();
    let Err(Refused(e)) = kit.offer_text("carol-again", &text("v2/carol.share")) else {
        panic!("the same custodian counted twice")
    };
    assert!(e.contains("carol"), "{e}");
    assert_eq!(kit.accepted(), ["carol"]);

    let damaged = text("v2/carol.share").replace("8RPH HWCR", "8RPH HWCQ");
    let Err(Refused(e)) = kit.offer_text("smudged", &damaged) else {
        panic!("a damaged share was accepted")
    };
    assert!(
        e.starts_with("share smudged: custodian carol (per its header): "),
        "{e}"
    );
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn a_typed_envelope_with_one_typo_gets_a_fix_to_confirm() {
    let mut kit = Kit::open(fixture("v2/golden.bg")).unwrap();
    let lines = typed_lines(&text("v2/carol.share"));
    let typo = {
        let mut c: Vec<char> = lines[2].chars().collect();
        c[10] = if c[10] == 'Z' { 'Y' } else { 'Z' };
        c.into_iter().collect::<String>()
    };
    for (i, l) in lines.iter().enumerate() {
        let (kept, message) = kit.type_line(if i == 2 { &typo } else { l });
        assert_eq!(kept, i != 2, "line {}: {message}", i + 1);
        if i == 2 {
            assert!(message.contains("retype"), "{message}");
        }
    }
    let Err(Refused(e)) = kit.finish_typed() else {
        panic!("a share with a typo was offered")
    };
    assert!(e.starts_with("line 3 (group 2, symbol 2)"), "{e}");
    assert!(e.ends_with("confirm the fix"), "{e}");
    let o = kit.accept_fix().unwrap();
    assert_eq!(o.custodian, "carol");
    assert_eq!(kit.accepted(), ["carol"]);
    assert!(kit.typed_lines().is_empty(), "ready for the next envelope");
}

#[test]
fn missing_lines_are_named() {
    let mut kit = Kit::open(fixture("v2/golden.bg")).unwrap();
    let lines = typed_lines(&text("v2/carol.share"));
    for l in lines.iter().filter(|l| !l.starts_with("04")) {
        assert!(kit.type_line(l).0, "{l}");
    }
    let Err(Refused(e)) = kit.finish_typed() else {
        panic!("a share with a line missing was offered")
    };
    assert_eq!(e, "still needed: line 4 — type it from the envelope");
}

#[test]
fn search_lists_at_most_the_page_limit_and_finds_devices_and_key_ids() {
    let kit = Kit::open(fixture("v2/lifecycle/lifecycle.bg")).unwrap();
    let (all, total) = kit.find("");
    assert_eq!(all.len(), total);
    assert!(total <= LISTED);
    let (hit, n) = kit.find("1a2b3c4d");
    assert_eq!(n, 1);
    assert_eq!(hit[0].label, "bitlocker-PC-0042");
    assert_eq!(hit[0].key_id.as_deref(), Some("1A2B3C4D"));
    let (hit, _) = kit.find("pc-0042");
    assert_eq!(hit[0].device.as_deref(), Some("PC-0042"));
    assert_eq!(kit.find("no such thing").1, 0);
}

#[test]
fn a_damaged_vault_file_is_refused_and_a_torn_tail_set_aside() {
    let mut bytes = fixture("v2/golden.bg");
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    let Err(Refused(e)) = Kit::open(bytes) else {
        panic!("a damaged vault opened")
    };
    assert!(e.starts_with("this vault file: "), "{e}");

    let mut torn = fixture("v2/golden.bg");
    let whole = torn.len();
    torn.extend_from_slice(&[0x13, 0, 0, 0, 9]);
    let kit = Kit::open(torn).unwrap();
    assert_eq!(kit.torn(), 5);
    let mut kit = with_two_shares_from(kit);
    let done = kit.unseal(&["runbook".into()], "r", "a", 1).unwrap();
    assert!(done.file.len() > whole);
    Vault::replay(&log::parse(&done.file).unwrap()).expect("the torn tail was replaced");
}

fn with_two_shares_from(mut kit: Kit) -> Kit {
    kit.offer_text("carol.share", &text("v2/carol.share"))
        .unwrap();
    kit.offer_text("alice.share", &text("v2/alice.share"))
        .unwrap();
    kit.unlock(pass("golden-alice-passphrase")).unwrap();
    kit
}

/// The page's calls, as JSON, through [`Session`] (what the WebAssembly
/// exports run).
fn call(s: &mut Session, op: &str, arg: &str, bytes: Vec<u8>) -> (Value, Vec<u8>) {
    let a = s.call(op, arg.as_bytes(), bytes, &mut || 0.0);
    (serde_json::from_slice(&a.json).unwrap(), a.bytes)
}

#[test]
fn the_calls_answer_json_with_the_same_words() {
    let mut s = Session::default();
    let (v, _) = call(&mut s, "find", "{}", vec![]);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "load the vault file first");

    let (v, _) = call(&mut s, "open", "{}", fixture("v2/golden.bg"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["name"], "breakglass golden v2");
    assert_eq!(v["fingerprint"], "8RPH-HWCR-WQHA-9XR5-N37M");
    assert_eq!(v["threshold"], 2);

    let carol = serde_json::json!({"source": "carol.share", "text": text("v2/carol.share")});
    let (v, _) = call(&mut s, "offer_text", &carol.to_string(), vec![]);
    assert_eq!(
        (v["ok"].clone(), v["custodian"].clone()),
        (true.into(), "carol".into())
    );
    assert_eq!(v["accepted"], serde_json::json!(["carol"]));

    let alice = serde_json::json!({"source": "alice.share", "text": text("v2/alice.share")});
    let (v, _) = call(&mut s, "offer_text", &alice.to_string(), vec![]);
    assert_eq!(
        (v["protected"].clone(), v["pending"].clone()),
        (true.into(), "alice".into())
    );
    let (v, _) = call(&mut s, "unlock", r#"{"passphrase":"wrong"}"#, vec![]);
    assert_eq!(v["ok"], false);
    let (v, _) = call(
        &mut s,
        "unlock",
        r#"{"passphrase":"golden-alice-passphrase"}"#,
        vec![],
    );
    assert_eq!(v["accepted"], serde_json::json!(["carol", "alice"]), "{v}");

    let (v, file) = call(
        &mut s,
        "unseal",
        r#"{"labels":["filevault-C02XG0FDH7JY"],"reason":"lost laptop","actor":"helpdesk","now":1796083200}"#,
        vec![],
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"][0]["secret"], "ABCD-EFGH-IJKL-MNOP-QRST-UVWX");
    assert_eq!(v["custodians"], serde_json::json!(["carol", "alice"]));
    assert!(file.len() > fixture("v2/golden.bg").len());

    let (v, _) = call(&mut s, "no_such_call", "{}", vec![]);
    assert_eq!(v["error"], "unknown call no_such_call");
    let big = format!(r#"{{"text":"{}"}}"#, "A".repeat(vault_kit::api::MAX_ARG));
    let (v, _) = call(&mut s, "find", &big, vec![]);
    assert_eq!(v["error"], "the page sent a call of 8 MiB: at most 8 MiB");
    let (v, _) = call(&mut s, "find", "{not json", vec![]);
    assert_eq!(v["error"], "the page sent a malformed call");
}

#[test]
fn every_input_has_a_budget_and_past_it_is_refused_by_name() {
    let Err(Refused(e)) = Kit::open(vec![0; MAX_VAULT_FILE + 1]) else {
        panic!("a vault file past the page's budget was read")
    };
    assert!(
        e.contains("up to 512 MiB") && e.contains("command line"),
        "{e}"
    );

    let mut kit = Kit::open(fixture("v2/golden.bg")).unwrap();
    let long = "A".repeat(MAX_SHARE_TEXT + 1);
    let Err(Refused(e)) = kit.offer_text("big.share", &long) else {
        panic!("a huge text was decoded as a share")
    };
    assert!(e.starts_with("share big.share: not a share"), "{e}");
    // At the limit it is decoded (and refused as no share, by its content).
    let Err(Refused(e)) = kit.offer_text("at-limit", &long[..MAX_SHARE_TEXT]) else {
        panic!("AAAA… accepted as a share")
    };
    assert!(!e.contains("not a share ("), "{e}");

    let Err(Refused(e)) = kit.offer_picture("huge.png", 8000, 5001, &[], &mut || false) else {
        panic!("a 40 Mpx+ picture was searched")
    };
    assert!(e.contains("larger than 40 megapixels"), "{e}");
    let Err(Refused(e)) = kit.offer_picture("short.png", 10, 10, &[0; 399], &mut || false) else {
        panic!("pixels that do not match the size were searched")
    };
    assert_eq!(e, "share short.png: not a readable picture");

    kit.offer_text("alice.share", &text("v2/alice.share"))
        .unwrap();
    let Err(Refused(e)) = kit.unlock(pass(&"x".repeat(MAX_PASSPHRASE + 1))) else {
        panic!("a passphrase past the budget was hashed")
    };
    assert!(e.contains("longer than 1 MiB"), "{e}");
    assert_eq!(
        kit.pending(),
        Some("alice"),
        "still waiting for the right one"
    );
}
