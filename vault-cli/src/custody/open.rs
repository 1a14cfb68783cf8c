//! Opening a share sealed to its custodian: the identities given with
//! `--identity` (age identity files or SSH private keys, an encrypted SSH
//! key's passphrase typed on the terminal), loaded once per process and
//! tried on each age-encrypted share file.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use age::armor::ArmoredReader;
use zeroize::Zeroizing;

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
static LOADED: OnceLock<Result<Identities, String>> = OnceLock::new();

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
    if ids.is_empty() {
        return Err(format!(
            "share for {name} is sealed to its custodian's key (age): give --identity FILE \
             with the custodian's age identity or SSH private key"
        ));
    }
    let decryptor = age::Decryptor::new(ArmoredReader::new(bytes))
        .map_err(|e| format!("share for {name}: not a readable age file ({e})"))?;
    let mut reader = decryptor
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                format!("share for {name}: none of the identities given opens it")
            }
            other => format!("share for {name}: {other} — the file was altered or is damaged"),
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
fn identities() -> Result<&'static Identities, String> {
    LOADED
        .get_or_init(|| {
            let mut all: Identities = Vec::new();
            for path in FILES.get().map(Vec::as_slice).unwrap_or_default() {
                all.extend(load(path)?);
            }
            Ok(all)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// One identity file: an age identity file (`AGE-SECRET-KEY-1…` lines) or
/// an OpenSSH private key.
fn load(path: &Path) -> Result<Identities, String> {
    let shown = path.display();
    let bytes = read_bounded(path, super::MAX_IDENTITY_FILE, "identity file")?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("identity file {shown}: not a text key file"))?;
    if text.contains("AGE-SECRET-KEY-") {
        return age::IdentityFile::from_buffer(text.as_bytes())
            .and_then(|f| f.into_identities().map_err(std::io::Error::other))
            .map_err(|e| format!("identity file {shown}: {e}"));
    }
    if !text.contains("PRIVATE KEY-----") {
        return Err(format!(
            "identity file {shown}: neither an age identity (AGE-SECRET-KEY-1…) nor an SSH \
             private key — give the private key, not the .pub file"
        ));
    }
    let key = age::ssh::Identity::from_buffer(text.as_bytes(), Some(shown.to_string()))
        .map_err(|e| format!("identity file {shown}: {e}"))?;
    let key = match key {
        age::ssh::Identity::Encrypted(enc) => unlock(&enc, path)?,
        age::ssh::Identity::Unsupported(_) => {
            return Err(format!(
                "identity file {shown}: this SSH key type cannot open age files (use ssh-ed25519 \
                 or ssh-rsa)"
            ))
        }
        plain => plain,
    };
    Ok(vec![Box::new(key)])
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
