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
    /// Where the events of the records a command writes go (docs/MONITORING.md).
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// An age identity file (AGE-SECRET-KEY-1… or a hardware token's
    /// AGE-PLUGIN-NAME-1…, opened through age-plugin-NAME on PATH) or an SSH
    /// private key that opens shares sealed to a custodian (with --share);
    /// repeat for each.
    #[arg(long = "identity", global = true, value_name = "FILE")]
    pub identities: Vec<PathBuf>,
}

/// Monitoring flags, valid with every command (docs/MONITORING.md). The
/// vault's `VAULT.monitoring` file and the user's config file add to them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Monitoring")]
pub struct NotifyArgs {
    /// Run CMD (program and arguments split at spaces; no shell) for the records this
    /// command writes, with their audit events on stdin, one JSON object a line.
    #[arg(long, global = true, value_name = "CMD")]
    pub notify: Vec<String>,
    /// Send the events to syslog (RFC 5424): local (/dev/log), unix:PATH,
    /// udp://HOST:PORT or tcp://HOST:PORT.
    #[arg(long, global = true, value_name = "DEST")]
    pub syslog: Vec<String>,
    /// Write the events to the Windows Event Log (Application, source breakglass).
    #[arg(long, global = true)]
    pub eventlog: bool,
    /// Seconds each destination gets before it is given up on (default 5; at most
    /// 60). Undelivered events stay in VAULT.outbox for the next command.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = crate::notify::parse_timeout)]
    pub notify_timeout: Option<f64>,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault and write one share file per custodian.
    Init(InitArgs),
    /// Deposit a secret (no shares needed). The secret is read from stdin or prompted.
    /// With --to RECIPIENT instead of a vault: write a deposit token, for `ingest`.
    Seal(SealArgs),
    /// Print the vault's recipient: the one line a depositor needs to seal to it
    /// without the file (seal --to) and to pin it (--expect).
    Recipient(RecipientArgs),
    /// Append deposit tokens (made with seal --to) to the vault; tokens already
    /// in it are skipped.
    Ingest(IngestArgs),
    /// List entries: labels, kinds, versions, dates. Never a secret, never a share.
    List(ListArgs),
    /// Deposit every row of a CSV export (FileVault, BitLocker, LAPS, or named columns).
    Import(ImportArgs),
    /// Reveal entries with the shares of k custodians.
    Unseal(UnsealArgs),
    /// Check one custodian's share (and passphrase) alone, revealing nothing.
    VerifyShare(VerifyShareArgs),
    /// Seal a new version of an entry after a test or use (no shares needed).
    Rotate(RotateArgs),
    /// Prove k shares open the vault and every entry version decrypts; reveals nothing.
    Drill(DrillArgs),
    /// A recovery session: the quorum once, then one recorded reveal per lookup (key ID,
    /// serial number, device name or label) until its time runs out.
    Session(SessionArgs),
    /// New master key, escrow key and shares for a new custodian set; every entry
    /// re-encrypted; old shares stop working.
    Rekey(RekeyArgs),
    /// Move a version 1 vault to version 2 (signed records, a fingerprint
    /// that commits to its keys) with a quorum; shares stay valid.
    Upgrade(UpgradeArgs),
    /// Re-issue one custodian's lost share with a quorum: the same share,
    /// written again (to their key, with a new passphrase, or plain).
    Reissue(ReissueArgs),
    /// Readiness report: drills, rotations, exposed entries, share checks.
    Status(StatusArgs),
    /// Print the vault's audit trail.
    Audit(AuditArgs),
    /// Print envelopes: one PDF page per custodian with the share as QR code and text.
    Envelope(EnvelopeArgs),
    /// Print the whole (sealed) vault on paper: numbered QR codes with typed text.
    Backup(BackupArgs),
    /// Rebuild a vault file from scans or typed text of its paper backup.
    Restore(RestoreArgs),
    /// Start a remote unseal: a request custodians contribute to from anywhere.
    Request(RequestArgs),
    /// Seal your share to a request, for the operator to unseal with.
    Contribute(ContributeArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout: breakglass man > breakglass.1
    Man,
    /// Show, or forget (--forget), the fingerprint pinned for a vault at its
    /// first deposit from a terminal.
    Pin(PinArgs),
}

/// `breakglass pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Forget the pin (after an intended change, such as a rekey).
    #[arg(long)]
    pub forget: bool,
}

/// `breakglass completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Paper sizes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PaperArg {
    /// ISO A4 (210 × 297 mm).
    A4,
    /// US Letter (8.5 × 11 in).
    Letter,
}

/// Free text printed on every envelope. A version 1 vault file has no
/// field for it, so it is given to each command that prints or reprints.
#[derive(Debug, Clone, Default, Args)]
pub struct EnvelopeTextArgs {
    /// Whom a custodian calls in an emergency (names, phone numbers; printed on
    /// the envelopes; not kept in a version 1 vault file).
    #[arg(long, value_name = "TEXT")]
    pub contact: Option<String>,
    /// Where the vault copy, the offline laptop and the breakglass program are
    /// (printed on the envelopes; not kept in a version 1 vault file).
    #[arg(long = "where", value_name = "TEXT")]
    pub place: Option<String>,
}

/// `breakglass envelope`.
#[derive(Debug, Args)]
pub struct EnvelopeArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The share to print (its text file).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub share: Option<PathBuf>,
    /// The PDF to write (with --share).
    #[arg(
        long,
        value_name = "FILE.pdf",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub out: Option<PathBuf>,
    /// One PDF per custodian for every share in --share-dir, written to --out-dir.
    #[arg(long, requires_all = ["share_dir", "out_dir"])]
    pub all: bool,
    /// Directory of share files (with --all).
    #[arg(long, value_name = "DIR")]
    pub share_dir: Option<PathBuf>,
    /// Directory for the PDFs (with --all): DIR/<custodian>.pdf.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Paper size.
    #[arg(long, value_enum, default_value = "a4")]
    pub paper: PaperArg,
    /// Whom to call, where things are.
    #[command(flatten)]
    pub text: EnvelopeTextArgs,
    /// Overwrite existing PDFs.
    #[arg(long)]
    pub force: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The PDF to write.
    #[arg(long, value_name = "FILE.pdf")]
    pub out: PathBuf,
    /// Paper size.
    #[arg(long, value_enum, default_value = "a4")]
    pub paper: PaperArg,
    /// One part a page (1,000 bytes) with its typed lines at about 10 pt,
    /// instead of two (2,000 bytes) at about 7.5 pt: for typing back by hand.
    #[arg(long)]
    pub large_type: bool,
    /// Overwrite an existing PDF.
    #[arg(long)]
    pub force: bool,
}

/// `breakglass restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The vault file to write.
    pub out: PathBuf,
    /// Scans (PNG/JPEG, several parts a page) or text files of parts, in any
    /// order; several after one --from (`--from page-*.png`) or repeated.
    #[arg(long = "from", value_name = "FILE", required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// The vault it must be.
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `breakglass request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Where to write the request (shareable text); its private key goes to OUT.key (0600).
    #[arg(long, value_name = "REQUEST")]
    pub out: PathBuf,
    /// Why (shown to custodians, kept in the audit trail).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// How long the request stays open (e.g. 30m, 2h; at most 7 days).
    #[arg(long, value_name = "DURATION", default_value = "2h")]
    pub expires: String,
    /// What the contributions are for (shown to custodians; only that command accepts
    /// them).
    #[arg(long = "for", value_enum, default_value = "unseal")]
    pub purpose: PurposeArg,
    /// Also write the request as a QR code picture (PNG), to show on a screen.
    #[arg(long, value_name = "FILE.png")]
    pub qr: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a remote request is for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    /// Reveal entries.
    Unseal,
    /// A drill: shares checked, nothing revealed.
    Drill,
    /// A rekey: new master key and shares.
    Rekey,
}

/// Remote contributions instead of shares (`unseal`, `drill`, `rekey`).
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Use the contributions to this request (made by `breakglass request`, `--for` this
    /// command) instead of shares.
    #[arg(
        long,
        value_name = "REQUEST",
        conflicts_with = "shares",
        requires = "contributions"
    )]
    pub request: Option<PathBuf>,
    /// A contribution file; repeat for each custodian (with --request).
    #[arg(long = "contribution", value_name = "FILE", requires = "request")]
    pub contributions: Vec<PathBuf>,
}

/// `breakglass contribute`.
#[derive(Debug, Args)]
pub struct ContributeArgs {
    /// The request: a file holding it, a picture of its QR code, or the token itself.
    pub request: String,
    /// Your share file (or `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub share: PathBuf,
    /// Where to write the contribution (shareable text).
    #[arg(long, value_name = "CONTRIBUTION")]
    pub out: PathBuf,
    /// Also check the share against this copy of the vault.
    #[arg(long, value_name = "VAULT")]
    pub vault: Option<PathBuf>,
    /// Confirm without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Overwrite an existing contribution file.
    #[arg(long)]
    pub force: bool,
}

/// Pinning the vault a deposit goes to.
#[derive(Debug, Args)]
pub struct ExpectArgs {
    /// Refuse unless the vault's fingerprint is this one (its short form,
    /// as on the envelopes and in `list`, or its 64 hex digits): a vault
    /// whose escrow key, custodians or settings were changed is refused.
    #[arg(long, value_name = "FINGERPRINT")]
    pub expect: Option<String>,
}

/// Generating the secret instead of typing it.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Generate the secret (shown once, then sealed) instead of reading it.
    #[arg(long)]
    pub generate: bool,
    /// Generated password length, 16 to 128.
    #[arg(long, value_name = "N", default_value_t = 24, requires = "generate")]
    pub length: usize,
    /// Character classes for a generated password.
    #[arg(
        long,
        value_name = "SETS",
        value_delimiter = ',',
        default_value = "upper,lower,digits,symbols",
        requires = "generate"
    )]
    pub charset: Vec<String>,
    /// Leave out look-alike characters (I O Q l o 0 1).
    #[arg(long, requires = "generate")]
    pub readable: bool,
    /// Generate a passphrase of N words (6 to 10) from the EFF long word list instead.
    #[arg(long, value_name = "N", requires = "generate", conflicts_with_all = ["length", "readable"])]
    pub words: Option<usize>,
}

/// Rotation and exposure policy of an entry.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Rotate at least every N days (default 90, kept across versions).
    #[arg(long, value_name = "DAYS")]
    pub rotate_every: Option<u32>,
    /// After an unseal, rotate within N hours (default 24, kept across versions).
    #[arg(long, value_name = "HOURS")]
    pub rotate_after_use: Option<u32>,
}

/// Argon2id costs for passphrase-protected shares.
#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id memory per share, in MiB (19 to 192; memory × passes at most 768).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub argon2_memory: u32,
    /// Argon2id passes (2 to 16).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub argon2_time: u32,
    /// Argon2id lanes (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub argon2_parallelism: u32,
}

/// A custodian set and its shares: for `init`, and the new set for `rekey`.
#[derive(Debug, Args)]
pub struct CustodianSetArgs {
    /// How many custodians must bring their shares to unseal (k, at least 2).
    #[arg(long, value_name = "K")]
    pub threshold: usize,
    /// A custodian: NAME, or NAME=RECIPIENT to seal the share to their key
    /// (age1…, "ssh-ed25519 AAAA…", "ssh-rsa AAAA…", or a token's
    /// age1yubikey1…/age1se1…/age1tpm1… through age-plugin-NAME on PATH),
    /// NAME=passphrase or NAME=plain; repeat for each custodian (n in all).
    #[arg(
        long = "custodian",
        value_name = "NAME[=RECIPIENT]",
        required_unless_present = "custodians_file"
    )]
    pub custodians: Vec<String>,
    /// A recipients file: one `NAME RECIPIENT` a line (`#` comments); read
    /// before the --custodian flags.
    #[arg(long = "custodians", value_name = "FILE")]
    pub custodians_file: Option<PathBuf>,
    /// Also write the ceremony transcript (fingerprint, recipients, share
    /// file digests) to FILE.
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// Directory for the share files (DIR/<custodian>.share); created if missing.
    #[arg(long, value_name = "DIR")]
    pub share_dir: PathBuf,
    /// Write plain shares, not protected by a passphrase (for custodians who
    /// keep their envelopes apart).
    #[arg(long)]
    pub no_passphrase: bool,
    /// Overwrite existing files (the vault at init, share files).
    #[arg(long)]
    pub force: bool,
    /// Argon2id costs.
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// For the envelopes: whom to call, where things are.
    #[command(flatten)]
    pub text: EnvelopeTextArgs,
}

/// `breakglass init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The vault file to create.
    pub vault: PathBuf,
    /// A name for the vault, printed on shares and envelopes.
    #[arg(long)]
    pub name: String,
    /// The custodians.
    #[command(flatten)]
    pub set: CustodianSetArgs,
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
    /// A small binary file (up to 64 KiB), read from stdin.
    File,
}

/// `breakglass rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The entry to rotate.
    pub label: String,
    /// The account name to keep with the new secret (usernames are sealed, so
    /// rotate cannot copy the previous one).
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Generating the new secret.
    #[command(flatten)]
    pub generate: GenerateArgs,
    /// Rotation policy (unset: unchanged).
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The vault it must be.
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Print JSON (including a generated secret).
    #[arg(long)]
    pub json: bool,
}

/// Why a drill was run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DrillKindArg {
    /// A scheduled test.
    Drill,
    /// A review after a real emergency use.
    Emergency,
    /// A review after suspected misuse.
    Misuse,
}

/// `breakglass drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// A share file (or `-`); repeat for each custodian present.
    #[arg(
        long = "share",
        value_name = "FILE",
        required_unless_present = "request"
    )]
    pub shares: Vec<PathBuf>,
    /// Custodians elsewhere.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// What kind of exercise this is.
    #[arg(long, value_enum, default_value = "drill")]
    pub kind: DrillKindArg,
    /// Notes kept in the audit trail.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// A share file (or `-`); repeat for each custodian present.
    #[arg(long = "share", value_name = "FILE", required = true)]
    pub shares: Vec<PathBuf>,
    /// Why (the incident): kept in every record of the session.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// How long the session may last (e.g. 8h; at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "8h")]
    pub ttl: String,
    /// End the session after this long without a lookup.
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub idle: String,
    /// Start even where memory cannot be locked (the escrow key could reach swap).
    #[arg(long)]
    pub allow_unlocked: bool,
}

/// `breakglass rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Current shares of k custodians (text file, picture or `-`); repeat for each.
    #[arg(
        long = "share",
        value_name = "FILE",
        required_unless_present = "request"
    )]
    pub shares: Vec<PathBuf>,
    /// Custodians elsewhere.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The new custodians.
    #[command(flatten)]
    pub set: CustodianSetArgs,
    /// Why (kept in the rekey record).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass reissue`.
#[derive(Debug, Args)]
pub struct ReissueArgs {
    /// The vault file (format version 2).
    pub vault: PathBuf,
    /// Whose share was lost: NAME, or NAME=RECIPIENT to seal it to their
    /// key (an age recipient, an SSH public key).
    #[arg(long, value_name = "NAME[=RECIPIENT]")]
    pub custodian: String,
    /// Shares of k custodians (text file, picture or `-`); repeat for each.
    #[arg(long = "share", value_name = "FILE", required = true)]
    pub shares: Vec<PathBuf>,
    /// Directory for the re-issued share file.
    #[arg(long, value_name = "DIR")]
    pub share_dir: PathBuf,
    /// Write it without a passphrase.
    #[arg(long)]
    pub no_passphrase: bool,
    /// The share may have been copied, not just lost: refused (re-issuing
    /// would leave the copy working; rekey instead).
    #[arg(long)]
    pub compromised: bool,
    /// Why (kept in the signed record).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Overwrite an existing share file.
    #[arg(long)]
    pub force: bool,
    /// Argon2id costs of the new passphrase protection.
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The vault file (format version 1).
    pub vault: PathBuf,
    /// Shares of k custodians (text file, picture or `-`); repeat for each.
    #[arg(long = "share", value_name = "FILE", required = true)]
    pub shares: Vec<PathBuf>,
    /// Whom to call, where things are: kept in the new genesis record.
    #[command(flatten)]
    pub text: EnvelopeTextArgs,
    /// Why (kept in the closing record).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "upgrade to format version 2"
    )]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Evaluate as of this time (RFC 3339, e.g. 2026-12-31T00:00:00Z) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Days between drills before a drill is overdue.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub drill_every: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass recipient`.
#[derive(Debug, Args)]
pub struct RecipientArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Print JSON (recipient and fingerprint).
    #[arg(long)]
    pub json: bool,
}

/// `breakglass ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Files of deposit tokens (other lines are ignored); - for stdin.
    #[arg(required = true, value_name = "TOKENS")]
    pub files: Vec<PathBuf>,
    /// Check every token and say what would happen; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The vault file (or give --to instead).
    #[arg(required_unless_present = "to")]
    pub vault: Option<PathBuf>,
    /// Seal to this recipient (breakglass recipient VAULT) without the vault
    /// file, writing a deposit token for `breakglass ingest`.
    #[arg(long, value_name = "RECIPIENT", conflicts_with_all = ["vault", "expect"])]
    pub to: Option<String>,
    /// With --to: append the token line to this file (default: stdout).
    #[arg(long, value_name = "FILE", requires = "to")]
    pub out: Option<PathBuf>,
    /// The entry's label (public). Sealing an existing label adds a version.
    #[arg(long)]
    pub label: String,
    /// What the secret is.
    #[arg(long, value_enum, default_value = "password")]
    pub kind: KindArg,
    /// The account name to keep with the secret (sealed with it).
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// A device identifier (serial number, host name), public, for lookup.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// The BitLocker key ID (8 hex digits) of a BitLocker recovery password.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Generating the secret.
    #[command(flatten)]
    pub generate: GenerateArgs,
    /// Rotation policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The vault it must be.
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// Export formats for import.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormatArg {
    /// FileVault recovery keys (Jamf Pro / Intune): serial number, computer name, key.
    Filevault,
    /// BitLocker recovery passwords (Entra ID / Intune): device, key ID, recovery key.
    Bitlocker,
    /// Windows LAPS (Get-LapsADPassword | Export-Csv): computer, account, password.
    Laps,
    /// Any CSV: name the columns with --label-column and --secret-column.
    Generic,
}

/// `--delimiter`: one ASCII character, or `tab`.
fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        _ => match s.as_bytes() {
            [b] if (b.is_ascii_punctuation() && *b != b'"') || *b == b' ' => Ok(*b),
            _ => Err("a delimiter is one character such as `,` or `;`, or `tab`".into()),
        },
    }
}

/// `breakglass import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// The CSV export.
    #[arg(long, value_name = "FILE.csv")]
    pub from: PathBuf,
    /// Which export it is.
    #[arg(long, value_enum)]
    pub format: ImportFormatArg,
    /// Abort, writing nothing, if any row is bad.
    #[arg(long)]
    pub strict: bool,
    /// Generic: the column holding the label.
    #[arg(long, value_name = "COLUMN", required_if_eq("format", "generic"))]
    pub label_column: Option<String>,
    /// The column holding the secret (required for generic; overrides the
    /// synonym table otherwise).
    #[arg(long, value_name = "COLUMN", required_if_eq("format", "generic"))]
    pub secret_column: Option<String>,
    /// The column identifying the device (FileVault: the serial number;
    /// otherwise the device name).
    #[arg(long, value_name = "COLUMN")]
    pub device_column: Option<String>,
    /// The column holding the username (or LAPS account).
    #[arg(long, value_name = "COLUMN")]
    pub username_column: Option<String>,
    /// BitLocker: the column holding the recovery key ID.
    #[arg(long, value_name = "COLUMN")]
    pub key_id_column: Option<String>,
    /// The column whose timestamps order several rows of one device into
    /// versions (the newest current).
    #[arg(long, value_name = "COLUMN")]
    pub time_column: Option<String>,
    /// The field delimiter: `,`, `;` or `tab` (sniffed from the header when
    /// not given).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Print the encoding, delimiter, column mapping and the first rows'
    /// outcome, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Generic: the kind of every row.
    #[arg(long, value_enum, default_value = "password")]
    pub kind: KindArg,
    /// The vault it must be.
    #[command(flatten)]
    pub expect: ExpectArgs,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// Only entries for this device (serial number, host name; any case).
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// Only entries whose label, device or BitLocker key ID contains TEXT (any case;
    /// a whole key ID GUID finds its key).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `breakglass unseal`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("lookup").args(["device", "key_id"])))]
pub struct UnsealArgs {
    /// The vault file.
    pub vault: PathBuf,
    /// A share: its text file, a scan or photo of its envelope (PNG/JPEG), or `-` for
    /// stdin; repeat for each custodian. On a terminal with none, breakglass asks for them.
    #[arg(long = "share", value_name = "FILE")]
    pub shares: Vec<PathBuf>,
    /// Custodians elsewhere.
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Reveal the entry for this device (serial number, host name; any case). When
    /// several entries are for it: asks which at a terminal, else add --entry or
    /// --all-matches.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// Reveal the BitLocker key with this key ID: the 8 hex digits on the recovery
    /// screen or the whole key ID GUID (any case, braces optional).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// With --device or --key-id: reveal every entry found, not only one.
    #[arg(long, requires = "lookup")]
    pub all_matches: bool,
    /// Reveal this entry; repeat for more. With no --entry, --device or --key-id,
    /// breakglass lists the entries at a terminal and asks which (and why).
    #[arg(long = "entry", value_name = "LABEL")]
    pub entries: Vec<String>,
    /// Reveal every entry (each is then marked exposed and must be rotated).
    #[arg(long, conflicts_with_all = ["entries", "device", "key_id"])]
    pub all: bool,
    /// Why the vault is being opened (kept in the audit trail).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Show every version of the entries, oldest first, not only the current one.
    #[arg(long)]
    pub history: bool,
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
    /// exit 4 if anything is wrong. With --share, also check the MACs of quorum records.
    #[arg(long)]
    pub verify: bool,
    /// Shares of k custodians, to check the MACs of quorum records (with --verify).
    #[arg(long = "share", value_name = "FILE", requires = "verify")]
    pub shares: Vec<PathBuf>,
    /// A receipt printed by an earlier unseal, drill or rekey (with --verify):
    /// exit 4 if the file no longer extends what it saw (a dropped record, a
    /// rollback, a swapped file). Repeatable.
    #[arg(long = "receipt", value_name = "RECEIPT", requires = "verify")]
    pub receipts: Vec<String>,
    /// A file of receipts, one a line (other lines ignored), with --verify.
    #[arg(long = "receipts", value_name = "FILE", requires = "verify")]
    pub receipts_file: Option<PathBuf>,
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

    /// `restore OUT --from page-*.png`: the shell gives one --from many files.
    #[test]
    fn restore_takes_several_files_after_one_from() {
        use clap::Parser;
        let cli =
            Cli::try_parse_from(["breakglass", "restore", "v.bg", "--from", "a.png", "b.png"])
                .unwrap();
        let Command::Restore(r) = cli.command else {
            panic!("not restore")
        };
        assert_eq!(r.from.len(), 2);
    }
}
