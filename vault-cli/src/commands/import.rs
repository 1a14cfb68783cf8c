//! `breakglass import`: deposit every row of a CSV export in one locked,
//! synced append. No shares needed. Bad rows are named by line; --strict
//! writes nothing if any row is bad; --dry-run shows how the file is read
//! and writes nothing.

use serde_json::json;
use vault_core::import::columns::How;
use vault_core::import::{
    self, DepositError, Format, GenericColumns, ImportError, Options, Outcome, Overrides, Parsed,
    Preamble, RowError,
};
use vault_core::store;
use zeroize::Zeroizing;

use crate::cli::{ImportArgs, ImportFormatArg};
use crate::commands::seal::kind;
use crate::context;
use crate::error::{CliError, CliResult};

/// Rows shown by --dry-run.
const DRY_RUN_ROWS: usize = 10;

fn format(a: &ImportArgs) -> Format {
    match a.format {
        ImportFormatArg::Filevault => Format::FileVault,
        ImportFormatArg::Bitlocker => Format::BitLocker,
        ImportFormatArg::Laps => Format::Laps,
        ImportFormatArg::Generic => Format::Generic(GenericColumns {
            label: a.label_column.clone().unwrap_or_default(),
            secret: a.secret_column.clone().unwrap_or_default(),
            device: a.device_column.clone(),
            username: a.username_column.clone(),
            kind: kind(a.kind),
        }),
    }
}

fn options(a: &ImportArgs) -> Options {
    Options {
        delimiter: a.delimiter,
        columns: Overrides {
            secret: a.secret_column.clone(),
            device: a.device_column.clone(),
            username: a.username_column.clone(),
            key_id: a.key_id_column.clone(),
            time: a.time_column.clone(),
        },
    }
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => format!("'{}'", char::from(d)),
    }
}

/// The core's file-level error, with the flag that fixes it.
fn file_error(a: &ImportArgs, e: &ImportError) -> CliError {
    let hint = match e {
        ImportError::MissingColumn { what, .. } => {
            let flag = match *what {
                "key ID" => "--key-id-column",
                "recovery key" | "password" => "--secret-column",
                _ => "--device-column",
            };
            format!(
                "; name the column with {flag} (or, if the header was split wrongly, give --delimiter)"
            )
        }
        ImportError::Header { .. } => "; check the file is CSV, or give --delimiter".into(),
        _ => String::new(),
    };
    CliError::input(format!("{}: {e}{hint}", a.from.display()))
}

/// The export to read: a regular file where it lies (any length); a pipe
/// or device read whole, within the budget of a file decoded in memory.
fn source(a: &ImportArgs) -> Result<Box<dyn import::source::Source>, CliError> {
    use std::io::Read;
    let named = |e: std::io::Error| CliError::input(format!("{}: {e}", a.from.display()));
    let file = std::fs::File::open(&a.from).map_err(named)?;
    if file.metadata().map_err(named)?.is_file() {
        return Ok(Box::new(file));
    }
    let max = import::source::MAX_HELD;
    // Sized once, so that reading never leaves a copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(max as usize + 1));
    file.take(max + 1).read_to_end(&mut bytes).map_err(named)?;
    if bytes.len() as u64 > max {
        return Err(CliError::input(format!(
            "{}: more than {} MiB from a pipe: save the export to a file and import that",
            a.from.display(),
            max >> 20
        )));
    }
    Ok(Box::new(std::io::Cursor::new(bytes)))
}

/// Runs `import`.
pub fn run(a: ImportArgs) -> CliResult {
    let expected = super::expected(&a.expect)?;
    let refused_pin = "nothing was imported";
    if !a.dry_run {
        // Early, before the file is read: only the keys are needed (the
        // whole vault is read, and this checked again, under the lock).
        let keys = super::load_scope(&a.vault, &vault_core::store::Scope::Keys)?;
        super::check_expected(&a.vault, &keys, expected.as_ref(), refused_pin)?;
    }
    if a.dry_run {
        let bytes = Zeroizing::new(
            std::fs::read(&a.from)
                .map_err(|e| CliError::input(format!("{}: {e}", a.from.display())))?,
        );
        let parsed =
            import::read(&bytes, &format(&a), &options(&a)).map_err(|e| file_error(&a, &e))?;
        dry_run(&a, &parsed);
        return Ok(());
    }
    // Rows are read twice from where the file lies: once to check and
    // order them, keeping where each is (the plan), and once more, one at
    // a time, as each is sealed and its frame streamed to a temporary file
    // (HARDENING.md "Budgets").
    let plan = import::plan_from(source(&a)?, &format(&a), &options(&a))
        .map_err(|e| file_error(&a, &e))?;
    let mut errors = plan.errors.clone();
    let total = plan.len() + errors.len();
    if a.strict && !errors.is_empty() {
        return Err(refused(&a, &errors));
    }
    let (actor, time) = (context::actor(), context::now());
    let bar = super::progress(plan.len(), "sealing");
    let mut outcome = Outcome::default();
    let mut first = 0;
    let written = store::append_streamed(&a.vault, |vault, out| {
        first = vault.record_count() + 1;
        // Again under the lock: the file may have changed since.
        super::check_expected(&a.vault, vault, expected.as_ref(), refused_pin).map_err(Some)?;
        // Moved in, so that the plan (24 bytes a row) is gone before the
        // store writes the index beside the grown entry table.
        let mut plan = plan;
        // A failed write is reported by the store, which kept it.
        let (o, row_errors) = plan
            .deposit(vault, &actor, time, out, || bar.inc(1))
            .map_err(|e| match e {
                DepositError::Read(e) => Some(file_error(&a, &e)),
                DepositError::Write(_) => None,
            })?;
        outcome = o;
        errors.extend(row_errors);
        if a.strict && !errors.is_empty() {
            return Err(None);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    errors.sort_by_key(|e| e.line);
    match written {
        Err(Some(pin)) => return Err(pin),
        Err(None) => return Err(refused(&a, &errors)),
        Ok(_) => crate::notify::acknowledge(&a.vault, crate::notify::Since::Record(first)),
    }
    for e in &errors {
        eprintln!("breakglass: {}: {e}", a.from.display());
    }
    report(&a, total, &outcome, &errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::input(format!(
            "{} of {total} rows of {} were not imported (named above); the others were",
            errors.len(),
            a.from.display()
        )))
    }
}

fn dry_run(a: &ImportArgs, p: &Parsed) {
    let preamble = match p.preamble {
        Some(Preamble::PowerShellType) => Some("#TYPE"),
        Some(Preamble::ExcelSep) => Some("sep="),
        None => None,
    };
    // The first rows by line: (line, Ok(label, device, history) | Err(why)).
    let mut first: Vec<(u64, Result<&import::Row, &RowError>)> = p
        .rows
        .iter()
        .map(|r| (r.line, Ok(r)))
        .chain(p.errors.iter().map(|e| (e.line, Err(e))))
        .collect();
    first.sort_by_key(|(line, _)| *line);
    // Rows come oldest first: the last row of a label becomes current.
    let current: std::collections::HashMap<&str, u64> =
        p.rows.iter().map(|r| (r.label.as_str(), r.line)).collect();
    let is_current = |r: &import::Row| current.get(r.label.as_str()) == Some(&r.line);
    first.truncate(DRY_RUN_ROWS);
    if a.json {
        super::print_json(&json!({
            "dry_run": true,
            "encoding": p.encoding.name(),
            "delimiter": char::from(p.delimiter).to_string(),
            "delimiter_sniffed": p.sniffed,
            "preamble_skipped": preamble,
            "mapping": p.mapping.iter().map(|c| json!({
                "field": c.field.name(),
                "column": c.header,
                "given": c.how == How::Given,
                "passed_over": c.passed_over,
            })).collect::<Vec<_>>(),
            "rows": p.rows.len() + p.errors.len(),
            "importable": p.rows.len(),
            "bad": p.errors.iter().map(|e| json!({"line": e.line, "why": e.problem.to_string()})).collect::<Vec<_>>(),
            "first": first.iter().map(|(line, r)| match r {
                Ok(r) => json!({"line": line, "label": r.label, "device": r.device, "current": is_current(r)}),
                Err(e) => json!({"line": line, "why": e.problem.to_string()}),
            }).collect::<Vec<_>>(),
        }));
        return;
    }
    println!("Dry run of {}: nothing is written.", a.from.display());
    println!(
        "Read as {}, delimiter {}{}{}.",
        p.encoding.name(),
        delimiter_name(p.delimiter),
        if p.sniffed { " (sniffed)" } else { "" },
        preamble.map_or(String::new(), |l| format!(", first line ({l} …) skipped")),
    );
    println!("Columns:");
    for c in &p.mapping {
        let how = match c.how {
            How::Given => " (given)".to_owned(),
            How::Table if c.passed_over.is_empty() => String::new(),
            How::Table => format!(" (over {})", c.passed_over.join(", ")),
        };
        println!("  {:<18} {}{how}", c.field.name(), c.header);
    }
    println!(
        "Rows: {} to import, {} refused. The first {}:",
        p.rows.len(),
        p.errors.len(),
        first.len()
    );
    for (line, r) in &first {
        match r {
            Ok(r) => println!(
                "  line {line}: {} '{}'{}",
                if is_current(r) {
                    "import as"
                } else {
                    "older version of"
                },
                r.label,
                r.device
                    .as_deref()
                    .map_or(String::new(), |d| format!(" (device {d})")),
            ),
            Err(e) => println!("  line {line}: refused: {}", e.problem),
        }
    }
}

fn refused(a: &ImportArgs, errors: &[RowError]) -> CliError {
    for e in errors {
        eprintln!("breakglass: {}: {e}", a.from.display());
    }
    CliError::input(format!(
        "{} bad row{} in {} and --strict: nothing was imported",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        a.from.display()
    ))
}

fn report(a: &ImportArgs, total: usize, o: &Outcome, errors: &[RowError]) {
    if a.json {
        super::print_json(&json!({
            "rows": total, "added": o.added, "updated": o.updated, "unchanged": o.unchanged,
            "history_skipped": o.history_skipped,
            "bad": errors.iter().map(|e| json!({"line": e.line, "why": e.problem.to_string()})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "Imported {} into {}: {} new entries, {} new versions, {} unchanged, {} bad rows.",
            a.from.display(),
            a.vault.display(),
            o.added,
            o.updated,
            o.unchanged,
            errors.len()
        );
        if o.history_skipped > 0 {
            println!(
                "{} history rows of entries already in the vault were left out (they would have become current).",
                o.history_skipped
            );
        }
    }
}
