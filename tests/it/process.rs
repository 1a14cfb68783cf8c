//! The running process: no core dumps, memory locked (where the OS
//! allows), and no secret in its arguments or environment. Inspected from
//! outside through /proc while the process waits for a passphrase.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{passphrase, Env};

fn proc_file(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap_or_default()
}

fn field_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(target_os = "linux")]
#[test]
fn a_process_holding_a_share_cannot_dump_core_and_is_locked() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    let mut child = env
        .command(&["verify-share", "v.bg", "--share", "shares/bob.share"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until it has set itself up and sits waiting for the passphrase.
    let start = Instant::now();
    let status = loop {
        let status = proc_file(pid, "status");
        let waiting = proc_file(pid, "wchan").contains("read") || status.contains("State:\tS");
        if waiting && field_kb(&status, "VmRSS:") > 0 {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "process never waited for input"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let limits = proc_file(pid, "limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(
        core.split_whitespace().filter(|w| *w == "0").count() >= 2,
        "core dumps allowed: {core}"
    );
    let root = proc_file(pid, "status")
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if root {
        assert!(
            field_kb(&status, "VmLck:") > 0,
            "memory not locked although running as root:\n{status}"
        );
    }
    let cmdline = proc_file(pid, "cmdline");
    let environ = proc_file(pid, "environ");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", passphrase("bob")).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for place in [&cmdline, &environ] {
        assert!(!place.contains(&passphrase("bob")));
    }
    if !root {
        assert!(String::from_utf8_lossy(&out.stderr).contains("memory is not locked"));
    }
}
