//! `breakglass list`: the public view of a vault. Needs no share.

use serde_json::json;
use vault_core::store::Scope;
use vault_core::vault::{Entry, Vault};

use crate::cli::ListArgs;
use crate::context::rfc3339;
use crate::error::CliResult;

/// The vault's public description, shared by several `--json` outputs.
pub fn vault_json(vault: &Vault) -> serde_json::Value {
    json!({
        "id": vault.id().hex(),
        "fingerprint": fingerprint_json(&vault.fingerprint()),
        "generation": vault.generation(),
        "name": vault.name(),
        "created": rfc3339(vault.genesis().time),
        "threshold": vault.threshold(),
        "custodians": vault.custodians().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
    })
}

/// A fingerprint in `--json` output: the short form people compare and the
/// full form machines pin.
pub fn fingerprint_json(f: &vault_core::fingerprint::Fingerprint) -> serde_json::Value {
    json!({ "short": f.short(), "full": f.full() })
}

/// The fingerprint and generation, as people read them: "ZV8B-… (generation
/// 2, since 2026-11-30: envelopes printed before then no longer open it)".
pub fn fingerprint_line(vault: &Vault) -> String {
    match vault.generation() {
        1 => format!("{} (generation 1)", vault.fingerprint()),
        g => {
            let since = rfc3339(vault.genesis().time);
            let day = since.get(..10).unwrap_or(&since);
            format!(
                "{} (generation {g}, since {day}: envelopes printed before then no longer open it)",
                vault.fingerprint()
            )
        }
    }
}

fn matches(entry: &Entry, a: &ListArgs) -> bool {
    let device_ok = a.device.as_deref().is_none_or(|d| entry.is_for_device(d));
    let search_ok = a.search.as_deref().is_none_or(|t| entry.matches_search(t));
    device_ok && search_ok
}

/// Runs `list`.
pub fn run(a: ListArgs) -> CliResult {
    // An exact device is found through the index; a search reads everything.
    let scope = match (&a.device, &a.search) {
        (Some(device), None) => Scope::Device(device.clone()),
        _ => Scope::Whole,
    };
    let vault = super::load_scope(&a.vault, &scope)?;
    let shown: Vec<&Entry> = vault
        .entries()
        .values()
        .filter(|e| matches(e, &a))
        .collect();
    if a.json {
        let entries: Vec<_> = shown
            .iter()
            .map(|e| {
                json!({
                    "label": e.label,
                    "kind": e.kind.name(),
                    "versions": e.versions.len(),
                    "device": e.current().device,
                    "key_id": e.current().key_id,
                    "also_known_as": e.current().also_known_as,
                    "user": e.current().user,
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
    println!("Fingerprint: {}", fingerprint_line(&vault));
    if vault.entries().is_empty() && a.device.is_none() && a.search.is_none() {
        println!(
            "No entries yet. Deposit one with: breakglass seal {} --label LABEL",
            a.vault.display()
        );
        return Ok(());
    }
    if shown.is_empty() {
        println!("No entry matches.");
        return Ok(());
    }
    let width = shown
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$}  {:<12}  {:>8}  {:<20}  {:<8}  DEVICE",
        "LABEL", "KIND", "VERSIONS", "UPDATED", "KEY ID"
    );
    for e in &shown {
        println!(
            "{:<width$}  {:<12}  {:>8}  {:<20}  {:<8}  {}",
            e.label,
            e.kind.name(),
            e.versions.len(),
            rfc3339(e.current().time),
            e.current().key_id.as_deref().unwrap_or(""),
            e.current().device.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
