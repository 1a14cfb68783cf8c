//! `breakglass init`: create a vault and its shares.

use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::passphrase::KdfParams;
use vault_core::store::{self, StoreError};
use vault_core::vault::{self, InitSpec};

use crate::cli::{CustodianSetArgs, InitArgs, KdfArgs};
use crate::context;
use crate::custody::transcript::{self, ShareLine, Transcript};
use crate::custody::{self, Custody};
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

/// Parses `--custodians FILE` and `--custodian NAME[=RECIPIENT]`: the
/// names replace `set.custodians`; how each share is protected is
/// returned in the same order.
pub fn resolve(set: &mut CustodianSetArgs) -> CliResult<Vec<Custody>> {
    let parsed = custody::parse_custodians(&set.custodians, set.custodians_file.as_deref())?;
    let (names, custody): (Vec<String>, Vec<Custody>) = parsed.into_iter().unzip();
    set.custodians = names;
    Ok(custody)
}

/// Share file paths: `DIR/<name>.share`, or `DIR/<name>.share.age` for a
/// custodian whose share is sealed to their key.
pub fn share_paths(dir: &Path, custodians: &[String], custody: &[Custody]) -> Vec<PathBuf> {
    custodians
        .iter()
        .zip(custody)
        .map(|(c, how)| match how.key() {
            Some(_) => dir.join(format!("{}.{}", file_stem(c), custody::AGE_EXTENSION)),
            None => share_path(dir, c),
        })
        .collect()
}

/// Asks each custodian whose share gets one for a new passphrase
/// (custodians with a recipient get none: their key protects the share).
pub fn new_passphrases(
    input: &mut Input,
    custodians: &[String],
    custody: &[Custody],
    no_passphrase: bool,
) -> CliResult<Vec<Option<secrecy::SecretString>>> {
    custodians
        .iter()
        .zip(custody)
        .map(|(c, how)| {
            if how.wants_passphrase(no_passphrase) {
                input.new_passphrase(c).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect()
}

/// The transcript lines for the shares written.
pub fn share_lines(
    set: &CustodianSetArgs,
    custody: &[Custody],
    paths: &[PathBuf],
    digests: &[String],
) -> Vec<ShareLine> {
    set.custodians
        .iter()
        .zip(custody)
        .zip(paths.iter().zip(digests))
        .map(|((c, how), (p, d))| ShareLine {
            custodian: c.clone(),
            custody: how.describe(set.no_passphrase),
            path: p.clone(),
            digest: d.clone(),
        })
        .collect()
}

/// Prints the transcript (unless JSON was asked for) and writes it with
/// `--transcript`.
pub fn emit_transcript(t: &Transcript<'_>, set: &CustodianSetArgs, json: bool) -> CliResult {
    if !json {
        print!("{}", t.render());
    }
    match &set.transcript {
        Some(path) => t.write(path, set.force),
        None => Ok(()),
    }
}

/// Writes share files (creating the directory), each sealed to its
/// custodian's recipient when they have one; on failure removes the ones
/// it wrote. Returns what it wrote, for the caller to remove if a later
/// step fails, and the SHA-256 of each file.
pub fn write_shares(
    dir: &Path,
    paths: &[PathBuf],
    shares: &[vault::IssuedShare],
    custody: &[Custody],
    force: bool,
) -> CliResult<(Vec<PathBuf>, Vec<String>)> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
    let mut written = Vec::new();
    let mut digests = Vec::new();
    for ((path, share), how) in paths.iter().zip(shares).zip(custody) {
        let sealed = match how.key() {
            Some(key) => key
                .seal(share.text.as_bytes(), &custody::open::custodian_of(path))
                .map(Some),
            None => Ok(None),
        };
        let result = sealed.map_err(CliError::input).and_then(|sealed| {
            let bytes = sealed.as_deref().unwrap_or(share.text.as_bytes());
            digests.push(transcript::digest(bytes));
            store::write_new_file(path, bytes, force)
                .map_err(|e| CliError::input(format!("{e} — nothing was created")))
        });
        if let Err(e) = result {
            remove_all(&written);
            return Err(e);
        }
        written.push(path.clone());
    }
    Ok((written, digests))
}

/// Removes files written by a step that did not complete.
pub fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// Runs `init`.
pub fn run(mut a: InitArgs) -> CliResult {
    super::envelope::check_text(&a.set.text)?;
    let custody = resolve(&mut a.set)?;
    let kdf = kdf(&a.set.kdf);
    let spec = InitSpec {
        name: a.name.clone(),
        threshold: a.set.threshold,
        custodians: a.set.custodians.clone(),
        actor: context::actor(),
        time: context::now(),
        kdf,
        contact: a
            .set
            .text
            .contact
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        location: a
            .set
            .text
            .place
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    let paths = share_paths(&a.set.share_dir, &a.set.custodians, &custody);
    let transcript_file = a.set.transcript.iter();
    refuse_existing(
        std::iter::once(&a.vault)
            .chain(&paths)
            .chain(transcript_file),
        a.set.force,
    )?;
    // Validate the spec (threshold, names, Argon2 floor) before prompting too.
    vault::validate(&spec)?;
    let passphrases = new_passphrases(
        &mut Input::new(),
        &a.set.custodians,
        &custody,
        a.set.no_passphrase,
    )?;
    let created = vault::create(&spec, &passphrases)?;
    drop(passphrases);
    let (written, digests) = write_shares(
        &a.set.share_dir,
        &paths,
        &created.shares,
        &custody,
        a.set.force,
    )?;
    if let Err(e) = store::write_new_file(&a.vault, &created.bytes, a.set.force) {
        remove_all(&written);
        return Err(CliError::input(format!("{e} — nothing was created")));
    }
    crate::notify::acknowledge(&a.vault, crate::notify::Since::Record(1));
    let lines = share_lines(&a.set, &custody, &paths, &digests);
    report(&a, &lines, &created);
    let t = Transcript {
        command: "init",
        vault: &a.vault,
        name: &a.name,
        threshold: a.set.threshold,
        fingerprint: &created.fingerprint,
        shares: &lines,
    };
    emit_transcript(&t, &a.set, a.json)
}

fn report(a: &InitArgs, lines: &[ShareLine], created: &vault::Created) {
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "id": created.id.hex(),
            "fingerprint": super::list::fingerprint_json(&created.fingerprint),
            "name": a.name,
            "threshold": a.set.threshold,
            "custodians": a.set.custodians.len(),
            "shares": lines.iter().map(|l| json!({
                "custodian": l.custodian,
                "path": l.path.display().to_string(),
                "passphrase": l.custody == "passphrase",
                "recipient": l.custody,
                "sha256": l.digest,
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
    for l in lines {
        let how = match l.custody.as_str() {
            "passphrase" => " (passphrase-protected)".to_owned(),
            "plain" => " (no passphrase)".to_owned(),
            key => format!(" (sealed to {key})"),
        };
        println!("  {}: {}{how}", l.custodian, l.path.display());
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
