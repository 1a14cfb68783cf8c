//! Recovery sessions (docs/FORMAT.md §13): one quorum, then many reveals,
//! one lookup at a time, each recorded before its secret is shown. What a
//! lookup may be, what it finds, and the reasons a session's unseal
//! records carry live here, so that every front end (the terminal, a
//! help-desk tool driving stdin, a browser page) follows the same rules.

use super::select::{KeyIdQuery, KeyIdQueryError, Lookup, SelectError, Several};
use super::{EntryId, EntryRef, Vault};

/// The longest lookup read: a label or device identifier is at most 128
/// bytes (FORMAT.md §4).
pub const MAX_LOOKUP: usize = 128;

/// A lookup during a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// A BitLocker key ID: the 8 hex digits of the recovery screen or the
    /// whole GUID.
    KeyId(KeyIdQuery),
    /// An entry label, or else a device identifier (a FileVault serial, a
    /// computer name), matched by the device rule.
    Name(String),
}

/// Why a lookup was refused without searching. Messages never repeat
/// what was given: a recovery password pasted by mistake must not reach a
/// log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// Nothing but white space.
    #[error("an empty lookup: give a key ID, a serial number, a device name or a label")]
    Empty,
    /// Longer than [`MAX_LOOKUP`].
    #[error("too long for a key ID, serial number, device name or label (at most 128 bytes)")]
    TooLong,
    /// Control, bidirectional or invisible characters.
    #[error("holds characters no identifier has (control, invisible or reordering ones)")]
    NotText,
    /// Shaped like a key ID (braces, or 8-4-4-4-12) but not one.
    #[error(transparent)]
    KeyId(#[from] KeyIdQueryError),
    /// Eight groups of six digits: a BitLocker recovery password, which is
    /// the secret, not a way to find one.
    #[error("this looks like a recovery password (eight groups of six digits), not a key ID: give the key ID shown above it on the recovery screen")]
    LooksLikeARecoveryPassword,
}

impl SessionLookup {
    /// Reads a lookup as a person or a help-desk tool gives it.
    pub fn parse(text: &str) -> Result<Self, LookupError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LookupError::Empty);
        }
        if text.len() > MAX_LOOKUP {
            return Err(LookupError::TooLong);
        }
        if crate::text_rules::input_problem(text, MAX_LOOKUP, false).is_some() {
            return Err(LookupError::NotText);
        }
        if looks_like_recovery_password(text) {
            return Err(LookupError::LooksLikeARecoveryPassword);
        }
        if let Ok(id) = KeyIdQuery::parse(text) {
            return Ok(Self::KeyId(id));
        }
        // Meant as a key ID, but not one: refused rather than searched as
        // a name.
        let lengths: Vec<usize> = text
            .trim_matches(['{', '}'])
            .split('-')
            .map(str::len)
            .collect();
        if text.starts_with('{') || lengths == [8, 4, 4, 4, 12] {
            return Err(LookupError::KeyId(KeyIdQueryError));
        }
        Ok(Self::Name(text.to_owned()))
    }
}

impl std::fmt::Display for SessionLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyId(id) => write!(f, "key ID {id}"),
            Self::Name(name) => write!(f, "'{name}'"),
        }
    }
}

fn looks_like_recovery_password(text: &str) -> bool {
    let groups: Vec<&str> = text.split(['-', ' ']).filter(|g| !g.is_empty()).collect();
    groups.len() == 8
        && groups
            .iter()
            .all(|g| g.len() == 6 && g.bytes().all(|b| b.is_ascii_digit()))
}

impl Vault {
    /// The entry a session lookup finds: a key ID by the key-ID rule; a
    /// name as a label when one is exactly that, else as a device. Several
    /// matches are refused ([`SelectError::SeveralMatches`]): one secret is
    /// shown at a time.
    pub fn session_select(&self, lookup: &SessionLookup) -> Result<String, SelectError> {
        let labels = match lookup {
            SessionLookup::KeyId(id) => {
                self.select(&[], Some(&Lookup::KeyId(id.clone())), Several::Refuse)?
            }
            SessionLookup::Name(name) if self.entries().contains_key(name) => {
                vec![name.clone()]
            }
            SessionLookup::Name(name) => {
                self.select(&[], Some(&Lookup::Device(name.clone())), Several::Refuse)?
            }
        };
        Ok(labels
            .into_iter()
            .next()
            .expect("select names at least one"))
    }
}

/// What a session looks lookups up in: the entries by the lookup form of
/// their current device and by their current key ID, built once from the
/// vault's state (again whenever the session reads the vault again). A
/// lookup then costs a hash lookup, not a pass over a fleet's entries; the
/// candidates are checked by the same rules as [`Vault::session_select`],
/// which gives the same answers.
#[derive(Clone, Default)]
pub struct SessionIndex {
    /// The first entry (table id) of each distinct device form. Entries
    /// that share a form share its slot, chained through `next`: a slot
    /// each would make every insert probe past all the others (quadratic
    /// in entries with one device; red team finding 1).
    devices: hashbrown::HashTable<EntryId>,
    /// The first entry of each distinct key-ID form.
    key_ids: hashbrown::HashTable<EntryId>,
    /// By entry: the next entry with the same device form, and with the
    /// same key-ID form.
    next: Vec<[Option<EntryId>; 2]>,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for SessionIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIndex")
            .field("devices", &self.devices.len())
            .field("key_ids", &self.key_ids.len())
            .finish()
    }
}

/// Which of an entry's lookup texts: its current device, or key ID.
#[derive(Clone, Copy)]
enum Form {
    Device = 0,
    KeyId = 1,
}

impl SessionIndex {
    /// The index of `vault`'s entries.
    pub fn of(vault: &Vault) -> Self {
        let entries = vault.entries();
        // Sized up front: growing would rehash, reading every entry's
        // attributes again.
        let mut index = Self {
            devices: hashbrown::HashTable::with_capacity(entries.len()),
            key_ids: hashbrown::HashTable::with_capacity(entries.len() / 8),
            next: vec![[None; 2]; entries.len()],
            hasher: Default::default(),
        };
        for e in entries.refs() {
            for form in [Form::Device, Form::KeyId] {
                if let Some(text) = lookup_text(e, form) {
                    index.insert(vault, e.id(), form, text);
                }
            }
        }
        index
    }

    fn insert(&mut self, vault: &Vault, id: EntryId, form: Form, text: &str) {
        let entries = vault.entries();
        let hasher = &self.hasher;
        let table = match form {
            Form::Device => &mut self.devices,
            Form::KeyId => &mut self.key_ids,
        };
        let h = form_hash(hasher, text);
        match table.find_mut(h, |head| same_form(vault, *head, form, text)) {
            Some(head) => {
                self.next[id.index()][form as usize] = Some(*head);
                *head = id;
            }
            None => {
                table.insert_unique(h, id, |head| {
                    let text = entries.by_id(*head).and_then(|e| lookup_text(e, form));
                    form_hash(hasher, text.unwrap_or(""))
                });
            }
        }
    }

    /// [`Vault::session_select`] through the index: the entry `lookup`
    /// finds in `vault` (the vault this index was made of).
    pub fn select(&self, vault: &Vault, lookup: &SessionLookup) -> Result<String, SelectError> {
        let (table, form, asked) = match lookup {
            SessionLookup::Name(name) if vault.entries().contains_key(name) => {
                return Ok(name.clone())
            }
            SessionLookup::Name(name) => {
                (&self.devices, Form::Device, Lookup::Device(name.clone()))
            }
            SessionLookup::KeyId(id) => (&self.key_ids, Form::KeyId, Lookup::KeyId(id.clone())),
        };
        let text = match &asked {
            Lookup::Device(name) => name.as_str(),
            Lookup::KeyId(id) => id.as_str(),
        };
        let h = form_hash(&self.hasher, text);
        let mut at = table
            .find(h, |head| same_form(vault, *head, form, text))
            .copied();
        // The same rules decide: the index only narrows where to look.
        let mut labels = Vec::new();
        while let Some(id) = at {
            if let Some(e) = vault.entries().by_id(id).filter(|e| asked.finds(*e)) {
                labels.push(e.label().to_owned());
            }
            at = self.next.get(id.index()).and_then(|n| n[form as usize]);
        }
        labels.sort();
        labels.dedup();
        match labels.len() {
            0 => Err(SelectError::NoMatch {
                lookup: asked,
                vault: vault.name().to_owned(),
            }),
            1 => Ok(labels.remove(0)),
            _ => Err(SelectError::SeveralMatches {
                lookup: asked,
                labels,
            }),
        }
    }
}

/// True when entry `id`'s text of `form` is `text` as lookups compare
/// them (trimmed, ASCII case folded: the device-match and key-ID rules).
fn same_form(vault: &Vault, id: EntryId, form: Form, text: &str) -> bool {
    let stored = vault.entries().by_id(id).and_then(|e| lookup_text(e, form));
    stored.is_some_and(|s| super::select::device_matches(s, text))
}

/// The current device (or key ID) of an entry: what the index hashes.
fn lookup_text(e: EntryRef<'_>, form: Form) -> Option<&str> {
    match form {
        Form::Device => e.current_device(),
        Form::KeyId => e.current_key_id(),
    }
}

/// The hash of a device or key ID as lookups compare it (trimmed, ASCII
/// case folded), without making the folded copy.
fn form_hash(hasher: &std::collections::hash_map::RandomState, text: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = hasher.build_hasher();
    for b in text.trim().bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its time to live passed.
    Ttl,
    /// Nothing was asked for the idle time.
    Idle,
    /// The input ended (end of file, `q`).
    EndOfInput,
    /// Interrupted (Ctrl-C).
    Interrupted,
}

impl SessionEnd {
    /// As the end record says it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ttl => "time to live reached",
            Self::Idle => "idle",
            Self::EndOfInput => "end of input",
            Self::Interrupted => "interrupted",
        }
    }
}

/// A session's record, read back from an unseal record's reason
/// (FORMAT.md §13). Anything else is an ordinary unseal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionMark {
    /// The first record: its time to live in seconds.
    Start {
        /// The session id (8 upper-case hex digits).
        id: String,
        /// Its time to live, in seconds.
        ttl: u64,
    },
    /// The record of the session's `n`-th reveal.
    Reveal {
        /// The session id.
        id: String,
    },
    /// The last record: how many secrets it showed, and why it ended.
    End {
        /// The session id.
        id: String,
        /// Why it ended, as the record says it.
        why: String,
    },
}

impl SessionMark {
    /// Reads the reason of an unseal record; `None` for one that no
    /// session wrote.
    pub fn parse(reason: &str) -> Option<Self> {
        let rest = reason.strip_prefix("session ")?;
        let (id, rest) = rest.split_at_checked(8)?;
        if !id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        {
            return None;
        }
        let id = id.to_owned();
        if let Some(rest) = rest.strip_prefix(" start: ") {
            let limits = rest.rsplit_once(" (ttl ")?.1;
            let ttl = limits.split_once(" s, idle ")?.0.parse().ok()?;
            return Some(Self::Start { id, ttl });
        }
        if rest.starts_with(" reveal ") {
            return Some(Self::Reveal { id });
        }
        let why = rest.strip_prefix(" end: ")?.split_once(" reveals (")?.1;
        Some(Self::End {
            id,
            why: why.strip_suffix(')')?.to_owned(),
        })
    }
}

/// A recovery session as the vault's records tell it (`Vault::sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session id.
    pub id: String,
    /// When it started (Unix seconds), and its first record (1-based).
    pub started: u64,
    /// Its first record's number.
    pub record: usize,
    /// Its time to live, in seconds.
    pub ttl: u64,
    /// Secrets it showed (reveal records).
    pub reveals: u32,
    /// When and why it ended, from its end record; `None` while it is open
    /// — or when it was killed before it could write one.
    pub ended: Option<(u64, String)>,
}

impl SessionSummary {
    /// True when it has no end record and its time to live has passed by
    /// `now`: it was killed or interrupted (its reveals are recorded).
    pub fn interrupted(&self, now: u64) -> bool {
        self.ended.is_none() && now > self.started.saturating_add(self.ttl)
    }
}

/// The most sessions a vault's state remembers (the newest): a file of
/// many session records costs no more memory than this.
pub const SESSIONS_KEPT: usize = 16;

/// The reason of a session's first unseal record (no entries).
pub fn start_reason(session: &str, reason: &str, ttl_secs: u64, idle_secs: u64) -> String {
    format!("session {session} start: {reason} (ttl {ttl_secs} s, idle {idle_secs} s)")
}

/// The reason of the unseal record of a session's `n`-th reveal.
pub fn reveal_reason(session: &str, n: usize, lookup: &SessionLookup) -> String {
    format!("session {session} reveal {n}: {lookup}")
}

/// The reason of a session's last unseal record (no entries).
pub fn end_reason(session: &str, reveals: usize, end: SessionEnd) -> String {
    format!("session {session} end: {reveals} reveals ({})", end.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_key_ids_or_names_and_the_rest_is_refused_unsearched() {
        let id = |t: &str| match SessionLookup::parse(t) {
            Ok(SessionLookup::KeyId(id)) => id.to_string(),
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(id("1a2b3c4d"), "1A2B3C4D");
        assert_eq!(id(" {1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D} "), "1A2B3C4D");
        assert_eq!(
            SessionLookup::parse("C02XK1ZZJG5H"),
            Ok(SessionLookup::Name("C02XK1ZZJG5H".into()))
        );
        assert_eq!(
            SessionLookup::parse("pc 7 (front desk)"),
            Ok(SessionLookup::Name("pc 7 (front desk)".into()))
        );
        for (bad, why) in [
            ("", LookupError::Empty),
            ("   ", LookupError::Empty),
            ("a\u{202e}b", LookupError::NotText),
            ("{1A2B3C4D-0E1F}", LookupError::KeyId(KeyIdQueryError)),
            (
                "1A2B3C4G-0E1F-2A3B-4C5D-6E7F8A9B0C1D",
                LookupError::KeyId(KeyIdQueryError),
            ),
            (
                "123456-234567-345678-456789-567890-678901-789012-890123",
                LookupError::LooksLikeARecoveryPassword,
            ),
        ] {
            assert_eq!(SessionLookup::parse(bad), Err(why), "{bad:?}");
        }
        assert_eq!(
            SessionLookup::parse(&"x".repeat(MAX_LOOKUP + 1)),
            Err(LookupError::TooLong)
        );
        // No message repeats what was given.
        let secret = "123456-234567-345678-456789-567890-678901-789012-890123";
        let msg = SessionLookup::parse(secret).unwrap_err().to_string();
        assert!(!msg.contains("123456"), "{msg}");
    }

    #[test]
    fn the_index_answers_as_the_whole_scan_does() {
        let vault = crate::vault::select::tests::vault();
        let index = SessionIndex::of(&vault);
        for text in [
            "1a2b3c4d",
            "{1A2B3C4D-0E1F-2A3B-4C5D-6E7F8A9B0C1D}",
            "99aa88bb",
            "00000000",
            "PC-7",
            "pc-8",
            " PC-8 ",
            "no-such-device",
            "bl-a",
            "pw",
        ] {
            let lookup = SessionLookup::parse(text).unwrap();
            assert_eq!(
                index.select(&vault, &lookup),
                vault.session_select(&lookup),
                "{text:?}"
            );
        }
    }

    /// Red team finding 1: entries sharing one device (anyone can deposit
    /// them) share one slot of the index, so building it stays linear.
    #[test]
    fn entries_sharing_a_device_share_one_slot_of_the_index() {
        use crate::entry::{EntryKind, EntrySecret};
        use crate::vault::DepositMeta;
        let mut vault = crate::vault::select::tests::vault();
        let secret = EntrySecret {
            username: zeroize::Zeroizing::new(String::new()),
            secret: zeroize::Zeroizing::new(b"pw".to_vec()),
        };
        let n = 3000;
        for i in 0..n {
            let meta = DepositMeta {
                actor: "x".into(),
                time: 6,
                // The same device as lookups compare it (ASCII case).
                device: Some(if i % 2 == 0 {
                    "same".into()
                } else {
                    "SAME".into()
                }),
                ..DepositMeta::default()
            };
            let label = format!("flood-{i:05}");
            let record = vault
                .deposit(&label, EntryKind::Password, &secret, &meta)
                .unwrap();
            vault.push(record).unwrap();
        }
        let index = SessionIndex::of(&vault);
        // PC-7 (two entries), PC-8 and "same": one slot each.
        assert_eq!(index.devices.len(), 3);
        let lookup = SessionLookup::parse("Same").unwrap();
        match index.select(&vault, &lookup) {
            Err(SelectError::SeveralMatches { labels, .. }) => assert_eq!(labels.len(), n),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            index.select(&vault, &SessionLookup::parse("pc-8").unwrap()),
            Ok("pw".to_owned())
        );
    }

    #[test]
    fn session_records_read_back_from_their_reasons() {
        let id = SessionLookup::parse("1a2b3c4d").unwrap();
        assert_eq!(
            SessionMark::parse(&start_reason(
                "9F3A00B1",
                "CrowdStrike (day 1)",
                28_800,
                900
            )),
            Some(SessionMark::Start {
                id: "9F3A00B1".into(),
                ttl: 28_800
            })
        );
        assert_eq!(
            SessionMark::parse(&reveal_reason("9F3A00B1", 3, &id)),
            Some(SessionMark::Reveal {
                id: "9F3A00B1".into()
            })
        );
        assert_eq!(
            SessionMark::parse(&end_reason("9F3A00B1", 12, SessionEnd::Interrupted)),
            Some(SessionMark::End {
                id: "9F3A00B1".into(),
                why: "interrupted".into()
            })
        );
        for other in [
            "",
            "INC-7 outage",
            "session 9f3a00b1 start: x (ttl 1 s, idle 1 s)",
            "session 9F3A start: x (ttl 1 s, idle 1 s)",
            "session 9F3A00B1 start: x (ttl many s, idle 1 s)",
            "session 9F3A00B1 end: 3 reveals",
            "session 9F3A00B1 ended",
            "session é9F3A00 start: x (ttl 1 s, idle 1 s)",
        ] {
            assert_eq!(SessionMark::parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn reasons_name_the_session_and_fit_a_record() {
        let id = SessionLookup::parse("1a2b3c4d").unwrap();
        assert_eq!(
            start_reason("9F3A", "CrowdStrike day", 28_800, 900),
            "session 9F3A start: CrowdStrike day (ttl 28800 s, idle 900 s)"
        );
        assert_eq!(
            reveal_reason("9F3A", 3, &id),
            "session 9F3A reveal 3: key ID 1A2B3C4D"
        );
        assert_eq!(
            end_reason("9F3A", 12, SessionEnd::Idle),
            "session 9F3A end: 12 reveals (idle)"
        );
        let longest = reveal_reason("9F3A", usize::MAX, &SessionLookup::Name("x".repeat(128)));
        assert!(crate::vault::check_reason(&longest).is_ok());
    }
}
