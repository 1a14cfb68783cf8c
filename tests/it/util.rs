//! The shared harness: runs the real `breakglass` binary in a fresh
//! temporary directory. On failure, assert_cmd prints the command, its
//! stdout and its stderr. Everything more than one area needs lives here
//! (the binary, the custodian names, shares and passphrases, unseal
//! arguments, fixtures, skipping), so a module only holds its own helpers.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;
use assert_cmd::Command;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_breakglass");

/// Five custodians, for the k-of-5 vaults.
pub const FIVE: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

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
        Command::new(BIN)
            .current_dir(self.dir.path())
            .args(args)
            .write_stdin(input.as_ref().to_vec())
            .assert()
    }

    /// `breakglass ARGS` in the directory as a plain process, for tests
    /// that spawn, wait, kill or watch it (stdin, stdout, stderr are up to
    /// the caller).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(BIN);
        c.current_dir(self.dir.path()).args(args);
        c
    }

    /// Spawns `breakglass ARGS` with `input` written to its stdin (then
    /// closed) and stdout and stderr captured.
    pub fn spawn(&self, args: &[&str], input: &[u8]) -> std::process::Child {
        let mut child = spawn_piped(&mut self.command(args));
        child.stdin.take().unwrap().write_all(input).unwrap();
        child
    }

    /// Creates `v.bg` with the named custodians; shares in `shares/`.
    /// Passphrases are `<name>-passphrase` unless `plain`.
    pub fn init(&self, k: usize, names: &[&str], plain: bool) {
        let k = k.to_string();
        let mut args = init_args("v.bg", "Test vault", &k, names, "shares");
        args.extend(FLOOR);
        if plain {
            args.push("--no-passphrase");
        }
        let input = if plain {
            String::new()
        } else {
            pass_lines(names)
        };
        self.run(&args, &input).success();
    }

    /// Seals `secret` under `label`.
    pub fn seal(&self, label: &str, secret: &str) {
        self.run(&["seal", "v.bg", "--label", label], secret)
            .success();
    }

    /// The share file of custodian `name`, as `init` wrote it.
    pub fn share(&self, name: &str) -> String {
        format!("shares/{name}.share")
    }

    /// The share files of `names`, in that order.
    pub fn shares(&self, names: &[&str]) -> Vec<String> {
        names.iter().map(|n| self.share(n)).collect()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), contents).unwrap();
    }

    /// Copies `fixtures/<from>` into the directory as `to`.
    pub fn copy_fixture(&self, from: &str, to: &str) {
        self.write(to, fixture(from));
    }

    /// Copies a share of another vault into the directory as `to`: that of
    /// custodian `names[0]` of a fresh plain 2-of-2 vault of `names`.
    pub fn foreign_share(&self, names: [&str; 2], to: &str) {
        let other = Env::new();
        other.init(2, &names, true);
        std::fs::copy(other.path(&other.share(names[0])), self.path(to)).unwrap();
    }

    /// The events of `breakglass audit v.bg --json`, one a line.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        stdout(&self.run(&["audit", "v.bg", "--json"], "").success())
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `breakglass unseal v.bg` with the shares of custodians `names` (from
    /// `shares/`), then `extra`, with stdin `input`.
    pub fn unseal(&self, names: &[&str], extra: &[&str], input: impl AsRef<[u8]>) -> Assert {
        let shares = self.shares(names);
        let mut args = unseal_args("v.bg", &shares);
        args.extend(extra);
        // Without a terminal, unseal reveals only what is named.
        let named = ["--entry", "--device", "--key-id", "--all"];
        if !extra.iter().any(|a| named.contains(a)) {
            args.push("--all");
        }
        self.run(&args, input)
    }
}

/// Spawns `cmd` with stdin, stdout and stderr piped.
pub fn spawn_piped(cmd: &mut std::process::Command) -> std::process::Child {
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Arguments `init VAULT --name NAME --threshold K --custodian N ...
/// --share-dir DIR` (the caller adds Argon2 flags, `--no-passphrase` ...).
pub fn init_args<'a>(
    vault: &'a str,
    name: &'a str,
    k: &'a str,
    names: &[&'a str],
    share_dir: &'a str,
) -> Vec<&'a str> {
    let mut args = vec!["init", vault, "--name", name, "--threshold", k];
    for n in names {
        args.extend(["--custodian", *n]);
    }
    args.extend(["--share-dir", share_dir]);
    args
}

/// The new custodian set of a rekey, plain shares at the Argon2 floor:
/// `--threshold K --custodian N ... --share-dir DIR --no-passphrase
/// --reason REASON` (the caller puts `rekey VAULT` and the shares or a
/// request before).
pub fn rekey_to<'a>(k: &'a str, names: &[&'a str], dir: &'a str, reason: &'a str) -> Vec<&'a str> {
    let mut args = vec!["--threshold", k];
    for n in names {
        args.extend(["--custodian", *n]);
    }
    args.extend(["--share-dir", dir, "--no-passphrase", "--reason", reason]);
    args.extend(FLOOR);
    args
}

/// Arguments `envelope v.bg --all --share-dir shares --out-dir OUT`.
pub fn envelope_all_args(out_dir: &str) -> Vec<&str> {
    vec![
        "envelope",
        "v.bg",
        "--all",
        "--share-dir",
        "shares",
        "--out-dir",
        out_dir,
    ]
}

/// Arguments `--share S` for each of the share files `shares`.
pub fn share_flags<S: AsRef<str>>(shares: &[S]) -> Vec<&str> {
    shares
        .iter()
        .flat_map(|s| ["--share", s.as_ref()])
        .collect()
}

/// Arguments `unseal VAULT --share S ...`.
pub fn unseal_args<'a, S: AsRef<str>>(vault: &'a str, shares: &'a [S]) -> Vec<&'a str> {
    let mut args = vec!["unseal", vault];
    args.extend(share_flags(shares));
    args
}

/// The test passphrase of custodian `name`.
pub fn passphrase(name: &str) -> String {
    format!("{name}-passphrase")
}

/// The passphrase lines of `names`, in that order (stdin for a prompt
/// without a terminal).
pub fn pass_lines(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{}\n", passphrase(n)))
        .collect()
}

/// stdout as a string.
pub fn stdout(a: &Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

/// stderr as a string.
pub fn stderr(a: &Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

/// stdout parsed as one JSON value.
pub fn json(a: &Assert) -> serde_json::Value {
    serde_json::from_str(&stdout(a)).unwrap()
}

/// Field `field` (a string) of each of the JSON objects `items`.
pub fn strs<'a>(
    items: impl IntoIterator<Item = &'a serde_json::Value>,
    field: &str,
) -> Vec<&'a str> {
    items
        .into_iter()
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// Frames `records` into a vault file: the header, then each record chained
/// to the one before (as the binary writes them, or a forger would).
pub fn encode_log(records: &[vault_core::record::Record]) -> Vec<u8> {
    // The file's version follows its genesis record.
    let version = match records.first() {
        Some(r) if r.kind() == vault_core::record::kind::GENESIS => 1,
        _ => vault_core::log::FORMAT_VERSION,
    };
    let mut out = vault_core::log::header(version).to_vec();
    let mut prev = vault_core::log::genesis_prev(version);
    for r in records {
        let (frame, hash) = vault_core::log::encode_frame(&prev, r.kind(), &r.encode_body());
        out.extend_from_slice(&frame);
        prev = hash;
    }
    out
}

/// The vault file `bytes` with its genesis record changed by `edit` and the
/// chain fixed up after it, so only what `edit` changed is different.
pub fn with_genesis(bytes: &[u8], edit: impl FnOnce(&mut vault_core::record::Genesis)) -> Vec<u8> {
    let vault = load(bytes);
    let mut genesis = vault.genesis().clone();
    edit(&mut genesis);
    let records: Vec<vault_core::record::Record> =
        std::iter::once(vault_core::record::Record::Genesis(genesis))
            .chain(vault.records()[1..].iter().map(|p| p.record.clone()))
            .collect();
    encode_log(&records)
}

/// The master key the plain share files `shares` (paths) of the vault in
/// `bytes` combine to: what a quorum holds.
pub fn master_key(bytes: &[u8], shares: &[&Path]) -> vault_core::keys::MasterKey {
    let vault = load(bytes);
    let shares: Vec<_> = shares
        .iter()
        .map(|p| {
            let body =
                vault_core::share_text::decode(&std::fs::read_to_string(p).unwrap()).unwrap();
            vault.check_share(&body, None).unwrap()
        })
        .collect();
    vault_core::shamir::combine(vault.threshold(), &shares).unwrap()
}

/// The format 2 vault file `bytes` with its genesis changed by `edit`, its
/// quorum key set to `mk`'s, and every quorum-signed record signed again
/// with it for its new place: what someone holding `mk` can write — the
/// vault's own master key (an insider quorum), or an attacker's own (who
/// then also swaps the escrow key to one they hold). Records a custodian
/// signed are copied as they are (their signatures then fail).
pub fn resigned(
    bytes: &[u8],
    mk: &vault_core::keys::MasterKey,
    edit: impl FnOnce(&mut vault_core::record::Genesis),
) -> Vec<u8> {
    use vault_core::record::{Proof, Record, Signer};
    use vault_core::{log, sign, Fingerprint};
    let vault = load(bytes);
    let mut genesis = vault.genesis().clone();
    edit(&mut genesis);
    let generation = genesis.generation().expect("a format 2 vault");
    let key = sign::quorum_key(mk, &genesis.vault_id, generation);
    if let Some(v2) = genesis.v2.as_mut() {
        v2.quorum_public = key.public().0;
    }
    genesis.proof = Proof::UNSIGNED;
    let fingerprint = Fingerprint::of(&genesis);
    let records = std::iter::once(Record::Genesis(genesis))
        .chain(vault.records()[1..].iter().map(|p| p.record.clone()));
    let mut out = log::header(2).to_vec();
    let mut prev = log::genesis_prev(2);
    for mut r in records {
        if r.signer() == Some(Signer::Quorum) {
            r.sign_v2(&key, fingerprint.as_bytes(), &prev);
        }
        let (frame, hash) = log::encode_frame(&prev, r.kind(), &r.encode_body());
        out.extend_from_slice(&frame);
        prev = hash;
    }
    out
}

/// The format 2 vault file `good` with an escrow key an attacker holds,
/// its genesis signed by the attacker's own quorum key (they hold no share,
/// so not the vault's): the deposit hijack done as well as it can be.
pub fn hijacked(good: &[u8]) -> Vec<u8> {
    let attacker = vault_core::keys::MasterKey::generate();
    let id = *load(good).id();
    let (escrow, _) = vault_core::escrow::generate(&attacker, &id);
    resigned(good, &attacker, |g| g.escrow_public = escrow)
}

/// The records of the vault file `bytes`, decoded, in file order: what
/// anyone who can write the file can edit and re-chain (`encode_log`).
pub fn records_of(bytes: &[u8]) -> Vec<vault_core::record::Record> {
    vault_core::log::parse(bytes)
        .unwrap()
        .frames
        .iter()
        .map(|f| vault_core::record::Record::decode(f.kind, &f.body).unwrap())
        .collect()
}

/// The vault in the file bytes `bytes`.
pub fn load(bytes: &[u8]) -> vault_core::vault::Vault {
    vault_core::vault::Vault::replay(&vault_core::log::parse(bytes).unwrap()).unwrap()
}

/// The number in environment variable `var` (a knob such as a trial
/// count), or `default` when it is unset or not a number.
pub fn knob<T: std::str::FromStr>(var: &str, default: T) -> T {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The workspace root (for fixtures).
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The bytes of `fixtures/<rel>`.
pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures").join(rel)).unwrap()
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Records that test `name` could not run, and why: printed, and appended
/// as a line `name: reason` to the file named by `BREAKGLASS_SKIP_LOG` (set
/// by scripts/test.sh, which lists the skipped tests by name at the end
/// instead of counting them as passed). The test then returns.
pub fn skip(name: &str, reason: &str) {
    eprintln!("skipped: {name}: {reason}");
    if let Some(log) = std::env::var_os("BREAKGLASS_SKIP_LOG") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("BREAKGLASS_SKIP_LOG {log:?}: {e}"));
        writeln!(f, "{name}: {reason}").unwrap();
    }
}
