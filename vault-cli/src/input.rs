//! Where secrets come from: the terminal (no echo) when stdin is a
//! terminal, otherwise stdin, one line per passphrase, in order. Secrets
//! are never command-line arguments.
//!
//! stdin is read straight from file descriptor 0 into buffers of our own
//! that are zeroized when dropped and never reallocated in place (a buffer
//! that must grow is copied into a larger one and the old one wiped):
//! std's `Stdin` keeps an 8 KiB buffer for the life of the process that is
//! never wiped, and `read_to_end` leaves the bytes of every outgrown
//! buffer in freed memory (issue 15, found with gdb at `exit_group`;
//! `tests/it/memory.rs`).

use std::io::{self, IsTerminal};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};

/// Shortest passphrase accepted for a new share.
pub const MIN_PASSPHRASE: usize = 8;
/// The longest line read from stdin (a passphrase, a typed share line, a
/// session lookup): 1 MiB; longer input is refused, not held.
pub const MAX_LINE: usize = 1 << 20;

/// Reads passphrases, secrets and shares from the terminal or stdin.
pub struct Input {
    tty: bool,
    stdin: RawStdin,
    /// How many lines were taken from stdin (for messages).
    lines_read: usize,
}

impl Input {
    /// Input bound to this process's stdin.
    pub fn new() -> Self {
        Self {
            tty: io::stdin().is_terminal(),
            stdin: RawStdin::new(),
            lines_read: 0,
        }
    }

    /// True when prompts go to a person at a terminal.
    pub fn is_terminal(&self) -> bool {
        self.tty
    }

    /// One raw line from stdin (with its ending), `None` at the end of input.
    fn raw_line(&mut self, what: &str) -> CliResult<Option<Zeroizing<String>>> {
        // Sized up front: a reallocation would leave a copy behind.
        let mut line = Zeroizing::new(Vec::with_capacity(1024));
        let n = self
            .stdin
            .read_line(&mut line)
            .map_err(|e| CliError::input(format!("reading {what} from stdin: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.lines_read += 1;
        match String::from_utf8(std::mem::take(&mut *line)) {
            Ok(text) => Ok(Some(Zeroizing::new(text))),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                Err(CliError::input(format!(
                    "reading {what} from stdin: line {} is not UTF-8 text",
                    self.lines_read
                )))
            }
        }
    }

    /// One line from stdin without its line ending; `what` names it in errors.
    fn line(&mut self, what: &str) -> CliResult<Zeroizing<String>> {
        let Some(mut line) = self.raw_line(what)? else {
            return Err(CliError::input(format!(
                "expected {what} on stdin line {}, found the end of input",
                self.lines_read + 1
            )));
        };
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        Ok(line)
    }

    /// Reads one visible line (a typed share line, a path) after a prompt.
    pub fn visible_line(&mut self, prompt: &str) -> CliResult<Zeroizing<String>> {
        eprint!("{prompt}");
        Ok(self.raw_line("a line")?.unwrap_or_default())
    }

    /// Like [`Input::visible_line`], but `None` at the end of input (the
    /// terminal closed, or ctrl-D).
    pub fn prompt_line(&mut self, prompt: &str) -> CliResult<Option<Zeroizing<String>>> {
        eprint!("{prompt}");
        self.raw_line("a line")
    }

    /// Asks a yes/no question on the terminal; true only for "y" or "yes".
    pub fn confirm(&mut self, question: &str) -> CliResult<bool> {
        eprint!("{question} [y/N] ");
        let answer = self.raw_line("an answer")?.unwrap_or_default();
        Ok(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// The passphrase of an existing share.
    pub fn passphrase(&mut self, prompt: &str) -> CliResult<SecretString> {
        if self.tty {
            let p = prompt_hidden(&format!("{prompt}: "))
                .map_err(|e| CliError::input(format!("reading the passphrase: {e}")))?;
            return Ok(SecretString::from(p));
        }
        let line = self.line(&format!("the {prompt}"))?;
        Ok(SecretString::from(line.to_string()))
    }

    /// A new passphrase for a share: typed twice on a terminal.
    pub fn new_passphrase(&mut self, custodian: &str) -> CliResult<SecretString> {
        let what = format!("passphrase for {custodian}'s share");
        let first = self.passphrase(&format!("New {what}"))?;
        if first.expose_secret().chars().count() < MIN_PASSPHRASE {
            return Err(CliError::input(format!(
                "the {what} is shorter than {MIN_PASSPHRASE} characters: choose a longer one"
            )));
        }
        if self.tty {
            let again = self.passphrase(&format!("Repeat the {what}"))?;
            if !bool::from(
                first
                    .expose_secret()
                    .as_bytes()
                    .ct_eq(again.expose_secret().as_bytes()),
            ) {
                return Err(CliError::input(format!(
                    "the two entries of the {what} differ: nothing was written, run init again"
                )));
            }
        }
        Ok(first)
    }

    /// A secret to seal: prompted twice on a terminal, or all of stdin
    /// (one trailing line ending removed).
    pub fn secret(&mut self, label: &str) -> CliResult<Zeroizing<Vec<u8>>> {
        if self.tty {
            let first = prompt_hidden(&format!("Secret for '{label}': "))
                .map(Zeroizing::new)
                .map_err(|e| CliError::input(format!("reading the secret: {e}")))?;
            let again = prompt_hidden(&format!("Repeat the secret for '{label}': "))
                .map(Zeroizing::new)
                .map_err(|e| CliError::input(format!("reading the secret: {e}")))?;
            if !bool::from(first.as_bytes().ct_eq(again.as_bytes())) {
                return Err(CliError::input(
                    "the two entries of the secret differ: nothing was sealed",
                ));
            }
            return Ok(Zeroizing::new(first.as_bytes().to_vec()));
        }
        // Room for the largest secret and a line ending: never grown.
        let mut buf = Zeroizing::new(Vec::with_capacity(vault_core::entry::MAX_SECRET + 3));
        self.stdin
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input(format!("reading the secret from stdin: {e}")))?;
        if buf.ends_with(b"\n") {
            buf.pop();
            if buf.ends_with(b"\r") {
                buf.pop();
            }
        }
        Ok(buf)
    }

    /// The text of a share: from a file, or from stdin for `-` (up to the
    /// `END BREAKGLASS SHARE` line, so passphrase lines may follow).
    pub fn share_text(&mut self, path: &Path) -> CliResult<Zeroizing<String>> {
        if path != Path::new("-") {
            let bytes = Zeroizing::new(
                std::fs::read(path)
                    .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?,
            );
            if crate::custody::is_age(&bytes) {
                return crate::custody::open::open_share(&bytes, path).map_err(CliError::input);
            }
            if crate::paper::scan::is_picture(&bytes) {
                return crate::paper::scan::decode(path).map_err(CliError::input);
            }
            return std::str::from_utf8(&bytes)
                .map(|s| Zeroizing::new(s.to_owned()))
                .map_err(|_| {
                    CliError::input(format!(
                        "{}: not a text share (not UTF-8); give the share file written by init",
                        path.display()
                    ))
                });
        }
        if self.tty {
            eprintln!(
                "Paste or type the share, ending with the line {}:",
                vault_core::share_text::END_LINE
            );
        }
        // Sized up front: a reallocation would leave a copy of the share behind.
        // Typed forms (no header, no end line) end at an empty line after
        // the numbered lines, as at the unseal prompt; the compact form is
        // one line.
        let mut text = Zeroizing::new(String::with_capacity(8192));
        let mut body_lines = 0;
        while let Some(line) = self.raw_line("a share")? {
            let t = line.trim();
            if t.is_empty() && body_lines > 0 {
                break;
            }
            if text.trim().is_empty() && t == AGE_BEGIN {
                return self.age_share_from_stdin(line);
            }
            text.push_str(&line);
            if t.eq_ignore_ascii_case(vault_core::share_text::END_LINE)
                || vault_core::share_text::is_compact(t)
            {
                break;
            }
            if t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                body_lines += 1;
            }
        }
        Ok(text)
    }
}

/// The first line of an armored age file (a share sealed to its custodian).
const AGE_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
/// Its last line.
const AGE_END: &str = "-----END AGE ENCRYPTED FILE-----";

impl Input {
    /// An armored age share pasted on stdin (`--share -`), from its first
    /// line to its last, at most as large as a share file may be; opened
    /// with the `--identity` files as a share file would be.
    fn age_share_from_stdin(&mut self, first: Zeroizing<String>) -> CliResult<Zeroizing<String>> {
        let mut armored = Zeroizing::new(String::with_capacity(crate::custody::MAX_AGE_FILE));
        armored.push_str(&first);
        loop {
            let Some(line) = self.raw_line("an age share")? else {
                return Err(CliError::input(format!(
                    "stdin: the age share ends before its line {AGE_END}: paste all of it"
                )));
            };
            armored.push_str(&line);
            if armored.len() > crate::custody::MAX_AGE_FILE {
                return Err(CliError::input(format!(
                    "stdin: the age share is larger than {} KiB — not a share",
                    crate::custody::MAX_AGE_FILE / 1024
                )));
            }
            if line.trim() == AGE_END {
                break;
            }
        }
        crate::custody::open::open_share(armored.as_bytes(), Path::new("stdin"))
            .map_err(CliError::input)
    }
}

/// stdin read from file descriptor 0 without std's buffer: what was read
/// ahead of a line stays in `buf`, which is zeroized on drop.
struct RawStdin {
    buf: Zeroizing<Vec<u8>>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl RawStdin {
    const CHUNK: usize = 8192;

    fn new() -> Self {
        Self {
            buf: Zeroizing::new(vec![0; Self::CHUNK]),
            start: 0,
            end: 0,
        }
    }

    /// Refills the buffer when it is empty; false at the end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start == self.end {
            self.buf.fill(0);
            self.start = 0;
            self.end = read_stdin(&mut self.buf)?;
        }
        Ok(self.start < self.end)
    }

    /// Appends one line, with its `\n`, to `out`; the bytes appended (0 at
    /// the end of input).
    fn read_line(&mut self, out: &mut Zeroizing<Vec<u8>>) -> io::Result<usize> {
        let mut n = 0;
        while self.fill()? {
            if n > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line longer than {} KiB", MAX_LINE >> 10),
                ));
            }
            let unread = &self.buf[self.start..self.end];
            let take = unread
                .iter()
                .position(|&b| b == b'\n')
                .map_or(unread.len(), |i| i + 1);
            push_wiping(out, &unread[..take]);
            self.start += take;
            n += take;
            if out.last() == Some(&b'\n') {
                break;
            }
        }
        Ok(n)
    }

    /// Appends everything left on stdin to `out`.
    fn read_to_end(&mut self, out: &mut Zeroizing<Vec<u8>>) -> io::Result<usize> {
        let mut n = 0;
        while self.fill()? {
            push_wiping(out, &self.buf[self.start..self.end]);
            n += self.end - self.start;
            self.start = self.end;
        }
        Ok(n)
    }
}

/// Appends `bytes` to `out` without leaving a copy behind: when `out` is
/// full it is copied into a buffer twice as large and the old one wiped
/// (a `Vec`'s own growth would free the old bytes as they are).
fn push_wiping(out: &mut Zeroizing<Vec<u8>>, bytes: &[u8]) {
    if out.capacity() - out.len() < bytes.len() {
        let need = out.len() + bytes.len();
        let mut bigger = Zeroizing::new(Vec::with_capacity(need.max(2 * out.capacity())));
        bigger.extend_from_slice(out);
        *out = bigger; // the old buffer is zeroized as it drops
    }
    out.extend_from_slice(bytes);
}

/// One `read(2)` from file descriptor 0 (retried on EINTR).
#[cfg(unix)]
fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsFd;
    let stdin = io::stdin();
    loop {
        match rustix::io::read(stdin.as_fd(), &mut *buf) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Elsewhere: through std (its buffer is not wiped; see HARDENING.md §4).
#[cfg(not(unix))]
fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    use std::io::Read;
    io::stdin().lock().read(buf)
}

/// Prompts on the terminal with echo already off. rpassword prints its
/// prompt and only then turns echo off, so keys typed the moment the prompt
/// appears were echoed (a test typing at once saw its secret on screen).
#[cfg(unix)]
pub(crate) fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    use std::io::Write;
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let original = tcgetattr(&tty)?;
    let mut quiet = original.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&tty, OptionalActions::Now, &quiet)?;
    let typed = tty
        .write_all(prompt.as_bytes())
        .and_then(|()| tty.flush())
        .and_then(|()| rpassword::read_password());
    let restored = tcsetattr(&tty, OptionalActions::Now, &original);
    let typed = typed?;
    restored?;
    Ok(typed)
}

/// Prompts on the terminal without echo (rpassword's own order).
#[cfg(not(unix))]
pub(crate) fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_a_buffer_keeps_its_bytes_and_order() {
        let mut out = Zeroizing::new(Vec::with_capacity(4));
        for chunk in [&b"ab"[..], b"cdef", b"", b"ghijklmnopq"] {
            push_wiping(&mut out, chunk);
        }
        assert_eq!(&out[..], b"abcdefghijklmnopq");
        assert!(out.capacity() >= 17);
    }
}
