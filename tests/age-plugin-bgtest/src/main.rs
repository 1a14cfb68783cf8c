//! `age-plugin-bgtest`: a TEST-ONLY age plugin for breakglass's plugin
//! tests (tests/it/plugins.rs). It is not shipped, not installed and not
//! part of the `breakglass` binary; it exists so the test suite can drive
//! the real age plugin protocol (recipient-v1 and identity-v1, through the
//! `age-plugin` crate) the way age-plugin-yubikey, age-plugin-se or
//! age-plugin-tpm would be driven, without hardware.
//!
//! Scheme: a plugin identity `AGE-PLUGIN-BGTEST-1…` carries the text of a
//! native age X25519 identity, and its recipient `age1bgtest1…` the text of
//! the matching X25519 recipient. The file key is wrapped with age's own
//! X25519 recipient and the stanza renamed `bgtest`, so only the identity
//! opens it. The key lives in a file instead of a token: no PIN, no touch.
//!
//! Run with no arguments (or `--generate`) it prints a new identity (with
//! its recipient in a comment), as `age-plugin-yubikey --generate` does.
//!
//! Test modes, from the environment variable `BGTEST_MODE`, act when a
//! file key is to be wrapped or unwrapped:
//! - `hang`: never answers (sleeps until breakglass has gone, at most ten
//!   minutes, so a test never leaves it behind for long);
//! - `crash`: exits with status 1 at once, closing its pipes;
//! - `pin`: asks for a PIN (a secret request) first and goes on only if
//!   it is `123456`.

use std::collections::{HashMap, HashSet};
use std::io;
use std::str::FromStr;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use age::{Identity as _, Recipient as _};
use age_core::format::{FileKey, Stanza};
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{print_new_identity, run_state_machine, Callbacks, PluginHandler};

const NAME: &str = "bgtest";
/// The PIN the `pin` mode wants.
const PIN: &str = "123456";

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(a) if a.starts_with("--age-plugin=") => {
            run_state_machine(&a["--age-plugin=".len()..], Handler)
        }
        None | Some("--generate") => {
            let id = age::x25519::Identity::generate();
            let secret = id.to_string();
            print_new_identity(
                NAME,
                secret.expose_secret().as_bytes(),
                id.to_public().to_string().as_bytes(),
            );
            Ok(())
        }
        Some(other) => Err(io::Error::other(format!(
            "age-plugin-bgtest: unknown argument {other} (a test plugin: --generate or \
             --age-plugin=STATE_MACHINE)"
        ))),
    }
}

/// What `BGTEST_MODE` asks for, acted on before wrapping or unwrapping.
fn misbehave<E>(callbacks: &mut impl Callbacks<E>) -> io::Result<Result<(), String>> {
    match std::env::var("BGTEST_MODE").as_deref() {
        Ok("hang") => {
            let parent = parent_id();
            let start = Instant::now();
            while parent_id() == parent && start.elapsed() < Duration::from_secs(600) {
                std::thread::sleep(Duration::from_millis(100));
            }
            std::process::exit(2)
        }
        Ok("crash") => std::process::exit(1),
        Ok("pin") => Ok(
            match callbacks.request_secret("Enter the PIN of the bgtest token")? {
                Ok(pin) if pin.expose_secret() == PIN => Ok(()),
                Ok(_) => Err("wrong PIN".to_owned()),
                Err(_) => Err("a PIN is needed and none was given".to_owned()),
            },
        ),
        _ => Ok(Ok(())),
    }
}

/// The parent process: when it changes, breakglass has gone.
fn parent_id() -> u32 {
    #[cfg(unix)]
    return std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    return 0;
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;

    fn recipient_v1(self) -> io::Result<Wrap> {
        Ok(Wrap(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrap> {
        Ok(Unwrap(Vec::new()))
    }
}

/// The recipients to wrap to.
struct Wrap(Vec<age::x25519::Recipient>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let parsed = std::str::from_utf8(bytes)
            .ok()
            .filter(|_| plugin_name == NAME)
            .and_then(|s| age::x25519::Recipient::from_str(s).ok());
        match parsed {
            Some(r) => {
                self.0.push(r);
                Ok(())
            }
            None => Err(recipient::Error::Recipient {
                index,
                message: "not a bgtest recipient".to_owned(),
            }),
        }
    }

    fn add_identity(
        &mut self,
        index: usize,
        _plugin_name: &str,
        _bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "the bgtest plugin wraps to recipients only".to_owned(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        mut callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        if let Err(message) = misbehave(&mut callbacks)? {
            return Ok(Err(vec![recipient::Error::Internal { message }]));
        }
        let mut out = Vec::with_capacity(file_keys.len());
        for key in &file_keys {
            let mut stanzas = Vec::new();
            for r in &self.0 {
                let (wrapped, _) = r.wrap_file_key(key).map_err(io::Error::other)?;
                stanzas.extend(wrapped.into_iter().map(|mut s| {
                    s.tag = NAME.to_owned();
                    s
                }));
            }
            out.push(stanzas);
        }
        Ok(Ok(out))
    }
}

/// The identities to unwrap with.
struct Unwrap(Vec<age::x25519::Identity>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        let parsed = std::str::from_utf8(bytes)
            .ok()
            .filter(|_| plugin_name == NAME)
            .and_then(|s| age::x25519::Identity::from_str(s).ok());
        match parsed {
            Some(id) => {
                self.0.push(id);
                Ok(())
            }
            None => Err(identity::Error::Identity {
                index,
                message: "not a bgtest identity".to_owned(),
            }),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut keys = HashMap::new();
        let ours = |s: &Stanza| s.tag == NAME;
        if !files.iter().flatten().any(ours) {
            return Ok(keys);
        }
        if let Err(message) = misbehave(&mut callbacks)? {
            for (i, stanzas) in files.iter().enumerate() {
                if stanzas.iter().any(ours) {
                    let message = message.clone();
                    keys.insert(i, Err(vec![identity::Error::Internal { message }]));
                }
            }
            return Ok(keys);
        }
        for (i, stanzas) in files.iter().enumerate() {
            let found = stanzas.iter().filter(|s| ours(s)).find_map(|s| {
                let native = Stanza {
                    tag: "X25519".to_owned(),
                    args: s.args.clone(),
                    body: s.body.clone(),
                };
                self.0
                    .iter()
                    .find_map(|id| id.unwrap_stanza(&native).and_then(Result::ok))
            });
            if let Some(key) = found {
                keys.insert(i, Ok(key));
            }
        }
        Ok(keys)
    }
}
