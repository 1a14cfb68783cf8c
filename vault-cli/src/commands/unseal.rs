//! `breakglass unseal`: k custodians' shares reveal entries. The use is
//! recorded (and made durable) before anything is printed.

use serde_json::json;
use vault_core::store;
use vault_core::vault::{Revealed, Unsealed, Vault};

use crate::cli::UnsealArgs;
use crate::commands::shares::{gather, Gathered};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `unseal`.
pub fn run(a: UnsealArgs) -> CliResult {
    let vault = super::load(&a.vault)?;
    let labels = requested_labels(&vault, &a.entries)?;
    let reason = a.reason.trim().to_owned();
    let mut input = Input::new();
    let gathered = gather(&vault, &a.shares, &mut input)?;
    if gathered.accepted.len() < vault.threshold() {
        return Err(too_few(&vault, &gathered));
    }
    let unsealed = vault.open(&gathered.key_shares())?;
    for index in unsealed.inconsistent() {
        super::warn(format_args!(
            "custodian {}'s share matches the commitment stored in the vault but not the other              shares: the vault's commitments were altered; the share was left out",
            vault.custodian_name(*index).unwrap_or("?")
        ));
    }
    for record in unsealed.bad_macs(&vault) {
        super::warn(format_args!(
            "audit record #{record} fails its MAC: the audit trail of {} was altered",
            a.vault.display()
        ));
    }
    let mut revealed = Vec::new();
    let mut damaged = None;
    for label in &labels {
        match unsealed.reveal(&vault, label).expect("label checked") {
            Ok(r) => revealed.push(r),
            Err(e) => {
                eprintln!("breakglass: error: {e}");
                damaged.get_or_insert(e);
            }
        }
    }
    let record = record_unseal(&a, &unsealed, &revealed, &reason)?;
    let used: Vec<&str> = gathered
        .accepted
        .iter()
        .filter(|s| !unsealed.inconsistent().contains(&s.share.index()))
        .map(|s| s.custodian.as_str())
        .collect();
    print(&a, &vault, &used, &revealed, record);
    match damaged {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The labels to reveal: those named (each must exist), else all.
fn requested_labels(vault: &Vault, named: &[String]) -> CliResult<Vec<String>> {
    if vault.entries().is_empty() {
        return Err(CliError::input(
            "the vault holds no entries yet: nothing to unseal",
        ));
    }
    if named.is_empty() {
        return Ok(vault.entries().keys().cloned().collect());
    }
    for label in named {
        if !vault.entries().contains_key(label) {
            return Err(CliError::input(format!(
                "no entry '{label}' in vault '{}' (see: breakglass list)",
                vault.name()
            )));
        }
    }
    let mut labels = named.to_vec();
    labels.dedup();
    Ok(labels)
}

fn too_few(vault: &Vault, g: &Gathered) -> CliError {
    let valid = match g.custodians() {
        v if v.is_empty() => "none".to_owned(),
        v => v.join(", "),
    };
    let rejected = match g.rejected_sources() {
        r if r.is_empty() => String::new(),
        r => format!("; rejected: {}", r.join(", ")),
    };
    CliError::shares(format!(
        "need {} valid shares, got {} (valid: {valid}{rejected}) — bring more custodians' shares",
        vault.threshold(),
        g.accepted.len()
    ))
}

/// Appends the unseal record before anything is shown. If the vault cannot
/// be written (read-only media), access goes on and the event is printed
/// on stderr instead: access must not fail because logging did.
fn record_unseal(
    a: &UnsealArgs,
    unsealed: &Unsealed,
    revealed: &[Revealed],
    reason: &str,
) -> CliResult<Option<usize>> {
    let entries: Vec<(String, u32)> = revealed
        .iter()
        .map(|r| (r.label.clone(), r.version))
        .collect();
    let (actor, time) = (context::actor(), context::now());
    let result = store::append(&a.vault, |v| {
        unsealed.unseal_record(&entries, reason, &actor, time, v.head())
    });
    match result {
        Ok(Ok(appended)) => {
            super::report_append(&a.vault, &appended);
            Ok(Some(appended.record))
        }
        Ok(Err(input)) => Err(input.into()),
        Err(e) => {
            super::warn(format_args!(
                "could not record this unseal in the vault: {e}"
            ));
            let event = json!({
                "event": "unseal",
                "time": rfc3339(time),
                "actor": actor,
                "entries": entries.iter().map(|(l, v)| json!({"label": l, "version": v})).collect::<Vec<_>>(),
                "reason": reason,
                "custodians": unsealed.custodians(),
            });
            eprintln!("breakglass: unrecorded audit event: {event}");
            Ok(None)
        }
    }
}

fn secret_text(r: &Revealed) -> &str {
    // Deposits of text kinds are checked to be UTF-8 when sealed.
    std::str::from_utf8(&r.secret.secret).unwrap_or("<not UTF-8 text>")
}

fn print(
    a: &UnsealArgs,
    vault: &Vault,
    used: &[&str],
    revealed: &[Revealed],
    record: Option<usize>,
) {
    if a.json {
        let entries: Vec<_> = revealed
            .iter()
            .map(|r| {
                json!({
                    "label": r.label,
                    "kind": r.kind.name(),
                    "version": r.version,
                    "sealed": rfc3339(r.time),
                    "username": r.secret.username.as_str(),
                    "secret": secret_text(r),
                })
            })
            .collect();
        super::print_json(&json!({
            "vault": { "id": vault.id().hex(), "name": vault.name() },
            "custodians": used,
            "record": record,
            "entries": entries,
        }));
        return;
    }
    eprintln!(
        "Unsealed with the shares of {} ({} needed){}.",
        used.join(", "),
        vault.threshold(),
        record.map_or(String::new(), |r| format!(
            "; recorded as audit record #{r}"
        ))
    );
    for r in revealed {
        println!();
        println!(
            "{} ({}, version {}, sealed {})",
            r.label,
            r.kind.name(),
            r.version,
            rfc3339(r.time)
        );
        if !r.secret.username.is_empty() {
            println!("  username: {}", r.secret.username.as_str());
        }
        let text = secret_text(r);
        if text.contains('\n') {
            println!("  secret:");
            for line in text.lines() {
                println!("    {line}");
            }
        } else {
            println!("  secret:   {text}");
        }
    }
}
