//! What an age plugin may ask of the user while it works (age's
//! `Callbacks`): its messages ("touch your YubiKey") go to stderr; a PIN
//! is typed on the terminal without echo (held in a zeroizing string); a
//! confirmation or a public value is typed on the terminal. With no
//! terminal nothing is asked: the plugin is told so, and the question is
//! kept for the error message, so the command fails in plain words
//! instead of waiting for an answer that cannot come.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

/// Callbacks for one plugin binary.
#[derive(Clone)]
pub struct Terminal {
    /// `age-plugin-NAME`.
    plugin: String,
    /// The last question that could not be asked for want of a terminal.
    unasked: Arc<Mutex<Option<String>>>,
}

impl Terminal {
    /// Callbacks for `age-plugin-NAME`.
    pub fn new(plugin: &str) -> Self {
        Self {
            plugin: plugin.to_owned(),
            unasked: Arc::default(),
        }
    }

    /// Why the plugin got no answer, if a question could not be asked:
    /// "age-plugin-yubikey asked for …: there is no terminal to answer on".
    pub fn unasked(&self) -> Option<String> {
        let q = self.unasked.lock().unwrap_or_else(|e| e.into_inner());
        q.as_ref().map(|q| {
            format!(
                "{} asked \"{}\" and there is no terminal to answer on — run breakglass at a \
                 terminal (stdin a terminal) to type it",
                self.plugin, q
            )
        })
    }

    /// True when questions can be asked; otherwise records `question`.
    fn can_ask(&self, question: &str) -> bool {
        if !super::deadline::current() {
            // This plugin's time ran out: it asks nobody anything.
            return false;
        }
        if std::io::stdin().is_terminal() {
            return true;
        }
        let shown: String = clean(question).chars().take(200).collect();
        *self.unasked.lock().unwrap_or_else(|e| e.into_inner()) = Some(shown);
        false
    }

    /// `ask` with the plugin's clock stopped.
    fn asking<T>(&self, ask: impl FnOnce() -> std::io::Result<T>) -> Option<T> {
        super::deadline::prompting(true);
        let answer = ask();
        super::deadline::prompting(false);
        match answer {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("  {}: could not read the answer: {e}", self.plugin);
                None
            }
        }
    }
}

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        eprintln!("{}: {}", self.plugin, clean(message));
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        if !self.can_ask(message) {
            return None;
        }
        let no = no.unwrap_or("no");
        let prompt = format!(
            "{}: {} [{} / {}]: ",
            self.plugin,
            clean(message),
            clean(yes),
            clean(no)
        );
        loop {
            let typed = self.asking(|| read_visible(&prompt))?;
            let typed = typed.trim();
            if typed.eq_ignore_ascii_case(yes) || typed.eq_ignore_ascii_case("y") {
                return Some(true);
            }
            if typed.eq_ignore_ascii_case(no) || typed.eq_ignore_ascii_case("n") {
                return Some(false);
            }
            eprintln!("  type {} or {}", clean(yes), clean(no));
        }
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        if !self.can_ask(description) {
            return None;
        }
        let prompt = format!("{}: {}: ", self.plugin, clean(description));
        self.asking(|| read_visible(&prompt))
            .map(|s| s.trim().to_owned())
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        if !self.can_ask(description) {
            return None;
        }
        let prompt = format!("{}: {}: ", self.plugin, clean(description));
        let typed = Zeroizing::new(self.asking(|| crate::input::prompt_hidden(&prompt))?);
        Some(SecretString::from(typed.as_str()))
    }
}

/// A plugin's text without control characters (it may not paint the
/// terminal) or the Unicode isolation marks of age's message catalogue, at
/// most 500 characters.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .take(500)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One line typed on the terminal, with echo.
#[cfg(unix)]
fn read_visible(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Read, Write};
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    tty.write_all(prompt.as_bytes())?;
    tty.flush()?;
    let mut line = String::new();
    // At most 4 KiB: an answer is a word or a PIN.
    std::io::BufReader::new(tty.take(4096)).read_line(&mut line)?;
    Ok(line)
}

/// One line typed on the terminal, with echo.
#[cfg(not(unix))]
fn read_visible(prompt: &str) -> std::io::Result<String> {
    eprint!("{prompt}");
    let mut line = String::new();
    use std::io::{BufRead, Read};
    std::io::stdin().lock().take(4096).read_line(&mut line)?;
    Ok(line)
}
