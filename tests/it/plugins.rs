//! Hardware tokens through age plugins (issue 12 item 2), driven with the
//! test plugin `age-plugin-bgtest` (tests/age-plugin-bgtest: the age plugin
//! protocol through the `age-plugin` crate, an X25519 key in a file
//! instead of a token). The plugin is built here with `cargo build -p
//! age-plugin-bgtest` (a no-op when it is fresh; `cargo test` alone does
//! not build another package's binary) and its directory put first on
//! PATH, as a custodian's age-plugin-yubikey would be.
//!
//! Its modes (`BGTEST_MODE`): `hang`, `crash`, `pin` (asks for PIN 123456).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::assert::Assert;

use crate::util::{root, skip, stderr, stdout, Env, BIN, FLOOR};

/// The directory holding the built `age-plugin-bgtest`.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let out = Command::new(cargo)
            .current_dir(root())
            .args([
                "build",
                "-p",
                "age-plugin-bgtest",
                "--locked",
                "--message-format=json-render-diagnostics",
            ])
            .output()
            .expect("running cargo to build the test plugin");
        assert!(
            out.status.success(),
            "cargo build -p age-plugin-bgtest failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no executable for age-plugin-bgtest");
        exe.parent().unwrap().to_path_buf()
    })
}

/// PATH with the test plugin's directory first (or without it).
fn path_var(with_plugin: bool) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    if !with_plugin {
        return rest;
    }
    let mut dirs = vec![plugin_dir().to_path_buf()];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).unwrap()
}

/// How a command is run: plugin on PATH or not, a `BGTEST_MODE`, a
/// plugin timeout.
#[derive(Clone, Copy)]
struct With {
    plugin: bool,
    mode: Option<&'static str>,
    timeout: Option<&'static str>,
}

const PLUGIN: With = With {
    plugin: true,
    mode: None,
    timeout: None,
};

impl With {
    fn mode(self, mode: &'static str) -> Self {
        Self {
            mode: Some(mode),
            ..self
        }
    }
    fn timeout(self, secs: &'static str) -> Self {
        Self {
            timeout: Some(secs),
            ..self
        }
    }
}

/// `breakglass ARGS` in `env`, as `with` says.
fn run(env: &Env, with: With, args: &[&str], input: &str) -> Assert {
    let mut c = assert_cmd::Command::new(BIN);
    c.current_dir(env.dir.path())
        .args(args)
        .env("PATH", path_var(with.plugin))
        .env_remove("BGTEST_MODE")
        .env_remove("BREAKGLASS_PLUGIN_TIMEOUT");
    if let Some(m) = with.mode {
        c.env("BGTEST_MODE", m);
    }
    if let Some(t) = with.timeout {
        c.env("BREAKGLASS_PLUGIN_TIMEOUT", t);
    }
    c.write_stdin(input.as_bytes().to_vec()).assert()
}

/// A new test-plugin identity written to `file`; its `age1bgtest1…`
/// recipient.
fn plugin_key(env: &Env, file: &str) -> String {
    let out = Command::new(plugin_dir().join("age-plugin-bgtest"))
        .arg("--generate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    env.write(file, &text);
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .unwrap()
        .to_owned();
    assert!(recipient.starts_with("age1bgtest1"), "{recipient}");
    recipient
}

/// A fresh age X25519 identity written to `file`; its recipient.
fn age_key(env: &Env, file: &str) -> String {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    env.write(file, format!("{}\n", id.to_string().expose_secret()));
    id.to_public().to_string()
}

/// `init v.bg` (2 of 2: carol by the plugin, erin plain) as `with` says.
fn init_carol_and_erin(env: &Env, with: With, carol: &str) -> Assert {
    let flag = format!("carol={carol}");
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "T",
        "--threshold",
        "2",
        "--custodian",
        &flag,
        "--custodian",
        "erin=plain",
        "--share-dir",
        "shares",
    ];
    args.extend(FLOOR);
    run(env, with, &args, "")
}

fn verify_carol(env: &Env, with: With, identity: &str) -> Assert {
    let args = [
        "verify-share",
        "v.bg",
        "--share",
        "shares/carol.share.age",
        "--identity",
        identity,
    ];
    run(env, with, &args, "")
}

#[test]
fn mixed_3_of_5_with_a_hardware_token_through_a_plugin() {
    let env = Env::new();
    let alice = age_key(&env, "alice.key");
    let carol = plugin_key(&env, "carol.key");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(env.path("bob_ssh"))
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip(
            "plugins::mixed_3_of_5_with_a_hardware_token_through_a_plugin",
            "ssh-keygen is not installed (apt-get install openssh-client)",
        );
    }
    let bob = env.read("bob_ssh.pub").trim().to_owned();
    env.write(
        "team.txt",
        format!("alice {alice}\nbob {bob}\ncarol {carol}\ndave passphrase\nerin plain\n"),
    );
    let mut args = vec![
        "init",
        "v.bg",
        "--name",
        "Team",
        "--threshold",
        "3",
        "--custodians",
        "team.txt",
        "--share-dir",
        "shares",
        "--transcript",
        "ceremony.txt",
    ];
    args.extend(FLOOR);
    run(&env, PLUGIN, &args, "dave-passphrase\n").success();
    assert!(env.read("ceremony.txt").contains(&carol));

    // Every sealed file is armored age that opens with no identity given.
    crate::custodians::sealed_shares_open_with_no_identity(&env, |args| {
        run(&env, PLUGIN, args, "")
    });

    // Three unseal: the plugin's, an age key's and a passphrase.
    env.seal("root", "hunter2-root");
    let args = [
        "unseal",
        "v.bg",
        "--entry",
        "root",
        "--share",
        "shares/carol.share.age",
        "--share",
        "shares/alice.share.age",
        "--share",
        "shares/dave.share",
        "--identity",
        "carol.key",
        "--identity",
        "alice.key",
    ];
    let u = run(&env, PLUGIN, &args, "dave-passphrase\n").success();
    assert!(stdout(&u).contains("hunter2-root"), "{}", stdout(&u));

    // A plugin identity that is not carol's opens nothing, named like any
    // other identity; and carol's opens nothing of alice's.
    plugin_key(&env, "mallory.key");
    let e = verify_carol(&env, PLUGIN, "mallory.key").code(2);
    assert!(
        stderr(&e).contains("share for carol: none of the identities given opens it"),
        "{}",
        stderr(&e)
    );
    let args = [
        "verify-share",
        "v.bg",
        "--share",
        "shares/alice.share.age",
        "--identity",
        "carol.key",
    ];
    let e = run(&env, PLUGIN, &args, "").code(2);
    assert!(stderr(&e).contains("share for alice: none of the identities given opens it"));
}

#[test]
fn a_missing_plugin_is_named_with_the_binary_to_install() {
    let env = Env::new();
    let carol = plugin_key(&env, "carol.key");
    let without = With {
        plugin: false,
        ..PLUGIN
    };
    let e = init_carol_and_erin(&env, without, &carol).code(2);
    let msg = stderr(&e);
    assert!(msg.contains("custodian carol"), "{msg}");
    assert!(msg.contains("age-plugin-bgtest is not on PATH"), "{msg}");
    assert!(!env.path("v.bg").exists() && !env.path("shares").exists());

    // Opening: the identity file's line is named.
    init_carol_and_erin(&env, PLUGIN, &carol).success();
    let e = verify_carol(&env, without, "carol.key").code(2);
    let msg = stderr(&e);
    assert!(msg.contains("identity file carol.key line 3"), "{msg}");
    assert!(msg.contains("age-plugin-bgtest is not on PATH"), "{msg}");
}

#[test]
fn a_hanging_plugin_times_out_by_name_and_writes_nothing() {
    let env = Env::new();
    let carol = plugin_key(&env, "carol.key");
    let hang = PLUGIN.mode("hang").timeout("2");
    let start = Instant::now();
    let e = init_carol_and_erin(&env, hang, &carol).code(2);
    assert!(start.elapsed() < Duration::from_secs(30));
    let msg = stderr(&e);
    assert!(
        msg.contains("sealing the share for carol to age1bgtest1"),
        "{msg}"
    );
    assert!(
        msg.contains("age-plugin-bgtest did not answer within 2 s"),
        "{msg}"
    );
    assert!(!env.path("v.bg").exists(), "{msg}");
    let left: Vec<_> = std::fs::read_dir(env.path("shares"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // Opening.
    init_carol_and_erin(&env, PLUGIN, &carol).success();
    let start = Instant::now();
    let e = verify_carol(&env, hang, "carol.key").code(2);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(
        stderr(&e).contains("share for carol: age-plugin-bgtest did not answer within 2 s"),
        "{}",
        stderr(&e)
    );

    // A timeout that is not a number of seconds is refused by name.
    let e = verify_carol(&env, PLUGIN.timeout("soon"), "carol.key").code(2);
    assert!(stderr(&e).contains("BREAKGLASS_PLUGIN_TIMEOUT=soon"));
}

#[test]
fn a_crashing_plugin_is_named() {
    let env = Env::new();
    let carol = plugin_key(&env, "carol.key");
    let crash = PLUGIN.mode("crash");
    let e = init_carol_and_erin(&env, crash, &carol).code(2);
    let msg = stderr(&e);
    assert!(
        msg.contains("sealing the share for carol to age1bgtest1"),
        "{msg}"
    );
    assert!(
        msg.contains("age-plugin-bgtest stopped before it answered"),
        "{msg}"
    );
    assert!(!env.path("v.bg").exists(), "{msg}");

    init_carol_and_erin(&env, PLUGIN, &carol).success();
    let e = verify_carol(&env, crash, "carol.key").code(2);
    let msg = stderr(&e);
    assert!(
        msg.contains("share for carol: age-plugin-bgtest stopped before it answered"),
        "{msg}"
    );
}

#[test]
fn a_plugin_pin_is_asked_on_the_terminal_and_refused_without_one() {
    let env = Env::new();
    let carol = plugin_key(&env, "carol.key");
    init_carol_and_erin(&env, PLUGIN, &carol).success();
    // No terminal: the question is named, nothing hangs.
    let e = verify_carol(&env, PLUGIN.mode("pin"), "carol.key").code(2);
    let msg = stderr(&e);
    assert!(
        msg.contains("age-plugin-bgtest asked \"Enter the PIN of the bgtest token\""),
        "{msg}"
    );
    assert!(msg.contains("no terminal"), "{msg}");

    // At a terminal: asked without echo.
    if Command::new("tmux").arg("-V").output().is_err() {
        return skip(
            "plugins::a_plugin_pin_is_asked_on_the_terminal_and_refused_without_one",
            "tmux is not installed (scripts/test.sh installs it)",
        );
    }
    // The time the custodian takes to type is not the plugin's: a 1 s
    // budget and a PIN typed after 2.5 s.
    let command = |pin_mode: &str| {
        format!(
            "PATH='{}' BGTEST_MODE={pin_mode} BREAKGLASS_PLUGIN_TIMEOUT=1 {BIN} verify-share v.bg \
             --share shares/carol.share.age --identity carol.key",
            path_var(true).to_string_lossy()
        )
    };
    let term = crate::terminal::Term::start(env.dir.path(), &command("pin"));
    term.wait_for("Enter the PIN of the bgtest token:");
    std::thread::sleep(Duration::from_millis(2500));
    term.answer("Enter the PIN of the bgtest token:", "123456");
    let screen = term.exits(0);
    assert!(screen.contains("Share OK: carol"), "{screen}");
    assert!(!screen.contains("123456"), "{screen}");

    // A wrong PIN: the plugin's own refusal is shown, naming it.
    let term = crate::terminal::Term::start(env.dir.path(), &command("pin"));
    term.answer("Enter the PIN of the bgtest token:", "000000");
    let screen = term.exits(2);
    assert!(
        screen.contains("share for carol: age-plugin-bgtest failed")
            && screen.contains("wrong PIN"),
        "{screen}"
    );
}
