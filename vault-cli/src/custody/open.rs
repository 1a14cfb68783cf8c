//! Opening a share sealed to its custodian: the identities given with
//! `--identity` (age identity files, plugin identities such as a
//! YubiKey's, or SSH private keys, an encrypted SSH key's passphrase typed
//! on the terminal), loaded once per process and tried on each
//! age-encrypted share file: native keys first, then plugins (under the
//! deadline of [`super::deadline`]).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use age::armor::ArmoredReader;
use zeroize::Zeroizing;

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
static LOADED: OnceLock<Result<Loaded, String>> = OnceLock::new();

/// The identities of all `--identity` files.
#[derive(Default)]
struct Loaded {
    /// Native age and SSH keys.
    native: Identities,
    /// Plugin identities, and their plugin binaries.
    plugins: Identities,
    binaries: Vec<String>,
}

/// Records the `--identity` files (once, from `main`).
pub fn set_identity_files(files: Vec<PathBuf>) {
    let _ = FILES.set(files);
}

/// Reads at most `max` bytes of `path` into a buffer that is wiped when
/// dropped; a larger file is refused by name.
pub fn read_bounded(path: &Path, max: usize, what: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{what} {shown}: {e}"))?;
    let mut buf = Zeroizing::new(Vec::with_capacity(max + 1));
    file.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{what} {shown}: {e}"))?;
    if buf.len() > max {
        return Err(format!(
            "{what} {shown}: larger than {} KiB — not a {what}",
            max / 1024
        ));
    }
    Ok(buf)
}

/// The custodian a share file is for, from its name (`bob.share.age`).
pub fn custodian_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut stem = name.as_str();
    for ext in [".age", ".share", ".txt"] {
        stem = stem.strip_suffix(ext).unwrap_or(stem);
    }
    stem.to_owned()
}

/// The share text inside an age-encrypted share file.
pub fn open_share(bytes: &[u8], path: &Path) -> Result<Zeroizing<String>, String> {
    let name = custodian_of(path);
    if bytes.len() > super::MAX_AGE_FILE {
        return Err(format!(
            "share for {name}: the age file is larger than {} KiB — not a share",
            super::MAX_AGE_FILE / 1024
        ));
    }
    let ids = identities()?;
    if ids.native.is_empty() && ids.plugins.is_empty() {
        return Err(format!(
            "share for {name} is sealed to its custodian's key (age): give --identity FILE \
             with the custodian's age identity, plugin identity or SSH private key"
        ));
    }
    if ids.plugins.is_empty() {
        return decrypt(bytes, &name, ids);
    }
    let bytes = Zeroizing::new(bytes.to_vec());
    let context = format!("share for {name}: ");
    super::deadline::run(&ids.binaries.join(" or "), &context, move || {
        decrypt(&bytes, &name, ids)
    })
}

/// Decrypts one share file with the identities.
fn decrypt(bytes: &[u8], name: &str, ids: &Loaded) -> Result<Zeroizing<String>, String> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(bytes))
        .map_err(|e| format!("share for {name}: not a readable age file ({e})"))?;
    let all = ids.native.iter().chain(&ids.plugins);
    let mut reader = decryptor
        .decrypt(all.map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                format!("share for {name}: none of the identities given opens it")
            }
            other => match super::plugin::failure(&other) {
                Some(why) => format!("share for {name}: {why}"),
                None => format!("share for {name}: {other} — the file was altered or is damaged"),
            },
        })?;
    let mut text = Zeroizing::new(Vec::with_capacity(super::MAX_AGE_FILE + 1));
    (&mut reader)
        .take(super::MAX_AGE_FILE as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("share for {name}: {e} — the file was altered or is damaged"))?;
    if text.len() > super::MAX_AGE_FILE {
        return Err(format!(
            "share for {name}: what it holds is too large for a share"
        ));
    }
    match std::str::from_utf8(&text) {
        Ok(s) => Ok(Zeroizing::new(s.to_owned())),
        Err(_) => Err(format!(
            "share for {name}: it holds no share text (not UTF-8)"
        )),
    }
}

/// The identities, loaded on first use.
fn identities() -> Result<&'static Loaded, String> {
    LOADED
        .get_or_init(|| {
            let mut all = Loaded::default();
            for path in FILES.get().map(Vec::as_slice).unwrap_or_default() {
                load(path, &mut all)?;
            }
            Ok(all)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The lines of an age identity file: plugin identities
/// (`AGE-PLUGIN-NAME-1…`, their plugin found on PATH) into `plugins`, the
/// rest (native `AGE-SECRET-KEY-1…` lines) read by the age crate.
fn load_age(text: &str, path: &Path, into: &mut Loaded) -> Result<(), String> {
    let shown = path.display();
    let mut native = Zeroizing::new(String::with_capacity(text.len()));
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("AGE-PLUGIN-") {
            let (id, binary) = super::plugin::identity(line)
                .map_err(|e| format!("identity file {shown} line {}: {e}", i + 1))?;
            into.plugins.push(id);
            if !into.binaries.contains(&binary) {
                into.binaries.push(binary);
            }
        } else {
            native.push_str(line);
            native.push('\n');
        }
    }
    if native.contains("AGE-SECRET-KEY-") {
        let ids = age::IdentityFile::from_buffer(native.as_bytes())
            .and_then(|f| f.into_identities().map_err(std::io::Error::other))
            .map_err(|e| format!("identity file {shown}: {e}"))?;
        into.native.extend(ids);
    }
    Ok(())
}

/// One identity file: an age identity file (`AGE-SECRET-KEY-1…` and
/// `AGE-PLUGIN-…` lines) or an OpenSSH private key.
fn load(path: &Path, into: &mut Loaded) -> Result<(), String> {
    let shown = path.display();
    let bytes = read_bounded(path, super::MAX_IDENTITY_FILE, "identity file")?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("identity file {shown}: not a text key file"))?;
    if text.contains("AGE-SECRET-KEY-") || text.contains("AGE-PLUGIN-") {
        return load_age(text, path, into);
    }
    if !text.contains("PRIVATE KEY-----") {
        return Err(format!(
            "identity file {shown}: neither an age identity (AGE-SECRET-KEY-1…), a plugin \
             identity (AGE-PLUGIN-…) nor an SSH private key — give the private key, not the \
             .pub file"
        ));
    }
    let key = age::ssh::Identity::from_buffer(text.as_bytes(), Some(shown.to_string()))
        .map_err(|e| format!("identity file {shown}: {e}"))?;
    let key = match key {
        age::ssh::Identity::Encrypted(enc) => {
            check_rounds(text, path)?;
            unlock(&enc, path)?
        }
        age::ssh::Identity::Unsupported(_) => {
            return Err(format!(
                "identity file {shown}: this SSH key type cannot open age files (use ssh-ed25519 \
                 or ssh-rsa)"
            ))
        }
        plain => plain,
    };
    into.native.push(Box::new(key));
    Ok(())
}

/// The most bcrypt rounds an SSH key's passphrase may ask for (ssh-keygen
/// uses 16 unless told `-a N`; 1,024 take several seconds). age does not
/// limit them: a key file asking for 2³² would keep the command busy for
/// ever once its passphrase is typed (red team finding 10).
const MAX_SSH_ROUNDS: u32 = 1024;

/// Refuses an encrypted OpenSSH key whose bcrypt rounds are past
/// [`MAX_SSH_ROUNDS`], before its passphrase is asked for.
fn check_rounds(text: &str, path: &Path) -> Result<(), String> {
    match bcrypt_rounds(text) {
        Some(rounds) if rounds > MAX_SSH_ROUNDS => Err(format!(
            "identity file {}: the SSH key's passphrase asks for {rounds} bcrypt rounds, more \
             than the {MAX_SSH_ROUNDS} breakglass accepts — protect it again with \
             `ssh-keygen -p -a 100 -f FILE`",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The bcrypt rounds of an encrypted OpenSSH private key (PROTOCOL.key:
/// magic, cipher name, KDF name, KDF options = salt and rounds), if the
/// text is one.
fn bcrypt_rounds(text: &str) -> Option<u32> {
    const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    let body = text.split(BEGIN).nth(1)?.split("-----END").next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = data_encoding::BASE64.decode(b64.as_bytes()).ok()?;
    let mut rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    let mut string = || -> Option<&[u8]> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let s = rest.get(4..4usize.checked_add(len)?)?;
        rest = &rest[4 + len..];
        Some(s)
    };
    let _cipher = string()?;
    if string()? != b"bcrypt" {
        return None;
    }
    let options = string()?;
    let salt_len = u32::from_be_bytes(options.get(..4)?.try_into().ok()?) as usize;
    let at = 4usize.checked_add(salt_len)?;
    Some(u32::from_be_bytes(
        options.get(at..at + 4)?.try_into().ok()?,
    ))
}

/// Decrypts a passphrase-protected SSH key with a passphrase typed on the
/// terminal (three tries).
fn unlock(enc: &age::ssh::EncryptedKey, path: &Path) -> Result<age::ssh::Identity, String> {
    let shown = path.display();
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "identity file {shown}: the SSH key is protected by a passphrase and there is no \
             terminal to type it on — run the command at a terminal"
        ));
    }
    for _ in 0..3 {
        let typed = crate::input::prompt_hidden(&format!("Passphrase for the SSH key {shown}: "))
            .map_err(|e| format!("reading the passphrase of {shown}: {e}"))?;
        match enc.decrypt(age::secrecy::SecretString::from(typed)) {
            Ok(key) => return Ok(key.into()),
            Err(_) => eprintln!("  wrong passphrase for {shown}"),
        }
    }
    Err(format!(
        "identity file {shown}: wrong passphrase for the SSH key (three tries)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An encrypted OpenSSH key's first fields, as PROTOCOL.key lays them
    /// out, asking for `rounds` bcrypt rounds.
    fn key_asking(rounds: u32) -> String {
        let string = |out: &mut Vec<u8>, s: &[u8]| {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s);
        };
        let mut options = Vec::new();
        string(&mut options, &[7; 16]);
        options.extend_from_slice(&rounds.to_be_bytes());
        let mut bytes = b"openssh-key-v1\0".to_vec();
        string(&mut bytes, b"aes256-ctr");
        string(&mut bytes, b"bcrypt");
        string(&mut bytes, &options);
        bytes.extend_from_slice(&[0, 0, 0, 1, 0xAA]);
        let b64 = data_encoding::BASE64.encode(&bytes);
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{b64}\n-----END OPENSSH PRIVATE KEY-----\n")
    }

    #[test]
    fn an_ssh_key_asking_for_endless_bcrypt_rounds_is_refused_before_its_passphrase() {
        assert_eq!(bcrypt_rounds(&key_asking(16)), Some(16));
        assert_eq!(bcrypt_rounds(&key_asking(u32::MAX)), Some(u32::MAX));
        let path = Path::new("k");
        assert!(check_rounds(&key_asking(MAX_SSH_ROUNDS), path).is_ok());
        let why = check_rounds(&key_asking(MAX_SSH_ROUNDS + 1), path).unwrap_err();
        assert!(why.contains("1025 bcrypt rounds"), "{why}");
        // Anything else is left to age to judge.
        assert_eq!(bcrypt_rounds("not a key"), None);
        assert_eq!(bcrypt_rounds(&key_asking(16)[..60]), None);
    }
}
