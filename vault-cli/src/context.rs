//! What every command needs from its surroundings: the time, who is
//! acting, and how to print times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `user@host`, self-asserted, for the audit trail.
pub fn actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    // Windows names the user and the machine in its own variables.
    #[cfg(windows)]
    let user = user.or_else(|_| std::env::var("USERNAME"));
    let user = user.unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"));
    #[cfg(windows)]
    let host = host.or_else(|_| std::env::var("COMPUTERNAME"));
    let host = host.map(|h| h.trim().to_owned()).unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

/// The last second humantime can print (9999-12-31T23:59:59Z).
const MAX_PRINTABLE: u64 = 253_402_300_799;

/// RFC 3339 UTC, to the second. Times come from the vault file, which is
/// untrusted: one beyond year 9999 is shown as such, never a panic.
pub fn rfc3339(secs: u64) -> String {
    match UNIX_EPOCH.checked_add(Duration::from_secs(secs)) {
        Some(t) if secs <= MAX_PRINTABLE => humantime::format_rfc3339_seconds(t).to_string(),
        _ => format!("(invalid time {secs})"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            super::rfc3339(u64::MAX),
            format!("(invalid time {})", u64::MAX)
        );
        assert_eq!(super::rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }
}
