//! `breakglass verify-share`: one custodian checks their share and
//! passphrase alone. Reveals nothing; recorded in the audit trail.

use serde_json::json;
use vault_core::store::{self, Scope};

use crate::cli::VerifyShareArgs;
use crate::commands::shares::{check_one, source_name, Gathered};
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `verify-share`.
pub fn run(a: VerifyShareArgs) -> CliResult {
    let vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let mut input = Input::new();
    let accepted = check_one(&vault, &a.share, &mut input, &Gathered::default())?
        .map_err(|why| CliError::input(format!("share {}: {why}", source_name(&a.share))))?;
    let index = accepted.share.index();
    drop(accepted.share);
    let (actor, time) = (context::actor(), context::now());
    let recorded = match store::append(&a.vault, &Scope::Keys, |v| {
        Ok::<_, std::convert::Infallible>(v.share_verified(index, &actor, time))
    }) {
        Ok(Ok(appended)) => {
            super::report_append(&a.vault, &appended);
            Some(appended.record)
        }
        Ok(Err(never)) => match never {},
        Err(e) => {
            super::warn(format_args!(
                "the check was not recorded in the audit trail: {e}"
            ));
            None
        }
    };
    if a.json {
        super::print_json(&json!({
            "ok": true,
            "custodian": accepted.custodian,
            "index": index,
            "threshold": vault.threshold(),
            "custodians": vault.custodians().len(),
            "vault": { "id": vault.id().hex(), "name": vault.name() },
            "record": recorded,
        }));
    } else {
        println!(
            "Share OK: {} (share {index} of {}) belongs to vault '{}' (id {}); any {} shares unseal it.",
            accepted.custodian,
            vault.custodians().len(),
            vault.name(),
            vault.id().short(),
            vault.threshold()
        );
    }
    Ok(())
}
