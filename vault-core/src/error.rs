//! Input errors shared by several modules. Each variant carries the data a
//! caller needs (which value, what limit); messages name no command-line
//! flag — the CLI adds its own hint, as rage's binary does.

use crate::entry::EntryKind;
use crate::generate::GenerateError;
use crate::passphrase::KdfParamsError;
use crate::recovery_key::RecoveryKeyError;
use crate::shamir::ShamirError;

/// Which value a text rule was applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The vault's name.
    VaultName,
    /// A custodian's name.
    CustodianName,
    /// An entry label.
    Label,
    /// The reason recorded with a quorum operation.
    Reason,
    /// A device identifier.
    Device,
    /// Whom to call, on the envelopes (format 2 genesis).
    Contact,
    /// Where the envelopes are kept (format 2 genesis).
    Location,
}

impl Field {
    /// The value's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::VaultName => "vault name",
            Self::CustodianName => "custodian name",
            Self::Label => "label",
            Self::Reason => "reason",
            Self::Device => "device",
            Self::Contact => "contact",
            Self::Location => "location",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Input that breaks a rule (a name, a label, a threshold…). The message
/// says which value and why; it never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A name, label, reason or device breaks the text rules.
    #[error("{field} {problem} (at most {max} bytes, one line)")]
    Text {
        /// Which value.
        field: Field,
        /// What is wrong, and at which character ("is empty", "contains a
        /// zero-width (invisible) character (U+200B at character 2)", …).
        problem: crate::text_rules::TextProblem,
        /// The longest accepted, in bytes.
        max: usize,
    },
    /// A threshold below 2.
    #[error("threshold {k} is refused: a vault needs at least 2 custodians to unseal")]
    ThresholdTooLow {
        /// The threshold given.
        k: usize,
    },
    /// A rekey past generation 65,535 (shares name their generation in
    /// 16 bits).
    #[error("the vault is at generation 65,535, the last one a share can name: make a new vault instead of rekeying")]
    TooManyGenerations,
    /// More than 255 custodians.
    #[error("{n} custodians is too many: at most 255")]
    TooManyCustodians {
        /// Custodians named.
        n: usize,
    },
    /// A threshold above the number of custodians.
    #[error("threshold {k} is more than the {n} custodians named")]
    ThresholdAboveCustodians {
        /// The threshold.
        k: usize,
        /// Custodians named.
        n: usize,
    },
    /// A custodian name that cannot be a file name.
    #[error("custodian name '{name}' cannot be a file name (no '/', '\\' or leading '.')")]
    CustodianNotAFileName {
        /// The name.
        name: String,
    },
    /// The same custodian twice (case-insensitively).
    #[error("custodian '{name}' is named twice")]
    CustodianTwice {
        /// The name.
        name: String,
    },
    /// Argon2id costs refused.
    #[error(transparent)]
    Kdf(#[from] KdfParamsError),
    /// The master key could not be split so.
    #[error(transparent)]
    Split(#[from] ShamirError),
    /// Nothing to seal.
    #[error("the secret is empty: nothing to seal")]
    SecretEmpty,
    /// A secret over the limit.
    #[error("the secret is {len} bytes: at most {max} bytes can be sealed")]
    SecretTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A username with a line break or over the limit.
    #[error("the username must be one line of at most {max} bytes")]
    Username {
        /// The limit.
        max: usize,
    },
    /// Binary data given for a text kind.
    #[error("the secret is not UTF-8 text: a {} must be text", kind.name())]
    SecretNotText {
        /// The kind asked for.
        kind: EntryKind,
    },
    /// A password with a line break.
    #[error("a password must be one line")]
    PasswordLineBreak,
    /// A label that holds another kind.
    #[error("entry '{label}' holds a {}, not a {}", held.name(), given.name())]
    KindMismatch {
        /// The label.
        label: String,
        /// The kind it holds.
        held: EntryKind,
        /// The kind given.
        given: EntryKind,
    },
    /// A key ID given with something that is not a BitLocker key.
    #[error("a key ID goes with a BitLocker recovery password")]
    KeyIdWithoutBitLocker,
    /// A rotation policy out of range.
    #[error("rotation every {days} days is refused: 1 to {max}")]
    RotateDays {
        /// Given.
        days: u32,
        /// The most accepted.
        max: u32,
    },
    /// An exposure window out of range.
    #[error("an exposure window of {hours} hours is refused: 1 to {max}")]
    ExposeHours {
        /// Given.
        hours: u32,
        /// The most accepted.
        max: u32,
    },
    /// More entry versions than one unseal record can name (65,535, in a
    /// body of at most 1 MiB).
    #[error("one unseal can record at most 65,535 entry versions in 1 MiB; this one would name {count}: reveal fewer at a time")]
    TooManyRevealed {
        /// Entry versions it would name.
        count: usize,
    },
    /// A rotation of an entry that does not exist.
    #[error("no entry '{label}' to rotate")]
    NothingToRotate {
        /// The label.
        label: String,
    },
    /// A recovery key or key ID that is not well formed.
    #[error(transparent)]
    RecoveryKey(#[from] RecoveryKeyError),
    /// A generation policy out of range.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// Sealing to the escrow key failed: the vault's escrow public key is
    /// not a usable X25519 key.
    #[error(transparent)]
    EscrowKey(#[from] crate::escrow::BadPublicKey),
}
