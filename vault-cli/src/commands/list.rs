//! `breakglass list`: the public view of a vault. Needs no share.

use serde_json::json;
use vault_core::vault::Vault;

use crate::cli::ListArgs;
use crate::context::rfc3339;
use crate::error::CliResult;

/// The vault's public description, shared by several `--json` outputs.
pub fn vault_json(vault: &Vault) -> serde_json::Value {
    json!({
        "id": vault.id().hex(),
        "name": vault.name(),
        "created": rfc3339(vault.genesis().time),
        "threshold": vault.threshold(),
        "custodians": vault.custodians().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
    })
}

/// Runs `list`.
pub fn run(a: ListArgs) -> CliResult {
    let vault = super::load(&a.vault)?;
    if a.json {
        let entries: Vec<_> = vault
            .entries()
            .values()
            .map(|e| {
                json!({
                    "label": e.label,
                    "kind": e.kind.name(),
                    "versions": e.versions.len(),
                    "device": e.current().device,
                    "created": rfc3339(e.versions[0].time),
                    "updated": rfc3339(e.current().time),
                })
            })
            .collect();
        super::print_json(&json!({ "vault": vault_json(&vault), "entries": entries }));
        return Ok(());
    }
    let names: Vec<&str> = vault.custodians().iter().map(|c| c.name.as_str()).collect();
    println!(
        "Vault '{}' (id {}): any {} of {} unseal — {}",
        vault.name(),
        vault.id().short(),
        vault.threshold(),
        names.len(),
        names.join(", ")
    );
    if vault.entries().is_empty() {
        println!(
            "No entries yet. Deposit one with: breakglass seal {} --label LABEL",
            a.vault.display()
        );
        return Ok(());
    }
    let width = vault
        .entries()
        .keys()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$}  {:<12}  {:>8}  UPDATED",
        "LABEL", "KIND", "VERSIONS"
    );
    for e in vault.entries().values() {
        println!(
            "{:<width$}  {:<12}  {:>8}  {}",
            e.label,
            e.kind.name(),
            e.versions.len(),
            rfc3339(e.current().time)
        );
    }
    Ok(())
}
