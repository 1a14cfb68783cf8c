//! The rules every reason, name and actor follows.

use crate::error::{Field, InputError};
use crate::record::{limits, text_problem};

/// Checks a reason: one line, at most 1024 bytes, may be empty.
pub fn check_reason(reason: &str) -> Result<(), InputError> {
    match text_problem(reason, limits::REASON, true) {
        Some(problem) => Err(InputError::Text {
            field: Field::Reason,
            problem,
            max: limits::REASON,
        }),
        None => Ok(()),
    }
}

/// Checks a name-like value: one line, not empty, at most `max` bytes.
pub fn check_text(field: Field, value: &str, max: usize) -> Result<(), InputError> {
    match text_problem(value, max, false) {
        Some(problem) => Err(InputError::Text {
            field,
            problem,
            max,
        }),
        None => Ok(()),
    }
}

/// A self-asserted actor cleaned for the file: control characters
/// dropped, trimmed, cut to the limit.
pub fn check_actor(actor: &str) -> String {
    // Self-asserted and informational: clean it up rather than refuse.
    let cleaned: String = actor.chars().filter(|c| !c.is_control()).collect();
    let mut cleaned = cleaned.trim().to_owned();
    while cleaned.len() > limits::ACTOR {
        cleaned.pop();
    }
    cleaned.trim().to_owned()
}
