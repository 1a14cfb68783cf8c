//! Which entries an operation is about: named labels, a device, a
//! BitLocker key ID, or all — and the match rules every lookup uses
//! (docs/FORMAT.md §12).

use super::unsealed::{EntryDamaged, Revealed, Unsealed};
use super::Vault;

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

/// A BitLocker key ID as a person gives it, reduced to what the vault
/// keeps: the first 8 hex digits of the key's GUID, upper case
/// (docs/FORMAT.md §12, key-ID match rule).
///
/// Accepted, any case, white space around trimmed, with or without one
/// pair of braces: the 8 hex digits the recovery screen shows
/// (`1a2b3c4d`), or the whole GUID in its 8-4-4-4-12 form
/// (`{1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D}`), which matches on its first
/// 8 digits. Anything else is refused, so a lookup that cannot be a key ID
/// fails before any share is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIdQuery(String);

/// Why a key-ID lookup was refused. The message never repeats what was
/// given: a recovery password pasted by mistake must not reach a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a BitLocker key ID: give the 8 hexadecimal digits shown on the recovery screen \
     (1A2B3C4D) or the whole key ID (1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D), braces optional"
)]
pub struct KeyIdQueryError;

impl KeyIdQuery {
    /// Lengths of the groups of a GUID written 8-4-4-4-12.
    const GUID_GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

    /// Parses a key ID as given by a person (see the type's rule).
    pub fn parse(text: &str) -> Result<Self, KeyIdQueryError> {
        let text = text.trim();
        let inner = match (text.strip_prefix('{'), text.ends_with('}')) {
            (Some(rest), true) => &rest[..rest.len() - 1],
            (None, false) => text,
            _ => return Err(KeyIdQueryError),
        };
        let groups: Vec<&str> = inner.split('-').collect();
        let shape_ok = match groups.len() {
            1 => groups[0].len() == 8,
            5 => groups
                .iter()
                .zip(Self::GUID_GROUPS)
                .all(|(g, len)| g.len() == len),
            _ => false,
        };
        if !shape_ok
            || !groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(KeyIdQueryError);
        }
        Ok(Self(groups[0].to_ascii_uppercase()))
    }

    /// The 8 upper-case hex digits a stored key-id attribute is compared with.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when a stored key-id attribute is this key ID (ignoring ASCII
    /// case and surrounding white space, as the device rule does).
    pub fn matches(&self, stored: &str) -> bool {
        stored.trim().eq_ignore_ascii_case(&self.0)
    }
}

impl std::fmt::Display for KeyIdQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lookup by a public attribute: what `--device` and `--key-id` ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Entries whose current version names this device.
    Device(String),
    /// Entries whose current version carries this BitLocker key ID.
    KeyId(KeyIdQuery),
}

impl Lookup {
    /// True when `entry` is one this lookup finds: its current version
    /// names the device (device-match rule) or carries the key ID.
    pub fn finds(&self, entry: super::EntryRef<'_>) -> bool {
        match self {
            Lookup::Device(device) => entry
                .current_device()
                .is_some_and(|d| device_matches(d, device)),
            Lookup::KeyId(id) => entry.current_key_id().is_some_and(|s| id.matches(s)),
        }
    }
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Device(device) => write!(f, "device '{device}'"),
            Lookup::KeyId(id) => write!(f, "key ID {id}"),
        }
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
    /// No entry (of those named, if any) is found by the lookup.
    #[error("no entry for {lookup} in vault '{vault}'")]
    NoMatch {
        /// The lookup.
        lookup: Lookup,
        /// The vault's name.
        vault: String,
    },
    /// The lookup finds several entries and none was named: which one is
    /// meant is for the person to say (or to ask for all deliberately).
    #[error("{lookup} matches {} entries: {}", labels.len(), labels.join(", "))]
    SeveralMatches {
        /// The lookup.
        lookup: Lookup,
        /// The entries it finds, by label.
        labels: Vec<String>,
    },
}

/// What to do when a lookup finds several entries and none was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Several {
    /// Refuse with [`SelectError::SeveralMatches`]: one key is revealed
    /// (and exposed) at a time unless asked otherwise.
    Refuse,
    /// Take them all (`--all-matches`).
    All,
}

impl Vault {
    /// The labels an unseal is about: those named (each must exist, each
    /// once), or every entry; with a lookup, only the entries it finds.
    ///
    /// A lookup that finds several entries when none was named is refused
    /// with [`SelectError::SeveralMatches`] unless `several` is
    /// [`Several::All`]; with named entries it only narrows them.
    pub fn select(
        &self,
        named: &[String],
        lookup: Option<&Lookup>,
        several: Several,
    ) -> Result<Vec<String>, SelectError> {
        let mut labels = if named.is_empty() {
            if self.entries.is_empty() && lookup.is_none() {
                return Err(SelectError::Empty);
            }
            // Only the labels a lookup finds are copied: a lookup in a
            // fleet vault is one pass over its entries, no allocation each
            // (a recovery session answers thousands of them).
            self.entries
                .refs()
                .filter(|e| lookup.is_none_or(|l| l.finds(*e)))
                .map(|e| e.label().to_owned())
                .collect()
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
        if let Some(lookup) = lookup {
            labels.retain(|l| self.entries.entry(l).is_some_and(|e| lookup.finds(e)));
            if labels.is_empty() {
                return Err(SelectError::NoMatch {
                    lookup: lookup.clone(),
                    vault: self.name().to_owned(),
                });
            }
            if labels.len() > 1 && named.is_empty() && several == Several::Refuse {
                return Err(SelectError::SeveralMatches {
                    lookup: lookup.clone(),
                    labels,
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
                match self.open_version(vault, &entry, v) {
                    Ok(r) => revealed.push(r),
                    Err(e) => damaged.push(e),
                }
            }
        }
        (revealed, damaged)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::entry::{EntryKind, EntrySecret};
    use crate::vault::{create, Created, DepositMeta};

    const KEY_A: &str = "123453-654467-111111-000000-720885-055000-222222-333333";
    const KEY_B: &str = "123453-654467-111111-000000-720885-055000-222222-444444";

    #[test]
    fn key_id_lookups_take_the_recovery_screen_prefix_or_the_whole_guid() {
        for given in [
            "1a2b3c4d",
            "1A2B3C4D",
            " {1a2b3c4d} ",
            "1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D",
            "{1a2b3c4d-0e1f-2a3b-4c5d-6e7f8a9b0c1d}",
        ] {
            assert_eq!(
                KeyIdQuery::parse(given).map(|q| q.as_str().to_owned()),
                Ok("1A2B3C4D".to_owned()),
                "{given}"
            );
        }
    }

    #[test]
    fn implausible_key_ids_are_refused_without_echoing_them() {
        for given in [
            "",
            "1A2B3C4",
            "1A2B3C4DE",
            "1A2B3C4G",
            "{1A2B3C4D",
            "1A2B3C4D}",
            "{}",
            "1A2B3C4D-0E1F",
            "1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1",
            "1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1DX",
            "1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1G",
            "1A2B-3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D",
            KEY_A,
            "PC-7",
        ] {
            assert_eq!(KeyIdQuery::parse(given), Err(KeyIdQueryError), "{given:?}");
        }
        assert!(!KeyIdQueryError.to_string().contains("123453"));
    }

    /// A vault with two BitLocker keys of PC-7 and a password of PC-8.
    pub(crate) fn vault() -> Vault {
        let Created { mut bytes, .. } =
            create(&crate::vault::tests::spec(2, &["a", "b"]), &[None, None]).unwrap();
        let deposits: [(&str, EntryKind, &str, &str, Option<&str>); 3] = [
            (
                "bl-a",
                EntryKind::RecoveryKey,
                KEY_A,
                "PC-7",
                Some("1a2b3c4d"),
            ),
            (
                "bl-b",
                EntryKind::RecoveryKey,
                KEY_B,
                "pc-7",
                Some("99AA88BB"),
            ),
            ("pw", EntryKind::Password, "s3cret", "PC-8", None),
        ];
        for (label, kind, secret, device, key_id) in deposits {
            let vault = load(&bytes);
            let meta = DepositMeta {
                actor: "x".into(),
                time: 5,
                device: Some(device.into()),
                key_id: key_id.map(str::to_owned),
                ..DepositMeta::default()
            };
            let secret = EntrySecret {
                username: Zeroizing::new(String::new()),
                secret: Zeroizing::new(secret.as_bytes().to_vec()),
            };
            let record = vault.deposit(label, kind, &secret, &meta).unwrap();
            bytes.extend_from_slice(
                &crate::log::encode_frame(vault.head(), record.kind(), &record.encode_body()).0,
            );
        }
        load(&bytes)
    }

    fn load(bytes: &[u8]) -> Vault {
        Vault::replay(&crate::log::parse(bytes).unwrap()).unwrap()
    }

    fn key_id(text: &str) -> Lookup {
        Lookup::KeyId(KeyIdQuery::parse(text).unwrap())
    }

    #[test]
    fn select_by_key_id_finds_exactly_that_key() {
        let v = vault();
        for given in ["1a2b3c4d", "{1A2B3C4D-0000-1111-2222-333344445555}"] {
            let got = v.select(&[], Some(&key_id(given)), Several::Refuse);
            assert_eq!(got, Ok(vec!["bl-a".to_owned()]), "{given}");
        }
        assert_eq!(
            v.select(&[], Some(&key_id("0badf00d")), Several::Refuse),
            Err(SelectError::NoMatch {
                lookup: key_id("0BADF00D"),
                vault: "Test vault".into()
            })
        );
        assert_eq!(
            SelectError::NoMatch {
                lookup: key_id("0badf00d"),
                vault: "V".into()
            }
            .to_string(),
            "no entry for key ID 0BADF00D in vault 'V'"
        );
    }

    #[test]
    fn a_lookup_that_finds_several_entries_needs_a_choice() {
        let v = vault();
        let device = Lookup::Device("PC-7".into());
        let both = vec!["bl-a".to_owned(), "bl-b".to_owned()];
        assert_eq!(
            v.select(&[], Some(&device), Several::Refuse),
            Err(SelectError::SeveralMatches {
                lookup: device.clone(),
                labels: both.clone()
            })
        );
        assert_eq!(v.select(&[], Some(&device), Several::All), Ok(both));
        // Naming an entry keeps its meaning: the device only narrows it.
        let named = ["bl-b".to_owned()];
        assert_eq!(
            v.select(&named, Some(&device), Several::Refuse),
            Ok(named.to_vec())
        );
        assert!(matches!(
            v.select(&["pw".to_owned()], Some(&device), Several::Refuse),
            Err(SelectError::NoMatch { .. })
        ));
        // One match needs no choice.
        let one = Lookup::Device(" pc-8 ".into());
        assert_eq!(
            v.select(&[], Some(&one), Several::Refuse),
            Ok(vec!["pw".to_owned()])
        );
    }

    #[test]
    fn search_covers_label_device_and_key_id_only() {
        let v = vault();
        let found = |text: &str| -> Vec<&str> {
            v.entries()
                .refs()
                .filter(|e| e.matches_search(text))
                .map(|e| e.label())
                .collect()
        };
        assert_eq!(found("2b3c"), ["bl-a"]);
        assert_eq!(found("{1A2B3C4D-0000-1111-2222-333344445555}"), ["bl-a"]);
        assert_eq!(found("pc-"), ["bl-a", "bl-b", "pw"]);
        assert_eq!(found("PW"), ["pw"]);
        assert!(found("s3cret").is_empty(), "secrets are not searched");
    }
}
