//! Formats of recovery keys, checked when a key is deposited so a mistyped
//! key is refused at once rather than discovered during an outage.
//!
//! - FileVault personal recovery key: 6 groups of 4 characters, A–Z and
//!   0–9, joined by dashes (`ABCD-EFGH-IJKL-MNOP-QRST-UVWX`).
//! - BitLocker recovery password: 8 groups of 6 digits joined by dashes;
//!   each group is a multiple of 11 below 720896 (each encodes 16 bits of
//!   the key times 11, which makes it a check on the group).
//!
//! Error messages name the group that fails, never its content.

/// Why a recovery key or key ID is refused. Messages name the group, never
/// its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryKeyError {
    /// Neither 6 nor 8 groups (or 8 groups that are not all digits).
    #[error(
        "not a recognised recovery key: {groups} groups; a FileVault key has 6 groups of 4 \
         characters, a BitLocker recovery password 8 groups of 6 digits"
    )]
    Shape {
        /// Groups found.
        groups: usize,
    },
    /// A FileVault group that is not 4 letters or digits.
    #[error(
        "FileVault recovery key group {group} of 6 is wrong: each group is 4 letters or digits"
    )]
    FileVaultGroup {
        /// 1-based group.
        group: usize,
    },
    /// A BitLocker group that is not 6 digits, a multiple of 11 below 720896.
    #[error(
        "BitLocker recovery password group {group} of 8 is wrong: each group is 6 digits, a \
         multiple of 11 below 720896 (check that group for a typo)"
    )]
    BitLockerGroup {
        /// 1-based group.
        group: usize,
    },
    /// A key ID that is not 8 hexadecimal digits.
    #[error("a BitLocker key ID is 8 hexadecimal digits (the start of the recovery key GUID)")]
    KeyId,
}

/// Which format a recovery key has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryFormat {
    /// FileVault personal recovery key.
    FileVault,
    /// BitLocker recovery password.
    BitLocker,
}

impl RecoveryFormat {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            Self::FileVault => "FileVault recovery key",
            Self::BitLocker => "BitLocker recovery password",
        }
    }
}

/// Checks a recovery key and returns it in canonical form (trimmed, upper
/// case) with its format. The format is recognised by shape: 8 groups of
/// digits is BitLocker, 6 groups is FileVault.
pub fn check(key: &str) -> Result<(String, RecoveryFormat), RecoveryKeyError> {
    let key = key.trim().to_ascii_uppercase();
    let all_digits = key.bytes().all(|c| c.is_ascii_digit() || c == b'-');
    let format = {
        // The first 8 groups, and how many there are (no allocation).
        let (mut groups, mut count) = ([""; 8], 0);
        for group in key.split('-') {
            if let Some(slot) = groups.get_mut(count) {
                *slot = group;
            }
            count += 1;
        }
        match count {
            8 if all_digits => check_bitlocker(&groups).map(|()| RecoveryFormat::BitLocker),
            6 => check_filevault(&groups[..6]).map(|()| RecoveryFormat::FileVault),
            groups => Err(RecoveryKeyError::Shape { groups }),
        }
    }?;
    Ok((key, format))
}

fn check_filevault(groups: &[&str]) -> Result<(), RecoveryKeyError> {
    for (i, g) in groups.iter().enumerate() {
        if g.len() != 4
            || !g
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(RecoveryKeyError::FileVaultGroup { group: i + 1 });
        }
    }
    Ok(())
}

fn check_bitlocker(groups: &[&str]) -> Result<(), RecoveryKeyError> {
    for (i, g) in groups.iter().enumerate() {
        let valid = g.len() == 6
            && g.parse::<u32>()
                .is_ok_and(|v| v.is_multiple_of(11) && v < 720_896);
        if !valid {
            return Err(RecoveryKeyError::BitLockerGroup { group: i + 1 });
        }
    }
    Ok(())
}

/// Checks a BitLocker key ID: 8 hexadecimal digits (the first part of the
/// recovery key's GUID), returned in upper case.
pub fn check_key_id(id: &str) -> Result<String, RecoveryKeyError> {
    let id = id.trim().trim_start_matches('{').to_ascii_uppercase();
    let id = id
        .get(..8)
        .filter(|_| id.len() == 8 || id.as_bytes().get(8) == Some(&b'-'));
    match id {
        Some(id) if id.chars().all(|c| c.is_ascii_hexdigit()) => Ok(id.to_owned()),
        _ => Err(RecoveryKeyError::KeyId),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A recovery password built from valid groups (multiples of 11).
    const BITLOCKER: &str = "123453-654467-111111-000000-720885-055000-222222-333333";

    #[test]
    fn recognises_and_normalises() {
        assert_eq!(
            check(" abcd-efgh-ijkl-mnop-qrst-uvwx\n").unwrap(),
            (
                "ABCD-EFGH-IJKL-MNOP-QRST-UVWX".into(),
                RecoveryFormat::FileVault
            )
        );
        assert_eq!(check(BITLOCKER).unwrap().1, RecoveryFormat::BitLocker);
    }

    #[test]
    fn names_the_failing_group() {
        let e = check("ABCD-EFGH-IJK-MNOP-QRST-UVWX").unwrap_err();
        assert!(e.to_string().contains("group 3 of 6"), "{e}");
        let e = check("ABCD-EFGH-IJKL-MN!P-QRST-UVWX").unwrap_err();
        assert!(e.to_string().contains("group 4 of 6"), "{e}");
        // 654468 is not a multiple of 11: a typo in group 2.
        let e = check("123453-654468-111111-000000-720885-055000-222222-333333").unwrap_err();
        assert!(e.to_string().contains("group 2 of 8"), "{e}");
        // 720896 and above are out of range.
        let e = check("123453-654467-111111-000000-720896-055000-222222-333333").unwrap_err();
        assert!(e.to_string().contains("group 5 of 8"), "{e}");
        let e = check("12345-654467-111111-000000-720885-055000-222222-333333").unwrap_err();
        assert!(e.to_string().contains("group 1 of 8"), "{e}");
        assert!(check("hunter2")
            .unwrap_err()
            .to_string()
            .contains("1 groups"));
        assert!(
            !check("123453-654468-111111-000000-720885-055000-222222-333333")
                .unwrap_err()
                .to_string()
                .contains("654468")
        );
    }

    #[test]
    fn key_ids() {
        assert_eq!(check_key_id("1a2b3c4d").unwrap(), "1A2B3C4D");
        assert_eq!(
            check_key_id("{1A2B3C4D-0000-1111-2222-333344445555}").unwrap(),
            "1A2B3C4D"
        );
        assert!(check_key_id("1A2B3C4").is_err());
        assert!(check_key_id("1A2B3C4G").is_err());
        assert!(check_key_id("1A2B3C4DE").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_bitlocker_key_passes(groups in proptest::collection::vec(0u32..65536, 8)) {
            let key: Vec<String> = groups.iter().map(|g| format!("{:06}", g * 11)).collect();
            prop_assert!(check(&key.join("-")).is_ok());
        }

        #[test]
        fn any_single_digit_typo_in_bitlocker_is_caught(groups in proptest::collection::vec(0u32..65536, 8), g in 0usize..8, pos in 0usize..6, d in 1u32..10) {
            let mut key: Vec<String> = groups.iter().map(|g| format!("{:06}", g * 11)).collect();
            let mut digits: Vec<u32> = key[g].chars().map(|c| c.to_digit(10).unwrap()).collect();
            digits[pos] = (digits[pos] + d) % 10;
            key[g] = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            // A one-digit change alters the value by k·10^p, never a multiple of 11.
            let err = check(&key.join("-")).unwrap_err();
            prop_assert!(err.to_string().contains(&format!("group {} of 8", g + 1)), "{}", err);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,80}") {
            let _ = check(&s);
            let _ = check_key_id(&s);
        }
    }
}
