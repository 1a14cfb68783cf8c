//! Runs every case of the bad-input corpus (fixtures/bad/cases.tsv, made by
//! `vault-core/examples/make_bad_corpus.rs`) against the real binary: each
//! malformed vault or share must give its expected exit code and message,
//! never a panic. All failures are reported together.

use crate::util::{fixture, Env};

#[test]
fn every_bad_input_gives_its_expected_error() {
    let cases = String::from_utf8(fixture("bad/cases.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let [case, command, stdin, exit, message] = f[..] else {
            panic!("malformed cases.tsv line: {line}");
        };
        let env = Env::new();
        for name in ["golden.bg", "alice.share", "carol.share"] {
            env.copy_fixture(&format!("v1/{name}"), name);
        }
        env.copy_fixture(&format!("bad/{case}"), case);
        let args: Vec<&str> = match command {
            "list" => vec!["list", case],
            "audit-verify" => vec!["audit", case, "--verify"],
            // A fixed time: the golden fixture's exposure deadline is real.
            "status" => vec!["status", case, "--at", "2026-11-24T12:00:00Z"],
            "verify-share" => vec!["verify-share", "golden.bg", "--share", case],
            "unseal" => vec![
                "unseal",
                case,
                "--share",
                "alice.share",
                "--share",
                "carol.share",
                "--all",
            ],
            other => panic!("unknown command {other} in cases.tsv"),
        };
        let input = if stdin == "-" {
            String::new()
        } else {
            format!("{stdin}\n")
        };
        let out = env.run(&args, input).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        count += 1;
        if code != Some(exit.parse().unwrap())
            || !stderr.contains(message)
            || stderr.contains("panicked")
        {
            failures.push(format!(
                "{case} ({command}): expected exit {exit} with {message:?}, got {code:?}: {stderr}"
            ));
        }
    }
    assert!(
        count >= 50,
        "the corpus must hold at least 50 cases, found {count}"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
