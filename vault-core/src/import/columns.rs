//! Which column holds what: the synonym table.
//!
//! Headers are compared after [`norm`]: lower case, without spaces, `_`,
//! `-` and `.`. For each field the names are tried in the table's order and
//! the first present wins; when other names of the same field are also
//! present, the mapping says so (shown by `import --dry-run`). A name given
//! by the caller overrides the table. `fixtures/import/README.md` renders
//! this table for people; a test there keeps the two in step.

/// A field an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Hardware serial number.
    Serial,
    /// Computer / device display name.
    DeviceName,
    /// Directory or MDM device ID (Entra `DeviceId`, Intune device ID).
    DeviceId,
    /// BitLocker recovery key ID (the GUID the recovery screen shows).
    KeyId,
    /// The secret: recovery key or password.
    Secret,
    /// Account or user name kept beside the secret.
    Username,
    /// When the secret was made (orders versions of one device).
    Time,
    /// LAPS `DecryptionStatus`.
    Status,
    /// LAPS `Source` (history rows say `…History`).
    Source,
    /// The label (generic format only).
    Label,
}

impl Field {
    /// A name for people.
    pub fn name(self) -> &'static str {
        match self {
            Field::Serial => "serial number",
            Field::DeviceName => "device name",
            Field::DeviceId => "device ID",
            Field::KeyId => "key ID",
            Field::Secret => "secret",
            Field::Username => "username",
            Field::Time => "timestamp",
            Field::Status => "decryption status",
            Field::Source => "source",
            Field::Label => "label",
        }
    }
}

/// Serial numbers (Jamf Pro, Intune, Apple Business Manager).
pub const SERIAL: &[&str] = &[
    "serialnumber",
    "serial",
    "deviceserialnumber",
    "hardwareserialnumber",
];
/// Device names (Jamf `Computer Name`, Intune/Graph `deviceName`, Entra
/// `displayName`, AD `Name`/`DNSHostName`, LAPS `ComputerName`/`DeviceName`).
pub const DEVICE_NAME: &[&str] = &[
    "computername",
    "devicename",
    "displayname",
    "computer",
    "device",
    "hostname",
    "machinename",
    "dnshostname",
    "name",
];
/// Device IDs (Entra/Graph `deviceId`, Intune `azureADDeviceId`).
pub const DEVICE_ID: &[&str] = &[
    "deviceid",
    "azureaddeviceid",
    "entradeviceid",
    "aaddeviceid",
    "manageddeviceid",
    "intunedeviceid",
];
/// BitLocker key IDs (Graph `id`, Intune portal `Key ID`, AD
/// `msFVE-RecoveryGuid`, `PasswordID` of `manage-bde`-based scripts).
pub const KEY_ID: &[&str] = &[
    "keyid",
    "recoverykeyid",
    "bitlockerkeyid",
    "bitlockerrecoverykeyid",
    "passwordid",
    "recoverypasswordid",
    "keyprotectorid",
    "msfverecoveryguid",
    "recoveryguid",
    "id",
];
/// FileVault personal recovery keys (Jamf `FileVault 2 Individual Recovery
/// Key`, Intune `Personal recovery key`, scripts' `FileVaultKey`).
pub const FILEVAULT_KEY: &[&str] = &[
    "filevault2individualrecoverykey",
    "individualrecoverykey",
    "personalrecoverykey",
    "filevaultrecoverykey",
    "filevaultkey",
    "filevault2recoverykey",
    "recoverykey",
    "key",
];
/// BitLocker recovery passwords (Graph `key`, AD `msFVE-RecoveryPassword`).
pub const BITLOCKER_KEY: &[&str] = &[
    "recoverypassword",
    "recoverykey",
    "bitlockerrecoverypassword",
    "bitlockerrecoverykey",
    "msfverecoverypassword",
    "bitlockerkey",
    "key",
];
/// LAPS passwords (Windows LAPS `Password`, legacy `ms-Mcs-AdmPwd`).
pub const LAPS_PASSWORD: &[&str] = &[
    "password",
    "accountpassword",
    "lapspassword",
    "msmcsadmpwd",
    "mslapspassword",
    "localadminpassword",
];
/// LAPS managed accounts.
pub const LAPS_ACCOUNT: &[&str] = &["account", "accountname", "administrator", "username"];
/// Users of a Mac (Jamf `Username`, Intune/Entra `UserPrincipalName`).
pub const USER: &[&str] = &[
    "username",
    "userprincipalname",
    "upn",
    "user",
    "primaryuser",
    "emailaddress",
];
/// Creation or update times first, then expirations (a later expiration is a
/// later password).
pub const TIME: &[&str] = &[
    "createddatetime",
    "creationtime",
    "created",
    "datecreated",
    "whencreated",
    "passwordupdatetime",
    "lastpasswordupdate",
    "escrowdate",
    "timestamp",
    "expirationtimestamp",
    "passwordexpirationtime",
    "expirationdatetime",
    "expirationtime",
    "expiration",
];
/// LAPS decryption status.
pub const STATUS: &[&str] = &["decryptionstatus"];
/// LAPS password source.
pub const SOURCE: &[&str] = &["source", "passwordsource"];

/// The normalized form of a header: lower case, without whitespace, `_`,
/// `-` and `.`.
pub fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One field's column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The field.
    pub field: Field,
    /// Its index in the header.
    pub index: usize,
    /// The header as written in the file.
    pub header: String,
    /// How it was chosen.
    pub how: How,
    /// Other headers that could have been this field (not used).
    pub passed_over: Vec<String>,
}

/// How a column was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Named by the caller.
    Given,
    /// From the synonym table.
    Table,
}

/// Finds `field`'s column: `given` if set (an error if absent), else the
/// first of `names` present, skipping columns already `taken`.
pub(super) fn pick(
    raw: &[String],
    field: Field,
    given: Option<&str>,
    names: &[&str],
    taken: &[usize],
) -> Result<Option<Chosen>, String> {
    let normed: Vec<String> = raw.iter().map(|h| norm(h)).collect();
    if let Some(g) = given {
        let want = norm(g);
        return match normed.iter().position(|h| *h == want) {
            Some(index) => Ok(Some(Chosen {
                field,
                index,
                header: raw[index].clone(),
                how: How::Given,
                passed_over: Vec::new(),
            })),
            None => Err(g.to_owned()),
        };
    }
    let hits: Vec<usize> = names
        .iter()
        .filter_map(|n| normed.iter().position(|h| h == n))
        .filter(|i| !taken.contains(i))
        .collect();
    Ok(hits.first().map(|&index| Chosen {
        field,
        index,
        header: raw[index].clone(),
        how: How::Table,
        passed_over: hits[1..].iter().map(|&i| raw[i].clone()).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn headers_normalize() {
        assert_eq!(norm(" Serial_Number "), "serialnumber");
        assert_eq!(norm("msFVE-RecoveryPassword"), "msfverecoverypassword");
        assert_eq!(norm("ms-Mcs-AdmPwd"), "msmcsadmpwd");
    }

    #[test]
    fn the_first_synonym_wins_and_the_rest_are_named() {
        let raw = h(&["Name", "DeviceName", "DeviceId"]);
        let c = pick(&raw, Field::DeviceName, None, DEVICE_NAME, &[])
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.index, c.passed_over.clone()),
            (1, vec!["Name".to_owned()])
        );
        let c = pick(&raw, Field::DeviceName, Some("name"), DEVICE_NAME, &[])
            .unwrap()
            .unwrap();
        assert_eq!((c.index, c.how), (0, How::Given));
        assert_eq!(
            pick(&raw, Field::DeviceName, Some("nope"), DEVICE_NAME, &[]),
            Err("nope".into())
        );
    }

    #[test]
    fn every_export_header_in_the_table_is_recognised() {
        // Headers as the tools write them (see fixtures/import/README.md).
        for (header, names) in [
            ("FileVault 2 Individual Recovery Key", FILEVAULT_KEY),
            ("FileVaultKey", FILEVAULT_KEY),
            ("Personal recovery key", FILEVAULT_KEY),
            ("msFVE-RecoveryPassword", BITLOCKER_KEY),
            ("msFVE-RecoveryGuid", KEY_ID),
            ("PasswordID", KEY_ID),
            ("Id", KEY_ID),
            ("UserPrincipalName", USER),
            ("azureADDeviceId", DEVICE_ID),
            ("DeviceId", DEVICE_ID),
            ("CreatedDateTime", TIME),
            ("PasswordUpdateTime", TIME),
            ("PasswordExpirationTime", TIME),
            ("DecryptionStatus", STATUS),
            ("ms-Mcs-AdmPwd", LAPS_PASSWORD),
            ("displayName", DEVICE_NAME),
        ] {
            assert!(names.contains(&norm(header).as_str()), "{header}");
        }
    }

    #[test]
    fn the_readme_lists_the_table() {
        let readme = include_str!("../../../fixtures/import/README.md");
        for (field, names) in [
            ("serial number", SERIAL),
            ("device name", DEVICE_NAME),
            ("device ID", DEVICE_ID),
            ("BitLocker key ID", KEY_ID),
            ("FileVault key", FILEVAULT_KEY),
            ("BitLocker key", BITLOCKER_KEY),
            ("LAPS password", LAPS_PASSWORD),
            ("LAPS account", LAPS_ACCOUNT),
            ("user (FileVault)", USER),
            ("timestamp", TIME),
            ("decryption status (LAPS)", STATUS),
            ("source (LAPS)", SOURCE),
        ] {
            let row = format!(
                "| {field} | {} |",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            assert!(readme.contains(&row), "README row out of step: {row}");
        }
    }
}
