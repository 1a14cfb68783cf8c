//! The README's quickstart, run as written: every ```sh block of the
//! "Quickstart" section, in order, in one scratch directory, with the
//! binary under test first on PATH. Where the README says a command reads
//! stdin (passphrases, a secret), the test gives it on stdin; files the
//! reader is assumed to have (MDM exports) are copied from fixtures/; the
//! receipt lines the commands print are kept in `receipts.txt`, as the
//! README tells custodians to. A block preceded by
//! `<!-- README test: skip (why) -->` is reported as skipped, by reason.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{fixture, BIN};

/// What each block is fed, in README order: a phrase the block must hold
/// (so a README change that reorders or rewrites a step fails here, loudly)
/// and its stdin.
const STEPS: &[(&str, &str)] = &[
    (
        "breakglass init acme.bg",
        "alice-pass-words\nbob-pass-words\ncarol-pass-words\ndave-pass-words\nerin-pass-words\n",
    ),
    (
        "breakglass seal acme.bg --label entra-breakglass-1",
        "Entra-Emergency-Pass-1\n",
    ),
    (
        "breakglass unseal acme.bg --share shares/alice.share",
        "alice-pass-words\ncarol-pass-words\nerin-pass-words\n",
    ),
    ("breakglass verify-share acme.bg", "bob-pass-words\n"),
    (
        "breakglass drill acme.bg",
        "alice-pass-words\nbob-pass-words\ndave-pass-words\n",
    ),
    (
        "breakglass rekey acme.bg",
        "bob-pass-words\ncarol-pass-words\ndave-pass-words\n\
         bob-new-words\ncarol-new-words\nfrank-new-words\n",
    ),
    ("breakglass request acme.bg", ""),
    ("breakglass session acme.bg", ""),
    ("breakglass envelope acme.bg --all", ""),
    ("breakglass import acme.bg --from jamf-filevault.csv", ""),
    ("breakglass recipient acme.bg", "LAPS-Pc7-Password\n"),
    (
        "breakglass unseal acme.bg --device",
        "bob-new-words\ncarol-new-words\n",
    ),
    (
        "breakglass unseal acme.bg --key-id",
        "bob-new-words\ncarol-new-words\n",
    ),
    (
        "breakglass audit acme.bg --verify --share",
        "bob-new-words\ncarol-new-words\n",
    ),
];

/// The exports step 9 assumes the reader has: fixture samples of each.
const EXPORTS: &[(&str, &str)] = &[
    ("jamf-filevault.csv", "import/filevault-jamf.csv"),
    ("bitlocker.csv", "import/bitlocker-intune.csv"),
    ("laps.csv", "import/laps.csv"),
    ("other.csv", "import/generic.csv"),
];

/// A code block of the quickstart, and the skip reason if it has one.
struct Block {
    script: String,
    skip: Option<String>,
}

fn quickstart(readme: &str) -> Vec<Block> {
    let section = readme
        .split("\n## Quickstart")
        .nth(1)
        .expect("README has a Quickstart section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut blocks = Vec::new();
    let mut lines = section.lines().peekable();
    let mut skip = None;
    while let Some(line) = lines.next() {
        if let Some(reason) = line
            .trim()
            .strip_prefix("<!-- README test: skip (")
            .and_then(|r| r.strip_suffix(") -->"))
        {
            skip = Some(reason.to_owned());
        } else if line.trim() == "```sh" {
            let mut script = String::new();
            for body in lines.by_ref() {
                if body.trim() == "```" {
                    break;
                }
                script.push_str(body);
                script.push('\n');
            }
            blocks.push(Block {
                script,
                skip: skip.take(),
            });
        } else if !line.trim().is_empty() {
            skip = None; // the marker goes right before its block
        }
    }
    blocks
}

#[test]
fn the_quickstart_runs_as_written() {
    let readme = String::from_utf8(fixture("../README.md")).unwrap();
    let blocks = quickstart(&readme);
    let dir = tempfile::tempdir().unwrap();
    for (name, from) in EXPORTS {
        std::fs::write(dir.path().join(name), fixture(from)).unwrap();
    }
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut steps = STEPS.iter();
    let mut skipped = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let number = i + 1;
        if let Some(reason) = &block.skip {
            println!("README block {number}: skipped ({reason})");
            skipped.push(number);
            if block.script.contains("breakglass ") {
                steps.next(); // its row in STEPS keeps the order honest
            }
            continue;
        }
        let (phrase, stdin) = steps
            .next()
            .unwrap_or_else(|| panic!("README block {number} has no row in STEPS"));
        assert!(
            block.script.contains(phrase),
            "README block {number} should contain {phrase:?}; update STEPS:\n{}",
            block.script
        );
        let out = run(dir.path(), &path, &block.script, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "README block {number} failed ({:?}):\n{}\nstderr:\n{stderr}\nstdout:\n{}",
            out.status.code(),
            block.script,
            String::from_utf8_lossy(&out.stdout)
        );
        keep_receipts(dir.path(), &stderr);
    }
    assert!(
        steps.next().is_none(),
        "STEPS has rows for blocks the README no longer has"
    );
    assert_eq!(
        skipped,
        // 16: scripts/kit.sh builds the recovery page (WebAssembly, minutes);
        // tests/kit/run.sh runs that very command and the page in Chromium.
        [1, 8, 9, 16],
        "blocks skipped: update the test's expectations"
    );
    // What the quickstart promises, checked on its results.
    let receipts = std::fs::read_to_string(dir.path().join("receipts.txt")).unwrap();
    assert!(receipts.lines().count() >= 3, "{receipts}");
    assert!(dir.path().join("envelopes/bob.pdf").exists());
    assert!(dir.path().join("acme-backup.pdf").exists());
}

fn run(dir: &Path, path: &str, script: &str, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        // Step 2 pipes a FileVault recovery key the reader has at hand.
        .env("RECOVERY_KEY", "ABCD-EFGH-JKMN-PQRS-TVWX-YZ23")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.as_bytes().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// Keeps every receipt line printed, as the README asks custodians to.
fn keep_receipts(dir: &Path, stderr: &str) {
    let lines: String = stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("breakglass-receipt:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("receipts.txt");
    let mut kept = std::fs::read_to_string(&path).unwrap_or_default();
    kept.push_str(&lines);
    std::fs::write(path, kept).unwrap();
}
