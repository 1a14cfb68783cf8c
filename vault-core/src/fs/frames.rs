//! Reading the vault file one frame at a time (docs/FORMAT.md §3): what
//! [`crate::log::parse`] says of the whole file, said frame by frame from a
//! buffered reader, so no command holds more than one record of the file
//! in memory. And reading one frame again at its offset, for a reveal.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

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
pub(crate) fn stream<E>(
    file: &File,
    each: impl FnMut(usize, Frame) -> Result<(), E>,
) -> Result<Option<TornTail>, StreamError<E>> {
    let mut file = file;
    file.seek(SeekFrom::Start(0)).map_err(StreamError::Io)?;
    stream_from(file, each)
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
