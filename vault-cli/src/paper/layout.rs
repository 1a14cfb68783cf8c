//! Setting text and shapes on a PDF page: the embedded fonts with their
//! widths (for wrapping proportional text), lines, boxes and QR symbols.
//! Coordinates are points from the top-left corner.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::qr;

static MONO: &[u8] = include_bytes!("../../fonts/DejaVuSansMono.ttf");
static MONO_BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSansMono-Bold.ttf");
static SANS: &[u8] = include_bytes!("../../fonts/DejaVuSans-subset.ttf");
static SANS_BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold-subset.ttf");

/// Paper sizes, in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 210 × 297 mm.
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// Width and height in points.
    pub fn size(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.28, 841.89),
            Self::Letter => (612.0, 792.0),
        }
    }
}

/// A font and its metrics.
pub struct Face {
    font: Font,
    metrics: ttf_parser::Face<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Result<Self, String> {
        Ok(Self {
            font: Font::new(data.into(), 0).ok_or("an embedded font does not load")?,
            metrics: ttf_parser::Face::parse(data, 0)
                .map_err(|_| "an embedded font does not load")?,
        })
    }

    /// True when every character of `t` has a glyph.
    fn covers(&self, t: &str) -> bool {
        t.chars()
            .all(|c| c.is_whitespace() || self.metrics.glyph_index(c).is_some())
    }

    /// Width of `t` at `size` points.
    pub fn width(&self, t: &str, size: f32) -> f32 {
        let upem = f32::from(self.metrics.units_per_em());
        let units: f32 = t
            .chars()
            .map(|c| {
                self.metrics
                    .glyph_index(c)
                    .and_then(|g| self.metrics.glyph_hor_advance(g))
                    .map_or(upem * 0.6, f32::from)
            })
            .sum();
        units * size / upem
    }
}

/// The four faces every page uses.
pub struct Fonts {
    /// DejaVu Sans (subset): prose.
    pub sans: Face,
    /// DejaVu Sans Bold (subset): headings.
    pub sans_bold: Face,
    /// DejaVu Sans Mono: share text and commands.
    pub mono: Face,
    /// DejaVu Sans Mono Bold.
    pub mono_bold: Face,
}

impl Fonts {
    /// Loads the embedded fonts.
    pub fn load() -> Result<Self, String> {
        Ok(Self {
            sans: Face::load(SANS)?,
            sans_bold: Face::load(SANS_BOLD)?,
            mono: Face::load(MONO)?,
            mono_bold: Face::load(MONO_BOLD)?,
        })
    }
}

/// Draws on one page.
pub struct Pen<'s, 'p> {
    s: &'s mut Surface<'p>,
    /// The fonts.
    pub f: &'s Fonts,
}

impl<'s, 'p> Pen<'s, 'p> {
    /// A pen on `s`, filling black.
    pub fn new(s: &'s mut Surface<'p>, f: &'s Fonts) -> Self {
        s.set_fill(Some(Fill::default()));
        Self { s, f }
    }

    /// Sets `t` with its baseline at `y`. Text the face lacks a glyph for
    /// (a name in another script) is set in the monospace face.
    pub fn text(&mut self, face: &Face, size: f32, x: f32, y: f32, t: &str) {
        let face = if face.covers(t) { face } else { &self.f.mono };
        self.s.draw_text(
            Point::from_xy(x, y),
            face.font.clone(),
            size,
            t,
            false,
            TextDirection::Auto,
        );
    }

    /// Sets `t` wrapped to `width`, lines `leading` apart, the first
    /// baseline at `y`; returns the baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    pub fn para(
        &mut self,
        face: &Face,
        size: f32,
        x: f32,
        y: f32,
        width: f32,
        leading: f32,
        t: &str,
    ) -> f32 {
        let mut y = y;
        for line in wrap(face, size, width, t) {
            self.text(face, size, x, y, &line);
            y += leading;
        }
        y
    }

    /// A filled rectangle in grey `lightness` (0 black, 255 white).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, lightness: u8) {
        self.s.set_fill(Some(Fill {
            paint: luma::Color::new(lightness).into(),
            ..Fill::default()
        }));
        self.rect(x, y, w, h);
        self.s.set_fill(Some(Fill::default()));
    }

    /// A black filled rectangle (a rule when thin).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            self.s.draw_path(&path);
        }
    }

    /// The outline of a box, `t` thick.
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, t: f32) {
        self.rect(x, y, w, t);
        self.rect(x, y + h - t, w, t);
        self.rect(x, y, t, h);
        self.rect(x + w - t, y, t, h);
    }

    /// A QR symbol with a 4-module quiet zone in a `size` square; modules
    /// overlap by a hair so no white seams appear between them.
    pub fn qr(&mut self, symbol: &qr::Symbol, x0: f32, y0: f32, size: f32) {
        let module = size / (symbol.width as f32 + 8.0);
        let mut pb = PathBuilder::new();
        for row in 0..symbol.width {
            let dark = &symbol.dark[row * symbol.width..(row + 1) * symbol.width];
            let mut col = 0;
            while col < symbol.width {
                if !dark[col] {
                    col += 1;
                    continue;
                }
                // One rectangle per run of dark modules: a smaller PDF.
                let run = dark[col..].iter().take_while(|d| **d).count();
                let x = x0 + (col as f32 + 4.0) * module;
                let y = y0 + (row as f32 + 4.0) * module;
                let w = run as f32 * module + 0.05;
                if let Some(r) = Rect::from_xywh(x, y, w, module + 0.05) {
                    pb.push_rect(r);
                }
                col += run;
            }
        }
        // One path for the whole symbol: a small PDF, drawn in one go.
        if let Some(path) = pb.finish() {
            self.s.draw_path(&path);
        }
    }
}

/// Cuts `t` into lines no wider than `width` at `size`, at spaces (a word
/// wider than the line stays whole on its own line).
pub fn wrap(face: &Face, size: f32, width: f32, t: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in t.split(' ') {
        let last = lines.last_mut().expect("never empty");
        let candidate = if last.is_empty() {
            word.to_owned()
        } else {
            format!("{last} {word}")
        };
        if !last.is_empty() && face.width(&candidate, size) > width {
            lines.push(word.to_owned());
        } else {
            *last = candidate;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_by_width() {
        let f = Fonts::load().unwrap();
        // Mono: 0.602 em a character.
        let w = f.mono.width("aaaaa", 10.0);
        assert!((w - 30.1).abs() < 0.2, "{w}");
        assert_eq!(wrap(&f.mono, 10.0, w + 0.1, "aa bb cc"), ["aa bb", "cc"]);
        assert_eq!(wrap(&f.mono, 10.0, w, "a"), ["a"]);
        // Proportional: i is narrower than m.
        assert!(f.sans.width("iiii", 10.0) < f.sans.width("mmmm", 10.0));
        assert!(f.sans.covers("Zoë Müller-O'Neil Ωμέγα Жанна"));
        assert!(!f.sans.covers("山田"));
    }
}
