//! `breakglass import`: deposit every row of a CSV export in one locked,
//! synced append. No shares needed. Bad rows are named by line; --strict
//! writes nothing if any row is bad.

use serde_json::json;
use vault_core::import::{self, Format, GenericColumns, Outcome, RowError};
use vault_core::store;
use zeroize::Zeroizing;

use crate::cli::{ImportArgs, ImportFormatArg};
use crate::commands::seal::kind;
use crate::context;
use crate::error::{CliError, CliResult};

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

/// Runs `import`.
pub fn run(a: ImportArgs) -> CliResult {
    super::load(&a.vault)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(&a.from)
            .map_err(|e| CliError::input(format!("{}: {e}", a.from.display())))?,
    );
    let fmt = format(&a);
    let (rows, mut errors) = import::read(&text, &fmt)
        .map_err(|e| CliError::input(format!("{}: {e}", a.from.display())))?;
    let total = rows.len() + errors.len();
    if a.strict && !errors.is_empty() {
        return Err(refused(&a, &errors));
    }
    let (actor, time) = (context::actor(), context::now());
    let bar = super::progress(rows.len(), "sealing");
    let mut outcome = Outcome::default();
    let written = store::append_many(&a.vault, |vault| {
        let (bytes, o, row_errors) = import::deposit(vault, rows, &actor, time, || bar.inc(1));
        outcome = o;
        errors.extend(row_errors);
        if a.strict && !errors.is_empty() {
            return Err(());
        }
        Ok(bytes)
    })?;
    bar.finish_and_clear();
    errors.sort_by_key(|e| e.line);
    if written.is_err() {
        return Err(refused(&a, &errors));
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
            "bad": errors.iter().map(|e| json!({"line": e.line, "why": e.why})).collect::<Vec<_>>(),
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
    }
}
