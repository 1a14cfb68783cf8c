//! `breakglass reissue`: a quorum re-issues one custodian's lost share
//! (issue 12). k shares fix the polynomial, so the share rebuilt at the
//! custodian's index is the one they lost — same value, same commitment —
//! written again: sealed to their key, under a new passphrase, or plain.
//! The vault keeps a signed record of who re-issued whose share. A share
//! that may have been copied is not re-issued: the copy would still work,
//! so that is a `rekey`.

use serde_json::json;
use vault_core::store::{self, Scope};
use vault_core::vault::ReissueError;

use crate::cli::ReissueArgs;
use crate::commands::init::{kdf, new_passphrases, refuse_existing, share_paths, write_shares};
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `reissue`.
pub fn run(a: ReissueArgs) -> CliResult {
    if a.compromised {
        return Err(CliError::input(format!(
            "a share that may have been copied is not re-issued: the copy would still open {} \
             with k−1 other shares. Rekey instead (new shares for everyone, the old ones \
             revoked): breakglass rekey {} --share … --threshold K --custodian …",
            a.vault.display(),
            a.vault.display()
        )));
    }
    let parsed = crate::custody::parse_custodians(std::slice::from_ref(&a.custodian), None)?;
    let (name, custody) = parsed
        .into_iter()
        .next()
        .expect("one --custodian parses to one");
    let vault = super::load(&a.vault)?;
    let index = vault
        .custodians()
        .iter()
        .position(|c| c.name == name)
        .map(|i| i as u8 + 1)
        .ok_or_else(|| {
            CliError::input(format!(
                "{}: no custodian named '{name}' (custodians: {})",
                a.vault.display(),
                vault
                    .custodians()
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    if vault.format() < 2 {
        return Err(CliError::input(format!(
            "{}: {}",
            a.vault.display(),
            ReissueError::FormatOne
        )));
    }
    let mut input = Input::new();
    let (unsealed, used) = super::shares::open_quorum(&vault, &a.vault, &a.shares, &mut input)?;
    let custody = [custody];
    let names = [name.clone()];
    let passphrases = new_passphrases(&mut input, &names, &custody, a.no_passphrase)?;
    let issued = unsealed
        .reissue(&vault, index, passphrases[0].as_ref(), kdf(&a.kdf))
        .map_err(|e| reissue_error(&a, e))?;
    // The record first, then the share file. Refused before anything is
    // written: an existing file (without --force) and a bad reason. A
    // share is never on disk without its record; if the file cannot be
    // written after the record, that is said, and reissue can be run
    // again. An existing file is replaced only after the record is in.
    let paths = share_paths(&a.share_dir, &names, &custody);
    refuse_existing(paths.iter(), a.force)?;
    let (actor, time) = (context::actor(), context::now());
    let reason = a.reason.trim().to_owned();
    vault_core::vault::check_reason(&reason)?;
    let appended = store::append(&a.vault, &Scope::Keys, |v| {
        unsealed.reissue_record(index, &reason, &actor, time, v.head())
    })?
    .map_err(|e| reissue_error(&a, e))?;
    let (_, digests) =
        write_shares(&a.share_dir, &paths, &[issued], &custody, a.force).map_err(|e| {
            CliError::input(format!(
                "{e} — the re-issue is recorded (record #{}) but its share file was not \
                 written: fix that and run the reissue again",
                appended.record
            ))
        })?;
    super::report_append(&a.vault, &appended);
    crate::notify::acknowledge(&a.vault, crate::notify::Since::appended(&appended));
    let path = &paths[0];
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "custodian": name,
            "index": index,
            "path": path.display().to_string(),
            "sha256": digests.first(),
            "authorised_by": used,
            "record": appended.record,
        }));
    } else {
        println!(
            "Re-issued {name}'s share (share {index} of {}) to {}: the same share as the one lost \
             (its commitment is unchanged), recorded as signed record #{} authorised by {}.",
            vault.custodians().len(),
            path.display(),
            appended.record,
            used.join(", ")
        );
        println!(
            "Hand it to {name} and have them check it (breakglass verify-share {} --share {}). \
             If the lost copy may have been found by someone else, rekey instead.",
            a.vault.display(),
            path.display()
        );
    }
    Ok(())
}

fn reissue_error(a: &ReissueArgs, e: ReissueError) -> CliError {
    match e {
        ReissueError::Input(i) => CliError::from(i),
        e @ ReissueError::Commitment(_) => CliError::damaged(format!("{}: {e}", a.vault.display())),
        e => CliError::input(format!("{}: {e}", a.vault.display())),
    }
}
