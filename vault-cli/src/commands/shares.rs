//! Reading and checking the shares given with `--share`: each is checked
//! alone, and every bad one is named with its custodian and what to do.

use std::path::{Path, PathBuf};

use vault_core::shamir::KeyShare;
use vault_core::share::{ShareBody, UnlockError};
use vault_core::share_text::{self, ShareTextError};
use vault_core::vault::{ShareProblem, Unsealed, Vault};

use crate::error::{CliError, CliResult};
use crate::input::Input;

/// A share that passed every check alone.
pub struct Accepted {
    /// The key share.
    pub share: KeyShare,
    /// Its custodian's name.
    pub custodian: String,
}

/// A share that did not pass (its message was printed when found).
pub struct Rejected {
    /// Where it came from.
    pub source: String,
}

/// The outcome of checking all shares.
#[derive(Default)]
pub struct Gathered {
    /// Good shares, in the order given.
    pub accepted: Vec<Accepted>,
    /// Bad ones, in the order given.
    pub rejected: Vec<Rejected>,
}

impl Gathered {
    /// Names of the custodians whose shares were accepted.
    pub fn custodians(&self) -> Vec<&str> {
        self.accepted.iter().map(|a| a.custodian.as_str()).collect()
    }
    /// The key shares.
    pub fn key_shares(&self) -> Vec<KeyShare> {
        self.accepted.iter().map(|a| a.share.clone()).collect()
    }
    /// Where the rejected shares came from.
    pub fn rejected_sources(&self) -> Vec<&str> {
        self.rejected.iter().map(|r| r.source.as_str()).collect()
    }
}

/// How a share is named in messages.
pub fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// Checks every share, printing one line on stderr for each bad one.
pub fn gather(vault: &Vault, paths: &[PathBuf], input: &mut Input) -> CliResult<Gathered> {
    let mut out = Gathered::default();
    for path in paths {
        let source = source_name(path);
        match check_one(vault, path, input, &out)? {
            Ok(accepted) => out.accepted.push(accepted),
            Err(why) => {
                eprintln!("breakglass: share {source}: {why}");
                out.rejected.push(Rejected { source });
            }
        }
    }
    Ok(out)
}

/// Checks one share. The outer error is fatal (stdin ran out); the inner
/// one rejects this share only.
pub fn check_one(
    vault: &Vault,
    path: &Path,
    input: &mut Input,
    so_far: &Gathered,
) -> CliResult<Result<Accepted, String>> {
    let text = match input.share_text(path) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.message)),
    };
    check_text(vault, &source_name(path), &text, input, so_far)
}

/// Checks one share given as text (`source` names it in messages).
pub fn check_text(
    vault: &Vault,
    source: &str,
    text: &str,
    input: &mut Input,
    so_far: &Gathered,
) -> CliResult<Result<Accepted, String>> {
    let body = match share_text::decode(text) {
        Ok(b) => b,
        Err(e) => {
            // Keep stdin passphrase lines in step: a protected share takes
            // its line even when it cannot be used.
            skip_passphrase_line(input, share_text::header_says_protected(text))?;
            let who = share_text::header_field(text, "Custodian")
                .map(|c| format!("custodian {c} (per its header): "))
                .unwrap_or_default();
            return Ok(Err(format!("{who}{}", text_problem(&e))));
        }
    };
    if let Err(problem) = precheck(vault, &body, so_far) {
        skip_passphrase_line(input, body.is_protected())?;
        return Ok(Err(share_problem(vault, &problem)));
    }
    let custodian = vault
        .custodian_name(body.index)
        .expect("prechecked index")
        .to_owned();
    let passphrase = if body.is_protected() {
        Some(input.passphrase(&format!("Passphrase for {custodian}'s share ({source})"))?)
    } else {
        None
    };
    Ok(match vault.check_share(&body, passphrase.as_ref()) {
        Ok(share) => Ok(Accepted { share, custodian }),
        Err(p) => Err(format!(
            "custodian {custodian}: {}",
            share_problem(vault, &p)
        )),
    })
}

fn precheck(vault: &Vault, body: &ShareBody, so_far: &Gathered) -> Result<(), ShareProblem> {
    vault.precheck_share(body)?;
    if so_far
        .accepted
        .iter()
        .any(|a| a.share.index() == body.index)
    {
        return Err(ShareProblem::Duplicate {
            custodian: vault.custodian_name(body.index).unwrap_or("?").to_owned(),
        });
    }
    Ok(())
}

fn skip_passphrase_line(input: &mut Input, protected: bool) -> CliResult {
    if protected && !input.is_terminal() {
        input.passphrase("passphrase of a share that was rejected")?;
    }
    Ok(())
}

/// A share-text problem with what to do about it.
pub fn text_problem(e: &ShareTextError) -> String {
    let hint = match e {
        ShareTextError::NotAShare => "give the share file written by init, or its envelope text",
        ShareTextError::NewerFormat(_) => "this share was written by a newer breakglass",
        ShareTextError::LineCheck { .. } | ShareTextError::BadSymbol { .. } => {
            "compare that line with the envelope and retype it"
        }
        ShareTextError::Typo { .. } => "look at that symbol on the envelope and retype it",
        ShareTextError::SwappedLine { .. } => "check the line numbers against the envelope",
        ShareTextError::MissingLine(_) | ShareTextError::LineLength { .. } => {
            "copy the line from the envelope"
        }
        ShareTextError::DuplicateLine(_) => "remove the repeated line",
        ShareTextError::TooManyLines(_) | ShareTextError::Empty => {
            "give the share file written by init, or its envelope text"
        }
        ShareTextError::Body(_) => {
            "every line checks but the whole share does not: compare all lines with the envelope"
        }
    };
    format!("{e} — {hint}")
}

/// A share problem with what to do about it.
pub fn share_problem(vault: &Vault, p: &ShareProblem) -> String {
    let hint = match p {
        ShareProblem::ForeignVault(_) => format!(
            "bring the share for vault '{}' (id {})",
            vault.name(),
            vault.id().short()
        ),
        ShareProblem::UnknownIndex(_) => "bring a share written for this vault".to_owned(),
        ShareProblem::CommitmentMismatch { .. } => {
            "bring the custodian's current share (check the envelope)".to_owned()
        }
        ShareProblem::Duplicate { .. } => "bring another custodian's share".to_owned(),
        ShareProblem::Unlock(UnlockError::WrongPassphrase) => {
            "the custodian should retype their passphrase (or the share was altered)".to_owned()
        }
        ShareProblem::Unlock(UnlockError::PassphraseRequired) => {
            "the custodian must give their passphrase".to_owned()
        }
        ShareProblem::Unlock(UnlockError::Params(_)) => {
            "this share was not written by breakglass or was altered".to_owned()
        }
    };
    format!("{p} — {hint}")
}

/// Checks the shares and opens the vault with them: too few is exit 3,
/// damage exit 4; an inconsistent share and altered quorum records are
/// named in warnings.
pub fn open_quorum(
    vault: &Vault,
    path: &Path,
    paths: &[PathBuf],
    input: &mut Input,
) -> CliResult<(Unsealed, Vec<String>)> {
    let gathered = gather(vault, paths, input)?;
    open_gathered(vault, path, &gathered)
}

/// Opens the vault with shares already checked one by one.
pub fn open_gathered(
    vault: &Vault,
    path: &Path,
    gathered: &Gathered,
) -> CliResult<(Unsealed, Vec<String>)> {
    if gathered.accepted.len() < vault.threshold() {
        return Err(too_few(vault, gathered));
    }
    let unsealed = vault.open(&gathered.key_shares())?;
    for index in unsealed.inconsistent() {
        super::warn(format_args!(
            "custodian {}'s share matches the commitment stored in the vault but not the other \
             shares: the vault's commitments were altered; the share was left out",
            vault.custodian_name(*index).unwrap_or("?")
        ));
    }
    for record in unsealed.bad_macs(vault) {
        super::warn(format_args!(
            "audit record #{record} fails its MAC: the audit trail of {} was altered",
            path.display()
        ));
    }
    let used = gathered
        .accepted
        .iter()
        .filter(|s| !unsealed.inconsistent().contains(&s.share.index()))
        .map(|s| s.custodian.clone())
        .collect();
    Ok((unsealed, used))
}

fn too_few(vault: &Vault, g: &Gathered) -> CliError {
    let valid = match g.custodians() {
        v if v.is_empty() => "none".to_owned(),
        v => v.join(", "),
    };
    let rejected = match g.rejected_sources() {
        r if r.is_empty() => String::new(),
        r => format!("; rejected: {}", r.join(", ")),
    };
    CliError::shares(format!(
        "need {} valid shares, got {} (valid: {valid}{rejected}) — bring more custodians' shares",
        vault.threshold(),
        g.accepted.len()
    ))
}
