//! The vault file as bytes: header, framed records, hash chain
//! (docs/FORMAT.md §3–4).
//!
//! ```text
//! file   = header record*
//! header = magic(8) version(u16)
//! record = length(u32) type(u8) frame-check(4) body(length) chain-hash(32)
//! ```
//!
//! `frame-check` is the first four bytes of SHA-256("breakglass/v1/frame"
//! || length || type): a crash can only leave a *prefix* of an append, so a
//! complete frame header that fails its check is damage, never a torn write.
//! `chain-hash = SHA-256("breakglass/v1/chain" || previous chain-hash ||
//! type || length || body)`, and the "previous" hash of the first record is
//! the same hash over the header instead of a record. The chain hash is the
//! record's checksum and its link to everything before it.

use crate::keys::sha256;

/// First eight bytes of every vault file.
pub const MAGIC: [u8; 8] = *b"\x89BGVLT\r\n";
/// The file format version this build writes (docs/FORMAT.md §14).
pub const FORMAT_VERSION: u16 = 2;
/// The oldest format version this build reads (forever: `fixtures/v1/`).
pub const OLDEST_VERSION: u16 = 1;
/// Bytes in the header.
pub const HEADER_LEN: usize = 10;
/// Bytes of a frame before its body: length, type, frame check.
pub const FRAME_HEAD: usize = 4 + 1 + 4;
/// Bytes in a record's frame around its body.
pub const FRAME_OVERHEAD: usize = FRAME_HEAD + 32;
/// The largest body any record may have.
pub const MAX_BODY: usize = 1 << 20;

/// The file header of format version `version`.
pub fn header(version: u16) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8..].copy_from_slice(&version.to_be_bytes());
    h
}

/// The chain hash a file of format version `version` starts from. The
/// header holds the version, so a version 1 chain and a version 2 chain
/// never agree.
pub fn genesis_prev(version: u16) -> [u8; 32] {
    sha256(&[b"breakglass/v1/chain", &header(version)])
}

/// The format version a file's first record says, by the chain hash it
/// follows (`Frame::prev` of record 1); `None` for any other hash.
pub fn version_of_first(prev: &[u8; 32]) -> Option<u16> {
    (OLDEST_VERSION..=FORMAT_VERSION).find(|&v| genesis_prev(v) == *prev)
}

/// The format version in a file header, when it is one this build reads.
pub fn read_header(bytes: &[u8]) -> Result<u16, LogError> {
    if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
        return Err(LogError::NotAVault);
    }
    match u16::from_be_bytes([bytes[8], bytes[9]]) {
        // Version 0 does not exist; anything newer is from the future.
        0 => Err(LogError::NotAVault),
        v if v > FORMAT_VERSION => Err(LogError::NewerFormat(v)),
        v => Ok(v),
    }
}

/// The chain hash of a record following `prev`.
pub fn chain_hash(prev: &[u8; 32], kind: u8, body: &[u8]) -> [u8; 32] {
    sha256(&[
        b"breakglass/v1/chain",
        prev,
        &[kind],
        &(body.len() as u32).to_be_bytes(),
        body,
    ])
}

fn frame_check(len: [u8; 4], kind: u8) -> [u8; 4] {
    // A pure function of five public bytes, asked twice for every record
    // a replay reads and of few distinct values in a vault (a fleet's
    // deposits differ in length by a few bytes): remembered per thread, it
    // spares a replay two of its seven SHA-256 blocks a record.
    thread_local! {
        static SEEN: std::cell::RefCell<[(u64, [u8; 4]); 64]> =
            const { std::cell::RefCell::new([(0, [0; 4]); 64]) };
    }
    let key = u64::from(u32::from_be_bytes(len)) << 8 | u64::from(kind);
    // 0 marks an empty slot, so keys are stored plus one.
    let slot = ((key ^ key >> 6) & 63) as usize;
    SEEN.with_borrow_mut(|seen| {
        if seen[slot].0 == key + 1 {
            return seen[slot].1;
        }
        let check = frame_check_computed(len, kind);
        seen[slot] = (key + 1, check);
        check
    })
}

fn frame_check_computed(len: [u8; 4], kind: u8) -> [u8; 4] {
    let h = sha256(&[b"breakglass/v1/frame", &len, &[kind]]);
    [h[0], h[1], h[2], h[3]]
}

/// A record's frame bytes, and its chain hash.
pub fn encode_frame(prev: &[u8; 32], kind: u8, body: &[u8]) -> (Vec<u8>, [u8; 32]) {
    assert!(
        body.len() <= MAX_BODY,
        "record body over the format's limit"
    );
    let hash = chain_hash(prev, kind, body);
    let len = (body.len() as u32).to_be_bytes();
    let mut out = Vec::with_capacity(body.len() + FRAME_OVERHEAD);
    out.extend_from_slice(&len);
    out.push(kind);
    out.extend_from_slice(&frame_check(len, kind));
    out.extend_from_slice(body);
    out.extend_from_slice(&hash);
    (out, hash)
}

/// One framed record as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Byte offset of the frame in the file.
    pub offset: u64,
    /// Record type.
    pub kind: u8,
    /// Record body.
    pub body: Vec<u8>,
    /// Chain hash of the record before (or of the header).
    pub prev: [u8; 32],
    /// This record's chain hash.
    pub hash: [u8; 32],
}

/// Bytes after the last good record that are what a crash during an
/// append leaves behind: a prefix of one frame, or zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Offset where the torn bytes start.
    pub offset: u64,
    /// How many bytes.
    pub len: u64,
    /// What is wrong with them.
    pub why: &'static str,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The good records, in order.
    pub frames: Vec<Frame>,
    /// Chain hash of the last good record.
    pub head: [u8; 32],
    /// A torn tail, if the file ends in one.
    pub torn: Option<TornTail>,
}

/// Why the file cannot be read as a vault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Not a vault at all.
    #[error("not a breakglass vault (wrong magic bytes)")]
    NotAVault,
    /// Written by a newer breakglass.
    #[error("vault format version {0} is newer than this breakglass understands (version {FORMAT_VERSION}): upgrade breakglass")]
    NewerFormat(u16),
    /// A record is broken in a way no crash can cause: damage or tampering.
    #[error("record #{record} at offset {offset}: {why}")]
    Damaged {
        /// 1-based record number.
        record: usize,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        why: &'static str,
    },
}

/// Parses and checks the whole file. Only the end of the file may be torn.
pub fn parse(bytes: &[u8]) -> Result<Log, LogError> {
    let version = read_header(bytes)?;
    parse_tail(
        &bytes[HEADER_LEN..],
        HEADER_LEN as u64,
        genesis_prev(version),
        1,
    )
}

/// Parses the records in `bytes`, which sit at file offset `base` right
/// after a record (or the header) whose chain hash is `prev`; `first` is the
/// number of the first of them. Only the end may be torn.
pub fn parse_tail(bytes: &[u8], base: u64, prev: [u8; 32], first: usize) -> Result<Log, LogError> {
    let mut frames = Vec::new();
    let mut prev = prev;
    let mut pos = 0;
    while pos < bytes.len() {
        match next_frame(bytes, pos, base, &prev) {
            Next::Frame(frame) => {
                pos += frame.body.len() + FRAME_OVERHEAD;
                prev = frame.hash;
                frames.push(frame);
            }
            Next::Torn(why) => {
                let torn = TornTail {
                    offset: base + pos as u64,
                    len: (bytes.len() - pos) as u64,
                    why,
                };
                return Ok(Log {
                    frames,
                    head: prev,
                    torn: Some(torn),
                });
            }
            Next::Damaged(why) => {
                return Err(LogError::Damaged {
                    record: first + frames.len(),
                    offset: base + pos as u64,
                    why,
                })
            }
        }
    }
    Ok(Log {
        frames,
        head: prev,
        torn: None,
    })
}

/// Checks one frame read on its own: `bytes` must be exactly one whole
/// frame at file offset `offset` whose frame check and chain hash (from
/// `prev`, the 32 bytes before it) hold.
pub fn frame_at(bytes: &[u8], offset: u64, prev: &[u8; 32]) -> Option<Frame> {
    match next_frame(bytes, 0, offset, prev) {
        Next::Frame(f) if f.body.len() + FRAME_OVERHEAD == bytes.len() => Some(f),
        _ => None,
    }
}

/// The body length a frame header announces, if its frame check holds.
pub fn frame_len(head: &[u8; FRAME_HEAD]) -> Option<usize> {
    let len_bytes: [u8; 4] = head[..4].try_into().expect("4 bytes");
    let len = u32::from_be_bytes(len_bytes) as usize;
    (head[5..9] == frame_check(len_bytes, head[4]) && len <= MAX_BODY).then_some(len)
}

/// Sector size for telling a crash from damage (FORMAT.md §3.1).
const SECTOR: u64 = 512;

/// True when a record that ends the file holds what a crash leaves: cut at
/// every file offset that is a multiple of 512, some piece is all zeros
/// and is at least 32 bytes long or ends the file (sectors that were never
/// written read back as zeros). One flipped byte in a complete record is
/// not that: it is damage (FORMAT.md §3.1).
fn has_unwritten_sector(record: &[u8], offset: u64) -> bool {
    let end = offset + record.len() as u64;
    let mut start = offset;
    while start < end {
        let stop = ((start / SECTOR + 1) * SECTOR).min(end);
        let piece = &record[(start - offset) as usize..(stop - offset) as usize];
        if piece.iter().all(|&b| b == 0) && (piece.len() >= 32 || stop == end) {
            return true;
        }
        start = stop;
    }
    false
}

enum Next {
    Frame(Frame),
    Torn(&'static str),
    Damaged(&'static str),
}

/// Reads the frame at `pos` and classifies what is there.
fn next_frame(bytes: &[u8], pos: usize, base: u64, prev: &[u8; 32]) -> Next {
    let rest = &bytes[pos..];
    if rest.iter().all(|&b| b == 0) {
        return Next::Torn("zero-filled tail");
    }
    if rest.len() < FRAME_HEAD {
        return Next::Torn("incomplete record header");
    }
    let len_bytes: [u8; 4] = rest[..4].try_into().expect("4 bytes");
    let kind = rest[4];
    if rest[5..9] != frame_check(len_bytes, kind) {
        return Next::Damaged("record header check fails");
    }
    let len = u32::from_be_bytes(len_bytes) as usize;
    if len > MAX_BODY {
        return Next::Damaged("record length beyond the format's limit");
    }
    if rest.len() < len + FRAME_OVERHEAD {
        return Next::Torn("record runs past the end of the file");
    }
    let body = &rest[FRAME_HEAD..FRAME_HEAD + len];
    let stored = &rest[FRAME_HEAD + len..len + FRAME_OVERHEAD];
    let hash = chain_hash(prev, kind, body);
    if hash != stored {
        let record = &rest[..len + FRAME_OVERHEAD];
        return if rest.len() == record.len() && has_unwritten_sector(record, base + pos as u64) {
            Next::Torn("unwritten sectors in the last record")
        } else if rest.len() == record.len() {
            Next::Damaged("a complete record fails its check")
        } else {
            Next::Damaged("chain hash does not match")
        };
    }
    Next::Frame(Frame {
        offset: base + pos as u64,
        kind,
        body: body.to_vec(),
        prev: *prev,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = header(1).to_vec();
        let mut prev = genesis_prev(1);
        for b in bodies {
            let (frame, hash) = encode_frame(&prev, 2, b);
            out.extend_from_slice(&frame);
            prev = hash;
        }
        out
    }

    #[test]
    fn an_empty_slot_is_never_taken_for_a_remembered_check() {
        // Length 0 and kind 0 make key 0; empty slots hold 0 too (keys are
        // kept plus one). On a fresh thread, so that its slots are empty.
        std::thread::spawn(|| {
            assert_eq!(frame_check([0; 4], 0), frame_check_computed([0; 4], 0));
        })
        .join()
        .unwrap();
    }

    proptest! {
        #[test]
        fn the_remembered_frame_check_is_the_computed_one(pairs in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..200)) {
            // Twice over, so that later rounds hit remembered slots (and
            // evict each other: 200 pairs, 64 slots).
            for (len, kind) in pairs.iter().chain(&pairs) {
                let len = len.to_be_bytes();
                prop_assert_eq!(frame_check(len, *kind), frame_check_computed(len, *kind));
            }
        }
    }

    #[test]
    fn header_bytes_are_pinned() {
        assert_eq!(hex::encode(header(1)), "894247564c540d0a0001");
        assert_eq!(hex::encode(header(2)), "894247564c540d0a0002");
        assert_ne!(genesis_prev(1), genesis_prev(2));
        assert_eq!(version_of_first(&genesis_prev(1)), Some(1));
        assert_eq!(version_of_first(&genesis_prev(2)), Some(2));
        assert_eq!(version_of_first(&[0; 32]), None);
    }

    #[test]
    fn a_flipped_length_in_the_middle_is_damage_not_a_torn_tail() {
        let bytes = file(&[b"one", b"two", b"three"]);
        let second = HEADER_LEN + 3 + FRAME_OVERHEAD;
        let mut bad = bytes.clone();
        bad[second + 2] ^= 0x10; // length of record 2 now points past the end
        assert_eq!(
            parse(&bad),
            Err(LogError::Damaged {
                record: 2,
                offset: second as u64,
                why: "record header check fails"
            })
        );
    }

    #[test]
    fn a_zero_filled_tail_is_torn() {
        let mut bytes = file(&[b"one"]);
        let end = bytes.len();
        bytes.extend_from_slice(&[0; 100]);
        let log = parse(&bytes).unwrap();
        assert_eq!(log.frames.len(), 1);
        assert_eq!(log.torn.unwrap().offset as usize, end);
    }

    #[test]
    fn parses_a_clean_file() {
        let bytes = file(&[b"one", b"two", b""]);
        let log = parse(&bytes).unwrap();
        assert_eq!(log.frames.len(), 3);
        assert_eq!(log.frames[1].body, b"two");
        assert_eq!(
            log.frames[1].offset,
            (HEADER_LEN + 3 + FRAME_OVERHEAD) as u64
        );
        assert_eq!(log.head, log.frames[2].hash);
        assert!(log.torn.is_none());
    }

    #[test]
    fn wrong_magic_and_newer_version() {
        assert_eq!(parse(b"hello world"), Err(LogError::NotAVault));
        assert_eq!(parse(b""), Err(LogError::NotAVault));
        let mut bytes = file(&[]);
        bytes[9] = 3;
        assert_eq!(parse(&bytes), Err(LogError::NewerFormat(3)));
        bytes[9] = 0;
        assert_eq!(parse(&bytes), Err(LogError::NotAVault));
    }

    #[test]
    fn every_truncation_is_a_torn_tail_never_an_error() {
        let bytes = file(&[b"one", b"two", b"three"]);
        let ends: Vec<usize> = {
            let log = parse(&bytes).unwrap();
            log.frames.iter().map(|f| f.offset as usize).collect()
        };
        for cut in HEADER_LEN..bytes.len() {
            let log = parse(&bytes[..cut]).unwrap();
            let whole = ends.iter().filter(|&&o| o < cut).count();
            if ends.contains(&cut) {
                assert!(log.torn.is_none(), "cut at boundary {cut}");
                assert_eq!(log.frames.len(), whole);
            } else {
                let torn = log.torn.expect("torn");
                assert_eq!(torn.offset as usize + torn.len as usize, cut);
                assert_eq!(log.frames.len(), whole - 1);
            }
        }
    }

    #[test]
    fn a_flipped_byte_in_the_middle_is_damage() {
        let bytes = file(&[b"one", b"two", b"three"]);
        let second = HEADER_LEN + 3 + FRAME_OVERHEAD;
        let mut bad = bytes.clone();
        bad[second + FRAME_HEAD + 1] ^= 1; // a body byte of record 2
        assert_eq!(
            parse(&bad),
            Err(LogError::Damaged {
                record: 2,
                offset: second as u64,
                why: "chain hash does not match"
            })
        );
    }

    #[test]
    fn a_flipped_byte_in_the_last_record_is_damage_not_a_torn_tail() {
        // An acknowledged record with one flipped byte must never pass as
        // an unfinished write: the reader would show the previous version
        // as current (flipped_last_record).
        let bytes = file(&[b"one", &[7u8; 700]]);
        let last = 10 + (9 + 3 + 32);
        for at in last + 9..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            match parse(&bad) {
                Err(LogError::Damaged { record, why, .. }) => {
                    assert_eq!(record, 2);
                    assert_eq!(why, "a complete record fails its check");
                }
                other => panic!("flip at {at}: {other:?}"),
            }
        }
    }

    #[test]
    fn unwritten_sectors_in_the_last_record_are_a_torn_tail() {
        // What a crash leaves on a file system without data journaling:
        // the last record's length is on disk, its later sectors read back
        // as zeros.
        let bytes = file(&[b"one", &[7u8; 1500]]);
        for from in [512usize, 1024, 1536] {
            let mut torn = bytes.clone();
            for b in &mut torn[from..] {
                *b = 0;
            }
            let log = parse(&torn).unwrap();
            assert_eq!(log.frames.len(), 1, "zeros from {from}");
            assert_eq!(
                log.torn.unwrap().why,
                "unwritten sectors in the last record"
            );
        }
        // Zeros that do not fill a sector piece of 32 bytes, inside the
        // record: damage.
        let mut short = bytes.clone();
        for b in &mut short[600..620] {
            *b = 0;
        }
        assert!(matches!(parse(&short), Err(LogError::Damaged { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut bytes = header(1).to_vec();
            bytes.extend_from_slice(&tail);
            let _ = parse(&bytes);
            let _ = parse(&tail);
        }

        #[test]
        fn any_single_flip_is_detected(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..5), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
            let bytes = file(&refs);
            let good = parse(&bytes).unwrap();
            let mut bad = bytes.clone();
            let i = at.index(bad.len());
            bad[i] ^= 1 << bit;
            match parse(&bad) {
                Err(_) => {}
                Ok(log) => {
                    // Never silently accepted as the same content.
                    prop_assert!(log.torn.is_some() || log.frames != good.frames);
                    prop_assert!(log.frames.len() < good.frames.len());
                }
            }
        }
    }
}
