//! Importing real exports (CSV) as deposits: FileVault keys (Jamf Pro and
//! Intune reports), BitLocker recovery passwords (Entra ID / Intune
//! exports), Windows LAPS passwords (`Get-LapsADPassword | Export-Csv`),
//! or any CSV with the columns named by the caller.
//!
//! Headers are matched case-insensitively, ignoring spaces, `_` and `-`.
//! Every row becomes an entry version or a named error (line number and
//! reason, never the secret). Re-importing a file adds nothing: a row whose
//! label's current version carries the same import digest is unchanged.
//! The digest is public, so it is only kept for high-entropy secrets
//! (recovery keys, LAPS passwords), where it cannot be guessed back.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::entry::{EntryKind, EntrySecret};
use crate::keys::sha256;
use crate::vault::{DepositMeta, Vault};

/// An export format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// FileVault personal recovery keys: serial number, computer name, key.
    FileVault,
    /// BitLocker recovery passwords: device, key ID, recovery key.
    BitLocker,
    /// Windows LAPS: computer, account, password, expiration.
    Laps,
    /// Columns named by the caller.
    Generic(GenericColumns),
}

/// Column names for the generic format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericColumns {
    /// The column holding the entry label.
    pub label: String,
    /// The column holding the secret.
    pub secret: String,
    /// Optional device column.
    pub device: Option<String>,
    /// Optional username column.
    pub username: Option<String>,
    /// The kind of every row.
    pub kind: EntryKind,
}

/// Accepted header names (normalized) for each field of the known formats.
const SERIAL: &[&str] = &["serialnumber", "serial", "deviceserialnumber"];
const COMPUTER: &[&str] = &[
    "computername",
    "computer",
    "devicename",
    "device",
    "name",
    "hostname",
    "dnshostname",
];
const FV_KEY: &[&str] = &[
    "recoverykey",
    "personalrecoverykey",
    "filevaultrecoverykey",
    "filevault2individualrecoverykey",
    "individualrecoverykey",
    "key",
];
const BL_KEY_ID: &[&str] = &[
    "keyid",
    "recoverykeyid",
    "bitlockerkeyid",
    "bitlockerrecoverykeyid",
];
const BL_KEY: &[&str] = &[
    "recoverykey",
    "recoverypassword",
    "bitlockerrecoverykey",
    "bitlockerrecoverypassword",
    "key",
];
const LAPS_ACCOUNT: &[&str] = &["account", "accountname", "username", "administrator"];
const LAPS_PASSWORD: &[&str] = &["password", "accountpassword"];

fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// One row ready to deposit.
pub struct Row {
    /// CSV line number (1-based, the header is line 1).
    pub line: u64,
    /// Entry label.
    pub label: String,
    /// Kind.
    pub kind: EntryKind,
    /// Username and secret.
    pub secret: EntrySecret,
    /// Device identifier.
    pub device: Option<String>,
    /// BitLocker key ID.
    pub key_id: Option<String>,
    /// Whether a public import digest may be kept (high-entropy secrets).
    pub digest_ok: bool,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct RowError {
    /// CSV line number.
    pub line: u64,
    /// What is wrong (never the secret).
    pub why: String,
}

/// The file as a whole is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The format needs a column the header does not have.
    #[error("no {what} column (accepted headers: {})", accepted.join(", "))]
    MissingColumn {
        /// What the column holds.
        what: &'static str,
        /// The header names accepted for it.
        accepted: Vec<&'static str>,
    },
    /// A column named for a generic import is not in the header.
    #[error("no column '{name}' in the header")]
    NoSuchColumn {
        /// The name given.
        name: String,
    },
    /// The header line is not valid CSV.
    #[error("the header line cannot be read: {why}")]
    Header {
        /// The CSV reader's complaint.
        why: String,
    },
}

/// Where each field is in the header.
struct Columns {
    label_parts: Vec<usize>,
    secret: usize,
    device: Option<usize>,
    username: Option<usize>,
    key_id: Option<usize>,
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| headers.iter().position(|h| h == n))
}

fn need(
    headers: &[String],
    names: &[&'static str],
    what: &'static str,
) -> Result<usize, ImportError> {
    find(headers, names).ok_or_else(|| ImportError::MissingColumn {
        what,
        accepted: names.to_vec(),
    })
}

fn columns(format: &Format, headers: &[String]) -> Result<Columns, ImportError> {
    Ok(match format {
        Format::FileVault => {
            let serial = need(headers, SERIAL, "serial number")?;
            Columns {
                label_parts: vec![serial],
                secret: need(headers, FV_KEY, "recovery key")?,
                device: Some(serial),
                username: find(headers, &["username", "user"]),
                key_id: None,
            }
        }
        Format::BitLocker => {
            let device = need(headers, COMPUTER, "device")?;
            let key_id = need(headers, BL_KEY_ID, "key ID")?;
            Columns {
                label_parts: vec![device, key_id],
                secret: need(headers, BL_KEY, "recovery key")?,
                device: Some(device),
                username: None,
                key_id: Some(key_id),
            }
        }
        Format::Laps => {
            let computer = need(headers, COMPUTER, "computer")?;
            Columns {
                label_parts: vec![computer],
                secret: need(headers, LAPS_PASSWORD, "password")?,
                device: Some(computer),
                username: find(headers, LAPS_ACCOUNT),
                key_id: None,
            }
        }
        Format::Generic(g) => {
            let col = |name: &str| {
                headers
                    .iter()
                    .position(|h| *h == norm(name))
                    .ok_or_else(|| ImportError::NoSuchColumn {
                        name: name.to_owned(),
                    })
            };
            Columns {
                label_parts: vec![col(&g.label)?],
                secret: col(&g.secret)?,
                device: g.device.as_deref().map(col).transpose()?,
                username: g.username.as_deref().map(col).transpose()?,
                key_id: None,
            }
        }
    })
}

fn prefix(format: &Format) -> &'static str {
    match format {
        Format::FileVault => "filevault-",
        Format::BitLocker => "bitlocker-",
        Format::Laps => "laps-",
        Format::Generic(_) => "",
    }
}

/// Reads the CSV. The file-level error (no such column) stops everything;
/// row errors are returned beside the good rows.
pub fn read(csv_text: &str, format: &Format) -> Result<(Vec<Row>, Vec<RowError>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Header { why: e.to_string() })?
        .iter()
        .map(norm)
        .collect();
    let cols = columns(format, &headers)?;
    let (kind, digest_ok) = match format {
        Format::FileVault | Format::BitLocker => (EntryKind::RecoveryKey, true),
        Format::Laps => (EntryKind::Password, true),
        Format::Generic(g) => (g.kind, g.kind == EntryKind::RecoveryKey),
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    why: "not a valid CSV row".into(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let key_id = match cols.key_id.map(field) {
            Some(raw) => match crate::recovery_key::check_key_id(&raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(RowError {
                        line,
                        why: "the key ID is not a BitLocker key ID (8 hex digits or a GUID)".into(),
                    });
                    continue;
                }
            },
            None => None,
        };
        let mut parts: Vec<String> = cols.label_parts.iter().map(|&i| field(i)).collect();
        if let (Some(id), Some(last)) = (&key_id, parts.last_mut()) {
            if cols.key_id.is_some() {
                *last = id.clone(); // the short key ID, not the whole GUID
            }
        }
        if parts.iter().any(String::is_empty) {
            errors.push(RowError {
                line,
                why: "the device (or label) column is empty".into(),
            });
            continue;
        }
        let secret = Zeroizing::new(field(cols.secret));
        if secret.is_empty() {
            errors.push(RowError {
                line,
                why: "the secret column is empty".into(),
            });
            continue;
        }
        let label = format!("{}{}", prefix(format), parts.join("-"));
        if let Some(first) = seen.insert(label.clone(), line) {
            errors.push(RowError {
                line,
                why: format!("'{label}' appears again (first on line {first})"),
            });
            continue;
        }
        let secret = EntrySecret {
            username: Zeroizing::new(cols.username.map(field).unwrap_or_default()),
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
        };
        // Check the secret against its kind now, so --strict names every
        // bad row before anything is written.
        if let Err(e) = crate::vault::validate_secret(kind, &secret) {
            errors.push(RowError {
                line,
                why: e.to_string(),
            });
            continue;
        }
        rows.push(Row {
            line,
            label,
            kind,
            secret,
            device: cols.device.map(field),
            key_id,
            digest_ok,
        });
    }
    Ok((rows, errors))
}

/// The public import digest of a row (32 hex digits).
pub fn digest(vault: &Vault, label: &str, secret: &[u8]) -> String {
    let h = sha256(&[
        b"breakglass/v1/import-digest",
        vault.id().as_bytes(),
        label.as_bytes(),
        &[0],
        secret,
    ]);
    crate::hex_upper(&h[..16]).to_lowercase()
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// New entries.
    pub added: usize,
    /// New versions of existing entries.
    pub updated: usize,
    /// Rows whose label already holds the same secret.
    pub unchanged: usize,
}

/// Deposits `rows` onto `vault` (see [`Vault::push`]) and returns the frame
/// bytes to append, what happened, and rows refused by the entry checks.
/// Rows are checked in order, sealed (HPKE, the costly part) in parallel —
/// labels in one import are distinct, so their deposits are independent —
/// and pushed in order. `progress` is called once per sealed row.
pub fn deposit(
    vault: &mut Vault,
    rows: Vec<Row>,
    actor: &str,
    time: u64,
    progress: impl Fn() + Sync,
) -> (Vec<u8>, Outcome, Vec<RowError>) {
    use rayon::prelude::*;
    let mut outcome = Outcome::default();
    let mut errors = Vec::new();
    let mut prepared = Vec::with_capacity(rows.len());
    for row in rows {
        let digest = row.digest_ok.then(|| {
            // Digest the canonical form, so "abcd-…" and "ABCD-…" are one key.
            let canonical = crate::vault::validate_secret(row.kind, &row.secret)
                .map(|s| s.secret.to_vec())
                .unwrap_or_else(|_| row.secret.secret.to_vec());
            digest(vault, &row.label, &canonical)
        });
        let existing = vault.entries().get(&row.label);
        if let (Some(e), Some(d)) = (existing, &digest) {
            if e.current().digest.as_deref() == Some(d.as_str()) {
                outcome.unchanged += 1;
                progress();
                continue;
            }
        }
        let meta = DepositMeta {
            actor: actor.to_owned(),
            time,
            device: row.device.clone(),
            key_id: row.key_id.clone(),
            digest,
            ..DepositMeta::default()
        };
        match vault.prepare_deposit(&row.label, row.kind, &row.secret, &meta) {
            Ok(p) => prepared.push((row.line, existing.is_none(), p)),
            Err(e) => errors.push(RowError {
                line: row.line,
                why: e.to_string(),
            }),
        }
    }
    let sealed: Vec<_> = prepared
        .into_par_iter()
        .map(|(line, is_new, p)| {
            let record = p.seal();
            progress();
            (line, is_new, record)
        })
        .collect();
    let mut bytes = Vec::new();
    for (line, is_new, record) in sealed {
        let pushed = record
            .map_err(|e| e.to_string())
            .and_then(|r| vault.push(r).map_err(|e| e.to_string()));
        match pushed {
            Ok(frame) => bytes.extend_from_slice(&frame),
            Err(why) => {
                errors.push(RowError { line, why });
                continue;
            }
        }
        if is_new {
            outcome.added += 1;
        } else {
            outcome.updated += 1;
        }
    }
    (bytes, outcome, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers_are_matched_loosely() {
        assert_eq!(norm(" Serial_Number "), "serialnumber");
        assert_eq!(norm("Recovery-Key"), "recoverykey");
        let text = "\u{feff}Serial Number,Computer Name,Personal Recovery Key\nC02X,mac-1,ABCD-EFGH-IJKL-MNOP-QRST-UVWX\n";
        let (rows, errors) = read(text, &Format::FileVault).unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows[0].label, "filevault-C02X");
        assert_eq!(rows[0].device.as_deref(), Some("C02X"));
    }

    #[test]
    fn missing_columns_name_the_accepted_headers() {
        let err = read("Device,Key ID\nPC1,1A2B3C4D\n", &Format::BitLocker)
            .err()
            .unwrap();
        assert!(err.to_string().contains("no recovery key column"), "{err}");
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let text = "ComputerName,Account,Password\nPC1,Administrator,pw-1\n,Administrator,pw-2\nPC3,Administrator,\nPC1,Administrator,pw-4\n";
        let (rows, errors) = read(text, &Format::Laps).unwrap();
        assert_eq!(rows.len(), 1);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(errors[2].why.contains("first on line 2"));
        assert!(!errors.iter().any(|e| e.why.contains("pw-")));
    }

    proptest! {
        #[test]
        fn arbitrary_csv_never_panics(s in "\\PC{0,300}") {
            for f in [Format::FileVault, Format::BitLocker, Format::Laps] {
                let _ = read(&s, &f);
                let _ = read(&format!("serial,key\n{s}"), &f);
            }
        }
    }
}
