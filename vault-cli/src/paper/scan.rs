//! Shares from pictures: the QR code in a scan or photo of an envelope
//! (PNG or JPEG), decoded in pure Rust with rxing. Images are untrusted:
//! their size and decoder allocations are capped.

use std::path::Path;

use image::{GrayImage, ImageReader, Limits, Luma};
use rxing::BarcodeFormat;
use zeroize::Zeroizing;

/// True for files that are pictures (by their first bytes, not their name).
pub fn is_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Opens a picture under size and allocation limits, as grey levels.
fn open_luma(path: &Path) -> Result<GrayImage, String> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(768 * 1024 * 1024);
    let mut reader = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?;
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("not a readable picture: {e}"))?;
    Ok(image.to_luma8())
}

/// Decodes every QR code in the picture at `path` (a page of backup parts).
pub fn decode_all(path: &Path) -> Result<Vec<String>, String> {
    let luma = open_luma(path)?;
    let mut best: Vec<String> = Vec::new();
    for candidate in [
        luma.clone(),
        median3(&luma),
        image::imageops::blur(&luma, 1.0),
    ] {
        let (w, h) = candidate.dimensions();
        if let Ok(found) = rxing::helpers::detect_multiple_in_luma(candidate.into_raw(), w, h) {
            let texts: Vec<String> = found.iter().map(|r| r.getText().to_owned()).collect();
            if texts.len() > best.len() {
                best = texts;
            }
        }
    }
    if best.is_empty() {
        return Err("no QR code could be read in this picture".to_owned());
    }
    Ok(best)
}

/// Decodes the QR code in the picture at `path` to text.
pub fn decode(path: &Path) -> Result<Zeroizing<String>, String> {
    let luma = open_luma(path)?;
    // As taken; then with speckle removed (a 3×3 median); then softened.
    // Real photos and scans need one or the other.
    let attempts = [
        luma.clone(),
        median3(&luma),
        image::imageops::blur(&luma, 1.0),
    ];
    for candidate in attempts {
        let (w, h) = candidate.dimensions();
        let found = rxing::helpers::detect_in_luma(
            candidate.into_raw(),
            w,
            h,
            Some(BarcodeFormat::QR_CODE),
        );
        if let Ok(found) = found {
            return Ok(Zeroizing::new(found.getText().to_owned()));
        }
    }
    Err("no QR code could be read in this picture: scan it again, flat and sharp, or type the share".to_owned())
}

/// A 3×3 median filter: removes salt-and-pepper noise, keeps edges.
fn median3(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let mut v = [0u8; 9];
        for (n, (dx, dy)) in (0..3u32)
            .flat_map(|dy| (0..3u32).map(move |dx| (dx, dy)))
            .enumerate()
        {
            let sx = (x + dx).saturating_sub(1).min(w - 1);
            let sy = (y + dy).saturating_sub(1).min(h - 1);
            v[n] = img.get_pixel(sx, sy).0[0];
        }
        v.sort_unstable();
        Luma([v[4]])
    })
}
