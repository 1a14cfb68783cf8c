//! Reading part of a vault through its index (see [`crate::index`]): the
//! genesis record, the records after the index, and the deposits of the
//! entries asked for — so a deposit or a reveal costs the same in a vault
//! of ten entries or of a million.
//!
//! Anything unexpected (no index, an index of another state of the file, a
//! damaged page, a row that leads nowhere, a record that breaks a replay
//! rule) makes [`read`] answer `None`, and the caller replays the whole file
//! instead: the whole replay is the reference, this is a shortcut to the
//! same answer.
//!
//! A device or key-ID lookup reads the deposits its rows lead to (any
//! version that named it), then every deposit of those labels: the caller
//! keeps the entries whose *current* version matches, as a whole replay's
//! state would answer.
//!
//! The index is not trusted for where the records end either (issue 15: a
//! forged header whose covered length fell a few bytes inside the last
//! record made the bytes after it look like a torn tail, which the next
//! append cut off before writing on a false chain). An index is used only
//! when the records after what it covers parse and chain from its head to
//! the exact end of the file, with no torn tail. When at least one record
//! follows, that proves the claimed length is a real record boundary and
//! the claimed head the real chain hash there: the last record's stored
//! chain hash (the file's last 32 bytes, written by an honest writer) can
//! only be recomputed from its real start and its real predecessor's hash,
//! and so on back to the covered length, short of a SHA-256 collision. When
//! nothing follows, a writer (see [`Purpose::Write`]) reads the last
//! covered record at the offset the index gives (`last`): it must be a
//! whole record ending exactly at the covered length with the claimed head
//! — the same proof, made on that record instead of one after it. Failing
//! that, the writer replays the whole file, because the end of the file
//! could be a torn tail the index hides.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::frames::{read_at, read_frame};
use crate::index::{self, Header, Index, Row, Table, Tables};
use crate::log::{self, Frame, HEADER_LEN};
use crate::record::{attr, Record};
use crate::vault::{Entries, VersionId, VersionRef};
use crate::vault::{KeyIdQuery, Lookup, Tip, Vault};

/// How much of a vault an operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record replayed (list, status, audit, drill, rekey…).
    Whole,
    /// The genesis record only: share checks and quorum records.
    Keys,
    /// These entries, every version.
    Entries(Vec<String>),
    /// The entries with a version naming this device, every version.
    Device(String),
    /// The entries with a version carrying this BitLocker key ID, every
    /// version (`unseal --key-id`, a session's key-ID lookup).
    KeyId(KeyIdQuery),
    /// The entry with this label, and the entries with a version naming
    /// it as a device, every version: what a recovery session's lookup by
    /// name may find (a label when one is exactly that, else a device).
    Name(String),
}

/// What a read through the index is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Only to read: the index may cover the whole file.
    Read,
    /// To append after the read: where the index ends must be proven by a
    /// record after it, or by its last record (see the module
    /// documentation).
    Write,
}

/// Rebuild the index once this many records sit after it.
pub const REINDEX_AFTER: usize = 1024;

/// A vault read through its index, with what is needed to extend the index.
pub(crate) struct ScopedRead {
    pub vault: Vault,
    pub tail: Tail,
}

/// The index as opened, and the rows of the records after it.
pub(crate) struct Tail {
    index: Index<File>,
    /// The rows of the records after the index, by table.
    recent: Tables,
    records: usize,
}

/// The index file beside the vault.
pub fn index_path(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".index");
    vault.with_file_name(name)
}

/// The index rows of one record, by table (a deposit has a label row, a
/// device row when it names a device, and a key-ID row when it carries a
/// key ID).
pub fn rows_of(record: &Record, offset: u64, number: usize) -> [Option<Row>; 3] {
    let Record::Deposit(d) = record else {
        return [None; 3];
    };
    let row = |key| Row {
        key,
        offset,
        number: number as u32,
    };
    [
        Some(row(index::label_key(&d.label))),
        d.attribute(attr::DEVICE)
            .map(|dev| row(index::device_key(dev))),
        d.attribute(attr::KEY_ID)
            .map(|id| row(index::key_id_key(id))),
    ]
}

/// The header of the index of all of `vault`, row counts included.
fn whole_header(vault: &Vault) -> Header {
    let [labels, devices, key_ids] = vault.entries().index_row_counts();
    Header {
        labels,
        devices,
        key_ids,
        ..header_for(vault)
    }
}

/// A row in the making while a table is sorted: its key and the version
/// it is of (12 bytes, half a [`Row`]; the offset and number are read
/// back from the version as the row's page is written).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Keyed {
    key: u64,
    id: VersionId,
}

const _: () = assert!(std::mem::size_of::<Keyed>() == 12);

/// Writes a current index for a whole vault to `out`: a row for each
/// deposit, from the entries' versions (which replay made from every
/// deposit, so the rows are [`rows_of`] each deposit's record), one table
/// at a time.
pub fn write_index(vault: &Vault, out: &mut impl std::io::Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    let header = whole_header(vault);
    let entries = vault.entries();
    let offset = |id| entries.frame_of(id).map(|(_, offset)| offset);
    // Each table is laid out as (key, version id) pairs, the key holding
    // for now the entry's place; then keyed (a SHA-256 each) and sorted
    // on every core, by key and then offset (looked up only for equal
    // keys: an entry's versions, or a collision). Its rows are made from
    // the versions as their pages are written. One table at a time, 12
    // bytes a row.
    let rows = |table| {
        let (_, count) = header.table(table);
        let mut keyed = Vec::with_capacity(count as usize);
        for (i, e) in entries.refs_unordered().enumerate() {
            for v in e.versions().filter(|v| has_row(table, v)) {
                keyed.push(Keyed {
                    key: i as u64,
                    id: v.id,
                });
            }
        }
        keyed.par_iter_mut().for_each(|k| {
            // Always found: laid out from this table just above.
            k.key = match table {
                Table::Labels => entries
                    .ref_at(k.key as usize)
                    .map(|e| index::label_key(e.label())),
                Table::Devices => entries
                    .version(k.id)
                    .and_then(|v| v.device.map(index::device_key)),
                Table::KeyIds => entries
                    .version(k.id)
                    .and_then(|v| v.key_id.map(index::key_id_key)),
            }
            .unwrap_or(0);
        });
        keyed.par_sort_unstable_by(|a, b| {
            let (ka, kb) = (a.key, b.key);
            ka.cmp(&kb).then_with(|| offset(a.id).cmp(&offset(b.id)))
        });
        // A version not found (never: the ids are this table's) leaves a
        // row too few, which `index::write` refuses.
        keyed.into_iter().filter_map(move |k| {
            let (record, offset) = entries.frame_of(k.id)?;
            Some(Row {
                key: k.key,
                offset,
                number: (record + 1) as u32,
            })
        })
    };
    index::write(&header, rows, out)
}

/// True when `index` (an index file's bytes, from its start) is byte for
/// byte what [`write_index`] writes for `vault`, checked a page at a time
/// without holding its rows or the vault's: the header must be the
/// vault's, every page canonical and each table's rows strictly
/// increasing ([`index::Stream`]), and each table's rows the same multiset
/// as the vault's, compared by their sums under a key drawn for this
/// check ([`index::RowKey`]). Sorted and the same multiset is the same
/// sequence, so the same bytes (short of a 2^-96 chance over the key).
pub fn index_is_current(vault: &Vault, index: impl std::io::Read + Send) -> bool {
    let Some(stream) = index::Stream::start(index, &whole_header(vault)) else {
        return false;
    };
    let key = index::RowKey::fresh();
    let entries = vault.entries();
    let (file, vault) = rayon::join(|| stream.sums(&key), || row_sums(entries, &key));
    file == Some(vault)
}

/// The sums of the rows [`write_index`] makes of `entries`, on every core.
fn row_sums(entries: &Entries, key: &index::RowKey) -> index::RowSums {
    use rayon::prelude::*;
    (0..entries.len())
        .into_par_iter()
        .with_min_len(1024)
        .fold(index::RowSums::default, |mut sums, i| {
            let Some(e) = entries.ref_at(i) else {
                return sums;
            };
            let label = index::label_key(e.label());
            for v in e.versions() {
                let row = |k| Row {
                    key: k,
                    offset: v.offset,
                    number: (v.record + 1) as u32,
                };
                sums.add(key, Table::Labels, &row(label));
                if let Some(device) = v.device {
                    sums.add(key, Table::Devices, &row(index::device_key(device)));
                }
                if let Some(id) = v.key_id {
                    sums.add(key, Table::KeyIds, &row(index::key_id_key(id)));
                }
            }
            sums
        })
        .reduce(index::RowSums::default, index::RowSums::merged)
}

/// True when a version has a row in `table`.
fn has_row(table: Table, v: &VersionRef<'_>) -> bool {
    match table {
        Table::Labels => true,
        Table::Devices => v.device.is_some(),
        Table::KeyIds => v.key_id.is_some(),
    }
}

/// The bytes of a current index for a whole vault ([`write_index`]).
pub fn index_bytes(vault: &Vault) -> Vec<u8> {
    let mut out = Vec::new();
    write_index(vault, &mut out).expect("writing to memory");
    out
}

/// The header of an index covering all of `vault`.
pub(crate) fn header_for(vault: &Vault) -> Header {
    Header {
        genesis: *vault.genesis_hash(),
        covered: vault.end(),
        head: *vault.head(),
        records: vault.record_count() as u32,
        labels: 0,
        devices: 0,
        key_ids: 0,
        last: vault.last_offset(),
    }
}

/// Reads `scope` of the vault through its index, or `None` when the index
/// cannot answer (then replay the whole file).
pub(crate) fn read(
    path: &Path,
    file: &File,
    scope: &Scope,
    purpose: Purpose,
) -> Option<ScopedRead> {
    let index = Index::open(File::open(index_path(path)).ok()?).ok()?;
    let h = *index.header();
    let file_len = file.metadata().ok()?.len();
    if h.covered > file_len || h.covered < (HEADER_LEN + log::FRAME_OVERHEAD) as u64 {
        return None;
    }
    log::read_header(&read_at(file, 0, HEADER_LEN)?).ok()?;
    let genesis = read_frame(file, HEADER_LEN as u64, h.covered)?;
    if genesis.hash != h.genesis || read_at(file, h.covered - 32, 32)? != h.head {
        return None;
    }
    let bytes = read_at(file, h.covered, usize::try_from(file_len - h.covered).ok()?)?;
    let after = log::parse_tail(&bytes, h.covered, h.head, h.records as usize + 1).ok()?;
    // The records after the index must end exactly at the end of the file
    // (a torn tail is set aside only after a whole replay), and a writer
    // needs one of them, or the last covered record, to prove the boundary
    // (module docs).
    if after.torn.is_some()
        || (purpose == Purpose::Write && after.frames.is_empty() && !ends_at_last(file, &h))
    {
        return None;
    }
    let mut tail = Tail {
        index,
        recent: Default::default(),
        records: after.frames.len(),
    };
    let mut recent = BTreeMap::new();
    for (i, frame) in after.frames.iter().enumerate() {
        let number = h.records as usize + 1 + i;
        let record = Record::decode(frame.kind, &frame.body).ok()?;
        let rows = rows_of(&record, frame.offset, number);
        if rows[0].is_some() {
            recent.insert(frame.offset, frame.clone());
        }
        for (table, row) in tail.recent.iter_mut().zip(rows) {
            table.extend(row);
        }
    }
    let reader = Reader {
        file,
        covered: h.covered,
        recent,
    };
    let deposits = reader.deposits(&mut tail, scope)?;
    let tip = Tip {
        head: after.head,
        end: file_len,
        last: after.frames.last().map_or(h.last, |f| f.offset),
        records: h.records as usize + after.frames.len(),
    };
    let earlier = earlier_geneses(file, &genesis, h.covered);
    let vault = Vault::partial(&genesis, &earlier, &deposits, tip).ok()?;
    Some(ScopedRead { vault, tail })
}

/// True when the record at the index's `last` offset is a whole record
/// (frame check, chain hash from the 32 bytes before it) that ends exactly
/// at `covered` with the chain hash `head` (FORMAT.md §12: a writer's proof
/// of the boundary when no record follows the index).
fn ends_at_last(file: &File, h: &Header) -> bool {
    read_frame(file, h.last, h.covered).is_some_and(|f| {
        f.hash == h.head && h.last + (f.body.len() + log::FRAME_OVERHEAD) as u64 == h.covered
    })
}

/// Records 2, 3, … while each is a History record holding a genesis: the
/// geneses of the earlier generations (see [`Vault::partial`]).
fn earlier_geneses(file: &File, genesis: &Frame, covered: u64) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::new();
    let mut at = genesis.offset + (genesis.body.len() + log::FRAME_OVERHEAD) as u64;
    let mut prev = genesis.hash;
    while let Some(frame) = read_frame(file, at, covered).filter(|f| f.prev == prev) {
        let is_old_genesis = matches!(
            Record::decode(frame.kind, &frame.body),
            Ok(Record::History(h)) if crate::record::kind::is_genesis(h.kind)
        );
        if !is_old_genesis {
            break;
        }
        at = frame.offset + (frame.body.len() + log::FRAME_OVERHEAD) as u64;
        prev = frame.hash;
        out.push(frame);
    }
    out
}

/// Finds deposits through the index and the records after it.
struct Reader<'a> {
    file: &'a File,
    covered: u64,
    /// Deposits after the index, by offset.
    recent: BTreeMap<u64, Frame>,
}

impl Reader<'_> {
    /// Every deposit of the entries in `scope`, in file order, numbered.
    fn deposits(&self, tail: &mut Tail, scope: &Scope) -> Option<Vec<(Frame, usize)>> {
        let labels = match scope {
            Scope::Whole => return None,
            Scope::Keys => Vec::new(),
            Scope::Entries(labels) => labels.clone(),
            Scope::Device(device) => self.labels_for(tail, &Lookup::Device(device.clone()))?,
            Scope::KeyId(id) => self.labels_for(tail, &Lookup::KeyId(id.clone()))?,
            Scope::Name(name) => {
                let mut labels = self.labels_for(tail, &Lookup::Device(name.clone()))?;
                if !labels.contains(name) {
                    labels.push(name.clone());
                }
                labels
            }
        };
        let mut found = BTreeMap::new();
        for label in &labels {
            for (frame, number) in self.rows(tail, Table::Labels, index::label_key(label))? {
                let record = Record::decode(frame.kind, &frame.body).ok()?;
                if matches!(&record, Record::Deposit(d) if d.label == *label) {
                    found.insert(frame.offset, (frame, number));
                }
            }
        }
        Some(found.into_values().collect())
    }

    /// Labels of the deposits that name the device or carry the key ID of
    /// `lookup` (any version; the caller keeps the entries whose current
    /// version does).
    fn labels_for(&self, tail: &mut Tail, lookup: &Lookup) -> Option<Vec<String>> {
        let (table, key) = match lookup {
            Lookup::Device(device) => (Table::Devices, index::device_key(device)),
            Lookup::KeyId(id) => (Table::KeyIds, index::key_id_key(id.as_str())),
        };
        let mut labels = Vec::new();
        for (frame, _) in self.rows(tail, table, key)? {
            if let Record::Deposit(d) = Record::decode(frame.kind, &frame.body).ok()? {
                let found = match lookup {
                    Lookup::Device(device) => d
                        .attribute(attr::DEVICE)
                        .is_some_and(|n| crate::vault::device_matches(n.trim(), device)),
                    Lookup::KeyId(id) => d.attribute(attr::KEY_ID).is_some_and(|s| id.matches(s)),
                };
                if found && !labels.contains(&d.label) {
                    labels.push(d.label);
                }
            }
        }
        Some(labels)
    }

    /// The frames of the rows with `key`, in the index and after it.
    fn rows(&self, tail: &mut Tail, table: Table, key: u64) -> Option<Vec<(Frame, usize)>> {
        let recent = &tail.recent[table as usize];
        let recent: Vec<Row> = recent.iter().filter(|r| r.key == key).copied().collect();
        let mut frames = Vec::new();
        for row in tail.index.find(table, key).ok()? {
            if row.offset >= self.covered {
                return None;
            }
            frames.push((
                read_frame(self.file, row.offset, self.covered)?,
                row.number as usize,
            ));
        }
        for row in recent {
            frames.push((self.recent.get(&row.offset)?.clone(), row.number as usize));
        }
        Some(frames)
    }
}

impl Tail {
    /// When enough records sit after the index: the bytes of a new index
    /// covering up to `covered`, the vault as it was read (old rows merged
    /// with the ones after them). The record an append then adds stays
    /// after the new index, so the next append can prove its boundary.
    pub(crate) fn merged(mut self, covered: &Header) -> Option<Vec<u8>> {
        if self.records < REINDEX_AFTER {
            return None;
        }
        let mut tables: Tables = Default::default();
        let each = Table::ALL
            .into_iter()
            .zip(&mut tables)
            .zip(&mut self.recent);
        for ((table, rows), recent) in each {
            *rows = self.index.rows(table).ok()?;
            rows.append(recent);
        }
        Some(index::encode(covered, &mut tables))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryKind, EntrySecret};
    use crate::store::tests::vault_named as new_vault;
    use crate::store::{append, load, load_scope};
    use crate::vault::{DepositMeta, EntryVersion};
    use proptest::prelude::*;
    use std::fs;
    use zeroize::Zeroizing;

    fn deposit(path: &Path, label: &str, device: Option<&str>) {
        deposit_with(path, label, device, None);
    }

    /// The kind of the test labels: `win-*` hold BitLocker keys.
    fn kind_of(label: &str) -> EntryKind {
        if label.starts_with("win-") {
            EntryKind::RecoveryKey
        } else {
            EntryKind::Password
        }
    }

    /// A deposit; the key ID only for a BitLocker key (`win-*`).
    fn deposit_with(path: &Path, label: &str, device: Option<&str>, key_id: Option<&str>) {
        let kind = kind_of(label);
        let secret: &[u8] = match kind {
            EntryKind::RecoveryKey => b"000011-000022-000033-000044-000055-000066-000077-000088",
            _ => b"pw",
        };
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(secret.to_vec()),
        };
        let key_id = key_id.filter(|_| kind == EntryKind::RecoveryKey);
        let meta = DepositMeta {
            device: device.map(str::to_owned),
            key_id: key_id.map(str::to_owned),
            time: 7,
            ..DepositMeta::default()
        };
        append(path, &Scope::Entries(vec![label.into()]), |v| {
            v.deposit(label, kind, &s, &meta)
        })
        .unwrap()
        .unwrap();
    }

    fn verified(path: &Path) {
        append(path, &Scope::Keys, |v| {
            let text = fs::read_to_string(path.with_extension("share1")).unwrap();
            let body = crate::share_text::decode(&text).unwrap();
            let share = v.check_share(&body, None).unwrap();
            Ok::<_, ()>(v.share_verified(&share, "t", 9, v.head()))
        })
        .unwrap()
        .unwrap();
    }

    /// What an entry's versions say, without where they sit in `records`.
    fn public(versions: &[EntryVersion]) -> Vec<(u32, Option<String>)> {
        versions
            .iter()
            .map(|v| (v.version, v.device.clone()))
            .collect()
    }

    fn through_index(path: &Path, scope: &Scope) -> Vault {
        let file = File::open(path).unwrap();
        read(path, &file, scope, Purpose::Read)
            .expect("the index answers")
            .vault
    }

    const LABELS: [&str; 5] = ["mac-1", "mac-2", "win-1", "win-2", "admin"];
    const DEVICES: [&str; 3] = ["C02XK1", "c02xk1", "HOST-7"];
    const KEY_IDS: [&str; 3] = ["1A2B3C4D", "99AA88BB", "1a2b3c4d"];
    /// Key IDs as a person gives them: the stored ones, another case, a
    /// whole GUID, and one no entry carries.
    const ASKED: [&str; 4] = [
        "1a2b3c4d",
        "{99AA88BB-0000-1111-2222-333344445555}",
        " 99aa88bb ",
        "00000000",
    ];

    #[derive(Debug, Clone)]
    enum Op {
        Deposit(usize, Option<usize>, Option<usize>),
        Verified,
        WholeRead,
    }

    fn op() -> impl Strategy<Value = Op> {
        let some = |n: usize| proptest::option::of(0..n);
        prop_oneof![
            4 => (0..LABELS.len(), some(DEVICES.len()), some(KEY_IDS.len()))
                .prop_map(|(l, d, k)| Op::Deposit(l, d, k)),
            1 => Just(Op::Verified),
            1 => Just(Op::WholeRead),
        ]
    }

    /// A new vault (its first index written by a whole read), then `ops`.
    fn vault_after(dir: &Path, ops: &[Op]) -> PathBuf {
        let path = new_vault(dir, "p");
        load(&path).unwrap();
        for op in ops {
            match op {
                Op::Deposit(l, d, k) => deposit_with(
                    &path,
                    LABELS[*l],
                    d.map(|d| DEVICES[d]),
                    k.map(|k| KEY_IDS[k]),
                ),
                Op::Verified => verified(&path),
                Op::WholeRead => {
                    load(&path).unwrap();
                }
            }
        }
        path
    }

    /// The labels `lookup` selects (several allowed), or why none.
    fn selected(v: &Vault, lookup: &Lookup) -> Result<Vec<String>, crate::vault::SelectError> {
        v.select(&[], Some(lookup), crate::vault::Several::All)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn reads_through_the_index_agree_with_a_whole_replay(ops in proptest::collection::vec(op(), 0..24)) {
            let dir = tempfile::tempdir().unwrap();
            let path = vault_after(dir.path(), &ops);
            let whole = Vault::replay(&log::parse(&fs::read(&path).unwrap()).unwrap()).unwrap();
            for label in LABELS {
                let part = through_index(&path, &Scope::Entries(vec![label.into()]));
                prop_assert!(!part.is_whole());
                prop_assert_eq!(part.head(), whole.head());
                prop_assert_eq!(part.record_count(), whole.record_count());
                prop_assert_eq!(part.end(), whole.end());
                prop_assert_eq!(part.entries().len(), usize::from(whole.entries().contains_key(label)));
                if let Some(w) = whole.entries().get(label) {
                    prop_assert_eq!(public(&part.entries().get(label).unwrap().versions), public(&w.versions));
                    prop_assert_eq!(part.next_version(label, kind_of(label)), whole.next_version(label, kind_of(label)));
                }
            }
            for device in DEVICES {
                let part = through_index(&path, &Scope::Device(device.into()));
                let current = |v: &Vault| -> Vec<String> {
                    v.entries().values()
                        .filter(|e| e.current().device.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(device)))
                        .map(|e| e.label.clone())
                        .collect()
                };
                prop_assert_eq!(current(&part), current(&whole));
                let lookup = Lookup::Device(device.into());
                prop_assert_eq!(selected(&part, &lookup), selected(&whole, &lookup));
            }
            // Key IDs: the same labels as a whole replay's select, though
            // an entry's key ID may have changed from version to version.
            for asked in ASKED {
                let id = KeyIdQuery::parse(asked).unwrap();
                let part = through_index(&path, &Scope::KeyId(id.clone()));
                prop_assert!(!part.is_whole());
                let lookup = Lookup::KeyId(id);
                prop_assert_eq!(selected(&part, &lookup), selected(&whole, &lookup));
            }
            // A session's name: the label when there is one, else the device.
            for name in LABELS.iter().chain(&DEVICES) {
                let part = through_index(&path, &Scope::Name(name.to_string()));
                let lookup = crate::vault::session::SessionLookup::Name(name.to_string());
                prop_assert_eq!(part.session_select(&lookup), whole.session_select(&lookup));
            }
            prop_assert!(through_index(&path, &Scope::Keys).entries().is_empty());
        }

        /// After any run of deposits, the streaming check takes an index
        /// exactly when it is the bytes `write_index` writes: the index
        /// left behind by the appends (stale), the one a whole read wrote,
        /// and that one with a byte changed or two rows exchanged, every
        /// page's check recomputed.
        #[test]
        fn the_index_is_current_exactly_when_it_is_the_bytes_written(
            ops in proptest::collection::vec(op(), 1..12),
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 8),
            swaps in proptest::collection::vec((any::<proptest::sample::Index>(), any::<proptest::sample::Index>()), 4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = vault_after(dir.path(), &ops);
            let stale = fs::read(index_path(&path)).unwrap();
            let vault = load(&path).unwrap().vault;
            let good = index_bytes(&vault);
            prop_assert!(fs::read(index_path(&path)).unwrap() == good);
            let mut candidates = vec![stale, good.clone()];
            for (at, value) in flips {
                let mut c = good.clone();
                c[at.index(good.len())] = value;
                index::reseal(&mut c);
                candidates.push(c);
            }
            let rows = (good.len() / index::PAGE - 1) * 204;
            for (i, j) in swaps.into_iter().filter(|_| rows > 0) {
                // Any two 20-byte slots after the header page (rows or
                // padding), exchanged.
                let slot = |i: usize| {
                    let (page, at) = (i / 204, i % 204);
                    index::PAGE * (1 + page) + at * 20
                };
                let (a, b) = (slot(i.index(rows)), slot(j.index(rows)));
                let mut c = good.clone();
                let first: Vec<u8> = c[a..a + 20].to_vec();
                c.copy_within(b..b + 20, a);
                c[b..b + 20].copy_from_slice(&first);
                index::reseal(&mut c);
                candidates.push(c);
            }
            for c in candidates {
                prop_assert_eq!(index_is_current(&vault, c.as_slice()), c == good);
            }
        }
    }

    #[test]
    fn a_damaged_stale_or_foreign_index_is_not_used_and_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        let other = new_vault(dir.path(), "w");
        for label in ["a", "b", "c"] {
            deposit(&path, label, Some("dev"));
            deposit(&other, label, None);
        }
        load(&path).unwrap();
        load(&other).unwrap();
        let good = fs::read(index_path(&path)).unwrap();
        let scope = Scope::Entries(vec!["b".into()]);
        assert!(read(&path, &File::open(&path).unwrap(), &scope, Purpose::Read).is_some());

        let mut flipped = good.clone();
        flipped[index::PAGE + 3] ^= 1;
        let foreign = fs::read(index_path(&other)).unwrap();
        let vault = fs::read(&path).unwrap();
        for bad in [flipped, foreign, good[..100].to_vec(), Vec::new()] {
            fs::write(index_path(&path), &bad).unwrap();
            let file = File::open(&path).unwrap();
            assert!(read(&path, &file, &scope, Purpose::Read).is_none());
            // The store replays instead, and leaves a good index behind.
            let v = load_scope(&path, &scope).unwrap().vault;
            assert_eq!(v.entries().get("b").unwrap().versions.len(), 1);
            assert!(v.is_whole());
            assert!(
                fs::read(index_path(&path)).unwrap() == good,
                "index rebuilt"
            );
        }
        // The vault cut back before what the index covers.
        fs::write(&path, &vault[..vault.len() - 1]).unwrap();
        assert!(read(&path, &File::open(&path).unwrap(), &scope, Purpose::Read).is_none());
    }

    /// An index with `edit` made to its rows, every page check right.
    fn edited_index(path: &Path, edit: impl FnOnce(&mut index::Tables)) -> Vec<u8> {
        let mut old = Index::open(File::open(index_path(path)).unwrap()).unwrap();
        let mut tables = Table::ALL.map(|t| old.rows(t).unwrap());
        edit(&mut tables);
        index::encode(old.header(), &mut tables)
    }

    /// Red team (review-s13): versions whose device or key ID is kept as
    /// a suffix of the label (or is the label), many versions of one label
    /// and texts that are not: the rows the check sums are the rows
    /// `write_index` writes, so the index a whole read wrote is current at
    /// the next (not rewritten at every read), and a row moved to another
    /// version's offset is still refused.
    #[test]
    fn suffix_texts_and_many_versions_keep_the_index_current() {
        use crate::store::{refresh_index, IndexRefresh};
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        let label = "win-é99AA88BB";
        for n in 0..6 {
            let device = ["é99AA88BB", label, "B", "x é", "99AA88BB", "other"][n];
            deposit_with(
                &path,
                label,
                Some(device),
                Some(["1A2B3C4D", "99AA88BB"][n % 2]),
            );
            deposit_with(&path, "win-1A2B3C4D", Some("1A2B3C4D"), Some("1A2B3C4D"));
        }
        let vault = load(&path).unwrap().vault;
        let good = index_bytes(&vault);
        assert!(fs::read(index_path(&path)).unwrap() == good);
        assert!(index_is_current(&vault, good.as_slice()));
        assert_eq!(refresh_index(&path, &vault), IndexRefresh::Current);
        let again = load(&path).unwrap().vault;
        assert_eq!(refresh_index(&path, &again), IndexRefresh::Current);
        let moved = edited_index(&path, |t| {
            let last = t[Table::Devices as usize].len() - 1;
            t[Table::Devices as usize][last].offset = t[Table::Devices as usize][0].offset;
        });
        assert!(!index_is_current(&vault, moved.as_slice()));
    }

    #[test]
    fn every_whole_read_checks_the_index_and_repairs_it() {
        use crate::store::{refresh_index, IndexRefresh};
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        for label in ["a", "b", "c"] {
            deposit(&path, label, Some("dev"));
        }
        // An append leaves the index behind; a whole read brings it up to
        // date.
        let stale = fs::read(index_path(&path)).unwrap();
        let vault = load(&path).unwrap().vault;
        let good = index_bytes(&vault);
        assert_ne!(stale, good);
        assert!(fs::read(index_path(&path)).unwrap() == good);
        assert_eq!(refresh_index(&path, &vault), IndexRefresh::Current);

        // One row fewer (the header's counts differ), or a row that leads
        // elsewhere under a header that is right in every field (what a
        // forger writes to make a lookup read a frame of their choosing,
        // SECURITY.md "Known limits"): the next whole read rewrites both.
        let short = edited_index(&path, |t| {
            t[Table::Devices as usize].pop();
        });
        let moved = edited_index(&path, |t| t[Table::Labels as usize][0].offset += 1);
        // Rows in another order, a row of one table in another's place
        // (the counts kept), a row twice: each page's check right.
        let mut swapped = good.clone();
        let (a, b) = (index::PAGE, index::PAGE + 20);
        let first: Vec<u8> = swapped[a..b].to_vec();
        swapped.copy_within(b..b + 20, a);
        swapped[b..b + 20].copy_from_slice(&first);
        index::reseal(&mut swapped);
        let exchanged = edited_index(&path, |t| {
            let label = t[0][0];
            t[0][0] = std::mem::replace(&mut t[1][0], label);
        });
        let twice = edited_index(&path, |t| t[0][1] = t[0][0]);
        for forged in [short, moved, swapped, exchanged, twice] {
            assert!(forged != good);
            assert!(!index_is_current(&vault, forged.as_slice()));
            fs::write(index_path(&path), &forged).unwrap();
            load(&path).unwrap();
            assert!(fs::read(index_path(&path)).unwrap() == good, "rewritten");
        }
        fs::remove_file(index_path(&path)).unwrap();
        assert_eq!(refresh_index(&path, &vault), IndexRefresh::Rebuilt);
        assert!(fs::read(index_path(&path)).unwrap() == good);
    }

    #[test]
    fn a_writer_needs_a_record_after_the_index_or_its_last_record_and_no_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        deposit(&path, "a", None);
        deposit(&path, "c", None);
        load(&path).unwrap(); // the index now covers the whole file
        let scope = Scope::Entries(vec!["a".into()]);
        let open = || File::open(&path).unwrap();
        assert!(read(&path, &open(), &scope, Purpose::Read).is_some());
        assert!(
            read(&path, &open(), &scope, Purpose::Write).is_some(),
            "the last covered record proves where the records end"
        );
        // The same index with `last` anywhere but the last record's frame.
        let good = fs::read(index_path(&path)).unwrap();
        let whole = crate::store::load_records(&path).unwrap().vault;
        let frames: Vec<u64> = whole.records().iter().map(|r| r.frame.offset).collect();
        let last = *frames.last().unwrap();
        for wrong in [frames[1], last - 1, last + 1, 0, u64::MAX] {
            let header = Header {
                last: wrong,
                ..*Index::open(std::io::Cursor::new(&good)).unwrap().header()
            };
            let mut index = Index::open(File::open(index_path(&path)).unwrap()).unwrap();
            let mut tables: Tables = Default::default();
            for (table, rows) in Table::ALL.into_iter().zip(&mut tables) {
                *rows = index.rows(table).unwrap();
            }
            fs::write(index_path(&path), index::encode(&header, &mut tables)).unwrap();
            assert!(read(&path, &open(), &scope, Purpose::Read).is_some());
            assert!(
                read(&path, &open(), &scope, Purpose::Write).is_none(),
                "last {wrong} proves nothing"
            );
            fs::write(index_path(&path), &good).unwrap();
        }
        deposit(&path, "b", None);
        assert!(read(&path, &open(), &scope, Purpose::Write).is_some());
        // A torn tail after the records: only a whole replay sets it aside.
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0, 0, 0, 9, 2]);
        fs::write(&path, &bytes).unwrap();
        for purpose in [Purpose::Read, Purpose::Write] {
            assert!(read(&path, &open(), &scope, purpose).is_none());
        }
        assert!(load_scope(&path, &scope).unwrap().torn.is_some());
    }

    #[test]
    fn an_index_row_that_leads_to_the_wrong_record_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        deposit(&path, "a", None);
        deposit(&path, "b", None);
        let whole = crate::store::load_records(&path).unwrap().vault;
        let header = header_for(&whole);
        let b = &whole.records()[2].frame;
        // "a" pointed at b's deposit, then at an offset inside it.
        for offset in [b.offset, b.offset + 1] {
            let row = Row {
                key: index::label_key("a"),
                offset,
                number: 3,
            };
            let bytes = index::encode(&header, &mut [vec![row], vec![], vec![]]);
            fs::write(index_path(&path), bytes).unwrap();
            let file = File::open(&path).unwrap();
            let read = read(
                &path,
                &file,
                &Scope::Entries(vec!["a".into()]),
                Purpose::Read,
            );
            assert!(
                read.is_none_or(|r| r.vault.entries().is_empty()),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn the_index_is_rebuilt_after_enough_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        load(&path).unwrap();
        let covered = || {
            Index::open(File::open(index_path(&path)).unwrap())
                .unwrap()
                .header()
                .covered
        };
        let first = covered();
        // The first append after a whole read proves nothing (no record
        // after the index yet) and replays; it leaves the index as it was.
        for i in 0..REINDEX_AFTER {
            deposit(&path, &format!("e{}", i % 10), None);
        }
        assert_eq!(covered(), first, "appends alone leave the index as it was");
        deposit(&path, "e0", Some("d"));
        let bytes = fs::read(&path).unwrap();
        let last = log::parse(&bytes).unwrap().frames.last().unwrap().offset;
        assert_eq!(
            covered(),
            last,
            "merged after {REINDEX_AFTER} records, up to the record just added"
        );
        let before = Vault::replay(&log::parse(&bytes[..last as usize]).unwrap()).unwrap();
        assert!(
            fs::read(index_path(&path)).unwrap() == index_bytes(&before),
            "a merged index is the same bytes as a rebuilt one"
        );
        let v = through_index(&path, &Scope::Device("D".into()));
        assert_eq!(
            v.entries().get("e0").unwrap().versions.len(),
            REINDEX_AFTER / 10 + 2
        );
        assert_eq!(v.entries().len(), 1);
    }
}
