//! The time an age plugin may take: age itself waits for a plugin for
//! ever, so plugin work (sealing one share, opening one share) runs on a
//! worker thread and the command waits for it at most
//! `BREAKGLASS_PLUGIN_TIMEOUT` seconds (default [`DEFAULT_SECS`]: a
//! YubiKey waits for a touch). Time the user spends answering the
//! plugin's questions at the terminal (a PIN, a confirmation) is not
//! counted. On timeout the command fails naming the plugin; the worker is
//! abandoned and nothing it would have produced is written. An abandoned
//! worker is cut off: each run has a generation, and a worker whose run
//! timed out can no longer ask the user anything, stop the next run's
//! clock or rename the plugin at work (red team: a plugin that answered
//! late could otherwise read the PIN typed for the next share). See
//! docs/HARDENING.md.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The run under way; bumped by each run and by each timeout.
static GENERATION: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The run a worker thread belongs to (0: not a worker).
    static MINE: Cell<u64> = const { Cell::new(0) };
}

/// False on a worker thread whose run has timed out or been replaced: it
/// must not ask, pause a clock or name itself.
pub fn current() -> bool {
    MINE.with(|m| m.get() == 0 || m.get() == GENERATION.load(Ordering::SeqCst))
}

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
    if !current() {
        return;
    }
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
    if !current() {
        return;
    }
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
    run_within(limit()?, plugin, context, work)
}

/// [`run`] with the limit given.
fn run_within<T: Send + 'static>(
    limit: Duration,
    plugin: &str,
    context: &str,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
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
            MINE.with(|m| m.set(generation));
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
                // The worker is abandoned: cut it off before anything else.
                GENERATION.fetch_add(1, Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_timed_out_can_no_longer_ask_or_stop_the_clock() {
        let (told, heard) = mpsc::channel();
        let late = run_within(
            Duration::from_millis(200),
            "age-plugin-late",
            "",
            move || {
                std::thread::sleep(Duration::from_millis(700));
                // What a late plugin's callbacks would do.
                let _ = told.send(current());
                prompting(true);
                working("age-plugin-late");
                Ok(())
            },
        );
        assert!(late
            .unwrap_err()
            .contains("age-plugin-late did not answer within"));
        // The late worker starts a prompt (never ended) about 0.4 s into the
        // next run and names itself: the next run still times out on its
        // own clock, under its own name.
        let next = run_within(Duration::from_millis(800), "age-plugin-next", "", || {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        });
        let why = next.unwrap_err();
        assert!(why.contains("age-plugin-next did not answer"), "{why}");
        assert_eq!(heard.recv_timeout(Duration::from_secs(5)), Ok(false));
    }
}
