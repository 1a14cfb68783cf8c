//! `--notify CMD`: the command runs with the events on stdin, one JSON
//! object a line, and nothing else from them: the program and its
//! arguments are the user's words, never event data, and no shell reads
//! them. It gets `timeout`; after that it (and, on Unix, its whole process
//! group) is killed. Its output is discarded, so a child it leaves behind
//! cannot hold our stdout or stderr open.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `argv` with `events` on stdin; Ok when it exits 0 in time.
pub fn run(argv: &[String], events: &[String], timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("BREAKGLASS_EVENTS", events.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", argv[0]))?;
    let mut stdin = child.stdin.take();
    let mut input = String::with_capacity(events.iter().map(|e| e.len() + 1).sum());
    for e in events {
        input.push_str(e);
        input.push('\n');
    }
    // A writer thread: a hook that never reads must not block us on a
    // full pipe. It ends when the hook reads, exits or is killed.
    // Never joined: a grandchild holding the pipe must not hold us either.
    std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(input.as_bytes());
        }
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{} {status}", argv[0])),
            Ok(None) if Instant::now() >= deadline => {
                kill(&mut child);
                return Err(format!(
                    "{} did not finish within {:.1} s and was stopped",
                    argv[0],
                    timeout.as_secs_f64()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill(&mut child);
                return Err(format!("waiting for {}: {e}", argv[0]));
            }
        }
    }
}

fn kill(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
