//! Monitoring (issue 17) on the real binary: every record a command writes
//! leaves the machine as the very event `audit --json` prints; syslog and
//! `--notify` reach real receivers the tests start (loopback UDP and TCP, a
//! unix datagram socket standing in for /dev/log); a receiver that is down
//! or a hook that hangs never fails or blocks an unseal, and what was not
//! delivered waits in the outbox for the next command. The Sigma rules are
//! converted and run for real (pySigma, SQLite) over generated streams.
//!
//! The Python tests need target/sigma-venv (scripts/test.sh makes it from
//! monitoring/requirements.txt). Without it they are skipped by name, unless
//! CI=true or BREAKGLASS_REQUIRE_SIGMA=1, when they fail.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{skip, stdout, Env, BIN};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `breakglass ARGS` in `env` with no user config (isolated from the
/// machine's), stdin `input`.
fn bg(env: &Env, args: &[&str], input: &str) -> assert_cmd::assert::Assert {
    assert_cmd::Command::new(BIN)
        .current_dir(env.dir.path())
        .env("BREAKGLASS_CONFIG_DIR", env.path("no-config"))
        .args(args)
        .write_stdin(input.as_bytes().to_vec())
        .assert()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn audit(env: &Env) -> Vec<Value> {
    lines(&stdout(
        &bg(env, &["audit", "v.bg", "--json"], "").success(),
    ))
}

fn plain_vault(env: &Env, extra: &[&str]) {
    let mut args = vec!["init", "v.bg", "--name", "SOC test", "--threshold", "2"];
    for n in ["alice", "bob", "carol"] {
        args.extend(["--custodian", n]);
    }
    args.extend(["--share-dir", "shares", "--no-passphrase"]);
    args.extend(crate::util::FLOOR);
    args.extend(extra);
    bg(env, &args, "").success();
}

const TWO: [&str; 4] = [
    "--share",
    "shares/alice.share",
    "--share",
    "shares/bob.share",
];

#[test]
fn every_record_writing_command_hands_out_its_audit_event() {
    let env = Env::new();
    let ev = env.path("events.jsonl");
    let hook = format!("tee -a {}", ev.display());
    let n = ["--notify", hook.as_str()];
    plain_vault(&env, &n);
    let seal = |args: &[&str], input: &str| {
        let mut a = args.to_vec();
        a.extend(n);
        bg(&env, &a, input).success();
    };
    seal(&["seal", "v.bg", "--label", "bg1@contoso.com"], "pw-1");
    seal(&["rotate", "v.bg", "bg1@contoso.com", "--generate"], "");
    let laps = root().join("fixtures/import/laps.csv");
    let laps = laps.to_str().unwrap();
    seal(&["import", "v.bg", "--from", laps, "--format", "laps"], "");
    // A token sealed without the vault file, ingested.
    let to = stdout(&bg(&env, &["recipient", "v.bg"], "").success());
    bg(
        &env,
        &[
            "seal",
            "--to",
            to.trim(),
            "--label",
            "laps-pc9",
            "--out",
            "t.tokens",
        ],
        "pw-9",
    )
    .success();
    seal(&["ingest", "v.bg", "t.tokens"], "");
    seal(
        &["verify-share", "v.bg", "--share", "shares/carol.share"],
        "",
    );
    let mut unseal = vec![
        "unseal",
        "v.bg",
        "--entry",
        "bg1@contoso.com",
        "--reason",
        "INC-1",
    ];
    unseal.extend(TWO);
    seal(&unseal, "");
    let mut drill = vec![
        "drill",
        "v.bg",
        "--kind",
        "emergency",
        "--reason",
        "INC-1 review",
    ];
    drill.extend(TWO);
    seal(&drill, "");
    // A remote unseal: a request, two contributions, the unseal.
    bg(
        &env,
        &["request", "v.bg", "--out", "req.txt", "--reason", "INC-2"],
        "",
    )
    .success();
    for who in ["alice", "bob"] {
        let share = format!("shares/{who}.share");
        let out = format!("{who}.contribution");
        bg(
            &env,
            &[
                "contribute",
                "req.txt",
                "--share",
                &share,
                "--out",
                &out,
                "--yes",
            ],
            "",
        )
        .success();
    }
    seal(
        &[
            "unseal",
            "v.bg",
            "--request",
            "req.txt",
            "--contribution",
            "alice.contribution",
            "--contribution",
            "bob.contribution",
            "--entry",
            "bg1@contoso.com",
        ],
        "",
    );
    // A recovery session: its start, one reveal and its end, each handed
    // out as it is written.
    let mut session = vec!["session", "v.bg", "--reason", "INC-3", "--allow-unlocked"];
    session.extend(TWO);
    seal(&session, "bg1@contoso.com\n");
    // Every record, delivered once, byte for byte the line audit prints.
    let delivered = std::fs::read_to_string(&ev).unwrap();
    let printed = stdout(&bg(&env, &["audit", "v.bg", "--json"], "").success());
    assert_eq!(delivered, printed);
    let kinds: Vec<String> = lines(&delivered)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    for k in [
        "init",
        "deposit",
        "rotate",
        "share-verified",
        "unseal",
        "drill",
    ] {
        assert!(kinds.contains(&k.to_owned()), "no {k} event in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "unseal").count(), 2 + 3);
    // A rekey hands out its new records, not the ones it carried over.
    let before = delivered.lines().count();
    let mut rekey = vec![
        "rekey",
        "v.bg",
        "--threshold",
        "2",
        "--custodian",
        "dan",
        "--custodian",
        "eve",
        "--share-dir",
        "new",
        "--no-passphrase",
    ];
    rekey.extend(TWO);
    seal(&rekey, "");
    let delivered = std::fs::read_to_string(&ev).unwrap();
    let new: Vec<Value> = lines(&delivered).split_off(before);
    let fresh: Vec<Value> = audit(&env)
        .into_iter()
        .filter(|e| e.get("before_rekey").is_none())
        .collect();
    assert_eq!(new, fresh);
    assert!(new.iter().any(|e| e["event"] == "rekey"), "{new:?}");
    // Restore writes no record: nothing to hand out (docs/MONITORING.md).
}

/// A UDP, a TCP and a unix datagram receiver, on loopback / a temp path.
struct Receivers {
    udp: UdpSocket,
    tcp: TcpListener,
    #[cfg(unix)]
    unix: std::os::unix::net::UnixDatagram,
    unix_path: PathBuf,
}

impl Receivers {
    fn start(env: &Env) -> Self {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let unix_path = env.path("log.sock");
        Self {
            udp,
            tcp: TcpListener::bind("127.0.0.1:0").unwrap(),
            #[cfg(unix)]
            unix: {
                let s = std::os::unix::net::UnixDatagram::bind(&unix_path).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s
            },
            unix_path,
        }
    }
    fn flags(&self) -> Vec<String> {
        vec![
            "--syslog".into(),
            format!("udp://{}", self.udp.local_addr().unwrap()),
            "--syslog".into(),
            format!("tcp://{}", self.tcp.local_addr().unwrap()),
            "--syslog".into(),
            format!("unix:{}", self.unix_path.display()),
        ]
    }
}

/// Reads one RFC 6587 octet-counted message.
fn framed(r: &mut impl BufRead) -> String {
    let mut len = Vec::new();
    r.read_until(b' ', &mut len).unwrap();
    let n: usize = String::from_utf8(len).unwrap().trim().parse().unwrap();
    let mut msg = vec![0; n];
    r.read_exact(&mut msg).unwrap();
    String::from_utf8(msg).unwrap()
}

/// Checks an RFC 5424 message and returns its JSON event.
fn rfc5424(m: &str, severity: u8) -> Value {
    let pri = format!("<{}>1 ", 4 * 8 + severity);
    assert!(m.starts_with(&pri), "{m}");
    let f: Vec<&str> = m.splitn(7, ' ').collect();
    assert_eq!(f[3], "breakglass", "APP-NAME in {m}");
    assert!(f[6].starts_with("[breakglass@32473 "), "SD in {m}");
    let json = &m[m.find("] {").unwrap() + 2..];
    let e: Value = serde_json::from_str(json).unwrap();
    assert_eq!(f[5], e["event"], "MSGID in {m}");
    e
}

#[cfg(unix)]
#[test]
fn syslog_reaches_udp_tcp_and_local_socket_receivers() {
    let env = Env::new();
    plain_vault(&env, &[]);
    let r = Receivers::start(&env);
    let flags = r.flags();
    let mut args = vec!["seal", "v.bg", "--label", "bg1@contoso.com"];
    args.extend(flags.iter().map(String::as_str));
    bg(&env, &args, "pw").success();
    let mut args = vec!["unseal", "v.bg", "--all", "--reason", "INC-7"];
    args.extend(TWO);
    args.extend(flags.iter().map(String::as_str));
    bg(&env, &args, "").success();
    let trail = audit(&env);
    let (mut buf, mut got) = (vec![0u8; 65536], Vec::new());
    for _ in 0..2 {
        let n = r.udp.recv(&mut buf).unwrap();
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    let (conn1, _) = r.tcp.accept().unwrap();
    got.push(framed(&mut BufReader::new(conn1)));
    let (conn2, _) = r.tcp.accept().unwrap();
    got.push(framed(&mut BufReader::new(conn2)));
    for _ in 0..2 {
        let n = r.unix.recv(&mut buf).unwrap();
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    // udp, tcp, unix: the deposit (info) then the unseal (warning).
    for pair in got.chunks(2) {
        assert_eq!(rfc5424(&pair[0], 6), trail[1]);
        assert_eq!(rfc5424(&pair[1], 4), trail[2]);
    }
}

/// A loopback TCP port nobody listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(unix)]
#[test]
fn down_receivers_never_fail_an_unseal_and_the_next_command_delivers() {
    let env = Env::new();
    plain_vault(&env, &[]);
    bg(
        &env,
        &["seal", "v.bg", "--label", "bg1@contoso.com"],
        "pw-1",
    )
    .success();
    let port = closed_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let sock = env.path("nobody.sock");
    let unix = format!("unix:{}", sock.display());
    let mut args = vec![
        "unseal", "v.bg", "--all", "--reason", "INC-8", "--syslog", &tcp, "--syslog", &unix,
    ];
    args.extend(TWO);
    let out = bg(&env, &args, "").success();
    assert!(stdout(&out).contains("pw-1"), "the secret is shown");
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("not delivered to syslog tcp://"), "{err}");
    assert!(err.contains("kept in v.bg.outbox"), "{err}");
    let outbox = env.read("v.bg.outbox");
    assert_eq!(outbox.lines().count(), 2, "{outbox}");
    // status says where events go and what waits.
    let s: Value = serde_json::from_slice(
        &bg(&env, &["status", "v.bg", "--json", "--syslog", &tcp], "")
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(s["monitoring"]["sinks"][0]["sink"], format!("syslog {tcp}"));
    assert_eq!(s["monitoring"]["outbox"].as_array().unwrap().len(), 2);
    // The receiver comes up; the next command (a deposit) sends the unseal
    // first, then its own event; the outbox keeps only the unix sink's.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let receiver = std::thread::spawn(move || {
        let (c, _) = listener.accept().unwrap();
        let mut r = BufReader::new(c);
        (framed(&mut r), framed(&mut r))
    });
    bg(
        &env,
        &["seal", "v.bg", "--label", "other", "--syslog", &tcp],
        "pw-2",
    )
    .success();
    let (first, second) = receiver.join().unwrap();
    let trail = audit(&env);
    assert_eq!(rfc5424(&first, 4), trail[2]);
    assert_eq!(rfc5424(&second, 6), trail[3]);
    let outbox = env.read("v.bg.outbox");
    assert_eq!(outbox.lines().count(), 1, "{outbox}");
    assert!(outbox.starts_with(&format!("syslog {unix}\t")), "{outbox}");
}

/// Unseals with `--notify "sleep 600"` (a hook that hangs) and a TCP
/// receiver that accepts and never reads; returns the time taken.
fn unseal_with_hanging_hook(timeout: Option<&str>) -> Duration {
    let env = Env::new();
    plain_vault(&env, &[]);
    bg(
        &env,
        &["seal", "v.bg", "--label", "bg1@contoso.com"],
        "pw-1",
    )
    .success();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = format!("tcp://{}", silent.local_addr().unwrap());
    let mut args = vec![
        "unseal",
        "v.bg",
        "--all",
        "--reason",
        "INC-9",
        "--notify",
        "sleep 600",
        "--syslog",
        &tcp,
    ];
    if let Some(t) = timeout {
        args.extend(["--notify-timeout", t]);
    }
    args.extend(TWO);
    let started = Instant::now();
    let out = bg(&env, &args, "").success();
    let took = started.elapsed();
    assert!(stdout(&out).contains("pw-1"));
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("did not finish within"), "{err}");
    // The hung hook's event waits in the outbox; the record is in the file.
    assert!(env.read("v.bg.outbox").starts_with("notify sleep 600\t"));
    assert_eq!(audit(&env)[2]["event"], "unseal");
    drop(silent);
    took
}

#[test]
fn a_hanging_hook_delays_an_unseal_by_its_timeout_at_most() {
    let took = unseal_with_hanging_hook(Some("1"));
    eprintln!(
        "unseal with a hanging notify hook, --notify-timeout 1: {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    let took = unseal_with_hanging_hook(None);
    eprintln!(
        "unseal with a hanging notify hook, default timeout (5 s): {} ms",
        took.as_millis()
    );
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_vault_side_config_adds_destinations_but_runs_commands_only_when_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    plain_vault(&env, &[]);
    let ev = env.path("events.jsonl");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    env.write(
        "v.bg.monitoring",
        format!(
            "# per-vault defaults\nnotify = tee -a {}\nsyslog = udp://{}\nnotify_timeout = 2\nbogus = 1\n",
            ev.display(),
            udp.local_addr().unwrap()
        ),
    );
    let conf = env.path("v.bg.monitoring");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = bg(&env, &["seal", "v.bg", "--label", "a"], "pw").success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("line 2: notify commands in a file others can change are not run"),
        "{err}"
    );
    assert!(err.contains("line 5: unknown setting 'bogus'"), "{err}");
    assert!(!ev.exists(), "the hook of a world-writable file ran");
    let mut buf = [0u8; 8192];
    let n = udp.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("\"event\":\"deposit\""));
    let status = stdout(&bg(&env, &["status", "v.bg"], "").code(predicates::ord::ge(0)));
    assert!(status.contains("Events:      to syslog udp://"), "{status}");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    bg(&env, &["seal", "v.bg", "--label", "b"], "pw").success();
    assert_eq!(
        lines(&std::fs::read_to_string(&ev).unwrap())[0]["entries"][0]["label"],
        "b"
    );
}

// ------------------------------------------------------------ Sigma

/// The venv's python, or None (the test is skipped) — a failure when CI=true
/// or BREAKGLASS_REQUIRE_SIGMA=1.
fn sigma_python(test: &str) -> Option<PathBuf> {
    let py = std::env::var_os("BREAKGLASS_SIGMA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/sigma-venv/bin/python"));
    let works = std::process::Command::new(&py)
        .args([
            "-c",
            "import sigma.backends.sqlite, sigma.backends.kusto, sigma.backends.splunk",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(py);
    }
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("BREAKGLASS_REQUIRE_SIGMA").is_some_and(|v| v == "1");
    assert!(
        !required,
        "{test}: no pySigma at {} and CI=true or BREAKGLASS_REQUIRE_SIGMA=1 (scripts/test.sh installs it)",
        py.display()
    );
    skip(test, "no pySigma venv (scripts/test.sh makes target/sigma-venv from monitoring/requirements.txt)");
    None
}

fn python(py: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(py)
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sigma_rules_convert_and_the_checked_in_queries_are_current() {
    let Some(py) =
        sigma_python("monitoring::sigma_rules_convert_and_the_checked_in_queries_are_current")
    else {
        return;
    };
    python(&py, &["monitoring/tests/convert.py", "--check"]);
    // And through the sigma-cli front end too, as the docs show it.
    let cli = py.with_file_name("sigma");
    for (target, pipeline) in [("kusto", "sentinel"), ("splunk", "splunk")] {
        let out = std::process::Command::new(&cli)
            .current_dir(root().join("monitoring"))
            .args([
                "convert",
                "-t",
                target,
                "-p",
                &format!("pipelines/{pipeline}.yml"),
                "sigma/",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.matches("event").count() >= 5, "{text}");
    }
}

/// Runs a stream with `--notify` collecting its events, tagging each line
/// `STREAM#RECORD:EVENT` for the evaluator.
struct Stream {
    env: Env,
    name: &'static str,
}

impl Stream {
    fn new(name: &'static str) -> Self {
        let s = Self {
            env: Env::new(),
            name,
        };
        plain_vault(&s.env, &s.notify());
        s
    }
    fn hook(&self) -> String {
        format!("tee -a {}", self.env.path("events.jsonl").display())
    }
    fn notify(&self) -> Vec<&'static str> {
        vec!["--notify", Box::leak(self.hook().into_boxed_str())]
    }
    fn run(&self, args: &[&str], input: &str) -> assert_cmd::assert::Assert {
        let mut a = args.to_vec();
        a.extend(self.notify());
        bg(&self.env, &a, input)
    }
    fn quorum(&self, args: &[&str]) {
        let mut a = args.to_vec();
        a.extend(TWO);
        self.run(&a, "").success();
    }
    fn tagged(&self) -> Vec<Value> {
        lines(&self.env.read("events.jsonl"))
            .into_iter()
            .map(|mut e| {
                let id = format!(
                    "{}#{}:{}",
                    self.name,
                    e["record"],
                    e["event"].as_str().unwrap()
                );
                e["_id"] = id.into();
                e
            })
            .collect()
    }
    fn status_at(&self, at: &str) -> Value {
        let out = bg(&self.env, &["status", "v.bg", "--json", "--at", at], "");
        let mut s: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        s["_id"] = format!("{}#status@{at}", self.name).into();
        s
    }
}

#[test]
fn sigma_rules_fire_on_exactly_these_events() {
    let test = "monitoring::sigma_rules_fire_on_exactly_these_events";
    let Some(py) = sigma_python(test) else {
        return;
    };
    let label = "Entra bg1@contoso.onmicrosoft.com";
    // A quarterly cycle: share checks, a declared drill (unseal, sign-in
    // test, drill record), then the password rotated.
    let q = Stream::new("quarterly");
    q.run(&["seal", "v.bg", "--label", label], "pw-1").success();
    q.run(
        &["verify-share", "v.bg", "--share", "shares/carol.share"],
        "",
    )
    .success();
    q.quorum(&[
        "unseal",
        "v.bg",
        "--all",
        "--reason",
        "drill: Q4 sign-in test CHG-1",
    ]);
    q.quorum(&["drill", "v.bg", "--kind", "drill", "--reason", "Q4"]);
    q.run(&["rotate", "v.bg", label, "--generate"], "")
        .success();
    // An emergency: unseal with an incident, reviewed as an emergency.
    let e = Stream::new("emergency");
    e.run(&["seal", "v.bg", "--label", label], "pw-1").success();
    e.quorum(&["unseal", "v.bg", "--all", "--reason", "INC-4711 IdP outage"]);
    e.quorum(&[
        "drill",
        "v.bg",
        "--kind",
        "emergency",
        "--reason",
        "INC-4711 review",
    ]);
    // A misuse: unseal with no reason, reviewed as misuse, never rotated.
    let m = Stream::new("misuse");
    m.run(&["seal", "v.bg", "--label", label], "pw-1").success();
    m.quorum(&["unseal", "v.bg", "--all"]);
    m.quorum(&[
        "drill",
        "v.bg",
        "--kind",
        "misuse",
        "--reason",
        "not authorised",
    ]);
    // A rollback: the file is put back to an older copy and written again.
    let r = Stream::new("rollback");
    r.run(&["seal", "v.bg", "--label", label], "pw-1").success();
    std::fs::copy(r.env.path("v.bg"), r.env.path("old.bg")).unwrap();
    r.quorum(&["unseal", "v.bg", "--all", "--reason", "drill: rehearsal"]);
    std::fs::copy(r.env.path("old.bg"), r.env.path("v.bg")).unwrap();
    std::fs::remove_file(r.env.path("v.bg.index")).ok();
    std::thread::sleep(Duration::from_millis(1100)); // a later second
    r.run(&["seal", "v.bg", "--label", "other"], "pw-2")
        .success();

    let mut events: Vec<Value> = [&q, &e, &m, &r].iter().flat_map(|s| s.tagged()).collect();
    // A failed drill cannot be made on an intact vault: the quarterly
    // drill's event, with one version that did not decrypt.
    let mut failed = q
        .tagged()
        .into_iter()
        .find(|x| x["event"] == "drill")
        .unwrap();
    failed["versions_failed"] = 1.into();
    failed["_id"] = "synthetic#failed-drill".into();
    failed["receipt"] = Value::Null;
    events.push(failed);
    // Readiness reports two days later: the misuse's entry is exposed
    // past its window (24 h); the quarterly's was rotated.
    let later = "2030-01-01T00:00:00Z";
    events.push(q.status_at(later));
    events.push(m.status_at(later));
    let file = q.env.path("all.jsonl");
    std::fs::write(
        &file,
        events.iter().map(|e| format!("{e}\n")).collect::<String>(),
    )
    .unwrap();
    let got: Value = serde_json::from_str(&python(
        &py,
        &["monitoring/tests/evaluate.py", file.to_str().unwrap()],
    ))
    .unwrap();
    let fired = |rule: &str| -> Vec<String> {
        let mut v: Vec<String> = got["rules"][rule]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    eprintln!("rules fired: {}", got["rules"]);
    assert_eq!(
        fired("bg_unseal_any"),
        [
            "emergency#3:unseal",
            "misuse#3:unseal",
            "quarterly#4:unseal",
            "rollback#3:unseal"
        ]
    );
    assert_eq!(
        fired("bg_unseal_outside_drill"),
        ["emergency#3:unseal", "misuse#3:unseal"]
    );
    assert_eq!(fired("bg_unseal_no_reason"), ["misuse#3:unseal"]);
    assert_eq!(
        fired("bg_drill_misuse_or_emergency"),
        ["emergency#4:drill", "misuse#4:drill"]
    );
    assert_eq!(fired("bg_drill_failed"), ["synthetic#failed-drill"]);
    // q's status at 2030 may be overdue for rotation/drill, but no entry
    // is exposed: only the misuse's report fires.
    assert_eq!(
        fired("bg_exposed_overdue"),
        [format!("misuse#status@{later}")]
    );
    // The seal written on the rolled-back file reuses record #3.
    assert_eq!(fired("bg_rollback"), ["rollback#3:deposit"]);
}

#[test]
fn entra_sign_in_with_no_unseal_before_it_alerts() {
    let Some(py) = sigma_python("monitoring::entra_sign_in_with_no_unseal_before_it_alerts") else {
        return;
    };
    let got: Value = serde_json::from_str(&python(
        &py,
        &[
            "monitoring/tests/evaluate.py",
            "monitoring/examples/breakglass_events.jsonl",
            "--signins",
            "monitoring/examples/signin_logs.jsonl",
            "--accounts",
            "bg1@contoso.onmicrosoft.com,bg2@contoso.onmicrosoft.com",
            "--hours",
            "4",
        ],
    ))
    .unwrap();
    // monitoring/examples/expected_alerts.txt says why each one.
    assert_eq!(got["entra"], serde_json::json!(["c-002", "c-003", "c-005"]));
    let expected =
        std::fs::read_to_string(root().join("monitoring/examples/expected_alerts.txt")).unwrap();
    for id in ["c-002", "c-003", "c-005"] {
        assert!(expected.contains(&format!("\n{id} ")), "{id}");
    }
}
