//! Shares and backup parts from pictures: the QR codes in a scan or photo
//! of an envelope, decoded in pure Rust with rxing. The command line reads
//! the picture file and runs this search on a worker thread under its
//! deadline; the recovery page runs the same search on grey levels from
//! its canvas. Pictures are untrusted (docs/HARDENING.md, "Budgets"):
//!
//! - the caller hands over grey levels at most [`MAX_SEARCH_PIXELS`]
//!   ([`shrink`] scales larger ones down), so the filtered copies tried
//!   are small;
//! - each copy's QR finder-pattern candidates are counted in one pass
//!   before rxing sees it: past [`MAX_FINDER_CANDIDATES`] the copy is not
//!   searched (rxing keeps every candidate, and tries every plausible
//!   triple of them: a picture tiled with finder patterns kept it busy for
//!   minutes and gigabytes);
//! - the caller's clock is asked between attempts; once it says the time
//!   is up ([`SEARCH_DEADLINE`]), no further copy is tried.

mod filters;
mod finders;

pub use filters::shrink;
pub use image::GrayImage;

use std::time::Duration;

use rxing::common::HybridBinarizer;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource, MultiFormatReader,
    MultiUseMultiFormatReader, Reader,
};
use zeroize::Zeroizing;

use filters::{variant, VARIANTS};
use finders::{finders, Candidate, Finders};

/// Pictures are searched at no more than 6 megapixels (a 150 dpi page scan
/// is 2.2, a 12-megapixel photo is halved in each direction): an envelope's
/// QR code keeps several pixels a module.
pub const MAX_SEARCH_PIXELS: u64 = 6_000_000;
/// Most QR finder-pattern candidates seen on two rows or more a searched
/// picture may hold: three per QR code, so room for 20 codes and stray
/// look-alikes in text and in dense codes' data.
pub const MAX_FINDER_CANDIDATES: usize = 60;
/// Most candidates of any kind (seen on one row or more): rxing compares
/// every three of them (arithmetic only, 4.5 million triples at 300). A
/// full backup page at 150 dpi holds about 100 (two dense QR codes).
pub const MAX_FINDER_LOOKALIKES: usize = 300;
/// The whole search of one picture (its decoding and scaling come before).
pub const SEARCH_DEADLINE: Duration = Duration::from_secs(8);

/// One attempt's outcome.
pub enum Attempt {
    /// The texts found (none, maybe), and whether finder patterns were seen.
    Read(Vec<String>, bool),
    /// Why the copy was not searched.
    Skipped(String),
}

/// Tries the copies of `luma` in turn, handing each attempt's outcome to
/// `send` (which returns false to stop). `out_of_time` is asked before
/// each copy. `multiple`: every QR code in the picture, else the first.
pub fn attempts(
    luma: &GrayImage,
    multiple: bool,
    out_of_time: &mut dyn FnMut() -> bool,
    send: &mut dyn FnMut(Attempt) -> bool,
) {
    // Finder patterns seen in the first copy that shows three.
    let mut seen: Vec<Candidate> = Vec::new();
    let mut any_finder = false;
    let mut crowded = 0;
    for n in 0..VARIANTS {
        if out_of_time() {
            return;
        }
        let Some(copy) = variant(luma, n, &seen) else {
            continue;
        };
        let (w, h) = copy.dimensions();
        let Ok(source) = Luma8LuminanceSource::new(copy.into_raw(), w, h) else {
            return;
        };
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let Finders {
            confirmed: found,
            crowded: too_many,
        } = finders(bitmap.get_black_matrix());
        if too_many {
            crowded += 1;
            send(Attempt::Skipped(format!(
                "this picture holds more than {MAX_FINDER_CANDIDATES} shapes that look like \
                 QR finder patterns: photograph or crop only the envelope's QR code"
            )));
            if n >= 2 && crowded == n + 1 {
                // Tiled with look-alikes as taken, despeckled and
                // stretched: no copy of it is worth the time.
                return;
            }
            continue;
        }
        any_finder |= !found.is_empty();
        if n >= 2 && !any_finder {
            // Nothing like a QR code in the picture as taken, despeckled
            // or stretched: the other copies would not show one either.
            send(Attempt::Read(Vec::new(), false));
            return;
        }
        let finders_seen = found.len() >= 3;
        if finders_seen && seen.is_empty() && n < 4 {
            seen = found;
        }
        let texts = read(&mut bitmap, multiple);
        let done = !multiple && !texts.is_empty();
        if !send(Attempt::Read(texts, finders_seen)) || done {
            return;
        }
    }
}

/// The QR codes rxing reads in one binarised copy.
fn read(
    bitmap: &mut BinaryBitmap<HybridBinarizer<Luma8LuminanceSource>>,
    multiple: bool,
) -> Vec<String> {
    let hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into()),
        ..Default::default()
    };
    if multiple {
        GenericMultipleBarcodeReader::new(MultiUseMultiFormatReader::default())
            .decode_multiple_with_hints(bitmap, &hints)
            .map(|found| found.iter().map(|r| r.getText().to_owned()).collect())
            .unwrap_or_default()
    } else {
        MultiFormatReader::default()
            .decode_with_hints(bitmap, &hints)
            .map(|r| vec![r.getText().to_owned()])
            .unwrap_or_default()
    }
}

/// Searches `luma` here, on the caller's thread, until `out_of_time`:
/// the outcomes and whether the time ran out first.
pub fn search_here(
    luma: &GrayImage,
    multiple: bool,
    out_of_time: &mut dyn FnMut() -> bool,
) -> (Vec<Attempt>, bool) {
    let mut outcomes = Vec::new();
    let mut timed_out = false;
    let mut clock = || {
        timed_out = out_of_time();
        timed_out
    };
    attempts(luma, multiple, &mut clock, &mut |a| {
        let done = !multiple && matches!(&a, Attempt::Read(t, _) if !t.is_empty());
        outcomes.push(a);
        !done
    });
    (outcomes, timed_out)
}

/// The first text read, or why nothing was.
pub fn first_text(outcomes: Vec<Attempt>, timed_out: bool) -> Result<Zeroizing<String>, String> {
    let reason = nothing_read(&outcomes, timed_out);
    for o in outcomes {
        if let Attempt::Read(mut texts, _) = o {
            if let Some(text) = texts.pop() {
                return Ok(Zeroizing::new(text));
            }
        }
    }
    Err(reason)
}

/// The most texts any one copy gave (every QR code of a backup page), or
/// why nothing was read.
pub fn all_texts(outcomes: &[Attempt], timed_out: bool) -> Result<Vec<String>, String> {
    let best = outcomes
        .iter()
        .filter_map(|o| match o {
            Attempt::Read(t, _) => Some(t),
            Attempt::Skipped(_) => None,
        })
        .max_by_key(|t| t.len())
        .filter(|t| !t.is_empty());
    match best {
        Some(texts) => Ok(texts.clone()),
        None => Err(nothing_read(outcomes, timed_out)),
    }
}

/// Grey levels from 8-bit RGBA pixels (a canvas's), scaled down to at most
/// [`MAX_SEARCH_PIXELS`]. `None` when `rgba` is not `width × height × 4`
/// bytes.
pub fn luma_from_rgba(width: u32, height: u32, rgba: &[u8]) -> Option<GrayImage> {
    let pixels = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
    if rgba.len() != pixels.checked_mul(4)? {
        return None;
    }
    let grey = rgba
        .chunks_exact(4)
        .map(|p| {
            // ITU-R BT.601 weights, as `image` uses (×1000, rounded).
            let y = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
            (y / 1000) as u8
        })
        .collect();
    Some(shrink(
        GrayImage::from_raw(width, height, grey)?,
        MAX_SEARCH_PIXELS,
    ))
}

/// Why nothing was read: a QR code seen but not read (move closer), the
/// deadline, too many look-alikes, or nothing.
pub fn nothing_read(outcomes: &[Attempt], timed_out: bool) -> String {
    if outcomes.iter().any(|o| matches!(o, Attempt::Read(_, true))) {
        return "a QR code is in this picture but could not be read: move closer, so that \
                the QR code fills most of the picture, hold the page flat, in even light, \
                and take it again (or type the share)"
            .to_owned();
    }
    if timed_out {
        return format!(
            "no QR code could be read in this picture within {} s: photograph or crop only \
             the envelope's QR code, or type the share",
            SEARCH_DEADLINE.as_secs()
        );
    }
    outcomes
        .iter()
        .find_map(|o| match o {
            Attempt::Skipped(why) => Some(why.clone()),
            Attempt::Read(..) => None,
        })
        .unwrap_or_else(|| {
            "no QR code could be read in this picture: scan it again, flat and sharp, or type \
             the share"
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A finder pattern of `module` pixels at (x, y) into `img`.
    fn finder(img: &mut GrayImage, x: u32, y: u32, module: u32) {
        for dy in 0..7 * module {
            for dx in 0..7 * module {
                let (mx, my) = (dx / module, dy / module);
                let ring = mx.min(my).min(6 - mx).min(6 - my);
                let dark = ring != 1;
                img.put_pixel(x + dx, y + dy, Luma([if dark { 0 } else { 255 }]));
            }
        }
    }

    /// The confirmed candidates, or `None` when past a cap.
    fn count(img: GrayImage) -> Option<usize> {
        let (w, h) = img.dimensions();
        let source = Luma8LuminanceSource::new(img.into_raw(), w, h).unwrap();
        let bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let found = finders(bitmap.get_black_matrix());
        (!found.crowded).then_some(found.confirmed.len())
    }

    #[test]
    fn finder_candidates_are_counted_once_each_and_capped() {
        let mut three = GrayImage::from_pixel(400, 400, Luma([255]));
        for (x, y) in [(20, 20), (300, 20), (20, 300)] {
            finder(&mut three, x, y, 8);
        }
        assert_eq!(count(three), Some(3));
        assert_eq!(count(GrayImage::from_pixel(400, 400, Luma([255]))), Some(0));
        let mut tiled = GrayImage::from_pixel(1000, 1000, Luma([255]));
        for ty in 0..1000 / 40 {
            for tx in 0..1000 / 40 {
                finder(&mut tiled, tx * 40 + 2, ty * 40 + 2, 5);
            }
        }
        assert_eq!(count(tiled), None);
    }
}
