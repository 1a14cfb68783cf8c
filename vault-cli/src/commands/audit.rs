//! `breakglass audit`: the vault's records as events, for people or (with
//! `--json`) as JSON lines for a SIEM. `--verify` checks the whole file and
//! prints the head hash: keep it, and a later file that does not contain
//! that head has been rolled back.

use serde_json::{json, Value};
use vault_core::record::{attr, Record};
use vault_core::store;
use vault_core::vault::Vault;

use crate::cli::AuditArgs;
use crate::commands::shares;
use crate::context::rfc3339;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// One record as a stable JSON event (fields documented in README.md).
pub fn event(vault: &Vault, number: usize, record: &Record, hash: &[u8]) -> Value {
    let name = |i: &u8| vault.custodian_name(*i).unwrap_or("?").to_owned();
    let mut e = match record {
        Record::Genesis(g) => json!({
            "event": "init",
            "time": rfc3339(g.time),
            "actor": g.actor,
            "vault": g.name,
            "threshold": g.threshold,
            "custodians": g.custodians.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        }),
        Record::Deposit(d) => json!({
            "event": if d.attribute(attr::ROTATION).is_some() { "rotate" } else { "deposit" },
            "time": rfc3339(d.time),
            "actor": d.actor,
            "entries": [{ "label": d.label, "version": d.version }],
            "kind": d.kind.name(),
        }),
        Record::Unseal(u) => json!({
            "event": "unseal",
            "time": rfc3339(u.time),
            "actor": u.actor,
            "custodians": u.custodians.iter().map(name).collect::<Vec<_>>(),
            "entries": u.entries.iter().map(|(l, v)| json!({ "label": l, "version": v })).collect::<Vec<_>>(),
            "reason": u.reason,
        }),
        Record::Drill(d) => json!({
            "event": "drill",
            "time": rfc3339(d.time),
            "actor": d.actor,
            "kind": d.kind.name(),
            "custodians": d.custodians.iter().map(name).collect::<Vec<_>>(),
            "versions_ok": d.versions_ok,
            "versions_failed": d.versions_failed,
            "reason": d.reason,
        }),
        Record::ShareVerified(s) => json!({
            "event": "share-verified",
            "time": rfc3339(s.time),
            "actor": s.actor,
            "custodians": [name(&s.custodian)],
        }),
    };
    e["record"] = json!(number);
    e["vault_id"] = json!(vault.id().hex());
    e["hash"] = json!(super::hex(hash));
    e
}

fn human(e: &Value) -> String {
    let mut line = format!(
        "#{:<4} {}  {:<14}",
        e["record"],
        e["time"].as_str().unwrap_or(""),
        e["event"].as_str().unwrap_or("")
    );
    if let Some(c) = e["custodians"].as_array() {
        let names: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
        line.push_str(&format!(" custodians={}", names.join(",")));
    }
    if let Some(entries) = e["entries"].as_array() {
        let list: Vec<String> = entries
            .iter()
            .map(|x| format!("{}@v{}", x["label"].as_str().unwrap_or(""), x["version"]))
            .collect();
        line.push_str(&format!(" entries={}", list.join(",")));
    }
    if e["event"] == "drill" {
        line.push_str(&format!(
            " kind={} versions_ok={} versions_failed={}",
            e["kind"].as_str().unwrap_or(""),
            e["versions_ok"],
            e["versions_failed"]
        ));
    }
    if let Some(r) = e["reason"].as_str().filter(|r| !r.is_empty()) {
        line.push_str(&format!(" reason={r:?}"));
    }
    line.push_str(&format!(" by {}", e["actor"].as_str().unwrap_or("")));
    line
}

/// Runs `audit`.
pub fn run(a: AuditArgs) -> CliResult {
    let loaded = store::load(&a.vault)?;
    let vault = &loaded.vault;
    for (i, placed) in vault.records().iter().enumerate() {
        let e = event(vault, i + 1, &placed.record, &placed.frame.hash);
        if a.json {
            println!("{e}");
        } else {
            println!("{}", human(&e));
        }
    }
    if let Some(t) = &loaded.torn {
        let msg = format!(
            "{}: {} bytes at offset {} after record #{} are not a valid record ({})",
            a.vault.display(),
            t.len,
            t.offset,
            vault.records().len(),
            t.why
        );
        if a.verify {
            return Err(CliError::damaged(format!(
                "{msg} — an interrupted write or tampering; the records before it are intact"
            )));
        }
        super::warn(msg);
    }
    if a.verify {
        if !a.shares.is_empty() {
            verify_macs(&a, vault)?;
        }
        eprintln!(
            "Verified {} records: hash chain intact{}. Head hash: {}",
            vault.records().len(),
            if a.shares.is_empty() {
                ""
            } else {
                ", quorum records authentic"
            },
            super::hex(vault.head())
        );
        if a.shares.is_empty() {
            eprintln!(
                "(Give k custodians' shares with --share to check the MACs of quorum records too.)"
            );
        }
    }
    Ok(())
}

/// Checks the MAC of every quorum record with k shares; exit 4 naming the
/// first record that fails.
fn verify_macs(a: &AuditArgs, vault: &Vault) -> CliResult {
    let (unsealed, _) = shares::open_quorum(vault, &a.vault, &a.shares, &mut Input::new())?;
    match unsealed.bad_macs(vault).first() {
        Some(first) => Err(CliError::damaged(format!(
            "{}: audit record #{first} fails its MAC: the audit trail was altered from that record on \
             (or the record was forged)",
            a.vault.display()
        ))),
        None => Ok(()),
    }
}
