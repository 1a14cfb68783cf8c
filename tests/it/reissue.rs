//! `breakglass reissue` (issue 12 item 5): one custodian's lost share,
//! re-issued under quorum — the same share (byte for byte when plain), a
//! signed record of who did it, shown by `status` and `audit`; refused
//! for a share that may have been copied, and for a version 1 vault.

use crate::util::{stderr, stdout, Env};

fn reissue(env: &Env, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "reissue",
        "v.bg",
        "--custodian",
        "bob",
        "--share",
        "shares/alice.share",
        "--share",
        "shares/carol.share",
        "--share-dir",
        "again",
        "--no-passphrase",
        "--reason",
        "bob's envelope lost in the move",
    ];
    args.extend(extra);
    env.run(&args, "")
}

#[test]
fn a_lost_share_is_reissued_the_same_and_recorded() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    env.seal("root", "s3cret");
    let original = std::fs::read(env.path("shares/bob.share")).unwrap();
    std::fs::remove_file(env.path("shares/bob.share")).unwrap();
    let out = reissue(&env, &[]).success();
    let text = stdout(&out);
    assert!(
        text.contains("Re-issued bob's share (share 2 of 3) to again/bob.share")
            && text.contains("authorised by alice, carol"),
        "{text}"
    );
    // The same share: byte for byte (plain), the same commitment.
    assert_eq!(
        std::fs::read(env.path("again/bob.share")).unwrap(),
        original
    );
    // It opens the vault with one original.
    let mut args = crate::util::unseal_args("v.bg", &["again/bob.share", "shares/carol.share"]);
    args.extend(["--entry", "root", "--json"]);
    let v = crate::util::json(&env.run(&args, "").success());
    assert_eq!(v["entries"][0]["secret"], "s3cret");
    // Signed, checked without shares, and shown.
    env.run(&["audit", "v.bg", "--verify"], "").success();
    let audit = stdout(&env.run(&["audit", "v.bg"], "").success());
    assert!(
        audit.contains("reissue") && audit.contains("custodians=alice,carol reissued=bob"),
        "{audit}"
    );
    let status = stdout(&env.run(&["status", "v.bg"], ""));
    assert!(
        status.contains("Re-issued:   bob's share") && status.contains("by alice, carol"),
        "{status}"
    );
    // A forged reissue record (a garbage signature) is refused.
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let mut records = crate::util::records_of(&bytes);
    let last = records.len() - 2; // the reissue, before the unseal
    if let vault_core::record::Record::Reissue(r) = &mut records[last] {
        r.reissued = 1;
    } else {
        panic!("record #{} is not the reissue", last + 1);
    }
    env.write("v.bg", crate::util::encode_log(&records));
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    env.run(&["audit", "v.bg", "--verify"], "").code(4);
}

#[test]
fn a_compromised_share_or_a_version_1_vault_is_refused() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], true);
    let out = reissue(&env, &["--compromised"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(2), "{err}");
    assert!(err.contains("Rekey instead"), "{err}");
    assert!(!env.path("again").exists());
    // Nobody of that name.
    let out = env.run(
        &[
            "reissue",
            "v.bg",
            "--custodian",
            "mallory",
            "--share",
            "shares/alice.share",
            "--share",
            "shares/carol.share",
            "--share-dir",
            "again",
            "--no-passphrase",
        ],
        "",
    );
    assert_eq!(out.get_output().status.code(), Some(2));
    assert!(stderr(&out).contains("no custodian named 'mallory'"));
    // A version 1 vault has no signed record to say who did it.
    for name in ["golden.bg", "alice.share", "carol.share"] {
        env.write(name, crate::util::fixture(&format!("v1/{name}")));
    }
    let out = env.run(
        &[
            "reissue",
            "golden.bg",
            "--custodian",
            "bob",
            "--share",
            "alice.share",
            "--share",
            "carol.share",
            "--share-dir",
            "again",
            "--no-passphrase",
        ],
        "golden-alice-passphrase\n",
    );
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(2), "{err}");
    assert!(err.contains("breakglass upgrade"), "{err}");
    assert!(!env.path("again").exists());
}
