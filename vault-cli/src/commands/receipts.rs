//! `audit --verify --receipt R` / `--receipts FILE`: does the vault still
//! extend what each receipt saw? A receipt kept outside the vault is what
//! turns "a rollback is detectable" into "a rollback is detected".

use vault_core::receipt::{Receipt, Verdict, PREFIX};
use vault_core::vault::Vault;

use crate::cli::AuditArgs;
use crate::error::{CliError, CliResult};

/// The receipts given, each with where it came from.
fn given(a: &AuditArgs) -> CliResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = a
        .receipts
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("receipt {}", i + 1), r.clone()))
        .collect();
    if let Some(path) = &a.receipts_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().to_ascii_lowercase().starts_with(PREFIX) {
                out.push((
                    format!("{} line {}", path.display(), n + 1),
                    line.to_owned(),
                ));
            }
        }
    }
    Ok(out)
}

/// Checks every receipt against `vault`: a receipt that cannot be read is
/// exit 2, one the file does not extend exit 4 (the first is named; all
/// are printed), one that only the rekey's kept file can settle a warning.
pub fn verify(a: &AuditArgs, vault: &Vault) -> CliResult {
    let mut failed = None;
    for (source, line) in given(a)? {
        let receipt =
            Receipt::parse(&line).map_err(|e| CliError::input(format!("{source}: {e}")))?;
        match receipt.verdict(vault) {
            Verdict::Extends => eprintln!(
                "{source}: extended (record #{} is still there)",
                receipt.record
            ),
            Verdict::Unverifiable { generation } => super::warn(format_args!(
                "{source}: record #{} of generation {generation} was re-encrypted by a rekey: \
                 check it against the file the rekey kept ({}.before-rekey-*)",
                receipt.record,
                a.vault.display()
            )),
            Verdict::Fails(why) => {
                let message = format!(
                    "{}: {source} (record #{}): {why}",
                    a.vault.display(),
                    receipt.record
                );
                eprintln!("breakglass: {message}");
                failed.get_or_insert(message);
            }
        }
    }
    match failed {
        Some(message) => Err(CliError::damaged(message)),
        None => Ok(()),
    }
}
