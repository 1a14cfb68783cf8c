//! The outbox, `VAULT.outbox` beside the vault: events not yet taken by a
//! sink, one a line as `SINK<TAB>EVENT`. Events go in (synced) before any
//! delivery starts and leave once their sink took them, so a receiver that
//! is down, a hook that fails or hangs, or a process killed mid-delivery
//! leaves them for the next command of any kind that writes to the vault.
//! Delivery is at least once: a receiver deduplicates by `receipt`.
//!
//! Bounded: at most [`MAX_BYTES`]; events that would not fit are not kept
//! (a warning says so: the vault still holds every record, `audit --json`
//! re-exports them). Locked (exclusive) while a command uses it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest outbox kept.
pub const MAX_BYTES: u64 = 16 << 20;

/// The outbox file of `vault`.
pub fn path_of(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".outbox");
    vault.with_file_name(name)
}

/// An open, locked outbox.
pub struct Outbox {
    path: PathBuf,
    file: File,
    lines: Vec<(String, String)>,
}

impl Outbox {
    /// Opens (creating it 0600) and locks the outbox of `vault`, reading
    /// what earlier commands left. Waits at most `wait` for another
    /// command delivering at the same time.
    pub fn open(vault: &Path, wait: std::time::Duration) -> Result<Self, String> {
        let path = path_of(vault);
        let fail = |e: std::io::Error| format!("the outbox {}: {e}", path.display());
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&path).map_err(fail)?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(format!(
                        "the outbox {} is held by another command",
                        path.display()
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
            }
        }
        let mut text = String::new();
        (&mut file)
            .take(MAX_BYTES)
            .read_to_string(&mut text)
            .map_err(fail)?;
        let lines = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(_, e)| e.starts_with('{'))
            .map(|(s, e)| (s.to_owned(), e.to_owned()))
            .collect();
        Ok(Self { path, file, lines })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds every event for every sink, and syncs.
    pub fn add(&mut self, sinks: &[String], events: &[String]) -> Result<(), String> {
        let size: usize = self.lines.iter().map(|(s, e)| s.len() + e.len() + 2).sum();
        let more: usize = sinks
            .iter()
            .map(|s| events.iter().map(|e| s.len() + e.len() + 2).sum::<usize>())
            .sum();
        if (size + more) as u64 > MAX_BYTES {
            return Err(format!(
                "the outbox {} is full ({MAX_BYTES} bytes): these events are delivered but not \
                 kept if delivery fails; forward them with breakglass audit --json",
                self.path.display()
            ));
        }
        for s in sinks {
            for e in events {
                self.lines.push((s.clone(), e.clone()));
            }
        }
        self.write()
    }

    /// The events pending for `sink`, oldest first.
    pub fn for_sink(&self, sink: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter(|(s, _)| s == sink)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// `sink` took everything pending for it.
    pub fn delivered(&mut self, sink: &str) {
        self.lines.retain(|(s, _)| s != sink);
    }

    /// Writes what is left. An empty outbox stays, empty: removing a file
    /// another command waits to lock would lose what that one adds.
    pub fn save(mut self) -> Result<(), String> {
        self.write()
    }

    fn write(&mut self) -> Result<(), String> {
        let mut text = String::new();
        for (s, e) in &self.lines {
            text.push_str(s);
            text.push('\t');
            text.push_str(e);
            text.push('\n');
        }
        let f = &mut self.file;
        f.set_len(0)
            .and_then(|_| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(text.as_bytes()))
            .and_then(|_| f.sync_data())
            .map_err(|e| format!("the outbox {}: {e}", self.path.display()))
    }
}

/// Pending events by sink, without locking (for `status`).
pub fn counts(vault: &Path) -> Vec<(String, usize)> {
    let Ok(f) = File::open(path_of(vault)) else {
        return Vec::new();
    };
    let mut text = String::new();
    let _ = f.take(MAX_BYTES).read_to_string(&mut text);
    let mut out: Vec<(String, usize)> = Vec::new();
    for (sink, _) in text.lines().filter_map(|l| l.split_once('\t')) {
        match out.iter_mut().find(|(s, _)| s == sink) {
            Some((_, n)) => *n += 1,
            None => out.push((sink.to_owned(), 1)),
        }
    }
    out
}
