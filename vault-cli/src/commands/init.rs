//! `breakglass init`: create a vault and its shares.

use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::passphrase::KdfParams;
use vault_core::store::{self, StoreError};
use vault_core::vault::{self, InitSpec};

use crate::cli::{InitArgs, KdfArgs};
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Share file name for a custodian: `DIR/<custodian>.share`.
pub fn share_path(dir: &Path, custodian: &str) -> PathBuf {
    dir.join(format!("{}.share", file_stem(custodian)))
}

/// A file name (without extension) made from a name read from the user or
/// from a vault file, such as a custodian's. The one place names become
/// file names: the result is always one plain path component, so
/// `dir.join(stem + ".ext")` stays inside `dir`. Path separators, control
/// characters (and on Windows the characters it forbids, such as the ':'
/// of a drive) become '_', as does a leading '.' (so neither `..` nor a
/// hidden file); an empty name becomes "_". Every name `init` accepts
/// (no '/', '\', control character or leading '.') is kept as it is, so
/// existing share files are still found.
pub fn file_stem(name: &str) -> String {
    const FORBIDDEN: &[char] = if cfg!(windows) {
        &['/', '\\', '<', '>', ':', '"', '|', '?', '*']
    } else {
        &['/', '\\']
    };
    let mut stem: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_control() || FORBIDDEN.contains(&c) || (i == 0 && c == '.') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if stem.is_empty() {
        stem.push('_');
    }
    stem
}

/// Argon2id costs from the flags.
pub fn kdf(a: &KdfArgs) -> KdfParams {
    KdfParams {
        m_kib: a.argon2_memory.saturating_mul(1024),
        t: a.argon2_time,
        p: a.argon2_parallelism,
    }
}

/// Refuses existing files (unless `force`) before anyone types a passphrase.
pub fn refuse_existing<'a>(paths: impl IntoIterator<Item = &'a PathBuf>, force: bool) -> CliResult {
    if !force {
        for p in paths {
            if p.exists() {
                return Err(StoreError::Exists(p.clone()).into());
            }
        }
    }
    Ok(())
}

/// Asks each custodian for a new passphrase, unless shares are plain.
pub fn new_passphrases(
    input: &mut Input,
    custodians: &[String],
    plain: bool,
) -> CliResult<Vec<Option<secrecy::SecretString>>> {
    if plain {
        return Ok(vec![None; custodians.len()]);
    }
    custodians
        .iter()
        .map(|c| input.new_passphrase(c).map(Some))
        .collect()
}

/// Writes share files (creating the directory); on failure removes the
/// ones it wrote. Returns what it wrote, for the caller to remove if a
/// later step fails.
pub fn write_shares(
    dir: &Path,
    paths: &[PathBuf],
    shares: &[vault::IssuedShare],
    force: bool,
) -> CliResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (path, share) in paths.iter().zip(shares) {
        if let Err(e) = store::write_new_file(path, share.text.as_bytes(), force) {
            remove_all(&written);
            return Err(CliError::input(format!("{e} — nothing was created")));
        }
        written.push(path.clone());
    }
    Ok(written)
}

/// Removes files written by a step that did not complete.
pub fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// Runs `init`.
pub fn run(a: InitArgs) -> CliResult {
    super::envelope::check_text(&a.set.text)?;
    let kdf = kdf(&a.set.kdf);
    let spec = InitSpec {
        name: a.name.clone(),
        threshold: a.set.threshold,
        custodians: a.set.custodians.clone(),
        actor: context::actor(),
        time: context::now(),
        kdf,
    };
    let paths: Vec<PathBuf> = a
        .set
        .custodians
        .iter()
        .map(|c| share_path(&a.set.share_dir, c))
        .collect();
    refuse_existing(std::iter::once(&a.vault).chain(&paths), a.set.force)?;
    // Validate the spec (threshold, names, Argon2 floor) before prompting too.
    vault::validate(&spec)?;
    let passphrases = new_passphrases(&mut Input::new(), &a.set.custodians, a.set.no_passphrase)?;
    let created = vault::create(&spec, &passphrases)?;
    drop(passphrases);
    let written = write_shares(&a.set.share_dir, &paths, &created.shares, a.set.force)?;
    if let Err(e) = store::write_new_file(&a.vault, &created.bytes, a.set.force) {
        remove_all(&written);
        return Err(CliError::input(format!("{e} — nothing was created")));
    }
    crate::notify::acknowledge(&a.vault, crate::notify::Since::Record(1));
    report(&a, &paths, &created);
    Ok(())
}

fn report(a: &InitArgs, paths: &[PathBuf], created: &vault::Created) {
    let protected = !a.set.no_passphrase;
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "id": created.id.hex(),
            "fingerprint": super::list::fingerprint_json(&created.fingerprint),
            "name": a.name,
            "threshold": a.set.threshold,
            "custodians": a.set.custodians.len(),
            "shares": a.set.custodians.iter().zip(paths).map(|(c, p)| json!({
                "custodian": c,
                "path": p.display().to_string(),
                "passphrase": protected,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    println!(
        "Created vault '{}' (id {}) at {}: any {} of {} custodians can unseal.",
        a.name,
        created.id.short(),
        a.vault.display(),
        a.set.threshold,
        a.set.custodians.len()
    );
    println!(
        "Fingerprint: {} — it is printed on every envelope; depositors can pin it \
         (seal --expect)",
        created.fingerprint
    );
    for (c, p) in a.set.custodians.iter().zip(paths) {
        println!(
            "  {c}: {}{}",
            p.display(),
            if protected {
                " (passphrase-protected)"
            } else {
                " (no passphrase)"
            }
        );
    }
    println!(
        "Give each custodian their share file and delete the copies here. Anyone with {} \
         can now deposit secrets: breakglass seal {} --label LABEL",
        a.vault.display(),
        a.vault.display()
    );
    if let Some(hint) = super::envelope::reprint_hint(&a.vault, &a.set.share_dir, &a.set.text) {
        println!("{hint}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Component, Path};

    use super::{file_stem, share_path};

    #[test]
    fn file_stems_stay_one_plain_component() {
        for (name, stem) in [
            ("alice", "alice"),
            ("Zoë Müller-O'Neil", "Zoë Müller-O'Neil"),
            ("alice.smith", "alice.smith"),
            ("../evil", "_._evil"),
            ("..", "_."),
            (".", "_"),
            (".hidden", "_hidden"),
            ("/tmp/abs", "_tmp_abs"),
            ("a/b", "a_b"),
            ("a\\b", "a_b"),
            ("bell\u{7}name", "bell_name"),
            ("new\nline", "new_line"),
            ("nul\0", "nul_"),
            ("", "_"),
        ] {
            assert_eq!(file_stem(name), stem, "{name:?}");
        }
        let dir = Path::new("/safe/dir");
        for hostile in [
            "../evil",
            "..",
            "/tmp/abs",
            "a/b",
            "../../../../etc/passwd",
            "C:\\evil",
            "\\\\server\\share",
            "x\u{1b}[2J",
            "",
        ] {
            let p = share_path(dir, hostile);
            assert_eq!(p.parent(), Some(dir), "{hostile:?} -> {}", p.display());
            let file = Path::new(p.file_name().unwrap());
            assert!(
                matches!(
                    file.components().collect::<Vec<_>>()[..],
                    [Component::Normal(_)]
                ),
                "{hostile:?} -> {}",
                p.display()
            );
            assert!(!file.to_string_lossy().starts_with('.'));
            assert!(!file.to_string_lossy().chars().any(char::is_control));
        }
    }
}
