//! `breakglass unseal`: k custodians' shares reveal entries. The use is
//! recorded (and made durable) before anything is printed.

use serde_json::json;
use vault_core::receipt::Receipt;
use vault_core::store::Scope;
use vault_core::vault::{EntryDamaged, Revealed, SelectError, Unsealed, Vault};
use zeroize::Zeroizing;

use crate::cli::UnsealArgs;
use crate::commands::interactive;
use crate::commands::remote::OpenRequest;
use crate::commands::shares::{open_gathered, open_quorum};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `unseal`.
pub fn run(a: UnsealArgs) -> CliResult {
    if a.shares.is_empty() && a.request.is_none() && !Input::new().is_terminal() {
        return Err(CliError::usage(
            "give the shares with --share FILE (one per custodian), or run unseal at a terminal to type them",
        ));
    }
    let vault = super::load_scope(&a.vault, &scope(&a))?;
    let labels = select_labels(&vault, &a)?;
    let mut reason = a.reason.trim().to_owned();
    let (unsealed, used, request) = open(&vault, &a, &mut reason)?;
    let (revealed, damaged) = reveal(&vault, &unsealed, &labels, a.history);
    let record = record_unseal(&a, &unsealed, &revealed, &reason)?;
    if let Some(open) = request {
        // Finished: the contributions can never be opened again. The
        // unseal is recorded, so a failure here must not hide the secrets.
        if let Err(e) = open.finish() {
            super::warn(format_args!(
                "the request's key could not be destroyed: {e} — delete it by hand"
            ));
        }
    }
    let used: Vec<&str> = used.iter().map(String::as_str).collect();
    print(&a, &vault, &used, &revealed, record);
    match damaged {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// What must be read: the entries named, or the device's, or everything.
/// Naming them lets a vault of any size be read through its index.
fn scope(a: &UnsealArgs) -> Scope {
    match (&a.device, a.entries.is_empty()) {
        (_, false) => Scope::Entries(a.entries.clone()),
        (Some(device), true) => Scope::Device(device.clone()),
        (None, true) => Scope::Whole,
    }
}

/// The labels asked for (`--entry`, `--device`, or all), each checked.
fn select_labels(vault: &Vault, a: &UnsealArgs) -> CliResult<Vec<String>> {
    vault
        .select(&a.entries, a.device.as_deref())
        .map_err(|e| match e {
            SelectError::Empty => CliError::input(e.to_string()),
            SelectError::NoEntry { .. } => CliError::input(format!("{e} (see: breakglass list)")),
            SelectError::NoDeviceEntry { .. } => {
                CliError::input(format!("{e} (see: breakglass list --search)"))
            }
        })
}

/// Opens the vault with shares given as files, typed at the terminal, or
/// contributed to a request (whose id then prefixes the audit reason).
fn open(
    vault: &Vault,
    a: &UnsealArgs,
    reason: &mut String,
) -> CliResult<(Unsealed, Vec<String>, Option<OpenRequest>)> {
    let Some(path) = &a.request else {
        let mut input = Input::new();
        let (u, used) = if a.shares.is_empty() {
            let gathered = interactive::gather(vault, &mut input)?;
            open_gathered(&a.vault, &gathered)?
        } else {
            open_quorum(vault, &a.vault, &a.shares, &mut input)?
        };
        return Ok((u, used, None));
    };
    let request = OpenRequest::load(vault, path)?;
    let gathered = request.gather(vault, &a.contributions);
    let (u, used) = open_gathered(&a.vault, &gathered)?;
    let r = &request.request;
    *reason = r.audit_reason(reason);
    Ok((u, used, Some(request)))
}

/// Decrypts the current (or, with history, every) version of each label.
/// A version that does not decrypt is named; the others are still shown.
fn reveal(
    vault: &Vault,
    unsealed: &Unsealed,
    labels: &[String],
    history: bool,
) -> (Vec<Revealed>, Option<EntryDamaged>) {
    let (revealed, damaged) = unsealed.reveal_all(vault, labels, history);
    for e in &damaged {
        eprintln!("breakglass: error: {e}");
    }
    (revealed, damaged.into_iter().next())
}

/// Appends the unseal record before anything is shown.
fn record_unseal(
    a: &UnsealArgs,
    unsealed: &Unsealed,
    revealed: &[Revealed],
    reason: &str,
) -> CliResult<Option<Receipt>> {
    let entries: Vec<(String, u32)> = revealed
        .iter()
        .map(|r| (r.label.clone(), r.version))
        .collect();
    let (actor, time) = (context::actor(), context::now());
    super::append_quorum_record(
        &a.vault,
        |v| unsealed.unseal_record(&entries, reason, &actor, time, v.head()),
        || {
            json!({
                "event": "unseal",
                "time": rfc3339(time),
                "actor": actor,
                "entries": entries.iter().map(|(l, v)| json!({"label": l, "version": v})).collect::<Vec<_>>(),
                "reason": reason,
                "custodians": unsealed.custodians(),
            })
        },
    )
}

/// A revealed secret as text: text kinds as they are (checked to be UTF-8
/// when sealed), files as base64.
fn secret_text(r: &Revealed) -> Zeroizing<String> {
    match std::str::from_utf8(&r.secret.secret) {
        Ok(t) if r.kind.is_text() => Zeroizing::new(t.to_owned()),
        _ => Zeroizing::new(data_encoding::BASE64.encode(&r.secret.secret)),
    }
}

fn print(
    a: &UnsealArgs,
    vault: &Vault,
    used: &[&str],
    revealed: &[Revealed],
    receipt: Option<Receipt>,
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
                    "secret": secret_text(r).as_str(),
                    "encoding": if r.kind.is_text() { "text" } else { "base64" },
                })
            })
            .collect();
        super::print_json(&json!({
            "vault": { "id": vault.id().hex(), "name": vault.name() },
            "custodians": used,
            "record": receipt.map(|r| r.record),
            "receipt": receipt.map(|r| r.to_line()),
            "entries": entries,
        }));
        return;
    }
    eprintln!(
        "Unsealed with the shares of {} ({} needed){}.",
        used.join(", "),
        vault.threshold(),
        receipt.map_or(String::new(), |r| format!(
            "; recorded as audit record #{}",
            r.record
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
        if !r.kind.is_text() {
            println!("  secret ({} bytes, base64):", r.secret.secret.len());
            for chunk in text.as_bytes().chunks(76) {
                println!("    {}", String::from_utf8_lossy(chunk));
            }
        } else if text.contains('\n') {
            println!("  secret:");
            for line in text.lines() {
                println!("    {line}");
            }
        } else {
            println!("  secret:   {}", text.as_str());
        }
    }
}
