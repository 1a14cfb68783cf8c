//! Recovery sessions on the real binary (issue 19): one quorum, then many
//! lookups over stdin answered one JSON line each, every secret shown
//! recorded first; the session's limits end it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::vault::{DepositMeta, Vault};
use zeroize::Zeroizing;

use crate::util::{Env, BIN};

/// 20 BitLocker keys (`bl-NN`, device `PC-NN`, key ID `NNNN0000`), 20
/// FileVault keys (`fv-NN`, serial `C02NN`), and two keys of one PC
/// (`pc7-os`, `pc7-data` on device `PC-7`): at the library level, in one
/// write.
/// [`fleet_unindexed`] with a current index beside it (written by a whole
/// read): sessions on it read each lookup through the index.
fn fleet(env: &Env) {
    fleet_unindexed(env);
    env.run(&["list", "v.bg"], "").success();
}

/// A vault of 40 entries and two keys of PC-7, written without an index:
/// a session on it starts with a whole read and keeps the vault in memory.
fn fleet_unindexed(env: &Env) {
    env.init(2, &["alice", "bob"], true);
    let path = env.path("v.bg");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut vault = Vault::replay(&vault_core::log::parse(&bytes).unwrap()).unwrap();
    let mut put = |label: String, device: String, key_id: Option<String>, secret: String| {
        let kind = if key_id.is_some() {
            EntryKind::RecoveryKey
        } else {
            EntryKind::Note
        };
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(secret.into_bytes()),
        };
        let meta = DepositMeta {
            actor: "test".into(),
            time: 1_700_000_000,
            device: Some(device),
            key_id,
            ..DepositMeta::default()
        };
        let r = vault.deposit(&label, kind, &s, &meta).unwrap();
        bytes.extend(vault.push(r).unwrap());
    };
    for n in 10..30 {
        put(
            format!("bl-{n}"),
            format!("PC-{n}"),
            Some(format!("{n}{n}0000")),
            recovery_password(n),
        );
        put(
            format!("fv-{n}"),
            format!("C02{n}"),
            None,
            format!("fv-secret-{n}"),
        );
    }
    put(
        "pc7-os".into(),
        "PC-7".into(),
        Some("7A7A0001".into()),
        recovery_password(1),
    );
    put(
        "pc7-data".into(),
        "PC-7".into(),
        Some("7A7A0002".into()),
        recovery_password(2),
    );
    std::fs::write(&path, bytes).unwrap();
}

/// A well-formed BitLocker recovery password, different for each `n`:
/// eight groups of six digits, each a multiple of 11 below 720,896.
fn recovery_password(n: u32) -> String {
    (0..8)
        .map(|i| format!("{:06}", 11 * (n * 100 + i)))
        .collect::<Vec<_>>()
        .join("-")
}

fn session(env: &Env, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(env.dir.path())
        .args([
            "session",
            "v.bg",
            "--share",
            "shares/alice.share",
            "--share",
            "shares/bob.share",
            "--reason",
            "INC-19 boot loop",
            "--allow-unlocked",
        ])
        .args(extra)
        .env("BREAKGLASS_KNOWN_VAULTS", env.path(".known_vaults"));
    c
}

/// A session started with stdin piped, stderr dropped, stdout as given.
fn spawned(env: &Env, extra: &[&str], stdout: Stdio) -> std::process::Child {
    session(env, extra)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The reason of the vault's last record.
fn last_reason(env: &Env) -> String {
    audit(env).last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn audit(env: &Env) -> Vec<serde_json::Value> {
    let out = env.run(&["audit", "v.bg", "--json"], "").success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// 50 lookups in one session over stdin: key IDs in mixed case, with
/// braces and as whole GUIDs, serials, labels, one ambiguous, unknown and
/// malformed ones, and a pasted recovery password. Each answer is checked,
/// and each secret shown has its own unseal record naming that entry.
#[test]
fn fifty_lookups_over_stdin_each_answered_and_each_reveal_recorded() {
    fifty_lookups(fleet);
}

/// The same, the session keeping the whole vault in memory (no index).
#[test]
fn fifty_lookups_without_an_index() {
    fifty_lookups(fleet_unindexed);
}

fn fifty_lookups(fleet: fn(&Env)) {
    let env = Env::new();
    fleet(&env);
    let before = audit(&env).len();
    let mut lookups: Vec<(String, &str, Option<String>)> = Vec::new();
    for n in 10..30 {
        let id = format!("{n}{n}0000");
        let form = match n % 4 {
            0 => id.to_lowercase(),
            1 => format!("{{{id}}}"),
            2 => format!("{id}-0E1F-2A3B-4C5D-6E7F8A9B0C1D"),
            _ => format!("  {id}  "),
        };
        lookups.push((form, "found", Some(recovery_password(n))));
    }
    for n in 10..30 {
        let form = if n % 2 == 0 {
            format!("c02{n}")
        } else {
            format!("fv-{n}")
        };
        lookups.push((form, "found", Some(format!("fv-secret-{n}"))));
    }
    lookups.push(("PC-7".into(), "ambiguous", None));
    lookups.push(("7a7a0002".into(), "found", Some(recovery_password(2))));
    lookups.push(("no-such-pc".into(), "not_found", None));
    lookups.push(("DEADBEEF".into(), "not_found", None));
    lookups.push(("{1A2B3C4G}".into(), "refused", None));
    lookups.push((
        "1A2B3C4G-0E1F-2A3B-4C5D-6E7F8A9B0C1D".into(),
        "refused",
        None,
    ));
    lookups.push((
        "123456-234567-345678-456789-567890-678901-789012-890123".into(),
        "refused",
        None,
    ));
    lookups.push(("a\u{202e}b".into(), "refused", None));
    lookups.push(("".into(), "refused", None));
    lookups.push(("pc7-os".into(), "found", Some(recovery_password(1))));
    assert_eq!(lookups.len(), 50);
    let input: String = lookups.iter().map(|(l, _, _)| format!("{l}\n")).collect();
    let started = Instant::now();
    let out = session(&env, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 50, "{answers:?}");
    let mut shown = Vec::new();
    for (n, ((lookup, status, secret), answer)) in lookups.iter().zip(&answers).enumerate() {
        assert_eq!(answer["lookup"], n + 1);
        assert_eq!(answer["status"], *status, "{lookup:?}: {answer}");
        if let Some(secret) = secret {
            assert_eq!(answer["secret"], secret.as_str(), "{lookup:?}");
            shown.push((
                answer["label"].as_str().unwrap().to_owned(),
                answer["record"].clone(),
            ));
        }
        if *status == "refused" {
            // A refused lookup is never echoed (it may be a secret).
            let error = answer["error"].as_str().unwrap();
            assert!(
                lookup.trim().is_empty() || !error.contains(lookup.trim()),
                "{error}"
            );
        }
    }
    assert_eq!(
        answers[40]["labels"],
        serde_json::json!(["pc7-data", "pc7-os"])
    );
    // Start, one record a secret shown (in order, each before the next
    // answer), end.
    let events = audit(&env);
    let session_events = &events[before..];
    assert_eq!(session_events.len(), shown.len() + 2);
    let start = session_events[0]["reason"].as_str().unwrap();
    assert!(
        start.contains(" start: INC-19 boot loop (ttl 28800 s, idle 900 s)"),
        "{start}"
    );
    for ((label, record), e) in shown.iter().zip(&session_events[1..]) {
        assert_eq!(e["event"], "unseal");
        assert_eq!(e["entries"][0]["label"], label.as_str());
        assert_eq!(e["record"], *record);
    }
    let end = session_events.last().unwrap()["reason"].as_str().unwrap();
    assert!(
        end.ends_with(&format!("end: {} reveals (end of input)", shown.len())),
        "{end}"
    );
    // Every secret shown is now exposed: status says to rotate them.
    let status = env.run(&["status", "v.bg", "--json"], "");
    let status = String::from_utf8_lossy(&status.get_output().stdout).into_owned();
    assert!(
        status.contains("bl-10") && status.contains("fv-29"),
        "{status}"
    );
    println!(
        "session: 50 lookups, {} secrets shown and recorded, {secs:.2} s with the quorum (debug build)",
        shown.len()
    );
}

/// The idle time ends a session that waits for a lookup, with its end
/// record; so does its time to live while lookups keep coming.
#[test]
fn idle_and_ttl_end_a_session_with_its_end_record() {
    let env = Env::new();
    fleet(&env);
    let mut child = spawned(&env, &["--idle", "2s", "--ttl", "1h"], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "bl-10").unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains(&recovery_password(10)), "{first}");
    // Nothing more is asked: the session ends by itself, stdin still open.
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(stdin);
    let end = last_reason(&env);
    assert!(end.ends_with("end: 1 reveals (idle)"), "{end}");

    // A time to live of 3 s while a lookup comes every half second.
    let mut child = spawned(&env, &["--idle", "1m", "--ttl", "3s"], Stdio::null());
    let mut stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(30) {
        let _ = writeln!(stdin, "no-such-pc");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(child.wait().unwrap().success());
    let end = last_reason(&env);
    assert!(
        end.ends_with("end: 0 reveals (time to live reached)"),
        "{end}"
    );
}

/// A limit past 24 hours, no reason, or a bad duration: usage errors
/// before any share is read.
#[test]
fn session_limits_are_checked_before_any_share_is_read() {
    let env = Env::new();
    fleet(&env);
    for (extra, says) in [
        (vec!["--ttl", "25h"], "at most 24h"),
        (vec!["--idle", "soon"], "give a duration"),
    ] {
        let out = session(&env, &extra).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
    let out = Command::new(BIN)
        .current_dir(env.dir.path())
        .args([
            "session",
            "v.bg",
            "--share",
            "shares/alice.share",
            "--reason",
            " ",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reason"));
}

/// A new version deposited while the session runs is the one shown next:
/// never an older secret as current.
#[test]
fn a_version_deposited_during_the_session_is_the_one_shown() {
    deposited_during_the_session(fleet);
}

/// The same, the session keeping the whole vault in memory (no index).
#[test]
fn a_version_deposited_during_an_unindexed_session_is_the_one_shown() {
    deposited_during_the_session(fleet_unindexed);
}

fn deposited_during_the_session(fleet: fn(&Env)) {
    let env = Env::new();
    fleet(&env);
    let mut child = spawned(&env, &[], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |stdin: &mut std::process::ChildStdin, lookup: &str| {
        writeln!(stdin, "{lookup}").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    let first = ask(&mut stdin, "10100000");
    assert_eq!(first["version"], 1);
    // With its date: what tells the reader an older version is shown.
    assert!(
        first["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    assert_eq!(first["secret"], recovery_password(10).as_str());
    env.run(
        &[
            "seal",
            "v.bg",
            "--label",
            "bl-10",
            "--kind",
            "recovery-key",
            "--device",
            "PC-10",
            "--key-id",
            "10100000",
        ],
        recovery_password(99),
    )
    .success();
    let second = ask(&mut stdin, "10100000");
    assert_eq!(second["version"], 2, "{second}");
    assert_eq!(second["secret"], recovery_password(99).as_str());
    // A device deposited during the session is found, and a lookup that
    // now matches two entries is ambiguous, not the older one revealed
    // (red-team round 2: the session answered from the vault it loaded).
    assert_eq!(ask(&mut stdin, "PC-NEW")["status"], "not_found");
    env.run(
        &["seal", "v.bg", "--label", "new-pc", "--device", "PC-NEW"],
        "new-secret",
    )
    .success();
    let found = ask(&mut stdin, "pc-new");
    assert_eq!(found["secret"], "new-secret", "{found}");
    env.run(
        &["seal", "v.bg", "--label", "pc-10-note", "--device", "PC-10"],
        "note",
    )
    .success();
    let both = ask(&mut stdin, "PC-10");
    assert_eq!(both["status"], "ambiguous", "{both}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    // One reveal record for each secret shown, and no other.
    let reveals = audit(&env)
        .iter()
        .filter(|e| e["reason"].as_str().is_some_and(|r| r.contains(" reveal ")))
        .count();
    assert_eq!(reveals, 3);
}

/// A lookup line of 2 MiB is refused unread (the session ends with its end
/// record), not held: stdin lines are at most 1 MiB.
#[test]
fn an_endless_lookup_line_ends_the_session_without_holding_it() {
    let env = Env::new();
    fleet(&env);
    let mut child = session(&env, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&vec![b'a'; 2 << 20]);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a line longer than 1024 KiB"), "{stderr}");
    assert!(last_reason(&env).ends_with("end: 0 reveals (end of input)"));
}

/// A session killed (SIGKILL) right after showing a secret loses no
/// record of it: the reveal was synced before the secret was printed. It
/// has no end record, which the audit trail shows.
#[test]
fn a_killed_session_keeps_the_record_of_every_secret_it_showed() {
    let env = Env::new();
    fleet(&env);
    let mut child = spawned(&env, &[], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "fv-11").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["secret"], "fv-secret-11");
    child.kill().unwrap();
    child.wait().unwrap();
    let events = audit(&env);
    let last = events.last().unwrap();
    assert_eq!(last["record"], answer["record"]);
    assert_eq!(last["entries"][0]["label"], "fv-11");
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .contains(" reveal 1: 'fv-11'"));
    // Within its time to live it reads as still open; `audit --verify`
    // and `status` say it has no end record.
    let out = env.run(&["audit", "v.bg", "--verify"], "").success();
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("has no end record: it is still open; its 1 reveal records are in the trail"),
        "{err}"
    );
    // After it (an hour later than the 8 h default), as killed.
    let later = vault_core::vault::Vault::replay(
        &vault_core::log::parse(&std::fs::read(env.path("v.bg")).unwrap()).unwrap(),
    )
    .unwrap();
    let s = &later.sessions()[0];
    assert_eq!((s.reveals, s.ended.is_none()), (1, true));
    assert!(s.interrupted(s.started + 9 * 3600));
    let at = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", s.started + 9 * 3600),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    let at = String::from_utf8(at.stdout).unwrap().trim().to_owned();
    let status = crate::util::stdout(&env.run(&["status", "v.bg", "--at", &at], ""));
    assert!(
        status.contains("1 secret shown — no end record: killed or interrupted"),
        "{status}"
    );
}

/// Ctrl-C (SIGINT) or SIGTERM ends a session with its end record: the
/// signal is read between lookups, the record says "interrupted", and the
/// session is listed as ended by `status` (issue 19). A version 2 session
/// drops the master key once the quorum's keys are derived.
#[test]
fn ctrl_c_ends_a_session_with_its_end_record() {
    let env = Env::new();
    fleet(&env);
    for signal in ["INT", "TERM"] {
        let mut child = session(&env, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        writeln!(stdin, "fv-11").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("fv-secret-11"), "{line}");
        let kill = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "SIG{signal}: {err}");
        assert!(err.contains("The master key was dropped"), "{err}");
        assert!(
            err.contains("ended (interrupted): 1 secrets shown"),
            "{err}"
        );
        let end = last_reason(&env);
        assert!(
            end.ends_with("end: 1 reveals (interrupted)"),
            "SIG{signal}: {end}"
        );
        drop(stdin);
    }
    let s = crate::util::json(&env.run(&["status", "v.bg", "--json"], ""));
    let sessions = s["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{s}");
    assert!(sessions
        .iter()
        .all(|x| x["how"].as_str().unwrap().contains("(interrupted)")));
}

/// With a current index the session never reads the whole vault
/// (FORMAT.md §12, §13): a damaged deposit it does not need leaves its
/// lookups by key ID, serial, device and label answered, while a whole
/// read names the damage.
#[test]
fn a_session_reads_through_the_index_only_what_each_lookup_needs() {
    let env = Env::new();
    fleet(&env);
    let path = env.path("v.bg");
    let mut bytes = std::fs::read(&path).unwrap();
    let frames = vault_core::log::parse(&bytes).unwrap().frames;
    // Record 4 is fv-11's deposit (records 2.. are bl-10, fv-10, bl-11, …).
    bytes[frames[4].offset as usize + vault_core::log::FRAME_HEAD + 3] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let mut child = spawned(&env, &[], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"12120000\nC0213\nfv-14\nPC-15\nfv-11\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let answers: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let labels: Vec<&str> = answers
        .iter()
        .map(|a| a["label"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        labels[..4],
        ["bl-12", "fv-13", "fv-14", "bl-15"],
        "{answers:?}"
    );
    // The damaged one: read through the index, it cannot be; the whole
    // replay it falls back to names the damage, and the session ends
    // showing nothing more.
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert!(!out.status.success());
    env.run(&["list", "v.bg"], "")
        .code(4)
        .stderr(predicates::str::contains("record #5"));
}
