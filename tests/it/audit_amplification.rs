//! Audit amplification (issue 15): anyone who can append to the vault file
//! can add MAC-less unseal records naming 65,535 entries each (the most the
//! format's u16 count allows, 458 KiB a record with one-letter labels). A
//! 27 MB file of them made `audit --json` use 3.2 GB for 25–40 s, because
//! every event was built before the first was printed. `audit` now reads
//! and prints record by record; the figures are printed here and collected
//! in docs/HARDENING.md ("Budgets"). The suite builds an 8 MB vault (the
//! old code took about 1 GB for it); `BREAKGLASS_AMPLIFY_MB=27` builds the
//! issue's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use vault_core::log;
use vault_core::record::{kind, Record, Unseal};

use crate::util::{Env, BIN};

const BUDGET_MIB: f64 = 256.0;

/// Appends unseal records naming 65,535 entries each until the file holds
/// about `target` bytes; returns how many were added.
pub(crate) fn amplify(path: &Path, target: usize) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let mut prev = log::parse(&bytes).unwrap().head;
    let body = Record::Unseal(Unseal {
        time: 1_700_000_000,
        actor: String::new(),
        custodians: vec![1, 2],
        entries: vec![("a".to_owned(), 1); u16::MAX as usize],
        reason: String::new(),
        proof: vault_core::record::Proof::UNMACED,
    })
    .encode_body();
    let mut added = 0;
    while bytes.len() < target {
        let (frame, hash) = log::encode_frame(&prev, kind::UNSEAL, &body);
        bytes.extend_from_slice(&frame);
        prev = hash;
        added += 1;
    }
    std::fs::write(path, bytes).unwrap();
    added
}

/// A format 1 vault in `env` as v.bg — fixtures/v1/lifecycle, rekeyed
/// once, 2 of bob, carol and dave — with bob's and carol's plain shares as
/// shares/bob.share and shares/carol.share. Format 1 is where an unsigned
/// unseal record is accepted; it must stay within budget there forever.
pub(crate) fn v1_vault(env: &Env) {
    let v1 = |name: &str| crate::util::fixture(&format!("v1/lifecycle/{name}"));
    env.write("v.bg", v1("lifecycle.bg"));
    std::fs::create_dir_all(env.path("shares")).unwrap();
    for name in ["bob", "carol"] {
        env.write(
            &format!("shares/{name}.share"),
            v1(&format!("{name}.share")),
        );
    }
}

/// Runs `breakglass ARGS` under `/usr/bin/time` with stdout to a file;
/// returns (seconds, peak MiB if measured, exit code, stdout lines).
fn measured(env: &Env, args: &[&str]) -> (f64, Option<f64>, Option<i32>, usize) {
    let report = env.path("time.txt");
    let out = env.path("out.txt");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-o").arg(&report).args(["-f", "%M"]).arg(BIN);
        c
    } else {
        Command::new(BIN)
    };
    let start = Instant::now();
    let status = cmd
        .current_dir(env.dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let peak = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| s.lines().last()?.trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0);
    let lines = std::fs::read(&out)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    (secs, peak, status.code(), lines)
}

fn show(what: &str, (secs, peak, code, _): (f64, Option<f64>, Option<i32>, usize)) {
    let peak = peak.map_or_else(|| "? MiB".to_owned(), |m| format!("{m:.0} MiB"));
    println!("budget: {what}: {secs:.2} s, peak {peak}; exit {code:?}");
}

#[test]
fn audit_streams_a_vault_of_huge_unseal_records() {
    let env = Env::new();
    v1_vault(&env);
    let path = env.path("v.bg");
    let mb: usize = std::env::var("BREAKGLASS_AMPLIFY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let added = amplify(&path, mb * 1_000_000);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "hostile vault: {added} unseal records of 65,535 entries, {:.1} MB",
        size as f64 / 1e6
    );

    let audit = measured(&env, &["audit", "v.bg", "--json"]);
    show("audit --json", audit);
    assert_eq!(audit.2, Some(0));
    let before =
        crate::util::load(&crate::util::fixture("v1/lifecycle/lifecycle.bg")).record_count();
    assert_eq!(audit.3, added + before, "one JSON line a record");
    if let Some(peak) = audit.1 {
        assert!(peak <= BUDGET_MIB, "audit --json peak {peak:.0} MiB");
    }
    assert!(audit.0 <= 60.0, "audit --json took {:.0} s", audit.0);

    // The other whole-vault commands replay the vault one frame at a time
    // and are held to the budget by
    // budgets::whole_vault_commands_stay_within_budget_on_an_amplified_vault;
    // printed here too, beside audit --json.
    for args in [&["list", "v.bg"][..], &["status", "v.bg"]] {
        let r = measured(&env, args);
        show(&args.join(" "), r);
        if let Some(peak) = r.1 {
            assert!(peak <= BUDGET_MIB, "{}: peak {peak:.0} MiB", args.join(" "));
        }
    }
}

/// The same records appended to a format 2 vault are refused at the first
/// one: an unseal record must be signed by the quorum (FORMAT.md §14.3).
#[test]
fn unsigned_unseal_records_are_refused_by_a_format_2_vault() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let path = env.path("v.bg");
    let start = std::fs::metadata(&path).unwrap().len() as usize;
    amplify(&path, start + 1);
    let out = env.run(&["list", "v.bg"], "");
    let err = crate::util::stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("record #2") && err.contains("a version 1 record in a version 2 file"),
        "{err}"
    );
}
