//! `breakglass upgrade`: a quorum moves a format version 1 vault to format
//! version 2 (docs/FORMAT.md §14.6). The master key, escrow key and shares
//! stay; the new file's genesis names the quorum's and each custodian's
//! signature keys, and every record a quorum writes from now on is signed,
//! so anyone can check the audit trail without shares. The quorum checks
//! every format 1 MAC first: it signs only a trail it verified.

use serde_json::json;
use vault_core::receipt::Receipt;
use vault_core::rekey::{RekeyError, UpgradeSpec};
use vault_core::store;

use crate::cli::UpgradeArgs;
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `upgrade`.
pub fn run(a: UpgradeArgs) -> CliResult {
    super::envelope::check_text(&a.text)?;
    let vault = super::load(&a.vault)?;
    if vault.format() != 1 {
        return Err(CliError::input(format!(
            "{}: already format version {}: nothing to upgrade",
            a.vault.display(),
            vault.format()
        )));
    }
    let before = vault.fingerprint();
    let mut input = Input::new();
    let (unsealed, used) = super::shares::open_quorum(&vault, &a.vault, &a.shares, &mut input)?;
    let spec = UpgradeSpec {
        actor: context::actor(),
        time: context::now(),
        reason: a.reason.trim().to_owned(),
        contact: a.text.contact.clone().unwrap_or_default().trim().to_owned(),
        location: a.text.place.clone().unwrap_or_default().trim().to_owned(),
    };
    let suffix = format!("before-upgrade-{}", spec.time);
    let result = store::rewrite(&a.vault, &suffix, |current, out| {
        let bar = super::progress(current.record_count(), "upgrading");
        let upgraded = unsealed
            .upgrade_into(current, &spec, || bar.inc(1), out)
            .map_err(|e| upgrade_error(&a.vault, e))?;
        bar.finish_and_clear();
        Ok::<_, CliError>(upgraded)
    });
    let (backup, upgraded) = match result {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(CliError::from(e)),
    };
    let receipt = Receipt {
        fingerprint: *upgraded.fingerprint.as_bytes(),
        record: upgraded.records as u32,
        head: upgraded.head,
    };
    super::print_receipt(&receipt);
    crate::notify::acknowledge(&a.vault, crate::notify::Since::Rekey);
    if a.json {
        super::print_json(&json!({
            "vault": a.vault.display().to_string(),
            "authorised_by": used,
            "format": 2,
            "previous_fingerprint": super::list::fingerprint_json(&before),
            "fingerprint": super::list::fingerprint_json(&upgraded.fingerprint),
            "generation": vault.generation(),
            "records": upgraded.records,
            "backup": backup.display().to_string(),
            "receipt": receipt.to_line(),
        }));
        return Ok(());
    }
    println!(
        "Upgraded {} to format version 2 with the shares of {}.",
        a.vault.display(),
        used.join(", ")
    );
    println!(
        "Fingerprint: {} (was {}). Give depositors the new recipient (breakglass recipient {}): \
         deposits pinned to the old fingerprint are refused until they pin the new one.",
        upgraded.fingerprint,
        before,
        a.vault.display()
    );
    println!(
        "The shares and envelopes stay valid (generation {}). Every quorum record is now signed: \
         `breakglass audit {} --verify` checks them without shares. The version 1 file was kept \
         as {}.",
        vault.generation(),
        a.vault.display(),
        backup.display()
    );
    Ok(())
}

fn upgrade_error(path: &std::path::Path, e: RekeyError) -> CliError {
    match e {
        RekeyError::Input(i) => CliError::from(i),
        RekeyError::Damaged(d) => CliError::damaged(format!("{d} — the upgrade was not made")),
        e @ (RekeyError::BadMacs { .. } | RekeyError::Commitment { .. }) => {
            CliError::damaged(format!("{}: {e}", path.display()))
        }
        other => CliError::input(format!("{}: {other}", path.display())),
    }
}
