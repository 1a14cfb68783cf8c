//! `breakglass status`: the readiness report. Exits 5 when anything is
//! overdue, for monitoring.

use serde_json::json;
use vault_core::readiness::{self, Due, Readiness, Warning};

use crate::cli::StatusArgs;
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};

fn parse_time(s: &str) -> CliResult<u64> {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| CliError::usage(format!("--at {s}: give a time like 2026-12-31T00:00:00Z")))
}

fn days(secs: i64) -> String {
    format!("{:.0} days", secs as f64 / 86_400.0)
}

fn dues(list: &[Due]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|d| json!({"label": d.label, "due": rfc3339(d.due), "overdue": d.overdue}))
        .collect()
}

/// Runs `status`.
pub fn run(a: StatusArgs) -> CliResult {
    let vault = super::load(&a.vault)?;
    let now =
        a.at.as_deref()
            .map(parse_time)
            .transpose()?
            .unwrap_or_else(context::now);
    let r = readiness::assess(&vault, now, a.drill_every);
    if a.json {
        super::print_json(&json!({
            "vault": super::list::vault_json(&vault),
            "now": rfc3339(r.now),
            "ok": !r.needs_attention(),
            "last_drill": r.last_drill.map(rfc3339),
            "drill_due": rfc3339(r.drill_due),
            "drill_overdue": r.drill_overdue,
            "last_drill_failed": r.last_drill_failed,
            "entries": vault.entries().len(),
            "rotation_overdue": dues(&r.rotation_overdue),
            "rotation_overdue_total": r.rotation_overdue_total,
            "unchecked_versions": r.unchecked,
            "reissues": vault.reissues().iter().map(|r| json!({
                "custodian": vault.custodian_name(r.reissued), "time": rfc3339(r.time),
                "record": r.record,
                "by": r.by.iter().filter_map(|&i| vault.custodian_name(i)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "sessions": vault.sessions().iter().map(|s| json!({
                "id": s.id, "started": rfc3339(s.started), "record": s.record,
                "reveals": s.reveals, "ended": s.ended.as_ref().map(|(t, _)| rfc3339(*t)),
                "how": session_state(s, r.now),
            })).collect::<Vec<_>>(),
            "exposed": dues(&r.exposed),
            "exposed_total": r.exposed_total,
            "custodians": r.custodians.iter().map(|c| json!({
                "name": c.name, "verifications": c.verifications, "last_verified": c.last.map(rfc3339),
            })).collect::<Vec<_>>(),
            "warnings": r.warnings.iter().map(warning_text).collect::<Vec<_>>(),
            // Format 2: every drill, unseal and share check counted was
            // signed and checked without shares; format 1: none could be.
            "records_verified": vault.format() >= 2,
            "unverified": unverified(&vault),
            // Flat, for SIEM rules (monitoring/sigma): an entry exposed by
            // an unseal and not rotated by its deadline.
            "exposed_overdue": r.exposed.iter().any(|d| d.overdue),
            "monitoring": crate::notify::describe_json(&a.vault),
        }));
    } else {
        print_human(&a.vault, &vault, &r);
    }
    if r.needs_attention() {
        return Err(CliError::attention("the vault needs attention (see above)"));
    }
    Ok(())
}

/// How a recovery session stands, in words: ended (and why), open, or
/// interrupted (no end record after its time to live).
fn session_state(s: &vault_core::vault::session::SessionSummary, now: u64) -> String {
    match &s.ended {
        Some((t, why)) => format!("ended {} ({why})", rfc3339(*t)),
        None if s.interrupted(now) => {
            "no end record: killed or interrupted; every secret it showed is recorded".into()
        }
        None => format!(
            "open until {} at the latest",
            rfc3339(s.started.saturating_add(s.ttl))
        ),
    }
}

/// Why the drills and share checks above cannot be trusted, if they
/// cannot: a format 1 vault's quorum records carry MACs only k shares can
/// check, and its share checks nothing at all, so anyone who can write the
/// file could have forged them.
fn unverified(vault: &vault_core::vault::Vault) -> Option<&'static str> {
    (vault.format() < 2).then_some(
        "this is a version 1 vault: its drills, unseals and share checks are not signed, so \
         anyone who can write the file could have added or removed them; `breakglass audit \
         --verify --share` checks them with k shares, and `breakglass upgrade` (k custodians) \
         makes every later one checkable by anyone",
    )
}

fn print_human(path: &std::path::Path, vault: &vault_core::vault::Vault, r: &Readiness) {
    let names: Vec<&str> = vault.custodians().iter().map(|c| c.name.as_str()).collect();
    println!(
        "Vault '{}' (id {}): any {} of {} — {}",
        vault.name(),
        vault.id().short(),
        vault.threshold(),
        names.len(),
        names.join(", ")
    );
    println!("Fingerprint: {}", super::list::fingerprint_line(vault));
    let mark = |bad: bool| if bad { "OVERDUE" } else { "ok" };
    match r.last_drill {
        Some(t) => println!(
            "Last drill:  {} ({} ago); next due {} [{}]",
            rfc3339(t),
            days((r.now as i64).saturating_sub(t as i64)),
            rfc3339(r.drill_due),
            mark(r.drill_overdue)
        ),
        None => println!(
            "Last drill:  never; first due {} [{}]",
            rfc3339(r.drill_due),
            mark(r.drill_overdue)
        ),
    }
    if r.last_drill_failed {
        println!("Last drill FAILED: some entry versions did not decrypt");
    }
    println!(
        "Entries:     {}; overdue for rotation: {}",
        vault.entries().len(),
        if r.rotation_overdue.is_empty() {
            "none".to_owned()
        } else {
            let listed = r
                .rotation_overdue
                .iter()
                .map(|d| format!("{} (due {})", d.label, rfc3339(d.due)))
                .collect::<Vec<_>>()
                .join(", ");
            more(listed, r.rotation_overdue_total, r.rotation_overdue.len())
        }
    );
    if r.unchecked > 0 {
        println!(
            "Unchecked:   {} entry version{} deposited since the last drill: anyone with the file \
             can deposit, so rotations among them are not yet proven; the next drill decrypts them",
            r.unchecked,
            if r.unchecked == 1 { "" } else { "s" }
        );
    }
    for e in &r.exposed {
        println!(
            "Exposed:     {} — rotate by {} [{}]",
            e.label,
            rfc3339(e.due),
            if e.overdue { "OVERDUE" } else { "pending" }
        );
    }
    if r.exposed_total > r.exposed.len() {
        println!(
            "Exposed:     … and {} more (the earliest deadlines are shown): breakglass list \
             --json shows every entry",
            r.exposed_total - r.exposed.len()
        );
    }
    for r in vault.reissues() {
        println!(
            "Re-issued:   {}'s share, {} (record #{}), by {}",
            vault.custodian_name(r.reissued).unwrap_or("?"),
            rfc3339(r.time),
            r.record,
            r.by.iter()
                .filter_map(|&i| vault.custodian_name(i))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for s in vault.sessions() {
        println!(
            "Session:     {} started {} (record #{}): {} secret{} shown — {}",
            s.id,
            rfc3339(s.started),
            s.record,
            s.reveals,
            if s.reveals == 1 { "" } else { "s" },
            session_state(s, r.now)
        );
    }
    for c in &r.custodians {
        match c.last {
            Some(t) => println!(
                "Share check: {} — {}×, last {}",
                c.name,
                c.verifications,
                rfc3339(t)
            ),
            None => println!("Share check: {} — never", c.name),
        }
    }
    for w in &r.warnings {
        println!("Warning:     {}", warning_text(w));
    }
    if let Some(why) = unverified(vault) {
        println!("Unverified:  {why}");
    }
    // Where the events go (or that they go nowhere): whoever can write
    // beside the vault can change VAULT.monitoring (SECURITY.md).
    for line in crate::notify::describe_lines(path) {
        println!("{line}");
    }
    println!(
        "Status:      {}",
        if r.needs_attention() {
            "NEEDS ATTENTION"
        } else {
            "ready"
        }
    );
}

/// A readiness warning with what to do, in the command line's words.
fn warning_text(w: &Warning) -> String {
    match w {
        Warning::NoMargin { .. } => format!("{w}; rekey with more custodians"),
        Warning::NeverChecked { custodians } => format!(
            "never checked their share (breakglass verify-share): {}",
            custodians.join(", ")
        ),
        _ => w.to_string(),
    }
}

/// A list of the first `listed` of `total` names, saying how many more.
fn more(listed: String, total: usize, shown: usize) -> String {
    match total - shown {
        0 => listed,
        n => format!("{total}, the most overdue first: {listed} … and {n} more"),
    }
}
