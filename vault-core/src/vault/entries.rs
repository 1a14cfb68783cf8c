//! The entry table: every entry's public state, kept compact so that the
//! whole replay of a fleet vault stays within its memory budget
//! (docs/HARDENING.md, "Budgets": about 110 bytes an imported entry, where
//! a map of owned entries took about 780).
//!
//! Labels and versions are items in an arena of fixed-size chunks, each
//! found by a 4-byte place ([`At`]): a version is one item holding its
//! numbers as varints and its public attributes ([`Ver`], [`Attrs`]), and
//! a text that ends its entry's label (an imported device's serial) is
//! kept as a length. Entries are 14-byte rows in chunks too, so growing
//! never copies what is already held (no doubling peak). Labels are found
//! through a hash table of row numbers, keyed with a random key per table
//! (labels come from anyone who can deposit).
//!
//! Readers get an [`EntryRef`] (borrowed, no allocation: what a lookup over
//! every entry uses) or an owned [`Entry`] built on demand.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
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

/// Appends `n` in 7-bit groups, low first, the high bit set on all but
/// the last (LEB128): one byte for the lengths of labels and attributes
/// under 128 bytes, two up to 16 KiB, ten for the largest `u64`.
fn put_varint(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut n: u64 = n.into();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads what [`put_varint`] wrote at the start of `bytes`: the number
/// and the bytes it took; `None` when they end first or the number does
/// not fit.
#[inline]
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    // Most are one byte: lengths of short texts, a version's number.
    match bytes.first() {
        Some(&b) if b < 0x80 => Some((u64::from(b), 1)),
        _ => read_long_varint(bytes),
    }
}

fn read_long_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7f);
        // The tenth byte holds the top bit only.
        if i == 9 && low > 1 {
            return None;
        }
        n |= low << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

/// [`read_varint`] where the arena wrote it (then it is always whole).
#[inline]
fn get_varint(bytes: &[u8]) -> (u64, usize) {
    read_varint(bytes).unwrap_or((0, bytes.len()))
}

/// [`get_varint`] of a length.
#[inline]
fn get_len(bytes: &[u8]) -> (usize, usize) {
    let (n, taken) = get_varint(bytes);
    (usize::try_from(n).unwrap_or(usize::MAX), taken)
}

/// Where an arena item starts: its chunk in the high [`CHUNK_BITS`] bits'
/// complement, its place in the chunk in the low bits (4 bytes, not 8).
type At = u32;
/// Bits of an [`At`] that place an item in its chunk.
const CHUNK_BITS: u32 = 18;
/// Chunks an arena may hold: 4 GiB of labels and attributes, far past
/// any vault the memory budget admits (docs/HARDENING.md).
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_BITS);
const _: () = assert!(ARENA_CHUNK == 1 << CHUNK_BITS);

/// Items in chunks that are never moved: each item its length (a
/// [`put_varint`]) and its bytes. An item longer than a chunk gets a chunk
/// of its own, at place 0.
#[derive(Clone, Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
}

/// The arena is full ([`MAX_CHUNKS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Full;

impl Arena {
    /// Adds an item made of `parts`, one after the other.
    fn push(&mut self, parts: &[&[u8]]) -> Result<At, Full> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let chunk = self.room(len + 10)?;
        Ok(self.put(chunk, len, parts))
    }
    /// Adds two items, `b` right after `a` in the same chunk (so that
    /// [`Arena::after`] finds `b` from `a`).
    fn push_pair(&mut self, a: &[u8], b: &[u8]) -> Result<(At, At), Full> {
        let chunk = self.room(a.len() + b.len() + 20)?;
        Ok((
            self.put(chunk, a.len(), &[a]),
            self.put(chunk, b.len(), &[b]),
        ))
    }
    /// The chunk that takes `need` more bytes, made when the last does not.
    fn room(&mut self, need: usize) -> Result<usize, Full> {
        // A place must fit its bits: nothing goes past ARENA_CHUNK, whatever
        // capacity the allocator gave, but an item larger than a chunk
        // (alone in its own, at place 0). Every chunk holds at least
        // ARENA_CHUNK, so what fits never moves the chunk.
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + need <= ARENA_CHUNK);
        if !fits {
            if self.chunks.len() == MAX_CHUNKS {
                return Err(Full);
            }
            self.chunks.push(Vec::with_capacity(need.max(ARENA_CHUNK)));
        }
        Ok(self.chunks.len() - 1)
    }
    fn put(&mut self, chunk: usize, len: usize, parts: &[&[u8]]) -> At {
        let c = &mut self.chunks[chunk];
        // Below 2^CHUNK_BITS: a place before ARENA_CHUNK, or within the
        // first two items of a chunk of its own (a label is at most 128
        // bytes when its record is decoded, and 64 KiB in any case).
        let start = c.len();
        put_varint(c, len as u64);
        for p in parts {
            c.extend_from_slice(p);
        }
        (chunk as u32) << CHUNK_BITS | start as u32
    }
    /// The place right after the item at `at`.
    fn after(&self, at: At) -> At {
        let (chunk, start) = Self::place(at);
        let (len, taken) = get_len(&self.chunks[chunk][start..]);
        at + (taken + len) as u32
    }
    fn place(at: At) -> (usize, usize) {
        (
            (at >> CHUNK_BITS) as usize,
            (at & ((1 << CHUNK_BITS) - 1)) as usize,
        )
    }
    /// The item at `at`, which [`Arena::push`] gave.
    fn get(&self, at: At) -> &[u8] {
        let (chunk, start) = Self::place(at);
        let at = &self.chunks[chunk][start..];
        let (len, taken) = get_len(at);
        &at[taken..taken + len]
    }
    fn get_mut(&mut self, at: At) -> &mut [u8] {
        let (chunk, start) = Self::place(at);
        let at = &mut self.chunks[chunk][start..];
        let (len, taken) = get_len(at);
        &mut at[taken..taken + len]
    }
    /// The item at `at` if `at` could be one (for ids from outside).
    fn try_get(&self, at: At) -> Option<&[u8]> {
        let (chunk, start) = Self::place(at);
        let at = self.chunks.get(chunk)?.get(start..)?;
        let (len, taken) = get_len(at);
        at.get(taken..taken.checked_add(len)?)
    }
}

/// One entry. Packed to 2-byte alignment (14 bytes, not 16): a million
/// of them is the bulk of a fleet vault's state. Its fields are only ever
/// copied, never borrowed. When the current version was revealed is kept
/// beside the rows ([`Entries::exposed`]): few entries have one.
#[derive(Clone, Copy)]
#[repr(C, packed(2))]
struct Row {
    /// The label (an arena item); the first version is the item right
    /// after it ([`Arena::after`]).
    label: At,
    /// The newest version (an arena item, see [`Ver`]).
    last: At,
    /// Policies: at most 3,650 days and 8,760 hours (checked at replay).
    rotate_days: u16,
    expose_hours: u16,
    kind: EntryKind,
    exposed: bool,
}

// The sizes the memory budget counts on (docs/PERFORMANCE.md).
const _: () = assert!(std::mem::size_of::<Row>() == 14);

/// A policy as a row keeps it (its bound fits; saturates otherwise).
fn policy16(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// One version of an entry, an arena item: the next version's place
/// (4 bytes, little-endian, [`NONE`] for none: rewritten when one comes),
/// then its entry's row, number, record number − 1, frame offset and time as
/// [`put_varint`]s, then its public attributes ([`Attrs`]). About 17 bytes
/// and the attributes, where a fixed row took 36.
struct Ver;

/// A version read from its item.
#[derive(Clone, Copy)]
struct VerFields<'a> {
    next: At,
    /// Its entry's row.
    row: u32,
    version: u32,
    /// The record number − 1: below 2^32, as the index's numbers are
    /// (FORMAT.md §12; a record's frame takes at least 41 bytes).
    record: u32,
    offset: u64,
    time: u64,
    attrs: &'a [u8],
}

impl Ver {
    /// The item's bytes in `out` (emptied first), `attrs` encoded by
    /// [`Attrs::encode`].
    fn encode(v: &NewVersion, row: u32, attrs: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&NONE.to_le_bytes());
        put_varint(out, row);
        put_varint(out, v.version);
        put_varint(out, u32::try_from(v.record).unwrap_or(u32::MAX));
        put_varint(out, v.offset);
        put_varint(out, v.time);
        out.extend_from_slice(attrs);
    }
    /// The fields of an item [`Ver::encode`] wrote; `None` for bytes it
    /// did not (an id from another table).
    fn decode(item: &[u8]) -> Option<VerFields<'_>> {
        let next = At::from_le_bytes(item.get(..4)?.try_into().ok()?);
        let mut at = 4;
        let mut field = || {
            let (n, taken) = read_varint(item.get(at..)?)?;
            at += taken;
            Some(n)
        };
        let row = u32::try_from(field()?).ok()?;
        let version = u32::try_from(field()?).ok()?;
        let record = u32::try_from(field()?).ok()?;
        let offset = field()?;
        let time = field()?;
        let attrs = item.get(at..).filter(|a| !a.is_empty())?;
        Some(VerFields {
            next,
            row,
            version,
            record,
            offset,
            time,
            attrs,
        })
    }
    /// Sets where the next version is.
    fn set_next(item: &mut [u8], next: At) {
        item[..4].copy_from_slice(&next.to_le_bytes());
    }
}

/// A version's public attributes as the arena holds them: a byte of
/// flags, the deposit id (16 bytes) when there is one, then each text
/// present, in flag order, as its length times two (a [`put_varint`]) and
/// its bytes — or, when the text ends the entry's label (an imported
/// device's serial in `filevault-C02…`), its length times two plus one
/// and no bytes: the text is the label's last that many bytes.
/// An import digest of 32 lower-case hex digits (FORMAT.md §7.2, attribute
/// 6) is kept as its 16 bytes.
struct Attrs;

impl Attrs {
    const DEPOSIT_ID: u8 = 1;
    const ROTATION: u8 = 2;
    const DIGEST_HEX: u8 = 4;
    /// Texts, in order: device, key ID, also known as, user, digest.
    const TEXTS: [u8; 5] = [8, 16, 32, 64, 128];

    /// Encodes `v`'s attributes into `out` (emptied first), its import
    /// digest and names only as `keep` says.
    fn encode<'a>(v: &NewVersion<'a>, label: &str, keep: Keep, out: &mut Vec<u8>) {
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
        let digest = v.digest.filter(|_| keep.digests);
        let packed = digest.and_then(hex_digest);
        let digest_text = match &packed {
            Some(_) => None,
            None => digest,
        };
        let names = |t: Option<&'a str>| t.filter(|_| keep.names);
        let texts = [
            v.device,
            v.key_id,
            names(v.also_known_as),
            names(v.user),
            digest_text,
        ];
        for (flag, text) in Self::TEXTS.into_iter().zip(texts) {
            if let Some(t) = text {
                flags |= flag;
                let in_label = !t.is_empty() && label.ends_with(t);
                put_varint(out, (t.len() as u64) << 1 | u64::from(in_label));
                if !in_label {
                    out.extend_from_slice(t.as_bytes());
                }
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
    /// The texts present (device, key ID, also known as, user, digest), of
    /// an entry labelled `label`. Only a text that ends the label is
    /// checked as UTF-8 against it, not the whole label.
    fn texts<'a>(bytes: &'a [u8], label: &'a [u8]) -> [Option<&'a str>; 5] {
        let mut texts = [None; 5];
        // Slices are checked: an id from outside may name bytes `encode`
        // did not write ([`Entries::version`]); then a text reads as none.
        let Some(&flags) = bytes.first() else {
            return texts;
        };
        let mut at = if flags & Self::DEPOSIT_ID != 0 { 17 } else { 1 };
        for (slot, flag) in texts.iter_mut().zip(Self::TEXTS) {
            if flags & flag == 0 {
                continue;
            }
            let Some((n, taken)) = bytes.get(at..).and_then(read_varint) else {
                break;
            };
            let (len, start) = (usize::try_from(n >> 1).unwrap_or(usize::MAX), at + taken);
            // The low bit: the text is the label's last `len` bytes.
            let text = if n & 1 == 1 {
                at = start;
                label.len().checked_sub(len).and_then(|s| label.get(s..))
            } else {
                at = start.saturating_add(len);
                bytes.get(start..at)
            };
            *slot = text.and_then(|t| std::str::from_utf8(t).ok());
        }
        texts
    }

    fn digest(bytes: &[u8], label: &[u8]) -> Option<String> {
        if bytes[0] & Self::DIGEST_HEX != 0 {
            let packed = &bytes[bytes.len() - DIGEST_BYTES..];
            return Some(packed.iter().map(|b| format!("{b:02x}")).collect());
        }
        Self::texts(bytes, label)[4].map(str::to_owned)
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
    /// The table holds 4 GiB of labels and attributes: more than this
    /// build reads (far past the memory budget, docs/HARDENING.md).
    Full,
}

/// What a table keeps of the versions added to it: everything, unless a
/// pass that never reads some attributes says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Keep {
    /// Import digests: only an import compares them (with a later row's).
    pub digests: bool,
    /// Also-known-as and user names: shown and searched, but not indexed
    /// (FORMAT.md §12), so an import, whose table is read again only to
    /// write the index, need not keep its new versions' names.
    pub names: bool,
}

impl Keep {
    /// Every attribute.
    pub const ALL: Keep = Keep {
        digests: true,
        names: true,
    };
    /// What the table of a vault dropped once its appends and its index
    /// are written keeps (`store::append_streamed`): no names; an import
    /// then keeps a new version's digest only while a later row of its
    /// identity may repeat it.
    pub const APPENDING: Keep = Keep {
        digests: true,
        names: false,
    };
}

/// Every entry's public state (see the module's documentation).
#[derive(Clone)]
pub struct Entries {
    arena: Arena,
    rows: Chunked<Row>,
    /// How many versions the arena holds.
    versions: usize,
    /// How many versions there are, name a device, carry a key ID.
    index_rows: [usize; 3],
    /// When each exposed entry's current version was revealed, by row.
    exposed: HashMap<u32, u64>,
    by_label: HashTable<u32>,
    /// Versions with a deposit id, by that id.
    by_deposit_id: HashTable<u32>,
    hasher: RandomState,
    /// Rows in label order, made when first asked for.
    sorted: OnceLock<Vec<u32>>,
    /// Where [`Attrs::encode`] and [`Ver::encode`] write a version before
    /// the arena holds it (two buffers, not two a version).
    scratch: (Vec<u8>, Vec<u8>),
    /// What versions keep of their attributes ([`Entries::keep`]).
    keep: Keep,
    /// Whether the hash tables were let go of ([`Entries::shed_lookups`]):
    /// then lookups scan.
    shed: bool,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("entries", &self.rows.len)
            .field("versions", &self.versions)
            .finish()
    }
}

impl Default for Entries {
    fn default() -> Self {
        Self {
            arena: Arena::default(),
            rows: Chunked::new(),
            versions: 0,
            index_rows: [0; 3],
            exposed: HashMap::new(),
            by_label: HashTable::new(),
            by_deposit_id: HashTable::new(),
            hasher: RandomState::new(),
            sorted: OnceLock::new(),
            scratch: Default::default(),
            keep: Keep::ALL,
            shed: false,
        }
    }
}

impl Entries {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.rows.len
    }
    /// How many versions, of every entry.
    pub fn version_count(&self) -> usize {
        self.versions
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
        if self.shed {
            return self
                .refs_unordered()
                .flat_map(|e| e.versions())
                .find(|v| self.deposit_id_of(v.id.0) == Some(id))
                .map(|v| v.record + 1);
        }
        self.by_deposit_id
            .find(hash, |&v| self.deposit_id_of(v) == Some(id))
            .map(|&v| self.ver(v).record as usize + 1)
    }

    fn label_of(&self, row: u32) -> &str {
        let bytes = self.arena.get(self.rows.get(row as usize).label);
        std::str::from_utf8(bytes).expect("labels are pushed from &str")
    }

    fn deposit_id_of(&self, version: At) -> Option<&[u8; 16]> {
        Attrs::deposit_id(self.ver(version).attrs)
    }

    /// The version item at `at`, which the table wrote.
    fn ver(&self, at: At) -> VerFields<'_> {
        ver_in(&self.arena, at)
    }

    /// From now on, versions keep no import digest ([`EntryVersion::digest`]
    /// is `None`): 17 bytes a version fewer, for reads that never compare
    /// digests (every one but an import's).
    pub(crate) fn drop_digests(&mut self) {
        self.keep.digests = false;
    }

    /// What the versions added from now on keep; returns what they did.
    pub(crate) fn keep(&mut self, keep: Keep) -> Keep {
        std::mem::replace(&mut self.keep, keep)
    }

    /// What the versions added keep.
    pub(crate) fn keeping(&self) -> Keep {
        self.keep
    }

    fn find(&self, label: &str) -> Option<u32> {
        self.find_hashed(label, self.hasher.hash_one(label.as_bytes()))
    }

    fn find_hashed(&self, label: &str, hash: u64) -> Option<u32> {
        let is_it = |row: u32| self.label_bytes(row) == label.as_bytes();
        if self.shed {
            return (0..self.rows.len as u32).find(|&row| is_it(row));
        }
        self.by_label.find(hash, |&row| is_it(row)).copied()
    }

    /// Lets go of the hash tables that find an entry by its label and a
    /// version by its deposit id (≈10 MiB each at a million entries), for
    /// a table's last pass: an append writing the index, which reads every
    /// entry in turn. Lookups still answer, and adding still checks, by
    /// scanning every entry: slow, never wrong.
    #[cfg(any(feature = "fs", test))]
    pub(crate) fn shed_lookups(&mut self) {
        self.by_label = HashTable::new();
        self.by_deposit_id = HashTable::new();
        self.shed = true;
    }

    fn label_bytes(&self, row: u32) -> &[u8] {
        self.arena.get(self.rows.get(row as usize).label)
    }

    /// Makes room for about `entries` entries in the hash tables, so that a
    /// replay does not rehash them as it grows (the caller's estimate, from
    /// the file's size).
    pub(super) fn reserve(&mut self, entries: usize) {
        if self.shed {
            return;
        }
        let (rows, arena, hasher) = (&self.rows, &self.arena, &self.hasher);
        self.by_label.reserve(entries, |&r| {
            hasher.hash_one(arena.get(rows.get(r as usize).label))
        });
        self.by_deposit_id
            .reserve(entries, |&x| hash_deposit_id(arena, hasher, x));
    }

    /// How many versions there are, how many name a device and how many
    /// carry a key ID: the row counts of a current index's three tables
    /// (docs/FORMAT.md §12), counted without sorting anything.
    pub fn index_row_counts(&self) -> [u32; 3] {
        // Below 2^32: so are record numbers (FORMAT.md §12).
        self.index_rows
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
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
        let (mut attrs, mut item) = std::mem::take(&mut self.scratch);
        Attrs::encode(v, label, self.keep, &mut attrs);
        Ver::encode(v, row.unwrap_or(self.rows.len as u32), &attrs, &mut item);
        // A new entry's label and first version go side by side.
        let pushed = match row {
            Some(_) => self.arena.push(&[&item]).map(|at| (None, at)),
            None => (self.arena.push_pair(label.as_bytes(), &item)).map(|(l, at)| (Some(l), at)),
        };
        self.scratch = (attrs, item);
        let (label_at, new) = pushed.map_err(|Full| AddError::Full)?;
        let row = match (row, label_at) {
            (Some(r), _) => {
                let last = self.rows.get(r as usize).last;
                Ver::set_next(self.arena.get_mut(last), new);
                self.rows.get_mut(r as usize).last = new;
                r
            }
            (None, Some(at)) => self.new_row(at, slot.hash, kind, new),
            (None, None) => unreachable!("a new entry's label was pushed"),
        };
        self.versions += 1;
        for (n, counted) in
            self.index_rows
                .iter_mut()
                .zip([true, v.device.is_some(), v.key_id.is_some()])
        {
            *n += usize::from(counted);
        }
        if let Some((_, hash)) = id_hash.filter(|_| !self.shed) {
            let (table, arena, hasher) = (&mut self.by_deposit_id, &self.arena, &self.hasher);
            table.insert_unique(hash, new, |&x| hash_deposit_id(arena, hasher, x));
        }
        let e = self.rows.get_mut(row as usize);
        if let Some(days) = policy.0 {
            e.rotate_days = policy16(days);
        }
        if let Some(hours) = policy.1 {
            e.expose_hours = policy16(hours);
        }
        e.exposed = false;
        self.exposed.remove(&row);
        Ok(())
    }

    fn new_row(&mut self, label: At, hash: u64, kind: EntryKind, version: At) -> u32 {
        let row = self.rows.push(Row {
            label,
            last: version,
            rotate_days: policy16(super::DEFAULT_ROTATE_DAYS),
            expose_hours: policy16(super::DEFAULT_EXPOSE_HOURS),
            kind,
            exposed: false,
        }) as u32;
        // `hash` is of the label as bytes, as in `find` (a str and a byte
        // slice hash apart).
        let (table, rows, arena, hasher) =
            (&mut self.by_label, &self.rows, &self.arena, &self.hasher);
        if !self.shed {
            table.insert_unique(hash, row, |&r| {
                hasher.hash_one(arena.get(rows.get(r as usize).label))
            });
        }
        self.sorted = OnceLock::new();
        row
    }

    /// Marks `label`'s current version exposed at `time` when it is
    /// version `version` (an unseal revealed it).
    pub(super) fn mark_exposed(&mut self, label: &str, version: u32, time: u64) {
        if let Some(row) = self.find(label) {
            if self.ver_of_row(row).version == version {
                self.rows.get_mut(row as usize).exposed = true;
                self.exposed.insert(row, time);
            }
        }
    }

    /// The version with this id.
    pub fn version(&self, id: VersionId) -> Option<VersionRef<'_>> {
        let v = Ver::decode(self.arena.try_get(id.0)?)?;
        (v.row < self.rows.len as u32).then(|| self.version_ref(id, &v))
    }

    /// The record number − 1 and frame offset of the version with this id
    /// (an id of this table; see [`Entries::version`]): what an index row
    /// needs, without reading the version's attributes.
    pub fn frame_of(&self, id: VersionId) -> Option<(usize, u64)> {
        let v = Ver::decode(self.arena.try_get(id.0)?)?;
        Some((v.record as usize, v.offset))
    }

    fn version_ref<'t>(&'t self, id: VersionId, v: &VerFields<'t>) -> VersionRef<'t> {
        let texts = Attrs::texts(v.attrs, self.label_bytes(v.row));
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

    /// Where the first version of the entry at `row` is.
    fn first_of(&self, row: u32) -> At {
        self.arena.after(self.rows.get(row as usize).label)
    }

    fn ver_of_row(&self, row: u32) -> VerFields<'_> {
        self.ver(self.rows.get(row as usize).last)
    }

    fn exposed_at(&self, row: u32) -> Option<u64> {
        let exposed = self.rows.get(row as usize).exposed;
        exposed.then(|| self.exposed.get(&row).copied()).flatten()
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
        let label = self.table.label_bytes(self.row);
        Attrs::texts(self.table.ver_of_row(self.row).attrs, label)
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
        self.table.ver(self.table.first_of(self.row)).time
    }
    /// When the current version must be rotated because an unseal
    /// revealed it (see [`Entry::exposure_deadline`]).
    pub fn exposure_deadline(&self) -> Option<u64> {
        let hours = u64::from(self.row().expose_hours);
        let at = self.table.exposed_at(self.row);
        at.map(|t| t.saturating_add(hours * 3600))
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
        let mut at = table.first_of(self.row);
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let v = table.ver(at);
            let id = VersionId(at);
            at = v.next;
            Some(table.version_ref(id, &v))
        })
    }
    /// The entry as an owned view, every version.
    pub fn to_entry(&self) -> Entry {
        let row = self.row();
        let mut versions = Vec::new();
        let mut at = self.table.arena.after(row.label);
        while at != NONE {
            let v = self.table.ver(at);
            versions.push(Self::version(&v, self.table.label_bytes(self.row)));
            at = v.next;
        }
        Entry {
            label: self.label().to_owned(),
            kind: row.kind,
            versions,
            rotate_days: u32::from(row.rotate_days),
            expose_hours: u32::from(row.expose_hours),
            exposed_at: self.table.exposed_at(self.row),
        }
    }
    fn version(v: &VerFields, label: &[u8]) -> EntryVersion {
        let bytes = v.attrs;
        let [device, key_id, aka, user, _] =
            Attrs::texts(bytes, label).map(|t| t.map(str::to_owned));
        EntryVersion {
            version: v.version,
            time: v.time,
            device,
            key_id,
            also_known_as: aka,
            user,
            rotation: bytes[0] & Attrs::ROTATION != 0,
            digest: Attrs::digest(bytes, label),
            deposit_id: Attrs::deposit_id(bytes).copied(),
            record: v.record as usize,
            offset: v.offset,
        }
    }
}

/// The version item at `at`, which the table wrote.
fn ver_in(arena: &Arena, at: At) -> VerFields<'_> {
    Ver::decode(arena.get(at)).expect("the table's own version items decode")
}

/// The hash of the deposit id of the version at `at` (which has one: only
/// those are in the table of ids).
fn hash_deposit_id(arena: &Arena, hasher: &RandomState, at: At) -> u64 {
    let id = Attrs::deposit_id(ver_in(arena, at).attrs);
    hasher.hash_one(id.expect("indexed versions have an id"))
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

    #[test]
    fn a_number_past_64_bits_is_refused() {
        let mut past = vec![0xff; 9];
        past.push(0x02);
        assert_eq!(read_varint(&past), None);
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(read_varint(&max), Some((u64::MAX, 10)));
        assert_eq!(read_varint(&[0x80; 11]), None);
    }

    proptest! {
        #[test]
        fn numbers_read_back_as_written(n in any::<u64>(), tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let written = out.len();
            let bits = 64 - n.leading_zeros() as usize;
            prop_assert_eq!(written, bits.div_ceil(7).max(1));
            // Cut anywhere short, it is not a number.
            for cut in 0..written {
                prop_assert_eq!(read_varint(&out[..cut]), None);
            }
            out.extend_from_slice(&tail);
            prop_assert_eq!(read_varint(&out), Some((n, written)));
            prop_assert_eq!(get_varint(&out), (n, written));
        }
    }

    #[test]
    fn a_table_that_shed_its_lookups_answers_the_same() {
        let mut t = Entries::default();
        let labels = ["mac", "pc", "é"];
        for (i, label) in labels.iter().enumerate() {
            for n in 1..=3u32 {
                let id = (i as u8) * 10 + n as u8;
                t.add(
                    label,
                    EntryKind::Password,
                    &version(n, None, None, Some(id)),
                    (None, None),
                )
                .unwrap();
            }
        }
        let answers = |t: &Entries| {
            let found: Vec<_> = labels.iter().map(|l| t.get(l)).collect();
            let ids: Vec<_> = (0..40).map(|b| t.deposit_with_id(&[b; 16])).collect();
            (
                found,
                ids,
                t.get("none"),
                t.keys().map(str::to_owned).collect::<Vec<_>>(),
            )
        };
        let before = answers(&t);
        t.shed_lookups();
        assert!(t.by_label.is_empty() && t.by_deposit_id.is_empty());
        assert_eq!(answers(&t), before);
        // Adding still finds the entry, numbers the version and refuses a
        // deposit id seen before.
        assert_eq!(
            t.add(
                "pc",
                EntryKind::Password,
                &version(4, None, None, Some(2)),
                (None, None)
            ),
            Err(AddError::CopiedDeposit(3))
        );
        assert_eq!(
            t.add(
                "pc",
                EntryKind::Password,
                &version(1, None, None, Some(99)),
                (None, None)
            ),
            Err(AddError::OutOfSequence)
        );
        t.add(
            "pc",
            EntryKind::Password,
            &version(4, None, None, Some(99)),
            (None, None),
        )
        .unwrap();
        t.add(
            "new",
            EntryKind::Password,
            &version(1, None, None, Some(98)),
            (None, None),
        )
        .unwrap();
        assert_eq!(t.get("pc").unwrap().versions.len(), 4);
        assert_eq!(t.deposit_with_id(&[99; 16]), Some(5));
        assert!(t.contains_key("new") && t.by_label.is_empty());
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
            Attrs::encode(&NewVersion::of(v), "mac", Keep::ALL, &mut out);
            out
        };
        let packed = encoded(&a[0]).len();
        let mut as_text = a[0].clone();
        as_text.digest = Some("not a hex digest, 32 chars long!".into());
        assert_eq!(encoded(&as_text).len(), packed + 1 + 32 - 16);
        assert_eq!(t.deposit_with_id(&[3; 16]), None);
    }

    #[test]
    fn items_past_a_chunk_and_after_one_read_back() {
        let mut arena = Arena::default();
        let big = vec![7u8; ARENA_CHUNK + 100];
        let mut items = vec![(arena.push(&[b"first"]).unwrap(), b"first".to_vec())];
        items.push((arena.push(&[&big]).unwrap(), big.clone()));
        // The big item's chunk may have room left, but past the bits of a
        // place: small items after it go to a new chunk.
        for i in 0..20_000u32 {
            let bytes = i.to_le_bytes().repeat(1 + i as usize % 7);
            items.push((
                arena.push(&[&bytes, b"|"]).unwrap(),
                [&bytes[..], b"|"].concat(),
            ));
        }
        for (at, bytes) in &items {
            assert_eq!(arena.get(*at), &bytes[..]);
            assert_eq!(arena.try_get(*at), Some(&bytes[..]));
        }
        assert!(arena
            .chunks
            .iter()
            .all(|c| c.len() <= ARENA_CHUNK || c.len() == big.len() + 3));
        // Chunks are filled, not left mostly empty (memory is the budget):
        // all but the big one and the last hold more than half a chunk.
        let full = arena
            .chunks
            .iter()
            .filter(|c| c.len() > ARENA_CHUNK / 2)
            .count();
        assert!(
            full + 2 >= arena.chunks.len(),
            "{} chunks, {full} over half full",
            arena.chunks.len()
        );
    }

    proptest! {
        /// An id from elsewhere names nothing, or reads as something:
        /// never a panic.
        #[test]
        fn any_version_id_is_answered_without_panic(ids in proptest::collection::vec(any::<u32>(), 1..200), small in proptest::collection::vec(0u32..2000, 1..200)) {
            let mut t = Entries::default();
            for n in 1..=30 {
                t.add("a", EntryKind::Note, &version(n, Some("dev"), Some("x"), Some(n as u8)), (None, None)).unwrap();
            }
            // What it names is not checked (an id of another table may
            // read as anything); that asking never panics is.
            for id in ids.into_iter().chain(small) {
                let _ = t.version(VersionId(id));
            }
        }
    }

    #[test]
    fn a_table_without_digests_keeps_the_rest() {
        let hex = "00ff".repeat(8);
        let a = [
            version(1, Some("C02X"), Some(&hex), Some(1)),
            version(2, None, Some("not hex"), None),
        ];
        let (mut with, mut without) = (Entries::default(), Entries::default());
        without.drop_digests();
        for v in &a {
            with.add("mac", EntryKind::RecoveryKey, v, (None, None))
                .unwrap();
            without
                .add("mac", EntryKind::RecoveryKey, v, (None, None))
                .unwrap();
        }
        assert_eq!(with.get("mac").unwrap().versions, a);
        let kept = without.get("mac").unwrap().versions;
        for (v, k) in a.iter().zip(&kept) {
            assert_eq!(k.digest, None);
            assert_eq!(
                EntryVersion {
                    digest: None,
                    ..v.clone()
                },
                *k
            );
        }
        assert_eq!(without.deposit_with_id(&[1; 16]), Some(2));
    }

    #[test]
    fn texts_that_end_the_label_are_kept_once() {
        let label = "filevault-C02XK1ZJHV2Q é";
        let mut v = version(1, Some("C02XK1ZJHV2Q é"), None, Some(1));
        v.user = Some("é".into());
        v.also_known_as = Some(label.into());
        v.key_id = Some("not the end".into());
        let mut t = Entries::default();
        t.add(label, EntryKind::RecoveryKey, &v, (None, None))
            .unwrap();
        let mut empty = version(2, Some(""), None, None);
        empty.also_known_as = Some("C02XK1ZJHV2Q".into());
        t.add(label, EntryKind::RecoveryKey, &empty, (None, None))
            .unwrap();
        assert_eq!(t.get(label).unwrap().versions, [v.clone(), empty]);
        let e = t.entry(label).unwrap();
        assert_eq!(e.current_device(), Some(""));
        let first = e.versions().next().unwrap();
        assert_eq!(first.device, Some("C02XK1ZJHV2Q é"));
        assert_eq!(t.version(first.id), Some(first));
        // Only "not the end" is written out: each other text is a length.
        let mut out = Vec::new();
        Attrs::encode(&NewVersion::of(&v), label, Keep::ALL, &mut out);
        assert_eq!(out.len(), 1 + 16 + 3 + 1 + "not the end".len());
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

    /// Red team (review-s13): what anyone who deposits can put in the
    /// table at the format's limits: a 65,535-byte label ending in 2-byte
    /// characters, texts of u16 lengths (a version item larger than a
    /// chunk), suffixes of the label that start at a multibyte character,
    /// an empty text, a text equal to the label, many versions of one
    /// label between other entries. Everything reads back, every own
    /// version id answers, and the index counts agree.
    #[test]
    fn crafted_texts_at_the_format_limits_read_back() {
        let label: String = "é".repeat(32_767) + "x";
        assert_eq!(label.len(), 65_535);
        let big = |c: &str| c.repeat(32_767) + "y";
        let mut t = Entries::default();
        let mut want = Vec::new();
        for n in 1..=24u32 {
            let mut v = version(n, None, None, Some(n as u8));
            v.device = Some(match n % 4 {
                0 => label.clone(),
                1 => label[label.len() - 3..].to_owned(),
                2 => String::new(),
                _ => big("ü"),
            });
            v.key_id = Some(big("ö"));
            v.also_known_as = Some(label[1000..].to_owned());
            v.user = Some(if n % 2 == 0 { big("ä") } else { "x".into() });
            v.digest = Some(if n % 3 == 0 {
                big("ß")
            } else {
                "0f".repeat(16)
            });
            t.add(&label, EntryKind::Note, &v, (None, None)).unwrap();
            let other = format!("o{n}");
            let mut o = version(1, Some(&label), None, None);
            o.also_known_as = Some(label.clone());
            t.add(&other, EntryKind::Note, &o, (None, None)).unwrap();
            want.push(v);
        }
        assert_eq!(t.get(&label).unwrap().versions, want);
        let e = t.entry(&label).unwrap();
        assert_eq!(e.version_count(), 24);
        for v in e.versions() {
            assert_eq!(t.version(v.id), Some(v));
        }
        for o in t.refs() {
            for v in o.versions() {
                assert_eq!(t.version(v.id), Some(v));
            }
        }
        assert_eq!(t.index_row_counts(), [48, 48, 48]);
        assert_eq!(
            t.get("o7").unwrap().versions[0].device.as_deref(),
            Some(&label[..])
        );
    }

    proptest! {
        /// Red team (review-s13): texts cut from the label at any
        /// character (suffixes, the whole label, prefixes, empty) or
        /// unrelated, with multibyte characters at the cut, read back as
        /// deposited, with or without digests, and every version id
        /// answers with its own version.
        #[test]
        fn texts_cut_from_the_label_anywhere_read_back(
            labels in proptest::collection::vec("[aé€𝄞]{0,6}", 1..8),
            cuts in proptest::collection::vec((0usize..8, any::<proptest::sample::Index>(), 0u8..4), 5..60),
            digests: bool,
        ) {
            let mut t = Entries::default();
            if !digests {
                t.drop_digests();
            }
            let mut want = std::collections::BTreeMap::<String, Vec<EntryVersion>>::new();
            for (i, (l, at, how)) in cuts.into_iter().enumerate() {
                let label = &labels[l % labels.len()];
                let bounds: Vec<usize> = label.char_indices().map(|(b, _)| b).chain([label.len()]).collect();
                let b = bounds[at.index(bounds.len())];
                let text = match how {
                    0 => label[b..].to_owned(),
                    1 => label[..b].to_owned(),
                    2 => format!("é{}", &label[b..]),
                    _ => String::new(),
                };
                let n = want.get(label).map_or(1, |v| v.len() as u32 + 1);
                let mut v = version(n, Some(&text), None, Some(i as u8));
                v.key_id = Some(label[b..].to_owned());
                v.also_known_as = Some(text.clone());
                v.user = (how % 2 == 0).then(|| label.clone());
                v.digest = Some(format!("{:032x}", i)).filter(|_| digests);
                t.add(label, EntryKind::Note, &v, (None, None)).unwrap();
                want.entry(label.clone()).or_default().push(v);
            }
            for (label, versions) in &want {
                prop_assert_eq!(&t.get(label).unwrap().versions, versions);
                for v in t.entry(label).unwrap().versions() {
                    prop_assert_eq!(t.version(v.id), Some(v));
                }
            }
        }
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
                if i % 2 == 1 {
                    v.key_id = None;
                }
                t.add(label, EntryKind::Note, &v, (None, None)).unwrap();
                map.entry(label.clone()).or_default().push(i as u32);
            }
            prop_assert_eq!(t.len(), map.len());
            prop_assert_eq!(t.version_count(), labels.len());
            let recount = t.refs_unordered().flat_map(|e| e.versions()).fold([0u32; 3], |[a, d, k], v| {
                [a + 1, d + u32::from(v.device.is_some()), k + u32::from(v.key_id.is_some())]
            });
            prop_assert_eq!(t.index_row_counts(), recount);
            let n = labels.len() as u32;
            prop_assert_eq!(recount, [n, n, n.div_ceil(2)]);
            prop_assert!(t.keys().eq(map.keys().map(String::as_str)));
            for (label, records) in &map {
                let e = t.entry(label).unwrap();
                prop_assert_eq!(e.current_device(), Some(label.as_str()));
                for v in e.versions() {
                    prop_assert_eq!(t.version(v.id), Some(v));
                    prop_assert_eq!(t.frame_of(v.id), Some((v.record, v.offset)));
                }
                let owned = e.to_entry();
                prop_assert_eq!(owned.versions.iter().map(|v| v.record as u32).collect::<Vec<_>>(), records.clone());
            }
            prop_assert!(!t.contains_key("not-a-label-here"));
        }
    }
}
