//! What to do about a share that was not accepted, in words a custodian
//! understands. The command line and the recovery page print the same
//! sentences, so a custodian reading either is told the same thing.

use super::{ShareProblem, Vault};
use crate::share::UnlockError;
use crate::share_text::ShareTextError;

/// A share-text problem with what to do about it.
pub fn text_problem(e: &ShareTextError) -> String {
    let hint = match e {
        ShareTextError::NotAShare => "give the share file written by init, or its envelope text",
        ShareTextError::NewerFormat(_) => "this share was written by a newer breakglass",
        ShareTextError::LineCheck { .. } | ShareTextError::BadSymbol { .. } => {
            "compare that line with the envelope and retype it"
        }
        ShareTextError::Typo { .. } => "look at that symbol on the envelope and retype it",
        ShareTextError::SwappedLine { .. } => "check the line numbers against the envelope",
        ShareTextError::CheckMissing { .. } => {
            "type the whole line: the four groups and then the two check symbols after them"
        }
        ShareTextError::MissingLine(_) | ShareTextError::LineLength { .. } => {
            "copy the line from the envelope"
        }
        ShareTextError::DuplicateLine(_) => "remove the repeated line",
        ShareTextError::TooManyLines(_) | ShareTextError::Empty => {
            "give the share file written by init, or its envelope text"
        }
        ShareTextError::Body(_) => {
            "every line checks but the whole share does not: compare all lines with the envelope"
        }
    };
    format!("{e} — {hint}")
}

/// A share problem with what to do about it.
pub fn share_problem(vault: &Vault, p: &ShareProblem) -> String {
    if let ShareProblem::EarlierGeneration {
        custodian,
        generation,
        revoked,
        current,
    } = p
    {
        let date = utc_date(*revoked);
        return format!(
            "is {custodian}'s share of generation {generation} of vault '{}': the vault was \
             rekeyed on {date} and is at generation {current}, and envelopes printed before \
             {date} no longer open it — use your generation {current} envelope",
            vault.name()
        );
    }
    let hint = match p {
        // These say what to do already.
        ShareProblem::EarlierGeneration { .. }
        | ShareProblem::NewerGeneration { .. }
        | ShareProblem::OtherFingerprint { .. }
        | ShareProblem::GenesisKey { .. } => return p.to_string(),
        ShareProblem::ForeignVault(_) => format!(
            "bring the share for vault '{}' (id {})",
            vault.name(),
            vault.id().short()
        ),
        ShareProblem::UnknownIndex(_) => "bring a share written for this vault".to_owned(),
        ShareProblem::CommitmentMismatch { .. } => {
            "bring the custodian's current share (check the envelope)".to_owned()
        }
        ShareProblem::Duplicate { .. } => "bring another custodian's share".to_owned(),
        ShareProblem::Unlock(UnlockError::WrongPassphrase) => {
            "the custodian should retype their passphrase (or the share was altered)".to_owned()
        }
        ShareProblem::Unlock(UnlockError::PassphraseRequired) => {
            "the custodian must give their passphrase".to_owned()
        }
        ShareProblem::Unlock(UnlockError::Params(_)) => {
            "this share was not written by breakglass or was altered".to_owned()
        }
    };
    format!("{p} — {hint}")
}

/// `YYYY-MM-DD` (UTC) of a Unix time, by the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`). Times come from the file: any
/// `u64` gives a date, never a panic.
pub fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(253_402_300_799), "9999-12-31");
        // Far beyond year 9999: still a date, no panic.
        assert!(!utc_date(u64::MAX).is_empty());
    }
}
