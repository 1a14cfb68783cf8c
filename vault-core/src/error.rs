//! Errors shared by several modules.

/// Input that breaks a rule (a name, a label, a threshold…). The message
/// says which value and why; it never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);
