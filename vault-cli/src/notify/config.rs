//! Where events go: the `--notify`, `--syslog` and `--eventlog` flags, the
//! user's config file and the vault's own, merged.
//!
//! Both files are `key = value` lines (`#` starts a comment):
//!
//! ```text
//! notify = /usr/local/bin/page-soc --team identity
//! syslog = udp://siem.example.net:514
//! notify_timeout = 5
//! eventlog = on
//! ```
//!
//! * The vault's file is `VAULT.monitoring` beside it, so custodians in a
//!   hurry need no flags. Whoever can write beside the vault can edit it,
//!   so it may only *add* destinations: sinks are the union of every
//!   source, and none can remove another's. Its `notify` commands run only
//!   when the file is private to the user (owned by them or root, not
//!   writable by group or others), or anyone who can write beside the
//!   vault would run commands as the custodian.
//! * The user's file is `$BREAKGLASS_CONFIG_DIR/monitoring.conf`, else
//!   `$XDG_CONFIG_HOME/breakglass/monitoring.conf`, else
//!   `~/.config/breakglass/monitoring.conf` (`%APPDATA%\breakglass\…` on
//!   Windows).
//! * `notify_timeout`: the flag, else the user's file, else the vault's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::NotifyArgs;

/// Default time each sink gets.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest timeout accepted, so a config file cannot stall a command.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// A config file larger than this is ignored.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// One destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A command (program and arguments, split at spaces; no shell), run
    /// with the events on stdin, one JSON object a line.
    Command(Vec<String>),
    /// Syslog (RFC 5424): `local` (/dev/log), `unix:PATH`,
    /// `udp://HOST:PORT`, `tcp://HOST:PORT`.
    Syslog(String),
    /// The Windows Event Log (Application log, source `breakglass`).
    EventLog,
}

impl Sink {
    /// The name the outbox and messages use for it.
    pub fn id(&self) -> String {
        match self {
            Sink::Command(argv) => format!("notify {}", argv.join(" ")),
            Sink::Syslog(d) => format!("syslog {d}"),
            Sink::EventLog => "eventlog".to_owned(),
        }
    }
}

/// The merged settings, with where each sink came from.
#[derive(Debug, Default)]
pub struct Settings {
    /// Every sink, once.
    pub sinks: Vec<Sink>,
    /// Where each sink came from (same order).
    pub origins: Vec<String>,
    /// Time each sink gets.
    pub timeout: Duration,
    /// Config files read.
    pub files: Vec<PathBuf>,
    /// Lines ignored, and why (printed as warnings by writing commands).
    pub warnings: Vec<String>,
}

impl Settings {
    fn add(&mut self, sink: Sink, origin: &str) {
        if !self.sinks.contains(&sink) {
            self.sinks.push(sink);
            self.origins.push(origin.to_owned());
        }
    }
}

/// The vault's own config file.
pub fn vault_file(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".monitoring");
    vault.with_file_name(name)
}

/// The user's config file, if a config directory is known.
pub fn user_file() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("BREAKGLASS_CONFIG_DIR") {
        return Some(d.join("monitoring.conf"));
    }
    let base = if cfg!(windows) {
        var("APPDATA")
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))
    };
    base.map(|b| b.join("breakglass").join("monitoring.conf"))
}

/// Flags, then the user's file, then the vault's.
pub fn settings(flags: &NotifyArgs, vault: &Path) -> Settings {
    let mut s = Settings::default();
    let mut timeout = None;
    for cmd in &flags.notify {
        match command(cmd) {
            Some(argv) => s.add(Sink::Command(argv), "--notify"),
            None => s
                .warnings
                .push("--notify with an empty command: ignored".into()),
        }
    }
    for d in &flags.syslog {
        match syslog_dest(d) {
            Ok(d) => s.add(Sink::Syslog(d), "--syslog"),
            Err(e) => s.warnings.push(format!("--syslog {d}: {e}: ignored")),
        }
    }
    if flags.eventlog {
        s.add(Sink::EventLog, "--eventlog");
    }
    if let Some(t) = flags.notify_timeout {
        timeout = Some(t);
    }
    if let Some(user) = user_file() {
        read_file(&user, true, &mut s, &mut timeout);
    }
    read_file(
        &vault_file(vault),
        private(&vault_file(vault)),
        &mut s,
        &mut timeout,
    );
    s.timeout = timeout
        .map(|t| Duration::from_secs_f64(t.clamp(0.1, MAX_TIMEOUT.as_secs_f64())))
        .unwrap_or(DEFAULT_TIMEOUT);
    s
}

/// Parses `--notify-timeout` and `notify_timeout`: seconds, 0.1 to 60.
pub fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.1 && t <= MAX_TIMEOUT.as_secs_f64() => Ok(t),
        _ => Err("give seconds from 0.1 to 60".to_owned()),
    }
}

fn command(text: &str) -> Option<Vec<String>> {
    let argv: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    (!argv.is_empty()).then_some(argv)
}

/// Checks a syslog destination; returns it as written.
pub fn syslog_dest(text: &str) -> Result<String, String> {
    let t = text.trim();
    let ok = t == "local"
        || t.strip_prefix("unix:").is_some_and(|p| !p.is_empty())
        || ["udp://", "tcp://"].iter().any(|p| {
            t.strip_prefix(p)
                .and_then(|hp| hp.rsplit_once(':'))
                .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
        });
    if ok {
        Ok(t.to_owned())
    } else {
        Err("give local, unix:PATH, udp://HOST:PORT or tcp://HOST:PORT".to_owned())
    }
}

/// True when only the user (or root) can change `file`.
fn private(file: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(file).is_ok_and(|m| {
            let uid = rustix::process::geteuid().as_raw();
            (m.uid() == uid || m.uid() == 0) && m.mode() & 0o022 == 0
        })
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

fn read_file(path: &Path, may_run: bool, s: &mut Settings, timeout: &mut Option<f64>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let where_ = path.display().to_string();
    if meta.len() > MAX_CONFIG_BYTES {
        s.warnings.push(format!(
            "{where_}: larger than {MAX_CONFIG_BYTES} bytes: ignored"
        ));
        return;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            s.warnings.push(format!("{where_}: {e}: ignored"));
            return;
        }
    };
    s.files.push(path.to_owned());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{where_} line {}", n + 1);
        let Some((key, value)) = line.split_once('=') else {
            s.warnings.push(format!("{at}: not `key = value`: ignored"));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "notify" if !may_run => s.warnings.push(format!(
                "{at}: notify commands in a file others can change are not run (make it \
                 private: chmod go-w, owned by you): ignored"
            )),
            "notify" => match command(value) {
                Some(argv) => s.add(Sink::Command(argv), &where_),
                None => s.warnings.push(format!("{at}: an empty command: ignored")),
            },
            "syslog" => match syslog_dest(value) {
                Ok(d) => s.add(Sink::Syslog(d), &where_),
                Err(e) => s.warnings.push(format!("{at}: {e}: ignored")),
            },
            "eventlog" if value == "on" => s.add(Sink::EventLog, &where_),
            "eventlog" if value == "off" => {}
            "notify_timeout" => match parse_timeout(value) {
                Ok(t) => {
                    timeout.get_or_insert(t);
                }
                Err(e) => s
                    .warnings
                    .push(format!("{at}: notify_timeout: {e}: ignored")),
            },
            _ => s.warnings.push(format!(
                "{at}: unknown setting '{key}' (notify, syslog, notify_timeout, eventlog): ignored"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        for ok in [
            "local",
            "unix:/dev/log",
            "udp://10.0.0.1:514",
            "tcp://[::1]:6514",
        ] {
            assert_eq!(syslog_dest(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "udp://host",
            "tcp://:514",
            "http://x:1",
            "unix:",
            "udp://h:0",
        ] {
            assert!(syslog_dest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands_split_at_spaces_without_a_shell() {
        assert_eq!(
            command(" /bin/alert  --to  soc ").unwrap(),
            ["/bin/alert", "--to", "soc"]
        );
        assert_eq!(command("  "), None);
    }

    #[test]
    fn timeouts_are_bounded() {
        assert_eq!(parse_timeout("2.5"), Ok(2.5));
        for bad in ["0", "61", "nan", "inf", "-1", "x"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
