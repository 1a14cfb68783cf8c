//! Which entries an operation is about: named labels, a device, or all —
//! and the device-match rule every lookup uses (docs/FORMAT.md §12).

use super::unsealed::{EntryDamaged, Revealed, Unsealed};
use super::{Entry, Vault};

/// The device-match rule: a device identifier given by a person matches a
/// stored one when both are equal after trimming, ignoring ASCII case.
pub fn device_matches(stored: &str, asked: &str) -> bool {
    stored.trim().eq_ignore_ascii_case(asked.trim())
}

/// A device identifier as lookups compare it (trimmed, ASCII lower case):
/// what the index hashes.
pub fn device_lookup_form(device: &str) -> String {
    device.trim().to_ascii_lowercase()
}

impl Entry {
    /// True when the entry's current version names `device`.
    pub fn is_for_device(&self, device: &str) -> bool {
        self.current()
            .device
            .as_deref()
            .is_some_and(|d| device_matches(d, device))
    }

    /// True when `text` occurs in the label or the current device
    /// identifier, ignoring case.
    pub fn matches_search(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.label.to_lowercase().contains(&text)
            || self
                .current()
                .device
                .as_deref()
                .is_some_and(|d| d.to_lowercase().contains(&text))
    }
}

/// Why no entry was selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// All entries were asked for, and there are none.
    #[error("the vault holds no entries yet: nothing to unseal")]
    Empty,
    /// A named label does not exist.
    #[error("no entry '{label}' in vault '{vault}'")]
    NoEntry {
        /// The label asked for.
        label: String,
        /// The vault's name.
        vault: String,
    },
    /// No entry (of those named, if any) is for the device.
    #[error("no entry for device '{device}' in vault '{vault}'")]
    NoDeviceEntry {
        /// The device asked for.
        device: String,
        /// The vault's name.
        vault: String,
    },
}

impl Vault {
    /// The labels an unseal is about: those named (each must exist, each
    /// once), or every entry; with a device, only the entries whose
    /// current version names it.
    pub fn select(
        &self,
        named: &[String],
        device: Option<&str>,
    ) -> Result<Vec<String>, SelectError> {
        let mut labels = if named.is_empty() {
            if self.entries.is_empty() && device.is_none() {
                return Err(SelectError::Empty);
            }
            self.entries.keys().cloned().collect()
        } else {
            let mut labels = Vec::with_capacity(named.len());
            for label in named {
                if !self.entries.contains_key(label) {
                    return Err(SelectError::NoEntry {
                        label: label.clone(),
                        vault: self.name().to_owned(),
                    });
                }
                if !labels.contains(label) {
                    labels.push(label.clone());
                }
            }
            labels
        };
        if let Some(device) = device {
            labels.retain(|l| self.entries[l].is_for_device(device));
            if labels.is_empty() {
                return Err(SelectError::NoDeviceEntry {
                    device: device.to_owned(),
                    vault: self.name().to_owned(),
                });
            }
        }
        Ok(labels)
    }
}

impl Unsealed {
    /// Decrypts the current version (or, with `history`, every version)
    /// of each label. A version that does not decrypt is returned beside
    /// the others, which are still revealed.
    pub fn reveal_all(
        &self,
        vault: &Vault,
        labels: &[String],
        history: bool,
    ) -> (Vec<Revealed>, Vec<EntryDamaged>) {
        let mut revealed = Vec::new();
        let mut damaged = Vec::new();
        for entry in labels.iter().filter_map(|l| vault.entries.get(l)) {
            let versions = if history {
                &entry.versions[..]
            } else {
                std::slice::from_ref(entry.current())
            };
            for v in versions {
                match self.open_version(vault, entry, v) {
                    Ok(r) => revealed.push(r),
                    Err(e) => damaged.push(e),
                }
            }
        }
        (revealed, damaged)
    }
}
