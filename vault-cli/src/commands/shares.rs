//! Reading and checking the shares given with `--share`: each is checked
//! alone, and every bad one is named with its custodian and what to do.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use vault_core::share::{ShareBody, UnlockError};
use vault_core::share_text;
use vault_core::vault::{Opened, Quorum, ShareProblem, Unsealed, Vault};

use crate::error::{CliError, CliResult};
use crate::input::Input;

/// The shares given so far: the quorum (in vault-core, which owns the
/// rules: duplicates, the threshold, the custodians used) and where the
/// rejected ones came from, for messages.
pub struct Gathered<'v> {
    /// Shares that passed every check alone.
    pub quorum: Quorum<'v>,
    /// Where the rejected shares came from, in the order given.
    pub rejected: Vec<String>,
}

impl<'v> Gathered<'v> {
    /// Nothing gathered yet.
    pub fn new(vault: &'v Vault) -> Self {
        Self {
            quorum: Quorum::new(vault),
            rejected: Vec::new(),
        }
    }
}

/// What a `--share` path that names no file gets.
const NO_SUCH_FILE: &str =
    "no such file — check the path (a share file, a photo or scan of an envelope, or - for stdin)";

/// How a share is named in messages.
pub fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".into()
    } else {
        path.display().to_string()
    }
}

/// Checks every share, printing one line on stderr for each bad one.
pub fn gather<'v>(
    vault: &'v Vault,
    paths: &[PathBuf],
    input: &mut Input,
) -> CliResult<Gathered<'v>> {
    // A path that names no file is a mistake in the command. If the other
    // shares given cannot reach the threshold anyway, say so at once
    // (exit 2), before any passphrase is asked for; otherwise name it and
    // go on with the others.
    let exists = |p: &PathBuf| p.as_path() == Path::new("-") || std::fs::metadata(p).is_ok();
    let missing: Vec<&PathBuf> = paths.iter().filter(|p| !exists(p)).collect();
    if let Some(first) = missing.first() {
        // Without a terminal, passphrases are stdin lines in share order;
        // a share that cannot be read would put every later line out of
        // step with its share.
        if !input.is_terminal() {
            return Err(CliError::input(format!(
                "share {}: {NO_SUCH_FILE}; without a terminal the passphrase lines could not \
                 be matched to their shares, so nothing was tried",
                first.display()
            )));
        }
        if paths.len() - missing.len() < vault.threshold() {
            return Err(CliError::input(format!(
                "share {}: {NO_SUCH_FILE}; without it fewer than {} shares were given",
                first.display(),
                vault.threshold()
            )));
        }
    }
    let mut out = Gathered::new(vault);
    for path in paths {
        let source = source_name(path);
        if missing.contains(&path) {
            eprintln!("breakglass: share {source}: {NO_SUCH_FILE}");
            out.rejected.push(source);
            continue;
        }
        if let Err(why) = add_file(&mut out, path, input)? {
            eprintln!("breakglass: share {source}: {why}");
            out.rejected.push(source);
        }
    }
    Ok(out)
}

/// Reads and adds one share file. The outer error is fatal (stdin ran
/// out); the inner one rejects this share only. On success, the
/// custodian's name.
pub fn add_file(
    gathered: &mut Gathered<'_>,
    path: &Path,
    input: &mut Input,
) -> CliResult<Result<String, String>> {
    let text = match input.share_text(path) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.message)),
    };
    add_text(gathered, &source_name(path), &text, input)
}

/// Adds one share given as text (`source` names it in messages): decoded,
/// prechecked, its passphrase asked for, then checked against its
/// commitment.
pub fn add_text(
    gathered: &mut Gathered<'_>,
    source: &str,
    text: &str,
    input: &mut Input,
) -> CliResult<Result<String, String>> {
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
    Ok(match add_body(gathered, source, &body, input, false)? {
        Added::Ok(c) => Ok(c),
        Added::Rejected(why) => Err(why),
        // Not offered without `commands`.
        Added::Back | Added::Quit => Err("set aside".to_owned()),
    })
}

/// What became of a share offered to the quorum.
pub enum Added {
    /// Counted: the custodian's name.
    Ok(String),
    /// Not counted, and why (with what to do).
    Rejected(String),
    /// At the passphrase prompt the custodian typed `b`: back to the lines.
    Back,
    /// At the passphrase prompt the custodian typed `q`.
    Quit,
}

/// Tries a passphrase this many times at a terminal before the share is
/// set aside (its typed lines are kept by the caller).
pub const PASSPHRASE_TRIES: usize = 3;

/// Offers a decoded share: prechecked (vault, generation, custodian)
/// before any passphrase, then opened — at a terminal a wrong passphrase
/// is asked again, up to [`PASSPHRASE_TRIES`] times. With `commands`, `q`
/// and `b` at the passphrase prompt quit or go back (no passphrase is that
/// short). A share newer than the vault file, or of another vault file of
/// the same generation, stops the command (exit 4): the file is wrong.
pub fn add_body(
    gathered: &mut Gathered<'_>,
    source: &str,
    body: &ShareBody,
    input: &mut Input,
    commands: bool,
) -> CliResult<Added> {
    let vault = gathered.quorum.vault();
    let custodian = match gathered.quorum.precheck(body) {
        Ok(c) => c,
        Err(p @ (ShareProblem::NewerGeneration { .. } | ShareProblem::OtherFingerprint { .. })) => {
            return Err(CliError::damaged(format!("share {source}: {p}")));
        }
        Err(problem) => {
            skip_passphrase_line(input, body.is_protected())?;
            return Ok(Added::Rejected(share_problem(vault, &problem)));
        }
    };
    let tries = if input.is_terminal() {
        PASSPHRASE_TRIES
    } else {
        1
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let passphrase = if body.is_protected() {
            let p = input.passphrase(&format!("Passphrase for {custodian}'s share ({source})"))?;
            if commands {
                match p.expose_secret().trim() {
                    "q" | "Q" => return Ok(Added::Quit),
                    "b" | "B" => return Ok(Added::Back),
                    _ => {}
                }
            }
            Some(p)
        } else {
            None
        };
        match gathered.quorum.add(body, passphrase.as_ref()) {
            Ok(c) => return Ok(Added::Ok(c.to_owned())),
            // Damage, not a wrong share: no other share will do.
            Err(p @ ShareProblem::GenesisKey { .. }) => {
                return Err(CliError::damaged(format!("share {source}: {p}")));
            }
            Err(ShareProblem::Unlock(UnlockError::WrongPassphrase)) if attempt < tries => {
                let left = tries - attempt;
                eprintln!(
                    "  wrong passphrase for {custodian}'s share — type it again ({left} {} left{})",
                    if left == 1 { "try" } else { "tries" },
                    if commands {
                        "; the typed lines are kept"
                    } else {
                        ""
                    }
                );
            }
            Err(p) => {
                return Ok(Added::Rejected(format!(
                    "custodian {custodian}: {}",
                    share_problem(vault, &p)
                )))
            }
        }
    }
}

fn skip_passphrase_line(input: &mut Input, protected: bool) -> CliResult {
    if protected && !input.is_terminal() {
        input.passphrase("passphrase of a share that was rejected")?;
    }
    Ok(())
}

pub use vault_core::vault::advice::{share_problem, text_problem};

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
    open_gathered(path, &gathered)
}

/// Opens the vault with shares already checked one by one.
pub fn open_gathered(path: &Path, gathered: &Gathered<'_>) -> CliResult<(Unsealed, Vec<String>)> {
    let quorum = &gathered.quorum;
    let vault = quorum.vault();
    if !quorum.is_complete() {
        return Err(too_few(gathered));
    }
    let Opened {
        unsealed,
        used,
        inconsistent,
    } = quorum.open()?;
    for name in inconsistent {
        super::warn(format_args!(
            "custodian {name}'s share matches the commitment stored in the vault but not the other \
             shares: the vault's commitments were altered; the share was left out"
        ));
    }
    for record in unsealed.bad_macs(vault) {
        super::warn(format_args!(
            "audit record #{record} fails its MAC: the audit trail of {} was altered",
            path.display()
        ));
    }
    Ok((unsealed, used))
}

fn too_few(g: &Gathered<'_>) -> CliError {
    let valid = match g.quorum.custodians() {
        v if v.is_empty() => "none".to_owned(),
        v => v.join(", "),
    };
    let rejected = match &g.rejected {
        r if r.is_empty() => String::new(),
        r => format!("; rejected: {}", r.join(", ")),
    };
    CliError::shares(format!(
        "need {} valid shares, got {} (valid: {valid}{rejected}) — bring more custodians' shares",
        g.quorum.need(),
        g.quorum.len()
    ))
}
