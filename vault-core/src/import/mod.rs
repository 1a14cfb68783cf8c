//! Importing real exports (CSV) as deposits: FileVault keys (Jamf Pro and
//! Intune reports), BitLocker recovery passwords (Entra ID / Intune / Graph
//! exports, AD `msFVE-RecoveryInformation` reports), Windows LAPS passwords
//! (`Get-LapsADPassword` / `Get-LapsAADPassword | Export-Csv`), or any CSV
//! with the columns named by the caller.
//!
//! Reading is bytes in, rows out ([`read`]): [`decode`] settles the encoding,
//! preamble, delimiter and physical line numbers; [`columns`] maps headers
//! through a synonym table (names given by the caller win); then each row is
//! checked. Every row becomes an entry version or a named error (line number
//! and a typed reason, never the secret):
//!
//! - Placeholders are refused by name, never sealed: the literal
//!   `System.Security.SecureString` (an export made without `-AsPlainText`),
//!   `NA`, `N/A`, `None found` and the like, an empty secret, and a
//!   `DecryptionStatus` other than success. A file in which every row is such
//!   a placeholder fails as a whole.
//! - Identity: the device ID (Entra `DeviceId`) or serial number where
//!   present, the name otherwise; a BitLocker key is its key ID (with its
//!   device's name when there is one). Two devices with one display name are
//!   two entries.
//! - Versions: rows of one identity with distinct timestamps become versions
//!   in time order (the newest current); LAPS history rows (`Source` ending
//!   in `History`) become older versions, never current. Rows of one identity
//!   that cannot be ordered are refused as repeats, naming the first line.
//! - Labels never exceed [`crate::record::limits::LABEL`]: a longer one is
//!   cut and ends in `~` and a hash of the whole; the device attribute (what
//!   `--device` finds) keeps the name, likewise cut only beyond
//!   [`crate::record::limits::ATTRIBUTE`].
//!
//! Re-importing a file adds nothing: a row whose entry already holds a
//! version with the same import digest is unchanged. The digest is public,
//! so it is only kept where the secret cannot be guessed back from it:
//! recovery keys (≥ 124 bits by their format), and passwords whose
//! estimated entropy is at least [`DIGEST_MIN_BITS`]
//! ([`estimated_entropy_bits`]). A weak LAPS password (a weak policy
//! allows `kiwi7`) gets no digest: re-importing it adds a version.

pub mod columns;
pub mod decode;
pub mod digest;
pub mod source;
pub mod write;

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::entry::{EntryKind, EntrySecret};
use crate::keys::sha256;
use crate::record::limits;
use crate::vault::{DepositMeta, Vault};
pub use columns::norm;
use columns::{pick, Chosen, Field};
pub use decode::{DecodeError, Preamble, TextEncoding};
pub use digest::{digest, estimated_entropy_bits, DIGEST_MIN_BITS};
use source::{Lines, Scan, ScanError, Source, Window};
pub use write::{deposit, DepositError, Outcome};

/// An export format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// FileVault personal recovery keys: serial number (or device ID or
    /// name), key, optionally user and time.
    FileVault,
    /// BitLocker recovery passwords: key ID, key, optionally device.
    BitLocker,
    /// Windows LAPS: computer (or device ID), account, password, times,
    /// decryption status, source.
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

/// Columns named by the caller, overriding the synonym table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The secret.
    pub secret: Option<String>,
    /// The device identity: the serial number for FileVault, the device
    /// name otherwise.
    pub device: Option<String>,
    /// The username.
    pub username: Option<String>,
    /// The BitLocker key ID.
    pub key_id: Option<String>,
    /// The timestamp ordering versions.
    pub time: Option<String>,
}

/// A public name to search a FileVault entry by besides its device
/// identifier (the computer name beside a serial, the Mac's user): kept
/// when present, different from the device identifier and within the
/// attribute's rules; otherwise left out (it is only for search).
fn searchable(format: &Format, device: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let ok = matches!(format, Format::FileVault)
        && !value.is_empty()
        && !value.eq_ignore_ascii_case(device)
        && crate::vault::check_text(crate::error::Field::Device, value, limits::ATTRIBUTE).is_ok();
    ok.then(|| value.to_owned())
}

/// How to read a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The delimiter; sniffed when unset.
    pub delimiter: Option<u8>,
    /// Columns named by the caller.
    pub columns: Overrides,
}

/// One row ready to deposit.
pub struct Row {
    /// Physical line number (1-based, counted from the file's first line).
    pub line: u64,
    /// Entry label.
    pub label: String,
    /// Kind.
    pub kind: EntryKind,
    /// Username and secret, already checked against the kind and in
    /// canonical form (`validate_secret`): only `read` makes rows, so
    /// `deposit` need not check them again.
    pub(crate) secret: EntrySecret,
    /// Device identifier.
    pub device: Option<String>,
    /// BitLocker key ID.
    pub key_id: Option<String>,
    /// Whether a public import digest may be kept (high-entropy secrets).
    pub digest_ok: bool,
    /// A LAPS history row: an older version, never made current.
    pub history: bool,
    /// The computer name of a Mac found by its serial (public, searchable).
    pub also_known_as: Option<String>,
    /// The Mac's user as the export names them (public, searchable).
    pub user: Option<String>,
}

/// Why a row is not imported. Messages never quote the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// The CSV reader could not read the row.
    #[error("not a valid CSV row")]
    Csv,
    /// The key ID column does not hold a BitLocker key ID.
    #[error("the key ID is not a BitLocker key ID (8 hex digits or a GUID)")]
    KeyId,
    /// No device name, serial, device ID or label.
    #[error("the device (or label) column is empty")]
    NoIdentity,
    /// The secret column is empty.
    #[error("the secret column is empty")]
    Empty,
    /// The literal text PowerShell writes for a SecureString.
    #[error("the password is the text System.Security.SecureString: exported without -AsPlainText: the file holds no passwords")]
    SecureString,
    /// A placeholder such as `N/A` in the secret column.
    #[error("the secret column holds the placeholder '{0}', not a secret")]
    Placeholder(&'static str),
    /// `DecryptionStatus` says the password was not decrypted.
    #[error(
        "DecryptionStatus is '{0}', not a decrypted password: export as an authorized decryptor"
    )]
    NotDecrypted(String),
    /// Another row names the same entry and the two cannot be ordered.
    #[error("'{label}' appears again (first on line {first})")]
    Repeat {
        /// The entry label.
        label: String,
        /// The first line naming it.
        first: u64,
    },
    /// A history row of a device with no current row in the file.
    #[error("an older (history) password and no current one for this device in the file: not imported, so it cannot become current")]
    HistoryOnly,
    /// Refused by the entry checks (kind rules, text rules).
    #[error("{0}")]
    Refused(String),
}

impl RowProblem {
    /// Whether the row holds no secret at all (placeholders, empty, not
    /// decrypted), as opposed to a bad row.
    pub fn is_placeholder(&self) -> bool {
        matches!(
            self,
            Self::Empty | Self::SecureString | Self::Placeholder(_) | Self::NotDecrypted(_)
        )
    }
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct RowError {
    /// Physical line number.
    pub line: u64,
    /// What is wrong (never the secret).
    pub problem: RowProblem,
}

/// The file as a whole is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not text we can decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The format needs a column the header does not have.
    #[error("no {what} column (accepted headers: {})", accepted.join(", "))]
    MissingColumn {
        /// What the column holds.
        what: &'static str,
        /// The header names accepted for it.
        accepted: Vec<&'static str>,
    },
    /// A column named by the caller is not in the header.
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
    /// The file could not be read.
    #[error("the file could not be read: {why}")]
    Read {
        /// The system's words.
        why: String,
    },
    /// A row (quoted line breaks and all) longer than the record budget.
    #[error("line {line}: a row (or a run of blank lines before it) longer than {max_mib} MiB: not an export row; the file was refused whole")]
    RowTooLong {
        /// Where the row starts.
        line: u64,
        /// The budget, in MiB.
        max_mib: u64,
    },
    /// More data rows than one import reads.
    #[error("more than {max} rows: split the file and import each part")]
    TooManyRows {
        /// The most rows one import reads.
        max: usize,
    },
    /// More physical lines than one import reads.
    #[error("more than {max} lines: split the file and import each part")]
    TooManyLines {
        /// The most lines one import reads.
        max: u64,
    },
    /// Not UTF-8 and too long to decode in memory.
    #[error("the file is not UTF-8 and is larger than {max_mib} MiB, the most that is decoded in memory: save it as CSV UTF-8, which is read at any size")]
    TooLargeToDecode {
        /// The budget, in MiB.
        max_mib: u64,
    },
    /// The file changed between reading and depositing.
    #[error("the file changed while it was being imported (line {line} no longer holds the row read before): nothing was imported; import it again once it is written")]
    Changed {
        /// The first row found changed.
        line: u64,
    },
    /// Every row is a placeholder: the export holds no secrets.
    #[error("none of the {rows} rows holds a secret ({first}): the file was refused whole")]
    NoSecrets {
        /// Rows read.
        rows: usize,
        /// The first row's problem.
        first: RowError,
    },
}

/// What [`read`] found.
pub struct Parsed {
    /// Rows to deposit, in deposit order (versions of one entry oldest first).
    pub rows: Vec<Row>,
    /// Refused rows, by line.
    pub errors: Vec<RowError>,
    /// Which column holds what.
    pub mapping: Vec<Chosen>,
    /// How the bytes were decoded.
    pub encoding: TextEncoding,
    /// The delimiter.
    pub delimiter: u8,
    /// Whether the delimiter was sniffed.
    pub sniffed: bool,
    /// A skipped first line.
    pub preamble: Option<Preamble>,
}

/// Where each field is in the header.
#[derive(Default)]
struct Cols {
    label: Option<usize>,
    secret: usize,
    serial: Option<usize>,
    name: Option<usize>,
    device_id: Option<usize>,
    key_id: Option<usize>,
    username: Option<usize>,
    time: Option<usize>,
    status: Option<usize>,
    source: Option<usize>,
}

fn columns(
    format: &Format,
    raw: &[String],
    o: &Overrides,
) -> Result<(Cols, Vec<Chosen>), ImportError> {
    let mut chosen: Vec<Chosen> = Vec::new();
    let mut get = |field: Field, given: Option<&str>, names: &[&str]| {
        let taken: Vec<usize> = chosen.iter().map(|c| c.index).collect();
        let c = pick(raw, field, given, names, &taken)
            .map_err(|name| ImportError::NoSuchColumn { name })?;
        let index = c.as_ref().map(|c| c.index);
        chosen.extend(c);
        Ok::<_, ImportError>(index)
    };
    let missing = |what, accepted: &[&'static str]| ImportError::MissingColumn {
        what,
        accepted: accepted.to_vec(),
    };
    let mut c = Cols::default();
    match format {
        Format::FileVault => {
            c.secret = get(Field::Secret, o.secret.as_deref(), columns::FILEVAULT_KEY)?
                .ok_or_else(|| missing("recovery key", columns::FILEVAULT_KEY))?;
            c.serial = get(Field::Serial, o.device.as_deref(), columns::SERIAL)?;
            c.device_id = get(Field::DeviceId, None, columns::DEVICE_ID)?;
            c.name = get(Field::DeviceName, None, columns::DEVICE_NAME)?;
            if c.serial.is_none() && c.device_id.is_none() && c.name.is_none() {
                return Err(missing("serial number", columns::SERIAL));
            }
            c.username = get(Field::Username, o.username.as_deref(), columns::USER)?;
        }
        Format::BitLocker => {
            c.key_id = get(Field::KeyId, o.key_id.as_deref(), columns::KEY_ID)?;
            c.key_id.ok_or_else(|| missing("key ID", columns::KEY_ID))?;
            c.secret = get(Field::Secret, o.secret.as_deref(), columns::BITLOCKER_KEY)?
                .ok_or_else(|| missing("recovery key", columns::BITLOCKER_KEY))?;
            c.name = get(Field::DeviceName, o.device.as_deref(), columns::DEVICE_NAME)?;
            c.device_id = get(Field::DeviceId, None, columns::DEVICE_ID)?;
        }
        Format::Laps => {
            c.secret = get(Field::Secret, o.secret.as_deref(), columns::LAPS_PASSWORD)?
                .ok_or_else(|| missing("password", columns::LAPS_PASSWORD))?;
            c.name = get(Field::DeviceName, o.device.as_deref(), columns::DEVICE_NAME)?;
            c.device_id = get(Field::DeviceId, None, columns::DEVICE_ID)?;
            if c.name.is_none() && c.device_id.is_none() {
                return Err(missing("computer", columns::DEVICE_NAME));
            }
            c.username = get(
                Field::Username,
                o.username.as_deref(),
                columns::LAPS_ACCOUNT,
            )?;
            c.status = get(Field::Status, None, columns::STATUS)?;
            c.source = get(Field::Source, None, columns::SOURCE)?;
        }
        Format::Generic(g) => {
            c.label = get(Field::Label, Some(&g.label), &[])?;
            c.secret = get(
                Field::Secret,
                Some(o.secret.as_deref().unwrap_or(&g.secret)),
                &[],
            )?
            .unwrap_or_default();
            let device = o.device.as_deref().or(g.device.as_deref());
            if device.is_some() {
                c.name = get(Field::DeviceName, device, &[])?;
            }
            let user = o.username.as_deref().or(g.username.as_deref());
            if user.is_some() {
                c.username = get(Field::Username, user, &[])?;
            }
        }
    }
    if o.time.is_some() || !matches!(format, Format::Generic(_)) {
        c.time = get(Field::Time, o.time.as_deref(), columns::TIME)?;
    }
    Ok((c, chosen))
}

fn prefix(format: &Format) -> &'static str {
    match format {
        Format::FileVault => "filevault-",
        Format::BitLocker => "bitlocker-",
        Format::Laps => "laps-",
        Format::Generic(_) => "",
    }
}

/// Placeholders that exports and spreadsheets put where a secret is missing
/// (compared without case).
const PLACEHOLDERS: &[&str] = &[
    "NA",
    "N/A",
    "#N/A",
    "N.A.",
    "None",
    "None found",
    "Not found",
    "No key found",
    "No recovery key",
    "null",
    "(null)",
    "-",
    "--",
];

/// `DecryptionStatus` values meaning the password column holds a password.
const DECRYPTED: &[&str] = &["", "notapplicable", "success", "succeeded", "decrypted"];

fn secret_problem(secret: &str) -> Option<RowProblem> {
    if secret.is_empty() {
        Some(RowProblem::Empty)
    } else if secret.eq_ignore_ascii_case("System.Security.SecureString") {
        Some(RowProblem::SecureString)
    } else {
        PLACEHOLDERS
            .iter()
            .find(|p| p.eq_ignore_ascii_case(secret))
            .map(|p| RowProblem::Placeholder(p))
    }
}

/// `s` if it fits in `max` bytes, else its longest prefix (on a character
/// boundary) that fits with `~` and 10 hex digits of its SHA-256.
pub fn fit(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let tag = crate::hex_upper(&sha256(&[b"breakglass/v1/import-label", s.as_bytes()])[..5]);
    let mut cut = max.saturating_sub(tag.len() + 1);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{tag}", s[..cut].trim_end())
}

/// A sortable key for the timestamps exports write: ISO 8601
/// (`2026-11-20T09:14:02Z`, `2026-11-20 09:14:02`), US (`11/20/2026 9:14:02
/// AM`, what en-US PowerShell writes) and dotted European (`20.11.2026
/// 09:14:02`). Offsets are ignored; `None` if unreadable.
pub fn time_key(s: &str) -> Option<u64> {
    let s = s.trim();
    let mut nums: Vec<u64> = Vec::new();
    let mut cur: Option<u64> = None;
    let mut seps = String::new();
    for ch in s.chars() {
        if let Some(d) = ch.to_digit(10) {
            cur = Some(
                cur.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
        } else {
            if let Some(n) = cur.take() {
                nums.push(n);
                seps.push(ch);
            }
            if ch == '+' || (ch == 'Z' && nums.len() >= 5) {
                break; // an offset: ignored
            }
        }
    }
    nums.extend(cur);
    if nums.len() < 3 {
        return None;
    }
    let year_first = seps.starts_with("--") || (seps.starts_with("//") && nums[0] > 31);
    let (y, m, d) = if year_first {
        (nums[0], nums[1], nums[2])
    } else if seps.starts_with("//") {
        (nums[2], nums[0], nums[1])
    } else if seps.starts_with("..") {
        (nums[2], nums[1], nums[0])
    } else {
        return None;
    };
    let mut h = nums.get(3).copied().unwrap_or(0);
    let (mi, sec) = (
        nums.get(4).copied().unwrap_or(0),
        nums.get(5).copied().unwrap_or(0),
    );
    let upper = s.to_ascii_uppercase();
    if upper.ends_with("PM") && h < 12 {
        h += 12;
    } else if upper.ends_with("AM") && h == 12 {
        h = 0;
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 || y > 9999
    {
        return None;
    }
    Some(((((y * 13 + m) * 32 + d) * 24 + h) * 60 + mi) * 61 + sec)
}

/// A row before versions are settled.
struct Candidate {
    row: Row,
    time: Option<u64>,
}

/// What every row of one file is checked with.
struct Checker {
    format: Format,
    cols: Cols,
    kind: EntryKind,
    digest_ok: bool,
    /// Keys [`Checker::fingerprint`]: random for each import (from the
    /// OS), so that no file can be made to collide with a planned row.
    fields: std::collections::hash_map::RandomState,
}

/// What [`Checker::row`] makes of a row: the candidate and its identity
/// (the label before it is fitted), or why it is refused.
type Checked = Result<(Candidate, String), RowProblem>;

impl Checker {
    fn new(format: &Format, cols: Cols) -> Self {
        let (kind, digest_ok) = match format {
            Format::FileVault | Format::BitLocker => (EntryKind::RecoveryKey, true),
            Format::Laps => (EntryKind::Password, true),
            Format::Generic(g) => (g.kind, g.kind == EntryKind::RecoveryKey),
        };
        Self {
            format: format.clone(),
            cols,
            kind,
            digest_ok,
            fields: std::collections::hash_map::RandomState::new(),
        }
    }

    /// A keyed 64-bit hash of every field of a record: reading a planned
    /// row again, it must be the same row, field for field (identity,
    /// time, history, secret).
    fn fingerprint(&self, record: &csv::StringRecord) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = self.fields.build_hasher();
        for field in record {
            field.hash(&mut h);
        }
        h.finish()
    }

    /// Checks one CSV record (not separator-only) found on `line`.
    fn row(&self, record: &csv::StringRecord, line: u64) -> Checked {
        let (format, cols, kind) = (&self.format, &self.cols, self.kind);
        let field = |i: Option<usize>| i.map(|i| record.get(i).unwrap_or("").trim()).unwrap_or("");
        let status = field(cols.status);
        if !DECRYPTED.contains(&norm(status).as_str()) {
            let shown: String = status
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect();
            return Err(RowProblem::NotDecrypted(shown));
        }
        let secret = Zeroizing::new(field(Some(cols.secret)).to_owned());
        if let Some(p) = secret_problem(&secret) {
            return Err(p);
        }
        let key_id = match cols.key_id {
            Some(_) => match crate::recovery_key::check_key_id(field(cols.key_id)) {
                Ok(id) => Some(id),
                Err(_) => return Err(RowProblem::KeyId),
            },
            None => None,
        };
        let (name, serial, device_id) =
            (field(cols.name), field(cols.serial), field(cols.device_id));
        let short_id = |id: &str| {
            id.trim_matches(['{', '}'])
                .chars()
                .take(8)
                .collect::<String>()
                .to_ascii_uppercase()
        };
        // The entry's identity as (name part, fixed suffix), and the device
        // attribute. Only the name part is ever shortened, so a BitLocker
        // label always ends in its key ID.
        let (host, suffix, device) = match format {
            Format::FileVault => {
                // The first column present decides, so one Mac is always
                // one label: an empty serial is a bad row, not a name.
                let id = if cols.serial.is_some() {
                    serial
                } else if cols.device_id.is_some() {
                    device_id
                } else {
                    name
                };
                (id.to_owned(), String::new(), id.to_owned())
            }
            Format::BitLocker => {
                let id = key_id.clone().unwrap_or_default();
                let host = if name.is_empty() { device_id } else { name };
                if host.is_empty() {
                    (id.clone(), String::new(), id)
                } else {
                    (host.to_owned(), format!("-{id}"), host.to_owned())
                }
            }
            Format::Laps if !device_id.is_empty() => {
                let host = if name.is_empty() { device_id } else { name };
                (
                    host.to_owned(),
                    format!("-{}", short_id(device_id)),
                    host.to_owned(),
                )
            }
            Format::Laps => (name.to_owned(), String::new(), name.to_owned()),
            Format::Generic(_) => (field(cols.label).to_owned(), String::new(), name.to_owned()),
        };
        if host.is_empty() {
            return Err(RowProblem::NoIdentity);
        }
        let room = limits::LABEL.saturating_sub(prefix(format).len() + suffix.len());
        let full_label = [prefix(format), &host, &suffix].concat();
        let label = [prefix(format), &fit(&host, room), &suffix].concat();
        let secret = EntrySecret {
            username: Zeroizing::new(field(cols.username).to_owned()),
            secret: Zeroizing::new(secret.as_bytes().to_vec()),
        };
        // Check the secret against its kind now, so --strict names every
        // bad row before anything is written; keep its canonical form
        // (recovery keys trimmed and upper-cased), which the digest hashes.
        let secret = crate::vault::validate_secret(kind, &secret)
            .map_err(|e| RowProblem::Refused(e.to_string()))?;
        let history = field(cols.source).to_ascii_lowercase().ends_with("history");
        // A public digest of a guessable password is a guessing oracle.
        let digest_ok = self.digest_ok
            && (kind != EntryKind::Password
                || std::str::from_utf8(&secret.secret)
                    .is_ok_and(|s| estimated_entropy_bits(s) >= DIGEST_MIN_BITS));
        let candidate = Candidate {
            time: time_key(field(cols.time)),
            row: Row {
                line,
                label,
                kind,
                secret,
                device: (!device.is_empty()).then(|| fit(&device, limits::ATTRIBUTE)),
                key_id,
                digest_ok,
                history,
                also_known_as: searchable(format, &device, name),
                user: match format {
                    Format::FileVault => searchable(format, &device, field(cols.username)),
                    _ => None,
                },
            },
        };
        Ok((candidate, full_label))
    }
}

/// An export's text from its header on.
type Text = Window<Box<dyn Source>>;

/// An export opened for reading: its text, and how it was decoded.
struct Opened {
    text: Text,
    lines_before: u64,
    encoding: TextEncoding,
    delimiter: u8,
    sniffed: bool,
    preamble: Option<Preamble>,
}

/// Decoded text held in memory, as a source.
struct Held(Zeroizing<String>);

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Why reading the source failed, for people.
fn read_error(e: &std::io::Error) -> ImportError {
    ImportError::Read { why: e.to_string() }
}

/// Settles how `source` is read (see [`source`]): UTF-8 where it lies,
/// anything else decoded whole within [`source::MAX_HELD`].
fn open(mut source: Box<dyn Source>, delimiter: Option<u8>) -> Result<Opened, ImportError> {
    use std::io::{Seek, SeekFrom};
    match source::scan(&mut *source, delimiter) {
        Ok(Scan::Utf8(f)) => Ok(Opened {
            text: Window::new(source, f.start, f.len).map_err(|e| read_error(&e))?,
            lines_before: f.lines_before,
            encoding: f.encoding,
            delimiter: f.delimiter,
            sniffed: f.sniffed,
            preamble: f.preamble,
        }),
        Ok(Scan::Other) => {
            let len = source.seek(SeekFrom::End(0)).map_err(|e| read_error(&e))?;
            if len > source::MAX_HELD {
                return Err(ImportError::TooLargeToDecode {
                    max_mib: source::MAX_HELD >> 20,
                });
            }
            source
                .seek(SeekFrom::Start(0))
                .map_err(|e| read_error(&e))?;
            // Sized once: growing would leave copies behind.
            let mut bytes = Zeroizing::new(vec![0u8; len as usize]);
            source.read_exact(&mut bytes).map_err(|e| read_error(&e))?;
            drop(source);
            let d = decode::decode_owned(bytes, delimiter)?;
            let (lines_before, encoding, delimiter, sniffed, preamble) = (
                d.lines_before(),
                d.encoding,
                d.delimiter,
                d.sniffed,
                d.preamble,
            );
            let len = d.text.len() as u64;
            let held: Box<dyn Source> = Box::new(std::io::Cursor::new(Held(d.text)));
            Ok(Opened {
                text: Window::new(held, 0, len).map_err(|e| read_error(&e))?,
                lines_before,
                encoding,
                delimiter,
                sniffed,
                preamble,
            })
        }
        Err(ScanError::Decode(e)) => Err(e.into()),
        Err(ScanError::Io(e)) => Err(read_error(&e)),
    }
}

/// The most data rows one import reads: its plan then holds at most 80 MiB
/// (40 bytes a row). A larger export is refused: split it.
pub const MAX_ROWS: usize = 1 << 21;

/// The most physical lines one import reads (a planned row keeps its line
/// in 32 bits).
pub const MAX_LINE: u64 = u32::MAX as u64;

/// A CSV reader as every pass makes it.
fn csv_builder(delimiter: u8, headers: bool) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    // Not `.trim(csv::Trim::All)`: it builds a new record for every row
    // (a twentieth of an import's instructions). Headers and the fields a
    // row is checked by are trimmed where they are read.
    b.flexible(true).has_headers(headers).delimiter(delimiter);
    b
}

/// Pass 1: reads the header and maps the columns, then hands `each` every
/// data record's byte offset (what [`Again::at`] takes), its physical line
/// and what the row checker made of it (an unreadable record is
/// [`RowProblem::Csv`]). Separator-only rows (",,,") that Excel leaves are skipped. Returns
/// the text again, with the row checker and the column mapping.
fn pass_one(
    opened: Opened,
    format: &Format,
    options: &Options,
    max_rows: usize,
    mut each: impl FnMut(u64, u64, Checked, u64),
) -> Result<(Text, Checker, Vec<Chosen>), ImportError> {
    let lines = Lines::new(opened.text, opened.lines_before);
    let mut reader = csv_builder(opened.delimiter, true).from_reader(lines);
    let raw: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Header { why: e.to_string() })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let (cols, mapping) = columns(format, &raw, &options.columns)?;
    let checker = Checker::new(format, cols);
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        let offset = reader.position().byte();
        reader.get_mut().next_record_at(offset);
        let read = reader.read_record(&mut record);
        let at = match &read {
            Ok(_) => record.position().map_or(offset, csv::Position::byte),
            Err(e) => e.position().map_or(offset, csv::Position::byte),
        };
        let line = reader.get_mut().line_of(at);
        if line > MAX_LINE {
            return Err(ImportError::TooManyLines { max: MAX_LINE });
        }
        match read {
            Ok(false) => break,
            Ok(true) if record.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    let too_long = io
                        .get_ref()
                        .is_some_and(|e| e.is::<source::RecordTooLong>());
                    return Err(if too_long {
                        ImportError::RowTooLong {
                            line,
                            max_mib: source::MAX_RECORD >> 20,
                        }
                    } else {
                        read_error(io)
                    });
                }
                rows += 1;
                if rows > max_rows {
                    return Err(ImportError::TooManyRows { max: max_rows });
                }
                each(at, line, Err(RowProblem::Csv), 0);
                continue;
            }
        }
        rows += 1;
        if rows > max_rows {
            return Err(ImportError::TooManyRows { max: max_rows });
        }
        let fingerprint = checker.fingerprint(&record);
        each(at, line, checker.row(&record, line), fingerprint);
    }
    let text = reader.into_inner().into_inner();
    Ok((text, checker, mapping))
}

/// Reads an export. A file-level problem (encoding, no such column, every
/// row a placeholder) stops everything; row errors are returned beside the
/// good rows.
///
/// Every row is held, with its secret: [`plan`] reads a file for
/// [`Plan::deposit`] holding a few dozen bytes a row instead.
pub fn read(bytes: &[u8], format: &Format, options: &Options) -> Result<Parsed, ImportError> {
    let source: Box<dyn Source> = Box::new(std::io::Cursor::new(Zeroizing::new(bytes.to_vec())));
    let opened = open(source, options.delimiter)?;
    let (encoding, delimiter, sniffed, preamble) = (
        opened.encoding,
        opened.delimiter,
        opened.sniffed,
        opened.preamble,
    );
    let mut errors = Vec::new();
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    let (_, _, mapping) =
        pass_one(
            opened,
            format,
            options,
            MAX_ROWS,
            |_, line, checked, _| match checked {
                Ok((candidate, full_label)) => {
                    let next = groups.len();
                    let g = *group_of.entry(full_label).or_insert(next);
                    if g == next {
                        groups.push(Vec::new());
                    }
                    groups[g].push(candidate);
                }
                Err(problem) => errors.push(RowError { line, problem }),
            },
        )?;
    let mut rows = Vec::new();
    for group in groups {
        let mut refused = Vec::new();
        settle(group, &mut rows, &mut refused);
        errors.extend(refused.into_iter().map(|(c, why)| RowError {
            line: c.row.line,
            problem: why.problem(c.row.label),
        }));
    }
    let rows: Vec<Row> = rows.into_iter().map(|c| c.row).collect();
    errors.sort_by_key(|e| e.line);
    if rows.is_empty() && !errors.is_empty() && errors.iter().all(|e| e.problem.is_placeholder()) {
        return Err(ImportError::NoSecrets {
            rows: errors.len(),
            first: errors[0].clone(),
        });
    }
    Ok(Parsed {
        rows,
        errors,
        mapping,
        encoding,
        delimiter,
        sniffed,
        preamble,
    })
}

/// What [`settle`] needs of a row.
trait Version {
    fn line(&self) -> u64;
    fn time(&self) -> Option<u64>;
    fn history(&self) -> bool;
}

impl Version for Candidate {
    fn line(&self) -> u64 {
        self.row.line
    }
    fn time(&self) -> Option<u64> {
        self.time
    }
    fn history(&self) -> bool {
        self.row.history
    }
}

/// Why [`settle`] refused a row.
enum Unsettled {
    HistoryOnly,
    Repeat { first: u64 },
}

impl Unsettled {
    fn problem(self, label: String) -> RowProblem {
        match self {
            Self::HistoryOnly => RowProblem::HistoryOnly,
            Self::Repeat { first } => RowProblem::Repeat { label, first },
        }
    }
}

/// Orders the rows of one identity (in file order) into versions (history
/// first, then by time, the newest last, so current) or refuses the ones
/// that cannot be ordered.
fn settle<T: Version>(group: Vec<T>, rows: &mut Vec<T>, refused: &mut Vec<(T, Unsettled)>) {
    let (mut history, mut current): (Vec<_>, Vec<_>) =
        group.into_iter().partition(Version::history);
    if current.is_empty() {
        refused.extend(history.into_iter().map(|c| (c, Unsettled::HistoryOnly)));
        return;
    }
    history.sort_by_key(Version::time);
    let first = current[0].line();
    if current.iter().all(|c| c.time().is_some()) {
        current.sort_by_key(Version::time);
        let mut kept: Vec<T> = Vec::new();
        for c in current {
            match kept.last() {
                Some(prev) if prev.time() == c.time() => {
                    let first = prev.line().min(c.line());
                    let why = Unsettled::Repeat { first };
                    if c.line() < prev.line() {
                        let prev = kept.pop().expect("a last one");
                        kept.push(c);
                        refused.push((prev, why));
                    } else {
                        refused.push((c, why));
                    }
                }
                _ => kept.push(c),
            }
        }
        current = kept;
    } else {
        let rest = current.split_off(1);
        refused.extend(rest.into_iter().map(|c| (c, Unsettled::Repeat { first })));
    }
    rows.extend(history.into_iter().chain(current));
}

/// One row of a [`Plan`] while settling: 48 bytes, no secret (a keyed hash
/// of its fields is not one). While reading, `a`/`b` are its identity's
/// keyed hash ([`IdentityKey`]) and `time` its time key; once
/// settled, `a` is its version's round and `b` the offset of its
/// identity's first row, so that rows sort into deposit order (then each
/// becomes a 24-byte [`Planned`] row).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    a: u64,
    b: u64,
    /// Where the row starts in the text.
    at: u64,
    /// The row's time key plus one (0: none), and [`HISTORY`].
    time: u64,
    /// Its physical line.
    line: u64,
    /// [`Checker::fingerprint`] of its fields.
    fingerprint: u64,
}

/// The bit of [`Slot::time`] marking a history row (time keys stay below
/// 2^44).
const HISTORY: u64 = 1 << 63;

/// Keys the 128-bit identity hash that groups a plan's rows: two SipHash
/// lanes, each salted with 16 fresh bytes from the OS, so that no export
/// can be made to put two identities in one group without guessing the
/// key (a tenth of the cost of the SHA-256 it replaces, on every row).
struct IdentityKey {
    lanes: [std::collections::hash_map::DefaultHasher; 2],
}

impl IdentityKey {
    fn fresh() -> Self {
        Self {
            lanes: crate::keys::salted_lanes(),
        }
    }

    /// An identity's hash under this key, as two numbers.
    fn hash(&self, full_label: &str) -> (u64, u64) {
        use std::hash::Hasher;
        let [a, b] = self.lanes.clone().map(|mut h| {
            h.write(full_label.as_bytes());
            h.finish()
        });
        (a, b)
    }
}

/// A slot being settled.
struct Settling(Slot);

impl Version for Settling {
    fn line(&self) -> u64 {
        self.0.line
    }
    fn time(&self) -> Option<u64> {
        (self.0.time & !HISTORY).checked_sub(1)
    }
    fn history(&self) -> bool {
        self.0.time & HISTORY != 0
    }
}

/// A row to deposit, once planned: 24 bytes, no secret.
#[derive(Clone, Copy)]
struct Planned {
    /// Where the row starts in the text.
    at: u64,
    /// [`Checker::fingerprint`] of its fields: reading the row again, it
    /// must be the same row.
    fingerprint: u64,
    /// Its physical line (at most [`MAX_LINE`]).
    line: u32,
    /// Its identity's number (0-based, in the order of their first rows).
    group: u32,
}

/// A plan's rows in deposit order, in chunks (of [`Queue::CHUNK`] rows)
/// that [`Plan::deposit`] lets go of once it has passed them: what the
/// plan holds shrinks as the entry table grows, so the two never peak
/// together.
struct Queue {
    chunks: Vec<Vec<Planned>>,
    /// Rows a chunk.
    chunk: usize,
    /// Rows pushed (those let go of included).
    len: usize,
}

impl Default for Queue {
    fn default() -> Self {
        Self::with_chunks_of(Self::CHUNK)
    }
}

impl Queue {
    /// Rows a chunk: 1.5 MiB.
    const CHUNK: usize = 1 << 16;

    fn with_chunks_of(chunk: usize) -> Self {
        Self {
            chunks: Vec::new(),
            chunk,
            len: 0,
        }
    }

    fn push(&mut self, row: Planned) {
        if self.len.is_multiple_of(self.chunk) {
            self.chunks.push(Vec::with_capacity(self.chunk));
        }
        self.chunks[self.len / self.chunk].push(row);
        self.len += 1;
    }

    /// The `i`-th row, which must not have been let go of.
    fn get(&self, i: usize) -> Planned {
        self.chunks[i / self.chunk][i % self.chunk]
    }

    /// Lets go of every chunk wholly before row `i`.
    fn release_before(&mut self, i: usize) {
        for chunk in &mut self.chunks[..i / self.chunk] {
            *chunk = Vec::new();
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Planned> + '_ {
        self.chunks.iter().flatten()
    }
}

/// An export read for [`Plan::deposit`]: where its text is (a file is not
/// held) and, for each row to deposit, where it starts, in deposit order.
/// Rows are read again, one at a time, as they are deposited: a row costs
/// 24 bytes here, whatever the file holds, until it is deposited.
pub struct Plan {
    again: Again,
    checker: Checker,
    /// In deposit order: round 0 (every identity's first version, by first
    /// row), then round 1, …
    rows: Queue,
    /// Where each round ends in `rows`.
    round_ends: Vec<usize>,
    /// Identities (rows of round 0).
    groups: usize,
    /// Rows sealed at once ([`write::PART`]; fewer in tests).
    part: usize,
    /// Refused rows, by line.
    pub errors: Vec<RowError>,
    /// Which column holds what.
    pub mapping: Vec<Chosen>,
}

/// Reads an export as [`read`] does — the same rows, refusals and file
/// errors — keeping for each row only where it is, its line, its
/// identity's hash and its time (pass 1); [`Plan::deposit`] reads each row
/// again as it deposits it (pass 2). Takes the bytes so that they are not
/// copied; [`plan_from`] reads a file where it lies.
pub fn plan(
    bytes: Zeroizing<Vec<u8>>,
    format: &Format,
    options: &Options,
) -> Result<Plan, ImportError> {
    plan_from(Box::new(std::io::Cursor::new(bytes)), format, options)
}

/// [`plan`] over a seekable source (an export file), which is read again
/// by [`Plan::deposit`]. A UTF-8 file is never held: what is held grows by
/// 40 bytes a row whatever the file's length (HARDENING.md "Budgets").
pub fn plan_from(
    source: Box<dyn Source>,
    format: &Format,
    options: &Options,
) -> Result<Plan, ImportError> {
    plan_at_most(source, format, options, MAX_ROWS)
}

/// [`plan_from`], reading at most `max_rows` data rows.
fn plan_at_most(
    source: Box<dyn Source>,
    format: &Format,
    options: &Options,
    max_rows: usize,
) -> Result<Plan, ImportError> {
    let opened = open(source, options.delimiter)?;
    let delimiter = opened.delimiter;
    let mut errors = Vec::new();
    let mut slots = Vec::new();
    let identities = IdentityKey::fresh();
    let (text, checker, mapping) = pass_one(
        opened,
        format,
        options,
        max_rows,
        |at, line, checked, fingerprint| match checked {
            Ok((c, full_label)) => {
                let (a, b) = identities.hash(&full_label);
                let time = c.time.map_or(0, |t| t + 1) | if c.row.history { HISTORY } else { 0 };
                slots.push(Slot {
                    a,
                    b,
                    at,
                    time,
                    line,
                    fingerprint,
                });
            }
            Err(problem) => errors.push(RowError { line, problem }),
        },
    )?;
    let mut again = Again::new(text, delimiter)?;
    // Group by identity (in file order within one), settle each group, and
    // write its kept rows back in place as (round, first offset).
    slots.sort_unstable();
    let (mut read_at, mut kept) = (0, 0);
    let mut group = Vec::new();
    let (mut settled, mut refused) = (Vec::new(), Vec::new());
    while read_at < slots.len() {
        let id = (slots[read_at].a, slots[read_at].b);
        let first_at = slots[read_at].at;
        group.clear();
        while read_at < slots.len() && (slots[read_at].a, slots[read_at].b) == id {
            group.push(Settling(slots[read_at]));
            read_at += 1;
        }
        settle(std::mem::take(&mut group), &mut settled, &mut refused);
        for (round, Settling(s)) in settled.drain(..).enumerate() {
            slots[kept] = Slot {
                a: round as u64,
                b: first_at,
                ..s
            };
            kept += 1;
        }
        for (Settling(s), why) in refused.drain(..) {
            let label = again
                .at(s.at)
                .ok()
                .and_then(|r| checker.row(r, s.line).ok())
                .map(|(c, _)| c.row.label)
                .unwrap_or_default();
            errors.push(RowError {
                line: s.line,
                problem: why.problem(label),
            });
        }
    }
    slots.truncate(kept);
    slots.shrink_to_fit();
    slots.sort_unstable();
    errors.sort_by_key(|e| e.line);
    if slots.is_empty() && !errors.is_empty() && errors.iter().all(|e| e.problem.is_placeholder()) {
        return Err(ImportError::NoSecrets {
            rows: errors.len(),
            first: errors[0].clone(),
        });
    }
    // Each row's identity by number: a row of round 0 is its own, a later
    // one is found among round 0's first offsets.
    let groups = slots.partition_point(|s| s.a == 0);
    let mut rows = Queue::default();
    let mut round_ends = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        if i > 0 && slots[i - 1].a != s.a {
            round_ends.push(i);
        }
        let group = match s.a {
            0 => i,
            _ => slots[..groups].partition_point(|g| g.b < s.b),
        };
        rows.push(Planned {
            at: s.at,
            fingerprint: s.fingerprint,
            // At most MAX_LINE lines and MAX_ROWS identities.
            line: s.line as u32,
            group: group as u32,
        });
    }
    if rows.len > 0 {
        round_ends.push(rows.len);
    }
    drop(slots);
    Ok(Plan {
        again,
        checker,
        rows,
        round_ends,
        groups,
        part: write::PART,
        errors,
        mapping,
    })
}

/// Reads records of a text again, by where they start.
struct Again {
    reader: csv::Reader<Text>,
    record: csv::StringRecord,
}

impl Again {
    fn new(mut text: Text, delimiter: u8) -> Result<Self, ImportError> {
        use std::io::{Seek, SeekFrom};
        // From the start, where the CSV reader believes it is, and never
        // more than a record's budget after each seek.
        text.seek(SeekFrom::Start(0)).map_err(|e| read_error(&e))?;
        text.record_at_a_time();
        // One reader for every row: building one costs more than reading
        // a row.
        Ok(Self {
            reader: csv_builder(delimiter, false).from_reader(text),
            record: csv::StringRecord::new(),
        })
    }

    /// The record starting at `at` (where [`pass_one`] found it).
    fn at(&mut self, at: u64) -> Result<&csv::StringRecord, ()> {
        let mut position = csv::Position::new();
        position.set_byte(at);
        self.reader.seek(position).map_err(|_| ())?;
        self.reader.get_mut().record_at_a_time();
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Ok(&self.record),
            _ => Err(()),
        }
    }
}

impl Plan {
    /// Rows to deposit.
    pub fn len(&self) -> usize {
        self.rows.len
    }

    /// Whether no row is to be deposited.
    pub fn is_empty(&self) -> bool {
        self.rows.len == 0
    }

    /// The row of `planned`, read again and checked as when it was
    /// planned; an error when the file no longer holds that row there.
    fn row(again: &mut Again, checker: &Checker, planned: &Planned) -> Result<Row, ImportError> {
        let line = u64::from(planned.line);
        let changed = ImportError::Changed { line };
        let record = again.at(planned.at).map_err(|()| changed.clone())?;
        if checker.fingerprint(record) != planned.fingerprint {
            return Err(changed);
        }
        checker
            .row(record, line)
            .map(|(c, _)| c.row)
            .map_err(|_| changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A new vault with the rows of a LAPS export imported, every row
    /// taken, as a reader of the file sees it.
    fn laps_imported(text: &str) -> Vault {
        let (rows, errors) = read_str(text, &Format::Laps).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let spec = crate::vault::InitSpec::new("L", 2, ["a", "b"])
            .with_kdf(crate::passphrase::KdfParams::FLOOR);
        let bytes = crate::vault::create(&spec, &[None, None]).unwrap().bytes;
        let mut vault = Vault::replay(&crate::log::parse(&bytes).unwrap()).unwrap();
        let (appended, _, errors) = deposit(&mut vault, rows, "t", 1, || {});
        assert!(errors.is_empty(), "{errors:?}");
        Vault::replay(&crate::log::parse(&[bytes, appended].concat()).unwrap()).unwrap()
    }

    fn read_str(text: &str, format: &Format) -> Result<(Vec<Row>, Vec<RowError>), ImportError> {
        read(text.as_bytes(), format, &Options::default()).map(|p| (p.rows, p.errors))
    }

    #[test]
    fn every_deposit_of_an_import_has_its_own_deposit_id() {
        // The rows of an import share one HPKE context and a zero nonce:
        // each row's key is unique only through its deposit id (FORMAT.md
        // §7.8), drawn for the whole part in one call to the OS.
        let text: String = std::iter::once("ComputerName,Account,Password\n".to_owned())
            .chain((0..300).map(|i| format!("PC{i},Administrator,QCBNRvY1D61b4f7tQHj{i}\n")))
            .collect();
        let vault = laps_imported(&text);
        let ids: std::collections::HashSet<[u8; 16]> = vault
            .entries()
            .values()
            .map(|e| {
                e.current()
                    .deposit_id
                    .expect("an imported deposit has an id")
            })
            .collect();
        assert_eq!(ids.len(), 300);
        assert!(!ids.contains(&[0u8; 16]));
    }

    #[test]
    fn entropy_estimates_err_low_for_words_and_weak_policies() {
        assert!(estimated_entropy_bits("kiwi7") < 30.0);
        assert!(estimated_entropy_bits("QCBNRvY1D61b4f7tQHjy") > 110.0); // 20 random
        assert!(estimated_entropy_bits("tQTCwXATWS!PHf") > DIGEST_MIN_BITS); // 14, 4 classes
        assert!(estimated_entropy_bits("abcdefghijkl") < DIGEST_MIN_BITS);
        // A passphrase counts its words, not its letters, however joined:
        // Windows LAPS runs capitalised words together.
        for weak in [
            "kiwi-apple-pear-plum-fig",
            "SkiingProduceIdentifyStarlitOctaneDistress",
            "SkiingProduceIdentify",
            "a b c d e f g",
            "aaaaaaaaaaaaaaaaaa",
        ] {
            assert!(estimated_entropy_bits(weak) < DIGEST_MIN_BITS, "{weak}");
        }
        let eight = estimated_entropy_bits("one two three four five six seven eight");
        assert!(eight > DIGEST_MIN_BITS, "{eight}");
    }

    /// A weak LAPS password (a weak policy allows it) must not get a public
    /// digest: SHA-256 over a known label and vault id is a guessing oracle
    /// — the reported attack recovered `kiwi7` in under a minute. A strong
    /// one keeps it, so re-imports stay idempotent.
    #[test]
    fn no_public_digest_for_a_weak_laps_password() {
        let text = "ComputerName,Account,Password\nPC1,Administrator,kiwi7\nPC2,Administrator,QCBNRvY1D61b4f7tQHjy\nPC3,Administrator,SkiingProduceIdentifyStarlitOctaneDistress\n";
        let vault = laps_imported(text);
        let digest_of = |label: &str| vault.entries().get(label).unwrap().current().digest.clone();
        assert_eq!(digest_of("laps-PC1"), None, "a weak password got a digest");
        assert!(digest_of("laps-PC2").is_some());
        assert_eq!(
            digest_of("laps-PC3"),
            None,
            "a LAPS passphrase got a digest"
        );
    }

    /// The records of `bytes` (a vault file) after the first `skip`, as
    /// what a reader sees of them: ciphertext, encapsulation and deposit
    /// id are random, so left out.
    fn public_records(bytes: &[u8], skip: usize) -> Vec<String> {
        crate::log::parse(bytes)
            .unwrap()
            .frames
            .iter()
            .skip(skip)
            .map(
                |f| match crate::record::Record::decode(f.kind, &f.body).unwrap() {
                    crate::record::Record::Deposit(d) => format!(
                        "{} {:?} v{} t{} {} {:?}",
                        d.label, d.kind, d.version, d.time, d.actor, d.attributes
                    ),
                    other => format!("{other:?}"),
                },
            )
            .collect()
    }

    /// Imports `text` onto the vault file `base` both ways: [`read`] and
    /// [`deposit`] (every row and frame held), and [`plan`] and
    /// [`Plan::deposit`] (streamed); returns what each appended, made and
    /// refused.
    type Both = (Vec<u8>, Outcome, Vec<RowError>);
    fn both_ways(
        base: &[u8],
        text: &str,
        format: &Format,
    ) -> (Result<Both, ImportError>, Result<Both, ImportError>) {
        let vault = || Vault::replay(&crate::log::parse(base).unwrap()).unwrap();
        let old = read(text.as_bytes(), format, &Options::default()).map(|p| {
            let (bytes, outcome, errors) = deposit(&mut vault(), p.rows, "t", 7, || {});
            let mut all = p.errors;
            all.extend(errors);
            (bytes, outcome, all)
        });
        let new = plan(
            Zeroizing::new(text.as_bytes().to_vec()),
            format,
            &Options::default(),
        )
        .map(|mut p| {
            // Chunks of two rows, so that letting go of passed chunks is
            // exercised with every round and part.
            let mut rows = Queue::with_chunks_of(2);
            p.rows.iter().for_each(|r| rows.push(*r));
            p.rows = rows;
            // Parts of two rows, so that sealing one part while the next
            // is read is exercised too.
            p.part = 2;
            let mut bytes = Vec::new();
            let (outcome, errors) = p.deposit(&mut vault(), "t", 7, &mut bytes, || {}).unwrap();
            let mut all = p.errors.clone();
            all.extend(errors);
            (bytes, outcome, all)
        });
        (old, new)
    }

    fn empty_vault() -> Vec<u8> {
        static VAULT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        VAULT
            .get_or_init(|| {
                let spec = crate::vault::InitSpec::new("L", 2, ["a", "b"])
                    .with_kdf(crate::passphrase::KdfParams::FLOOR);
                crate::vault::create(&spec, &[None, None]).unwrap().bytes
            })
            .clone()
    }

    /// `a` and `b` appended to `base` hold the same records.
    fn same_records(base: &[u8], a: &Both, b: &Both) {
        let skip = crate::log::parse(base).unwrap().frames.len();
        let with = |extra: &[u8]| [base, extra].concat();
        assert_eq!(
            public_records(&with(&a.0), skip),
            public_records(&with(&b.0), skip)
        );
        assert_eq!((&a.1, &a.2), (&b.1, &b.2));
    }

    /// A LAPS export of `rows` (computer, password, time, history).
    fn laps_csv(rows: &[(u8, u8, u8, bool)]) -> String {
        const PASSWORDS: [&str; 5] = [
            "QCBNRvY1D61b4f7tQHjy",
            "kiwi7",
            "N/A",
            "tQTCwXATWS!PHf9",
            "Zq8#vLw2!mKe4$Rt",
        ];
        const TIMES: [&str; 4] = [
            "",
            "2026-11-20T09:14:02Z",
            "11/21/2026 9:14:02 AM",
            "2026-11-22 10:00:00",
        ];
        let mut text = String::from("ComputerName,Password,PasswordUpdateTime,Source\n");
        for (pc, pw, t, history) in rows {
            let source = if *history {
                "LegacyLapsHistory"
            } else {
                "Legacy"
            };
            text.push_str(&format!(
                "PC{pc},{},{},{source}\n",
                PASSWORDS[usize::from(*pw) % PASSWORDS.len()],
                TIMES[usize::from(*t) % TIMES.len()]
            ));
        }
        text
    }

    #[test]
    fn streamed_import_writes_what_the_held_one_did() {
        let base = empty_vault();
        let text = laps_csv(&[
            (1, 0, 1, false),
            (2, 3, 0, false),
            (1, 4, 2, false),
            (1, 0, 3, true),
            (3, 2, 0, false),
            (2, 0, 0, false),
            (4, 0, 1, true),
        ]);
        let (old, new) = both_ways(&base, &text, &Format::Laps);
        let (old, new) = (old.unwrap(), new.unwrap());
        same_records(&base, &old, &new);
        assert!(
            old.1.added >= 2 && !old.2.is_empty(),
            "{:?} {:?}",
            old.1,
            old.2
        );
        // Again on top of the first: unchanged rows and history left out.
        let base = [&base[..], &old.0].concat();
        let (old, new) = both_ways(&base, &text, &Format::Laps);
        same_records(&base, &old.unwrap(), &new.unwrap());
    }

    #[test]
    fn a_queue_lets_go_of_passed_chunks_and_keeps_the_rest() {
        let mut q = Queue::with_chunks_of(4);
        for i in 0..10u32 {
            q.push(Planned {
                at: u64::from(i),
                fingerprint: 0,
                line: i + 2,
                group: i,
            });
        }
        q.release_before(9);
        // Rows 0..8 fill two chunks, let go of; row 8's chunk is kept.
        let held: Vec<usize> = q.chunks.iter().map(Vec::capacity).collect();
        assert_eq!(held, [0, 0, 4]);
        assert_eq!((q.get(8).group, q.get(9).group, q.len), (8, 9, 10));
    }

    #[test]
    fn history_of_an_entry_held_before_is_left_out_and_records_name_actor_and_time() {
        // PC1 is in the vault; its history row must not become a version
        // (it could be older than what the vault holds), PC2's may.
        let first = laps_csv(&[(1, 0, 1, false)]);
        let second = laps_csv(&[
            (1, 3, 1, true),
            (1, 4, 2, false),
            (2, 3, 1, true),
            (2, 4, 2, false),
        ]);
        let (held, _) = both_ways(&empty_vault(), &first, &Format::Laps);
        let base = [empty_vault(), held.unwrap().0].concat();
        let (held, streamed) = both_ways(&base, &second, &Format::Laps);
        for (bytes, outcome, errors) in [held.unwrap(), streamed.unwrap()] {
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(
                (outcome.added, outcome.updated, outcome.history_skipped),
                (1, 2, 1)
            );
            let skip = crate::log::parse(&base).unwrap().frames.len();
            let records = public_records(&[&base[..], &bytes].concat(), skip);
            assert_eq!(records.len(), 3);
            for r in &records {
                // "label kind v… t7 t …": the import's time and actor.
                assert!(r.contains(" t7 t "), "{r}");
            }
        }
    }

    #[test]
    fn imported_records_carry_the_rows_key_id_user_and_other_name() {
        let jamf = "Computer Name,Serial Number,Username,FileVault 2 Individual Recovery Key\nmac-000,C02X0000JHD3,user0,UJZD-E8GX-D6NC-F10E-PF91-DHOD\n";
        let graph = "\"Id\",\"CreatedDateTime\",\"DeviceId\",\"Key\",\"VolumeType\"\n\"b4356cc9-da0f-b456-3c98-7d539217d0b6\",\"11/2/2026 4:05:09 PM\",\"8269567c-17f6-5b7b-4973-731413d1559a\",\"298716-693814-607354-655039-476421-518892-551452-682869\",\"1\"\n";
        for (text, format, want) in [
            (jamf, Format::FileVault, ["user0", "mac-000"]),
            (graph, Format::BitLocker, ["B4356CC9", "8269567c"]),
        ] {
            let (held, streamed) = both_ways(&empty_vault(), text, &format);
            for (bytes, _, errors) in [held.unwrap(), streamed.unwrap()] {
                assert!(errors.is_empty(), "{errors:?}");
                let file = [empty_vault(), bytes].concat();
                let read = Vault::replay(&crate::log::parse(&file).unwrap()).unwrap();
                let e = read.entries().values().next().unwrap();
                let v = e.current();
                let attrs = [&v.user, &v.key_id, &v.also_known_as, &v.device];
                for w in want {
                    assert!(
                        attrs
                            .iter()
                            .any(|a| a.as_deref().is_some_and(|a| a.contains(w))),
                        "{w} not in {attrs:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_vault_imported_into_twice_finds_the_second_import_unchanged() {
        // Red team (review-s14): only a vault the store drops after the
        // import is kept lean; any other keeps every version whole, so a
        // second import of the same rows into it changes nothing.
        let text = laps_csv(&[(1, 0, 1, false), (2, 3, 1, false)]);
        for streamed in [false, true] {
            let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
            let mut import = || {
                if streamed {
                    let bytes = Zeroizing::new(text.clone().into_bytes());
                    let mut p = plan(bytes, &Format::Laps, &Options::default()).unwrap();
                    let outcome = p.deposit(&mut vault, "t", 7, &mut Vec::new(), || {});
                    // A plan deposits once: a second call deposits nothing.
                    let again = p.deposit(&mut vault, "t", 7, &mut Vec::new(), || {});
                    assert_eq!(again.unwrap().0, Outcome::default());
                    outcome.unwrap().0
                } else {
                    let rows = read_str(&text, &Format::Laps).unwrap().0;
                    deposit(&mut vault, rows, "t", 7, || {}).1
                }
            };
            assert_eq!(import().added, 2);
            let second = import();
            assert_eq!((second.added, second.updated, second.unchanged), (0, 0, 2));
            let e = vault.entries().get("laps-PC1").unwrap();
            assert!(e.current().digest.is_some(), "streamed: {streamed}");
        }
    }

    #[test]
    fn a_label_pushed_earlier_in_its_round_is_refused_not_made_a_version() {
        // Two identities whose long names shorten to one label share a
        // round: prepared after the first was pushed (its part two or more
        // before), the second must be refused as when the round is
        // prepared whole, not become the first's next version.
        let text = laps_csv(&[(1, 0, 1, false)]);
        let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
        let before = vault.record_count();
        let rows = read_str(&text, &Format::Laps).unwrap().0;
        deposit(&mut vault, rows, "t", 7, || {});
        let sealer = write::Sealer::new(&vault, "t", 7).unwrap();
        let again = || {
            read_str(&laps_csv(&[(1, 4, 2, false)]), &Format::Laps)
                .unwrap()
                .0
        };
        let queued = |rows: Vec<Row>| {
            rows.into_iter()
                .map(|row| write::Queued {
                    row,
                    held_before: false,
                    followed: false,
                })
                .collect()
        };
        let mut outcome = Outcome::default();
        let p = sealer.prepare(&vault, queued(again()), before, &mut outcome, &|| {});
        assert_eq!((p.rows.len(), p.errors.len()), (0, 1));
        assert!(
            p.errors[0].to_string().contains("same label"),
            "{}",
            p.errors[0]
        );
        // From a round that began after it, the same row is a new version.
        let round_start = vault.record_count();
        let p = sealer.prepare(&vault, queued(again()), round_start, &mut outcome, &|| {});
        assert_eq!((p.rows.len(), p.errors.len()), (1, 0));
    }

    #[test]
    fn an_import_table_keeps_no_names_but_its_records_do() {
        // Names are shown and searched, not indexed: the table an import
        // reads again only to write the index need not hold them.
        let base = empty_vault();
        let mut vault = Vault::replay(&crate::log::parse(&base).unwrap()).unwrap();
        vault.keep(crate::vault::entries::Keep::APPENDING);
        let mut p = plan(
            Zeroizing::new(TWO_MACS.as_bytes().to_vec()),
            &Format::FileVault,
            &Options::default(),
        )
        .unwrap();
        let mut appended = Vec::new();
        p.deposit(&mut vault, "t", 7, &mut appended, || {}).unwrap();
        let held = vault.entries().get("filevault-C02A").unwrap();
        assert_eq!(held.current().also_known_as, None);
        assert_eq!(held.current().device.as_deref(), Some("C02A"));
        let file = [base, appended].concat();
        let read = Vault::replay(&crate::log::parse(&file).unwrap()).unwrap();
        let e = read.entries().get("filevault-C02A").unwrap();
        assert_eq!(e.current().also_known_as.as_deref(), Some("mac-a"));
        // What the table held is what the index needs: the same index.
        let index = |v: &Vault| {
            let mut out = Vec::new();
            crate::fs::scope::write_index(v, &mut out).unwrap();
            out
        };
        assert_eq!(index(&vault), index(&read));
    }

    #[test]
    fn an_import_keeps_a_digest_only_while_a_later_row_may_repeat_it() {
        // PC1's second row repeats its first password: unchanged, found
        // through the first version's digest, which the table must keep.
        let text = laps_csv(&[
            (1, 0, 1, false),
            (1, 4, 3, false),
            (1, 0, 2, false),
            (2, 3, 1, false),
        ]);
        for streamed in [false, true] {
            let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
            vault.keep(crate::vault::entries::Keep::APPENDING);
            let outcome = if streamed {
                let mut p = plan(
                    Zeroizing::new(text.clone().into_bytes()),
                    &Format::Laps,
                    &Options::default(),
                )
                .unwrap();
                p.deposit(&mut vault, "t", 7, &mut Vec::new(), || {})
                    .unwrap()
                    .0
            } else {
                let rows = read_str(&text, &Format::Laps).unwrap().0;
                deposit(&mut vault, rows, "t", 7, || {}).1
            };
            assert_eq!(
                (outcome.added, outcome.updated, outcome.unchanged),
                (2, 1, 1)
            );
            let digests = |label: &str| -> Vec<bool> {
                let e = vault.entries().get(label).unwrap();
                e.versions.iter().map(|v| v.digest.is_some()).collect()
            };
            // PC1 by time: password 0 (kept: PC1 has later rows), 0 again
            // (unchanged), then 4 (the last: not kept); PC2 has one row.
            assert_eq!(digests("laps-PC1"), [true, false], "streamed: {streamed}");
            assert_eq!(digests("laps-PC2"), [false], "streamed: {streamed}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// For small random LAPS exports — repeats, history, missing and
        /// equal times, placeholders, weak passwords — onto an empty vault
        /// and again onto the result, the streamed import appends the same
        /// records in the same order, with the same outcome and refusals,
        /// as the one that held every row.
        #[test]
        fn streamed_import_matches_the_held_one(
            first in proptest::collection::vec((0u8..5, 0u8..5, 0u8..4, proptest::bool::weighted(0.2)), 0..14),
            second in proptest::collection::vec((0u8..5, 0u8..5, 0u8..4, proptest::bool::weighted(0.2)), 0..14),
        ) {
            let base = empty_vault();
            let (old, new) = both_ways(&base, &laps_csv(&first), &Format::Laps);
            match (old, new) {
                (Ok(old), Ok(new)) => {
                    same_records(&base, &old, &new);
                    let base = [&base[..], &old.0].concat();
                    let (old, new) = both_ways(&base, &laps_csv(&second), &Format::Laps);
                    match (old, new) {
                        (Ok(old), Ok(new)) => same_records(&base, &old, &new),
                        (old, new) => prop_assert_eq!(old.err(), new.err()),
                    }
                }
                (old, new) => prop_assert_eq!(old.err(), new.err()),
            }
        }
    }

    /// Bytes anyone holding the other end can change, as a source.
    #[derive(Clone)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>, u64);

    impl std::io::Read for Shared {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let bytes = self.0.borrow();
            let start = (self.1 as usize).min(bytes.len());
            let n = buf.len().min(bytes.len() - start);
            buf[..n].copy_from_slice(&bytes[start..start + n]);
            self.1 += n as u64;
            Ok(n)
        }
    }

    impl std::io::Seek for Shared {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.1 = match pos {
                std::io::SeekFrom::Start(p) => p,
                std::io::SeekFrom::End(d) => (self.0.borrow().len() as i64 + d) as u64,
                std::io::SeekFrom::Current(d) => (self.1 as i64 + d) as u64,
            };
            Ok(self.1)
        }
    }

    const TWO_MACS: &str = "Serial Number,Computer Name,Recovery Key\nC02A,mac-a,ABCD-EFGH-IJKL-MNOP-QRST-UVWX\nC02B,mac-b,BCDE-FGHI-JKLM-NOPQ-RSTU-VWXY\n";

    #[test]
    fn a_file_changed_between_the_passes_is_refused_and_nothing_kept() {
        let bytes = std::rc::Rc::new(std::cell::RefCell::new(TWO_MACS.as_bytes().to_vec()));
        let source = Shared(bytes.clone(), 0);
        let mut p = plan_from(Box::new(source), &Format::FileVault, &Options::default()).unwrap();
        assert_eq!(p.len(), 2);
        // The two serials swap places: each offset now holds another Mac.
        let changed = TWO_MACS
            .replace("C02A", "C02Z")
            .replace("C02B", "C02A")
            .replace("C02Z", "C02B");
        *bytes.borrow_mut() = changed.into_bytes();
        let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
        let mut out = Vec::new();
        match p.deposit(&mut vault, "t", 7, &mut out, || {}) {
            Err(DepositError::Read(ImportError::Changed { line })) => assert_eq!(line, 2),
            Err(e) => panic!("{e:?}"),
            Ok(r) => panic!("deposited from a changed file: {:?}", r.0),
        }
        // Unchanged, the same plan would have deposited both.
        *bytes.borrow_mut() = TWO_MACS.as_bytes().to_vec();
        let mut p = plan_from(
            Box::new(Shared(bytes, 0)),
            &Format::FileVault,
            &Options::default(),
        )
        .unwrap();
        let (outcome, errors) = p.deposit(&mut vault, "t", 7, &mut out, || {}).unwrap();
        assert_eq!((outcome.added, errors.len()), (2, 0));
    }

    /// Plans `planned`, changes the file to `now` (same length), and
    /// deposits onto `vault`: what the deposit said.
    fn changed_under(
        vault: &mut Vault,
        planned: &str,
        now: &str,
        format: &Format,
    ) -> (Result<(Outcome, Vec<RowError>), DepositError>, Plan) {
        let bytes = std::rc::Rc::new(std::cell::RefCell::new(planned.as_bytes().to_vec()));
        let mut p = plan_from(
            Box::new(Shared(bytes.clone(), 0)),
            format,
            &Options::default(),
        )
        .unwrap();
        *bytes.borrow_mut() = now.as_bytes().to_vec();
        let mut out = Vec::new();
        (p.deposit(vault, "t", 7, &mut out, || {}), p)
    }

    const LAPS_HEADER: &str = "ComputerName,Password,PasswordUpdateTime,Source\n";

    #[test]
    fn versions_swapped_between_the_passes_are_refused_not_reordered() {
        // Red team: re-exported newest first while the import ran, the
        // old password became current.
        let older = "PC1,QCBNRvY1D61b4f7tQHjy,2026-11-20T09:14:02Z,Legacy\n";
        let newer = "PC1,Zq8#vLw2!mKe4$RtA9xQ,2026-11-22T09:14:02Z,Legacy\n";
        let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
        let (r, _) = changed_under(
            &mut vault,
            &format!("{LAPS_HEADER}{older}{newer}"),
            &format!("{LAPS_HEADER}{newer}{older}"),
            &Format::Laps,
        );
        assert!(
            matches!(r, Err(DepositError::Read(ImportError::Changed { line: 2 }))),
            "{r:?}"
        );
    }

    #[test]
    fn a_history_flag_flipped_between_the_passes_is_refused() {
        let a_hist = "PC1,QCBNRvY1D61b4f7tQHjy,2026-11-20T09:14:02Z,LegacyLapsHistory\n";
        let a_cur = "PC1,QCBNRvY1D61b4f7tQHjy,2026-11-20T09:14:02Z,Legacy           \n";
        let b_cur = "PC1,Zq8#vLw2!mKe4$RtA9xQ,2026-11-22T09:14:02Z,Legacy           \n";
        let b_hist = "PC1,Zq8#vLw2!mKe4$RtA9xQ,2026-11-22T09:14:02Z,LegacyLapsHistory\n";
        let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
        let (r, _) = changed_under(
            &mut vault,
            &format!("{LAPS_HEADER}{a_hist}{b_cur}"),
            &format!("{LAPS_HEADER}{a_cur}{b_hist}"),
            &Format::Laps,
        );
        assert!(
            matches!(r, Err(DepositError::Read(ImportError::Changed { .. }))),
            "{r:?}"
        );
    }

    #[test]
    fn pass_two_reads_no_more_than_a_record_budget_of_a_changed_file() {
        let big = format!(
            "Serial Number,Computer Name,Recovery Key\n\"{}\",mac-a,ABCD-EFGH-IJKL-MNOP-QRST-UVWX\n",
            "x".repeat(3 << 20)
        );
        let mut vault = Vault::replay(&crate::log::parse(&empty_vault()).unwrap()).unwrap();
        let (r, p) = changed_under(&mut vault, TWO_MACS, &big, &Format::FileVault);
        assert!(
            matches!(r, Err(DepositError::Read(ImportError::Changed { .. }))),
            "{r:?}"
        );
        // Nothing past the planned text's length is read either.
        let held = p.again.record.as_byte_record().as_slice().len();
        assert!(
            held <= TWO_MACS.len(),
            "pass 2 held {held} bytes of a record"
        );
    }

    #[test]
    fn bytes_appended_after_the_scan_are_not_read() {
        let bytes = std::rc::Rc::new(std::cell::RefCell::new(TWO_MACS.as_bytes().to_vec()));
        let source = Shared(bytes.clone(), 0);
        let mut opened = open(Box::new(source), None).unwrap();
        bytes
            .borrow_mut()
            .extend_from_slice(b"C02C,mac-c,CDEF-GHIJ-KLMN-OPQR-STUV-WXYZ\n");
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut opened.text, &mut text).unwrap();
        assert_eq!(text, TWO_MACS.as_bytes());
    }

    #[test]
    fn a_row_past_the_record_budget_refuses_the_file_at_its_line() {
        let mut text = TWO_MACS.to_owned();
        text.push_str("C02C,\"");
        text.push_str(&"x".repeat(source::MAX_RECORD as usize + 100_000));
        text.push_str("\",CDEF-GHIJ-KLMN-OPQR-STUV-WXYZ\n");
        let e = plan(
            Zeroizing::new(text.into_bytes()),
            &Format::FileVault,
            &Options::default(),
        )
        .err()
        .unwrap();
        assert_eq!(
            e,
            ImportError::RowTooLong {
                line: 4,
                max_mib: 1
            }
        );
        assert!(
            e.to_string()
                .contains("line 4: a row (or a run of blank lines before it) longer than 1 MiB"),
            "{e}"
        );
    }

    #[test]
    fn more_rows_than_the_budget_refuse_the_file() {
        let source = || Box::new(std::io::Cursor::new(TWO_MACS.as_bytes().to_vec()));
        let e = plan_at_most(source(), &Format::FileVault, &Options::default(), 1)
            .err()
            .unwrap();
        assert_eq!(e, ImportError::TooManyRows { max: 1 });
        assert!(e.to_string().contains("split the file"), "{e}");
        assert_eq!(
            plan_at_most(source(), &Format::FileVault, &Options::default(), 2)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_large_file_in_another_encoding_is_refused_with_what_to_do() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.resize(source::MAX_HELD as usize + 2, b'a');
        let e = plan(
            Zeroizing::new(bytes),
            &Format::FileVault,
            &Options::default(),
        )
        .err()
        .unwrap();
        assert_eq!(e, ImportError::TooLargeToDecode { max_mib: 64 });
        assert!(e.to_string().contains("save it as CSV UTF-8"), "{e}");
    }

    #[test]
    fn headers_are_matched_loosely() {
        let text = "\u{feff}Serial Number,Computer Name,Personal Recovery Key\nC02X,mac-1,ABCD-EFGH-IJKL-MNOP-QRST-UVWX\n";
        let (rows, errors) = read_str(text, &Format::FileVault).unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows[0].label, "filevault-C02X");
        assert_eq!(rows[0].device.as_deref(), Some("C02X"));
        assert_eq!(rows[0].also_known_as.as_deref(), Some("mac-1"));
        assert_eq!(rows[0].user, None);
        // Found by its serial, the computer name is kept for search; a name
        // equal to the serial, or one breaking the text rules, is not.
        let text = "Serial Number,Computer Name,User,Personal Recovery Key\nC02Y,C02Y,a\u{202e}b,ABCD-EFGH-IJKL-MNOP-QRST-UVWX\n";
        let (rows, _) = read_str(text, &Format::FileVault).unwrap();
        assert_eq!(
            (rows[0].also_known_as.as_deref(), rows[0].user.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn missing_columns_name_the_accepted_headers() {
        let err = read_str("Device,Key ID\nPC1,1A2B3C4D\n", &Format::BitLocker)
            .err()
            .unwrap();
        assert!(err.to_string().contains("no recovery key column"), "{err}");
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let text = "ComputerName,Account,Password\nPC1,Administrator,pw-1\n,Administrator,pw-2\nPC3,Administrator,\nPC1,Administrator,pw-4\n";
        let (rows, errors) = read_str(text, &Format::Laps).unwrap();
        assert_eq!(rows.len(), 1);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(errors[2].to_string().contains("first on line 2"));
        assert!(!errors.iter().any(|e| e.to_string().contains("pw-")));
    }

    /// The csv crate's trim (gone: it copied every row) trimmed Unicode
    /// white space: a row of no-break spaces is still a blank row, and a
    /// header is shown trimmed. (Red-team finding of 26fb135.)
    #[test]
    fn rows_of_unicode_blanks_are_separator_rows() {
        let text =
            "ComputerName\u{a0},Password\u{3000}\nPC1,Xk9#mQ2!vL8@pR4z\n\u{a0},\u{3000}\u{85}\n";
        let parsed = read(text.as_bytes(), &Format::Laps, &Options::default()).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let headers: Vec<&str> = parsed.mapping.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(headers, ["Password", "ComputerName"]);
        let plan = plan(
            Zeroizing::new(text.as_bytes().to_vec()),
            &Format::Laps,
            &Options::default(),
        )
        .unwrap();
        assert_eq!((plan.len(), plan.errors.len()), (1, 0));
    }

    #[test]
    fn crlf_lines_are_physical_and_separator_rows_ignored() {
        let text = "ComputerName,Note,Password\r\nPC1,\"multi\r\nline\",a\r\nPC2,,b\r\n,,\r\nPC1,,c\r\n,,\r\n";
        let (rows, errors) = read_str(text, &Format::Laps).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(
            errors,
            [RowError {
                line: 6,
                problem: RowProblem::Repeat {
                    label: "laps-PC1".into(),
                    first: 2
                }
            }]
        );
    }

    #[test]
    fn placeholders_are_refused_by_name() {
        let text = "ComputerName,Password,DecryptionStatus\nA,System.Security.SecureString,\nB,n/a,\nC,None found,\nD,,\nE,secret-1,Unauthorized\nF,secret-2,NotApplicable\n";
        let (rows, errors) = read_str(text, &Format::Laps).unwrap();
        assert_eq!(rows.len(), 1);
        let problems: Vec<RowProblem> = errors.into_iter().map(|e| e.problem).collect();
        assert_eq!(
            problems,
            [
                RowProblem::SecureString,
                RowProblem::Placeholder("N/A"),
                RowProblem::Placeholder("None found"),
                RowProblem::Empty,
                RowProblem::NotDecrypted("Unauthorized".into()),
            ]
        );
        let all = "ComputerName,Password\nA,System.Security.SecureString\nB,System.Security.SecureString\n";
        let e = read_str(all, &Format::Laps).err().unwrap();
        assert!(matches!(e, ImportError::NoSecrets { rows: 2, .. }), "{e}");
        assert!(e.to_string().contains("without -AsPlainText"), "{e}");
    }

    #[test]
    fn versions_follow_time_and_history_is_never_current() {
        let text = "Serial Number,Recovery Key,Created\nC1,AAAA-AAAA-AAAA-AAAA-AAAA-AAAA,2026-11-20 10:00:00\nC1,BBBB-BBBB-BBBB-BBBB-BBBB-BBBB,2025-01-02 10:00:00\n";
        let (rows, errors) = read_str(text, &Format::FileVault).unwrap();
        assert!(errors.is_empty());
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 2]);
        let laps = "ComputerName,Password,PasswordUpdateTime,Source\nPC,new-pw,11/20/2026 9:14:02 AM,EncryptedPassword\nPC,old-pw,11/2/2026 9:14:02 PM,EncryptedPasswordHistory\nPC,older,10/2/2026 9:14:02 PM,EncryptedPasswordHistory\nQ,q-old,10/2/2026 9:14:02 PM,EncryptedPasswordHistory\n";
        let (rows, errors) = read_str(laps, &Format::Laps).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4, 3, 2]);
        assert_eq!(errors[0].problem, RowProblem::HistoryOnly);
    }

    #[test]
    fn times_are_read_in_the_usual_forms() {
        let iso = time_key("2026-11-20T09:14:02Z").unwrap();
        assert_eq!(time_key("2026-11-20 09:14:02"), Some(iso));
        assert_eq!(time_key("11/20/2026 9:14:02 AM"), Some(iso));
        assert_eq!(time_key("20.11.2026 09:14:02"), Some(iso));
        assert!(time_key("11/20/2026 9:14:02 PM").unwrap() > iso);
        assert!(time_key("12/20/2025 11:00:00 PM").unwrap() < iso);
        assert_eq!(time_key("never"), None);
        assert_eq!(time_key(""), None);
    }

    #[test]
    fn long_names_fit_and_stay_distinct() {
        let a = "x".repeat(200);
        let b = format!("{}y", "x".repeat(199));
        let (fa, fb) = (fit(&a, 128), fit(&b, 128));
        assert!(fa.len() <= 128 && fb.len() <= 128);
        assert_ne!(fa, fb);
        assert_eq!(fit("short", 128), "short");
        let wide = "\u{e9}".repeat(100);
        assert!(fit(&wide, 128).len() <= 128);
    }

    proptest! {
        #[test]
        fn arbitrary_csv_never_panics(s in "\\PC{0,300}") {
            for f in [Format::FileVault, Format::BitLocker, Format::Laps] {
                let _ = read_str(&s, &f);
                let _ = read_str(&format!("serial,key\n{s}"), &f);
            }
        }

        /// Whatever the text — quotes across lines, lone CRs, blank and
        /// separator-only rows — a row read again by where it starts is
        /// the row first read: the streamed import writes what the held
        /// one did.
        #[test]
        fn arbitrary_csv_is_read_again_as_it_was(s in "[A-Za-z0-9 ,;\"\r\n-]{0,200}", sep in 0..2usize) {
            let header = ["Serial Number,Recovery Key,Time\n", "Serial Number;Recovery Key;Time\r\n"][sep];
            let key = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX";
            let text = format!("{header}C1,{key},2026-01-01\n{s}\nC2,{key},\r\n\"C3\r\n\",{key}\n{s}");
            let base = empty_vault();
            match both_ways(&base, &text, &Format::FileVault) {
                (Ok(old), Ok(new)) => same_records(&base, &old, &new),
                (old, new) => prop_assert_eq!(old.err(), new.err()),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read(&b, &Format::Laps, &Options::default());
        }
    }
}
