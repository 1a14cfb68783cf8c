//! Custodians whose share lives behind a hardware token, through age
//! plugins: a recipient `age1NAME1…` is sealed by the program
//! `age-plugin-NAME` found on PATH (age-plugin-yubikey, age-plugin-se,
//! age-plugin-tpm, …) and a plugin identity `AGE-PLUGIN-NAME-1…` opens
//! shares through it, so breakglass never speaks PC/SC or to the Secure
//! Enclave itself. The protocol is the age crate's (`age::plugin`); this
//! module finds the plugin, words its failures (missing, crashed, refused,
//! a question with no terminal to answer it) and runs it under the
//! deadline of [`super::deadline`].

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use age::plugin::{IdentityPluginV1, RecipientPluginV1};
use age::{DecryptError, EncryptError};
use age_core::format::{FileKey, Stanza};

use super::callbacks::Terminal;

/// `age-plugin-NAME`.
pub fn binary(name: &str) -> String {
    format!("age-plugin-{name}")
}

/// What to do when `age-plugin-NAME` is not on PATH.
fn missing(name: &str) -> String {
    let how = match name {
        "yubikey" => {
            "install it (https://github.com/str4d/age-plugin-yubikey: a release binary, \
             `cargo install age-plugin-yubikey`, or your package manager)"
        }
        "se" => "install it (https://github.com/remko/age-plugin-se; `brew install age-plugin-se`)",
        "tpm" => "install it (https://github.com/Foxboron/age-plugin-tpm)",
        _ => "install the age plugin that made this key",
    };
    format!(
        "{} is not on PATH: {how}, or put its directory on PATH",
        binary(name)
    )
}

fn resolve_error(name: &str, e: &age::plugin::ResolveError) -> String {
    match e {
        age::plugin::ResolveError::MissingPlugin { .. } => missing(name),
        other => format!("{}: {other}", binary(name)),
    }
}

/// A plugin recipient (`age1NAME1…`), checked: well formed, and its plugin
/// on PATH (so a missing plugin is found before anyone types anything).
pub fn recipient(r: &str) -> Result<age::plugin::Recipient, String> {
    no_protocol_dump(std::env::var_os("AGEDEBUG").as_deref())?;
    let parsed = age::plugin::Recipient::from_str(r).map_err(|e| {
        format!("not a valid age plugin recipient ({e}): a character was mistyped or lost — copy it again")
    })?;
    let name = parsed.plugin().to_owned();
    RecipientPluginV1::new(&name, &[], &[], Terminal::new(&binary(&name)))
        .map_err(|e| resolve_error(&name, &e))?;
    Ok(parsed)
}

/// Refuses to speak to a plugin while `AGEDEBUG=plugin` is set: age then
/// copies every protocol message to stderr, the PIN and the file key that
/// opens the share among them (red team finding 3).
fn no_protocol_dump(agedebug: Option<&std::ffi::OsStr>) -> Result<(), String> {
    match agedebug {
        Some(v) if v == "plugin" => Err(
            "AGEDEBUG=plugin is set: age would print every message to the plugin on stderr, \
             the PIN and the key that opens the share among them — unset it and try again"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

/// A plugin identity line of an identity file, with its plugin found;
/// and the plugin's binary name.
pub fn identity(line: &str) -> Result<(Box<dyn age::Identity + Send + Sync>, String), String> {
    no_protocol_dump(std::env::var_os("AGEDEBUG").as_deref())?;
    let parsed = age::plugin::Identity::from_str(line.trim())
        .map_err(|e| format!("not a valid age plugin identity ({e})"))?;
    let name = parsed.plugin().to_owned();
    let callbacks = Terminal::new(&binary(&name));
    let inner = IdentityPluginV1::new(&name, &[parsed], callbacks.clone())
        .map_err(|e| resolve_error(&name, &e))?;
    let identity = PluginIdentity {
        binary: binary(&name),
        callbacks,
        inner,
    };
    Ok((Box::new(identity), binary(&name)))
}

/// `text` sealed (armored age) to a plugin recipient, under the deadline.
pub fn seal(
    r: &age::plugin::Recipient,
    text: zeroize::Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let name = r.plugin().to_owned();
    let r = r.clone();
    super::deadline::run(&binary(&name), "", move || {
        let callbacks = Terminal::new(&binary(&name));
        let inner = RecipientPluginV1::new(&name, &[r], &[], callbacks.clone())
            .map_err(|e| resolve_error(&name, &e))?;
        let recipient = PluginRecipient {
            binary: binary(&name),
            callbacks,
            inner,
        };
        super::recipient::seal_to(&recipient, &text)
    })
}

/// A plugin's failure, worded for the user; carried through age's errors
/// as the inner error of an `io::Error`.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// The worded failure inside a decryption error, if a plugin failed.
pub fn failure(e: &DecryptError) -> Option<&str> {
    match e {
        DecryptError::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Failure>())
            .map(|f| f.0.as_str()),
        _ => None,
    }
}

/// Says what went wrong with `binary`: a question it could not ask, its
/// own error messages, or its death.
fn explain(binary: &str, callbacks: &Terminal, io: bool, messages: Vec<String>) -> Failure {
    if let Some(unasked) = callbacks.unasked() {
        return Failure(unasked);
    }
    if io {
        return Failure(format!(
            "{binary} stopped before it answered (it crashed or closed its pipe) — run the \
             plugin on its own to see what it says (not with AGEDEBUG=plugin: that prints the \
             PIN and the key that opens the share)"
        ));
    }
    let said: Vec<String> = messages
        .iter()
        .map(|m| m.chars().take(300).filter(|c| !c.is_control()).collect())
        .collect();
    Failure(format!("{binary} failed: {}", said.join("; ")))
}

/// The messages of a plugin's errors (as age words them, without the
/// Unicode isolation marks its message catalogue puts around names).
fn messages<E: fmt::Display>(errors: &[E]) -> Vec<String> {
    errors
        .iter()
        .map(|e| e.to_string().replace(['\u{2068}', '\u{2069}'], ""))
        .collect()
}

/// A plugin recipient whose failures are worded by [`explain`].
struct PluginRecipient {
    binary: String,
    callbacks: Terminal,
    inner: RecipientPluginV1<Terminal>,
}

impl age::Recipient for PluginRecipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), EncryptError> {
        super::deadline::working(&self.binary);
        self.inner.wrap_file_key(file_key).map_err(|e| {
            let why = match e {
                EncryptError::Io(_) => explain(&self.binary, &self.callbacks, true, vec![]),
                EncryptError::Plugin(errors) => {
                    explain(&self.binary, &self.callbacks, false, messages(&errors))
                }
                other => explain(
                    &self.binary,
                    &self.callbacks,
                    false,
                    vec![other.to_string()],
                ),
            };
            EncryptError::Io(std::io::Error::other(why))
        })
    }
}

/// A plugin identity whose failures are worded by [`explain`].
struct PluginIdentity {
    binary: String,
    callbacks: Terminal,
    inner: IdentityPluginV1<Terminal>,
}

impl PluginIdentity {
    fn worded(
        &self,
        result: Option<Result<FileKey, DecryptError>>,
    ) -> Option<Result<FileKey, DecryptError>> {
        let why = match result {
            Some(Ok(key)) => return Some(Ok(key)),
            None if self.callbacks.unasked().is_none() => return None,
            None => explain(&self.binary, &self.callbacks, false, vec![]),
            Some(Err(DecryptError::Io(_))) => explain(&self.binary, &self.callbacks, true, vec![]),
            Some(Err(DecryptError::Plugin(errors))) => {
                explain(&self.binary, &self.callbacks, false, messages(&errors))
            }
            Some(Err(other)) => explain(
                &self.binary,
                &self.callbacks,
                false,
                vec![other.to_string()],
            ),
        };
        Some(Err(DecryptError::Io(std::io::Error::other(why))))
    }
}

impl age::Identity for PluginIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        super::deadline::working(&self.binary);
        self.worded(self.inner.unwrap_stanza(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        super::deadline::working(&self.binary);
        self.worded(self.inner.unwrap_stanzas(stanzas))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protocol_dump_is_refused_before_any_plugin_is_run() {
        let why = no_protocol_dump(Some(std::ffi::OsStr::new("plugin"))).unwrap_err();
        assert!(why.contains("AGEDEBUG=plugin is set"), "{why}");
        assert!(no_protocol_dump(None).is_ok());
        assert!(no_protocol_dump(Some(std::ffi::OsStr::new("other"))).is_ok());
    }

    #[test]
    fn a_missing_plugin_says_what_to_install() {
        let m = missing("yubikey");
        assert!(m.starts_with("age-plugin-yubikey is not on PATH"), "{m}");
        assert!(m.contains("github.com/str4d/age-plugin-yubikey"), "{m}");
        assert!(missing("se").contains("age-plugin-se"));
        assert!(missing("tpm").contains("age-plugin-tpm"));
        assert!(missing("frob").contains("install the age plugin"));
    }

    #[test]
    fn a_mistyped_plugin_recipient_is_refused_before_looking_for_the_plugin() {
        let e = recipient("age1yubikey1qqqqqq").err().unwrap();
        assert!(e.contains("not a valid age plugin recipient"), "{e}");
    }
}
