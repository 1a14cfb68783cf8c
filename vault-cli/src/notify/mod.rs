//! Events leave the machine as they happen (issue 17). After a command has
//! written records — durably: delivery starts only once the append or the
//! rename is on disk — their events, built by the same code as `audit
//! --json` (so a delivered event *is* that line, receipt included), go to
//! every configured sink: a `--notify` command, syslog (RFC 5424), and on
//! Windows the Event Log.
//!
//! Delivery never fails a command and is bounded in time: each sink gets
//! `--notify-timeout` (default 5 s). Events are written to the outbox
//! beside the vault *before* delivery and removed once a sink took them,
//! so a receiver that is down, a hook that fails or hangs, or a process
//! killed mid-delivery leaves them there for the next command to retry.
//! docs/MONITORING.md is the user's documentation; SECURITY.md says what
//! this does and does not protect against.

mod config;
mod eventlog;
mod events;
mod hook;
mod outbox;
mod syslog;

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use config::{parse_timeout, Settings, Sink};
pub use events::Since;

use crate::cli::NotifyArgs;

static FLAGS: OnceLock<NotifyArgs> = OnceLock::new();

/// Keeps the monitoring flags given on the command line (global flags,
/// valid with every command).
pub fn set_flags(flags: NotifyArgs) {
    let _ = FLAGS.set(flags);
}

fn flags() -> NotifyArgs {
    FLAGS.get().cloned().unwrap_or_default()
}

/// Where the events of `vault` go: flags, the user's config file and the
/// vault's own (`VAULT.monitoring`), merged (see [`config`]).
pub fn settings(vault: &Path) -> Settings {
    config::settings(&flags(), vault)
}

/// Events pending in the outbox of `vault`, by sink.
pub fn pending(vault: &Path) -> Vec<(String, usize)> {
    outbox::counts(vault)
}

/// Delivers the events of the records `since` names (just written to
/// `vault`), and any left in the outbox by earlier commands. Reports on
/// stderr; never fails, never takes longer than the timeout per sink.
pub fn acknowledge(vault: &Path, since: Since) {
    let settings = settings(vault);
    for w in &settings.warnings {
        crate::commands::warn(w);
    }
    if settings.sinks.is_empty() {
        return;
    }
    let events = match events::collect(vault, since) {
        Ok(e) => e,
        Err(e) => {
            crate::commands::warn(format_args!(
                "the events of this command could not be read back for delivery: {e}; \
                 forward them with: breakglass audit {} --json",
                vault.display()
            ));
            return;
        }
    };
    deliver(vault, &settings, &events);
}

/// Adds `events` for every sink to the outbox (durably), then hands each
/// sink all it has pending, oldest first, and keeps what it did not take.
fn deliver(vault: &Path, settings: &Settings, events: &[String]) {
    let mut outbox = match outbox::Outbox::open(vault, settings.timeout) {
        Ok(o) => Some(o),
        Err(e) => {
            crate::commands::warn(format_args!(
                "{e}: events are delivered but not kept if delivery fails"
            ));
            None
        }
    };
    let ids: Vec<String> = settings.sinks.iter().map(Sink::id).collect();
    if let Some(o) = outbox.as_mut() {
        if let Err(e) = o.add(&ids, events) {
            crate::commands::warn(e);
        }
    }
    for (sink, id) in settings.sinks.iter().zip(&ids) {
        let batch: Vec<String> = match &outbox {
            Some(o) => o.for_sink(id),
            None => events.to_vec(),
        };
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        match send(sink, &batch, settings.timeout) {
            Ok(()) => {
                if let Some(o) = outbox.as_mut() {
                    o.delivered(id);
                }
                eprintln!(
                    "breakglass: {} event{} sent to {id} ({} ms)",
                    batch.len(),
                    if batch.len() == 1 { "" } else { "s" },
                    started.elapsed().as_millis()
                );
            }
            Err(why) => crate::commands::warn(format_args!(
                "{} event{} not delivered to {id}: {why} — {}",
                batch.len(),
                if batch.len() == 1 { "" } else { "s" },
                match &outbox {
                    Some(o) => format!(
                        "kept in {} for the next command to retry",
                        o.path().display()
                    ),
                    None => "not kept".to_owned(),
                }
            )),
        }
    }
    if let Some(o) = outbox {
        if let Err(e) = o.save() {
            crate::commands::warn(e);
        }
    }
}

fn send(sink: &Sink, batch: &[String], timeout: Duration) -> Result<(), String> {
    match sink {
        Sink::Command(argv) => hook::run(argv, batch, timeout),
        Sink::Syslog(dest) => syslog::send(dest, batch, timeout),
        #[cfg(windows)]
        Sink::EventLog => eventlog::send(batch, timeout),
        #[cfg(not(windows))]
        Sink::EventLog => Err("the Windows Event Log exists only on Windows".to_owned()),
    }
}

/// Delivers the event of an operation the vault could not record
/// (read-only media, full disk): it has no record number and no receipt,
/// and carries `"unrecorded": true`. Often the only trace of the use.
pub fn unrecorded(vault: &Path, mut event: serde_json::Value) {
    let settings = settings(vault);
    if settings.sinks.is_empty() {
        return;
    }
    event["unrecorded"] = serde_json::json!(true);
    if event.get("vault_id").is_none() {
        event["vault_path"] = serde_json::json!(vault.display().to_string());
    }
    deliver(vault, &settings, &[event.to_string()]);
}

/// Where events of `vault` go, for `status --json`: every sink with the
/// flag or file it came from, the timeout, and what waits in the outbox.
pub fn describe_json(vault: &Path) -> serde_json::Value {
    let s = settings(vault);
    serde_json::json!({
        "sinks": s.sinks.iter().zip(&s.origins)
            .map(|(k, o)| serde_json::json!({ "sink": k.id(), "from": o }))
            .collect::<Vec<_>>(),
        "timeout_seconds": s.timeout.as_secs_f64(),
        "config_files": s.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "ignored": s.warnings,
        "outbox": pending(vault).iter()
            .map(|(k, n)| serde_json::json!({ "sink": k, "pending": n }))
            .collect::<Vec<_>>(),
    })
}

/// The same for `status`, as lines.
pub fn describe_lines(vault: &Path) -> Vec<String> {
    let s = settings(vault);
    let mut out: Vec<String> = if s.sinks.is_empty() {
        vec!["Events:      not sent anywhere (see docs/MONITORING.md)".to_owned()]
    } else {
        s.sinks
            .iter()
            .zip(&s.origins)
            .map(|(k, o)| format!("Events:      to {} (from {o})", k.id()))
            .collect()
    };
    out.extend(s.warnings.iter().map(|w| format!("Warning:     {w}")));
    out.extend(pending(vault).iter().map(|(k, n)| {
        format!("Events:      {n} waiting in the outbox for {k} (sent by the next command)")
    }));
    out
}
