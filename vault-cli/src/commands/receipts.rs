//! `audit --verify --receipt R` / `--receipts FILE`: does the vault still
//! extend what each receipt saw? A receipt kept outside the vault is what
//! turns "a rollback is detectable" into "a rollback is detected".

use vault_core::receipt::{verdicts, Receipt, Verdict, PREFIX};
use vault_core::vault::Vault;

use crate::cli::AuditArgs;
use crate::error::{CliError, CliResult};

/// Largest receipts file read: 16 MiB.
pub const MAX_RECEIPTS_FILE: u64 = 16 << 20;
/// Most receipts checked in one run (each kept as about 140 bytes with
/// where it came from while they are checked: 14 MB).
pub const MAX_RECEIPTS: usize = 100_000;

/// A receipts file, refused above [`MAX_RECEIPTS_FILE`] before more is read.
fn read_receipts_file(path: &std::path::Path) -> CliResult<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RECEIPTS_FILE + 1).read_to_string(&mut text))
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    if text.len() as u64 > MAX_RECEIPTS_FILE {
        return Err(CliError::input(format!(
            "{}: is larger than {} MiB: give the receipts to check in a smaller file",
            path.display(),
            MAX_RECEIPTS_FILE >> 20
        )));
    }
    Ok(text)
}

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
        let text = read_receipts_file(path)?;
        let before = out.len();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            if let Some(at) = lower.find(PREFIX) {
                let receipt: String = lower[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
                    .collect();
                if out.len() == MAX_RECEIPTS {
                    return Err(CliError::input(format!(
                        "{}: holds more than {MAX_RECEIPTS} receipts: check them in smaller files",
                        path.display()
                    )));
                }
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
    let mut read = Vec::new();
    for (source, line) in given(a)? {
        match Receipt::parse(&line) {
            Ok(r) => read.push((source, r)),
            Err(e) => {
                eprintln!("breakglass: {source}: {e}");
                unreadable.get_or_insert(format!("{source}: {e}"));
            }
        }
    }
    let receipts: Vec<Receipt> = read.iter().map(|(_, r)| *r).collect();
    let judged = verdicts(&receipts, vault)
        .map_err(|e| CliError::input(format!("{}: {e}", a.vault.display())))?;
    for ((source, receipt), verdict) in read.iter().zip(judged) {
        match verdict {
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
