//! `breakglass audit`: the vault's records as events, for people or (with
//! `--json`) as JSON lines for a SIEM. `--verify` checks the whole file and
//! prints the head hash: keep it, and a later file that does not contain
//! that head has been rolled back.

use std::io::{self, Write};

use serde_json::{json, Value};
use vault_core::fingerprint::Fingerprint;
use vault_core::receipt::Receipt;
use vault_core::record::{attr, Record};
use vault_core::store;
use vault_core::vault::Vault;

use crate::cli::AuditArgs;
use crate::commands::shares;
use crate::context::rfc3339;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// Custodian names by index, for the records being rendered: the vault's
/// own, or for records from before a rekey, the old vault's.
#[derive(Default)]
struct Names(Vec<String>);

impl Names {
    fn of(custodians: &[vault_core::record::Custodian]) -> Self {
        Self(custodians.iter().map(|c| c.name.clone()).collect())
    }
    fn name(&self, i: u8) -> String {
        (i as usize)
            .checked_sub(1)
            .and_then(|i| self.0.get(i))
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    }
    fn all(&self, list: &[u8]) -> Vec<String> {
        list.iter().map(|&i| self.name(i)).collect()
    }
}

/// One record as a stable JSON event (fields documented in README.md).
fn event_of(record: &Record, names: &Names) -> Value {
    match record {
        Record::Genesis(g) => json!({
            "event": "init",
            "time": rfc3339(g.time),
            "actor": g.actor,
            "vault": g.name,
            "threshold": g.threshold,
            "custodians": g.custodians.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            "format": if g.v2.is_some() { 2 } else { 1 },
            "generation": g.generation(),
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
            "custodians": names.all(&u.custodians),
            "entries": u.entries.iter().map(|(l, v)| json!({ "label": l, "version": v })).collect::<Vec<_>>(),
            "reason": u.reason,
        }),
        Record::Drill(d) => json!({
            "event": "drill",
            "time": rfc3339(d.time),
            "actor": d.actor,
            "kind": d.kind.name(),
            "custodians": names.all(&d.custodians),
            "versions_ok": d.versions_ok,
            "versions_failed": d.versions_failed,
            "reason": d.reason,
        }),
        Record::ShareVerified(s) => json!({
            "event": "share-verified",
            "time": rfc3339(s.time),
            "actor": s.actor,
            "custodians": [names.name(s.custodian)],
        }),
        Record::Reissue(r) => json!({
            "event": "reissue",
            "time": rfc3339(r.time),
            "actor": r.actor,
            "custodians": names.all(&r.custodians),
            "reissued": names.name(r.reissued),
            "reason": r.reason,
        }),
        Record::Rekey(k) => json!({
            "event": "rekey",
            "time": rfc3339(k.time),
            "actor": k.actor,
            "custodians": names.all(&k.custodians),
            "reason": k.reason,
            "old_head": super::hex(&k.old_head),
            "old_records": k.old_records,
        }),
        Record::History(h) => match Record::decode(h.kind, &h.body) {
            Ok(inner) => event_of(&inner, names),
            Err(_) => json!({ "event": "unknown" }),
        },
    }
}

/// Turns records into events one at a time, in file order, adding
/// `record`, `vault_id`, `hash`; records from before a rekey also carry
/// `before_rekey` and `old_record`. Holds only the custodian names, so the
/// trail is printed as it is read (issue 15: a vault of unseal records
/// naming 65,535 entries each took 3.2 GB when every event was built
/// first).
#[derive(Default)]
pub(crate) struct Events {
    vault_id: String,
    fingerprint: [u8; 32],
    current: Names,
    old: Names,
    /// The file was written by an upgrade to format 2 (its closing record
    /// is an upgrade, not a rekey).
    upgraded: bool,
}

impl Events {
    /// The event of record `number` (chain hash `hash`): records must be
    /// given in file order from #1. `notify` builds what it delivers here,
    /// so a delivered event is the line `audit --json` prints.
    pub(crate) fn event(&mut self, number: usize, hash: &[u8; 32], record: &Record) -> Value {
        if let (1, Record::Genesis(g)) = (number, record) {
            self.current = Names::of(&g.custodians);
            self.vault_id = g.vault_id.hex();
            self.fingerprint = *Fingerprint::of(g).as_bytes();
            self.upgraded =
                g.v2.as_ref()
                    .is_some_and(|v| v.origin == vault_core::record::Origin::Upgrade);
        }
        let mut e = match record {
            Record::History(h) => {
                if let Ok(Record::Genesis(g)) = Record::decode(h.kind, &h.body) {
                    self.old = Names::of(&g.custodians);
                }
                let mut e = event_of(record, &self.old);
                e["before_rekey"] = json!(true);
                e["old_record"] = json!(h.record);
                e
            }
            Record::Rekey(_) => {
                let mut e = event_of(record, &self.old);
                if self.upgraded {
                    e["event"] = json!("upgrade");
                }
                e
            }
            r => event_of(r, &self.current),
        };
        e["record"] = json!(number);
        e["vault_id"] = json!(self.vault_id);
        e["hash"] = json!(super::hex(hash));
        // What a SIEM keeps to detect, later, a dropped record or a
        // rolled-back file (docs/FORMAT.md §3.4).
        e["receipt"] = json!(Receipt {
            fingerprint: self.fingerprint,
            record: number as u32,
            head: *hash,
        }
        .to_line());
        e
    }
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
    if let Some(who) = e["reissued"].as_str() {
        line.push_str(&format!(" reissued={who}"));
    }
    if let Some(r) = e["reason"].as_str().filter(|r| !r.is_empty()) {
        line.push_str(&format!(" reason={r:?}"));
    }
    line.push_str(&format!(" by {}", e["actor"].as_str().unwrap_or("")));
    if e["before_rekey"] == true {
        line.push_str(&format!(" (before rekey; was #{})", e["old_record"]));
    }
    line
}

/// Runs `audit`. The file is read and printed record by record (frames,
/// chain and decoding checked; memory stays at one record). `--verify`
/// first replays the whole vault one frame at a time, checking every rule
/// and keeping only the vault's state, then prints; with shares it checks
/// each quorum record's MAC in one more pass, and with receipts checks
/// them all in one more.
pub fn run(a: AuditArgs) -> CliResult {
    let vault = if a.verify {
        Some(store::load(&a.vault)?.vault)
    } else {
        None
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut events = Events::default();
    // With --verify, the records the replay checked, and no later ones.
    let upto = vault.as_ref().map_or(usize::MAX, Vault::record_count);
    let (mut count, mut last) = (0, None);
    let torn = for_each_upto(&a, upto, |number, frame, record| {
        (count, last) = (number, Some(frame.hash));
        let e = events.event(number, &frame.hash, record);
        let written = if a.json {
            writeln!(out, "{e}")
        } else {
            writeln!(out, "{}", human(&e))
        };
        written.map_err(|e| CliError::input(format!("writing the audit trail: {e}")))
    })?;
    out.flush()
        .map_err(|e| CliError::input(format!("writing the audit trail: {e}")))?;
    if let Some(t) = &torn {
        let msg = format!(
            "{}: {} bytes at offset {} after record #{count} are not a valid record ({})",
            a.vault.display(),
            t.len,
            t.offset,
            t.why
        );
        if a.verify {
            return Err(CliError::damaged(format!(
                "{msg} — an interrupted write or tampering; the records before it are intact"
            )));
        }
        super::warn(msg);
    }
    if let Some(vault) = &vault {
        if count != vault.record_count() || last.as_ref() != Some(vault.head()) {
            return Err(changed(&a));
        }
        if !a.receipts.is_empty() || a.receipts_file.is_some() {
            super::receipts::verify(&a, vault)?;
        }
        if !a.shares.is_empty() {
            verify_macs(&a, vault)?;
        }
        let now = crate::context::now();
        for session in vault.sessions().iter().filter(|x| x.ended.is_none()) {
            eprintln!(
                "Session {} (record #{}, started {}) has no end record: {}; its {} reveal records \
                 are in the trail.",
                session.id,
                session.record,
                crate::context::rfc3339(session.started),
                if session.interrupted(now) {
                    "it was killed or interrupted"
                } else {
                    "it is still open"
                },
                session.reveals
            );
        }
        let signed = vault.format() >= 2;
        eprintln!(
            "Verified {} records: hash chain intact{}. Head hash: {}",
            vault.record_count(),
            match (signed, a.shares.is_empty()) {
                (true, true) => ", every quorum and custodian signature valid",
                (true, false) => {
                    ", every quorum and custodian signature valid, and the quorum's key is the master key's"
                }
                (false, true) => "",
                (false, false) => ", quorum records authentic",
            },
            super::hex(vault.head())
        );
        if signed {
            eprintln!(
                "Fingerprint {} (format version 2, generation {}): compare it with the one on your envelope or receipt.",
                vault.fingerprint(),
                vault.generation()
            );
        } else if a.shares.is_empty() {
            eprintln!(
                "(A version 1 vault: give k custodians' shares with --share to check the MACs of \
                 quorum records too, or move it to version 2, where anyone can check them: \
                 breakglass upgrade.)"
            );
        }
    }
    Ok(())
}

/// [`store::for_each_record`] over the first `upto` records (the ones a
/// `--verify` replay checked; a record appended since is left for the next
/// audit). The torn tail is reported only when every record was read.
fn for_each_upto(
    a: &AuditArgs,
    upto: usize,
    mut each: impl FnMut(usize, &vault_core::log::Frame, &Record) -> CliResult,
) -> CliResult<Option<vault_core::log::TornTail>> {
    let torn = store::for_each_record(&a.vault, |number, frame, record| {
        if number <= upto {
            each(number, frame, &record)?;
        }
        Ok::<_, CliError>(())
    })?;
    Ok(torn)
}

fn changed(a: &AuditArgs) -> CliError {
    CliError::input(format!(
        "{}: the vault was replaced while it was audited (a rekey?): run the audit again",
        a.vault.display()
    ))
}

/// Checks the MAC of every quorum record with k shares (read again one
/// at a time); exit 4 naming the first record that fails.
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
