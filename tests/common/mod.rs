//! A small harness for running the real `breakglass` binary in a fresh
//! temporary directory. On failure, assert_cmd prints the command, its
//! stdout and its stderr.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;
use assert_cmd::Command;

/// Argon2 flags at OWASP's floor: the smallest any build accepts.
pub const FLOOR: [&str; 6] = [
    "--argon2-memory",
    "19",
    "--argon2-time",
    "2",
    "--argon2-parallelism",
    "1",
];

/// A temporary working directory.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `breakglass ARGS` in the directory, with stdin `input`.
    pub fn run(&self, args: &[&str], input: impl AsRef<[u8]>) -> Assert {
        Command::cargo_bin("breakglass")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .write_stdin(input.as_ref().to_vec())
            .assert()
    }

    /// Creates `v.bg` with the named custodians; shares in `shares/`.
    /// Passphrases are `<name>-passphrase` unless `plain`.
    pub fn init(&self, k: usize, names: &[&str], plain: bool) {
        let k = k.to_string();
        let mut args = vec!["init", "v.bg", "--name", "Test vault", "--threshold", &k];
        for n in names {
            args.extend(["--custodian", n]);
        }
        args.extend(["--share-dir", "shares"]);
        args.extend(FLOOR);
        if plain {
            args.push("--no-passphrase");
        }
        let input: String = if plain {
            String::new()
        } else {
            names
                .iter()
                .map(|n| format!("{}\n", passphrase(n)))
                .collect()
        };
        self.run(&args, &input).success();
    }

    /// Seals `secret` under `label`.
    pub fn seal(&self, label: &str, secret: &str) {
        self.run(&["seal", "v.bg", "--label", label], secret)
            .success();
    }

    pub fn share(&self, name: &str) -> String {
        format!("shares/{name}.share")
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), contents).unwrap();
    }

    /// Arguments `unseal v.bg --share shares/a.share ...`.
    pub fn unseal_args<'a>(&self, shares: &'a [String]) -> Vec<&'a str> {
        let mut args = vec!["unseal", "v.bg"];
        for s in shares {
            args.extend(["--share", s.as_str()]);
        }
        args
    }
}

/// The test passphrase of custodian `name`.
pub fn passphrase(name: &str) -> String {
    format!("{name}-passphrase")
}

/// stdout as a string.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

/// stderr as a string.
pub fn stderr(a: &Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

/// The workspace root (for fixtures).
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
