//! The vault file on disk: locking, durable appends, atomic creation
//! (docs/FORMAT.md §8).
//!
//! - Readers take a shared lock, writers an exclusive one (`flock`, via
//!   fd-lock): a lock dies with its process, so a killed writer never
//!   leaves a stale lock behind.
//! - An append re-reads the file under the lock, builds its record from
//!   that state, writes it, and `fsync`s before returning. If the write
//!   fails (disk full), the file is cut back to its previous length.
//! - A torn tail is copied to `VAULT.torn-OFFSET` and cut off before the
//!   next append; nothing that was acknowledged is ever in a torn tail.
//! - New files (the vault at init, share files) are written to a
//!   temporary file in the same directory, synced, and renamed into place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fd_lock::RwLock;

use super::frames::{self, FileSource, StreamError};
use crate::log::{self, LogError, TornTail};
use crate::record::Record;
pub use crate::scope::Scope;
use crate::scope::{self, Purpose, Tail};
use crate::vault::{ReplayError, Vault};

/// What can go wrong with the vault file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operating system refused (missing file, permissions, full disk…).
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file exists and overwriting was not asked for.
    #[error("{0}: already exists")]
    Exists(PathBuf),
    /// The file is not a usable vault.
    #[error("{path}: {source}")]
    Vault {
        /// The vault file.
        path: PathBuf,
        /// What is wrong.
        source: ReplayError,
    },
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// True when the vault is damaged or was altered (as opposed to
    /// unreadable, missing, not a vault or from a newer version).
    pub fn is_damage(&self) -> bool {
        match self {
            Self::Vault { source, .. } => !matches!(
                source,
                ReplayError::Log(LogError::NotAVault) | ReplayError::Log(LogError::NewerFormat(_))
            ),
            _ => false,
        }
    }
}

/// A vault read from disk, with what was noticed while reading.
#[derive(Debug)]
pub struct Loaded {
    /// The vault state.
    pub vault: Vault,
    /// A torn tail at the end of the file, if any.
    pub torn: Option<TornTail>,
}

/// A vault as read under a lock.
struct ReadVault {
    loaded: Loaded,
    /// Where the good records end (a torn tail starts there).
    good_len: u64,
    /// When read through the index: the index and the rows after it.
    tail: Option<Tail>,
}

/// Reads `scope` of the vault: through the index when it can answer (and,
/// for a write, prove where the records end), else by replaying the whole
/// file (and then bringing the index up to date).
fn read_vault(
    path: &Path,
    file: &File,
    scope: &Scope,
    purpose: Purpose,
) -> Result<ReadVault, StoreError> {
    if *scope != Scope::Whole {
        if let Some(read) = scope::read(path, file, scope, purpose) {
            return Ok(ReadVault {
                good_len: read.vault.end(),
                loaded: Loaded {
                    vault: read.vault,
                    torn: None,
                },
                tail: Some(read.tail),
            });
        }
    }
    let read = read_whole(path, file, false, false)?;
    // Every whole replay checks the index against the state it read
    // (`refresh_index`: its bytes must be the ones that state makes) and
    // replaces it when they differ: a forged or stale index lasts
    // only until the next `status`, `list` or `drill` (SECURITY.md, "Known
    // limits"; a red-team review showed what a forged index kept longer
    // can do).
    refresh_index(path, &read.loaded.vault);
    Ok(read)
}

/// What [`refresh_index`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexRefresh {
    /// The index was byte for byte the one the vault makes (short of a
    /// 2^-96 chance over a key drawn for the check: see
    /// [`scope::index_is_current`]).
    Current,
    /// It was missing or differed, and was replaced.
    Rebuilt,
    /// It was missing or differed, and could not be replaced (a read-only
    /// directory): lookups replay the whole vault.
    Unwritable,
}

/// Checks the index beside `path` against `vault` (after every whole
/// replay) and replaces it unless it is byte for byte the index `vault`
/// makes.
pub fn refresh_index(path: &Path, vault: &Vault) -> IndexRefresh {
    // Checked a page at a time, without holding its rows or the vault's
    // (the index of a million entries is 40 MB, 3 M rows): the header
    // must be the vault's, every page as a writer makes it, each table's
    // rows strictly increasing and the same multiset as the vault's, by a
    // keyed sum drawn for this check (`scope::index_is_current`).
    let current = File::open(scope::index_path(path))
        .is_ok_and(|f| scope::index_is_current(vault, io::BufReader::with_capacity(1 << 16, f)));
    if current {
        IndexRefresh::Current
    } else if write_index(path, |out| scope::write_index(vault, out)) {
        IndexRefresh::Rebuilt
    } else {
        IndexRefresh::Unwritable
    }
}

/// Replays the whole file one frame at a time (see [`frames::stream`]).
/// With `keep`, the vault keeps every record ([`Vault::records`]: rekey
/// and receipts need them); without, it holds only its state and reads a
/// deposit again from the file when a reveal needs it.
///
/// With `digests`, versions keep their import digests (writers: an import
/// compares them); reads that only show or check the vault drop them
/// (16 bytes a version, docs/PERFORMANCE.md).
///
/// The verdict is the one a whole parse followed by a replay gives: a
/// record that breaks a replay rule is reported only once the frames after
/// it are known to be sound (damage further on is named first, as
/// [`log::parse`] would), and a torn tail is returned, not an error.
fn read_whole(
    path: &Path,
    file: &File,
    keep: bool,
    digests: bool,
) -> Result<ReadVault, StoreError> {
    let damaged = |source: ReplayError| StoreError::Vault {
        path: path.to_owned(),
        source,
    };
    let mut vault: Option<Vault> = None;
    let mut refused: Option<ReplayError> = None;
    // A fleet's deposits take about 250 bytes each: room for that many
    // entries up front spares the table its rehashing. At most 1 Mi (two
    // tables of ≈10 MiB): a file of a few huge records must not buy empty
    // tables past the memory budget (red team finding 6); past it they grow.
    let expected = file.metadata().map_or(0, |m| m.len() / 256).min(1 << 20) as usize;
    let streamed = frames::stream(file, |number, frame| {
        if refused.is_some() {
            return Ok::<_, std::convert::Infallible>(());
        }
        let replayed = match &mut vault {
            None => Vault::begin(Some(frame), keep).map(|v| {
                let v = vault.insert(v);
                v.reserve_entries(expected);
                if !digests {
                    v.drop_digests();
                }
            }),
            Some(v) => v.replay_frame(frame, number),
        };
        refused = replayed.err();
        Ok(())
    });
    let torn = match streamed {
        Ok(torn) => torn,
        Err(StreamError::Io(e)) => return Err(StoreError::io(path, e)),
        Err(StreamError::Log(e)) => return Err(damaged(e.into())),
        Err(StreamError::Each(never)) => match never {},
    };
    if let Some(e) = refused {
        return Err(damaged(e));
    }
    let mut vault = match vault {
        Some(v) => v,
        None => Vault::begin(None, keep).map_err(damaged)?,
    };
    vault.finish().map_err(damaged)?;
    if !keep {
        let file = file.try_clone().map_err(|e| StoreError::io(path, e))?;
        vault.set_source(Arc::new(FileSource {
            file,
            end: vault.end(),
        }));
    }
    Ok(ReadVault {
        good_len: vault.end(),
        loaded: Loaded { vault, torn },
        tail: None,
    })
}

/// Replaces the index beside `path`. The index is derived data checked on
/// every use, so this is best effort: a read-only directory just means
/// slower reads, and no fsync is needed (a torn index fails its checks).
fn write_index(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>,
) -> bool {
    let target = scope::index_path(path);
    let written = temp_builder(".breakglass-index-")
        .tempfile_in(parent_dir(path))
        .and_then(|tmp| {
            let mut out = io::BufWriter::new(tmp.as_file());
            write(&mut out)?;
            out.flush()?;
            drop(out);
            tmp.persist(&target).map_err(|e| e.error)
        });
    written.is_ok()
}

/// Replaces the index beside `path` with one made from `vault`, its last
/// use: its lookup tables are let go of first, so that they and the
/// index's sort do not peak together.
fn rewrite_index(path: &Path, mut vault: Vault) {
    vault.shed_lookups();
    write_index(path, |out| scope::write_index(&vault, out));
}

/// Reads the whole vault under a shared lock.
pub fn load(path: &Path) -> Result<Loaded, StoreError> {
    load_scope(path, &Scope::Whole)
}

/// Reads what `scope` needs of the vault under a shared lock. Unless the
/// scope is [`Scope::Whole`], the vault holds only those entries (see
/// [`Vault::partial`]).
pub fn load_scope(path: &Path, scope: &Scope) -> Result<Loaded, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let lock = RwLock::new(file);
    let guard = lock.read().map_err(|e| StoreError::io(path, e))?;
    Ok(read_vault(path, &guard, scope, Purpose::Read)?.loaded)
}

/// Reads the whole vault under a shared lock, keeping every record
/// ([`Vault::records`]): for the few operations that need them (receipts,
/// rekey). Its memory grows with the file; [`load`] holds only the state.
pub fn load_records(path: &Path) -> Result<Loaded, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let lock = RwLock::new(file);
    let guard = lock.read().map_err(|e| StoreError::io(path, e))?;
    Ok(read_whole(path, &guard, true, true)?.loaded)
}

/// Reads the vault record by record under a shared lock and hands each to
/// `each` (1-based number, frame, decoded record), then drops it: memory
/// stays at one record whatever the file holds (`audit` streams its
/// output through this). Frames, frame checks and the hash chain are
/// checked as [`log::parse`] does, and a record that does not decode is
/// refused as [`Vault::replay`] refuses it; the vault's other rules (version
/// order, quorum MACs) need the whole replay ([`load`]). Returns the torn
/// tail, if the file ends in one.
pub fn for_each_record<E: From<StoreError>>(
    path: &Path,
    mut each: impl FnMut(usize, &log::Frame, Record) -> Result<(), E>,
) -> Result<Option<TornTail>, E> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let lock = RwLock::new(file);
    let guard = lock.read().map_err(|e| StoreError::io(path, e))?;
    let streamed = frames::stream(&guard, |number, frame| {
        let record = decode(path, frame, number)?;
        each(number, frame, record)
    });
    match streamed {
        Ok(torn) => Ok(torn),
        Err(StreamError::Io(e)) => Err(StoreError::io(path, e).into()),
        Err(StreamError::Log(e)) => Err(StoreError::Vault {
            path: path.to_owned(),
            source: e.into(),
        }
        .into()),
        Err(StreamError::Each(e)) => Err(e),
    }
}

/// [`for_each_record`] over record 1 and then the records from file offset
/// `offset` on, numbered from `first`: what a command that appended needs
/// to hand out its events (they need the genesis), without reading what
/// lies between — O(1) in the vault's size. Each frame is checked (frame
/// check, and chain hash from the 32 bytes before it); the one at `offset`
/// must have the chain hash `head` (it is the record just appended, not
/// what another file holds there after a rekey). Reading stops quietly at
/// a torn tail after it.
pub fn for_each_record_from<E: From<StoreError>>(
    path: &Path,
    first: usize,
    offset: u64,
    head: &[u8; 32],
    mut each: impl FnMut(usize, &log::Frame, Record) -> Result<(), E>,
) -> Result<(), E> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let lock = RwLock::new(file);
    let guard = lock.read().map_err(|e| StoreError::io(path, e))?;
    let len = guard.metadata().map_err(|e| StoreError::io(path, e))?.len();
    let unreadable = |number: usize, offset: u64| StoreError::Vault {
        path: path.to_owned(),
        source: ReplayError::Invalid {
            record: number,
            offset,
            why: "the record could not be read back (the file changed?)".into(),
        },
    };
    let start = log::HEADER_LEN as u64;
    let genesis = frames::read_frame(&guard, start, len).ok_or_else(|| unreadable(1, start))?;
    let after_genesis = start + (genesis.body.len() + log::FRAME_OVERHEAD) as u64;
    each(1, &genesis, decode(path, &genesis, 1)?)?;
    let (mut at, mut number) = if first <= 1 {
        (after_genesis, 2)
    } else {
        (offset.max(after_genesis), first)
    };
    let mut ours = first > 1;
    while at < len {
        let frame = match frames::read_frame(&guard, at, len) {
            Some(frame) if !ours || frame.hash == *head => frame,
            // Another writer's torn tail after ours: what was read stands.
            None if !ours => break,
            _ => return Err(unreadable(number, at).into()),
        };
        ours = false;
        at += (frame.body.len() + log::FRAME_OVERHEAD) as u64;
        let record = decode(path, &frame, number)?;
        each(number, &frame, record)?;
        number += 1;
    }
    Ok(())
}

fn decode(path: &Path, frame: &log::Frame, number: usize) -> Result<Record, StoreError> {
    Record::decode(frame.kind, &frame.body).map_err(|e| StoreError::Vault {
        path: path.to_owned(),
        source: ReplayError::Invalid {
            record: number,
            offset: frame.offset,
            why: e.to_string(),
        },
    })
}

/// The result of an append.
#[derive(Debug)]
pub struct Appended {
    /// 1-based number of the new record.
    pub record: usize,
    /// The new head of the chain (the new record's chain hash).
    pub head: [u8; 32],
    /// A torn tail that was set aside first, and where it went.
    pub set_aside: Option<(TornTail, PathBuf)>,
    /// File offset of the new record's frame.
    pub offset: u64,
    /// File offset just past it: the file's end when it was appended.
    pub end: u64,
}

/// Appends one record, built by `build` from `scope` of the vault as it
/// is under the exclusive lock. Durable (fsync) before it returns.
pub fn append<E>(
    path: &Path,
    scope: &Scope,
    build: impl FnOnce(&Vault) -> Result<Record, E>,
) -> Result<Result<Appended, E>, StoreError> {
    let mut build = Some(build);
    with_exclusive(path, |file| {
        let ReadVault {
            loaded,
            good_len,
            tail,
        } = read_vault(path, file, scope, Purpose::Write)?;
        let set_aside = match &loaded.torn {
            Some(torn) => Some((torn.clone(), set_aside_tail(path, file, torn)?)),
            None => None,
        };
        let build = build.take().expect("runs once");
        let mut vault = loaded.vault;
        let record = match build(&vault) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let as_read = scope::header_for(&vault);
        let frame = vault.push(record).map_err(|source| StoreError::Vault {
            path: path.to_owned(),
            source,
        })?;
        write_at_end(path, file, good_len, &frame)?;
        if let Some(bytes) = tail.and_then(|t| t.merged(&as_read)) {
            write_index(path, |out| out.write_all(&bytes));
        }
        Ok(Ok(Appended {
            record: vault.record_count(),
            head: *vault.head(),
            set_aside,
            offset: good_len,
            end: good_len + frame.len() as u64,
        }))
    })
}

/// Where a file's records ended when its writer last knew it: its own
/// whole read, or its own last append (never an index or another file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// Chain hash of the last record.
    pub head: [u8; 32],
    /// File offset just past it.
    pub end: u64,
    /// Records in the file.
    pub records: usize,
}

impl Known {
    /// What a vault read whole knows.
    pub fn of(vault: &Vault) -> Self {
        Self {
            head: *vault.head(),
            end: vault.end(),
            records: vault.record_count(),
        }
    }
    /// What its writer knows after `appended`.
    pub fn after(appended: &Appended) -> Self {
        Self {
            head: appended.head,
            end: appended.end,
            records: appended.record,
        }
    }
}

/// Appends one record after the records `known` says the file holds, in
/// O(1) whatever the file's size: under the exclusive lock, the file must
/// still end at `known.end` with `known.head` as its last 32 bytes (so
/// nothing was appended or cut since), else nothing is written and
/// `Ok(None)` says so (read the file again, or append with [`append`]).
/// `build` gets the chain head the record follows. Durable (fsync) before
/// it returns. The index is left as it is: readers read the records after
/// what it covers.
///
/// `known` must come from the caller's own whole read or append: trusting
/// a file's claim of where its records end is what a forged index does
/// (issue 15).
pub fn append_after<E>(
    path: &Path,
    known: Known,
    build: impl FnOnce(&[u8; 32]) -> Result<Record, E>,
) -> Result<Result<Option<Appended>, E>, StoreError> {
    let mut build = Some(build);
    with_exclusive(path, |file| {
        let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
        let tail = match known.end.checked_sub(32) {
            Some(at) if len == known.end => frames::read_at(file, at, 32),
            _ => None,
        };
        if tail.as_deref() != Some(&known.head[..]) {
            return Ok(Ok(None));
        }
        let record = match (build.take().expect("runs once"))(&known.head) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let (bytes, head) = log::encode_frame(&known.head, record.kind(), &record.encode_body());
        write_at_end(path, file, known.end, &bytes)?;
        Ok(Ok(Some(Appended {
            record: known.records + 1,
            head,
            set_aside: None,
            offset: known.end,
            end: known.end + bytes.len() as u64,
        })))
    })
}

/// The whole vault under the writer's lock, for appending many records,
/// and where its good records end; a torn tail is set aside first. Not
/// `read_vault`: the index it would refresh is rebuilt after the append.
fn whole_for_append(path: &Path, file: &mut File) -> Result<(Vault, u64), StoreError> {
    let ReadVault {
        loaded, good_len, ..
    } = read_whole(path, file, false, true)?;
    if let Some(torn) = &loaded.torn {
        set_aside_tail(path, file, torn)?;
    }
    Ok((loaded.vault, good_len))
}

/// Appends many records in one locked write and one fsync: `build` gets
/// the whole vault as it is under the lock, pushes records onto it
/// ([`Vault::push`]) and returns their frame bytes. All or nothing. The
/// index is rebuilt afterwards.
pub fn append_many<E>(
    path: &Path,
    build: impl FnOnce(&mut Vault) -> Result<Vec<u8>, E>,
) -> Result<Result<usize, E>, StoreError> {
    let mut build = Some(build);
    with_exclusive(path, |file| {
        let (mut vault, good_len) = whole_for_append(path, file)?;
        let build = build.take().expect("runs once");
        let frames = match build(&mut vault) {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if !frames.is_empty() {
            write_at_end(path, file, good_len, &frames)?;
            rewrite_index(path, vault);
        }
        Ok(Ok(frames.len()))
    })
}

/// [`append_many`] for many records: `build` writes their frames to a
/// temporary file beside the vault (0600; frames hold only sealed
/// secrets) instead of memory, and they are copied to the vault's end in
/// one write and one fsync once `build` returns `Ok`. All or nothing, as
/// [`append_many`]: nothing reaches the vault if `build` fails or its
/// writer does (then the error is the writer's), and a failed copy is cut
/// back. Returns the bytes appended.
pub fn append_streamed<E>(
    path: &Path,
    build: impl FnOnce(&mut Vault, &mut dyn Write) -> Result<(), E>,
) -> Result<Result<u64, E>, StoreError> {
    let mut build = Some(build);
    with_exclusive(path, |file| {
        let (mut vault, good_len) = whole_for_append(path, file)?;
        // Dropped once the records and the index are written: its table
        // keeps only what that reads (an import's rows, FORMAT.md §12).
        vault.keep(crate::vault::entries::Keep::APPENDING);
        let build = build.take().expect("runs once");
        let mut tmp = new_temp(path)?;
        let mut out = Kept {
            out: io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut()),
            failed: None,
        };
        let built = build(&mut vault, &mut out);
        let flushed = out.flush();
        if let Some(e) = out.failed.take() {
            return Err(StoreError::io(path, e));
        }
        if let Err(e) = built {
            return Ok(Err(e));
        }
        flushed.map_err(|e| StoreError::io(path, e))?;
        drop(out);
        let frames = tmp.as_file_mut();
        let len = frames
            .stream_position()
            .map_err(|e| StoreError::io(path, e))?;
        if len > 0 {
            frames
                .seek(SeekFrom::Start(0))
                .map_err(|e| StoreError::io(path, e))?;
            copy_at_end(path, file, good_len, frames)?;
            rewrite_index(path, vault);
        }
        Ok(Ok(len))
    })
}

/// A writer that keeps its first error, so that the caller learns of it
/// whatever `build` made of it.
struct Kept<W: Write> {
    out: W,
    failed: Option<io::Error>,
}

impl<W: Write> Write for Kept<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        self.out.write(buf).inspect_err(|e| {
            self.failed = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().inspect_err(|e| {
            self.failed
                .get_or_insert_with(|| io::Error::new(e.kind(), e.to_string()));
        })
    }
}

/// Runs `f` with the vault file open for writing under an exclusive lock.
/// A rewrite (rekey) replaces the file by rename while others wait for the
/// lock on the old one: after locking, the path is checked to still name
/// the locked file, and if not, the lock is taken again on the new one.
fn with_exclusive<T>(
    path: &Path,
    mut f: impl FnMut(&mut File) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    for _ in 0..16 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        let mut lock = RwLock::new(file);
        let mut guard = lock.write().map_err(|e| StoreError::io(path, e))?;
        if !still_named(path, &guard)? {
            continue;
        }
        return f(&mut guard);
    }
    Err(StoreError::io(
        path,
        io::Error::other("the vault kept being replaced while waiting for its lock"),
    ))
}

/// True when `path` still names the open `file` (same device and inode).
fn still_named(path: &Path, file: &File) -> Result<bool, StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata().map_err(|e| StoreError::io(path, e))?;
        let named = fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
        Ok(open.ino() == named.ino() && open.dev() == named.dev())
    }
    // Windows: the volume serial number and file index of both handles.
    #[cfg(windows)]
    {
        let open =
            same_file::Handle::from_file(file.try_clone().map_err(|e| StoreError::io(path, e))?)
                .map_err(|e| StoreError::io(path, e))?;
        let named = same_file::Handle::from_path(path).map_err(|e| StoreError::io(path, e))?;
        Ok(open == named)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (path, file);
        Ok(true)
    }
}

/// Replaces the vault with a new file that `build` writes, from the vault
/// as it is under the exclusive lock (rekey). The vault is read one record
/// at a time and handed over without its records kept (they are read
/// again through [`Vault::for_each_record`]); `build` writes the new file
/// to a temporary file beside it, which is synced, and renamed over the
/// vault after the old one is hard-linked to a backup name; at every
/// moment either the old or the new vault is whole under the vault's name.
/// Returns the backup's path and what `build` returned.
pub fn rewrite<T, E>(
    path: &Path,
    backup_suffix: &str,
    build: impl FnOnce(&Vault, &mut dyn Write) -> Result<T, E>,
) -> Result<Result<(PathBuf, T), E>, StoreError> {
    let mut build = Some(build);
    with_exclusive(path, |file| {
        // Not read_vault: the old file's index is removed below.
        let ReadVault { loaded, .. } = read_whole(path, file, false, true)?;
        if let Some(torn) = &loaded.torn {
            set_aside_tail(path, file, torn)?;
        }
        let build = build.take().expect("runs once");
        let mut tmp = new_temp(path)?;
        let mut out = io::BufWriter::new(tmp.as_file_mut());
        let built = match build(&loaded.vault, &mut out) {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        out.flush().map_err(|e| StoreError::io(path, e))?;
        drop(out);
        tmp.as_file()
            .sync_all()
            .map_err(|e| StoreError::io(path, e))?;
        let dir = parent_dir(path);
        let mut backup = sibling(path, backup_suffix);
        let mut n = 1;
        while backup.exists() {
            backup = sibling(path, &format!("{backup_suffix}.{n}"));
            n += 1;
        }
        fs::hard_link(path, &backup).map_err(|e| StoreError::io(&backup, e))?;
        tmp.persist(path).map_err(|e| {
            // Windows will not rename over a file that is open, and the
            // lock holds the vault open (SECURITY.md, "Platforms").
            #[cfg(windows)]
            let _ = fs::remove_file(&backup);
            StoreError::io(path, replace_error(e.error))
        })?;
        sync_dir(dir).map_err(|e| StoreError::io(dir, e))?;
        // The index described the old file; the next read rebuilds it.
        let _ = fs::remove_file(scope::index_path(path));
        Ok(Ok((backup, built)))
    })
}

/// Why the vault could not be replaced by its rewrite.
#[cfg(not(windows))]
fn replace_error(e: io::Error) -> io::Error {
    e
}

/// Why the vault could not be replaced by its rewrite, and, on Windows,
/// what to do about it.
#[cfg(windows)]
fn replace_error(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "{e}; on Windows the vault cannot be replaced while it is locked, so rekey \
             and upgrade do not work there yet: run them on Linux or macOS (the vault \
             is unchanged)"
        ),
    )
}

/// A new, empty 0600 temporary file beside `path`; removed on drop unless
/// persisted.
fn new_temp(path: &Path) -> Result<tempfile::NamedTempFile, StoreError> {
    temp_builder(".breakglass-")
        .tempfile_in(parent_dir(path))
        .map_err(|e| StoreError::io(path, e))
}

/// Temporary files named `PREFIX…`, mode 0600 on Unix. Elsewhere the file
/// gets the directory's default access (SECURITY.md, platforms).
fn temp_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(secret_file_permissions());
    builder
}

/// `contents` in a new 0600 temporary file beside `path`, synced to disk;
/// removed on drop unless persisted.
fn synced_temp(path: &Path, contents: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
    let mut tmp = temp_builder(".breakglass-")
        .tempfile_in(parent_dir(path))
        .map_err(|e| StoreError::io(path, e))?;
    tmp.write_all(contents)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| StoreError::io(path, e))?;
    Ok(tmp)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn write_at_end(path: &Path, file: &mut File, len: u64, frame: &[u8]) -> Result<(), StoreError> {
    let result = file
        .seek(SeekFrom::Start(len))
        .and_then(|_| file.write_all(frame))
        .and_then(|_| file.sync_data());
    if let Err(e) = result {
        // Leave no partial record: cut back to what was there. If even
        // that fails, the next reader sees a torn tail and sets it aside.
        let _ = file.set_len(len).and_then(|_| file.sync_data());
        return Err(StoreError::io(path, e));
    }
    Ok(())
}

/// [`write_at_end`] from a reader: everything `from` holds, at `len`.
fn copy_at_end(
    path: &Path,
    file: &mut File,
    len: u64,
    from: &mut impl Read,
) -> Result<(), StoreError> {
    let result = file
        .seek(SeekFrom::Start(len))
        .and_then(|_| io::copy(from, file))
        .and_then(|_| file.sync_data());
    if let Err(e) = result {
        // Leave no partial record: cut back to what was there. If even
        // that fails, the next reader sees a torn tail and sets it aside.
        let _ = file.set_len(len).and_then(|_| file.sync_data());
        return Err(StoreError::io(path, e));
    }
    Ok(())
}

/// Copies a torn tail to `VAULT.torn-OFFSET`, syncs it, then cuts it off.
fn set_aside_tail(path: &Path, file: &mut File, torn: &TornTail) -> Result<PathBuf, StoreError> {
    let mut tail = vec![0u8; torn.len as usize];
    file.seek(SeekFrom::Start(torn.offset))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| StoreError::io(path, e))?;
    let mut aside = sibling(path, &format!("torn-{}", torn.offset));
    let mut n = 1;
    while aside.exists() {
        aside = sibling(path, &format!("torn-{}.{n}", torn.offset));
        n += 1;
    }
    write_new_file(&aside, &tail, false)?;
    file.set_len(torn.offset)
        .and_then(|_| file.sync_data())
        .map_err(|e| StoreError::io(path, e))?;
    Ok(aside)
}

/// `VAULT.suffix` beside `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes a new file atomically with mode 0600: temporary file in the same
/// directory, fsync, rename, fsync of the directory. Refuses to replace an
/// existing file unless `force`.
pub fn write_new_file(path: &Path, contents: &[u8], force: bool) -> Result<(), StoreError> {
    if !force && path.exists() {
        return Err(StoreError::Exists(path.to_owned()));
    }
    let dir = parent_dir(path);
    let tmp = synced_temp(path, contents)?;
    if force {
        tmp.persist(path)
            .map_err(|e| StoreError::io(path, e.error))?;
    } else {
        // persist_noclobber: a file that appeared meanwhile is not replaced.
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                StoreError::Exists(path.to_owned())
            } else {
                StoreError::io(path, e.error)
            }
        })?;
    }
    sync_dir(dir).map_err(|e| StoreError::io(dir, e))
}

#[cfg(unix)]
fn secret_file_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::entry::{EntryKind, EntrySecret};
    use crate::passphrase::KdfParams;
    use crate::vault::{create, DepositMeta, InitSpec};
    use zeroize::Zeroizing;

    fn new_vault_bytes() -> Vec<u8> {
        let spec = InitSpec::new("other", 2, ["a", "b"]).with_kdf(KdfParams::FLOOR);
        create(&spec, &[None, None]).unwrap().bytes
    }

    fn new_vault(dir: &Path) -> PathBuf {
        vault_named(dir, "v")
    }

    /// A new 2-of-2 vault `NAME.bg` in `dir`, named NAME, without deposits.
    pub(crate) fn vault_named(dir: &Path, name: &str) -> PathBuf {
        let spec = InitSpec::new(name, 2, ["a", "b"]).with_kdf(KdfParams::FLOOR);
        let created = create(&spec, &[None, None]).unwrap();
        let path = dir.join(format!("{name}.bg"));
        write_new_file(&path, &created.bytes, false).unwrap();
        // Custodian a's share beside it, for tests that sign as a.
        std::fs::write(
            path.with_extension("share1"),
            created.shares[0].text.as_bytes(),
        )
        .unwrap();
        path
    }

    fn deposit(path: &Path, label: &str) -> Appended {
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(b"pw".to_vec()),
        };
        append(path, &Scope::Entries(vec![label.into()]), |v| {
            v.deposit(label, EntryKind::Password, &s, &DepositMeta::default())
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn create_refuses_to_overwrite_and_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        assert!(matches!(
            write_new_file(&path, b"x", false),
            Err(StoreError::Exists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        write_new_file(&path, b"x", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn an_append_after_what_its_writer_knows_is_refused_once_the_file_moved() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        deposit(&path, "one");
        let v = load(&path).unwrap().vault;
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(b"pw".to_vec()),
        };
        let record = |label: &str| {
            v.deposit(label, EntryKind::Password, &s, &DepositMeta::default())
                .unwrap()
        };
        let known = Known::of(&v);
        let try_append = |known: Known, label: &str| {
            let r = record(label);
            append_after(&path, known, |_| Ok::<_, ()>(r))
                .unwrap()
                .unwrap()
        };
        // The file as known: appended, chained, numbered.
        let first = try_append(known, "two").expect("the file is as known");
        let loaded = load(&path).unwrap().vault;
        assert_eq!(loaded.head(), &first.head);
        assert_eq!((first.record, first.end), (3, loaded.end()));
        assert!(loaded.entries().contains_key("two"));
        // Stale: the file moved on since `known`.
        let before = fs::read(&path).unwrap();
        assert!(try_append(known, "three").is_none());
        // A wrong head at the right end.
        let forged = Known {
            head: [7; 32],
            ..Known::after(&first)
        };
        assert!(try_append(forged, "three").is_none());
        // Bytes after the end (another writer's torn tail), or a cut file.
        let mut longer = before.clone();
        longer.extend_from_slice(&[0, 0, 0, 9, 2]);
        fs::write(&path, &longer).unwrap();
        assert!(try_append(Known::after(&first), "three").is_none());
        fs::write(&path, &before[..before.len() - 1]).unwrap();
        assert!(try_append(Known::after(&first), "three").is_none());
        fs::write(&path, &before).unwrap();
        assert_eq!(fs::read(&path).unwrap(), before, "nothing was written");
        let next = try_append(Known::after(&first), "three").expect("as known again");
        assert_eq!(load(&path).unwrap().vault.head(), &next.head);
    }

    #[test]
    fn appends_are_visible_and_chained() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        deposit(&path, "one");
        let after = deposit(&path, "two");
        assert_eq!(after.record, 3);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.vault.head(), &after.head);
        assert!(loaded.torn.is_none());
    }

    #[test]
    fn torn_tail_is_set_aside_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        deposit(&path, "one");
        let good = fs::read(&path).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(&[0, 0, 0, 9, 2, 1, 2]); // a partial frame
        fs::write(&path, &torn).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.torn.as_ref().unwrap().offset, good.len() as u64);
        let after = deposit(&path, "two");
        let (tail, aside) = after.set_aside.unwrap();
        assert_eq!(tail.len, 7);
        assert_eq!(fs::read(&aside).unwrap(), &torn[good.len()..]);
        assert_eq!(load(&path).unwrap().vault.entries().len(), 2);
        assert!(load(&path).unwrap().torn.is_none());
    }

    #[test]
    fn rewrite_keeps_a_backup_and_appends_follow_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        deposit(&path, "one");
        let before = fs::read(&path).unwrap();
        // Hold the old file open, as a writer waiting for the lock would.
        let old_handle = File::open(&path).unwrap();
        let other = new_vault_bytes();
        let write = |_: &Vault, out: &mut dyn Write| out.write_all(&other).map_err(|_| ());
        let (backup, ()) = rewrite(&path, "before-test", write).unwrap().unwrap();
        assert_eq!(fs::read(&backup).unwrap(), before);
        assert_eq!(fs::read(&path).unwrap(), other);
        assert!(!still_named(&path, &old_handle).unwrap());
        deposit(&path, "two");
        assert!(load(&path).unwrap().vault.entries().contains_key("two"));
        assert_eq!(
            fs::read(&backup).unwrap(),
            before,
            "the backup is never appended to"
        );
        let (again, ()) = rewrite(&path, "before-test", write).unwrap().unwrap();
        assert_ne!(again, backup, "an existing backup is never replaced");
    }

    #[test]
    fn many_records_in_one_append_replay_like_single_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        let s = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(b"pw".to_vec()),
        };
        let written = append_many(&path, |v| {
            let mut out = Vec::new();
            for label in ["a", "b", "a"] {
                let r = v.deposit(label, EntryKind::Password, &s, &DepositMeta::default())?;
                out.extend(
                    v.push(r)
                        .map_err(|_| crate::vault::InputError::NothingToRotate {
                            label: label.into(),
                        })?,
                );
            }
            Ok::<_, crate::vault::InputError>(out)
        })
        .unwrap()
        .unwrap();
        assert!(written > 0);
        let index = fs::read(scope::index_path(&path)).unwrap();
        let v = load(&path).unwrap().vault;
        assert_eq!(v.entries().get("a").unwrap().versions.len(), 2);
        assert_eq!(v.record_count(), 4);
        assert!(
            index == scope::index_bytes(&v),
            "the batch leaves a current index"
        );
    }

    #[test]
    fn failed_build_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        let before = fs::read(&path).unwrap();
        let r: Result<Result<Appended, &str>, _> = append(&path, &Scope::Keys, |_| Err("no"));
        assert_eq!(r.unwrap().unwrap_err(), "no");
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    /// (number, offset, kind) of each record, and the torn tail.
    type Seen = (Vec<(usize, u64, u8)>, Option<TornTail>);

    /// What `for_each_record` saw.
    fn streamed(path: &Path) -> Result<Seen, StoreError> {
        let mut seen = Vec::new();
        let torn = for_each_record(path, |n, frame, record| {
            assert_eq!(record.kind(), frame.kind);
            seen.push((n, frame.offset, frame.kind));
            Ok::<_, StoreError>(())
        })?;
        Ok((seen, torn))
    }

    #[test]
    fn records_streamed_one_by_one_agree_with_the_whole_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        for label in ["one", "two", "three"] {
            deposit(&path, label);
        }
        let good = fs::read(&path).unwrap();
        let whole = |bytes: &[u8]| {
            let log = log::parse(bytes)?;
            let seen: Vec<_> = log
                .frames
                .iter()
                .enumerate()
                .map(|(i, f)| (i + 1, f.offset, f.kind))
                .collect();
            Ok::<_, LogError>((seen, log.torn))
        };
        let (seen, torn) = streamed(&path).unwrap();
        assert_eq!((seen.clone(), torn), whole(&good).unwrap());
        assert_eq!(seen.len(), 4);
        // Every cut is a torn tail at the same place as the whole parse
        // says; every flipped byte is the same verdict too.
        for cut in log::HEADER_LEN..good.len() {
            fs::write(&path, &good[..cut]).unwrap();
            assert_eq!(
                streamed(&path).unwrap(),
                whole(&good[..cut]).unwrap(),
                "cut {cut}"
            );
        }
        for at in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            fs::write(&path, &bad).unwrap();
            match (streamed(&path), whole(&bad)) {
                (Ok(s), Ok(w)) => assert_eq!(s, w, "flip at {at}"),
                (Err(StoreError::Vault { source, .. }), Err(e)) => {
                    assert_eq!(source.to_string(), e.to_string(), "flip at {at}")
                }
                (s, w) => panic!("flip at {at}: streamed {s:?}, whole {w:?}"),
            }
        }
    }

    /// What a whole read says: the entries' public state and the torn
    /// tail, or the error's text.
    fn verdict(load: Result<(Vault, Option<TornTail>), String>) -> String {
        match load {
            Ok((v, torn)) => format!(
                "{:?} {:?} {} {:?}",
                v.entries(),
                torn,
                v.record_count(),
                v.head()
            ),
            Err(e) => e,
        }
    }

    #[test]
    fn a_replay_streamed_from_the_file_agrees_with_parse_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        for label in ["one", "two", "one"] {
            deposit(&path, label);
        }
        let good = fs::read(&path).unwrap();
        let in_memory = |bytes: &[u8]| {
            let log = log::parse(bytes).map_err(|e| e.to_string())?;
            let v = Vault::replay(&log).map_err(|e| e.to_string())?;
            Ok((v, log.torn))
        };
        let streamed = |bytes: &[u8]| {
            fs::write(&path, bytes).unwrap();
            let _ = fs::remove_file(scope::index_path(&path));
            match load(&path) {
                Ok(l) => Ok((l.vault, l.torn)),
                Err(StoreError::Vault { source, .. }) => Err(source.to_string()),
                Err(e) => panic!("{e}"),
            }
        };
        let loaded = streamed(&good).unwrap().0;
        assert!(!loaded.keeps_records() && loaded.records().is_empty());
        for cut in log::HEADER_LEN..=good.len() {
            let bytes = &good[..cut];
            assert_eq!(
                verdict(streamed(bytes)),
                verdict(in_memory(bytes)),
                "cut {cut}"
            );
        }
        for at in (0..good.len()).step_by(5) {
            let mut bad = good.clone();
            bad[at] ^= 0x41;
            assert_eq!(
                verdict(streamed(&bad)),
                verdict(in_memory(&bad)),
                "flip at {at}"
            );
        }
    }

    #[test]
    fn receipts_are_judged_alike_streamed_from_the_file_and_in_memory() {
        use crate::receipt::{verdicts, Failure, Receipt, Verdict};
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        for label in ["one", "two", "one", "three"] {
            deposit(&path, label);
        }
        let bytes = fs::read(&path).unwrap();
        let in_memory = Vault::replay(&log::parse(&bytes).unwrap()).unwrap();
        let streamed = load(&path).unwrap().vault;
        assert!(!streamed.keeps_records());
        let last = Receipt::of(&in_memory);
        // A receipt at every record, one past the end, and one forged.
        let mut receipts: Vec<Receipt> = in_memory
            .records()
            .iter()
            .enumerate()
            .map(|(i, p)| Receipt {
                record: i as u32 + 1,
                head: p.frame.hash,
                ..last
            })
            .collect();
        receipts.push(Receipt {
            record: last.record + 1,
            ..last
        });
        receipts.push(Receipt {
            head: [9; 32],
            record: 2,
            ..last
        });
        let judged = verdicts(&receipts, &streamed).unwrap();
        assert_eq!(judged, verdicts(&receipts, &in_memory).unwrap());
        let n = receipts.len();
        assert!(judged[..n - 2].iter().all(|v| *v == Verdict::Extends));
        assert_eq!(
            judged[n - 2],
            Verdict::Fails(Failure::Shorter {
                holds: last.record as usize,
                saw: last.record + 1
            })
        );
        assert_eq!(
            judged[n - 1],
            Verdict::Fails(Failure::Rewritten { record: 2 })
        );
    }

    #[test]
    fn a_rule_broken_early_is_named_only_after_damage_later() {
        // Record 2 breaks a replay rule (a second genesis, re-chained);
        // record 3 is damaged: the whole parse names the damage first.
        let dir = tempfile::tempdir().unwrap();
        let path = new_vault(dir.path());
        deposit(&path, "a");
        let good = fs::read(&path).unwrap();
        let log = log::parse(&good).unwrap();
        let genesis = &log.frames[0];
        let (second, hash) = log::encode_frame(&log.head, genesis.kind, &genesis.body);
        let (third, _) = log::encode_frame(&hash, 2, b"x");
        let mut bytes = good.clone();
        bytes.extend_from_slice(&second);
        let damaged_at = bytes.len();
        bytes.extend_from_slice(&third);
        bytes.extend_from_slice(&third); // a fourth record: the third is not the last
        bytes[damaged_at + 12] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = load(&path).unwrap_err().to_string();
        let whole = log::parse(&bytes).unwrap_err().to_string();
        assert!(err.ends_with(&whole), "{err} / {whole}");
        assert!(whole.contains("record #4"), "{whole}");
    }

    #[test]
    fn not_a_vault_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        assert!(matches!(load(&path), Err(StoreError::Io { .. })));
        fs::write(&path, b"hello").unwrap();
        let err = load(&path).unwrap_err();
        assert!(!err.is_damage());
        assert!(err.to_string().contains("not a breakglass vault"), "{err}");
    }
}
