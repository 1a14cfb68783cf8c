//! Who holds each share: `--custodian NAME[=RECIPIENT]` and the lines of
//! a `--custodians FILE`, parsed into a [`Custody`] each. A bad recipient
//! is named with its custodian, where it came from and what is wrong.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use age::armor::{ArmoredWriter, Format};
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult};

/// How one custodian's share is protected.
#[derive(Clone)]
pub enum Custody {
    /// No recipient given: a passphrase, or plain with `--no-passphrase`
    /// (the behaviour before issue 12).
    Default,
    /// `NAME=passphrase`: a passphrase even with `--no-passphrase`.
    Passphrase,
    /// `NAME=plain`: no passphrase.
    Plain,
    /// Sealed to an age recipient; the share inside is plain.
    Key(Key),
}

/// An age recipient a share can be sealed to.
#[derive(Clone)]
pub enum Key {
    /// A native age X25519 recipient (`age1…`).
    X25519(age::x25519::Recipient),
    /// An SSH public key (ssh-ed25519 or ssh-rsa).
    Ssh(age::ssh::Recipient),
    /// A plugin recipient (`age1yubikey1…`, `age1se1…`, `age1tpm1…`),
    /// sealed by `age-plugin-NAME` (see [`super::plugin`]).
    Plugin(age::plugin::Recipient),
}

impl Key {
    /// What `age-keygen -y` or `ssh-keygen -lf KEY.pub` shows the
    /// custodian: the age recipient itself, or the SSH key's SHA256
    /// fingerprint.
    pub fn fingerprint(&self) -> String {
        match self {
            Key::X25519(r) => r.to_string(),
            Key::Ssh(age::ssh::Recipient::SshEd25519(blob, _)) => {
                format!("ssh-ed25519 {}", ssh_fingerprint(blob))
            }
            Key::Ssh(age::ssh::Recipient::SshRsa(blob, _)) => {
                format!("ssh-rsa {}", ssh_fingerprint(blob))
            }
            Key::Plugin(r) => r.to_string(),
        }
    }

    /// `text` age-encrypted (ASCII-armored) to this recipient, for
    /// `custodian` (named when a plugin fails).
    pub fn seal(&self, text: &[u8], custodian: &str) -> Result<Vec<u8>, String> {
        let sealed = match self {
            Key::X25519(r) => seal_to(r, text),
            Key::Ssh(r) => seal_to(r, text),
            Key::Plugin(r) => super::plugin::seal(r, zeroize::Zeroizing::new(text.to_vec())),
        };
        let shown = match self {
            // A plugin recipient is long: its start names it.
            Key::Plugin(_) => preview(&self.fingerprint()),
            _ => self.fingerprint(),
        };
        sealed.map_err(|e| format!("sealing the share for {custodian} to {shown}: {e}"))
    }
}

/// `text` age-encrypted (ASCII-armored) to `recipient`.
pub fn seal_to(recipient: &dyn age::Recipient, text: &[u8]) -> Result<Vec<u8>, String> {
    let said = |e: &dyn std::fmt::Display| e.to_string();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient)).map_err(|e| said(&e))?;
    let mut out = Vec::with_capacity(2048);
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| said(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| said(&e))?;
    writer.write_all(text).map_err(|e| said(&e))?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| said(&e))?;
    Ok(out)
}

/// `SHA256:` and the unpadded base64 of the key blob's SHA-256, as OpenSSH
/// prints it.
fn ssh_fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!("SHA256:{}", data_encoding::BASE64_NOPAD.encode(&digest))
}

impl Custody {
    /// How the transcript names it.
    pub fn describe(&self, no_passphrase: bool) -> String {
        match self {
            Custody::Default if no_passphrase => "plain".into(),
            Custody::Default | Custody::Passphrase => "passphrase".into(),
            Custody::Plain => "plain".into(),
            Custody::Key(k) => k.fingerprint(),
        }
    }

    /// True when the custodian's share gets a passphrase.
    pub fn wants_passphrase(&self, no_passphrase: bool) -> bool {
        match self {
            Custody::Default => !no_passphrase,
            Custody::Passphrase => true,
            Custody::Plain | Custody::Key(_) => false,
        }
    }

    /// The recipient, for custodians who have one.
    pub fn key(&self) -> Option<&Key> {
        match self {
            Custody::Key(k) => Some(k),
            _ => None,
        }
    }
}

/// The custodians from `--custodians FILE` (first, in file order) and
/// `--custodian NAME[=RECIPIENT]` (in argument order).
pub fn parse_custodians(args: &[String], file: Option<&Path>) -> CliResult<Vec<(String, Custody)>> {
    let mut out = Vec::new();
    if let Some(path) = file {
        out.extend(read_file(path)?);
    }
    for (i, arg) in args.iter().enumerate() {
        let at = format!("--custodian #{}", i + 1);
        match arg.split_once('=') {
            None => out.push((arg.trim().to_owned(), Custody::Default)),
            Some((name, recipient)) => {
                let name = name.trim();
                let custody = parse(recipient).map_err(|why| bad(&at, name, why))?;
                out.push((name.to_owned(), custody));
            }
        }
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "no custodians: give --custodian NAME[=RECIPIENT] for each, or --custodians FILE",
        ));
    }
    Ok(out)
}

fn bad(at: &str, name: &str, why: String) -> CliError {
    CliError::input(format!("{at}: custodian {name}: {why}"))
}

/// Reads a recipients file: one `NAME RECIPIENT` a line (the recipient
/// may contain spaces, as an SSH public key line does), `#` comments and
/// blank lines ignored; a line with a name alone keeps the default.
fn read_file(path: &Path) -> CliResult<Vec<(String, Custody)>> {
    let shown = path.display();
    let bytes = super::open::read_bounded(path, super::MAX_CUSTODIANS_FILE, "custodians file")
        .map_err(CliError::input)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::input(format!("custodians file {shown}: not UTF-8 text")))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{shown} line {}", i + 1);
        match line.split_once(char::is_whitespace) {
            None => out.push((line.to_owned(), Custody::Default)),
            Some((name, recipient)) => {
                let custody = parse(recipient.trim()).map_err(|why| bad(&at, name, why))?;
                out.push((name.to_owned(), custody));
            }
        }
    }
    Ok(out)
}

/// One recipient: `age1…`, `ssh-ed25519 …`, `ssh-rsa …`, `passphrase`
/// or `plain`.
pub fn parse(recipient: &str) -> Result<Custody, String> {
    let r = recipient.trim();
    match r {
        "" => Err(
            "the recipient after '=' is empty: give age1…, an SSH public key, \
                   passphrase or plain (or leave out the '=')"
                .into(),
        ),
        "passphrase" => Ok(Custody::Passphrase),
        "plain" => Ok(Custody::Plain),
        _ if r.to_ascii_lowercase().starts_with("age1") => parse_age(r),
        _ if r.starts_with("ssh-") => parse_ssh(r),
        _ => Err(format!(
            "'{}' is not a recipient: expected an age recipient (age1…), an SSH public key \
             (ssh-ed25519 AAAA… or ssh-rsa AAAA…, the line of the .pub file), passphrase or plain",
            preview(r)
        )),
    }
}

/// Bech32's data alphabet.
const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// A native age recipient, with the position of the first character that
/// cannot be part of one.
fn parse_age(r: &str) -> Result<Custody, String> {
    let lower = r.to_ascii_lowercase();
    let sep = lower.rfind('1').unwrap_or(3);
    let hrp = &lower[..sep];
    if r != lower && r != r.to_ascii_uppercase() {
        return Err("mixes upper and lower case: an age recipient is all lower case".into());
    }
    if let Some((i, c)) = lower
        .char_indices()
        .skip(sep + 1)
        .find(|(_, c)| !BECH32.contains(*c))
    {
        return Err(format!(
            "character {} ('{}') of '{}' cannot be in an age recipient (bech32 has no 1, b, i \
             or o after the prefix) — copy the recipient again",
            r[..i].chars().count() + 1,
            c.escape_default(),
            preview(r)
        ));
    }
    if hrp != "age" {
        // age1NAME1…: a hardware token (or other) through age-plugin-NAME.
        return super::plugin::recipient(&lower)
            .map(|k| Custody::Key(Key::Plugin(k)))
            .map_err(|e| format!("'{}': {e}", preview(r)));
    }
    const LEN: usize = 62;
    if r.len() != LEN {
        return Err(format!(
            "'{}' is {} characters long; an age recipient has {LEN} — part of it is missing or \
             repeated",
            preview(r),
            r.chars().count()
        ));
    }
    age::x25519::Recipient::from_str(&lower)
        .map(|k| Custody::Key(Key::X25519(k)))
        .map_err(|e| {
            format!(
                "'{}' is not a valid age recipient ({e}): its checksum does not match, so a \
                 character was mistyped or two were swapped — copy it again",
                preview(r)
            )
        })
}

/// An SSH public key line (type, base64 key, optional comment).
fn parse_ssh(r: &str) -> Result<Custody, String> {
    use age::ssh::ParseRecipientKeyError as E;
    let mut fields = r.split_whitespace();
    let kind = fields.next().unwrap_or_default();
    let blob = fields.next().unwrap_or_default();
    if let Some(i) = blob
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
        .map(|(i, _)| i)
    {
        return Err(format!(
            "character {} of the {kind} key is not base64 — copy the whole line of the .pub file",
            kind.len() + 1 + blob[..i].chars().count() + 1
        ));
    }
    age::ssh::Recipient::from_str(r)
        .map(|k| Custody::Key(Key::Ssh(k)))
        .map_err(|e| match e {
            E::Unsupported(t) => format!(
                "SSH key type {t} cannot be an age recipient: use an ssh-ed25519 or ssh-rsa key"
            ),
            E::RsaModulusTooSmall => "the ssh-rsa key is shorter than 2048 bits: too weak".into(),
            E::RsaModulusTooLarge => "the ssh-rsa key is longer than age supports".into(),
            _ if blob.is_empty() => {
                format!("{kind} with no key after it: copy the whole line of the .pub file")
            }
            _ => format!(
                "'{}' is not a valid {kind} public key (truncated or altered?) — copy the whole \
                 line of the .pub file",
                preview(r)
            ),
        })
}

/// The start of a recipient, for messages (never a secret: recipients are
/// public keys).
fn preview(r: &str) -> String {
    const SHOWN: usize = 24;
    if r.chars().count() <= SHOWN {
        r.escape_default().to_string()
    } else {
        let head: String = r.chars().take(SHOWN).collect();
        format!("{}…", head.escape_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    #[test]
    fn recipients_parse_and_bad_ones_are_named() {
        assert!(matches!(parse(GOOD), Ok(Custody::Key(Key::X25519(_)))));
        assert!(matches!(parse("plain"), Ok(Custody::Plain)));
        assert!(matches!(parse("passphrase"), Ok(Custody::Passphrase)));
        let typo = format!("{}b{}", &GOOD[..5], &GOOD[6..]);
        let e = parse(&typo).err().unwrap();
        assert!(e.contains("character 6 ('b')"), "{e}");
        let swapped = format!("{}{}", &GOOD[..61], "q");
        let e = parse(&swapped).err().unwrap();
        assert!(e.contains("checksum"), "{e}");
        let e = parse(&GOOD[..40]).err().unwrap();
        assert!(e.contains("40 characters"), "{e}");
        let e = parse("age1yubikey1qwerty").err().unwrap();
        assert!(e.contains("not a valid age plugin recipient"), "{e}");
        let e = parse("ssh-ed25519 AAAA$$").err().unwrap();
        assert!(e.contains("character 17"), "{e}");
        let e = parse("hello").err().unwrap();
        assert!(e.contains("not a recipient"), "{e}");
    }
}
