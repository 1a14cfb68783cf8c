//! The entry table: every entry's public state, kept compact so that the
//! whole replay of a fleet vault stays within its memory budget
//! (docs/HARDENING.md, "Budgets": about 200 bytes an entry, where a map of
//! owned entries took about 780).
//!
//! An entry's label and each version's public attributes are bytes in an
//! arena of fixed-size chunks; entries and versions are fixed-size rows in
//! chunks too, so growing never copies what is already held (no doubling
//! peak). Labels are found through a hash table of row numbers, keyed with
//! a random key per table (labels come from anyone who can deposit).
//!
//! Readers get an [`EntryRef`] (borrowed, no allocation: what a lookup over
//! every entry uses) or an owned [`Entry`] built on demand.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;

use super::{Entry, EntryVersion};
use crate::entry::EntryKind;

/// Rows a chunk holds.
const ROWS_PER_CHUNK: usize = 4096;
/// Bytes an arena chunk holds (a larger text gets a chunk of its own).
const ARENA_CHUNK: usize = 256 * 1024;
/// No next version.
const NONE: u32 = u32::MAX;

/// Rows in fixed-size chunks: pushing never moves what is held.
#[derive(Clone)]
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Chunked<T> {
    fn new() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
    fn push(&mut self, row: T) -> usize {
        if self.chunks.last().is_none_or(|c| c.len() == ROWS_PER_CHUNK) {
            self.chunks.push(Vec::with_capacity(ROWS_PER_CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk was just made")
            .push(row);
        self.len += 1;
        self.len - 1
    }
    fn get(&self, i: usize) -> &T {
        &self.chunks[i / ROWS_PER_CHUNK][i % ROWS_PER_CHUNK]
    }
    fn get_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / ROWS_PER_CHUNK][i % ROWS_PER_CHUNK]
    }
}

/// Where some bytes sit in the arena: they start with their length (a
/// [`varint`]), so a span is 8 bytes, not 12.
#[derive(Clone, Copy)]
struct Span {
    chunk: u32,
    start: u32,
}

/// Appends `n` in 7-bit groups, low first, the high bit set on all but
/// the last (LEB128): one byte for the lengths of labels and attributes
/// under 128 bytes, two up to 16 KiB.
fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads what [`put_varint`] wrote at the start of `bytes`: the number
/// and the bytes it took.
fn get_varint(bytes: &[u8]) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    for (i, &b) in bytes.iter().enumerate().take(9) {
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
        shift += 7;
    }
    // Not reached: the arena holds only lengths put_varint wrote.
    (0, bytes.len())
}

/// Bytes in chunks that are never moved.
#[derive(Clone, Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
}

impl Arena {
    fn push(&mut self, bytes: &[u8]) -> Span {
        // The length, then the bytes.
        let need = bytes.len() + 10;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= need);
        if !fits {
            self.chunks.push(Vec::with_capacity(need.max(ARENA_CHUNK)));
        }
        let chunk = self.chunks.len() - 1;
        let c = &mut self.chunks[chunk];
        let start = c.len();
        put_varint(c, bytes.len());
        c.extend_from_slice(bytes);
        // A record body is at most 1 MiB and a chunk at most that or
        // ARENA_CHUNK, so the offsets fit; a count of chunks beyond u32
        // would need terabytes.
        Span {
            chunk: chunk as u32,
            start: start as u32,
        }
    }
    fn get(&self, s: Span) -> &[u8] {
        let at = &self.chunks[s.chunk as usize][s.start as usize..];
        let (len, taken) = get_varint(at);
        &at[taken..taken + len]
    }
}

/// One entry. Packed to 4-byte alignment (32 bytes, not 40): a million
/// of them is the bulk of a fleet vault's state. Its fields are only ever
/// copied, never borrowed.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Row {
    label: Span,
    /// First and newest version (rows in `versions`).
    first: u32,
    last: u32,
    /// When the current version was revealed, if `exposed`.
    exposed_time: u64,
    /// Policies: at most 3,650 days and 8,760 hours (checked at replay).
    rotate_days: u16,
    expose_hours: u16,
    kind: EntryKind,
    exposed: bool,
}

impl Row {
    fn exposed_at(&self) -> Option<u64> {
        self.exposed.then_some(self.exposed_time)
    }
    fn set_exposed_at(&mut self, at: Option<u64>) {
        self.exposed = at.is_some();
        self.exposed_time = at.unwrap_or(0);
    }
}

// The sizes the memory budget counts on (docs/PERFORMANCE.md).
const _: () = assert!(std::mem::size_of::<Row>() == 32);
const _: () = assert!(std::mem::size_of::<Ver>() == 36);

/// A policy as a row keeps it (its bound fits; saturates otherwise).
fn policy16(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// One version of an entry (packed: 36 bytes, not 40).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Ver {
    offset: u64,
    time: u64,
    /// The record number − 1: below 2^32, as the index's numbers are
    /// (FORMAT.md §12; a record's frame takes at least 41 bytes).
    record: u32,
    /// The public attributes, encoded by [`Attrs::encode`].
    attrs: Span,
    version: u32,
    /// The entry's next version, or [`NONE`].
    next: u32,
}

/// A version's public attributes as the arena holds them: a byte of
/// flags, the deposit id (16 bytes) when there is one, then each text
/// present as its length (a [`put_varint`]) and its bytes, in flag order.
/// An import digest of 32 lower-case hex digits (FORMAT.md §7.2, attribute
/// 6) is kept as its 16 bytes.
struct Attrs;

impl Attrs {
    const DEPOSIT_ID: u8 = 1;
    const ROTATION: u8 = 2;
    const DIGEST_HEX: u8 = 4;
    /// Texts, in order: device, key ID, also known as, user, digest.
    const TEXTS: [u8; 5] = [8, 16, 32, 64, 128];

    /// Encodes `v`'s attributes into `out` (emptied first).
    fn encode(v: &NewVersion, out: &mut Vec<u8>) {
        let mut flags = 0u8;
        out.clear();
        out.push(0);
        if let Some(id) = &v.deposit_id {
            flags |= Self::DEPOSIT_ID;
            out.extend_from_slice(id);
        }
        if v.rotation {
            flags |= Self::ROTATION;
        }
        let packed = v.digest.and_then(hex_digest);
        let digest_text = match &packed {
            Some(_) => None,
            None => v.digest,
        };
        let texts = [v.device, v.key_id, v.also_known_as, v.user, digest_text];
        for (flag, text) in Self::TEXTS.into_iter().zip(texts) {
            if let Some(t) = text {
                flags |= flag;
                put_varint(out, t.len());
                out.extend_from_slice(t.as_bytes());
            }
        }
        if let Some(bytes) = packed {
            flags |= Self::DIGEST_HEX;
            out.extend_from_slice(&bytes);
        }
        out[0] = flags;
    }

    fn deposit_id(bytes: &[u8]) -> Option<&[u8; 16]> {
        if bytes[0] & Self::DEPOSIT_ID == 0 {
            return None;
        }
        bytes[1..17].try_into().ok()
    }

    /// The texts present (device, key ID, also known as, user, digest).
    fn texts(bytes: &[u8]) -> [Option<&str>; 5] {
        let flags = bytes[0];
        let mut at = if flags & Self::DEPOSIT_ID != 0 { 17 } else { 1 };
        let mut texts = [None; 5];
        for (slot, flag) in texts.iter_mut().zip(Self::TEXTS) {
            if flags & flag != 0 {
                let (len, taken) = get_varint(&bytes[at..]);
                let start = at + taken;
                at = start + len;
                // Written from a &str by `encode`.
                *slot = std::str::from_utf8(&bytes[start..at]).ok();
            }
        }
        texts
    }

    fn digest(bytes: &[u8]) -> Option<String> {
        if bytes[0] & Self::DIGEST_HEX != 0 {
            let packed = &bytes[bytes.len() - DIGEST_BYTES..];
            return Some(packed.iter().map(|b| format!("{b:02x}")).collect());
        }
        Self::texts(bytes)[4].map(str::to_owned)
    }
}

/// The bytes of an import digest.
const DIGEST_BYTES: usize = 16;

/// The 16 bytes of a digest written as 32 lower-case hex digits.
fn hex_digest(text: &str) -> Option<[u8; DIGEST_BYTES]> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 2 * DIGEST_BYTES {
        return None;
    }
    let mut out = [0u8; DIGEST_BYTES];
    for (o, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// A version joining the table, borrowed from what the replay read (its
/// texts are copied once, into the arena).
#[derive(Debug, Clone, Copy)]
pub(super) struct NewVersion<'a> {
    pub(super) version: u32,
    pub(super) time: u64,
    pub(super) device: Option<&'a str>,
    pub(super) key_id: Option<&'a str>,
    pub(super) also_known_as: Option<&'a str>,
    pub(super) user: Option<&'a str>,
    pub(super) rotation: bool,
    pub(super) digest: Option<&'a str>,
    pub(super) deposit_id: Option<[u8; 16]>,
    pub(super) record: usize,
    pub(super) offset: u64,
}

impl<'a> NewVersion<'a> {
    /// `v`, borrowed.
    #[cfg(test)]
    pub(super) fn of(v: &'a EntryVersion) -> Self {
        Self {
            version: v.version,
            time: v.time,
            device: v.device.as_deref(),
            key_id: v.key_id.as_deref(),
            also_known_as: v.also_known_as.as_deref(),
            user: v.user.as_deref(),
            rotation: v.rotation,
            digest: v.digest.as_deref(),
            deposit_id: v.deposit_id,
            record: v.record,
            offset: v.offset,
        }
    }
}

/// Where a new version of a label goes (see [`Entries::slot`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    row: Option<u32>,
    /// The label's hash in this table (computed once a deposit).
    hash: u64,
    /// The number the new version must have.
    pub(super) next_version: u32,
}

/// Why a deposit cannot join the table (the replay names the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddError {
    /// The version is not the entry's next one.
    OutOfSequence,
    /// The label holds another kind.
    KindChanged,
    /// The deposit id was used by the deposit in this record (1-based).
    CopiedDeposit(usize),
}

/// Every entry's public state (see the module's documentation).
#[derive(Clone)]
pub struct Entries {
    arena: Arena,
    rows: Chunked<Row>,
    versions: Chunked<Ver>,
    by_label: HashTable<u32>,
    /// Versions with a deposit id, by that id.
    by_deposit_id: HashTable<u32>,
    hasher: RandomState,
    /// Rows in label order, made when first asked for.
    sorted: OnceLock<Vec<u32>>,
    /// Where [`Attrs::encode`] writes a version before the arena holds it
    /// (one buffer, not one a version).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("entries", &self.rows.len)
            .field("versions", &self.versions.len)
            .finish()
    }
}

impl Default for Entries {
    fn default() -> Self {
        Self {
            arena: Arena::default(),
            rows: Chunked::new(),
            versions: Chunked::new(),
            by_label: HashTable::new(),
            by_deposit_id: HashTable::new(),
            hasher: RandomState::new(),
            sorted: OnceLock::new(),
            scratch: Vec::new(),
        }
    }
}

impl Entries {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.rows.len
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.len == 0
    }
    /// True when an entry has this label.
    pub fn contains_key(&self, label: &str) -> bool {
        self.find(label).is_some()
    }
    /// The entry with this label, borrowed.
    pub fn entry(&self, label: &str) -> Option<EntryRef<'_>> {
        self.find(label).map(|row| EntryRef { table: self, row })
    }
    /// The entry with this label, as an owned view.
    pub fn get(&self, label: &str) -> Option<Entry> {
        self.entry(label).map(|e| e.to_entry())
    }
    /// Every entry, borrowed, in label order.
    pub fn refs(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        self.order()
            .iter()
            .map(move |&row| EntryRef { table: self, row })
    }
    /// Every entry, borrowed, in the order they were first deposited (no
    /// sorting: for a pass whose order does not matter).
    pub fn refs_unordered(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        (0..self.rows.len as u32).map(move |row| EntryRef { table: self, row })
    }
    /// The entry at place `i` of the table (`0..len()`, the order of
    /// [`Entries::refs_unordered`]): for passes that split the table
    /// between threads.
    pub fn ref_at(&self, i: usize) -> Option<EntryRef<'_>> {
        (i < self.rows.len).then_some(EntryRef {
            table: self,
            row: i as u32,
        })
    }
    /// Every label, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.refs().map(|e| e.label())
    }
    /// Every entry as an owned view, in label order (one at a time).
    pub fn values(&self) -> impl Iterator<Item = Entry> + '_ {
        self.refs().map(|e| e.to_entry())
    }
    /// Every entry with its label, in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Entry)> + '_ {
        self.refs().map(|e| (e.label(), e.to_entry()))
    }
    /// The entry with this table id (ids are the table's: another
    /// vault's may name nothing).
    pub fn by_id(&self, id: EntryId) -> Option<EntryRef<'_>> {
        (id.0 < self.rows.len as u32).then_some(EntryRef {
            table: self,
            row: id.0,
        })
    }
    /// The record number (1-based) of the version deposited with this
    /// deposit id.
    pub fn deposit_with_id(&self, id: &[u8; 16]) -> Option<usize> {
        self.deposit_with_id_hashed(id, self.hasher.hash_one(id))
    }

    fn deposit_with_id_hashed(&self, id: &[u8; 16], hash: u64) -> Option<usize> {
        self.by_deposit_id
            .find(hash, |&v| self.deposit_id_of(v) == Some(id))
            .map(|&v| self.versions.get(v as usize).record as usize + 1)
    }

    fn label_of(&self, row: u32) -> &str {
        let bytes = self.arena.get(self.rows.get(row as usize).label);
        std::str::from_utf8(bytes).expect("labels are pushed from &str")
    }

    fn deposit_id_of(&self, version: u32) -> Option<&[u8; 16]> {
        Attrs::deposit_id(self.arena.get(self.versions.get(version as usize).attrs))
    }

    fn find(&self, label: &str) -> Option<u32> {
        self.find_hashed(label, self.hasher.hash_one(label.as_bytes()))
    }

    fn find_hashed(&self, label: &str, hash: u64) -> Option<u32> {
        self.by_label
            .find(hash, |&row| self.label_bytes(row) == label.as_bytes())
            .copied()
    }

    fn label_bytes(&self, row: u32) -> &[u8] {
        self.arena.get(self.rows.get(row as usize).label)
    }

    /// Makes room for about `entries` entries in the hash tables, so that a
    /// replay does not rehash them as it grows (the caller's estimate, from
    /// the file's size).
    pub(super) fn reserve(&mut self, entries: usize) {
        let (rows, versions, arena, hasher) =
            (&self.rows, &self.versions, &self.arena, &self.hasher);
        self.by_label.reserve(entries, |&r| {
            hasher.hash_one(arena.get(rows.get(r as usize).label))
        });
        self.by_deposit_id.reserve(entries, |&x| {
            let id = Attrs::deposit_id(arena.get(versions.get(x as usize).attrs));
            hasher.hash_one(id.expect("indexed versions have an id"))
        });
    }

    /// How many versions there are, how many name a device and how many
    /// carry a key ID: the row counts of a current index's three tables
    /// (docs/FORMAT.md §12), counted without sorting anything.
    pub fn index_row_counts(&self) -> [u32; 3] {
        let mut counts = [0u32; 3];
        for chunk in &self.versions.chunks {
            for v in chunk {
                let flags = self.arena.get(v.attrs)[0];
                counts[0] += 1;
                counts[1] += u32::from(flags & Attrs::TEXTS[0] != 0);
                counts[2] += u32::from(flags & Attrs::TEXTS[1] != 0);
            }
        }
        counts
    }

    fn order(&self) -> &[u32] {
        self.sorted.get_or_init(|| {
            let mut rows: Vec<u32> = (0..self.rows.len as u32).collect();
            // UTF-8 byte order is the strings' order.
            rows.sort_unstable_by(|&a, &b| self.label_bytes(a).cmp(self.label_bytes(b)));
            rows
        })
    }

    /// Adds `v` as the next version of `label` (a new entry of `kind` at
    /// version 1), with the entry's policies; checks the version's number,
    /// the kind and that the deposit id is new.
    #[cfg(test)]
    pub(super) fn add(
        &mut self,
        label: &str,
        kind: EntryKind,
        v: &EntryVersion,
        policy: (Option<u32>, Option<u32>),
    ) -> Result<(), AddError> {
        let slot = self.slot(label);
        if v.version != slot.next_version {
            return Err(AddError::OutOfSequence);
        }
        self.add_at(slot, label, kind, &NewVersion::of(v), policy)
    }

    /// Where a new version of `label` goes: its entry (if any) and the
    /// version number it must have. One lookup, for [`Entries::add_at`].
    pub(super) fn slot(&self, label: &str) -> Slot {
        let hash = self.hasher.hash_one(label.as_bytes());
        let row = self.find_hashed(label, hash);
        Slot {
            row,
            hash,
            next_version: row.map_or(1, |r| self.ver_of_row(r).version + 1),
        }
    }

    /// [`Entries::add`] at a slot [`Entries::slot`] gave for `label` (the
    /// table unchanged since).
    pub(super) fn add_at(
        &mut self,
        slot: Slot,
        label: &str,
        kind: EntryKind,
        v: &NewVersion,
        policy: (Option<u32>, Option<u32>),
    ) -> Result<(), AddError> {
        let row = slot.row;
        if v.version != slot.next_version {
            return Err(AddError::OutOfSequence);
        }
        if row.is_some_and(|r| self.rows.get(r as usize).kind != kind) {
            return Err(AddError::KindChanged);
        }
        // Each id is hashed once, for the check and the insertion.
        let id_hash = v.deposit_id.map(|id| (id, self.hasher.hash_one(id)));
        if let Some(earlier) = id_hash.and_then(|(id, h)| self.deposit_with_id_hashed(&id, h)) {
            return Err(AddError::CopiedDeposit(earlier));
        }
        let mut encoded = std::mem::take(&mut self.scratch);
        Attrs::encode(v, &mut encoded);
        let attrs = self.arena.push(&encoded);
        self.scratch = encoded;
        let new = self.versions.push(Ver {
            offset: v.offset,
            time: v.time,
            record: u32::try_from(v.record).unwrap_or(u32::MAX),
            attrs,
            version: v.version,
            next: NONE,
        }) as u32;
        if let Some((_, hash)) = id_hash {
            let (table, versions, arena, hasher) = (
                &mut self.by_deposit_id,
                &self.versions,
                &self.arena,
                &self.hasher,
            );
            table.insert_unique(hash, new, |&x| {
                let id = Attrs::deposit_id(arena.get(versions.get(x as usize).attrs));
                hasher.hash_one(id.expect("indexed versions have an id"))
            });
        }
        let row = match row {
            Some(r) => {
                let last = self.rows.get(r as usize).last;
                self.versions.get_mut(last as usize).next = new;
                let e = self.rows.get_mut(r as usize);
                e.last = new;
                r
            }
            None => self.new_row(label, slot.hash, kind, new),
        };
        let e = self.rows.get_mut(row as usize);
        if let Some(days) = policy.0 {
            e.rotate_days = policy16(days);
        }
        if let Some(hours) = policy.1 {
            e.expose_hours = policy16(hours);
        }
        e.set_exposed_at(None);
        Ok(())
    }

    fn new_row(&mut self, label: &str, hash: u64, kind: EntryKind, version: u32) -> u32 {
        let span = self.arena.push(label.as_bytes());
        let row = self.rows.push(Row {
            label: span,
            first: version,
            last: version,
            exposed_time: 0,
            rotate_days: policy16(super::DEFAULT_ROTATE_DAYS),
            expose_hours: policy16(super::DEFAULT_EXPOSE_HOURS),
            kind,
            exposed: false,
        }) as u32;
        // `hash` is of the label as bytes, as in `find` (a str and a byte
        // slice hash apart).
        let (table, rows, arena, hasher) =
            (&mut self.by_label, &self.rows, &self.arena, &self.hasher);
        table.insert_unique(hash, row, |&r| {
            hasher.hash_one(arena.get(rows.get(r as usize).label))
        });
        self.sorted = OnceLock::new();
        row
    }

    /// Marks `label`'s current version exposed at `time` when it is
    /// version `version` (an unseal revealed it).
    pub(super) fn mark_exposed(&mut self, label: &str, version: u32, time: u64) {
        if let Some(row) = self.find(label) {
            if self.ver_of_row(row).version == version {
                self.rows.get_mut(row as usize).set_exposed_at(Some(time));
            }
        }
    }

    /// The version with this id.
    pub fn version(&self, id: VersionId) -> Option<VersionRef<'_>> {
        (id.0 < self.versions.len as u32)
            .then(|| self.version_ref(id, self.versions.get(id.0 as usize)))
    }

    fn version_ref(&self, id: VersionId, v: &Ver) -> VersionRef<'_> {
        let texts = Attrs::texts(self.arena.get(v.attrs));
        VersionRef {
            id,
            version: v.version,
            time: v.time,
            record: v.record as usize,
            offset: v.offset,
            device: texts[0],
            key_id: texts[1],
        }
    }

    fn ver_of_row(&self, row: u32) -> &Ver {
        self.versions.get(self.rows.get(row as usize).last as usize)
    }
}

/// An entry's place in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryId(u32);

impl EntryId {
    /// Its place as a number, from 0 (for tables kept beside the entries).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An entry, borrowed from the table: what a pass over every entry reads
/// without allocating.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    table: &'a Entries,
    row: u32,
}

impl std::fmt::Debug for EntryRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EntryRef").field(&self.label()).finish()
    }
}

impl<'a> EntryRef<'a> {
    fn row(&self) -> &'a Row {
        self.table.rows.get(self.row as usize)
    }
    fn current_texts(&self) -> [Option<&'a str>; 5] {
        let v = self.table.ver_of_row(self.row);
        Attrs::texts(self.table.arena.get(v.attrs))
    }
    /// Its place in the table.
    pub fn id(&self) -> EntryId {
        EntryId(self.row)
    }
    /// The label.
    pub fn label(&self) -> &'a str {
        self.table.label_of(self.row)
    }
    /// The kind.
    pub fn kind(&self) -> EntryKind {
        self.row().kind
    }
    /// The newest version's number.
    pub fn current_version(&self) -> u32 {
        self.table.ver_of_row(self.row).version
    }
    /// The device the newest version names.
    pub fn current_device(&self) -> Option<&'a str> {
        self.current_texts()[0]
    }
    /// The BitLocker key ID the newest version carries.
    pub fn current_key_id(&self) -> Option<&'a str> {
        self.current_texts()[1]
    }
    /// The other name of the newest version's device.
    pub fn current_also_known_as(&self) -> Option<&'a str> {
        self.current_texts()[2]
    }
    /// The device's user the newest version names.
    pub fn current_user(&self) -> Option<&'a str> {
        self.current_texts()[3]
    }
    /// When the newest version was deposited (Unix seconds).
    pub fn current_time(&self) -> u64 {
        self.table.ver_of_row(self.row).time
    }
    /// When the first version was deposited (Unix seconds).
    pub fn first_time(&self) -> u64 {
        self.table.versions.get(self.row().first as usize).time
    }
    /// When the current version must be rotated because an unseal
    /// revealed it (see [`Entry::exposure_deadline`]).
    pub fn exposure_deadline(&self) -> Option<u64> {
        let row = self.row();
        let hours = u64::from(row.expose_hours);
        row.exposed_at().map(|t| t.saturating_add(hours * 3600))
    }
    /// When the current version is due for routine rotation (see
    /// [`Entry::rotation_due`]).
    pub fn rotation_due(&self) -> u64 {
        let days = u64::from(self.row().rotate_days);
        self.current_time().saturating_add(days * 86_400)
    }
    /// How many versions.
    pub fn version_count(&self) -> usize {
        self.versions().count()
    }
    /// True when `text` occurs in the label, the newest version's device,
    /// key ID, other name or user, ignoring case; or when `text` is a key
    /// ID (such as a whole GUID) that the entry carries. These are the
    /// entry's public attributes: nothing sealed is searched.
    pub fn matches_search(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        let contains = |s: &str| s.to_lowercase().contains(&lower);
        let [device, key_id, aka, user, _] = self.current_texts();
        contains(self.label())
            || [device, key_id, aka, user]
                .into_iter()
                .flatten()
                .any(contains)
            || super::KeyIdQuery::parse(text)
                .is_ok_and(|id| key_id.is_some_and(|stored| id.matches(stored)))
    }
    /// Every version, oldest first, borrowed (no allocation).
    pub fn versions(&self) -> impl Iterator<Item = VersionRef<'a>> + 'a {
        let table = self.table;
        let mut at = self.row().first;
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let v = table.versions.get(at as usize);
            let id = VersionId(at);
            at = v.next;
            Some(table.version_ref(id, v))
        })
    }
    /// The entry as an owned view, every version.
    pub fn to_entry(&self) -> Entry {
        let row = self.row();
        let mut versions = Vec::new();
        let mut at = row.first;
        while at != NONE {
            let v = self.table.versions.get(at as usize);
            versions.push(self.version(v));
            at = v.next;
        }
        Entry {
            label: self.label().to_owned(),
            kind: row.kind,
            versions,
            rotate_days: u32::from(row.rotate_days),
            expose_hours: u32::from(row.expose_hours),
            exposed_at: row.exposed_at(),
        }
    }
    fn version(&self, v: &Ver) -> EntryVersion {
        let bytes = self.table.arena.get(v.attrs);
        let [device, key_id, aka, user, _] = Attrs::texts(bytes).map(|t| t.map(str::to_owned));
        EntryVersion {
            version: v.version,
            time: v.time,
            device,
            key_id,
            also_known_as: aka,
            user,
            rotation: bytes[0] & Attrs::ROTATION != 0,
            digest: Attrs::digest(bytes),
            deposit_id: Attrs::deposit_id(bytes).copied(),
            record: v.record as usize,
            offset: v.offset,
        }
    }
}

/// A version's place in its table: what a pass that sorts versions by
/// some key holds (4 bytes) to come back to each with [`Entries::version`].
/// Ids are the table's: another vault's may name nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionId(u32);

/// What a pass over every version reads of one, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRef<'a> {
    /// Its place in the table.
    pub id: VersionId,
    /// Version number.
    pub version: u32,
    /// Deposit time, Unix seconds.
    pub time: u64,
    /// The deposit's record number − 1.
    pub record: usize,
    /// File offset of the deposit's frame.
    pub offset: u64,
    /// The device it names.
    pub device: Option<&'a str>,
    /// The BitLocker key ID it carries.
    pub key_id: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn version(n: u32, device: Option<&str>, digest: Option<&str>, id: Option<u8>) -> EntryVersion {
        EntryVersion {
            version: n,
            time: 1_700_000_000 + u64::from(n),
            device: device.map(str::to_owned),
            key_id: Some("1A2B3C4D".into()),
            also_known_as: None,
            user: Some("ada".into()),
            rotation: n > 1,
            digest: digest.map(str::to_owned),
            deposit_id: id.map(|b| [b; 16]),
            record: n as usize,
            offset: 100 * u64::from(n),
        }
    }

    proptest! {
        #[test]
        fn lengths_read_back_as_written(n in 0usize..(1 << 40), tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let written = out.len();
            out.extend_from_slice(&tail);
            prop_assert_eq!(get_varint(&out), (n, written));
            prop_assert_eq!(written, 1 + usize::from(n >= 0x80) + usize::from(n >= 1 << 14) + usize::from(n >= 1 << 21) + usize::from(n >= 1 << 28) + usize::from(n >= 1 << 35));
        }
    }

    #[test]
    fn versions_come_back_as_they_went_in() {
        let mut t = Entries::default();
        let hex = "00ff".repeat(8);
        let a = [
            version(1, Some("C02X"), Some(&hex), Some(1)),
            version(2, None, Some("not hex"), None),
            version(3, Some(""), None, Some(2)),
            version(4, None, Some(&hex.to_uppercase()), None),
            version(5, None, Some("0123456789abcdef0123456789ABCDEF"), None),
            version(6, None, Some(&"ab".repeat(32)), None),
        ];
        for v in &a {
            t.add("mac", EntryKind::RecoveryKey, v, (Some(30), None))
                .unwrap();
        }
        let e = t.get("mac").unwrap();
        assert_eq!(e.versions, a);
        assert_eq!(
            (e.rotate_days, e.expose_hours),
            (30, super::super::DEFAULT_EXPOSE_HOURS)
        );
        assert_eq!(t.deposit_with_id(&[2; 16]), Some(4));
        // The lower-case digest is packed: 16 bytes, not 32 characters.
        let encoded = |v: &EntryVersion| {
            let mut out = Vec::new();
            Attrs::encode(&NewVersion::of(v), &mut out);
            out
        };
        let packed = encoded(&a[0]).len();
        let mut as_text = a[0].clone();
        as_text.digest = Some("not a hex digest, 32 chars long!".into());
        assert_eq!(encoded(&as_text).len(), packed + 1 + 32 - 16);
        assert_eq!(t.deposit_with_id(&[3; 16]), None);
    }

    #[test]
    fn the_rules_of_a_new_version_are_checked() {
        let mut t = Entries::default();
        let kind = EntryKind::Password;
        assert_eq!(
            t.add("a", kind, &version(2, None, None, None), (None, None)),
            Err(AddError::OutOfSequence)
        );
        t.add("a", kind, &version(1, None, None, Some(9)), (None, None))
            .unwrap();
        assert_eq!(
            t.add("a", kind, &version(1, None, None, None), (None, None)),
            Err(AddError::OutOfSequence)
        );
        assert_eq!(
            t.add(
                "a",
                EntryKind::Note,
                &version(2, None, None, None),
                (None, None)
            ),
            Err(AddError::KindChanged)
        );
        assert_eq!(
            t.add("b", kind, &version(1, None, None, Some(9)), (None, None)),
            Err(AddError::CopiedDeposit(2))
        );
        assert_eq!(t.len(), 1, "a refused version adds nothing");
    }

    #[test]
    fn exposure_follows_the_current_version_only() {
        let mut t = Entries::default();
        let kind = EntryKind::Password;
        t.add("a", kind, &version(1, None, None, None), (None, None))
            .unwrap();
        t.mark_exposed("a", 1, 7);
        assert_eq!(t.get("a").unwrap().exposed_at, Some(7));
        t.add("a", kind, &version(2, None, None, None), (None, None))
            .unwrap();
        assert_eq!(
            t.get("a").unwrap().exposed_at,
            None,
            "a new version clears it"
        );
        t.mark_exposed("a", 1, 9);
        assert_eq!(
            t.get("a").unwrap().exposed_at,
            None,
            "an old version's reveal does not"
        );
    }

    proptest! {
        /// The table answers as a map of owned entries would, whatever the
        /// labels and however many (more than one chunk).
        #[test]
        fn the_table_agrees_with_a_map(labels in proptest::collection::vec("[a-c]{0,3}|\\PC{1,8}", 1..6000)) {
            let mut t = Entries::default();
            let mut map = std::collections::BTreeMap::<String, Vec<u32>>::new();
            for (i, label) in labels.iter().enumerate() {
                let n = map.get(label).map_or(1, |v| v.len() as u32 + 1);
                let mut v = version(n, Some(label), None, None);
                v.record = i;
                t.add(label, EntryKind::Note, &v, (None, None)).unwrap();
                map.entry(label.clone()).or_default().push(i as u32);
            }
            prop_assert_eq!(t.len(), map.len());
            prop_assert!(t.keys().eq(map.keys().map(String::as_str)));
            for (label, records) in &map {
                let e = t.entry(label).unwrap();
                prop_assert_eq!(e.current_device(), Some(label.as_str()));
                for v in e.versions() {
                    prop_assert_eq!(t.version(v.id), Some(v));
                }
                let owned = e.to_entry();
                prop_assert_eq!(owned.versions.iter().map(|v| v.record as u32).collect::<Vec<_>>(), records.clone());
            }
            prop_assert!(!t.contains_key("not-a-label-here"));
        }
    }
}
