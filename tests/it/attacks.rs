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
