//! `breakglass`: the command-line shell over vault-core.

#![deny(unsafe_code)]

mod cli;
mod commands;
mod context;
mod custody;
mod error;
mod harden;
mod input;
mod notify;
mod paper;
mod pins;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    if let Err(why) = harden::disable_core_dumps() {
        eprintln!("breakglass: warning: {why}");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and succeed; every other parse
            // problem is a usage error, exit 1 per the contract.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(error::Code::Usage as u8)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if handles_secrets(&cli.command) {
        // Depositors (often unattended scripts) are not warned: what they
        // hold is what they just typed or piped in.
        if let Err(why) = harden::lock_memory() {
            if !matches!(cli.command, Command::Seal(_) | Command::Rotate(_)) {
                eprintln!("breakglass: warning: {why}");
            }
        }
    }
    notify::set_flags(cli.notify);
    custody::open::set_identity_files(cli.identities);
    let result = run(cli.command);
    // Dead stack frames of the command may hold secrets (harden.rs).
    harden::wipe_stack();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("breakglass: error: {e}");
            e.exit_code()
        }
    }
}

/// A reader that goes away (`breakglass list --json | head -1`) is not a
/// crash: Rust ignores SIGPIPE, so `print!`/`println!` panic with "failed
/// printing to stdout: Broken pipe". This hook turns exactly that panic,
/// from any command, into a quiet exit 0 (what ripgrep does); every other
/// panic keeps the default report. Whatever the command had to write to the
/// vault is written before its output.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
        if message.starts_with("failed printing to stdout")
            && (message.contains(&broken) || message.contains("os error 32"))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Commands that hold passphrases, shares, keys or secrets in memory.
fn handles_secrets(command: &Command) -> bool {
    !matches!(
        command,
        Command::List(_)
            | Command::Audit(_)
            | Command::Status(_)
            | Command::Pin(_)
            | Command::Recipient(_)
            | Command::Ingest(_)
    )
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(a) => commands::init::run(a),
        Command::Seal(a) => commands::seal::run(a),
        Command::Recipient(a) => commands::tokens::recipient(a),
        Command::Ingest(a) => commands::tokens::ingest(a),
        Command::Rotate(a) => commands::seal::rotate(a),
        Command::Drill(a) => commands::drill::run(a),
        Command::Session(a) => commands::session::run(a),
        Command::Rekey(a) => commands::rekey::run(a),
        Command::Upgrade(a) => commands::upgrade::run(a),
        Command::Reissue(a) => commands::reissue::run(a),
        Command::Status(a) => commands::status::run(a),
        Command::List(a) => commands::list::run(a),
        Command::Import(a) => commands::import::run(a),
        Command::Unseal(a) => commands::unseal::run(a),
        Command::VerifyShare(a) => commands::verify_share::run(a),
        Command::Audit(a) => commands::audit::run(a),
        Command::Envelope(a) => commands::envelope::run(a),
        Command::Backup(a) => commands::backup::backup(a),
        Command::Restore(a) => commands::backup::restore(a),
        Command::Request(a) => commands::remote::request(a),
        Command::Contribute(a) => commands::remote::contribute(a),
        // Rendered into memory, then printed: print! is where a closed
        // stdout is handled (see `quiet_on_closed_stdout`).
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "breakglass", &mut out);
            print!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
        Command::Pin(a) => pins::run(a),
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| CliError::input(format!("writing the man page: {e}")))?;
            print!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
    }
}
