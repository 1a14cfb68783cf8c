//! The lookup index: a sidecar file (`VAULT.index`) that finds a label's,
//! a device's or a key ID's deposits without replaying the vault
//! (docs/FORMAT.md §12, index version 2).
//!
//! The index is derived data. It is never trusted for what it points to —
//! every record it leads to is read from the vault and checked (frame check,
//! chain hash, then replay rules and HPKE) — and it is rebuilt from a whole
//! replay whenever it does not match the vault. It only saves reading the
//! records it does not point to.
//!
//! ```text
//! index  = header-page label-pages device-pages key-id-pages  (4096-byte pages)
//! page   = content(4080) check(16)
//! check  = SHA-256("breakglass/v1/index" || page-number(u64) || header-check || content)[..16]
//! row    = key(u64) offset(u64) number(u32)          (20 bytes, 204 a page)
//! ```
//!
//! Rows are sorted by (key, offset); a key is the first eight bytes of a
//! SHA-256 of the label, of the device in ASCII lower case, or of the key
//! ID in ASCII upper case. Keys may
//! collide: a lookup returns every row with the key and the caller keeps the
//! records that really match. Every page read is checked, so a damaged index
//! is noticed before any of its rows is used.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::keys::sha256;

/// First eight bytes of an index file.
pub const MAGIC: [u8; 8] = *b"\x89BGIDX\r\n";
/// The index format version this build writes and reads. An index of
/// another version (version 1 had no key-ID table) is not used, and a
/// whole replay replaces it (FORMAT.md §12).
pub const VERSION: u16 = 2;
/// Bytes in a page.
pub const PAGE: usize = 4096;
const CHECK: usize = 16;
const CONTENT: usize = PAGE - CHECK;
const ROW: usize = 20;
/// Rows in a full page.
pub const ROWS_PER_PAGE: usize = CONTENT / ROW;
const HEADER_USED: usize = 8 + 2 + 32 + 8 + 32 + 4 + 4 + 4 + 4 + 8;

/// One indexed deposit: whose key, where its frame starts, its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Row {
    /// Label key, device key or key-ID key.
    pub key: u64,
    /// Byte offset of the deposit's frame in the vault file.
    pub offset: u64,
    /// 1-based record number of the deposit.
    pub number: u32,
}

/// The three tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Every deposit, by label.
    Labels,
    /// Every deposit that names a device, by device.
    Devices,
    /// Every deposit that carries a BitLocker key ID, by key ID.
    KeyIds,
}

impl Table {
    /// The tables in file order.
    pub const ALL: [Table; 3] = [Table::Labels, Table::Devices, Table::KeyIds];
}

/// What the index covers: the vault's first `covered` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Chain hash of the vault's genesis record.
    pub genesis: [u8; 32],
    /// Bytes of the vault covered (the end of the last covered record).
    pub covered: u64,
    /// Chain hash of the last covered record (the vault's last 32 bytes
    /// when the index is current).
    pub head: [u8; 32],
    /// Records covered.
    pub records: u32,
    /// Rows in the label table.
    pub labels: u32,
    /// Rows in the device table.
    pub devices: u32,
    /// Rows in the key-ID table.
    pub key_ids: u32,
    /// File offset of the last covered record's frame: where a writer
    /// finds that record to prove `covered` is a record boundary.
    pub last: u64,
}

/// The rows of an index, one list a table, in [`Table::ALL`]'s order.
pub type Tables = [Vec<Row>; 3];

/// Why an index cannot be used (it is then rebuilt, never trusted).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be read.
    #[error("index: {0}")]
    Io(#[from] io::Error),
    /// An index of another version (an older build's): rebuilt.
    #[error("index version {0} is not version {VERSION}: it is rebuilt")]
    Version(u16),
    /// Not an index, or damaged.
    #[error("index: {0}")]
    Unusable(&'static str),
}

/// The key of a label.
pub fn label_key(label: &str) -> u64 {
    key(b"breakglass/v1/index/label", label.as_bytes())
}

/// The key of a device identifier: trimmed and in ASCII lower case, as
/// `--device` lookups compare.
pub fn device_key(device: &str) -> u64 {
    key(
        b"breakglass/v1/index/device",
        crate::vault::device_lookup_form(device).as_bytes(),
    )
}

/// The key of a key ID: trimmed and in ASCII upper case, as a stored
/// key-id attribute is (the key-ID match rule).
pub fn key_id_key(key_id: &str) -> u64 {
    key(
        b"breakglass/v1/index/key-id",
        key_id.trim().to_ascii_uppercase().as_bytes(),
    )
}

fn key(domain: &[u8], value: &[u8]) -> u64 {
    let h = sha256(&[domain, value]);
    u64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

fn pages_for(rows: u32) -> u64 {
    (rows as u64).div_ceil(ROWS_PER_PAGE as u64)
}

fn page_check(number: u64, header_check: &[u8], content: &[u8]) -> [u8; CHECK] {
    let h = sha256(&[
        b"breakglass/v1/index",
        &number.to_be_bytes(),
        header_check,
        content,
    ]);
    h[..CHECK].try_into().expect("16 bytes")
}

impl Header {
    fn encode(&self) -> [u8; PAGE] {
        let mut page = [0u8; PAGE];
        let mut at = 0;
        for part in [
            &MAGIC[..],
            &VERSION.to_be_bytes(),
            &self.genesis,
            &self.covered.to_be_bytes(),
            &self.head,
            &self.records.to_be_bytes(),
            &self.labels.to_be_bytes(),
            &self.devices.to_be_bytes(),
            &self.key_ids.to_be_bytes(),
            &self.last.to_be_bytes(),
        ] {
            page[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let check = page_check(0, &[], &page[..CONTENT]);
        page[CONTENT..].copy_from_slice(&check);
        page
    }

    fn decode(page: &[u8; PAGE]) -> Result<Self, IndexError> {
        if page[..8] != MAGIC {
            return Err(IndexError::Unusable("not an index (wrong magic bytes)"));
        }
        let version = u16::from_be_bytes([page[8], page[9]]);
        if version != VERSION {
            return Err(IndexError::Version(version));
        }
        if page[CONTENT..] != page_check(0, &[], &page[..CONTENT]) {
            return Err(IndexError::Unusable("header page check fails"));
        }
        if page[HEADER_USED..CONTENT].iter().any(|&b| b != 0) {
            return Err(IndexError::Unusable("header padding is not zero"));
        }
        let u32_at = |at: usize| u32::from_be_bytes(page[at..at + 4].try_into().expect("4"));
        let header = Self {
            genesis: page[10..42].try_into().expect("32"),
            covered: u64::from_be_bytes(page[42..50].try_into().expect("8")),
            head: page[50..82].try_into().expect("32"),
            records: u32_at(82),
            labels: u32_at(86),
            devices: u32_at(90),
            key_ids: u32_at(94),
            last: u64::from_be_bytes(page[98..106].try_into().expect("8")),
        };
        if header.labels > header.records
            || header.devices > header.labels
            || header.key_ids > header.labels
        {
            return Err(IndexError::Unusable("more rows than records"));
        }
        Ok(header)
    }

    /// Pages in the whole file.
    fn pages(&self) -> u64 {
        1 + pages_for(self.labels) + pages_for(self.devices) + pages_for(self.key_ids)
    }

    /// First page and row count of a table.
    pub(crate) fn table(&self, table: Table) -> (u64, u32) {
        match table {
            Table::Labels => (1, self.labels),
            Table::Devices => (1 + pages_for(self.labels), self.devices),
            Table::KeyIds => (
                1 + pages_for(self.labels) + pages_for(self.devices),
                self.key_ids,
            ),
        }
    }
}

/// The bytes of an index. Rows are sorted here (in place); the header's
/// row counts are taken from them.
pub fn encode(header: &Header, tables: &mut Tables) -> Vec<u8> {
    let [labels, devices, key_ids] = tables;
    let header = Header {
        labels: labels.len() as u32,
        devices: devices.len() as u32,
        key_ids: key_ids.len() as u32,
        ..*header
    };
    let mut out = Vec::with_capacity(header.pages() as usize * PAGE);
    let mut pages = Pages::start(&header, &mut out).expect("writing to memory");
    for (table, count) in [
        (labels, header.labels),
        (devices, header.devices),
        (key_ids, header.key_ids),
    ] {
        table.sort_unstable();
        pages
            .table(table.iter().copied(), count)
            .expect("writing to memory");
    }
    out
}

/// Writes an index page by page to `out`, one table at a time: `rows`
/// gives a table's rows, in order (by key, then offset), only when it is
/// written, so a million-entry index never has two tables, or its bytes,
/// in memory, and the rows need not be held at all. `header` gives the
/// row counts, which the rows must match; rows out of order, a row twice
/// (which no reader takes), or too few or too many are an error (after
/// some pages were written).
pub fn write<I: IntoIterator<Item = Row>>(
    header: &Header,
    mut rows: impl FnMut(Table) -> I,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut pages = Pages::start(header, out)?;
    for table in Table::ALL {
        let (_, count) = header.table(table);
        let mut prev: Option<Row> = None;
        let mut sorted = true;
        let rows = rows(table).into_iter().inspect(|&row| {
            sorted &= prev.is_none_or(|p| p < row);
            prev = Some(row);
        });
        pages.table(rows, count)?;
        if !sorted {
            return Err(io::Error::other("index rows are not in order"));
        }
    }
    Ok(())
}

/// The bytes of page `number` holding `rows` (at most a page's), zeros
/// after them, and its check: the one encoding of a page, for writing and
/// for checking an index byte for byte ([`Stream`]).
fn page_bytes(number: u64, header_check: &[u8; CHECK], rows: &[Row], page: &mut [u8; PAGE]) {
    page.fill(0);
    for (i, row) in rows.iter().enumerate() {
        let at = i * ROW;
        page[at..at + 8].copy_from_slice(&row.key.to_be_bytes());
        page[at + 8..at + 16].copy_from_slice(&row.offset.to_be_bytes());
        page[at + 16..at + 20].copy_from_slice(&row.number.to_be_bytes());
    }
    let check = page_check(number, header_check, &page[..CONTENT]);
    page[CONTENT..].copy_from_slice(&check);
}

/// The rows in a page's first `here` row slots.
fn parse_rows(page: &[u8; PAGE], here: usize, rows: &mut Vec<Row>) {
    rows.clear();
    rows.extend(page[..here * ROW].chunks(ROW).map(|r| Row {
        key: u64::from_be_bytes(r[..8].try_into().expect("8")),
        offset: u64::from_be_bytes(r[8..16].try_into().expect("8")),
        number: u32::from_be_bytes(r[16..20].try_into().expect("4")),
    }));
}

/// The pages of an index being written, numbered from the first table's.
struct Pages<'a, W> {
    header_check: [u8; CHECK],
    number: u64,
    out: &'a mut W,
}

impl<'a, W: Write> Pages<'a, W> {
    /// Writes the header page; the tables' pages follow it.
    fn start(header: &Header, out: &'a mut W) -> io::Result<Self> {
        let first = header.encode();
        out.write_all(&first)?;
        Ok(Self {
            header_check: first[CONTENT..].try_into().expect("16 bytes"),
            number: 1,
            out,
        })
    }

    /// Writes `rows`, as they come (exactly `count` of them), as the next
    /// table's pages, a page at a time.
    fn table(&mut self, rows: impl IntoIterator<Item = Row>, count: u32) -> io::Result<()> {
        let wrong = || io::Error::other("index rows do not match the header's count");
        let mut rows = rows.into_iter();
        let mut chunk = Vec::with_capacity(ROWS_PER_PAGE);
        let mut page = [0u8; PAGE];
        let mut left = count as usize;
        while left > 0 {
            let here = left.min(ROWS_PER_PAGE);
            chunk.clear();
            chunk.extend(rows.by_ref().take(here));
            if chunk.len() != here {
                return Err(wrong());
            }
            page_bytes(self.number, &self.header_check, &chunk, &mut page);
            self.out.write_all(&page)?;
            self.number += 1;
            left -= here;
        }
        match rows.next() {
            Some(_) => Err(wrong()),
            None => Ok(()),
        }
    }
}

/// A keyed hash of rows, for comparing two lists of rows as multisets
/// without holding either: [`RowSums`] adds the hashes (wrapping, 128
/// bits), and two lists whose sums and counts agree hold the same rows but
/// for a chance of about 2^-96 over the key (counts are below 2^32), as
/// long as whoever made the lists never saw the key.
///
/// Two lanes of std's `RandomState` hasher (SipHash-1-3 today, keyed
/// from the OS once a thread), each over a fresh 16-byte salt from the OS
/// and then the row: a new function for every check, never shown or
/// stored.
#[derive(Clone)]
pub struct RowKey {
    lanes: [std::collections::hash_map::DefaultHasher; 2],
}

impl RowKey {
    /// A key no one has seen.
    pub fn fresh() -> Self {
        Self {
            lanes: crate::keys::salted_lanes(),
        }
    }

    /// The row's hash under this key.
    pub fn hash(&self, row: &Row) -> u128 {
        use std::hash::Hasher;
        let [a, b] = self.lanes.clone().map(|mut h| {
            h.write_u64(row.key);
            h.write_u64(row.offset);
            h.write_u32(row.number);
            h.finish()
        });
        (a as u128) << 64 | b as u128
    }
}

/// Each table's rows summed under a [`RowKey`], and counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowSums {
    sums: [u128; 3],
    counts: [u64; 3],
}

impl RowSums {
    /// Adds `row` to `table`'s sum.
    pub fn add(&mut self, key: &RowKey, table: Table, row: &Row) {
        let t = table as usize;
        self.sums[t] = self.sums[t].wrapping_add(key.hash(row));
        self.counts[t] += 1;
    }

    /// Both sums together (of two parts of the same lists).
    pub fn merged(self, other: Self) -> Self {
        let mut out = self;
        for t in 0..3 {
            out.sums[t] = out.sums[t].wrapping_add(other.sums[t]);
            out.counts[t] += other.counts[t];
        }
        out
    }

    /// The sums of whole tables.
    pub fn of(key: &RowKey, tables: &Tables) -> Self {
        let mut sums = Self::default();
        for (table, rows) in Table::ALL.into_iter().zip(tables) {
            for row in rows {
                sums.add(key, table, row);
            }
        }
        sums
    }
}

/// An index file read from the start, a page at a time, to tell whether
/// it is exactly what [`write`] writes for a given header and rows,
/// without holding the rows (after every whole replay: FORMAT.md §12).
///
/// [`Stream::start`] wants the header page to be the given header's, byte
/// for byte; [`Stream::sums`] then wants every page to be the one
/// encoding of the rows read from it (so its check, its padding and where
/// its rows sit are what a writer makes), each table's rows strictly
/// increasing across its pages, and nothing after the last page; and it
/// returns the rows' [`RowSums`]. When those equal the sums of the rows
/// the index should hold, the file holds those rows (a multiset), sorted,
/// which is one sequence: the file is byte for byte the index [`write`]
/// writes.
pub struct Stream<R> {
    source: R,
    header: Header,
    header_check: [u8; CHECK],
}

impl<R: Read> Stream<R> {
    /// Reads the header page; `None` unless it is `header`'s encoding.
    pub fn start(mut source: R, header: &Header) -> Option<Self> {
        let want = header.encode();
        let mut page = [0u8; PAGE];
        source.read_exact(&mut page).ok()?;
        (page == want).then(|| Self {
            source,
            header: *header,
            header_check: want[CONTENT..].try_into().expect("16 bytes"),
        })
    }

    /// Reads every table's pages and the end of the file: the sums of the
    /// rows read, or `None` at the first page that is not canonical, row
    /// out of order, or byte past the last page.
    pub fn sums(mut self, key: &RowKey) -> Option<RowSums> {
        let mut sums = RowSums::default();
        let mut page = [0u8; PAGE];
        let mut canonical = [0u8; PAGE];
        let mut rows = Vec::with_capacity(ROWS_PER_PAGE);
        for table in Table::ALL {
            let (first, count) = self.header.table(table);
            let mut prev: Option<Row> = None;
            for n in 0..pages_for(count) {
                self.source.read_exact(&mut page).ok()?;
                let before = n * ROWS_PER_PAGE as u64;
                let here = (count as u64 - before).min(ROWS_PER_PAGE as u64) as usize;
                parse_rows(&page, here, &mut rows);
                page_bytes(first + n, &self.header_check, &rows, &mut canonical);
                if page != canonical {
                    return None;
                }
                for row in &rows {
                    if prev.is_some_and(|p| p >= *row) {
                        return None;
                    }
                    prev = Some(*row);
                    sums.add(key, table, row);
                }
            }
        }
        let mut rest = [0u8; 1];
        loop {
            match self.source.read(&mut rest) {
                Ok(0) => return Some(sums),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return None,
            }
        }
    }
}

/// An open index: the header checked, pages read and checked on demand.
pub struct Index<R> {
    source: R,
    header: Header,
    header_check: [u8; CHECK],
    cached: Option<(u64, Vec<Row>)>,
}

impl<R: Read + Seek> Index<R> {
    /// Opens an index: reads and checks its header page and its length.
    pub fn open(mut source: R) -> Result<Self, IndexError> {
        let len = source.seek(SeekFrom::End(0))?;
        let mut page = [0u8; PAGE];
        read_page(&mut source, 0, &mut page)?;
        let header = Header::decode(&page)?;
        if len != header.pages() * PAGE as u64 {
            return Err(IndexError::Unusable(
                "index length does not match its header",
            ));
        }
        Ok(Self {
            source,
            header,
            header_check: page[CONTENT..].try_into().expect("16"),
            cached: None,
        })
    }

    /// What the index covers.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Every row with `key` in `table`, in file order. O(log n) page reads.
    pub fn find(&mut self, table: Table, key: u64) -> Result<Vec<Row>, IndexError> {
        let (_, count) = self.header.table(table);
        // Lower bound: the first row whose key is not below `key`.
        let (mut lo, mut hi) = (0u32, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.row(table, mid)?.key < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut found = Vec::new();
        while lo < count {
            let row = self.row(table, lo)?;
            if row.key != key {
                break;
            }
            found.push(row);
            lo += 1;
        }
        Ok(found)
    }

    /// Every row of `table` (to merge newer rows in), each page checked.
    pub fn rows(&mut self, table: Table) -> Result<Vec<Row>, IndexError> {
        let (first, count) = self.header.table(table);
        let mut all = Vec::with_capacity(count as usize);
        for page in 0..pages_for(count) {
            all.extend(self.page(first + page, table)?);
        }
        Ok(all)
    }

    fn row(&mut self, table: Table, i: u32) -> Result<Row, IndexError> {
        let (first, _) = self.header.table(table);
        let page = first + i as u64 / ROWS_PER_PAGE as u64;
        let rows = self.page(page, table)?;
        Ok(rows[i as usize % ROWS_PER_PAGE])
    }

    /// Page `number` of `table`, read and checked (the last one read is kept).
    fn page(&mut self, number: u64, table: Table) -> Result<Vec<Row>, IndexError> {
        if let Some((n, rows)) = &self.cached {
            if *n == number {
                return Ok(rows.clone());
            }
        }
        let mut page = [0u8; PAGE];
        read_page(&mut self.source, number, &mut page)?;
        if page[CONTENT..] != page_check(number, &self.header_check, &page[..CONTENT]) {
            return Err(IndexError::Unusable("a page's check fails"));
        }
        let (first, count) = self.header.table(table);
        let before = (number - first) * ROWS_PER_PAGE as u64;
        let here = (count as u64 - before).min(ROWS_PER_PAGE as u64) as usize;
        let mut rows = Vec::with_capacity(here);
        parse_rows(&page, here, &mut rows);
        if page[here * ROW..CONTENT].iter().any(|&b| b != 0) {
            return Err(IndexError::Unusable("a page's padding is not zero"));
        }
        if rows.windows(2).any(|w| w[0] >= w[1]) {
            return Err(IndexError::Unusable("a page's rows are out of order"));
        }
        self.cached = Some((number, rows.clone()));
        Ok(rows)
    }
}

fn read_page<R: Read + Seek>(source: &mut R, number: u64, page: &mut [u8; PAGE]) -> io::Result<()> {
    source.seek(SeekFrom::Start(number * PAGE as u64))?;
    source.read_exact(page)
}

/// Recomputes every page's check of an index's bytes (the header page's
/// first), as someone forging an index would: for tests that forge rows
/// past the checks.
#[cfg(test)]
pub(crate) fn reseal(bytes: &mut [u8]) {
    let header_check = page_check(0, &[], &bytes[..CONTENT]);
    bytes[CONTENT..PAGE].copy_from_slice(&header_check);
    for (n, page) in bytes.chunks_mut(PAGE).enumerate().skip(1) {
        let check = page_check(n as u64, &header_check, &page[..CONTENT]);
        page[CONTENT..].copy_from_slice(&check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn header() -> Header {
        Header {
            genesis: [1; 32],
            covered: 1234,
            head: [2; 32],
            records: 100_000,
            labels: 0,
            devices: 0,
            key_ids: 0,
            last: 1000,
        }
    }

    impl Arbitrary for Header {
        type Parameters = ();
        type Strategy = BoxedStrategy<Self>;
        fn arbitrary_with(_: ()) -> Self::Strategy {
            (
                any::<[u8; 32]>(),
                any::<u64>(),
                any::<[u8; 32]>(),
                any::<u32>(),
                any::<u64>(),
            )
                .prop_map(|(genesis, covered, head, records, last)| Header {
                    genesis,
                    covered,
                    head,
                    records,
                    labels: 0,
                    devices: 0,
                    key_ids: 0,
                    last,
                })
                .boxed()
        }
    }

    fn rows(keys: &[u64]) -> Vec<Row> {
        keys.iter()
            .enumerate()
            .map(|(i, &key)| Row {
                key,
                offset: 10 + i as u64 * 100,
                number: i as u32 + 1,
            })
            .collect()
    }

    #[test]
    fn keys_are_pinned_and_devices_ignore_case_and_spaces() {
        assert_eq!(device_key(" C02XK1ZAJG5H "), device_key("c02xk1zajg5h"));
        assert_ne!(label_key("c02xk1zajg5h"), device_key("c02xk1zajg5h"));
        assert_eq!(key_id_key(" 1a2b3c4d "), key_id_key("1A2B3C4D"));
        assert_ne!(key_id_key("1A2B3C4D"), device_key("1A2B3C4D"));
        // Pinned: SHA-256("breakglass/v1/index/key-id" || "1A2B3C4D")[..8].
        assert_eq!(key_id_key("1a2b3c4d"), 0xb42e_6c92_bc8f_4602);
        assert_ne!(label_key("A"), label_key("a"));
        // Pinned: FORMAT.md §12 gives this value.
        assert_eq!(
            label_key("entra-breakglass-1"),
            u64::from_be_bytes(
                sha256(&[b"breakglass/v1/index/label", b"entra-breakglass-1"])[..8]
                    .try_into()
                    .unwrap()
            )
        );
    }

    #[test]
    fn an_empty_index_is_one_page() {
        let bytes = encode(&header(), &mut Default::default());
        assert_eq!(bytes.len(), PAGE);
        let mut index = Index::open(Cursor::new(bytes)).unwrap();
        assert_eq!(index.header().covered, 1234);
        assert!(index.find(Table::Labels, 7).unwrap().is_empty());
        assert!(index.rows(Table::Devices).unwrap().is_empty());
        assert!(index.find(Table::KeyIds, 7).unwrap().is_empty());
        assert_eq!(index.header().last, 1000);
    }

    /// An index written by an earlier build (version 1: no key-ID table,
    /// no `last`) is its own error, so the caller rebuilds it.
    #[test]
    fn a_version_1_index_is_refused_as_such() {
        let mut bytes = encode(&header(), &mut Default::default());
        bytes[8..10].copy_from_slice(&1u16.to_be_bytes());
        let check = page_check(0, &[], &bytes[..CONTENT]);
        bytes[CONTENT..PAGE].copy_from_slice(&check);
        assert!(matches!(
            Index::open(Cursor::new(bytes)),
            Err(IndexError::Version(1))
        ));
    }

    #[test]
    fn every_flipped_byte_is_refused_when_read() {
        let labels = rows(&(0..300).map(|i| i * 3).collect::<Vec<_>>());
        let bytes = encode(&header(), &mut [labels, rows(&[5, 9]), rows(&[4])]);
        assert_eq!(bytes.len(), 5 * PAGE);
        for at in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            let refused = match Index::open(Cursor::new(bad)) {
                Err(_) => true,
                Ok(mut i) => Table::ALL.iter().any(|&t| i.rows(t).is_err()),
            };
            assert!(refused, "flip at {at} went unnoticed");
        }
    }

    #[test]
    fn truncated_or_padded_files_are_refused() {
        let bytes = encode(&header(), &mut [rows(&[1, 2, 3]), vec![], vec![]]);
        for len in [0, 10, PAGE, bytes.len() - 1] {
            assert!(Index::open(Cursor::new(bytes[..len].to_vec())).is_err());
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; PAGE]);
        assert!(Index::open(Cursor::new(longer)).is_err());
    }

    /// The fuzz seed `key-ids-v2` was written by a separate encoder (a
    /// Python script following FORMAT.md §12): three BitLocker keys, one of
    /// which changed its key ID. The two encoders must agree.
    #[test]
    fn the_fuzz_seed_of_all_three_tables_reads_back() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/index_file/");
        let seed = std::fs::read(format!("{dir}key-ids-v2")).unwrap();
        let (probe, file) = seed.split_at(8);
        assert_eq!(probe, key_id_key("1A2B3C4D").to_be_bytes());
        let mut index = Index::open(Cursor::new(file.to_vec())).unwrap();
        let numbers = |rows: Vec<Row>| rows.iter().map(|r| r.number).collect::<Vec<_>>();
        let found = index.find(Table::KeyIds, key_id_key("1a2b3c4d")).unwrap();
        assert_eq!(numbers(found), [2, 4]);
        let found = index.find(Table::Devices, device_key("pc-7")).unwrap();
        assert_eq!(numbers(found), [2, 3]);
        let h = *index.header();
        let mut tables: Tables = Default::default();
        for (table, rows) in Table::ALL.into_iter().zip(&mut tables) {
            *rows = index.rows(table).unwrap();
        }
        assert!(
            encode(&h, &mut tables) == file,
            "the same bytes from this encoder"
        );
    }

    /// The header `tables` are the index of: `header()` with their counts.
    fn header_of(tables: &Tables) -> Header {
        Header {
            labels: tables[0].len() as u32,
            devices: tables[1].len() as u32,
            key_ids: tables[2].len() as u32,
            ..header()
        }
    }

    /// What the streaming check says of `bytes` as the index of `tables`
    /// (sorted, as `encode` leaves them) under `header_of(tables)`.
    fn current(bytes: &[u8], tables: &Tables) -> bool {
        let key = RowKey::fresh();
        let stream = Stream::start(Cursor::new(bytes), &header_of(tables));
        stream.and_then(|s| s.sums(&key)) == Some(RowSums::of(&key, tables))
    }

    /// Three tables, the label table on two pages.
    fn three_tables() -> (Tables, Vec<u8>) {
        let labels = rows(&(0..300).map(|i| i * 3).collect::<Vec<_>>());
        let devices = rows(&[5, 9, 12, 40]);
        let key_ids = rows(&[4, 7]);
        let mut tables = [labels, devices, key_ids];
        let bytes = encode(&header(), &mut tables);
        (tables, bytes)
    }

    /// Where row `i` of `table` sits in the index of `header`.
    fn row_at(header: &Header, table: Table, i: usize) -> usize {
        let (first, _) = header.table(table);
        first as usize * PAGE + i / ROWS_PER_PAGE * PAGE + i % ROWS_PER_PAGE * ROW
    }

    /// `bytes` with rows `i` and `j` of `table` exchanged, checks recomputed.
    fn swapped(bytes: &[u8], tables: &Tables, table: Table, i: usize, j: usize) -> Vec<u8> {
        let h = header_of(tables);
        let (a, b) = (row_at(&h, table, i), row_at(&h, table, j));
        let mut out = bytes.to_vec();
        let row_a: [u8; ROW] = out[a..a + ROW].try_into().unwrap();
        out.copy_within(b..b + ROW, a);
        out[b..b + ROW].copy_from_slice(&row_a);
        reseal(&mut out);
        out
    }

    #[test]
    fn the_stream_takes_the_index_it_writes_and_a_fresh_key_each_time() {
        let (tables, bytes) = three_tables();
        assert!(current(&bytes, &tables));
        let mut written = Vec::new();
        let mut rows_of = |t: Table| tables[t as usize].clone();
        write(&header_of(&tables), &mut rows_of, &mut written).unwrap();
        assert!(written == bytes, "write and encode agree");
        assert!(!current(&bytes[..bytes.len() - 1], &tables), "cut short");
        assert!(!current(&[], &tables));
        let row = tables[0][0];
        assert_ne!(RowKey::fresh().hash(&row), RowKey::fresh().hash(&row));
    }

    #[test]
    fn write_refuses_rows_out_of_order_or_not_as_counted() {
        let (tables, _) = three_tables();
        let h = header_of(&tables);
        let mut out = Vec::new();
        let mut reversed = |t: Table| tables[t as usize].iter().rev().copied().collect::<Vec<_>>();
        assert!(write(&h, &mut reversed, &mut out).is_err());
        let mut short = |t: Table| tables[t as usize][1..].to_vec();
        assert!(write(&h, &mut short, &mut Vec::new()).is_err());
        let mut long = |t: Table| {
            let mut rows = tables[t as usize].clone();
            rows.push(Row {
                key: u64::MAX,
                offset: 0,
                number: 0,
            });
            rows
        };
        assert!(write(&h, &mut long, &mut Vec::new()).is_err());
        // A row twice, as many rows as counted: in order, but no reader
        // would take it.
        let mut twice = |t: Table| {
            let mut rows = tables[t as usize].clone();
            if rows.len() > 1 {
                rows[1] = rows[0];
            }
            rows
        };
        assert!(write(&h, &mut twice, &mut Vec::new()).is_err());
        assert!(write(&h, |t| tables[t as usize].clone(), &mut Vec::new()).is_ok());
    }

    /// Two rows exchanged (in a page, and across a page boundary): every
    /// page is canonical and the multiset is the same; only the order
    /// check sees it.
    #[test]
    fn forged_order_is_refused() {
        let (tables, bytes) = three_tables();
        for (i, j) in [(3, 4), (ROWS_PER_PAGE - 1, ROWS_PER_PAGE)] {
            let forged = swapped(&bytes, &tables, Table::Labels, i, j);
            assert!(forged != bytes);
            assert!(!current(&forged, &tables), "rows {i} and {j} swapped");
        }
        let forged = swapped(&bytes, &tables, Table::Devices, 0, 3);
        assert!(!current(&forged, &tables), "device rows swapped");
    }

    /// A row's offset or number changed (order kept, checks recomputed):
    /// only the multiset check sees it.
    #[test]
    fn forged_offsets_and_numbers_are_refused() {
        let (tables, _) = three_tables();
        for table in Table::ALL {
            for edit in [
                (|r: &mut Row| r.offset += 1) as fn(&mut Row),
                |r: &mut Row| r.number += 1,
                |r: &mut Row| r.offset = u64::MAX,
            ] {
                let mut forged = tables.clone();
                edit(&mut forged[table as usize][1]);
                let bytes = encode(&header(), &mut forged);
                assert!(!current(&bytes, &tables), "{table:?}");
            }
        }
    }

    /// A row moved to another table (the counts in the header follow), or
    /// two rows exchanged between tables (the counts stay: only the
    /// per-table sums see it).
    #[test]
    fn forged_rows_from_another_table_are_refused() {
        let (tables, _) = three_tables();
        let mut moved = tables.clone();
        let row = moved[0].remove(7);
        moved[1].push(row);
        assert!(!current(&encode(&header(), &mut moved), &tables));
        for (a, b) in [(0, 1), (1, 2), (0, 2)] {
            let mut exchanged = tables.clone();
            let row = exchanged[a].remove(1);
            let other = std::mem::replace(&mut exchanged[b][0], row);
            exchanged[a].push(other);
            let forged = encode(&header(), &mut exchanged);
            assert!(!current(&forged, &tables), "tables {a} and {b}");
        }
    }

    /// A row repeated in place of another: same count, still sorted
    /// (not strictly), every check right.
    #[test]
    fn a_forged_duplicate_row_is_refused() {
        let (tables, _) = three_tables();
        for i in [0, 10, ROWS_PER_PAGE - 1, 298] {
            let mut forged = tables.clone();
            forged[0][i + 1] = forged[0][i];
            assert!(
                !current(&encode(&header(), &mut forged), &tables),
                "row {i}"
            );
        }
    }

    /// Bytes a writer leaves zero set (after a table's last row, and
    /// past the header's fields), checks recomputed.
    #[test]
    fn forged_padding_is_refused() {
        let (tables, bytes) = three_tables();
        let h = header_of(&tables);
        for at in [
            row_at(&h, Table::Labels, 300),
            row_at(&h, Table::Devices, 4) + 7,
            row_at(&h, Table::KeyIds, 2) + CONTENT - 2 * ROW - 1,
            HEADER_USED,
        ] {
            let mut forged = bytes.clone();
            forged[at] = 1;
            reseal(&mut forged);
            assert!(!current(&forged, &tables), "byte {at}");
        }
    }

    /// A page more, of zeros or of rows, with its check.
    #[test]
    fn a_forged_extra_page_is_refused() {
        let (tables, bytes) = three_tables();
        let last = bytes[bytes.len() - PAGE..].to_vec();
        for page in [vec![0; PAGE], last] {
            let mut forged = bytes.clone();
            forged.extend_from_slice(&page);
            reseal(&mut forged);
            assert!(!current(&forged, &tables));
        }
        let mut forged = bytes.clone();
        forged.push(0);
        assert!(!current(&forged, &tables), "a byte more");
    }

    /// A header count one off, the rows as they were (a table's last page
    /// has room): only the header comparison sees it, since the stream
    /// reads pages by the expected header.
    #[test]
    fn a_forged_header_count_is_refused() {
        let (tables, bytes) = three_tables();
        for at in [86, 90, 94] {
            for delta in [1u32, u32::MAX] {
                let mut forged = bytes.clone();
                let n = u32::from_be_bytes(forged[at..at + 4].try_into().unwrap());
                forged[at..at + 4].copy_from_slice(&n.wrapping_add(delta).to_be_bytes());
                reseal(&mut forged);
                assert!(!current(&forged, &tables), "count at {at} + {delta}");
            }
        }
    }

    proptest! {
        #[test]
        fn find_returns_exactly_the_rows_with_the_key(
            keys in proptest::collection::vec(0u64..50, 0..900),
            devs in proptest::collection::vec(0u64..50, 0..300),
            ids in proptest::collection::vec(0u64..50, 0..300),
            probe in 0u64..55,
            head in any::<Header>(),
        ) {
            // Every device and key-ID row is also a deposit's label row.
            let devs = &devs[..devs.len().min(keys.len())];
            let ids = &ids[..ids.len().min(keys.len())];
            let mut tables = [rows(&keys), rows(devs), rows(ids)];
            let head = Header { records: head.records.max(keys.len() as u32), ..head };
            let bytes = encode(&head, &mut tables);
            let mut index = Index::open(Cursor::new(bytes)).unwrap();
            for (table, all) in Table::ALL.into_iter().zip(&tables) {
                let want: Vec<Row> = all.iter().filter(|r| r.key == probe).copied().collect();
                prop_assert_eq!(index.find(table, probe).unwrap(), want);
                prop_assert_eq!(&index.rows(table).unwrap(), all);
            }
            // The header decodes to what was encoded, counts from the rows.
            let want = Header {
                labels: keys.len() as u32,
                devices: devs.len() as u32,
                key_ids: ids.len() as u32,
                ..head
            };
            prop_assert_eq!(*index.header(), want);
        }

        /// The streaming check takes an index exactly when it is the
        /// bytes written for the expected rows: `forged` is the expected
        /// rows, or another set of rows near them, encoded with checks
        /// right, and then perhaps one byte changed and the checks
        /// recomputed.
        #[test]
        fn the_stream_takes_exactly_the_bytes_written(
            tables in proptest::array::uniform3(proptest::collection::btree_set((0u64..6, 0u64..50, 0u32..3), 0..260)),
            edits in proptest::collection::vec((0usize..3, any::<proptest::sample::Index>(), 0u64..6, 0u64..6, 0u32..3), 0..3),
            flip in proptest::option::of((any::<proptest::sample::Index>(), any::<u8>())),
        ) {
            let mut tables: Tables = tables.map(|set| {
                set.into_iter().map(|(key, offset, number)| Row { key, offset, number }).collect()
            });
            let good = encode(&header(), &mut tables);
            let mut forged = tables.clone();
            for (t, at, key, offset, number) in edits {
                let row = Row { key, offset, number };
                match forged[t].len() {
                    0 => forged[t].push(row),
                    n => forged[t][at.index(n)] = row,
                }
            }
            let mut bytes = encode(&header(), &mut forged);
            if let Some((at, value)) = flip {
                let at = at.index(bytes.len());
                bytes[at] = value;
                reseal(&mut bytes);
            }
            prop_assert_eq!(current(&bytes, &tables), bytes == good);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..9000), probe: u64) {
            if let Ok(mut index) = Index::open(Cursor::new(bytes)) {
                let _ = index.find(Table::Labels, probe);
                let _ = index.rows(Table::Devices);
                let _ = index.find(Table::KeyIds, probe);
            }
        }
    }
}
