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
