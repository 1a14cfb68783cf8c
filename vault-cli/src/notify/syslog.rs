//! Syslog, RFC 5424, to the local socket (`local`: /dev/log, or
//! `unix:PATH`), over UDP (RFC 5426: one datagram a message) or TCP
//! (RFC 6587 octet counting). Facility `auth` (4); the severity says how
//! urgent the event is (see [`severity`]). The message is the event's JSON,
//! and the structured data `[breakglass@32473 …]` repeats what a receiver
//! indexes on (32473 is the enterprise number RFC 5612 reserves for
//! examples: breakglass has none of its own).
//!
//! UDP cannot tell a receiver that is down from one that is up: datagrams
//! count as delivered once sent (docs/MONITORING.md). TCP and the local
//! socket report a missing receiver, and the events stay in the outbox.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The largest UDP payload (IPv4).
const MAX_DATAGRAM: usize = 65_507;

/// Facility `auth` (security/authorization messages).
pub const FACILITY: u8 = 4;

/// How urgent an event is: an unseal, and a drill recorded as an emergency
/// or a misuse, are warnings (4); a failed drill is an error (3); a rekey
/// is a notice (5); the rest is informational (6).
pub fn severity(e: &Value) -> u8 {
    match e["event"].as_str().unwrap_or("") {
        "drill" if e["versions_failed"].as_u64().unwrap_or(0) > 0 => 3,
        "drill" if e["kind"] != "drill" => 4,
        "unseal" => 4,
        "rekey" => 5,
        _ => 6,
    }
}

fn sd_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// Printable US-ASCII, at most `max` characters, `-` when empty.
fn header_field(v: &str, max: usize) -> String {
    let f: String = v
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".to_owned()
    } else {
        f
    }
}

fn hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default();
    header_field(h.trim(), 255)
}

/// One event as an RFC 5424 message.
pub fn message(event: &str) -> String {
    let e: Value = serde_json::from_str(event).unwrap_or(Value::Null);
    let pri = FACILITY * 8 + severity(&e);
    let now = crate::context::rfc3339(crate::context::now());
    let sd = format!(
        "[breakglass@32473 event=\"{}\" record=\"{}\" vault_id=\"{}\" receipt=\"{}\"]",
        sd_escape(e["event"].as_str().unwrap_or("")),
        e["record"],
        sd_escape(e["vault_id"].as_str().unwrap_or("")),
        sd_escape(e["receipt"].as_str().unwrap_or("")),
    );
    format!(
        "<{pri}>1 {now} {} breakglass {} {} {sd} {event}",
        hostname(),
        std::process::id(),
        header_field(e["event"].as_str().unwrap_or(""), 32),
    )
}

/// Sends every event to `dest` within `timeout`.
pub fn send(dest: &str, events: &[String], timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let messages: Vec<String> = events.iter().map(|e| message(e)).collect();
    if let Some(hp) = dest.strip_prefix("udp://") {
        let addr = resolve(hp)?;
        let bind = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let s = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
        s.connect(addr).map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        for m in &messages {
            if m.len() > MAX_DATAGRAM {
                // It could never be sent: skipped rather than left to block
                // every later event of this sink in the outbox.
                crate::commands::warn(format_args!(
                    "an event of {} bytes is too large for one UDP datagram: not sent to {dest} \
                     (it is in the vault: audit --json; use tcp:// for such events)",
                    m.len()
                ));
                continue;
            }
            s.send(m.as_bytes()).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if let Some(hp) = dest.strip_prefix("tcp://") {
        let addr = resolve(hp)?;
        let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        for m in &messages {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("timed out".to_owned());
            }
            s.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
            s.write_all(format!("{} {m}", m.len()).as_bytes())
                .map_err(|e| e.to_string())?;
        }
        return s.flush().map_err(|e| e.to_string());
    }
    let path = if dest == "local" {
        "/dev/log"
    } else {
        dest.strip_prefix("unix:").unwrap_or(dest)
    };
    local(path, &messages, timeout)
}

fn resolve(host_port: &str) -> Result<std::net::SocketAddr, String> {
    host_port
        .to_socket_addrs()
        .map_err(|e| format!("{host_port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host_port}: no address"))
}

#[cfg(unix)]
fn local(path: &str, messages: &[String], timeout: Duration) -> Result<(), String> {
    let s = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.connect(path).map_err(|e| format!("{path}: {e}"))?;
    for m in messages {
        s.send(m.as_bytes()).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn local(path: &str, _: &[String], _: Duration) -> Result<(), String> {
    Err(format!(
        "{path}: no local syslog socket on this system (use udp:// or tcp://, or --eventlog)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_header_and_severity() {
        let e =
            r#"{"event":"unseal","record":7,"vault_id":"ab","receipt":"breakglass-receipt:v1:x"}"#;
        let m = message(e);
        // <auth*8 + warning>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
        assert!(m.starts_with("<36>1 "), "{m}");
        let parts: Vec<&str> = m.splitn(8, ' ').collect();
        assert_eq!(parts[3], "breakglass");
        assert_eq!(parts[5], "unseal");
        assert!(m.contains(r#"[breakglass@32473 event="unseal" record="7" vault_id="ab""#));
        assert!(m.ends_with(e));
        let failed = serde_json::json!({"event":"drill","kind":"drill","versions_failed":1});
        assert_eq!(severity(&failed), 3);
        let misuse = serde_json::json!({"event":"drill","kind":"misuse","versions_failed":0});
        assert_eq!(severity(&misuse), 4);
        assert_eq!(severity(&serde_json::json!({"event":"deposit"})), 6);
        assert_eq!(sd_escape(r#"a"b]c\"#), r#"a\"b\]c\\"#);
    }
}
