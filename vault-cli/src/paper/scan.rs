//! Shares from pictures: the QR code in a scan or photo of an envelope
//! (PNG or JPEG). The search itself is vault-core's (`vault_core::scan`,
//! shared with the recovery page); here the picture file is read under
//! its budget of 256 MiB of peak memory and 10 s (docs/HARDENING.md,
//! "Budgets"):
//!
//! - its dimensions are read from its header and checked before any pixel
//!   is decoded, and the decoder's allocations are capped;
//! - it is turned into grey levels at once (the colour copy is dropped),
//!   then scaled down to at most [`MAX_SEARCH_PIXELS`] before searching;
//! - the search runs on a worker thread under a deadline checked between
//!   attempts; past it the command stops waiting and says so (a search
//!   already under way is abandoned to the end of the command).
//!
//! The same path serves every `--share`, `contribute` and `restore --from`.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use image::{ImageReader, Limits};
use vault_core::scan::{self, shrink, Attempt, GrayImage, MAX_SEARCH_PIXELS, SEARCH_DEADLINE};
use zeroize::Zeroizing;

/// Largest side of a picture read at all.
pub const MAX_SIDE: u32 = 12_000;
/// Most pixels a picture may have: 40 megapixels (a 600 dpi scan of an A4
/// or Letter page is 35). Checked from the header, before decoding.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Most bytes the decoder may allocate: 40 megapixels of 8-bit RGBA. With
/// the grey copy (1 byte a pixel) the peak stays under 256 MiB.
pub const MAX_DECODE_ALLOC: u64 = 160 * 1024 * 1024;

/// True for files that are pictures (by their first bytes, not their name).
pub fn is_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

fn reader(path: &Path) -> Result<ImageReader<std::io::BufReader<std::fs::File>>, String> {
    ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())
}

/// Opens a picture under size and allocation limits, as grey levels scaled
/// down to at most [`MAX_SEARCH_PIXELS`].
fn open_luma(path: &Path) -> Result<GrayImage, String> {
    let (w, h) = reader(path)?
        .into_dimensions()
        .map_err(|e| format!("not a readable picture: {e}"))?;
    let pixels = u64::from(w) * u64::from(h);
    if w > MAX_SIDE || h > MAX_SIDE || pixels > MAX_PIXELS {
        return Err(format!(
            "this picture is {w} × {h} pixels ({} megapixels): breakglass reads pictures \
             of at most {} megapixels and {MAX_SIDE} pixels a side — scan at 300 dpi or less",
            pixels / 1_000_000,
            MAX_PIXELS / 1_000_000
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = reader(path)?;
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => format!(
            "this picture is too large to decode within {} MiB (16-bit colour?): \
             save it as an 8-bit PNG or a JPEG",
            MAX_DECODE_ALLOC >> 20
        ),
        e => format!("not a readable picture: {e}"),
    })?;
    // The colour copy is dropped as soon as the grey one exists.
    Ok(shrink(image.into_luma8(), MAX_SEARCH_PIXELS))
}

/// Searches copies of `luma` on a worker thread, receiving each attempt's
/// outcome; returns the outcomes received before the deadline and whether
/// it passed. `multiple`: every QR code in the picture, else the first.
fn search(luma: GrayImage, multiple: bool) -> (Vec<Attempt>, bool) {
    let deadline = Instant::now() + SEARCH_DEADLINE;
    let (tx, rx) = mpsc::channel::<Attempt>();
    let worker = std::thread::Builder::new()
        .name("picture search".into())
        .stack_size(8 << 20)
        .spawn(move || {
            scan::attempts(
                &luma,
                multiple,
                &mut || Instant::now() >= deadline,
                &mut |a| tx.send(a).is_ok(),
            );
        });
    if worker.is_err() {
        return (
            vec![Attempt::Skipped(
                "could not start reading the picture".to_owned(),
            )],
            false,
        );
    }
    let mut outcomes = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(found) => {
                let done = !multiple && matches!(&found, Attempt::Read(t, _) if !t.is_empty());
                outcomes.push(found);
                if done {
                    return (outcomes, false);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return (outcomes, false),
            Err(mpsc::RecvTimeoutError::Timeout) => return (outcomes, true),
        }
    }
}

/// Decodes every QR code in the picture at `path` (a page of backup parts).
pub fn decode_all(path: &Path) -> Result<Vec<String>, String> {
    let (outcomes, timed_out) = search(open_luma(path)?, true);
    scan::all_texts(&outcomes, timed_out)
}

/// Decodes the QR code in the picture at `path` to text.
pub fn decode(path: &Path) -> Result<Zeroizing<String>, String> {
    let (outcomes, timed_out) = search(open_luma(path)?, false);
    scan::first_text(outcomes, timed_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backup page (two dense QR codes) rendered at 150 dpi by pdftoppm:
    /// its codes' data holds 60 to 90 finder look-alikes, nearly all seen on
    /// one row. Counting those against the cap of 60 left about one page in
    /// six unread (CI, 2026-11-30); both codes are read.
    #[test]
    fn dense_backup_codes_are_not_taken_for_a_crowd_of_finders() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/pictures/backup-page-dense.png");
        let texts = decode_all(&path).unwrap();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts.iter().all(|t| t.starts_with("BREAKGLASS-BACKUP-1:")));
    }
}
