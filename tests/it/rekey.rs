//! Rekey on the real binary: a custodian change from 3-of-5 to 2-of-3,
//! what old shares can no longer do, refusals, and atomicity under SIGKILL.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{
    json, knob, pass_lines, share_flags, stdout, strs, unseal_args, Env, FIVE, FLOOR,
};
use predicates::prelude::*;

fn rekey_args<'a>(old: &'a [String], new: &[&'a str], k: &'a str, dir: &'a str) -> Vec<&'a str> {
    let mut args = vec!["rekey", "v.bg"];
    args.extend(share_flags(old));
    args.extend([
        "--threshold",
        k,
        "--share-dir",
        dir,
        "--reason",
        "alice left",
    ]);
    for c in new {
        args.extend(["--custodian", *c]);
    }
    args.extend(FLOOR);
    args
}

#[test]
fn custodian_change_from_3_of_5_to_2_of_3() {
    let env = Env::new();
    env.init(3, &FIVE, false);
    env.seal("entra-ba1", "password-v1");
    env.seal("entra-ba1", "password-v2");
    env.seal("fv-C02X", "note-secret");
    let abc = ["alice", "bob", "carol"];
    let old = env.shares(&abc);
    let old_pass = pass_lines(&abc);
    let unseal = || env.unseal(&abc, &["--entry", "entra-ba1"], &old_pass);
    unseal().success();
    let before = std::fs::read(env.path("v.bg")).unwrap();

    // Old passphrases for the three shares, then new ones for bob, carol, frank.
    let new = ["bob", "carol", "frank"];
    let input =
        format!("{old_pass}bob-new-passphrase\ncarol-new-passphrase\nfrank-new-passphrase\n");
    let out = env
        .run(&rekey_args(&old, &new, "2", "new"), input)
        .success();
    assert!(
        stdout(&out).contains("any 2 of 3 now unseal; 3 entry versions re-encrypted"),
        "{}",
        stdout(&out)
    );
    let backup = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("v.bg.before-rekey-"))
        .expect("the old file is kept");
    assert_eq!(std::fs::read(env.path(&backup)).unwrap(), before);

    // New shares read every version; the exposure from before is kept.
    let mut args = unseal_args("v.bg", &["new/frank.share", "new/carol.share"]);
    args.extend(["--history", "--json", "--all"]);
    let out = env
        .run(&args, "frank-new-passphrase\ncarol-new-passphrase\n")
        .success();
    let v = json(&out);
    let secrets = strs(v["entries"].as_array().unwrap(), "secret");
    assert_eq!(secrets, ["password-v1", "password-v2", "note-secret"]);

    // Old shares no longer open the new file, and say why.
    unseal().code(3).stderr(predicate::str::contains(
        "is alice's share of generation 1 of vault 'Test vault'",
    ));
    // A deposit after the rekey is out of reach of old shares and old copies.
    env.seal("after", "post-rekey-secret");
    let bytes = std::fs::read(env.path(&backup)).unwrap();
    assert!(
        !bytes.windows(5).any(|w| w == b"after"),
        "the backup is never written to"
    );

    // The audit trail is kept: history, then the rekey, verifiable with new shares.
    let events = env.audit_events();
    let kinds = strs(&events, "event");
    assert_eq!(
        kinds,
        ["init", "init", "deposit", "deposit", "deposit", "unseal", "rekey", "unseal", "deposit"]
    );
    assert_eq!(events[1]["before_rekey"], true);
    assert_eq!(
        events[5]["custodians"],
        serde_json::json!(["alice", "bob", "carol"])
    );
    assert_eq!(
        events[6]["custodians"],
        serde_json::json!(["alice", "bob", "carol"])
    );
    assert_eq!(events[6]["reason"], "alice left");
    assert_eq!(
        events[0]["custodians"],
        serde_json::json!(["bob", "carol", "frank"])
    );
    env.run(
        &[
            "audit",
            "v.bg",
            "--verify",
            "--share",
            "new/bob.share",
            "--share",
            "new/frank.share",
        ],
        "bob-new-passphrase\nfrank-new-passphrase\n",
    )
    .success()
    .stderr(predicate::str::contains(
        "every quorum and custodian signature valid, and the quorum's key is the master key's",
    ));
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(
        s["exposed"][0]["label"], "entra-ba1",
        "exposure from before the rekey is kept"
    );
}

#[test]
fn rekey_refusals_change_nothing() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("x", "s");
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let two = env.shares(&["alice", "bob"]);
    let mut a = rekey_args(&two, &["bob", "carol"], "3", "new");
    a.push("--no-passphrase");
    env.run(&a, "").code(2).stderr(predicate::str::contains(
        "threshold 3 is more than the 2 custodians",
    ));
    let one = vec![env.share("alice")];
    let mut a = rekey_args(&one, &["bob", "carol"], "2", "new");
    a.push("--no-passphrase");
    env.run(&a, "")
        .code(3)
        .stderr(predicate::str::contains("need 2 valid shares, got 1"));
    let mut a = rekey_args(&two, &["alice", "bob"], "2", "shares");
    a.push("--no-passphrase");
    env.run(&a, "")
        .code(2)
        .stderr(predicate::str::contains("already exists (use --force"));
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    assert!(!env.path("new").exists());
}

/// Kills rekey at random points: afterwards the vault is whole, and opens
/// with either the old shares (and is byte-identical) or the new ones.
#[test]
fn an_interrupted_rekey_leaves_the_old_or_the_new_vault() {
    let trials: u64 = knob("BREAKGLASS_REKEY_TRIALS", 40);
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    for i in 0..20 {
        env.seal(&format!("e{i}"), &format!("secret-{i}"));
    }
    let original = std::fs::read(env.path("v.bg")).unwrap();
    let old = env.shares(&["alice", "bob"]);
    let mut args = rekey_args(&old, &["bob", "carol", "dave"], "2", "new");
    args.push("--no-passphrase");
    let spawn = || {
        env.command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let start = Instant::now();
    assert!(spawn().wait().unwrap().success());
    let life = start.elapsed().as_micros() as u64 + 1000;
    let (mut old_seen, mut new_seen) = (0, 0);
    for t in 0..trials {
        env.write("v.bg", &original);
        let _ = std::fs::remove_dir_all(env.path("new"));
        let mut child = spawn();
        std::thread::sleep(Duration::from_micros((t * 7919 + 13) % life));
        let _ = child.kill();
        let _ = child.wait();
        env.run(&["audit", "v.bg", "--verify"], "").success();
        let opens = |shares: [&str; 2]| {
            let mut args = unseal_args("v.bg", &shares);
            args.extend(["--entry", "e7"]);
            env.run(&args, "").get_output().status.success()
        };
        if opens(["shares/alice.share", "shares/bob.share"]) {
            old_seen += 1;
            let now = std::fs::read(env.path("v.bg")).unwrap();
            assert_eq!(
                &now[..original.len()],
                &original[..],
                "trial {t}: the old vault changed"
            );
        } else {
            assert!(
                opens(["new/dave.share", "new/carol.share"]),
                "trial {t}: neither old nor new shares open the vault"
            );
            new_seen += 1;
        }
    }
    eprintln!("rekey interrupted {trials} times: old vault {old_seen}, new vault {new_seen}");
    assert!(old_seen > 0, "no kill landed before the rename");
}
