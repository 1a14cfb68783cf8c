//! The time an age plugin may take: age itself waits for a plugin for
//! ever, so plugin work (sealing one share, opening one share) runs on a
//! worker thread and the command waits for it at most
//! `BREAKGLASS_PLUGIN_TIMEOUT` seconds (default [`DEFAULT_SECS`]: a
//! YubiKey waits for a touch). Time the user spends answering the
//! plugin's questions at the terminal (a PIN, a confirmation) is not
//! counted. On timeout the command fails naming the plugin; the worker is
//! abandoned (the process exits soon after, closing the plugin's pipes)
//! and nothing it would have produced is written. See docs/HARDENING.md.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The plugin's own time per share when `BREAKGLASS_PLUGIN_TIMEOUT` is unset.
pub const DEFAULT_SECS: u64 = 120;
/// The largest timeout accepted (an hour).
pub const MAX_SECS: u64 = 3600;
/// The environment variable that sets the timeout, in whole seconds.
pub const VAR: &str = "BREAKGLASS_PLUGIN_TIMEOUT";

/// The clock of the plugin work under way.
struct Clock {
    started: Instant,
    /// Time spent at prompts that have ended.
    paused: Duration,
    /// When the prompt now shown began.
    prompt: Option<Instant>,
}

static CLOCK: Mutex<Option<Clock>> = Mutex::new(None);
/// The plugin binary at work (when several plugin identities are tried).
static WORKING: Mutex<Option<String>> = Mutex::new(None);

/// Records that `binary` is the plugin now at work.
pub fn working(binary: &str) {
    *WORKING.lock().unwrap_or_else(|e| e.into_inner()) = Some(binary.to_owned());
}

/// The timeout: `BREAKGLASS_PLUGIN_TIMEOUT` seconds (1 to [`MAX_SECS`]),
/// else [`DEFAULT_SECS`].
pub fn limit() -> Result<Duration, String> {
    let Some(raw) = std::env::var_os(VAR) else {
        return Ok(Duration::from_secs(DEFAULT_SECS));
    };
    raw.to_str()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (1..=MAX_SECS).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            format!(
                "{VAR}={}: give a whole number of seconds from 1 to {MAX_SECS}",
                raw.to_string_lossy()
            )
        })
}

/// Marks the start (`true`) or end (`false`) of a question to the user:
/// the time between is not the plugin's.
pub fn prompting(now: bool) {
    let mut clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clock.as_mut() {
        match (now, c.prompt.take()) {
            (true, _) => c.prompt = Some(Instant::now()),
            (false, Some(since)) => c.paused += since.elapsed(),
            (false, None) => {}
        }
    }
}

/// The plugin's own time so far.
fn plugin_time() -> Duration {
    let clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.as_ref().map_or(Duration::ZERO, |c| {
        let asking = c.prompt.map_or(Duration::ZERO, |p| p.elapsed());
        c.started.elapsed().saturating_sub(c.paused + asking)
    })
}

/// Runs `work` on a worker thread and waits for it, at most the timeout of
/// plugin time. `plugin` names the plugin binary (for the message) and
/// `context` starts the message ("share for carol: ", or nothing).
pub fn run<T: Send + 'static>(
    plugin: &str,
    context: &str,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let limit = limit()?;
    *WORKING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    *CLOCK.lock().unwrap_or_else(|e| e.into_inner()) = Some(Clock {
        started: Instant::now(),
        paused: Duration::ZERO,
        prompt: None,
    });
    let (send, receive) = mpsc::channel();
    std::thread::Builder::new()
        .name("age-plugin".into())
        .spawn(move || {
            let _ = send.send(work());
        })
        .map_err(|e| format!("{context}cannot start a thread for {plugin}: {e}"))?;
    loop {
        match receive.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return result,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!("{context}{plugin} stopped unexpectedly"))
            }
            Err(RecvTimeoutError::Timeout) if plugin_time() > limit => {
                let at_work = WORKING.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let plugin = at_work.as_deref().unwrap_or(plugin);
                return Err(format!(
                    "{context}{plugin} did not answer within {} s — is the token plugged in \
                     and was it touched? Set {VAR}=SECONDS for a longer wait",
                    limit.as_secs()
                ));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}
