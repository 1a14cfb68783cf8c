//! `audit --verify --receipt R` / `--receipts FILE`: does the vault still
//! extend what each receipt saw? A receipt kept outside the vault is what
//! turns "a rollback is detectable" into "a rollback is detected".

use vault_core::receipt::{Receipt, Verdict, PREFIX};
use vault_core::vault::Vault;

use crate::cli::AuditArgs;
use crate::error::{CliError, CliResult};

/// The receipts given, each with where it came from. In a file, a receipt
/// may stand anywhere in a line (a JSON audit event, a ticket's text).
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
        let before = out.len();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            if let Some(at) = lower.find(PREFIX) {
                let receipt: String = lower[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
                    .collect();
                out.push((format!("{} line {}", path.display(), n + 1), receipt));
            }
        }
        if out.len() == before {
            return Err(CliError::input(format!(
                "{}: holds no receipt line ({PREFIX}…): nothing to check",
                path.display()
            )));
        }
    }
    Ok(out)
}

/// Checks every receipt against `vault`. One the file does not extend is
/// exit 4 (all are checked and printed first; an unreadable one never
/// hides a failure), an unreadable one exit 2, one that only the rekey's
/// kept file can settle a warning.
pub fn verify(a: &AuditArgs, vault: &Vault) -> CliResult {
    let (mut failed, mut unreadable) = (None, None);
    let current = vault.fingerprint();
    for (source, line) in given(a)? {
        let receipt = match Receipt::parse(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("breakglass: {source}: {e}");
                unreadable.get_or_insert(format!("{source}: {e}"));
                continue;
            }
        };
        match receipt.verdict(vault) {
            Verdict::Extends if receipt.fingerprint != *current.as_bytes() => {
                super::warn(format_args!(
                    "{source}: extended through a rekey (record #{} of an earlier generation is \
                     kept); the vault is now generation {}, fingerprint {current} — check that \
                     this is the fingerprint the rekey printed: in format version 1 a rekey \
                     record is not signed",
                    receipt.record,
                    vault.generation()
                ))
            }
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
    match (failed, unreadable) {
        (Some(message), _) => Err(CliError::damaged(message)),
        (None, Some(message)) => Err(CliError::input(message)),
        (None, None) => Ok(()),
    }
}
