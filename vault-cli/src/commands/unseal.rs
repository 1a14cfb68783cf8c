//! `breakglass unseal`: k custodians' shares reveal entries. The use is
//! recorded (and made durable) before anything is printed.

use serde_json::json;
use vault_core::receipt::Receipt;
use vault_core::store::Scope;
use vault_core::vault::{
    EntryDamaged, KeyIdQuery, Lookup, Revealed, SelectError, Several, Unsealed, Vault,
};

use crate::cli::UnsealArgs;
use crate::commands::remote::OpenRequest;
use crate::commands::shares::{open_gathered, open_quorum};
use crate::commands::{interactive, pick};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `unseal`.
pub fn run(a: UnsealArgs) -> CliResult {
    // A lookup that cannot be a key ID is refused before anything is read.
    let lookup = lookup(&a)?;
    if a.shares.is_empty() && a.remote.request.is_none() && !Input::new().is_terminal() {
        return Err(CliError::usage(
            "give the shares with --share FILE (one per custodian), or run unseal at a terminal to type them",
        ));
    }
    let named = !a.entries.is_empty() || lookup.is_some() || a.all;
    if !named && !Input::new().is_terminal() {
        return Err(pick::nothing_named());
    }
    let vault = super::load_scope(&a.vault, &scope(&a, lookup.as_ref()))?;
    let mut reason = a.reason.trim().to_owned();
    let labels = select_labels(&vault, &a, lookup.as_ref())?;
    let labels = if named {
        labels
    } else {
        pick::ask(&vault, &mut Input::new(), &mut reason)?
    };
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

/// The lookup asked for: `--device`, or `--key-id` checked to be a key ID.
fn lookup(a: &UnsealArgs) -> CliResult<Option<Lookup>> {
    if let Some(id) = &a.key_id {
        let id = KeyIdQuery::parse(id).map_err(|e| CliError::input(e.to_string()))?;
        return Ok(Some(Lookup::KeyId(id)));
    }
    Ok(a.device.clone().map(Lookup::Device))
}

/// What must be read: the entries named, or the device's, or the key
/// ID's, or everything. Naming them lets a vault of any size be read
/// through its index (docs/FORMAT.md §12).
fn scope(a: &UnsealArgs, lookup: Option<&Lookup>) -> Scope {
    match (lookup, a.entries.is_empty()) {
        (_, false) => Scope::Entries(a.entries.clone()),
        (Some(Lookup::Device(device)), true) => Scope::Device(device.clone()),
        (Some(Lookup::KeyId(id)), true) => Scope::KeyId(id.clone()),
        (None, true) => Scope::Whole,
    }
}

/// The labels asked for (`--entry`, `--device`, `--key-id`, or all: with
/// none named, the caller then asks which), each checked. A lookup that finds several entries is settled here, before any
/// share is asked for: a person at a terminal picks one; otherwise it is
/// refused unless `--all-matches`.
fn select_labels(vault: &Vault, a: &UnsealArgs, lookup: Option<&Lookup>) -> CliResult<Vec<String>> {
    let several = if a.all_matches {
        Several::All
    } else {
        Several::Refuse
    };
    match vault.select(&a.entries, lookup, several) {
        Ok(labels) => Ok(labels),
        Err(SelectError::SeveralMatches { lookup, labels }) => {
            let mut input = Input::new();
            if input.is_terminal() {
                return choose(vault, &lookup, &labels, &mut input).map(|l| vec![l]);
            }
            Err(CliError::input(format!(
                "{} — reveal one with --entry LABEL (or all of them deliberately with \
                 --all-matches)",
                SelectError::SeveralMatches { lookup, labels }
            )))
        }
        Err(e @ SelectError::Empty) => Err(CliError::input(e.to_string())),
        Err(e @ SelectError::NoEntry { .. }) => {
            Err(CliError::input(format!("{e} (see: breakglass list)")))
        }
        Err(e @ SelectError::NoMatch { .. }) => Err(CliError::input(format!(
            "{e} (see: breakglass list --search)"
        ))),
    }
}

/// Asks the person at the terminal which of `labels` to reveal, showing
/// what tells them apart: kind, device, key ID, last deposit.
fn choose(
    vault: &Vault,
    lookup: &Lookup,
    labels: &[String],
    input: &mut Input,
) -> CliResult<String> {
    eprintln!("{lookup} matches {} entries:", labels.len());
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(5);
    for (n, label) in labels.iter().enumerate() {
        let Some(e) = vault.entries().get(label) else {
            continue;
        };
        let v = e.current();
        eprintln!(
            "  {:>2}  {label:<width$}  {:<12}  {:<20}  {:<8}  deposited {}",
            n + 1,
            e.kind.name(),
            v.device.as_deref().unwrap_or("-"),
            v.key_id.as_deref().unwrap_or("-"),
            rfc3339(v.time),
        );
    }
    loop {
        let answer = input.visible_line(&format!(
            "Which one to reveal? (1-{}, empty to cancel): ",
            labels.len()
        ))?;
        let answer = answer.trim();
        if answer.is_empty() || answer.eq_ignore_ascii_case("q") {
            return Err(CliError::input(
                "nothing chosen: nothing revealed (name one with --entry LABEL)",
            ));
        }
        match answer.parse::<usize>() {
            Ok(n) if (1..=labels.len()).contains(&n) => return Ok(labels[n - 1].clone()),
            _ => eprintln!("Give a number from 1 to {}.", labels.len()),
        }
    }
}

/// Opens the vault with shares given as files, typed at the terminal, or
/// contributed to a request (whose id then prefixes the audit reason).
fn open(
    vault: &Vault,
    a: &UnsealArgs,
    reason: &mut String,
) -> CliResult<(Unsealed, Vec<String>, Option<OpenRequest>)> {
    let Some(path) = &a.remote.request else {
        let mut input = Input::new();
        let (u, used) = if a.shares.is_empty() {
            let gathered = interactive::gather(vault, &mut input)?;
            open_gathered(&a.vault, &gathered)?
        } else {
            open_quorum(vault, &a.vault, &a.shares, &mut input)?
        };
        return Ok((u, used, None));
    };
    let request = OpenRequest::load(vault, path, vault_core::remote::Purpose::Unseal)?;
    let gathered = request.gather(vault, &a.remote.contributions);
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
                    "secret": r.secret_text().as_str(),
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
        let text = r.secret_text();
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
