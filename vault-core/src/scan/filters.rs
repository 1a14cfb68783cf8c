//! The copies of a picture tried in turn, and the grey-level filters that
//! make them. Each works on plain slices, fast even unoptimised.

use image::GrayImage;

use super::finders::Candidate;
use super::MAX_SEARCH_PIXELS;

/// Scales `img` down to at most `max_pixels` by averaging the pixels that
/// fall into each output pixel: one pass over plain slices (fast even in
/// an unoptimised build, where `image`'s generic resizers are not), no
/// copy but the output.
pub fn shrink(img: GrayImage, max_pixels: u64) -> GrayImage {
    let (w, h) = img.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels <= max_pixels {
        return img;
    }
    let scale = (max_pixels as f64 / pixels as f64).sqrt();
    let nw = ((f64::from(w) * scale) as u32).clamp(1, w) as usize;
    let nh = ((f64::from(h) * scale) as u32).clamp(1, h) as usize;
    let (w, h) = (w as usize, h as usize);
    let column: Vec<usize> = (0..w).map(|x| x * nw / w).collect();
    let src = img.as_raw();
    let mut out = vec![255u8; nw * nh];
    let mut sums = vec![0u32; nw];
    let mut counts = vec![0u32; nw];
    let mut y = 0;
    for oy in 0..nh {
        // Input rows y with y * nh / h == oy.
        while y < h && y * nh / h == oy {
            let row = &src[y * w..][..w];
            for x in 0..w {
                let ox = column[x];
                sums[ox] += u32::from(row[x]);
                counts[ox] += 1;
            }
            y += 1;
        }
        let line = &mut out[oy * nw..][..nw];
        for ox in 0..nw {
            if let Some(mean) = sums[ox].checked_div(counts[ox]) {
                line[ox] = mean as u8;
            }
            sums[ox] = 0;
            counts[ox] = 0;
        }
    }
    GrayImage::from_raw(nw as u32, nh as u32, out).expect("same size")
}

/// The copies of the picture tried in turn, cheapest and likeliest first:
/// as taken; with speckle removed (a 3×3 median); contrast stretched (dim
/// light, shadows, grey paper); stretched and sharpened; when finder patterns were seen, the region
/// around them cut out, scaled up and sharpened (a QR code small in the
/// frame: the binarizer gets whole pixels a module to work with);
/// stretched and sharpened, without and with a median first (a slightly
/// blurred photo); softened; scaled down (a large, soft picture).
pub(super) const VARIANTS: usize = 8;

pub(super) fn variant(luma: &GrayImage, n: usize, seen: &[Candidate]) -> Option<GrayImage> {
    Some(match n {
        0 => luma.clone(),
        1 => median3(luma),
        2 => stretch(luma),
        3 => sharpen(&stretch(luma)),
        4 => closer(luma, seen)?,
        5 => sharpen(&median3(&stretch(luma))),
        6 => image::imageops::blur(luma, 1.0),
        _ => shrink(
            stretch(luma),
            (u64::from(luma.width()) * u64::from(luma.height())) / 4,
        ),
    })
}

/// The region around the finder patterns seen (the three largest, with a
/// margin), scaled up to at most 2.5 times and [`MAX_SEARCH_PIXELS`] / 2,
/// despeckled and sharpened. `None` when fewer than three were seen.
fn closer(luma: &GrayImage, seen: &[Candidate]) -> Option<GrayImage> {
    if seen.len() < 3 {
        return None;
    }
    let mut largest = seen.to_vec();
    largest.sort_by_key(|f| std::cmp::Reverse(f.size));
    largest.truncate(3);
    let pad = largest.iter().map(|f| f.size).max()? * 2;
    let x0 = largest.iter().map(|f| f.x).min()?.saturating_sub(pad);
    let y0 = largest.iter().map(|f| f.y).min()?.saturating_sub(pad);
    let x1 = (largest.iter().map(|f| f.x).max()? + pad).min(luma.width());
    let y1 = (largest.iter().map(|f| f.y).max()? + pad).min(luma.height());
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return None;
    }
    let crop = image::imageops::crop_imm(luma, x0, y0, x1 - x0, y1 - y0).to_image();
    let pixels = u64::from(crop.width()) * u64::from(crop.height());
    let scale = ((MAX_SEARCH_PIXELS / 2) as f64 / pixels.max(1) as f64)
        .sqrt()
        .min(2.5);
    let (w, h) = (
        ((f64::from(crop.width()) * scale) as u32).max(1),
        ((f64::from(crop.height()) * scale) as u32).max(1),
    );
    let big = image::imageops::resize(
        &stretch(&median3(&crop)),
        w,
        h,
        image::imageops::FilterType::CatmullRom,
    );
    Some(sharpen(&big))
}

/// Stretches grey levels so that the darkest 1 % become black and the
/// lightest 1 % white.
fn stretch(img: &GrayImage) -> GrayImage {
    let mut histogram = [0u64; 256];
    for p in img.as_raw() {
        histogram[usize::from(*p)] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let at = |fraction: u64| {
        let mut seen = 0;
        for (level, n) in histogram.iter().enumerate() {
            seen += n;
            if seen * 100 >= total * fraction {
                return level as i32;
            }
        }
        255
    };
    let (lo, hi) = (at(1), at(99));
    if hi - lo < 8 {
        return img.clone();
    }
    let map: Vec<u8> = (0..256)
        .map(|v| (((v - lo) * 255) / (hi - lo)).clamp(0, 255) as u8)
        .collect();
    let raw = img.as_raw().iter().map(|p| map[usize::from(*p)]).collect();
    GrayImage::from_raw(img.width(), img.height(), raw).expect("same size")
}

/// An unsharp mask: the picture plus its difference from a blurred copy.
fn sharpen(img: &GrayImage) -> GrayImage {
    image::imageops::unsharpen(img, 1.5, 4)
}

/// A 3×3 median filter: removes salt-and-pepper noise, keeps edges.
/// Each column's three pixels are sorted once per row, and the median of
/// the nine is the median of (largest minimum, median of medians, smallest
/// maximum) of three sorted columns: a few comparisons a pixel, on plain
/// slices, so it stays fast even in an unoptimised build.
fn median3(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut out = vec![0u8; w * h];
    // Sorted (low, mid, high) of each column around the current row.
    let mut lo = vec![0u8; w];
    let mut mid = vec![0u8; w];
    let mut hi = vec![0u8; w];
    for y in 0..h {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let (a, b, c) = (
            &src[up * w..][..w],
            &src[y * w..][..w],
            &src[down * w..][..w],
        );
        for x in 0..w {
            let (p, q, r) = (a[x], b[x], c[x]);
            let (p, q) = (p.min(q), p.max(q));
            let (q, r) = (q.min(r), q.max(r));
            let (p, q) = (p.min(q), p.max(q));
            lo[x] = p;
            mid[x] = q;
            hi[x] = r;
        }
        let row = &mut out[y * w..][..w];
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let max_lo = lo[l].max(lo[x]).max(lo[r]);
            let min_hi = hi[l].min(hi[x]).min(hi[r]);
            let (m0, m1, m2) = (mid[l], mid[x], mid[r]);
            let med_mid = m0.max(m1).min(m0.min(m1).max(m2));
            row[x] = median_of(max_lo, med_mid, min_hi);
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("same size")
}

fn median_of(a: u8, b: u8, c: u8) -> u8 {
    a.max(b).min(a.min(b).max(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn median3_is_the_median_of_each_3x3_neighbourhood() {
        let img = GrayImage::from_fn(23, 17, |x, y| Luma([((x * 37 + y * 91) % 251) as u8]));
        let fast = median3(&img);
        let (w, h) = img.dimensions();
        for y in 0..h {
            for x in 0..w {
                let mut v = Vec::new();
                for dy in 0..3u32 {
                    for dx in 0..3u32 {
                        let sx = (x + dx).saturating_sub(1).min(w - 1);
                        let sy = (y + dy).saturating_sub(1).min(h - 1);
                        v.push(img.get_pixel(sx, sy).0[0]);
                    }
                }
                v.sort_unstable();
                assert_eq!(fast.get_pixel(x, y).0[0], v[4], "({x}, {y})");
            }
        }
    }

    #[test]
    fn shrink_averages_to_at_most_the_budget() {
        let img = GrayImage::from_fn(1000, 600, |x, _| Luma([if x < 500 { 0 } else { 255 }]));
        let small = shrink(img.clone(), 60_000);
        let (w, h) = small.dimensions();
        assert!(u64::from(w) * u64::from(h) <= 60_000, "{w}×{h}");
        assert!(w >= 300 && h >= 180, "{w}×{h}");
        assert_eq!(small.get_pixel(0, 0).0[0], 0);
        assert_eq!(small.get_pixel(w - 1, h - 1).0[0], 255);
        assert_eq!(shrink(img.clone(), 600_000), img);
    }
}
