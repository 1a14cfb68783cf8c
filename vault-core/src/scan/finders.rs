//! QR finder patterns counted before rxing sees a picture: past a cap the
//! copy is not searched (rxing keeps every candidate and tries every
//! plausible triple of them).

use rxing::common::BitMatrix;

use super::{MAX_FINDER_CANDIDATES, MAX_FINDER_LOOKALIKES};

/// A finder-pattern candidate: its centre and size in pixels, and on how
/// many of the rows scanned it was seen.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    pub(super) x: u32,
    pub(super) y: u32,
    pub(super) size: u32,
    pub(super) rows: u32,
}

/// The finder-pattern candidates of one binarised picture.
pub(super) struct Finders {
    /// Candidates seen on at least two rows: the ones rxing's multiple-code
    /// reader combines three at a time and tries to decode.
    pub(super) confirmed: Vec<Candidate>,
    /// Past [`MAX_FINDER_CANDIDATES`] confirmed or [`MAX_FINDER_LOOKALIKES`]
    /// in all, where the count stopped.
    pub(super) crowded: bool,
}

/// Finds QR finder-pattern candidates in a binarised picture the way rxing
/// does, stopping once past a cap: every other row is scanned for
/// dark-light-dark-light-dark runs in the finder's 1:1:3:1:1 proportion,
/// the centre confirmed down its column and along its diagonal, and hits
/// within half a pattern of a candidate are that candidate seen again.
/// A dense QR code's data holds look-alikes seen on one row (a module
/// high); a real finder pattern's centre is three modules high. rxing's
/// multiple-code reader keeps only candidates seen twice, so those are
/// what [`MAX_FINDER_CANDIDATES`] counts. O(pixels × [`MAX_FINDER_LOOKALIKES`]).
pub(super) fn finders(m: &BitMatrix) -> Finders {
    let (w, h) = (m.getWidth(), m.getHeight());
    let mut found: Vec<Candidate> = Vec::new();
    let mut confirmed = 0;
    let mut runs: Vec<u32> = Vec::with_capacity(w as usize / 2 + 2);
    for y in (0..h).step_by(2) {
        // Run lengths along the row, starting with a light run (maybe 0).
        runs.clear();
        let mut dark = false;
        let mut len = 0;
        for x in 0..w {
            if m.get(x, y) == dark {
                len += 1;
            } else {
                runs.push(len);
                dark = !dark;
                len = 1;
            }
        }
        runs.push(len);
        // Dark runs are at odd indices; a pattern starts on a dark run.
        let mut start = 0u32;
        for i in 0..runs.len() {
            if i % 2 == 1 && i + 5 <= runs.len() && is_finder(&runs[i..i + 5]) {
                let size: u32 = runs[i..i + 5].iter().sum();
                let cx = start + runs[i] + runs[i + 1] + runs[i + 2] / 2;
                if column_is_finder(m, cx, y) && diagonal_is_finder(m, cx, y) {
                    let same = found
                        .iter_mut()
                        .find(|f| f.x.abs_diff(cx) * 2 < f.size && f.y.abs_diff(y) * 2 < f.size);
                    match same {
                        Some(f) => {
                            f.rows += 1;
                            if f.rows == 2 {
                                confirmed += 1;
                            }
                        }
                        None => found.push(Candidate {
                            x: cx,
                            y,
                            size,
                            rows: 1,
                        }),
                    }
                    if confirmed > MAX_FINDER_CANDIDATES || found.len() > MAX_FINDER_LOOKALIKES {
                        return Finders {
                            confirmed: Vec::new(),
                            crowded: true,
                        };
                    }
                }
            }
            start += runs[i];
        }
    }
    found.retain(|f| f.rows >= 2);
    Finders {
        confirmed: found,
        crowded: false,
    }
}

/// Five runs (dark, light, dark, light, dark) in proportion 1:1:3:1:1,
/// within rxing's tolerance along a row or column: half a module, plus
/// up to half a pixel for small modules (`foundPatternCross`).
fn is_finder(r: &[u32]) -> bool {
    in_proportion(r, 2.0)
}

/// The same along a diagonal, where rxing allows three quarters of a
/// module (`foundPatternDiagonal`).
fn is_finder_diagonal(r: &[u32]) -> bool {
    in_proportion(r, 1.333)
}

fn in_proportion(r: &[u32], divisor: f64) -> bool {
    let total: u32 = r.iter().sum();
    if total < 7 || r.contains(&0) {
        return false;
    }
    let module = f64::from(total) / 7.0;
    let slack = module / divisor + (0.5 / module).min(0.5);
    (f64::from(r[0]) - module).abs() < slack
        && (f64::from(r[1]) - module).abs() < slack
        && (f64::from(r[2]) - 3.0 * module).abs() < 3.0 * slack
        && (f64::from(r[3]) - module).abs() < slack
        && (f64::from(r[4]) - module).abs() < slack
}

/// The same proportions down the column through (x, y), a dark pixel.
fn column_is_finder(m: &BitMatrix, x: u32, y: u32) -> bool {
    if !m.get(x, y) {
        return false;
    }
    let h = m.getHeight();
    // From the centre: up through dark, light, dark; the same down.
    let walk = |up: bool| {
        let mut r = [0u32; 3];
        let mut yy = y as i64;
        for (k, want) in [true, false, true].into_iter().enumerate() {
            while (0..h as i64).contains(&yy) && m.get(x, yy as u32) == want {
                r[k] += 1;
                yy += if up { -1 } else { 1 };
            }
        }
        r
    };
    let (u, d) = (walk(true), walk(false));
    is_finder(&[u[2], u[1], (u[0] + d[0]).saturating_sub(1), d[1], d[2]])
}

/// The same proportions along the diagonal through (x, y), up-left and
/// down-right, as rxing's `crossCheckDiagonal` does before it keeps a
/// candidate: runs of random QR data and of text that pass along a row and
/// a column seldom pass here, so a dense QR code is not taken for many.
fn diagonal_is_finder(m: &BitMatrix, x: u32, y: u32) -> bool {
    let (w, h) = (i64::from(m.getWidth()), i64::from(m.getHeight()));
    let walk = |step: i64| {
        let mut r = [0u32; 3];
        let (mut xx, mut yy) = (i64::from(x), i64::from(y));
        for (k, want) in [true, false, true].into_iter().enumerate() {
            while (0..w).contains(&xx)
                && (0..h).contains(&yy)
                && m.get(xx as u32, yy as u32) == want
            {
                r[k] += 1;
                xx += step;
                yy += step;
            }
        }
        r
    };
    let (u, d) = (walk(-1), walk(1));
    is_finder_diagonal(&[u[2], u[1], (u[0] + d[0]).saturating_sub(1), d[1], d[2]])
}
