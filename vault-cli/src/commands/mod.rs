//! One module per command, plus what several share.

pub mod audit;
pub mod backup;
pub mod drill;
pub mod envelope;
pub mod import;
pub mod init;
pub mod interactive;
pub mod list;
pub mod pick;
pub mod receipts;
pub mod reissue;
pub mod rekey;
pub mod remote;
pub mod seal;
pub mod session;
pub mod shares;
pub mod status;
pub mod tokens;
pub mod unseal;
pub mod upgrade;
pub mod verify_share;

use std::path::Path;

use vault_core::fingerprint::Expected;
use vault_core::receipt::Receipt;
use vault_core::store::{self, Appended, Loaded, Scope};
use vault_core::vault::Vault;

use crate::error::{CliError, CliResult};

/// Prints a warning line on stderr.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("breakglass: warning: {message}");
}

/// Loads a whole vault, warning about a torn tail.
pub fn load(path: &Path) -> CliResult<Vault> {
    load_scope(path, &Scope::Whole)
}

/// Loads what `scope` needs of a vault (through its index when it can),
/// warning about a torn tail.
pub fn load_scope(path: &Path, scope: &Scope) -> CliResult<Vault> {
    let Loaded { vault, torn } = store::load_scope(path, scope)?;
    if let Some(t) = torn {
        warn(format_args!(
            "{}: the last {} bytes (from offset {}) are an unfinished write ({}); they are ignored \
             and will be set aside at the next write",
            path.display(),
            t.len,
            t.offset,
            t.why
        ));
    }
    Ok(vault)
}

/// Reports what an append did besides appending.
pub fn report_append(path: &Path, appended: &Appended) {
    if let Some((torn, aside)) = &appended.set_aside {
        warn(format_args!(
            "{}: an unfinished write of {} bytes at offset {} was moved to {}",
            path.display(),
            torn.len,
            torn.offset,
            aside.display()
        ));
    }
}

/// Prints a quorum operation's receipt on stderr, for people to keep
/// outside the vault.
pub fn print_receipt(receipt: &Receipt) {
    eprintln!(
        "Receipt (keep it outside the vault; 'breakglass audit VAULT --verify --receipt' then \
         detects a dropped record or a rolled-back or swapped file):\n  {}",
        receipt.to_line()
    );
}

/// The fingerprint `--expect` asks for, if any.
pub fn expected(a: &crate::cli::ExpectArgs) -> CliResult<Option<Expected>> {
    a.expect
        .as_deref()
        .map(|text| {
            text.parse()
                .map_err(|e| CliError::usage(format!("--expect {text}: {e}")))
        })
        .transpose()
}

/// Refuses (exit 4) a vault whose fingerprint is not the one expected:
/// its escrow key, custodians or settings were changed, or it is another
/// vault. `refused` says what was not done.
pub fn check_expected(
    path: &Path,
    vault: &Vault,
    expected: Option<&Expected>,
    refused: &str,
) -> CliResult {
    let Some(expected) = expected else {
        return Ok(());
    };
    let fingerprint = vault.fingerprint();
    // A recipient must match in both halves: a forged one may carry the
    // vault's fingerprint beside another escrow key.
    let escrow_differs = matches!(
        expected,
        Expected::Recipient(r) if r.escrow_public != vault.genesis().escrow_public
    );
    if fingerprint.matches(expected) && !escrow_differs {
        return Ok(());
    }
    if fingerprint.matches(expected) {
        return Err(CliError::damaged(format!(
            "{}: the recipient given carries this vault's fingerprint ({fingerprint}) but another \
             escrow key: that recipient was forged or altered — {refused}; get the recipient \
             again from the vault's owner (breakglass recipient VAULT)",
            path.display()
        )));
    }
    let what = match expected {
        Expected::Recipient(r) if r.escrow_public != vault.genesis().escrow_public => {
            "its escrow key differs from the recipient's: deposits would be readable with \
             another key, or this is another vault"
        }
        Expected::Recipient(_) => {
            "its escrow key is the recipient's but its custodians, threshold or name changed \
             (or it was rekeyed)"
        }
        _ => {
            "the vault's escrow key, custodians or settings were changed, or this is another \
             vault"
        }
    };
    Err(CliError::damaged(format!(
        "{}: its fingerprint is {fingerprint}, not the one expected: {what} — {refused}; ask \
         the vault's owner for its current fingerprint",
        path.display()
    )))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    vault_core::hex_upper(bytes).to_lowercase()
}

/// Writes `value` as [`print_json`] does, to stdout as it is serialized
/// (for documents as large as a fleet vault's list). A reader that goes
/// away ends the process quietly, as for every other output.
pub fn print_json_streamed(value: &impl serde::Serialize) {
    print_buffered(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
        writeln!(out)
    });
}

/// Writes `write`'s output to stdout through one buffer (a line at a time
/// is a system call a line: a million-entry `list` spent a second in
/// them). A reader that went away ends the command quietly (status 0);
/// another write error is reported (status 1).
pub fn print_buffered(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = write(&mut out).and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("breakglass: error: writing the output: {e}");
        std::process::exit(1);
    }
}

/// Prints a JSON value on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}

/// Appends a quorum record. If the vault cannot be written (read-only
/// media, full disk), the operation goes on: the event is printed on stderr
/// with a warning, because access must not fail because logging did.
/// Returns the receipt of the new record (also printed on stderr), if it
/// was written.
pub fn append_quorum_record(
    path: &Path,
    build: impl FnOnce(&Vault) -> Result<vault_core::record::Record, vault_core::vault::InputError>,
    event: impl FnOnce() -> serde_json::Value,
) -> CliResult<Option<Receipt>> {
    let mut fingerprint = None;
    let appended = store::append(path, &Scope::Keys, |v| {
        fingerprint = Some(*v.fingerprint().as_bytes());
        build(v)
    });
    match appended {
        Ok(Ok(appended)) => {
            report_append(path, &appended);
            let receipt = Receipt {
                fingerprint: fingerprint.expect("the record was built"),
                record: appended.record as u32,
                head: appended.head,
            };
            print_receipt(&receipt);
            crate::notify::acknowledge(path, crate::notify::Since::appended(&appended));
            Ok(Some(receipt))
        }
        Ok(Err(input)) => Err(input.into()),
        Err(e) => {
            warn(format_args!("could not record this in the vault: {e}"));
            let event = event();
            eprintln!("breakglass: unrecorded audit event: {event}");
            crate::notify::unrecorded(path, event);
            Ok(None)
        }
    }
}

/// A progress bar on stderr when it is a terminal; silent otherwise.
pub fn progress(len: usize, what: &'static str) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}
