//! Reproduced attacks, each named after what it tried (STYLE.md: "attacks
//! kept as tests"): the test fails if the attacker's way works again.

use crate::util::{stderr, stdout, Env};

/// One flipped byte in the last record — an acknowledged, fsynced deposit —
/// used to be classified as an unfinished write: `unseal` exited 0 showing
/// the previous version as current, and the next write moved the real
/// record aside. Now it is damage (exit 4, record and offset named), for
/// readers and writers alike, wherever the byte is.
#[test]
fn flipped_last_record() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "old-password");
    env.seal("root", "current-password");
    let good = std::fs::read(env.path("v.bg")).unwrap();
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    // The last record: from the end of the file, back over its body and
    // chain hash (a deposit is well over 100 bytes).
    for back in [1usize, 16, 40, 80, 120] {
        let mut bad = good.clone();
        let at = bad.len() - back;
        bad[at] ^= 0x20;
        env.write("v.bg", &bad);
        let out = env.unseal(&["alice", "bob"], &["--entry", "root"], "");
        let (code, err) = (out.get_output().status.code(), stderr(&out));
        assert_eq!(code, Some(4), "flip {back} bytes from the end: {err}");
        assert!(
            err.contains("a complete record fails its check")
                && err.contains("record #3 at offset"),
            "{err}"
        );
        assert!(
            !stdout(&out).contains("old-password"),
            "an older version was shown as current"
        );
        // A writer refuses too: nothing is set aside, nothing appended.
        let seal = env.run(&["seal", "v.bg", "--label", "other"], "x");
        assert_eq!(seal.get_output().status.code(), Some(4));
        assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), bad);
    }
}

/// The file with every record re-framed and re-chained after `edit` ran on
/// its decoded records: what anyone who can write the file can do (the
/// chain is unkeyed).
fn rechained(bytes: &[u8], edit: impl FnOnce(&mut Vec<vault_core::record::Record>)) -> Vec<u8> {
    use vault_core::{log, record::Record};
    let mut records: Vec<Record> = log::parse(bytes)
        .unwrap()
        .frames
        .iter()
        .map(|f| Record::decode(f.kind, &f.body).unwrap())
        .collect();
    edit(&mut records);
    crate::util::encode_log(&records)
}

fn fingerprint(env: &Env) -> String {
    let out = env.run(&["list", "v.bg", "--json"], "").success();
    crate::util::json(&out)["vault"]["fingerprint"]["short"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Someone who can write the vault file (every depositor can) and holds no
/// share replaces the genesis record's escrow public key with their own and
/// re-chains: every later deposit would be readable with their key.
///
/// Format 2 signs the genesis with the quorum's key: the plain swap is
/// refused by every command that reads the vault, exit 4, pin or no pin.
/// An attacker who also puts in a signature key of their own and signs
/// with it makes a consistent file — of another vault: its fingerprint
/// commits to both keys, so a depositor who pinned it (`--expect`, as
/// printed by `init` and on every envelope) is refused, exit 4, nothing
/// written, and the custodians' shares do not open it.
#[test]
fn escrow_key_swapped() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "before-the-attack");
    let pinned = fingerprint(&env);
    let good = std::fs::read(env.path("v.bg")).unwrap();
    let _ = std::fs::remove_file(env.path("v.bg.index"));

    let naive = crate::util::with_genesis(&good, |g| g.escrow_public = [9; 32]);
    env.write("v.bg", &naive);
    for args in [
        vec!["list", "v.bg"],
        vec!["status", "v.bg"],
        vec!["audit", "v.bg", "--verify"],
        vec!["recipient", "v.bg"],
        vec!["seal", "v.bg", "--label", "new"],
    ] {
        let out = env.run(&args, "the-secret-to-protect");
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains("record #1 at offset 10")
                && err.contains("the genesis record's signature does not verify"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), naive);
    }

    let swapped = crate::util::hijacked(&good);
    env.write("v.bg", &swapped);
    assert_ne!(
        fingerprint(&env),
        pinned,
        "the swap must change the fingerprint"
    );
    let out = env.unseal(&["alice", "bob"], &["--entry", "root"], "");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("was issued for a different generation-1 vault"),
        "{err}"
    );

    env.write("fleet.csv", "name,secret\nlaptop-1,pw-one\n");
    let import = [
        "import",
        "v.bg",
        "--from",
        "fleet.csv",
        "--format",
        "generic",
        "--label-column",
        "name",
        "--secret-column",
        "secret",
        "--expect",
    ];
    for args in [
        vec!["seal", "v.bg", "--label", "new", "--expect", &pinned],
        vec!["rotate", "v.bg", "root", "--expect", &pinned],
        [&import[..], &[pinned.as_str()]].concat(),
    ] {
        let out = env.run(&args, "the-secret-to-protect");
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains("its fingerprint is")
                && err.contains("not the one expected")
                && (err.contains("nothing was sealed") || err.contains("nothing was imported")),
            "{err}"
        );
        assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), swapped);
    }
    // The real vault still takes a pinned deposit, in any typed form.
    env.write("v.bg", &good);
    let typed = pinned.to_lowercase().replace('-', " ");
    env.run(&["seal", "v.bg", "--label", "new", "--expect", &typed], "s")
        .success();
    env.run(&["seal", "v.bg", "--label", "bad", "--expect", "12AB"], "s")
        .code(1);
}

/// After a rekey, old shares used to look current: `verify-share` and
/// `unseal` spoke of a "commitment", and nothing said the envelope was
/// revoked. Now a share of an earlier generation is named as such, with
/// the date of the rekey and what to do, by every command that checks
/// shares — through the index (the vault read in part) and without it.
#[test]
fn revoked_share_refused() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("root", "s3cret");
    let mut rekey = vec!["rekey", "v.bg", "--share", "shares/alice.share"];
    rekey.extend(["--share", "shares/bob.share", "--threshold", "2"]);
    rekey.extend([
        "--share-dir",
        "new",
        "--no-passphrase",
        "--reason",
        "alice left",
    ]);
    for c in ["bob", "carol", "dave"] {
        rekey.extend(["--custodian", c]);
    }
    env.run(&rekey, "").success();
    let date = &crate::util::json(&env.run(&["list", "v.bg", "--json"], "").success())["vault"]
        ["created"]
        .as_str()
        .unwrap()[..10]
        .to_owned();
    assert!(env.path("v.bg.index").exists(), "list leaves an index");
    let list = stdout(&env.run(&["list", "v.bg"], "").success());
    assert!(
        list.contains(&format!(
            "(generation 2, since {date}: envelopes printed before then no longer open it)"
        )),
        "{list}"
    );
    for read in ["through the index", "whole"] {
        if read == "whole" {
            std::fs::remove_file(env.path("v.bg.index")).unwrap();
        }
        let out = env.run(
            &["verify-share", "v.bg", "--share", "shares/alice.share"],
            "",
        );
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(2), "{read}: {err}");
        let expected = format!(
            "is alice's share of generation 1 of vault 'Test vault': the vault was rekeyed on \
             {date} and is at generation 2, and envelopes printed before {date} no longer open \
             it — use your generation 2 envelope"
        );
        assert!(err.contains(&expected), "{read}: {err}");
        assert!(!err.contains("commitment"), "{err}");
    }
    let mut unseal = vec!["unseal", "v.bg", "--share", "shares/bob.share"];
    unseal.extend(["--share", "shares/carol.share", "--entry", "root"]);
    let out = env.run(&unseal, "");
    assert_eq!(out.get_output().status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is bob's share of generation 1")
            && err.contains("is carol's share of generation 1"),
        "{err}"
    );
    assert!(!stdout(&out).contains("s3cret"));
}

/// The receipt line an unseal printed on stderr.
fn receipt_of(out: &assert_cmd::assert::Assert) -> String {
    let err = stderr(out);
    err.lines()
        .map(str::trim)
        .find(|l| l.starts_with("breakglass-receipt:"))
        .unwrap_or_else(|| panic!("no receipt printed: {err}"))
        .to_owned()
}

/// Removing the latest unseal record (the file is cut back to the record
/// before it: still a valid, consistent vault) passed `audit --verify`
/// even with k shares, and `status` then showed nothing exposed. The
/// receipt the unseal printed, kept outside the vault, catches it: exit 4,
/// naming the records missing. Without a receipt nothing in the file can
/// tell (SECURITY.md says so), and `audit --verify` alone still passes.
#[test]
fn last_unseal_dropped() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "s3cret");
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let out = env
        .unseal(
            &["alice", "bob"],
            &["--entry", "root", "--reason", "INC-1"],
            "",
        )
        .success();
    let receipt = receipt_of(&out);
    env.run(&["audit", "v.bg", "--verify", "--receipt", &receipt], "")
        .success();
    // The SIEM gets the same receipt in the unseal's audit event.
    let events = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    let unseal = events.lines().find(|l| l.contains("\"unseal\"")).unwrap();
    assert!(unseal.contains(&receipt), "{unseal}");

    env.write("v.bg", &before); // the unseal record dropped
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    env.run(&["audit", "v.bg", "--verify"], "").success();
    let out = env.run(&["audit", "v.bg", "--verify", "--receipt", &receipt], "");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("receipt 1 (record #3): the vault holds only 2 records, the receipt saw 3"),
        "{err}"
    );
    // The SIEM's copy of the audit events serves as a file of receipts.
    env.write("events.jsonl", &events);
    env.run(
        &["audit", "v.bg", "--verify", "--receipts", "events.jsonl"],
        "",
    )
    .code(4);
    // From a file of receipts too, and a damaged receipt is bad input.
    env.write("kept.txt", format!("INC-1 unseal\n{receipt}\n"));
    env.run(&["audit", "v.bg", "--verify", "--receipts", "kept.txt"], "")
        .code(4);
    let damaged = receipt.replacen(":3:", ":2:", 1);
    let out = env.run(&["audit", "v.bg", "--verify", "--receipt", &damaged], "");
    assert_eq!(out.get_output().status.code(), Some(2));
    assert!(
        stderr(&out).contains("the receipt is damaged"),
        "{}",
        stderr(&out)
    );
}

/// The full deposit hijack: swap the escrow key, let a depositor seal
/// (their secret goes to the attacker), then put the original key back,
/// re-encrypt the stolen deposit to it and re-chain. Every check of the
/// file alone passes again — but the receipt the depositor got during the
/// swap names a fingerprint that is neither this vault's nor an earlier
/// generation's: exit 4.
#[test]
fn restore_and_rechain() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "before");
    let good = std::fs::read(env.path("v.bg")).unwrap();
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    let swapped = crate::util::hijacked(&good);
    env.write("v.bg", &swapped);
    let out = env
        .run(&["seal", "v.bg", "--label", "stolen", "--json"], "victim")
        .success();
    let receipt = crate::util::json(&out)["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    // Put the original genesis back and re-chain what was appended.
    let hijacked = std::fs::read(env.path("v.bg")).unwrap();
    let restored = rechained(&hijacked, |records| {
        let good_genesis = vault_core::record::Record::decode(
            vault_core::record::kind::GENESIS_V2,
            &vault_core::log::parse(&good).unwrap().frames[0].body,
        )
        .unwrap();
        records[0] = good_genesis;
    });
    env.write("v.bg", &restored);
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    env.run(&["audit", "v.bg", "--verify"], "").success();
    let out = env.run(&["audit", "v.bg", "--verify", "--receipt", &receipt], "");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("which is neither this vault") && err.contains("swapped"),
        "{err}"
    );
}

/// Rolling the file back to before a rekey gives the old shares back their
/// power over everything deposited since. Receipts issued before the rekey
/// still verify against the rekeyed file (through its History and rekey
/// record); the rekey's own receipt fails against the rolled-back file.
#[test]
fn rollback_past_a_rekey() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("root", "s3cret");
    let out = env
        .unseal(&["alice", "bob"], &["--entry", "root"], "")
        .success();
    let before_rekey = receipt_of(&out);
    env.seal("later", "l8r");
    let mut rekey = vec!["rekey", "v.bg", "--share", "shares/alice.share"];
    rekey.extend(["--share", "shares/bob.share", "--threshold", "2"]);
    rekey.extend(["--share-dir", "new", "--no-passphrase"]);
    for c in ["bob", "carol", "dave"] {
        rekey.extend(["--custodian", c]);
    }
    let out = env.run(&rekey, "").success();
    let after_rekey = receipt_of(&out);
    assert!(
        stdout(&out).contains("New fingerprint: "),
        "{}",
        stdout(&out)
    );
    env.run(
        &[
            "audit",
            "v.bg",
            "--verify",
            "--receipt",
            &before_rekey,
            "--receipt",
            &after_rekey,
        ],
        "",
    )
    .success();

    let backup = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("v.bg.before-rekey-"))
        .unwrap();
    std::fs::copy(&backup, env.path("v.bg")).unwrap();
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    env.run(
        &["audit", "v.bg", "--verify", "--receipt", &before_rekey],
        "",
    )
    .success();
    let out = env.run(
        &["audit", "v.bg", "--verify", "--receipt", &after_rekey],
        "",
    );
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(err.contains("rolled back past a rekey"), "{err}");
}

/// After two rekeys, shares of generations 1 and 2 are each named with
/// their own generation — through the index (which reads the earlier
/// geneses kept right after the genesis) as in a whole read.
#[test]
fn revoked_shares_of_two_generations_are_told_apart() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("root", "s3cret");
    let rekey = |from: &str, to: &str, custodians: [&str; 3], by: [&str; 2]| {
        let (a, b) = (
            format!("{from}/{}.share", by[0]),
            format!("{from}/{}.share", by[1]),
        );
        let mut args = vec!["rekey", "v.bg", "--share", &a, "--share", &b];
        args.extend(["--threshold", "2", "--share-dir", to, "--no-passphrase"]);
        for c in custodians {
            args.extend(["--custodian", c]);
        }
        env.run(&args, "").success();
    };
    rekey("shares", "gen2", ["bob", "carol", "dave"], ["alice", "bob"]);
    rekey("gen2", "gen3", ["carol", "dave", "erin"], ["bob", "carol"]);
    env.run(&["list", "v.bg"], "").success(); // leaves an index
    for read in ["through the index", "whole"] {
        if read == "whole" {
            std::fs::remove_file(env.path("v.bg.index")).unwrap();
        }
        for (share, said) in [
            ("shares/alice.share", "is alice's share of generation 1"),
            ("gen2/dave.share", "is dave's share of generation 2"),
        ] {
            let out = env.run(&["verify-share", "v.bg", "--share", share], "");
            let err = stderr(&out);
            assert_eq!(out.get_output().status.code(), Some(2), "{read}: {err}");
            assert!(
                err.contains(said) && err.contains("is at generation 3"),
                "{read}, {share}: {err}"
            );
        }
    }
}

/// A vault with a deposit, a drill, an unseal and a share check (format 2:
/// all three signed), and its records decoded.
fn signed_trail(env: &Env) -> Vec<vault_core::record::Record> {
    use vault_core::record::Record;
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("root", "s3cret");
    let shares = [
        "--share",
        "shares/alice.share",
        "--share",
        "shares/bob.share",
    ];
    env.run(&[&["drill", "v.bg"][..], &shares].concat(), "")
        .success();
    env.unseal(
        &["alice", "bob"],
        &["--entry", "root", "--reason", "outage"],
        "",
    )
    .success();
    env.run(
        &["verify-share", "v.bg", "--share", "shares/carol.share"],
        "",
    )
    .success();
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let records = crate::util::records_of(&bytes);
    let kinds: Vec<u8> = records.iter().map(Record::kind).collect();
    assert_eq!(kinds, [0x11, 0x02, 0x15, 0x13, 0x14], "the trail as built");
    records
}

/// Writes `records`, re-chained, as the vault and checks that every reader
/// refuses it without shares — `audit --verify`, `status`, `list` — exit
/// 4, naming `record` and saying `why`.
fn refused_without_shares(
    env: &Env,
    records: &[vault_core::record::Record],
    record: usize,
    why: &str,
) {
    env.write("v.bg", crate::util::encode_log(records));
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    for args in [
        vec!["audit", "v.bg", "--verify"],
        vec!["status", "v.bg"],
        vec!["list", "v.bg"],
    ] {
        let out = env.run(&args, "");
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains(&format!("record #{record} at offset")) && err.contains(why),
            "{args:?}: expected record #{record}, {why:?}: {err}"
        );
    }
}

/// Issue 11, attack 2: quorum records erased, reordered or forged by
/// someone who can write the file and re-chain it (the chain is unkeyed).
/// In format 2 each quorum record is signed over the chain before it, so
/// every such edit is refused without shares, naming the record; only the
/// very last records can be cut off unseen, and a receipt kept outside
/// the file catches that (`last_unseal_dropped`).
#[test]
fn quorum_records_erased_reordered_or_forged_are_refused_without_shares() {
    use vault_core::record::{Proof, Record};
    let env = Env::new();
    let trail = signed_trail(&env);
    let signature = "signature does not verify";

    // The drill erased: the unseal after it no longer follows its chain.
    let mut erased = trail.clone();
    erased.remove(2);
    refused_without_shares(&env, &erased, 3, signature);

    // The unseal and the share check swapped.
    let mut swapped = trail.clone();
    swapped.swap(3, 4);
    refused_without_shares(&env, &swapped, 4, signature);

    // A drill made up, with a garbage signature, where a drill belongs.
    let mut forged = trail.clone();
    if let Record::Drill(d) = &mut forged[2] {
        d.time += 86_400;
        d.proof = Proof::Signature([7; 64]);
    }
    refused_without_shares(&env, &forged, 3, signature);

    // A deposit slipped in before the signed records (or one taken out).
    let mut inserted = trail.clone();
    inserted.insert(2, trail[1].clone());
    refused_without_shares(&env, &inserted, 3, "entry version out of sequence");
    let mut removed = trail.clone();
    removed.remove(1);
    refused_without_shares(&env, &removed, 2, signature);

    // The share check claimed for another custodian.
    let mut claimed = trail.clone();
    if let Record::ShareVerified(s) = &mut claimed[4] {
        s.custodian = 1;
    }
    refused_without_shares(&env, &claimed, 5, signature);

    // The real trail still verifies.
    env.write("v.bg", crate::util::encode_log(&trail));
    env.run(&["audit", "v.bg", "--verify"], "").success();
}

/// Issue 11, attack 2: a drill wrapped in a History record "passed even
/// `audit --verify --share`, in a vault that was never rekeyed". In format
/// 2 history records stand only among the records a rekey carried over
/// (FORMAT.md §14.5): anywhere else they are refused without shares.
#[test]
fn a_drill_wrapped_in_history_outside_a_rekey_is_refused() {
    use vault_core::record::{History, HistoryV2, Record};
    let env = Env::new();
    let trail = signed_trail(&env);
    let drill = &trail[2];
    let wrapped = Record::History(History {
        kind: drill.kind(),
        record: 3,
        hash: [0; 32],
        body: drill.encode_body(),
        v2: Some(HistoryV2 {
            generation: 1,
            prev: [0; 32],
        }),
    });
    let mut records = trail.clone();
    records.push(wrapped);
    refused_without_shares(
        &env,
        &records,
        6,
        "a history record outside the records a rekey carried over",
    );
    // An unsigned (format 1) drill appended: refused too.
    let mut records = trail.clone();
    if let Record::Drill(mut d) = drill.clone() {
        d.proof = vault_core::record::Proof::Mac([0; 32]);
        records.push(Record::Drill(d));
    }
    refused_without_shares(&env, &records, 6, "a version 1 record in a version 2 file");
}

/// A 2-of-2 vault with one deposit, rekeyed once (generation 2) to the
/// same two custodians, new shares in `new/`.
fn rekeyed_once(env: &Env) {
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "s3cret");
    let mut rekey = vec!["rekey", "v.bg", "--share", "shares/alice.share"];
    rekey.extend(["--share", "shares/bob.share"]);
    rekey.extend(crate::util::rekey_to(
        "2",
        &["alice", "bob"],
        "new",
        "rotation",
    ));
    env.run(&rekey, "").success();
}

/// Issue 11, attack 1 done without a key: the escrow key swapped and the
/// history rewritten after a rekey. A forged rekey (the attacker's own
/// keys, a History copied from the real file) lacks the handover the old
/// generation's quorum signs, and is refused without shares.
#[test]
fn a_forged_rekey_without_the_old_quorums_handover_is_refused() {
    use vault_core::record::{Proof, Record};
    let env = Env::new();
    rekeyed_once(&env);
    env.run(&["audit", "v.bg", "--verify"], "").success();
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    // The attacker signs everything again with keys of their own, keeping
    // the history: the handover (signed by generation 1's quorum) no
    // longer matches the new fingerprint.
    let forged = crate::util::hijacked(&bytes);
    env.write("v.bg", &forged);
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    let out = env.run(&["audit", "v.bg", "--verify"], "");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("the previous generation's quorum did not sign this rekey"),
        "{err}"
    );
    // Zeroing the handover instead: refused too (the old file was format 2).
    let mut records = crate::util::records_of(&bytes);
    let at = records
        .iter()
        .position(|r| matches!(r, Record::Rekey(_)))
        .unwrap();
    if let Record::Rekey(k) = &mut records[at] {
        k.handover = Some([0; 64]);
        k.proof = Proof::Signature([1; 64]);
    }
    refused_without_shares(&env, &records, at + 1, "signature does not verify");
}

/// Red-team finding 1: a rekeyed file whose closing rekey record is
/// replaced by a deposit (or cut off) would leave its carried segment
/// signed by no one and skip the old quorum's handover. The record after
/// the carried segment must be the rekey, and a file must reach it.
#[test]
fn a_rekeyed_file_without_its_closing_record_is_refused() {
    use vault_core::record::Record;
    let env = Env::new();
    rekeyed_once(&env);
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let records = crate::util::records_of(&bytes);
    let at = records
        .iter()
        .position(|r| matches!(r, Record::Rekey(_)))
        .unwrap();
    let deposit = records
        .iter()
        .find(|r| matches!(r, Record::Deposit(_)))
        .unwrap();
    let mut replaced = records.clone();
    replaced[at] = deposit.clone();
    refused_without_shares(&env, &replaced, at + 1, "must be the rekey record");
    let cut = records[..at].to_vec();
    refused_without_shares(&env, &cut, at, "that closes its rekey or upgrade");
}

/// Red-team finding 2: a version 1 history record (0x06), which nothing
/// checks, may not hold a signed (version 2) record — not in a version 2
/// file, where it would smuggle in a drill or a rekey, nor anywhere.
#[test]
fn a_version_1_history_record_cannot_hold_a_signed_record() {
    use vault_core::record::{History, Record};
    let env = Env::new();
    let trail = signed_trail(&env);
    let drill = &trail[2];
    let smuggled = History {
        kind: drill.kind(),
        record: 3,
        hash: [0; 32],
        body: drill.encode_body(),
        v2: None,
    };
    // Encoded by hand: the library refuses to decode what it would be.
    let body = Record::History(smuggled).encode_body();
    assert!(Record::decode(vault_core::record::kind::HISTORY, &body)
        .unwrap_err()
        .to_string()
        .contains("a version 1 history record holds no version 2 record"));
}
