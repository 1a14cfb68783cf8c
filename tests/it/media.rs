//! Full disks and read-only media, on real mounts: a small tmpfs filled to
//! the brim, and a read-only bind mount. Mounting needs root; elsewhere
//! these tests are skipped through the harness (`util::skip`: named in
//! scripts/test.sh's summary, not counted as passed), unless
//! BREAKGLASS_REQUIRE_MOUNT_TESTS=1 (as in .ci/run), when they fail instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{init_args, skip, stderr, stdout, unseal_args, Env};
use predicates::prelude::*;

/// A mount that is undone on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Mounts for `test`, or skips it (None) when mounting is not possible.
fn mount(test: &str, args: &[&str], target: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(args)
        .arg(target)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("BREAKGLASS_REQUIRE_MOUNT_TESTS").is_none(),
            "mount {args:?} failed and BREAKGLASS_REQUIRE_MOUNT_TESTS is set"
        );
        skip(test, "cannot mount (needs root)");
        return None;
    }
    Some(Mount(target.to_owned()))
}

/// Fills the file system holding `dir` until a write fails.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0xAAu8; 512];
    while f.write_all(&block).and_then(|_| f.sync_all()).is_ok() {}
    // And the last few bytes, one at a time.
    while f.write_all(&[0]).and_then(|_| f.sync_all()).is_ok() {}
}

#[test]
fn a_full_disk_gives_a_clear_error_and_loses_nothing() {
    let env = Env::new();
    std::fs::create_dir(env.path("small")).unwrap();
    let Some(_m) = mount(
        "media::a_full_disk_gives_a_clear_error_and_loses_nothing",
        &["-t", "tmpfs", "-o", "size=256k", "tmpfs"],
        &env.path("small"),
    ) else {
        return;
    };
    let run = |args: &[&str], input: &str| env.run(args, input);
    let v = "small/v.bg";
    let mut init = init_args(v, "F", "2", &["a", "b"], "small/s");
    init.push("--no-passphrase");
    run(&init, "").success();
    run(&["seal", v, "--label", "before"], "kept-secret").success();
    fill(&env.path("small"));
    // The vault's last page may still have room: seal until a seal fails.
    // The failing record then straddles a page boundary, so its write is
    // partial before the disk refuses it.
    let mut before = std::fs::read(env.path(v)).unwrap();
    let mut failed = None;
    for i in 0..64 {
        let out = run(
            &["seal", v, "--label", &format!("fill-{i}")],
            "padding-secret-padding",
        );
        if !out.get_output().status.success() {
            failed = Some(out);
            break;
        }
        before = std::fs::read(env.path(v)).unwrap();
    }
    let failed = failed.expect("the disk never filled up");
    failed
        .code(2)
        .stderr(predicate::str::contains("No space left on device"));
    assert_eq!(
        std::fs::read(env.path(v)).unwrap(),
        before,
        "a failed seal changed the vault"
    );

    // Access does not fail because logging did.
    let out = run(
        &[
            unseal_args(v, &["small/s/a.share", "small/s/b.share"]),
            vec!["--all"],
        ]
        .concat(),
        "",
    )
    .success();
    assert!(stdout(&out).contains("kept-secret"));
    assert!(stderr(&out).contains("could not record this in the vault"));
    assert!(stderr(&out).contains("unrecorded audit event"));
    assert_eq!(
        std::fs::read(env.path(v)).unwrap(),
        before,
        "a failed audit append changed the vault"
    );

    // A new vault on a full disk: an error, and nothing left behind.
    let mut init2 = init.clone();
    init2[1] = "small/w.bg";
    init2[11] = "small/t";
    run(&init2, "")
        .code(2)
        .stderr(predicate::str::contains("No space left on device"));
    let mut left: Vec<String> = std::fs::read_dir(env.path("small"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["filler", "s", "t", "v.bg", "v.bg.index"],
        "files left behind: {left:?}"
    );
    assert_eq!(std::fs::read_dir(env.path("small/t")).unwrap().count(), 0);

    // A rekey on the full disk (it writes the new file record by record):
    // an error, the vault as it was, no share and no temporary file left.
    let mut rekey = vec![
        "rekey",
        v,
        "--share",
        "small/s/a.share",
        "--share",
        "small/s/b.share",
    ];
    rekey.extend(crate::util::rekey_to(
        "2",
        &["a", "b"],
        "small/t",
        "full disk",
    ));
    run(&rekey, "")
        .code(2)
        .stderr(predicate::str::contains("No space left on device"))
        .stderr(predicate::str::contains("nothing was changed"));
    assert_eq!(
        std::fs::read(env.path(v)).unwrap(),
        before,
        "a failed rekey changed the vault"
    );
    let mut after: Vec<String> = std::fs::read_dir(env.path("small"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    after.sort();
    assert_eq!(after, left, "files left behind by the rekey");
    assert_eq!(std::fs::read_dir(env.path("small/t")).unwrap().count(), 0);

    // Space again: everything works and the file verifies.
    std::fs::remove_file(env.path("small/filler")).unwrap();
    run(&["seal", v, "--label", "after"], "now-kept").success();
    run(&["audit", v, "--verify"], "").success();
}

#[test]
fn a_read_only_vault_still_unseals() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env.seal("root", "the-secret");
    std::fs::create_dir(env.path("ro")).unwrap();
    let test = "media::a_read_only_vault_still_unseals";
    let Some(_bind) = mount(
        test,
        &["--bind", env.dir.path().to_str().unwrap()],
        &env.path("ro"),
    ) else {
        return;
    };
    let Some(_ro) = mount(test, &["-o", "remount,bind,ro"], &env.path("ro")) else {
        return;
    };
    let before = std::fs::read(env.path("v.bg")).unwrap();
    env.run(&["list", "ro/v.bg"], "")
        .success()
        .stdout(predicate::str::contains("root"));
    env.run(
        &[
            unseal_args("ro/v.bg", &["ro/shares/alice.share", "ro/shares/bob.share"]),
            vec!["--all"],
        ]
        .concat(),
        "",
    )
    .success()
    .stdout(predicate::str::contains("the-secret"))
    .stderr(predicate::str::contains("Read-only file system"))
    .stderr(predicate::str::contains(
        "unrecorded audit event: {\"actor\"",
    ));
    env.run(
        &["verify-share", "ro/v.bg", "--share", "ro/shares/bob.share"],
        "",
    )
    .success()
    .stderr(predicate::str::contains("not recorded in the audit trail"));
    env.run(&["seal", "ro/v.bg", "--label", "x"], "s")
        .code(2)
        .stderr(predicate::str::contains("Read-only file system"));
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
}
