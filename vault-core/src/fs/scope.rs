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
//! nothing follows, a reader may use the index, but a writer (see
//! [`Purpose::Write`]) replays the whole file, because the end of the file
//! could then be a torn tail the index hides.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::frames::{read_at, read_frame};
use crate::index::{self, Header, Index, Row, Table};
use crate::log::{self, Frame, HEADER_LEN};
use crate::record::{attr, Record};
use crate::vault::{Tip, Vault};

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
}

/// What a read through the index is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Only to read: the index may cover the whole file.
    Read,
    /// To append after the read: the index must be proven by at least one
    /// record after it (see the module documentation).
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
    labels: Vec<Row>,
    devices: Vec<Row>,
    records: usize,
}

/// The index file beside the vault.
pub fn index_path(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".index");
    vault.with_file_name(name)
}

/// The index rows of one record (a deposit has a label row, and a device
/// row when it names a device).
pub fn rows_of(record: &Record, offset: u64, number: usize) -> (Option<Row>, Option<Row>) {
    let Record::Deposit(d) = record else {
        return (None, None);
    };
    let row = |key| Row {
        key,
        offset,
        number: number as u32,
    };
    (
        Some(row(index::label_key(&d.label))),
        d.attribute(attr::DEVICE)
            .map(|dev| row(index::device_key(dev))),
    )
}

/// Writes a current index for a whole vault to `out`: a row for each
/// deposit, from the entries' versions (which replay made from every
/// deposit, so the rows are [`rows_of`] each deposit's record), one table
/// at a time.
pub fn write_index(vault: &Vault, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let versions = || {
        vault.entries().refs().flat_map(|e| {
            let label = index::label_key(e.label());
            e.versions().map(move |v| (label, v))
        })
    };
    let row = |key, v: crate::vault::VersionRef<'_>| Row {
        key,
        offset: v.offset,
        number: (v.record + 1) as u32,
    };
    let header = Header {
        labels: versions().count() as u32,
        devices: versions().filter(|(_, v)| v.device.is_some()).count() as u32,
        ..header_for(vault)
    };
    let labels = || {
        let mut rows = Vec::with_capacity(header.labels as usize);
        rows.extend(versions().map(|(key, v)| row(key, v)));
        rows
    };
    let devices = || {
        let mut rows = Vec::with_capacity(header.devices as usize);
        rows.extend(versions().filter_map(|(_, v)| Some(row(index::device_key(v.device?), v))));
        rows
    };
    index::write(&header, labels, devices, out)
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
    // needs at least one of them to prove the boundary (module docs).
    if after.torn.is_some() || (purpose == Purpose::Write && after.frames.is_empty()) {
        return None;
    }
    let mut tail = Tail {
        index,
        labels: Vec::new(),
        devices: Vec::new(),
        records: after.frames.len(),
    };
    let mut recent = BTreeMap::new();
    for (i, frame) in after.frames.iter().enumerate() {
        let number = h.records as usize + 1 + i;
        let record = Record::decode(frame.kind, &frame.body).ok()?;
        let (l, d) = rows_of(&record, frame.offset, number);
        tail.labels.extend(l);
        tail.devices.extend(d);
        if l.is_some() {
            recent.insert(frame.offset, frame.clone());
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
        records: h.records as usize + after.frames.len(),
    };
    let earlier = earlier_geneses(file, &genesis, h.covered);
    let vault = Vault::partial(&genesis, &earlier, &deposits, tip).ok()?;
    Some(ScopedRead { vault, tail })
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
            Scope::Device(device) => self.labels_for_device(tail, device)?,
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

    /// Labels of the deposits that name `device` (any version; the caller
    /// keeps the entries whose current version does).
    fn labels_for_device(&self, tail: &mut Tail, device: &str) -> Option<Vec<String>> {
        let mut labels = Vec::new();
        for (frame, _) in self.rows(tail, Table::Devices, index::device_key(device))? {
            if let Record::Deposit(d) = Record::decode(frame.kind, &frame.body).ok()? {
                let named = d.attribute(attr::DEVICE).map(str::trim);
                if named.is_some_and(|n| crate::vault::device_matches(n, device))
                    && !labels.contains(&d.label)
                {
                    labels.push(d.label);
                }
            }
        }
        Some(labels)
    }

    /// The frames of the rows with `key`, in the index and after it.
    fn rows(&self, tail: &mut Tail, table: Table, key: u64) -> Option<Vec<(Frame, usize)>> {
        let recent = match table {
            Table::Labels => &tail.labels,
            Table::Devices => &tail.devices,
        };
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
        let mut labels = self.index.rows(Table::Labels).ok()?;
        let mut devices = self.index.rows(Table::Devices).ok()?;
        labels.append(&mut self.labels);
        devices.append(&mut self.devices);
        Some(index::encode(covered, &mut labels, &mut devices))
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
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(b"pw".to_vec()),
        };
        let meta = DepositMeta {
            device: device.map(str::to_owned),
            time: 7,
            ..DepositMeta::default()
        };
        append(path, &Scope::Entries(vec![label.into()]), |v| {
            v.deposit(label, EntryKind::Password, &s, &meta)
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

    const LABELS: [&str; 4] = ["mac-1", "mac-2", "win-1", "admin"];
    const DEVICES: [&str; 3] = ["C02XK1", "c02xk1", "HOST-7"];

    #[derive(Debug, Clone)]
    enum Op {
        Deposit(usize, Option<usize>),
        Verified,
        WholeRead,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..LABELS.len(), proptest::option::of(0..DEVICES.len())).prop_map(|(l, d)| Op::Deposit(l, d)),
            1 => Just(Op::Verified),
            1 => Just(Op::WholeRead),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn reads_through_the_index_agree_with_a_whole_replay(ops in proptest::collection::vec(op(), 0..24)) {
            let dir = tempfile::tempdir().unwrap();
            let path = new_vault(dir.path(), "p");
            load(&path).unwrap(); // writes the first index
            for op in &ops {
                match op {
                    Op::Deposit(l, d) => deposit(&path, LABELS[*l], d.map(|d| DEVICES[d])),
                    Op::Verified => verified(&path),
                    Op::WholeRead => { load(&path).unwrap(); }
                }
            }
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
                    prop_assert_eq!(part.next_version(label, EntryKind::Password), whole.next_version(label, EntryKind::Password));
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
            }
            prop_assert!(through_index(&path, &Scope::Keys).entries().is_empty());
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

    #[test]
    fn a_writer_needs_a_record_after_the_index_and_no_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path(), "v");
        deposit(&path, "a", None);
        load(&path).unwrap(); // the index now covers the whole file
        let scope = Scope::Entries(vec!["a".into()]);
        let open = || File::open(&path).unwrap();
        assert!(read(&path, &open(), &scope, Purpose::Read).is_some());
        assert!(
            read(&path, &open(), &scope, Purpose::Write).is_none(),
            "nothing after the index proves where the records end"
        );
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
            let bytes = index::encode(&header, &mut [row], &mut []);
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
