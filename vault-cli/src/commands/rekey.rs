//! `breakglass rekey`: when a custodian leaves. k current custodians open
//! the vault; a new master key, escrow key pair and shares are made for the
//! new custodian set, every entry version is re-encrypted, and the history
//! and audit trail are kept. The old file is kept as a backup: it still
//! opens with the old shares, so destroy it once the new shares are tested.

use std::path::PathBuf;

use serde_json::json;
use vault_core::fingerprint::Fingerprint;
use vault_core::receipt::Receipt;
use vault_core::rekey::{RekeyError, RekeySpec};
use vault_core::store;
use vault_core::vault::{self, InitSpec};

use crate::cli::RekeyArgs;
use crate::commands::init::{
    emit_transcript, kdf, new_passphrases, refuse_existing, remove_all, resolve, share_lines,
    share_paths, write_shares,
};
use crate::context;
use crate::custody::transcript::{ShareLine, Transcript};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `rekey`.
pub fn run(mut a: RekeyArgs) -> CliResult {
    super::envelope::check_text(&a.set.text)?;
    let custody = resolve(&mut a.set)?;
    let vault = super::load(&a.vault)?;
    let mut spec = RekeySpec {
        threshold: a.set.threshold,
        custodians: a.set.custodians.clone(),
        actor: context::actor(),
        time: context::now(),
        kdf: kdf(&a.set.kdf),
        reason: a.reason.trim().to_owned(),
        contact: a.set.text.contact.as_deref().map(|c| c.trim().to_owned()),
        location: a.set.text.place.as_deref().map(|w| w.trim().to_owned()),
    };
    // Refuse a bad custodian set or existing share files before anyone
    // types anything.
    vault::validate(&InitSpec {
        name: vault.name().to_owned(),
        threshold: spec.threshold,
        custodians: spec.custodians.clone(),
        actor: String::new(),
        time: 0,
        kdf: spec.kdf,
        contact: String::new(),
        location: String::new(),
    })?;
    let paths: Vec<PathBuf> = share_paths(&a.set.share_dir, &a.set.custodians, &custody);
    refuse_existing(paths.iter().chain(&a.set.transcript), a.set.force)?;
    let mut input = Input::new();
    let (unsealed, used, request) = super::remote::open_shares_or_request(
        &vault,
        &a.vault,
        &a.shares,
        &a.remote,
        vault_core::remote::Purpose::Rekey,
        &mut input,
    )?;
    if let Some(open) = &request {
        spec.reason = open.request.audit_reason(&spec.reason);
    }
    let passphrases =
        new_passphrases(&mut input, &a.set.custodians, &custody, a.set.no_passphrase)?;

    // Built under the lock from the vault as it is then; the new shares are
    // written before the new file replaces the old one.
    let mut written = Vec::new();
    let mut digests = Vec::new();
    let mut versions = 0;
    let suffix = format!("before-rekey-{}", spec.time);
    let result = store::rewrite(&a.vault, &suffix, |current, out| {
        let bar = super::progress(current.record_count(), "re-encrypting");
        let rekeyed = unsealed
            .rekey_into(current, &spec, &passphrases, || bar.inc(1), out)
            .map_err(|e| match e {
                RekeyError::Input(i) => CliError::from(i),
                RekeyError::Damaged(d) => {
                    CliError::damaged(format!("{d} — the rekey was not made"))
                }
                e @ RekeyError::BadMacs { .. } => {
                    CliError::damaged(format!("{}: {e}", a.vault.display()))
                }
                other => CliError::input(format!("{}: {other}", a.vault.display())),
            })?;
        bar.finish_and_clear();
        versions = current
            .entries()
            .values()
            .map(|e| e.versions.len())
            .sum::<usize>();
        (written, digests) = write_shares(
            &a.set.share_dir,
            &paths,
            &rekeyed.shares,
            &custody,
            a.set.force,
        )?;
        let receipt = Receipt {
            fingerprint: *rekeyed.fingerprint.as_bytes(),
            record: rekeyed.records as u32,
            head: rekeyed.head,
        };
        Ok::<_, CliError>((rekeyed.fingerprint, receipt))
    });
    let (backup, receipt) = match result {
        Ok(Ok((backup, new))) => (backup, Some(new)),
        Ok(Err(e)) => {
            remove_all(&written);
            return Err(e);
        }
        Err(e) => {
            remove_all(&written);
            return Err(CliError::from(e));
        }
    };
    if let Some(open) = request {
        // Finished: the contributions can never be opened again (and
        // their shares no longer open the vault).
        if let Err(e) = open.finish() {
            super::warn(format_args!(
                "the request's key could not be destroyed: {e} — delete it by hand"
            ));
        }
    }
    if let Some((_, r)) = &receipt {
        super::print_receipt(r);
    }
    crate::notify::acknowledge(&a.vault, crate::notify::Since::Rekey);
    let lines = share_lines(&a.set, &custody, &paths, &digests);
    report(&a, &used, versions, &lines, &backup, receipt.as_ref());
    match &receipt {
        Some((fingerprint, _)) => emit_transcript(
            &Transcript {
                command: "rekey",
                vault: &a.vault,
                name: vault.name(),
                threshold: a.set.threshold,
                fingerprint,
                shares: &lines,
            },
            &a.set,
            a.json,
        ),
        None => Ok(()),
    }
}

fn report(
    a: &RekeyArgs,
    used: &[String],
    versions: usize,
    lines: &[ShareLine],
    backup: &std::path::Path,
    new: Option<&(Fingerprint, Receipt)>,
) {
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "authorised_by": used,
            "threshold": a.set.threshold,
            "custodians": a.set.custodians,
            "versions_reencrypted": versions,
            "shares": lines.iter().map(|l| json!({
                "custodian": l.custodian, "path": l.path.display().to_string(),
                "passphrase": l.custody == "passphrase", "recipient": l.custody,
                "sha256": l.digest,
            })).collect::<Vec<_>>(),
            "backup": backup.display().to_string(),
            "fingerprint": new.map(|(f, _)| super::list::fingerprint_json(f)),
            "receipt": new.map(|(_, r)| r.to_line()),
        }));
        return;
    }
    println!(
        "Rekeyed {} with the shares of {}: any {} of {} now unseal; {versions} entry versions re-encrypted.",
        a.vault.display(),
        used.join(", "),
        a.set.threshold,
        a.set.custodians.len()
    );
    for l in lines {
        println!("  {}: {}", l.custodian, l.path.display());
    }
    if let Some((f, _)) = new {
        println!(
            "New fingerprint: {f} — print new envelopes (breakglass envelope --all): the old \
             ones no longer open the vault; depositors who pinned the old fingerprint must pin \
             this one"
        );
    }
    println!(
        "The old shares no longer open {}. The previous file was kept as {}: it still opens with \
         the old shares, so destroy it once the new shares are verified.",
        a.vault.display(),
        backup.display()
    );
    if let Some(hint) = super::envelope::reprint_hint(&a.vault, &a.set.share_dir, &a.set.text) {
        println!("{hint}");
    }
}
