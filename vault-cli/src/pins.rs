//! Pins on first use, SSH known_hosts style: the fingerprint of each vault
//! this user deposited into at a terminal, by path. A later interactive
//! `seal` or `rotate` into the same path refuses (exit 4) a vault whose
//! fingerprint changed, naming the old and the new. Scripts pin explicitly
//! with `--expect`. The file: `$BREAKGLASS_KNOWN_VAULTS`, else
//! `$XDG_CONFIG_HOME/breakglass/known_vaults`, else
//! `~/.config/breakglass/known_vaults` (mode 0600; on Windows
//! `%APPDATA%\breakglass\known_vaults`, as monitoring.conf); one line a vault:
//! `<fingerprint, 64 hex> <absolute path>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use vault_core::fingerprint::{Expected, Fingerprint};

use crate::error::{CliError, CliResult};

/// Where the pins live, if this user has a config directory.
pub fn file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BREAKGLASS_KNOWN_VAULTS") {
        return Some(PathBuf::from(p));
    }
    #[cfg(windows)]
    let config = std::env::var_os("APPDATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)?;
    #[cfg(not(windows))]
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("breakglass").join("known_vaults"))
}

/// The vault's path as pins name it: absolute, one line.
fn key(vault: &Path) -> Option<String> {
    let path = std::fs::canonicalize(vault).ok()?;
    let text = path.to_str()?.to_owned();
    (!text.contains(['\n', '\r'])).then_some(text)
}

fn read(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(f, p)| (f.to_owned(), p.to_owned()))
        .collect()
}

/// The fingerprint pinned for `vault`, if any.
pub fn pinned(vault: &Path) -> Option<Expected> {
    let (file, key) = (file()?, key(vault)?);
    read(&file)
        .into_iter()
        .find(|(_, p)| *p == key)
        .and_then(|(f, _)| f.parse().ok())
}

/// Pins `fingerprint` for `vault` if nothing is pinned for it yet; says so
/// on stderr. A pin that cannot be written is a warning, never a failure.
pub fn pin_first_use(vault: &Path, fingerprint: &Fingerprint) {
    let (Some(file), Some(key)) = (file(), key(vault)) else {
        return;
    };
    if read(&file).iter().any(|(_, p)| *p == key) {
        return;
    }
    match append(&file, &format!("{} {key}\n", fingerprint.full())) {
        Ok(()) => eprintln!(
            "Pinned {} to fingerprint {fingerprint} (first use, in {}): a later deposit here \
             refuses a vault whose keys changed.",
            vault.display(),
            file.display()
        ),
        Err(e) => crate::commands::warn(format_args!(
            "could not pin the vault's fingerprint in {}: {e}",
            file.display()
        )),
    }
}

fn append(file: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)?.write_all(line.as_bytes())
}

/// `breakglass pin VAULT --forget`: removes the pin of `vault`.
pub fn forget(vault: &Path) -> CliResult {
    let file = file().ok_or_else(|| CliError::input("no config directory: nothing is pinned"))?;
    let key = key(vault)
        .ok_or_else(|| CliError::input(format!("{}: no such vault file", vault.display())))?;
    let kept: String = read(&file)
        .into_iter()
        .filter(|(_, p)| *p != key)
        .map(|(f, p)| format!("{f} {p}\n"))
        .collect();
    vault_core::store::write_new_file(&file, kept.as_bytes(), true)?;
    println!(
        "Forgot the pin of {}: the next deposit at a terminal pins its current fingerprint.",
        vault.display()
    );
    Ok(())
}

/// Runs `pin`: shows the pinned and the current fingerprint, or forgets.
pub fn run(a: crate::cli::PinArgs) -> CliResult {
    if a.forget {
        return forget(&a.vault);
    }
    let vault = crate::commands::load(&a.vault)?;
    let current = vault.fingerprint();
    match pinned(&a.vault) {
        Some(p) if current.matches(&p) => {
            println!("{}: pinned, and matches: {current}", a.vault.display())
        }
        Some(_) => println!(
            "{}: its fingerprint is {current}, NOT the one pinned here at first use",
            a.vault.display()
        ),
        None => println!("{}: not pinned; fingerprint {current}", a.vault.display()),
    }
    Ok(())
}
