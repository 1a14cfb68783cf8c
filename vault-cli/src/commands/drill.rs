//! `breakglass drill`: k custodians prove their shares still open the vault
//! and that every entry version decrypts. Nothing is revealed; the drill is
//! recorded with the custodians present.

use serde_json::json;
use vault_core::record::DrillKind;

use crate::cli::{DrillArgs, DrillKindArg};
use crate::commands::remote::open_shares_or_request;
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Runs `drill`.
pub fn run(a: DrillArgs) -> CliResult {
    let kind = match a.kind {
        DrillKindArg::Drill => DrillKind::Drill,
        DrillKindArg::Emergency => DrillKind::Emergency,
        DrillKindArg::Misuse => DrillKind::Misuse,
    };
    let vault = super::load(&a.vault)?;
    let (unsealed, used, request) = open_shares_or_request(
        &vault,
        &a.vault,
        &a.shares,
        &a.remote,
        vault_core::remote::Purpose::Drill,
        &mut Input::new(),
    )?;
    let versions = vault.entries().version_count();
    let bar = super::progress(versions, "decrypting");
    let outcome = unsealed.check_all_with(&vault, || bar.inc(1));
    bar.finish_and_clear();
    for e in &outcome.failed {
        eprintln!("breakglass: error: {e}");
    }
    // The append below reads the vault again (its own replay when the
    // index cannot prove where the records end): not two states at once.
    let entries = vault.entries().len();
    drop(vault);
    let mut reason = a.reason.trim().to_owned();
    if let Some(open) = &request {
        reason = open.request.audit_reason(&reason);
    }
    let (actor, time) = (context::actor(), context::now());
    let record = super::append_quorum_record(
        &a.vault,
        |v| unsealed.drill_record(&outcome, kind, &reason, &actor, time, v.head()),
        || {
            json!({
                "event": "drill", "kind": kind.name(), "time": rfc3339(time), "actor": actor,
                "custodians": used, "versions_ok": outcome.ok,
                "versions_failed": outcome.failed.len(), "reason": reason,
            })
        },
    )?;
    if let Some(open) = request {
        // Finished: the contributions can never be opened again.
        if let Err(e) = open.finish() {
            super::warn(format_args!(
                "the request's key could not be destroyed: {e} — delete it by hand"
            ));
        }
    }
    if a.json {
        super::print_json(&json!({
            "ok": outcome.failed.is_empty(),
            "kind": kind.name(),
            "custodians": used,
            "entries": entries,
            "versions_ok": outcome.ok,
            "versions_failed": outcome.failed.iter().map(|e| json!({"label": e.label, "version": e.version, "record": e.record})).collect::<Vec<_>>(),
            "record": record.map(|r| r.record),
            "receipt": record.map(|r| r.to_line()),
        }));
    } else if outcome.failed.is_empty() {
        println!(
            "{} passed: the shares of {} open the vault, and all {} versions of {entries} entries decrypt. \
             Nothing was revealed.{}",
            capitalised(kind.name()),
            used.join(", "),
            outcome.ok,
            record.map_or(String::new(), |r| format!(" Recorded as audit record #{}.", r.record))
        );
    }
    if outcome.failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::damaged(format!(
            "{} failed: {} of {} entry versions do not decrypt (named above) — restore the vault from a backup",
            kind.name(),
            outcome.failed.len(),
            outcome.failed.len() as u32 + outcome.ok
        )))
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}
