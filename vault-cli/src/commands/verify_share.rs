//! `breakglass verify-share`: one custodian checks their share and
//! passphrase alone. Reveals nothing; recorded in the audit trail.

use serde_json::json;
use vault_core::store::{self, Scope};

use crate::cli::VerifyShareArgs;
use crate::commands::shares::{add_file, source_name, Gathered};
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `verify-share`.
pub fn run(a: VerifyShareArgs) -> CliResult {
    let vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let mut input = Input::new();
    let mut gathered = Gathered::new(&vault);
    let typed = a.share.as_path() == std::path::Path::new("-") && input.is_terminal();
    let added = if typed {
        // At a terminal, the share is typed as for unseal: line by line.
        super::interactive::verify_one(&mut gathered, &mut input)?
    } else {
        add_file(&mut gathered, &a.share, &mut input)?
    };
    let custodian =
        added.map_err(|why| CliError::input(format!("share {}: {why}", source_name(&a.share))))?;
    let share = gathered.quorum.shares()[0].clone();
    let index = share.index();
    drop(gathered);
    let (actor, time) = (context::actor(), context::now());
    let recorded = match store::append(&a.vault, &Scope::Keys, |v| {
        Ok::<_, std::convert::Infallible>(v.share_verified(&share, &actor, time, v.head()))
    }) {
        Ok(Ok(appended)) => {
            super::report_append(&a.vault, &appended);
            crate::notify::acknowledge(&a.vault, crate::notify::Since::appended(&appended));
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
            "custodian": custodian,
            "index": index,
            "threshold": vault.threshold(),
            "custodians": vault.custodians().len(),
            "vault": { "id": vault.id().hex(), "name": vault.name() },
            "record": recorded,
        }));
    } else {
        println!(
            "Share OK: {} (share {index} of {}) belongs to vault '{}' (id {}); any {} shares unseal it.",
            custodian,
            vault.custodians().len(),
            vault.name(),
            vault.id().short(),
            vault.threshold()
        );
    }
    Ok(())
}
