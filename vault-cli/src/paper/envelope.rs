//! The envelope: one PDF page per custodian, A4 or US Letter, to print and
//! seal in the safe. It carries the vault's name and fingerprint, the
//! custodian, "share i — any k of n unseal", the date, a QR code holding
//! exactly the share's text, the same text typed in groups with a check
//! code per line, numbered instructions, and custody lines. Fonts (DejaVu
//! Sans Mono) are embedded; in a monospace face l, I and 1 look different.

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::qr;

static MONO: &[u8] = include_bytes!("../../fonts/DejaVuSansMono.ttf");
static MONO_BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSansMono-Bold.ttf");

/// Paper sizes, in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 210 × 297 mm.
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl Paper {
    fn size(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.28, 841.89),
            Self::Letter => (612.0, 792.0),
        }
    }
}

/// What one envelope page shows.
pub struct Envelope<'a> {
    /// Vault name.
    pub vault_name: &'a str,
    /// Vault fingerprint, short form (docs/FORMAT.md §3.3).
    pub fingerprint: &'a str,
    /// The vault file's name, for the instructions.
    pub vault_file: &'a str,
    /// Custodian name.
    pub custodian: &'a str,
    /// Share index.
    pub index: u8,
    /// Threshold k.
    pub threshold: usize,
    /// Number of custodians n.
    pub custodians: usize,
    /// Date printed (RFC 3339 day).
    pub date: &'a str,
    /// True when the share is passphrase-protected.
    pub protected: bool,
    /// The share's text form, exactly as `unseal` reads it.
    pub share_text: &'a str,
}

/// What was printed, for the report.
pub struct Printed {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// QR version and level per page.
    pub qr: Vec<(i16, &'static str)>,
}

struct Fonts {
    regular: Font,
    bold: Font,
}

impl Fonts {
    fn load() -> Result<Self, String> {
        Ok(Self {
            regular: Font::new(MONO.into(), 0).ok_or("the embedded font does not load")?,
            bold: Font::new(MONO_BOLD.into(), 0).ok_or("the embedded font does not load")?,
        })
    }
}

fn finish(doc: Document, qr: Vec<(i16, &'static str)>) -> Result<Printed, String> {
    let pdf = doc
        .finish()
        .map_err(|e| format!("the PDF could not be made: {e:?}"))?;
    Ok(Printed { pdf, qr })
}

/// Renders one page per envelope.
pub fn render(envelopes: &[Envelope<'_>], paper: Paper) -> Result<Printed, String> {
    let fonts = Fonts::load()?;
    let (w, h) = paper.size();
    let mut doc = Document::new();
    let mut qrs = Vec::new();
    for e in envelopes {
        let symbol = qr::encode(e.share_text.as_bytes())?;
        qrs.push((symbol.version, symbol.level));
        let mut page = doc.start_page_with(PageSettings::from_wh(w, h).ok_or("bad paper size")?);
        let mut s = page.surface();
        s.set_fill(Some(Fill::default()));
        draw_page(&mut s, &fonts, e, &symbol, w);
        s.finish();
        page.finish();
    }
    finish(doc, qrs)
}

fn text(s: &mut Surface<'_>, font: &Font, size: f32, x: f32, y: f32, t: &str) {
    s.draw_text(
        Point::from_xy(x, y),
        font.clone(),
        size,
        t,
        false,
        TextDirection::Auto,
    );
}

fn rect(s: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32) {
    let mut pb = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x, y, w, h) {
        pb.push_rect(r);
    }
    if let Some(path) = pb.finish() {
        s.draw_path(&path);
    }
}

/// Cuts `t` into lines of at most `width` characters, at spaces.
fn wrap(t: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in t.split(' ') {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

fn draw_page(s: &mut Surface<'_>, f: &Fonts, e: &Envelope<'_>, symbol: &qr::Symbol, page_w: f32) {
    let m = 42.0; // margin
    let mut y = m + 18.0;
    text(
        s,
        &f.bold,
        17.0,
        m,
        y,
        "BREAKGLASS - EMERGENCY ACCESS SHARE",
    );
    y += 12.0;
    rect(s, m, y, page_w - 2.0 * m, 1.2);
    y += 20.0;
    let facts = [
        ("Vault:", e.vault_name.to_owned()),
        ("Fingerprint:", e.fingerprint.to_owned()),
        ("Custodian:", e.custodian.to_owned()),
        (
            "Share:",
            format!(
                "{} - any {} of {} unseal",
                e.index, e.threshold, e.custodians
            ),
        ),
        ("Printed:", e.date.to_owned()),
    ];
    for (k, v) in facts {
        text(s, &f.bold, 10.5, m, y, k);
        text(s, &f.regular, 10.5, m + 90.0, y, &v);
        y += 15.0;
    }
    let warning = if e.protected {
        format!(
            "Protected by {}'s passphrase, which is NOT printed here.",
            e.custodian
        )
    } else {
        "NOT protected by a passphrase: keep this envelope apart from the others.".to_owned()
    };
    text(s, &f.bold, 10.0, m, y + 4.0, &warning);
    y += 22.0;

    // The QR code, with a quiet zone of 4 modules.
    let qr_size = 250.0;
    let (qx, qy) = (m, y);
    draw_qr(s, symbol, qx, qy, qr_size);
    text(
        s,
        &f.regular,
        7.5,
        qx,
        qy + qr_size + 10.0,
        &format!(
            "QR: the share text, byte mode, version {}, level {}",
            symbol.version, symbol.level
        ),
    );

    // The typed share: body lines only, in groups, one check code per line.
    let tx = qx + qr_size + 18.0;
    let mut ty = qy + 14.0;
    text(
        s,
        &f.bold,
        9.5,
        tx,
        ty,
        "Typed share (if the QR cannot be read):",
    );
    ty += 16.0;
    for line in e.share_text.lines() {
        let numbered = line
            .split_once(':')
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if line.starts_with("BREAKGLASS SHARE") || line.starts_with("END BREAKGLASS") || numbered {
            text(s, &f.regular, 10.0, tx, ty, line);
            ty += 13.5;
        }
    }

    y = qy + qr_size + 30.0;
    text(s, &f.bold, 11.0, m, y, "What to do");
    y += 15.0;
    let steps = [
        format!(
            "You are one of {} custodians of vault '{}'. Any {} of you together can open it; \
             alone you can open nothing.",
            e.custodians, e.vault_name, e.threshold
        ),
        format!(
            "In an emergency, bring this page. Scan it or type it: breakglass unseal {} --share \
             <photo or text of this page>.",
            e.vault_file
        ),
        "Typing: copy each numbered line; case, spaces and dashes do not matter, O is read as 0 \
         and I or L as 1. A mistyped line is named, with the symbol to check."
            .to_owned(),
        if e.protected {
            "When asked, type your passphrase. Nobody else should see it; it is never printed."
                .to_owned()
        } else {
            "This share needs no passphrase: whoever holds this page holds your share.".to_owned()
        },
        "Far from the others? breakglass contribute REQUEST --share <this> --out c.txt, and send \
         only c.txt to the operator."
            .to_owned(),
        format!(
            "Every quarter, check your share alone: breakglass verify-share {} --share <this>.",
            e.vault_file
        ),
        "Keep this page sealed in the safe. If it is lost or seen, tell the vault owner: the \
         vault must be rekeyed."
            .to_owned(),
    ];
    for (i, step) in steps.iter().enumerate() {
        for (j, line) in wrap(step, 82).iter().enumerate() {
            let prefix = if j == 0 {
                format!("{}.", i + 1)
            } else {
                String::new()
            };
            text(s, &f.regular, 9.0, m, y, &prefix);
            text(s, &f.regular, 9.0, m + 18.0, y, line);
            y += 11.5;
        }
        y += 2.0;
    }

    y += 12.0;
    text(s, &f.bold, 11.0, m, y, "Custody log");
    y += 8.0;
    let cols = [
        ("Sealed / opened by", 0.0),
        ("Date", 230.0),
        ("Signature", 330.0),
    ];
    for (label, dx) in cols {
        text(s, &f.regular, 8.5, m + dx, y + 10.0, label);
    }
    y += 14.0;
    for _ in 0..5 {
        y += 20.0;
        rect(s, m, y, 215.0, 0.6);
        rect(s, m + 230.0, y, 85.0, 0.6);
        rect(s, m + 330.0, y, page_w - 2.0 * m - 330.0, 0.6);
    }
}

/// What the backup pages show besides the parts.
pub struct BackupInfo<'a> {
    /// Vault name.
    pub vault_name: &'a str,
    /// Vault fingerprint.
    pub fingerprint: &'a str,
    /// The vault file's name.
    pub vault_file: &'a str,
    /// Date printed.
    pub date: &'a str,
}

/// Renders the whole vault on paper: two parts a page, each as a QR code
/// holding the part's text and the same text typed beside it.
pub fn render_backup(
    parts: &[String],
    info: &BackupInfo<'_>,
    paper: Paper,
) -> Result<Printed, String> {
    let fonts = Fonts::load()?;
    let (w, h) = paper.size();
    let pages = parts.len().div_ceil(2);
    let mut doc = Document::new();
    let mut qrs = Vec::new();
    for (p, pair) in parts.chunks(2).enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(w, h).ok_or("bad paper size")?);
        let mut s = page.surface();
        s.set_fill(Some(Fill::default()));
        let m = 36.0;
        let mut y = m + 14.0;
        text(
            &mut s,
            &fonts.bold,
            13.0,
            m,
            y,
            "BREAKGLASS — VAULT BACKUP (sealed: reading it needs k shares)",
        );
        y += 14.0;
        let vault_line = format!("Vault '{}' ({})", info.vault_name, info.fingerprint);
        text(&mut s, &fonts.regular, 8.5, m, y, &vault_line);
        y += 11.0;
        let page_line = format!(
            "Page {} of {pages} — {} parts in all — printed {}",
            p + 1,
            parts.len(),
            info.date
        );
        text(&mut s, &fonts.bold, 8.5, m, y, &page_line);
        y += 11.0;
        text(&mut s, &fonts.regular, 8.0, m, y, &format!(
            "To restore: scan every page (any order) or type the parts, then: breakglass restore {} --from SCAN.png ...",
            info.vault_file
        ));
        y += 6.0;
        rect(&mut s, m, y, w - 2.0 * m, 0.8);
        y += 10.0;
        let block_h = (h - y - m) / 2.0;
        for part in pair {
            let symbol = qr::encode(part.as_bytes())?;
            qrs.push((symbol.version, symbol.level));
            draw_qr(&mut s, &symbol, m, y, 230.0);
            let mut ty = y + 10.0;
            for line in part.lines().filter(|l| !l.is_empty()) {
                text(&mut s, &fonts.regular, 7.6, m + 245.0, ty, line);
                ty += 8.6;
            }
            y += block_h;
        }
        s.finish();
        page.finish();
    }
    finish(doc, qrs)
}

/// Draws a QR symbol with a 4-module quiet zone in a `size` square; modules
/// overlap by a hair so no white seams appear between them.
fn draw_qr(s: &mut Surface<'_>, symbol: &qr::Symbol, x0: f32, y0: f32, size: f32) {
    let module = size / (symbol.width as f32 + 8.0);
    let mut pb = PathBuilder::new();
    for row in 0..symbol.width {
        for col in 0..symbol.width {
            if symbol.dark[row * symbol.width + col] {
                let x = x0 + (col as f32 + 4.0) * module;
                let y = y0 + (row as f32 + 4.0) * module;
                if let Some(r) = Rect::from_xywh(x, y, module + 0.05, module + 0.05) {
                    pb.push_rect(r);
                }
            }
        }
    }
    // One path for the whole symbol: a small PDF, drawn in one go.
    if let Some(path) = pb.finish() {
        s.draw_path(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a", 5), ["a"]);
    }

    #[test]
    fn renders_a_pdf_per_paper_size() {
        let text = "BREAKGLASS SHARE v1\n01: 0000 0000 0000 0000  00\nEND BREAKGLASS SHARE\n";
        let e = Envelope {
            vault_name: "T",
            fingerprint: "0000",
            vault_file: "v.bg",
            custodian: "alice",
            index: 1,
            threshold: 2,
            custodians: 3,
            date: "2026-11-24",
            protected: true,
            share_text: text,
        };
        for paper in [Paper::A4, Paper::Letter] {
            let out = render(std::slice::from_ref(&e), paper).unwrap();
            assert!(out.pdf.starts_with(b"%PDF-"));
            assert_eq!(out.qr[0].1, "H");
        }
    }
}
