//! Import on the real binary, from sample files shaped like the real
//! exports (fixtures/import/): every format, lookups by device, idempotent
//! re-import, bad rows named by line, --strict writing nothing.

use crate::util::{json, root, Env};
use predicates::prelude::*;

fn sample(name: &str) -> String {
    root()
        .join("fixtures/import")
        .join(name)
        .display()
        .to_string()
}

fn import(env: &Env, file: &str, format: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let path = sample(file);
    let mut args = vec![
        "import",
        "v.bg",
        "--from",
        path.as_str(),
        "--format",
        format,
        "--json",
    ];
    args.extend(extra);
    env.run(&args, "")
}

#[test]
fn every_export_format_imports_and_is_found_by_device() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for (file, format, n) in [
        ("filevault-jamf.csv", "filevault", 5),
        ("filevault-intune.csv", "filevault", 3),
        ("bitlocker-intune.csv", "bitlocker", 4),
        ("laps.csv", "laps", 3),
    ] {
        let s = json(&import(&env, file, format, &[]).success());
        assert_eq!(s["added"], n, "{file}");
    }
    let generic = [
        "--label-column",
        "name",
        "--secret-column",
        "secret",
        "--device-column",
        "host",
        "--username-column",
        "user",
    ];
    assert_eq!(
        json(&import(&env, "generic.csv", "generic", &generic).success())["added"],
        2
    );

    let list = json(
        &env.run(&["list", "v.bg", "--json", "--device", "desktop-0002"], "")
            .success(),
    );
    let label = list["entries"][0]["label"].as_str().unwrap().to_owned();
    assert!(label.starts_with("bitlocker-DESKTOP-0002-"), "{label}");
    let ab = ["alice", "bob"];
    let v = json(
        &env.unseal(&ab, &["--json", "--device", "WS-0001"], "")
            .success(),
    );
    assert_eq!(v["entries"][0]["username"], "Administrator");
    let laps = std::fs::read_to_string(sample("laps.csv")).unwrap();
    assert!(laps.contains(v["entries"][0]["secret"].as_str().unwrap()));
    let v = json(
        &env.unseal(&ab, &["--json", "--device", "C02X0003JHD3"], "")
            .success(),
    );
    assert_eq!(v["entries"][0]["username"], "user3");
    assert!(std::fs::read_to_string(sample("filevault-jamf.csv"))
        .unwrap()
        .contains(v["entries"][0]["secret"].as_str().unwrap()));
}

#[test]
fn reimporting_the_same_file_adds_nothing() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    import(&env, "bitlocker-intune.csv", "bitlocker", &[]).success();
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let s = json(&import(&env, "bitlocker-intune.csv", "bitlocker", &[]).success());
    assert_eq!(
        (
            s["added"].as_u64(),
            s["updated"].as_u64(),
            s["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(4))
    );
    assert_eq!(
        std::fs::read(env.path("v.bg")).unwrap(),
        before,
        "nothing appended"
    );
    // A changed key for one device is a new version of that entry.
    let text = std::fs::read_to_string(sample("bitlocker-intune.csv")).unwrap();
    let line = text.lines().nth(1).unwrap();
    let key = line.split(',').nth(2).unwrap();
    let new_key = "000000-000011-000022-000033-000044-000055-000066-000077";
    env.write("changed.csv", text.replace(key, new_key));
    let path = env.path("changed.csv").display().to_string();
    let out = env
        .run(
            &[
                "import",
                "v.bg",
                "--from",
                &path,
                "--format",
                "bitlocker",
                "--json",
            ],
            "",
        )
        .success();
    let s = json(&out);
    assert_eq!(
        (s["updated"].as_u64(), s["unchanged"].as_u64()),
        (Some(1), Some(3))
    );
}

#[test]
fn bad_rows_are_named_and_strict_writes_nothing() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let before = std::fs::read(env.path("v.bg")).unwrap();
    import(&env, "filevault-bad-rows.csv", "filevault", &["--strict"])
        .code(2)
        .stderr(predicate::str::contains(
            "line 3: FileVault recovery key group 6 of 6 is wrong",
        ))
        .stderr(predicate::str::contains("4 bad rows in"))
        .stderr(predicate::str::contains("nothing was imported"));
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    let out = import(&env, "filevault-bad-rows.csv", "filevault", &[])
        .code(2)
        .stderr(predicate::str::contains(
            "line 4: the device (or label) column is empty",
        ))
        .stderr(predicate::str::contains(
            "line 5: the secret column is empty",
        ))
        .stderr(predicate::str::contains(
            "line 6: 'filevault-C02GOOD00001' appears again (first on line 2)",
        ))
        .stderr(predicate::str::contains("4 of 6 rows"));
    assert_eq!(json(&out)["added"], 2);
    // The refused key is never quoted.
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(!err.contains("ABCD-EFGH-IJKL-MNOP-QRST-UVW"));
}

#[test]
fn a_file_without_the_needed_columns_is_refused() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    import(&env, "laps.csv", "bitlocker", &[])
        .code(2)
        .stderr(predicate::str::contains(
            "no key ID column (accepted headers:",
        ));
    import(
        &env,
        "generic.csv",
        "generic",
        &["--label-column", "name", "--secret-column", "nope"],
    )
    .code(2)
    .stderr(predicate::str::contains("no column 'nope' in the header"));
    env.run(
        &["import", "v.bg", "--from", "x.csv", "--format", "generic"],
        "",
    )
    .code(1);
}

/// Each real-export sample of fixtures/import/ (see its README.md): what
/// imports, and which lines are refused for what.
#[test]
fn real_export_samples_import_as_documented() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, &str, u64, u64, &[(u64, &str)])] = &[
        ("laps-ps51-utf16le.csv", "laps", 3, 0, &[]),
        ("laps-ps51-typeline.csv", "laps", 2, 0, &[]),
        ("filevault-excel-1252.csv", "filevault", 2, 0, &[]),
        ("bitlocker-excel-semicolon.csv", "bitlocker", 3, 0, &[]),
        ("laps-entra-tab.csv", "laps", 2, 0, &[]),
        (
            "filevault-crlf-duplicate.csv",
            "filevault",
            3,
            0,
            &[(
                6,
                "'filevault-C02CRLF00001' appears again (first on line 2)",
            )],
        ),
        (
            "laps-placeholders.csv",
            "laps",
            1,
            0,
            &[
                (
                    3,
                    "System.Security.SecureString: exported without -AsPlainText",
                ),
                (4, "the placeholder 'NA'"),
                (5, "the placeholder 'N/A'"),
                (6, "the placeholder 'None found'"),
                (7, "the secret column is empty"),
                (8, "DecryptionStatus is 'Unauthorized'"),
            ],
        ),
        ("laps-entra-same-name.csv", "laps", 2, 0, &[]),
        ("filevault-reenrolled.csv", "filevault", 2, 1, &[]),
        ("laps-history.csv", "laps", 2, 2, &[]),
        ("bitlocker-long-name.csv", "bitlocker", 2, 0, &[]),
        ("bitlocker-graph.csv", "bitlocker", 2, 0, &[]),
        ("bitlocker-keyid-only.csv", "bitlocker", 2, 0, &[]),
    ];
    for &(file, format, added, updated, bad) in cases {
        let out = import(&env, file, format, &[]);
        let out = if bad.is_empty() {
            out.success()
        } else {
            out.code(2)
        };
        let s = json(&out);
        assert_eq!(
            (s["added"].as_u64(), s["updated"].as_u64()),
            (Some(added), Some(updated)),
            "{file}: {s}"
        );
        let got: Vec<(u64, String)> = s["bad"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["line"].as_u64().unwrap(),
                    b["why"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got.len(), bad.len(), "{file}: {got:?}");
        for ((line, why), (want_line, want)) in got.iter().zip(bad) {
            assert_eq!(line, want_line, "{file}: {why}");
            assert!(why.contains(want), "{file} line {line}: {why}");
        }
        // A second import of the same file adds nothing.
        let again = json(&import(&env, file, format, &[]));
        assert_eq!(
            (again["added"].as_u64(), again["updated"].as_u64()),
            (Some(0), Some(0)),
            "{file} again: {again}"
        );
    }
    // Decoded, not mangled: the Windows-1252 user name.
    let ab = ["alice", "bob"];
    let v = json(
        &env.unseal(&ab, &["--json", "--device", "C02E1252A001"], "")
            .success(),
    );
    assert_eq!(v["entries"][0]["username"], "jos\u{e9}.garc\u{ed}a");
    // The UTF-16LE file's passwords are the text, not bytes with NULs.
    let v = json(
        &env.unseal(&ab, &["--json", "--device", "WS-1001"], "")
            .success(),
    );
    let secret = v["entries"][0]["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 20, "{secret}");
}

#[test]
fn files_that_hold_no_secrets_are_refused_whole_and_say_why() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let before = std::fs::read(env.path("v.bg")).unwrap();
    import(&env, "laps-securestring.csv", "laps", &[])
        .code(2)
        .stderr(predicate::str::contains(
            "none of the 3 rows holds a secret (line 2: the password is the text System.Security.SecureString: exported without -AsPlainText: the file holds no passwords)",
        ));
    import(&env, "laps-utf16-nobom.csv", "laps", &[])
        .code(2)
        .stderr(predicate::str::contains("save it as CSV UTF-8"));
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
}

fn unseal_one(env: &Env, device: &str) -> serde_json::Value {
    let v = json(
        &env.unseal(&["alice", "bob"], &["--json", "--device", device], "")
            .success(),
    );
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
    v["entries"][0].clone()
}

/// The CSV fields of line `line` (1-based) of a sample: all quoted
/// (PowerShell) or none (Excel, no commas in fields).
fn sample_fields(file: &str, line: usize) -> Vec<String> {
    let text = std::fs::read_to_string(sample(file)).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let line = text.lines().nth(line - 1).unwrap();
    match line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(quoted) => quoted.split("\",\"").map(str::to_owned).collect(),
        None => line.split(',').map(str::to_owned).collect(),
    }
}

#[test]
fn the_newest_key_is_current_and_history_never_is() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    import(&env, "filevault-reenrolled.csv", "filevault", &[]).success();
    // Line 2 (2026) is newer than line 3 (2025), though listed first.
    let e = unseal_one(&env, "FVFXREENR001");
    assert_eq!(e["version"], 2);
    assert_eq!(e["secret"], sample_fields("filevault-reenrolled.csv", 2)[3]);
    assert_eq!(e["username"], "dana@contoso.com", "UserPrincipalName kept");

    import(&env, "laps-history.csv", "laps", &[]).success();
    let e = unseal_one(&env, "WS-5000");
    assert_eq!(e["version"], 3);
    assert_eq!(e["secret"], sample_fields("laps-history.csv", 2)[3]);
    // History rows of an entry already held are left out, never current.
    let hist = std::fs::read_to_string(sample("laps-history.csv")).unwrap();
    let lines: Vec<&str> = hist.split("\r\n").collect();
    env.write(
        "hist-only-new.csv",
        format!(
            "{}\r\n{}\r\n",
            lines[0],
            lines[2].replace(
                &sample_fields("laps-history.csv", 3)[3],
                "fresh-old-password-1"
            )
        ),
    );
    let path = env.path("hist-only-new.csv").display().to_string();
    let s = json(
        &env.run(
            &[
                "import", "v.bg", "--from", &path, "--format", "laps", "--json",
            ],
            "",
        )
        .code(2),
    );
    assert_eq!(s["bad"][0]["line"], 2, "{s}");
    assert!(s["bad"][0]["why"].as_str().unwrap().contains("history"));
    assert_eq!(unseal_one(&env, "WS-5000")["version"], 3);
    // A later export: a new current password and a history row the vault
    // never saw. The new password becomes current; the history row is left
    // out (it would otherwise sit above the versions already held).
    env.write(
        "later.csv",
        format!(
            "{}\r\n{}\r\n{}\r\n",
            lines[0],
            lines[1].replace(
                &sample_fields("laps-history.csv", 2)[3],
                "newest-password-1"
            ),
            lines[2].replace(
                &sample_fields("laps-history.csv", 3)[3],
                "unseen-old-password"
            )
        ),
    );
    let path = env.path("later.csv").display().to_string();
    let s = json(
        &env.run(
            &[
                "import", "v.bg", "--from", &path, "--format", "laps", "--json",
            ],
            "",
        )
        .success(),
    );
    assert_eq!(
        (s["updated"].as_u64(), s["history_skipped"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let e = unseal_one(&env, "WS-5000");
    assert_eq!(
        (e["version"].as_u64(), e["secret"].as_str()),
        (Some(4), Some("newest-password-1"))
    );
}

#[test]
fn identity_is_the_device_not_its_display_name() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    import(&env, "laps-entra-same-name.csv", "laps", &[]).success();
    let list = json(
        &env.run(
            &["list", "v.bg", "--json", "--device", "desktop-shared"],
            "",
        )
        .success(),
    );
    let labels: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2, "{list}");
    assert_ne!(labels[0], labels[1]);
    // Keys without a device are found by their key ID.
    import(&env, "bitlocker-keyid-only.csv", "bitlocker", &[]).success();
    let id = sample_fields("bitlocker-keyid-only.csv", 2)[0].clone();
    let short = &id.trim_start_matches('{')[..8];
    let e = unseal_one(&env, short);
    assert_eq!(e["label"], format!("bitlocker-{short}"));
    // A 200-byte device name: the label fits, ends in its key ID.
    import(&env, "bitlocker-long-name.csv", "bitlocker", &[]).success();
    let fields = sample_fields("bitlocker-long-name.csv", 2);
    assert_eq!(fields[0].len(), 200);
    let list = json(&env.run(&["list", "v.bg", "--json"], "").success());
    let long: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .filter(|l| l.starts_with("bitlocker-FIN-LONDON"))
        .collect();
    assert_eq!(long.len(), 1, "{list}");
    assert!(long[0].len() <= 128, "{}", long[0]);
    assert!(
        long[0].ends_with(&format!("-{}", &fields[1][..8])),
        "{}",
        long[0]
    );
}

#[test]
fn dry_run_shows_the_reading_and_writes_nothing() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let out = import(&env, "laps-ps51-utf16le.csv", "laps", &["--dry-run"]).success();
    let s = json(&out);
    assert_eq!(s["encoding"], "UTF-16LE with BOM");
    assert_eq!(s["delimiter"], ",");
    assert_eq!(s["preamble_skipped"], "#TYPE");
    assert_eq!(s["first"][0]["line"], 3, "the #TYPE line is line 1");
    let mapping = s["mapping"].to_string();
    assert!(mapping.contains("\"column\":\"Password\""), "{mapping}");
    assert!(
        mapping.contains("\"passed_over\":[\"ExpirationTimestamp\"]"),
        "{mapping}"
    );
    let path = sample("filevault-crlf-duplicate.csv");
    let text = env
        .run(
            &[
                "import",
                "v.bg",
                "--from",
                &path,
                "--format",
                "filevault",
                "--dry-run",
            ],
            "",
        )
        .success();
    let text = crate::util::stdout(&text);
    assert!(text.contains("Dry run"), "{text}");
    assert!(
        text.contains("line 6: refused: 'filevault-C02CRLF00001' appears again (first on line 2)"),
        "{text}"
    );
    assert!(text.contains("Serial Number"), "{text}");
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
}

#[test]
fn explicit_columns_and_delimiter_override_the_guesses() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    // A wrong delimiter: the header is one column, the hint names the flag.
    import(
        &env,
        "bitlocker-excel-semicolon.csv",
        "bitlocker",
        &["--delimiter", ","],
    )
    .code(2)
    .stderr(predicate::str::contains("no key ID column"))
    .stderr(predicate::str::contains("--delimiter"));
    import(&env, "laps-entra-tab.csv", "laps", &["--delimiter", "tab"]).success();
    // --device-column picks another column as the device.
    let s = json(
        &import(
            &env,
            "laps-ps51-typeline.csv",
            "laps",
            &["--device-column", "DistinguishedName", "--dry-run"],
        )
        .success(),
    );
    assert_eq!(
        s["first"][0]["label"],
        "laps-CN=WS-2000,OU=Workstations,DC=contoso,DC=com"
    );
    import(&env, "laps.csv", "laps", &["--secret-column", "nope"])
        .code(2)
        .stderr(predicate::str::contains("no column 'nope' in the header"));
}

/// Issue 14 item 8: a reader that goes away is not a crash.
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let mut csv = String::from("name,secret\n");
    for i in 0..800 {
        csv.push_str(&format!("entry-{i:04},password-{i:04}-xxxxxxxxxxxx\n"));
    }
    env.write("many.csv", csv);
    env.run(
        &[
            "import",
            "v.bg",
            "--from",
            "many.csv",
            "--format",
            "generic",
            "--label-column",
            "name",
            "--secret-column",
            "secret",
        ],
        "",
    )
    .success();
    let mut child = env
        .command(&["list", "v.bg", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 16`
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn an_export_from_a_pipe_imports_like_a_file_and_a_large_one_is_refused() {
    // A regular file is read where it lies; a pipe (here /dev/stdin) is
    // read whole, within the budget of a file decoded in memory.
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let text = std::fs::read_to_string(sample("bitlocker-intune.csv")).unwrap();
    let args = [
        "import",
        "v.bg",
        "--from",
        "/dev/stdin",
        "--format",
        "bitlocker",
        "--json",
    ];
    let s = json(&env.run(&args, &text).success());
    assert_eq!(s["added"].as_u64(), Some(4), "{s}");
    let mut big = String::from("KeyId,Device,Key\n");
    while big.len() <= 64 << 20 {
        big.push_str(&"x".repeat(1 << 16));
        big.push('\n');
    }
    env.run(&args, &big)
        .code(2)
        .stderr(predicate::str::contains(
            "more than 64 MiB from a pipe: save the export to a file and import that",
        ));
    let s = json(&env.run(&["status", "v.bg", "--json"], "").success());
    assert_eq!(s["entries"].as_u64(), Some(4), "nothing more imported");
}
