//! `breakglass recipient`, `seal --to` and `ingest`: deposits made without
//! the vault file (docs/FORMAT.md §7.9), the way fleet escrow works — a Mac
//! at enrolment, a Windows device after a LAPS rotation — sealed to the
//! recipient line an admin put in the MDM profile, and appended later.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::receipt::Receipt;
use vault_core::recipient::Recipient;
use vault_core::store::{self, Scope};
use vault_core::token::{self, Outcome, Refusal, Skipped, Token, TokenInput};
use vault_core::vault::Vault;

use crate::cli::{IngestArgs, RecipientArgs, SealArgs};
use crate::error::{CliError, CliResult};

/// The most bytes read from one token file: 64 MiB, several hundred
/// large tokens or half a million small ones (docs/HARDENING.md).
pub const MAX_TOKEN_FILE: u64 = 64 << 20;
/// The most bytes one ingest reads over all its files.
pub const MAX_TOKEN_BYTES: u64 = 256 << 20;

/// Runs `recipient`: the line on stdout, nothing else (scripts take it).
pub fn recipient(a: RecipientArgs) -> CliResult {
    let vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let r = vault.recipient();
    if a.json {
        super::print_json(&json!({
            "recipient": r.to_string(),
            "fingerprint": {"short": r.fingerprint.short(), "full": r.fingerprint.full()},
            "generation": vault.generation(),
        }));
        return Ok(());
    }
    println!("{r}");
    Ok(())
}

/// Runs `seal --to RECIPIENT [--out FILE]`: one token, no vault file.
pub fn seal_to(a: &SealArgs, recipient: &str) -> CliResult {
    let r = Recipient::parse(recipient)
        .map_err(|e| CliError::input(format!("--to: the recipient {e}")))?;
    let kind = super::seal::kind(a.kind);
    let (secret, generated) = super::seal::obtain(kind, &a.generate, &a.label)?;
    let secret = vault_core::entry::EntrySecret {
        username: zeroize::Zeroizing::new(a.username.clone().unwrap_or_default()),
        secret,
    };
    let meta = super::seal::meta(a.device.clone(), a.key_id.clone(), &a.policy, false);
    let input = TokenInput {
        label: &a.label,
        kind,
        secret: &secret,
        meta: &meta,
    };
    let tokens = token::seal(&r, &[input]).map_err(|(_, e)| CliError::from(e))?;
    let line = tokens[0].to_line();
    match &a.out {
        Some(path) => append_line(path, &line)?,
        None if a.json => {}
        None => println!("{line}"),
    }
    if a.json {
        let mut out = json!({
            "label": a.label,
            "kind": kind.name(),
            "fingerprint": {"short": r.fingerprint.short(), "full": r.fingerprint.full()},
            "token": line,
        });
        if let Some(path) = &a.out {
            out["out"] = json!(path.display().to_string());
        }
        if let Some(g) = &generated {
            out["secret"] = json!(g.secret.as_str());
        }
        super::print_json(&out);
        return Ok(());
    }
    let to = a
        .out
        .as_ref()
        .map_or("stdout".to_owned(), |p| p.display().to_string());
    eprintln!(
        "Sealed '{}' ({}) as a deposit token to vault {} ({to}). Nothing can read it without \
         the vault's custodians; append it with: breakglass ingest VAULT {}",
        a.label,
        kind.name(),
        r.fingerprint,
        a.out
            .as_ref()
            .map_or("TOKENS".into(), |p| p.display().to_string())
    );
    if let Some(g) = generated {
        eprintln!(
            "Generated secret ({:.0} bits of entropy), shown this once — set it on the account now:",
            g.entropy_bits
        );
        eprintln!("  {}", g.secret.as_str());
    }
    Ok(())
}

/// Appends one line durably; a file that does not end in a newline (a
/// write cut short) gets one first, so the new token stands on its own.
fn append_line(path: &Path, line: &str) -> CliResult {
    let io = |e: std::io::Error| CliError::input(format!("{}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut text = String::new();
    if len > 0 {
        use std::io::{Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
        file.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// A token and where it was read.
struct Found {
    source: String,
    token: Token,
}

/// Reads every token line of every file; any damaged line stops the
/// ingest before the vault is touched, naming each one.
fn read_tokens(files: &[PathBuf]) -> CliResult<Vec<Found>> {
    let mut found = Vec::new();
    let mut damaged = Vec::new();
    let mut total = 0u64;
    for path in files {
        let text = read_bounded(path)?;
        total += text.len() as u64;
        if total > MAX_TOKEN_BYTES {
            return Err(CliError::input(format!(
                "the token files come to more than {} MiB: ingest them in parts",
                MAX_TOKEN_BYTES >> 20
            )));
        }
        let before = found.len() + damaged.len();
        for (line, parsed) in token::find(&text) {
            let source = format!("{} line {line}", path.display());
            match parsed {
                Ok(token) => found.push(Found { source, token }),
                Err(e) => damaged.push(format!("{source}: the token {e}")),
            }
        }
        if found.len() + damaged.len() == before {
            return Err(CliError::input(format!(
                "{}: holds no deposit token ({}…): nothing to ingest",
                path.display(),
                token::PREFIX
            )));
        }
    }
    if !damaged.is_empty() {
        for d in &damaged {
            eprintln!("breakglass: {d}");
        }
        return Err(CliError::input(format!(
            "{} damaged token line(s): nothing was ingested",
            damaged.len()
        )));
    }
    Ok(found)
}

fn read_bounded(path: &Path) -> CliResult<String> {
    let io = |e: std::io::Error| CliError::input(format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(io)?)
    };
    reader
        .take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(CliError::input(format!(
            "{}: larger than {} MiB: split it and ingest the parts",
            path.display(),
            MAX_TOKEN_FILE >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        CliError::input(format!(
            "{}: is not text (deposit tokens are lines of letters and digits)",
            path.display()
        ))
    })
}

/// Runs `ingest`: all tokens or none.
pub fn ingest(a: IngestArgs) -> CliResult {
    let found = read_tokens(&a.files)?;
    let tokens: Vec<Token> = found.iter().map(|f| f.token.clone()).collect();
    let mut outcomes = Vec::new();
    if a.dry_run {
        let vault = super::load(&a.vault)?;
        outcomes = token::plan(&vault, &tokens);
        refuse_any(&a.vault, &found, &outcomes)?;
        return report(&a, &found, &outcomes, None);
    }
    let (mut receipt, mut first) = (None, 0);
    store::append_many(&a.vault, |vault: &mut Vault| {
        outcomes = token::plan(vault, &tokens);
        refuse_any(&a.vault, &found, &outcomes)?;
        first = vault.record_count() + 1;
        let mut frames = Vec::new();
        for (f, o) in found.iter().zip(&outcomes) {
            if let Outcome::Append(record) = o {
                // A rule the plan does not know of: the token's fault, not
                // the vault's; nothing is written.
                let frame = vault.push((**record).clone()).map_err(|e| {
                    CliError::input(format!(
                        "{}: the token breaks a rule of the vault file ({e}): nothing was ingested",
                        f.source
                    ))
                })?;
                frames.extend_from_slice(&frame);
            }
        }
        if !frames.is_empty() {
            receipt = Some(Receipt::of(vault));
        }
        Ok::<_, CliError>(frames)
    })??;
    if receipt.is_some() {
        crate::notify::acknowledge(&a.vault, crate::notify::Since::Record(first));
    }
    report(&a, &found, &outcomes, receipt)
}

/// Prints every refusal and fails when there is one. Another vault or a
/// token claiming another entry's id is exit 4 (the file or the token was
/// altered); a retired recipient or a broken rule exit 2.
fn refuse_any(path: &Path, found: &[Found], outcomes: &[Outcome]) -> CliResult {
    let (mut refused, mut altered) = (0, false);
    for (f, o) in found.iter().zip(outcomes) {
        let Outcome::Refuse(why) = o else { continue };
        let text = match why {
            Refusal::EarlierGeneration {
                generation,
                rekeyed,
            } => format!(
                "was sealed to generation {generation}'s recipient, retired by the rekey of {}: \
                 re-seal it with the current recipient (breakglass recipient {})",
                &crate::context::rfc3339(*rekeyed)[..10],
                path.display()
            ),
            other => other.to_string(),
        };
        eprintln!("breakglass: {}: the token {text}", f.source);
        refused += 1;
        altered |= matches!(
            why,
            Refusal::OtherVault { .. } | Refusal::OtherEscrowKey | Refusal::ConflictingId { .. }
        );
    }
    if refused == 0 {
        return Ok(());
    }
    let message = format!(
        "{}: {refused} token(s) refused: nothing was ingested",
        path.display()
    );
    Err(if altered {
        CliError::damaged(message)
    } else {
        CliError::input(message)
    })
}

fn report(
    a: &IngestArgs,
    found: &[Found],
    outcomes: &[Outcome],
    receipt: Option<Receipt>,
) -> CliResult {
    let verb = if a.dry_run {
        "would ingest"
    } else {
        "ingested"
    };
    let mut rows = Vec::new();
    for (f, o) in found.iter().zip(outcomes) {
        let (what, text) = match o {
            Outcome::Append(record) => match record.as_ref() {
                vault_core::Record::Deposit(d) => (
                    json!({"outcome": "ingested", "label": d.label, "version": d.version}),
                    format!("{verb} as '{}' version {}", d.label, d.version),
                ),
                _ => continue,
            },
            Outcome::Skip(Skipped::Ingested {
                label,
                version,
                record,
            }) => (
                json!({"outcome": "already", "label": label, "version": version, "record": record}),
                format!("already ingested as '{label}' version {version} (record #{record})"),
            ),
            Outcome::Skip(Skipped::Repeated { first }) => (
                json!({"outcome": "repeated", "same_as": found[*first].source}),
                format!("the same token as {}: skipped", found[*first].source),
            ),
            _ => continue,
        };
        let mut what = what;
        what["source"] = json!(f.source);
        rows.push(what);
        if !a.json {
            println!("{}: {text}", f.source);
        }
    }
    if a.json {
        let mut out = json!({"tokens": rows});
        if let Some(r) = &receipt {
            out["receipt"] = json!(r.to_line());
        }
        super::print_json(&out);
    } else if let Some(r) = &receipt {
        super::print_receipt(r);
    }
    Ok(())
}
