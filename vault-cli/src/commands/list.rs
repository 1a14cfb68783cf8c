//! `breakglass list`: the public view of a vault. Needs no share.

use serde_json::json;
use vault_core::store::Scope;
use vault_core::vault::{EntryRef, Vault};

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

fn matches(entry: &EntryRef<'_>, a: &ListArgs) -> bool {
    let device_ok = a
        .device
        .as_deref()
        .is_none_or(|d| vault_core::vault::Lookup::Device(d.to_owned()).finds(*entry));
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
    // Entries are read from the vault's table one at a time, twice at
    // most (the width of the labels, then the lines): a fleet vault's list
    // never holds more than one entry's view.
    let shown = || vault.entries().refs().filter(|e| matches(e, &a));
    if a.json {
        super::print_json_streamed(&ListJson {
            vault: vault_json(&vault),
            entries: std::cell::RefCell::new(Some(shown().map(entry_json))),
        });
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
    let Some(width) = shown().map(|e| e.label().chars().count()).max() else {
        println!("No entry matches.");
        return Ok(());
    };
    let width = width.max(5);
    super::print_buffered(|out| {
        writeln!(
            out,
            "{:<width$}  {:<12}  {:>8}  {:<20}  {:<8}  DEVICE",
            "LABEL", "KIND", "VERSIONS", "UPDATED", "KEY ID"
        )?;
        // One write a row, and each time formatted once in a row of
        // equal times (an import's entries share theirs).
        let (mut line, mut updated) = (Vec::new(), LastTime::default());
        for e in shown() {
            line.clear();
            table_line(
                &mut line,
                width,
                [
                    e.label(),
                    e.kind().name(),
                    &e.version_count().to_string(),
                    updated.shown(e.current_time()),
                    e.current_key_id().unwrap_or(""),
                    e.current_device().unwrap_or(""),
                ],
            );
            out.write_all(&line)?;
        }
        Ok(())
    });
    Ok(())
}

/// A time as [`rfc3339`] shows it, remembering the last one shown.
#[derive(Default)]
struct LastTime(Option<(u64, String)>);

impl LastTime {
    fn shown(&mut self, secs: u64) -> &str {
        if !matches!(&self.0, Some((last, _)) if *last == secs) {
            self.0 = Some((secs, rfc3339(secs)));
        }
        self.0.as_ref().map_or("", |(_, text)| text)
    }
}

/// A line of the table into `line`, as `writeln!` with
/// `"{:<width$}  {:<12}  {:>8}  {:<20}  {:<8}  {}"` writes label, kind,
/// versions, updated, key ID and device (widths in characters).
fn table_line(line: &mut Vec<u8>, width: usize, cells: [&str; 6]) {
    let pad = |line: &mut Vec<u8>, text: &str, width: usize| {
        line.resize(
            line.len() + width.saturating_sub(text.chars().count()),
            b' ',
        );
    };
    let [label, kind, versions, updated, key_id, device] = cells;
    for (text, width) in [(label, width), (kind, 12)] {
        line.extend_from_slice(text.as_bytes());
        pad(line, text, width);
        line.extend_from_slice(b"  ");
    }
    pad(line, versions, 8);
    line.extend_from_slice(versions.as_bytes());
    line.extend_from_slice(b"  ");
    for (text, width) in [(updated, 20), (key_id, 8)] {
        line.extend_from_slice(text.as_bytes());
        pad(line, text, width);
        line.extend_from_slice(b"  ");
    }
    line.extend_from_slice(device.as_bytes());
    line.push(b'\n');
}

fn entry_json(e: EntryRef<'_>) -> EntryJson<'_> {
    EntryJson {
        also_known_as: e.current_also_known_as(),
        created: rfc3339(e.first_time()),
        device: e.current_device(),
        key_id: e.current_key_id(),
        kind: e.kind().name(),
        label: e.label(),
        updated: rfc3339(e.current_time()),
        user: e.current_user(),
        versions: e.version_count(),
    }
}

/// One entry of `list --json`. Its fields are in the order a
/// `serde_json::Value` object prints its keys (sorted), so the document is
/// what it was when entries were built as values — without a map of nine
/// owned strings for each of a million entries.
#[derive(serde::Serialize)]
struct EntryJson<'a> {
    also_known_as: Option<&'a str>,
    created: String,
    device: Option<&'a str>,
    key_id: Option<&'a str>,
    kind: &'static str,
    label: &'a str,
    updated: String,
    user: Option<&'a str>,
    versions: usize,
}

/// `list --json`, written as it is read: the same document as a
/// `serde_json::Value` would print (keys in order), one entry at a time.
struct ListJson<I> {
    vault: serde_json::Value,
    entries: std::cell::RefCell<Option<I>>,
}

impl<T: serde::Serialize, I: Iterator<Item = T>> serde::Serialize for ListJson<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let entries = self.entries.borrow_mut().take();
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("entries", &Seq(std::cell::RefCell::new(entries)))?;
        map.serialize_entry("vault", &self.vault)?;
        map.end()
    }
}

/// A sequence serialized from an iterator, once.
struct Seq<I>(std::cell::RefCell<Option<I>>);

impl<T: serde::Serialize, I: Iterator<Item = T>> serde::Serialize for Seq<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        for item in self.0.borrow_mut().take().into_iter().flatten() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, table_line, LastTime};

    /// Every time, the first and the largest included, is shown as
    /// `rfc3339` shows it, however the times before it ran.
    #[test]
    fn each_time_is_shown_as_formatted() {
        let mut last = LastTime::default();
        for secs in [
            u64::MAX,
            u64::MAX,
            0,
            1_700_000_000,
            1_700_000_000,
            u64::MAX,
            0,
        ] {
            assert_eq!(last.shown(secs), rfc3339(secs), "{secs}");
        }
    }

    /// The table's lines are what `writeln!` with the same widths wrote,
    /// for texts shorter and longer than their columns and in several
    /// scripts.
    #[test]
    fn a_table_line_is_the_formatted_one() {
        let rows = [
            [
                "filevault-C02X",
                "recovery-key",
                "1",
                "2026-12-01T11:25:08Z",
                "",
                "C02X",
            ],
            [
                "bitlocker-Ünïcødé-1A2B3C4D",
                "recovery-key",
                "12345678",
                "2026-12-01T11:25:08Z",
                "1A2B3C4D",
                "PC-Ü",
            ],
            [
                "a",
                "note",
                "123456789",
                "(invalid time 99999999999999)",
                "",
                "",
            ],
            [
                "лабиринт-密码",
                "password",
                "2",
                "",
                "ABCDEF0123",
                "устройство",
            ],
        ];
        for width in [5, 14, 40] {
            for r in rows {
                let mut line = Vec::new();
                table_line(&mut line, width, r);
                let want = format!(
                    "{:<width$}  {:<12}  {:>8}  {:<20}  {:<8}  {}\n",
                    r[0], r[1], r[2], r[3], r[4], r[5]
                );
                assert_eq!(String::from_utf8(line).unwrap(), want, "width {width}");
            }
        }
    }
}
