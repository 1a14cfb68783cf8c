//! Reading the vault file one frame at a time (docs/FORMAT.md §3): what
//! [`crate::log::parse`] says of the whole file, said frame by frame from a
//! buffered reader, so no command holds more than one record of the file
//! in memory. And reading one frame again at its offset, for a reveal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::mpsc;

use crate::log::{self, Frame, LogError, TornTail, FRAME_HEAD, HEADER_LEN};
use crate::vault::RecordSource;

/// What went wrong while streaming: the file could not be read, it is not
/// a vault or is damaged (as [`log::parse`] would say), or `each` refused.
pub(crate) enum StreamError<E> {
    Io(io::Error),
    Log(LogError),
    Each(E),
}

/// Reads `file` from the start and hands each good frame to `each` (with
/// its 1-based number), in order; returns the torn tail, if the file ends
/// in one. Frames, frame checks, the hash chain and the torn-tail or damage
/// verdict are [`log::parse`]'s, at the same record and offset.
///
/// The file is read and its chain checked (SHA-256: a third of a replay's
/// time) on a second thread while `each` runs on this one. That thread
/// hands over the bytes of the frames it checked, many frames to a batch,
/// and `each` gets frames made from exactly those bytes (the file is not
/// read twice). What `each` sees, in what order, and the verdict are
/// [`stream_from`]'s on this thread, which is what runs when no thread can
/// be started.
///
/// `each` borrows its frame: one frame is refilled for every record, so a
/// replay of a million records does not allocate a body for each.
pub(crate) fn stream<E>(
    file: &File,
    mut each: impl FnMut(usize, &Frame) -> Result<(), E>,
) -> Result<Option<TornTail>, StreamError<E>> {
    let mut file = file;
    file.seek(SeekFrom::Start(0)).map_err(StreamError::Io)?;
    std::thread::scope(|s| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(QUEUED_BATCHES);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let reader = std::thread::Builder::new()
            .name("breakglass-chain".into())
            .spawn_scoped(s, move || check_in_batches(file, &full_tx, &empty_rx));
        let Ok(reader) = reader else {
            return stream_from(file, |number, frame| each(number, &frame));
        };
        // Returning early drops the receiver: the reader's next send fails
        // and it stops, so the scope's join never waits on a full queue.
        let mut frame = Frame {
            offset: 0,
            kind: 0,
            body: Vec::new(),
            prev: [0; 32],
            hash: [0; 32],
        };
        for mut batch in &full_rx {
            for f in batch.frames.drain(..) {
                frame.offset = f.offset;
                frame.kind = f.kind;
                frame.body.clear();
                frame.body.extend_from_slice(&batch.bytes[f.body]);
                frame.prev = f.prev;
                frame.hash = f.hash;
                each(f.number, &frame).map_err(StreamError::Each)?;
            }
            batch.bytes.clear();
            // The reader may have finished: then the batch is just dropped.
            let _ = empty_tx.send(batch);
        }
        match reader.join() {
            Ok(Ok(torn)) => Ok(torn),
            Ok(Err(StreamError::Io(e))) => Err(StreamError::Io(e)),
            Ok(Err(StreamError::Log(e))) => Err(StreamError::Log(e)),
            // Only when the receiver is gone, which it is not here.
            Ok(Err(StreamError::Each(()))) => Err(StreamError::Io(io::Error::other(
                "the frames read were not all handed over",
            ))),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Frames checked on the reading thread: their bodies in one buffer.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    frames: Vec<Checked>,
}

/// A frame in a [`Batch`]: where its body is in the batch's bytes.
struct Checked {
    number: usize,
    offset: u64,
    kind: u8,
    body: std::ops::Range<usize>,
    prev: [u8; 32],
    hash: [u8; 32],
}

/// Body bytes after which a batch is handed over (about a thousand fleet
/// deposits of ≈ 260 bytes: few hand-overs).
const BATCH_BYTES: usize = 256 * 1024;
/// Frames after which a batch is handed over whatever their bodies hold:
/// a file of empty records must not gather in one batch (each frame's
/// place takes ≈ 100 bytes; a red-team review filled 249 MiB with 2.5
/// million empty frames before this bound).
const BATCH_FRAMES: usize = 4096;
/// Batches the reading thread may run ahead by. A batch holds at most
/// `BATCH_BYTES` of bodies plus one record (≤ 1 MiB) and `BATCH_FRAMES`
/// frames (≈ 400 KiB of places), and at most this many plus three exist (one filling, one just made, one being read, the rest
/// queued or waiting to be reused: a new one is made only when none
/// waits), so what is in flight stays under 10 MiB whatever the file holds
/// (docs/HARDENING.md, "Budgets").
const QUEUED_BATCHES: usize = 2;

/// [`stream_from`] on the reading thread, its frames copied into batches
/// sent on `full` (batches come back on `empty` to be reused); stops when
/// the receiver is gone.
fn check_in_batches(
    file: &File,
    full: &mpsc::SyncSender<Batch>,
    empty: &mpsc::Receiver<Batch>,
) -> Result<Option<TornTail>, StreamError<()>> {
    let mut batch = Batch::default();
    let read = stream_from(file, |number, frame| {
        let start = batch.bytes.len();
        batch.bytes.extend_from_slice(&frame.body);
        batch.frames.push(Checked {
            number,
            offset: frame.offset,
            kind: frame.kind,
            body: start..batch.bytes.len(),
            prev: frame.prev,
            hash: frame.hash,
        });
        if batch.bytes.len() >= BATCH_BYTES || batch.frames.len() >= BATCH_FRAMES {
            let next = empty.try_recv().unwrap_or_default();
            full.send(std::mem::replace(&mut batch, next))
                .map_err(|_| ())?;
        }
        Ok(())
    });
    // The frames before the end or the damage, then the verdict.
    if !batch.frames.is_empty() {
        full.send(batch).map_err(|_| StreamError::Each(()))?;
    }
    read
}

/// [`stream`] over what `reader` reads, from the start of a vault file.
fn stream_from<E>(
    reader: impl Read,
    mut each: impl FnMut(usize, Frame) -> Result<(), E>,
) -> Result<Option<TornTail>, StreamError<E>> {
    let mut r = BufReader::with_capacity(1 << 16, reader);
    let mut header = Vec::with_capacity(HEADER_LEN);
    (&mut r)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut header)
        .map_err(StreamError::Io)?;
    // An empty file, the wrong magic or a newer version: as parse says.
    let version = log::read_header(&header).map_err(StreamError::Log)?;
    let (mut offset, mut prev, mut number) = (HEADER_LEN as u64, log::genesis_prev(version), 1);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        let mut head = [0u8; FRAME_HEAD];
        let got = read_up_to(&mut r, &mut head).map_err(StreamError::Io)?;
        bytes.extend_from_slice(&head[..got]);
        if got == 0 {
            return Ok(None);
        }
        let whole = got == head.len()
            && log::frame_len(&head).is_some_and(|len| {
                let n = (len + log::FRAME_OVERHEAD - FRAME_HEAD) as u64;
                (&mut r).take(n).read_to_end(&mut bytes).is_ok()
                    && bytes.len() == len + log::FRAME_OVERHEAD
            });
        let at_end = r.fill_buf().map_err(StreamError::Io)?.is_empty();
        if !whole || at_end {
            // Not a good frame, or the last one: classify as the whole-file
            // parser does (a torn tail only at the very end of the file).
            r.read_to_end(&mut bytes).map_err(StreamError::Io)?;
            let rest = log::parse_tail(&bytes, offset, prev, number).map_err(StreamError::Log)?;
            for frame in rest.frames {
                each(number, frame).map_err(StreamError::Each)?;
                number += 1;
            }
            return Ok(rest.torn);
        }
        // A whole frame with more after it: its chain hash must hold.
        let frame =
            log::frame_at(&bytes, offset, &prev).ok_or(StreamError::Log(LogError::Damaged {
                record: number,
                offset,
                why: "chain hash does not match",
            }))?;
        offset += bytes.len() as u64;
        prev = frame.hash;
        each(number, frame).map_err(StreamError::Each)?;
        number += 1;
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Reads and checks the frame at `offset`, which must end by `limit`: its
/// frame check, and its chain hash from the 32 bytes before it (the record
/// before's chain hash, or the header's for the first record).
pub(crate) fn read_frame(file: &File, offset: u64, limit: u64) -> Option<Frame> {
    let prev: [u8; 32] = if offset == HEADER_LEN as u64 {
        log::genesis_prev(log::read_header(&read_at(file, 0, HEADER_LEN)?).ok()?)
    } else {
        read_at(file, offset.checked_sub(32)?, 32)?
            .try_into()
            .ok()?
    };
    let head: [u8; FRAME_HEAD] = read_at(file, offset, FRAME_HEAD)?.try_into().ok()?;
    let len = log::frame_len(&head)? + log::FRAME_OVERHEAD;
    if offset.checked_add(len as u64)? > limit {
        return None;
    }
    log::frame_at(&read_at(file, offset, len)?, offset, &prev)
}

/// `len` bytes of `file` at `offset`.
pub(crate) fn read_at(mut file: &File, offset: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(offset)).ok()?;
    file.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// The vault file a whole read replayed, kept open (the same file even if
/// a rekey renames another over its path) for the reveals that need one
/// deposit again: only frames inside the records replayed are read.
#[derive(Debug)]
pub(crate) struct FileSource {
    pub file: File,
    /// Where the replayed records end.
    pub end: u64,
}

impl RecordSource for FileSource {
    fn frame_at(&self, offset: u64) -> Option<Frame> {
        read_frame(&self.file, offset, self.end)
    }

    fn for_each_frame(&self, each: &mut dyn FnMut(usize, &Frame)) -> bool {
        let mut file = &self.file;
        if file.seek(SeekFrom::Start(0)).is_err() {
            return false;
        }
        // Only the records replayed: they were whole and chained then, and
        // the file only grows after them (a rekey renames a new file in).
        let streamed = stream_from(file.take(self.end), |number, frame| {
            each(number, &frame);
            Ok::<_, std::convert::Infallible>(())
        });
        matches!(streamed, Ok(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A vault-shaped file: a header and frames of these body lengths.
    fn file_of(lens: &[usize]) -> Vec<u8> {
        let mut out = log::header(2).to_vec();
        let mut prev = log::genesis_prev(2);
        for (i, &len) in lens.iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|j| (i * 31 + j) as u8).collect();
            let (frame, hash) = log::encode_frame(&prev, 2, &body);
            out.extend_from_slice(&frame);
            prev = hash;
        }
        out
    }

    /// What a stream hands out and says: the frames (number and frame),
    /// and the verdict as text.
    type Seen = (Vec<(usize, Frame)>, String);

    fn seen(
        run: impl FnOnce(
            &mut dyn FnMut(usize, Frame) -> Result<(), ()>,
        ) -> Result<Option<TornTail>, StreamError<()>>,
        stop_at: usize,
    ) -> Seen {
        let mut frames = Vec::new();
        let verdict = run(&mut |n, f| {
            frames.push((n, f));
            if n == stop_at {
                return Err(());
            }
            Ok(())
        });
        let verdict = match verdict {
            Ok(torn) => format!("ok {torn:?}"),
            Err(StreamError::Io(e)) => format!("io {e}"),
            Err(StreamError::Log(e)) => format!("log {e:?}"),
            Err(StreamError::Each(e)) => format!("each {e:?}"),
        };
        (frames, verdict)
    }

    #[test]
    fn a_file_of_empty_records_is_handed_over_a_few_thousand_frames_at_a_time() {
        // Empty bodies add no bytes to a batch: the frame count bounds it.
        let bytes = file_of(&vec![0; 3 * BATCH_FRAMES + 5]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bg");
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let (full_tx, full_rx) = mpsc::sync_channel(QUEUED_BATCHES);
        let (_empty_tx, empty_rx) = mpsc::channel();
        let file = &file;
        let sizes = std::thread::scope(|s| {
            let reader = s.spawn(move || check_in_batches(file, &full_tx, &empty_rx));
            let sizes: Vec<usize> = full_rx.iter().map(|b: Batch| b.frames.len()).collect();
            assert!(matches!(reader.join().unwrap(), Ok(None)));
            sizes
        });
        assert_eq!(sizes.iter().sum::<usize>(), 3 * BATCH_FRAMES + 5);
        assert!(sizes.iter().all(|&n| n <= BATCH_FRAMES), "{sizes:?}");
        // And full ones: a hand-over per frame would cost what batching saves.
        assert_eq!(sizes.len(), 4, "{sizes:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// The frames checked on a second thread, in batches, are what one
        /// thread reading alone hands out — the same frames in the same
        /// order and the same verdict — whatever the file's damage, and
        /// when the caller stops early.
        #[test]
        fn frames_checked_on_a_second_thread_are_those_read_on_one(
            lens in proptest::collection::vec(prop_oneof![0usize..400, 20_000usize..120_000], 0..24),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
            damage in 0u8..4,
            stop in 0usize..30,
        ) {
            let mut bytes = file_of(&lens);
            match damage {
                0 => {}
                1 => bytes.truncate(cut.index(bytes.len() + 1)),
                2 => { let at = flip.index(bytes.len()); bytes[at] ^= 0x20; }
                _ => bytes.extend_from_slice(&[0u8; 700]),
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("v.bg");
            std::fs::write(&path, &bytes).unwrap();
            let file = File::open(&path).unwrap();
            let threaded = seen(|each| stream(&file, |n, f| each(n, f.clone())), stop);
            let alone = seen(|each| stream_from(&bytes[..], each), stop);
            prop_assert_eq!(threaded, alone);
        }
    }
}
