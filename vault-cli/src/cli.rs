//! Command-line definitions (clap). Help text here is the documentation
//! users see; keep it in step with README.md and DESIGN.md's contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// breakglass: emergency credentials sealed in one vault file. Anyone can
/// deposit; any k of n custodians together can unseal; every use is recorded.
#[derive(Debug, Parser)]
#[command(name = "breakglass", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 usage, 2 bad input (share, passphrase, file), \
3 not enough valid shares, 4 vault damaged or tampered.\n\
Passphrases and secrets are read from the terminal without echo, or one line each from \
stdin when stdin is not a terminal. They are never taken as arguments."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault and write one share file per custodian.
    Init(InitArgs),
    /// Deposit a secret (no shares needed). The secret is read from stdin or prompted.
    Seal(SealArgs),
    /// List entries: labels, kinds, versions, dates. Never a secret, never a share.
    List(ListArgs),
    /// Reveal entries with the shares of k custodians.
    Unseal(UnsealArgs),
    /// Check one custodian's share (and passphrase) alone, revealing nothing.
    VerifyShare(VerifyShareArgs),
    /// Print the vault's audit trail.
    Audit(AuditArgs),
}

/// Argon2id costs for passphrase-protected shares.
#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id memory per share, in MiB (at least 19).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub argon2_memory: u32,
    /// Argon2id passes (at least 2).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub argon2_time: u32,
    /// Argon2id lanes (at least 1).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub argon2_parallelism: u32,
}

/// `breakglass init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The vault file to create.
    pub vault: PathBuf,
    /// A name for the vault, printed on shares and envelopes.
    #[arg(long)]
    pub name: String,
    /// How many custodians must bring their shares to unseal (k, at least 2).
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// A custodian's name; repeat for each custodian (n in all).
    #[arg(long = "custodian", value_name = "NAME", required = true)]
    pub custodians: Vec<String>,
    /// Directory for the share files (DIR/<custodian>.share); created if missing.
    #[arg(long, value_name = "DIR")]
    pub share_dir: PathBuf,
    /// Write plain shares, not protected by a passphrase (for custodians who
    /// keep their envelopes apart).
    #[arg(long)]
    pub no_passphrase: bool,
    /// Overwrite an existing vault file and share files.
    #[arg(long)]
    pub force: bool,
    /// Argon2id costs.
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// Entry kinds on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// An account password.
    Password,
    /// A recovery key (FileVault, BitLocker, …).
    RecoveryKey,
    /// Free-form text.
    Note,
}

/// `breakglass seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The entry's label (public). Sealing an existing label adds a version.
    #[arg(long)]
    pub label: String,
    /// What the secret is.
    #[arg(long, value_enum, default_value = "password")]
    pub kind: KindArg,
    /// The account name to keep with the secret (sealed with it).
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// A device identifier (serial number, host name, key ID), public, for lookup.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass unseal`.
#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// A share file (text as written by init, or `-` for stdin); repeat for each custodian.
    #[arg(long = "share", value_name = "FILE", required = true)]
    pub shares: Vec<PathBuf>,
    /// Reveal only this entry; repeat for more (default: all entries).
    #[arg(long = "entry", value_name = "LABEL")]
    pub entries: Vec<String>,
    /// Why the vault is being opened (kept in the audit trail).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass verify-share`.
#[derive(Debug, Args)]
pub struct VerifyShareArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The share file (or `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub share: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Check the whole file (chain, records, no torn tail) and print the head hash;
    /// exit 4 if anything is wrong.
    #[arg(long)]
    pub verify: bool,
    /// One JSON object per event (JSON lines).
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
