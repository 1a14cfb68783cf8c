//! Custodians by key (issue 12): shares sealed at `init`/`rekey` to each
//! custodian's age recipient (age X25519, ssh-ed25519), mixed with
//! passphrase and plain shares; opened with `--identity`; the ceremony
//! transcript; bad recipients named.

use std::path::Path;
use std::process::Command;

use age::secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::util::{hex, load, skip, stderr, stdout, Env, FLOOR};

/// A fresh age X25519 identity written to `file`; its recipient.
fn age_key(env: &Env, file: &str) -> String {
    let id = age::x25519::Identity::generate();
    env.write(file, format!("{}\n", id.to_string().expose_secret()));
    id.to_public().to_string()
}

/// A fresh unencrypted ed25519 SSH key at `file` (and `file.pub`); its
/// public line, or `None` without ssh-keygen.
fn ssh_key(env: &Env, file: &str) -> Option<String> {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bob@test", "-f"])
        .arg(env.path(file))
        .status()
        .ok()?
        .success();
    ok.then(|| env.read(&format!("{file}.pub")).trim().to_owned())
}

/// What `ssh-keygen -lf` prints as the key's fingerprint (`SHA256:…`).
fn ssh_fingerprint(env: &Env, file: &str) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(env.path(file))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_owned()
}

fn sha256_of(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

/// The share directory of the mixed 3-of-5 ceremony (alice, bob and carol
/// by key, dave by passphrase, erin plain) holds nothing readable for the
/// custodians with keys: each `.age` file is armored age without share
/// text, and `verify-share` (run by `run`) names it as sealed.
pub(crate) fn sealed_shares_open_with_no_identity(
    env: &Env,
    run: impl Fn(&[&str]) -> assert_cmd::assert::Assert,
) {
    let mut names: Vec<String> = std::fs::read_dir(env.path("shares"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alice.share.age",
            "bob.share.age",
            "carol.share.age",
            "dave.share",
            "erin.share"
        ]
    );
    for name in names.iter().filter(|n| n.ends_with(".age")) {
        let rel = format!("shares/{name}");
        let text = env.read(&rel);
        assert!(
            text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "{name}"
        );
        assert!(!text.contains("BREAKGLASS"), "{name} holds share text");
        let who = name.trim_end_matches(".share.age");
        let e = run(&["verify-share", "v.bg", "--share", &rel]).code(2);
        assert!(
            stderr(&e).contains(&format!("share for {who} is sealed to its custodian's key")),
            "{}",
            stderr(&e)
        );
    }
}

/// A 2-of-2 vault `v.bg`: alice by an age key (`alice.key`), bob plain.
fn alice_by_key_bob_plain(env: &Env) {
    let alice = age_key(env, "alice.key");
    let alice_flag = format!("alice={alice}");
    let mut init = crate::util::init_args("v.bg", "Keys", "2", &[], "shares");
    init.extend(["--custodian", &alice_flag, "--custodian", "bob=plain"]);
    init.extend(FLOOR);
    env.run(&init, "").success();
}

#[test]
fn mixed_3_of_5_sealed_to_keys_passphrase_and_plain() {
    let env = Env::new();
    let alice = age_key(&env, "alice.key");
    let carol = age_key(&env, "carol.key");
    let Some(bob) = ssh_key(&env, "bob_ssh") else {
        return skip(
            "custodians::mixed_3_of_5_sealed_to_keys_passphrase_and_plain",
            "ssh-keygen is not installed (apt-get install openssh-client)",
        );
    };
    // alice and bob from a recipients file, the others as flags.
    env.write(
        "team.txt",
        format!("# the team\n\nalice {alice}\nbob   {bob}\n"),
    );
    let carol_flag = format!("carol={carol}");
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "Team",
        "--threshold",
        "3",
        "--custodians",
        "team.txt",
        "--custodian",
        &carol_flag,
        "--custodian",
        "dave",
        "--custodian",
        "erin=plain",
        "--share-dir",
        "shares",
        "--transcript",
        "ceremony.txt",
    ];
    args.extend(FLOOR);
    // Only dave is asked for a passphrase.
    let out = env.run(&args, "dave-passphrase\n").success();
    let printed = stdout(&out);

    // Nothing readable is left for the custodians with keys: every .age
    // file is armored age, and none opens without an identity.
    sealed_shares_open_with_no_identity(&env, |args| env.run(args, ""));

    // Three of them unseal: age X25519, ssh-ed25519 and a passphrase.
    env.seal("root", "hunter2-root");
    let u = env
        .run(
            &[
                "unseal",
                "v.bg",
                "--entry",
                "root",
                "--json",
                "--share",
                "shares/alice.share.age",
                "--share",
                "shares/bob.share.age",
                "--share",
                "shares/dave.share",
                "--identity",
                "alice.key",
                "--identity",
                "bob_ssh",
            ],
            "dave-passphrase\n",
        )
        .success();
    assert!(stdout(&u).contains("hunter2-root"), "{}", stdout(&u));

    // A share sealed to someone else is named.
    let e = env
        .run(
            &[
                "verify-share",
                "v.bg",
                "--share",
                "shares/carol.share.age",
                "--identity",
                "alice.key",
            ],
            "",
        )
        .code(2);
    assert!(
        stderr(&e).contains("share for carol: none of the identities given opens it"),
        "{}",
        stderr(&e)
    );
    env.run(
        &[
            "verify-share",
            "v.bg",
            "--share",
            "shares/carol.share.age",
            "--identity",
            "carol.key",
        ],
        "",
    )
    .success();

    // The transcript: printed and written, with the fingerprint, each
    // recipient and each file's SHA-256.
    let written = env.read("ceremony.txt");
    assert!(printed.contains(&written), "{printed}");
    let fp = load(&std::fs::read(env.path("v.bg")).unwrap()).fingerprint();
    assert!(written.contains(&fp.short()), "{written}");
    assert!(written.contains(&fp.full()), "{written}");
    let bob_fp = ssh_fingerprint(&env, "bob_ssh.pub");
    for (who, how, file) in [
        ("alice", alice.as_str(), "alice.share.age"),
        ("bob", &format!("ssh-ed25519 {bob_fp}"), "bob.share.age"),
        ("carol", &carol, "carol.share.age"),
        ("dave", "passphrase", "dave.share"),
        ("erin", "plain", "erin.share"),
    ] {
        let digest = sha256_of(&env.path(&format!("shares/{file}")));
        let line = written
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{who} ")))
            .unwrap_or_else(|| panic!("no line for {who}: {written}"));
        assert!(line.contains(how), "{line}");
        assert!(line.contains(&format!("sha256:{digest}")), "{line}");
    }

    // Rekey opens key-sealed shares too, and seals the new ones.
    let frank = age_key(&env, "frank.key");
    let frank_flag = format!("frank={frank}");
    let mut rekey = vec![
        "rekey",
        "v.bg",
        "--share",
        "shares/alice.share.age",
        "--share",
        "shares/carol.share.age",
        "--share",
        "shares/erin.share",
        "--identity",
        "alice.key",
        "--identity",
        "carol.key",
        "--threshold",
        "2",
        "--custodian",
        &frank_flag,
        "--custodian",
        "erin=plain",
        "--share-dir",
        "new",
        "--transcript",
        "rekey.txt",
    ];
    rekey.extend(FLOOR);
    env.run(&rekey, "").success();
    assert!(env.read("rekey.txt").contains(&frank));
    let u = env
        .run(
            &[
                "unseal",
                "v.bg",
                "--entry",
                "root",
                "--share",
                "new/frank.share.age",
                "--share",
                "new/erin.share",
                "--identity",
                "frank.key",
            ],
            "",
        )
        .success();
    assert!(stdout(&u).contains("hunter2-root"), "{}", stdout(&u));
}

#[test]
fn invalid_recipients_are_named_with_their_position() {
    let env = Env::new();
    let good = age::x25519::Identity::generate().to_public().to_string();
    let typo = format!("{}o{}", &good[..9], &good[10..]);
    let flag = format!("bob={typo}");
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "T",
        "--threshold",
        "2",
        "--custodian",
        "alice",
        "--custodian",
        &flag,
        "--share-dir",
        "shares",
    ];
    args.extend(FLOOR);
    let e = env.run(&args, "").code(2);
    let msg = stderr(&e);
    assert!(msg.contains("--custodian #2: custodian bob"), "{msg}");
    assert!(msg.contains("character 10 ('o')"), "{msg}");
    assert!(!env.path("v.bg").exists() && !env.path("shares").exists());

    env.write(
        "team.txt",
        "alice plain\n# comment\ncarol ssh-ed25519 AAAAC3Nz$aC1\n",
    );
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "T",
        "--threshold",
        "2",
        "--custodians",
        "team.txt",
        "--share-dir",
        "shares",
    ];
    args.extend(FLOOR);
    let e = env.run(&args, "").code(2);
    let msg = stderr(&e);
    assert!(msg.contains("team.txt line 3: custodian carol"), "{msg}");
    assert!(
        msg.contains("character 21 of the ssh-ed25519 key is not base64"),
        "{msg}"
    );
}

#[test]
fn identities_that_cannot_be_used_are_refused_by_name() {
    let env = Env::new();
    let alice = age_key(&env, "alice.key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "bob-key-passphrase", "-f"])
        .arg(env.path("bob_ssh"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return skip(
            "custodians::identities_that_cannot_be_used_are_refused_by_name",
            "ssh-keygen is not installed (apt-get install openssh-client)",
        );
    }
    let bob = format!("bob={}", env.read("bob_ssh.pub").trim());
    let alice_flag = format!("alice={alice}");
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "T",
        "--threshold",
        "2",
        "--custodian",
        &alice_flag,
        "--custodian",
        &bob,
        "--share-dir",
        "shares",
    ];
    args.extend(FLOOR);
    // Nobody is asked anything: both shares are sealed to keys.
    env.run(&args, "").success();

    // A passphrase-protected SSH key needs a terminal for its passphrase.
    let e = env
        .run(
            &[
                "verify-share",
                "v.bg",
                "--share",
                "shares/bob.share.age",
                "--identity",
                "bob_ssh",
            ],
            "bob-key-passphrase\n",
        )
        .code(2);
    let msg = stderr(&e);
    assert!(msg.contains("identity file bob_ssh"), "{msg}");
    assert!(msg.contains("no terminal"), "{msg}");

    // A public key given as an identity.
    let e = env
        .run(
            &[
                "verify-share",
                "v.bg",
                "--share",
                "shares/bob.share.age",
                "--identity",
                "bob_ssh.pub",
            ],
            "",
        )
        .code(2);
    assert!(stderr(&e).contains("not the .pub file"), "{}", stderr(&e));

    // The custodian prints their envelope from the sealed share.
    env.run(
        &[
            "envelope",
            "v.bg",
            "--share",
            "shares/alice.share.age",
            "--identity",
            "alice.key",
            "--out",
            "alice.pdf",
        ],
        "",
    )
    .success();
    assert!(std::fs::read(env.path("alice.pdf"))
        .unwrap()
        .starts_with(b"%PDF"));
}

#[test]
fn an_ssh_key_passphrase_is_asked_on_the_terminal_without_echo() {
    let env = Env::new();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "bob-key-passphrase", "-f"])
        .arg(env.path("bob_ssh"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return skip(
            "custodians::an_ssh_key_passphrase_is_asked_on_the_terminal_without_echo",
            "ssh-keygen is not installed (apt-get install openssh-client)",
        );
    }
    let bob = format!("bob={}", env.read("bob_ssh.pub").trim());
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "T",
        "--threshold",
        "2",
        "--custodian",
        "alice=plain",
        "--custodian",
        &bob,
        "--share-dir",
        "shares",
    ];
    args.extend(FLOOR);
    env.run(&args, "").success();
    let term = crate::terminal::Term::start(
        env.dir.path(),
        &format!(
            "{} verify-share v.bg --share shares/bob.share.age --identity bob_ssh",
            crate::util::BIN
        ),
    );
    term.answer("Passphrase for the SSH key bob_ssh:", "not-the-passphrase");
    term.wait_for("wrong passphrase for bob_ssh");
    term.answer("Passphrase for the SSH key bob_ssh:", "bob-key-passphrase");
    let screen = term.exits(0);
    assert!(!screen.contains("bob-key-passphrase"), "{screen}");
    assert!(!screen.contains("not-the-passphrase"), "{screen}");
}

/// A share sealed to its custodian, pasted on stdin (`--share -`): read to
/// its last armor line, opened with `--identity` as a file would be.
#[test]
fn an_age_share_pasted_on_stdin_opens_with_the_identity() {
    let env = Env::new();
    alice_by_key_bob_plain(&env);
    env.seal("root", "s3cret");
    let sealed = std::fs::read_to_string(env.path("shares/alice.share.age")).unwrap();
    assert!(sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let out = env
        .run(
            &[
                "verify-share",
                "v.bg",
                "--share",
                "-",
                "--identity",
                "alice.key",
            ],
            &sealed,
        )
        .success();
    assert!(crate::util::stdout(&out).contains("Share OK: alice"));
    let out = env.run(
        &[
            "unseal",
            "v.bg",
            "--share",
            "-",
            "--share",
            "shares/bob.share",
            "--identity",
            "alice.key",
            "--entry",
            "root",
            "--json",
        ],
        &sealed,
    );
    let v = crate::util::json(&out.success());
    assert_eq!(v["entries"][0]["secret"], "s3cret");
    // Cut short, or without the identity: named, exit 2.
    let cut: String = sealed.lines().take(3).map(|l| format!("{l}\n")).collect();
    let out = env.run(
        &[
            "verify-share",
            "v.bg",
            "--share",
            "-",
            "--identity",
            "alice.key",
        ],
        &cut,
    );
    assert_eq!(out.get_output().status.code(), Some(2));
    assert!(crate::util::stderr(&out).contains("ends before its line"));
    let out = env.run(&["verify-share", "v.bg", "--share", "-"], &sealed);
    assert_eq!(
        out.get_output().status.code(),
        Some(2),
        "{}",
        crate::util::stderr(&out)
    );
}

/// `envelope --all` prints every custodian's envelope from the share
/// directory: `NAME.share` files as before, and `NAME.share.age` files
/// opened with `--identity`.
#[test]
fn envelope_all_prints_sealed_shares_with_the_identity() {
    let env = Env::new();
    alice_by_key_bob_plain(&env);

    // Without the identity, alice's sealed share is named.
    let mut args = crate::util::envelope_all_args("out");
    let e = env.run(&args, "").code(2);
    assert!(
        stderr(&e).contains("share for alice is sealed to its custodian's key"),
        "{}",
        stderr(&e)
    );

    args.extend(["--identity", "alice.key"]);
    let out = env.run(&args, "").success();
    for who in ["alice", "bob"] {
        let pdf = std::fs::read(env.path(&format!("out/{who}.pdf"))).unwrap();
        assert!(pdf.starts_with(b"%PDF"), "{who}");
        assert!(stdout(&out).contains(&format!("envelope for {who}")));
    }

    // Both forms of one custodian's share there: which one is meant is
    // not guessed.
    env.write("shares/alice.share", "stale");
    args.push("--force");
    let e = env.run(&args, "").code(2);
    assert!(
        stderr(&e).contains("both") && stderr(&e).contains("alice.share.age"),
        "{}",
        stderr(&e)
    );
}
