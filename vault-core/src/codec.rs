//! Canonical byte encoding used by records and shares (docs/FORMAT.md §2).
//!
//! Integers are big-endian and fixed-width. `str` is a `u16` length and
//! UTF-8 bytes; `blob` is a `u32` length and bytes. There is exactly one
//! encoding for every value, so decode→encode reproduces the input bytes.
//!
//! The reader never allocates more than the input holds: every length is
//! checked against the bytes that remain before anything is copied.

use thiserror::Error;

/// Why a byte string could not be decoded. `at` is the offset inside the
/// decoded buffer; callers add the buffer's own offset in the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes remain than the field needs.
    #[error("truncated: {field} needs {needed} bytes at offset {at}, {left} left")]
    Truncated {
        /// Which field.
        field: &'static str,
        /// Offset of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that remained.
        left: usize,
    },
    /// A field holds a value the format forbids.
    #[error("invalid {field} at offset {at}: {why}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Offset of the field.
        at: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Bytes remain after the last field.
    #[error("{count} unexpected trailing bytes at offset {at}")]
    Trailing {
        /// Offset of the first unexpected byte.
        at: usize,
        /// How many bytes remain.
        count: usize,
    },
}

/// Appends canonical encodings to a byte vector.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer, with room for a typical record (a deposit is a
    /// few hundred bytes): growing from nothing reallocates five times.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(512),
        }
    }
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    /// Appends a big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    /// Appends raw bytes with no length prefix (fixed-size fields).
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// Appends a `str`: `u16` length then UTF-8. Callers validate lengths
    /// first; a string over 65535 bytes is a programming error.
    pub fn str(&mut self, v: &str) -> &mut Self {
        let len = u16::try_from(v.len()).expect("str field longer than u16::MAX");
        self.u16(len).bytes(v.as_bytes())
    }
    /// Appends a `blob`: `u32` length then bytes.
    pub fn blob(&mut self, v: &[u8]) -> &mut Self {
        let len = u32::try_from(v.len()).expect("blob field longer than u32::MAX");
        self.u32(len).bytes(v)
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a byte slice, with bounds checks.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, starting at offset 0.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// Takes `n` raw bytes.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                field,
                at: self.pos,
                needed: n,
                left: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }
    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    /// Reads a `str` (u16 length, UTF-8).
    pub fn str(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let len = self.u16(field)? as usize;
        let at = self.pos;
        let bytes = self.take(field, len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid {
            field,
            at,
            why: "not UTF-8",
        })
    }
    /// Reads a `blob` (u32 length, bytes).
    pub fn blob(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)? as usize;
        self.take(field, len)
    }
    /// An error for a field whose value is not allowed.
    pub fn invalid(&self, field: &'static str, at: usize, why: &'static str) -> DecodeError {
        DecodeError::Invalid { field, at, why }
    }
    /// Fails unless every byte was consumed (canonical encodings have no slack).
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::Trailing {
                at: self.pos,
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_are_big_endian() {
        let mut w = Writer::new();
        w.u16(0x0102).u32(0x03040506).u64(7);
        assert_eq!(w.finish(), [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 7]);
    }

    #[test]
    fn huge_length_is_an_error_not_an_allocation() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]);
        let err = r.blob("note").unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Truncated {
                needed: 0xffff_ffff,
                left: 1,
                ..
            }
        ));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut r = Reader::new(&[0, 1, 0xff]);
        assert!(matches!(
            r.str("label"),
            Err(DecodeError::Invalid { at: 2, .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut r = Reader::new(&[1, 2]);
        r.u8("a").unwrap();
        assert_eq!(r.finish(), Err(DecodeError::Trailing { at: 1, count: 1 }));
    }

    proptest! {
        #[test]
        fn roundtrip(a: u8, b: u16, c: u32, d: u64, s in "\\PC{0,40}", blob in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut w = Writer::new();
            w.u8(a).u16(b).u32(c).u64(d).str(&s).blob(&blob);
            let bytes = w.finish();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.u8("a")?, a);
            prop_assert_eq!(r.u16("b")?, b);
            prop_assert_eq!(r.u32("c")?, c);
            prop_assert_eq!(r.u64("d")?, d);
            prop_assert_eq!(r.str("s")?, s.as_str());
            prop_assert_eq!(r.blob("blob")?, blob.as_slice());
            r.finish()?;
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            let _ = r.str("s").and_then(|_| r.blob("b")).and_then(|_| r.u64("n"));
        }
    }
}
