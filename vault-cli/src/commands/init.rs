//! `breakglass init`: create a vault and its shares.

use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::passphrase::KdfParams;
use vault_core::store::{self, StoreError};
use vault_core::vault::{self, InitSpec};

use crate::cli::InitArgs;
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Share file name for a custodian.
fn share_path(dir: &Path, custodian: &str) -> PathBuf {
    dir.join(format!("{custodian}.share"))
}

/// Runs `init`.
pub fn run(a: InitArgs) -> CliResult {
    let kdf = KdfParams {
        m_kib: a.kdf.argon2_memory.saturating_mul(1024),
        t: a.kdf.argon2_time,
        p: a.kdf.argon2_parallelism,
    };
    let spec = InitSpec {
        name: a.name.clone(),
        threshold: a.threshold,
        custodians: a.custodians.clone(),
        actor: context::actor(),
        time: context::now(),
        kdf,
    };
    // Refuse existing files before anyone types a passphrase.
    let paths: Vec<PathBuf> = a
        .custodians
        .iter()
        .map(|c| share_path(&a.share_dir, c))
        .collect();
    if !a.force {
        for p in std::iter::once(&a.vault).chain(&paths) {
            if p.exists() {
                return Err(StoreError::Exists(p.clone()).into());
            }
        }
    }
    // Validate the spec (threshold, names, Argon2 floor) before prompting too.
    vault::validate(&spec)?;
    let mut input = Input::new();
    let passphrases = if a.no_passphrase {
        vec![None; a.custodians.len()]
    } else {
        a.custodians
            .iter()
            .map(|c| input.new_passphrase(c).map(Some))
            .collect::<CliResult<Vec<_>>>()?
    };
    let created = vault::create(&spec, &passphrases)?;
    drop(passphrases);

    std::fs::create_dir_all(&a.share_dir)
        .map_err(|e| CliError::input(format!("{}: {e}", a.share_dir.display())))?;
    write_all(&a, &paths, &created.bytes, &created.shares)?;
    report(&a, &paths, &created);
    Ok(())
}

/// Writes shares, then the vault; on any failure removes what it wrote.
fn write_all(
    a: &InitArgs,
    paths: &[PathBuf],
    vault_bytes: &[u8],
    shares: &[vault::IssuedShare],
) -> CliResult {
    let mut written: Vec<&Path> = Vec::new();
    let mut result = Ok(());
    for (path, share) in paths.iter().zip(shares) {
        result = store::write_new_file(path, share.text.as_bytes(), a.force);
        if result.is_err() {
            break;
        }
        written.push(path);
    }
    if result.is_ok() {
        result = store::write_new_file(&a.vault, vault_bytes, a.force);
    }
    if let Err(e) = result {
        for p in written {
            let _ = std::fs::remove_file(p);
        }
        return Err(CliError::input(format!("{e} — nothing was created")));
    }
    Ok(())
}

fn report(a: &InitArgs, paths: &[PathBuf], created: &vault::Created) {
    let protected = !a.no_passphrase;
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "id": created.id.hex(),
            "name": a.name,
            "threshold": a.threshold,
            "custodians": a.custodians.len(),
            "shares": a.custodians.iter().zip(paths).map(|(c, p)| json!({
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
        a.threshold,
        a.custodians.len()
    );
    for (c, p) in a.custodians.iter().zip(paths) {
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
}
