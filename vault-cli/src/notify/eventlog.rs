#![cfg_attr(not(windows), allow(dead_code))]
//! The Windows Event Log: each event is written to the Application log,
//! source `breakglass`, by Windows' own `eventcreate.exe` (no new
//! dependency, no unsafe code). The event's JSON is the description; the
//! type follows the syslog severity (error, warning, information) and the
//! event ID names the event (see [`event_id`]).
//!
//! Tested: the arguments are built and checked on every platform (unit
//! test below); the crate is type-checked for `x86_64-pc-windows-gnu`.
//! Not tested: a run on Windows (no Windows machine in CI). Creating the
//! source `breakglass` the first time needs an administrator
//! (docs/MONITORING.md).

use serde_json::Value;

/// Event IDs (eventcreate accepts 1 to 1000).
pub fn event_id(event: &str) -> u16 {
    match event {
        "init" => 100,
        "deposit" => 101,
        "rotate" => 102,
        "unseal" => 110,
        "drill" => 120,
        "share-verified" => 130,
        "rekey" => 140,
        _ => 199,
    }
}

/// The arguments of `eventcreate` for one event.
pub fn args(event: &str) -> Vec<String> {
    let e: Value = serde_json::from_str(event).unwrap_or(Value::Null);
    let kind = match super::syslog::severity(&e) {
        0..=3 => "ERROR",
        4 => "WARNING",
        _ => "INFORMATION",
    };
    [
        "/L",
        "APPLICATION",
        "/T",
        kind,
        "/SO",
        "breakglass",
        "/ID",
        &event_id(e["event"].as_str().unwrap_or("")).to_string(),
        "/D",
        event,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes every event, each within what is left of `timeout`.
#[cfg(windows)]
pub fn send(events: &[String], timeout: std::time::Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + timeout;
    for e in events {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut argv = vec!["eventcreate".to_owned()];
        argv.extend(args(e));
        super::hook::run(&argv, &[], left)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn eventcreate_arguments() {
        let e = r#"{"event":"unseal","record":3}"#;
        let a = super::args(e);
        assert_eq!(
            a,
            [
                "/L",
                "APPLICATION",
                "/T",
                "WARNING",
                "/SO",
                "breakglass",
                "/ID",
                "110",
                "/D",
                e
            ]
        );
        let failed = r#"{"event":"drill","kind":"drill","versions_failed":2}"#;
        assert_eq!(super::args(failed)[3], "ERROR");
    }
}
