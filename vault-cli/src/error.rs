//! CLI errors: one line saying what is wrong, where, and what to do, and
//! the exit code from the contract (README.md, "Exit codes").

use std::fmt;
use std::process::ExitCode;

use vault_core::error::{Field, InputError};
use vault_core::generate::GenerateError;
use vault_core::recovery_key::RecoveryKeyError;
use vault_core::remote::RemoteError;
use vault_core::store::StoreError;
use vault_core::vault::{EntryDamaged, OpenError};

/// Exit codes of the command-line contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 1: the command line is wrong.
    Usage = 1,
    /// 2: bad input (share, passphrase, file).
    BadInput = 2,
    /// 3: not enough valid shares.
    NotEnoughShares = 3,
    /// 4: the vault is damaged or was tampered with.
    Damaged = 4,
    /// 5: `status` found something overdue or at risk.
    Attention = 5,
}

/// An error to report and exit with.
#[derive(Debug)]
pub struct CliError {
    /// Exit code.
    pub code: Code,
    /// The one-line message (never containing a secret).
    pub message: String,
}

impl CliError {
    /// A usage error (exit 1).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: Code::Usage,
            message: message.into(),
        }
    }
    /// A bad-input error (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: Code::BadInput,
            message: message.into(),
        }
    }
    /// Not enough valid shares (exit 3).
    pub fn shares(message: impl Into<String>) -> Self {
        Self {
            code: Code::NotEnoughShares,
            message: message.into(),
        }
    }
    /// Something needs attention (exit 5, `status` only).
    pub fn attention(message: impl Into<String>) -> Self {
        Self {
            code: Code::Attention,
            message: message.into(),
        }
    }
    /// Damage or tampering (exit 4).
    pub fn damaged(message: impl Into<String>) -> Self {
        Self {
            code: Code::Damaged,
            message: message.into(),
        }
    }
    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code as u8)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let damaged = e.is_damage();
        let message = match &e {
            StoreError::Exists(_) => format!("{e} (use --force to overwrite it)"),
            StoreError::Vault { .. } if damaged => {
                format!("{e} — the vault is damaged or was altered; restore it from a backup copy")
            }
            _ => e.to_string(),
        };
        Self {
            code: if damaged {
                Code::Damaged
            } else {
                Code::BadInput
            },
            message,
        }
    }
}

impl From<InputError> for CliError {
    fn from(e: InputError) -> Self {
        Self::input(input_message(&e))
    }
}

impl From<RemoteError> for CliError {
    fn from(e: RemoteError) -> Self {
        Self::input(match &e {
            RemoteError::Reason(input) => input_message(input),
            RemoteError::Expiry => "--expires must be between 1 second and 7 days".to_owned(),
            _ => e.to_string(),
        })
    }
}

/// The core's message with the command line's words: the flag that gave
/// the value, and what to type instead. The core names no flags.
pub fn input_message(e: &InputError) -> String {
    match e {
        InputError::Text {
            field: field @ (Field::Reason | Field::Device),
            problem,
            max,
        } => format!("--{field} {problem} (at most {max} bytes, one line)"),
        InputError::SecretNotText { .. } => format!("{e} (use --kind file for binary data)"),
        InputError::PasswordLineBreak => {
            format!("{e} (use --kind note for text with line breaks)")
        }
        InputError::KindMismatch { held, .. } => {
            format!("{e}: use --kind {} or another label", held.name())
        }
        InputError::KeyIdWithoutBitLocker => {
            "--key-id goes with a BitLocker recovery password".to_owned()
        }
        InputError::NothingToRotate { .. } => format!("{e} (see: breakglass list)"),
        InputError::TooManyRevealed { .. } => {
            format!("{e} (name them with --entry, --device or --key-id); nothing was revealed")
        }
        InputError::RecoveryKey(RecoveryKeyError::Shape { .. }) => {
            format!("{e} (use --kind note for other keys)")
        }
        InputError::RecoveryKey(RecoveryKeyError::KeyId) => "--key-id must be a BitLocker key ID: \
            8 hexadecimal digits (the start of the recovery key GUID)"
            .to_owned(),
        InputError::Generate(g) => generate_message(g),
        _ => e.to_string(),
    }
}

impl From<GenerateError> for CliError {
    fn from(e: GenerateError) -> Self {
        Self::input(generate_message(&e))
    }
}

fn generate_message(e: &GenerateError) -> String {
    match e {
        GenerateError::Length { length } => {
            format!("--length {length} is refused: 16 to 128 characters")
        }
        GenerateError::NoCharset => {
            "--charset needs at least one of upper, lower, digits, symbols".to_owned()
        }
        GenerateError::Words { words } => format!("--words {words} is refused: 6 to 10 words"),
    }
}

impl From<OpenError> for CliError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::TooFew { .. } => Self::shares(e.to_string()),
            OpenError::KeyMismatch | OpenError::EscrowSealed | OpenError::SignatureKey => {
                Self::damaged(e.to_string())
            }
        }
    }
}

impl From<EntryDamaged> for CliError {
    fn from(e: EntryDamaged) -> Self {
        Self::damaged(e.to_string())
    }
}

/// Shorthand for command results.
pub type CliResult<T = ()> = Result<T, CliError>;
