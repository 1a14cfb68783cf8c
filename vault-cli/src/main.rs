//! `breakglass`: the command-line shell over vault-core.

#![deny(unsafe_code)]

mod cli;
mod commands;
mod context;
mod error;
mod harden;
mod input;
mod paper;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
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

/// Commands that hold passphrases, shares, keys or secrets in memory.
fn handles_secrets(command: &Command) -> bool {
    !matches!(
        command,
        Command::List(_) | Command::Audit(_) | Command::Status(_)
    )
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Init(a) => commands::init::run(a),
        Command::Seal(a) => commands::seal::run(a),
        Command::Rotate(a) => commands::seal::rotate(a),
        Command::Drill(a) => commands::drill::run(a),
        Command::Rekey(a) => commands::rekey::run(a),
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
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut cmd, "breakglass", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .map_err(|e| CliError::input(format!("writing the man page: {e}"))),
    }
}
