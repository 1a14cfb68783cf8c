//! The paper backup: the whole sealed vault, two parts of up to 1,000
//! bytes a page. Each part is a QR code (compact form, alphanumeric mode,
//! level M or L: the typed text carries its own checks, so the QR code need
//! not carry the most redundancy) and the same part typed out in lines with
//! a check code each. The header of every page says which vault, its
//! generation, that reading it needs any k of the n custodians, the page
//! and the page count, and how to restore.

use krilla::page::PageSettings;
use krilla::Document;
use qrcode::types::EcLevel;
use vault_core::backup::PrintedPart;

use super::envelope::{finish, Printed, QrInfo};
use super::layout::{Fonts, Paper, Pen};
use super::qr::{self, Mode, Spec};

/// How parts sit on a page: how many, and the typed fallback's columns and
/// largest size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Parts on a page.
    pub per_page: usize,
    /// Columns of typed lines.
    columns: usize,
    /// The largest size of the typed lines, in points.
    max_size: f32,
}

/// The default: two parts (2,000 bytes of vault) a page, typed in four
/// columns at about 7.5 pt of DejaVu Sans Mono (whose x-height, 0.55 em,
/// matches that of a 9 pt serif text face). More bytes a page than a
/// larger type allows: a page holds the two QR codes and about 5,000
/// typed characters.
pub const DENSE: Layout = Layout {
    per_page: 2,
    columns: 4,
    max_size: 10.0,
};

/// `--large-type`: one part (1,000 bytes) a page, typed in three columns
/// at about 10 pt, for whoever will type a part back by hand.
pub const LARGE: Layout = Layout {
    per_page: 1,
    columns: 3,
    max_size: 11.0,
};
/// The most pages a paper backup may have: 1 MB of vault. The PDF is
/// built in memory at about 120 KB a page (60 MB at the most), in about
/// 80 ms of CPU a page in a debug build.
pub const MAX_PAGES: usize = 500;

/// QR codes of parts: level M, else L, up to version 30 (137 modules in
/// about 8 cm: modules of 0.6 mm, read by 150 dpi scans and phones).
const PART_QR: Spec = Spec {
    levels: &[(EcLevel::M, "M"), (EcLevel::L, "L")],
    max_version: 30,
};

/// What the backup pages show besides the parts.
pub struct BackupInfo<'a> {
    /// Vault name.
    pub vault_name: &'a str,
    /// Vault fingerprint, short form.
    pub fingerprint: &'a str,
    /// The vault file's name.
    pub vault_file: &'a str,
    /// Date printed.
    pub date: &'a str,
    /// Threshold k.
    pub threshold: usize,
    /// Custodians n.
    pub custodians: usize,
    /// Key generation.
    pub generation: u32,
    /// Bytes of the vault file.
    pub file_len: usize,
}

const M: f32 = 30.0;

/// Renders the whole vault on paper, `layout.per_page` parts a page.
pub fn render(
    parts: &[PrintedPart],
    info: &BackupInfo<'_>,
    paper: Paper,
    layout: Layout,
) -> Result<Printed, String> {
    let fonts = Fonts::load()?;
    let (w, h) = paper.size();
    let pages = parts.len().div_ceil(layout.per_page);
    let mut doc = Document::new();
    let mut qrs = Vec::new();
    for (n, group) in parts.chunks(layout.per_page).enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(w, h).ok_or("bad paper size")?);
        let mut s = page.surface();
        let mut p = Pen::new(&mut s, &fonts);
        let y = header(&mut p, info, (n + 1, pages), parts.len(), w);
        let (y, symbols) = qr_row(&mut p, group, y + 8.0, w)?;
        qrs.extend(symbols);
        typed(&mut p, group, y + 6.0, (w, h), layout);
        s.finish();
        page.finish();
    }
    finish(doc, qrs, pages)
}

fn header(
    p: &mut Pen<'_, '_>,
    info: &BackupInfo<'_>,
    (page, pages): (usize, usize),
    parts: usize,
    w: f32,
) -> f32 {
    let width = w - 2.0 * M;
    let mut y = M + 12.0;
    p.text(
        &p.f.sans_bold,
        13.0,
        M,
        y,
        &format!(
            "Paper backup of vault '{}': page {page} of {pages}",
            info.vault_name
        ),
    );
    y += 14.0;
    let facts = format!(
        "Fingerprint {}, generation {}, printed {}: {} bytes in {parts} parts on {pages} pages. \
         Sealed: reading any secret in it needs any {} of the {} custodians' shares.",
        info.fingerprint,
        info.generation,
        info.date,
        info.file_len,
        info.threshold,
        info.custodians
    );
    y = p.para(&p.f.sans, 9.0, M, y, width, 11.0, &facts);
    let restore = format!(
        "To restore: scan or photograph all {pages} pages (any order), then run breakglass \
         restore {} --from page-*.png. If a QR code cannot be read, type that part's lines \
         (below it) into a text file and add it with --from.",
        info.vault_file
    );
    y = p.para(&p.f.sans, 9.0, M, y, width, 11.0, &restore);
    p.rect(M, y - 4.0, width, 0.8);
    y
}

/// The parts' QR codes side by side; returns the y below them.
fn qr_row(
    p: &mut Pen<'_, '_>,
    group: &[PrintedPart],
    y0: f32,
    w: f32,
) -> Result<(f32, Vec<QrInfo>), String> {
    let gap = 20.0;
    let size = ((w - 2.0 * M - gap) / 2.0).min(236.0);
    let mut out = Vec::new();
    for (i, part) in group.iter().enumerate() {
        let mode = Mode::for_payload(&part.compact);
        let symbol = qr::encode_as(part.compact.as_bytes(), mode, &PART_QR)?;
        let x = M + i as f32 * (size + gap);
        p.qr(&symbol, x, y0, size);
        let label = part
            .text
            .lines()
            .find(|l| l.starts_with("Part:"))
            .unwrap_or("Part");
        p.text(
            &p.f.sans,
            8.0,
            x + 10.0,
            y0 + size + 4.0,
            &format!(
                "{label} (QR version {}, level {})",
                symbol.version, symbol.level
            ),
        );
        out.push((symbol.version, symbol.level, symbol.mode));
    }
    Ok((y0 + size + 10.0, out))
}

/// The parts typed out, in columns filling the rest of the page, in the
/// largest monospace size that fits (on A4 about 7.5 pt in the dense
/// layout, 10 pt in the large one).
fn typed(p: &mut Pen<'_, '_>, group: &[PrintedPart], y0: f32, (w, h): (f32, f32), layout: Layout) {
    let lines: Vec<&str> = group
        .iter()
        .flat_map(|part| {
            part.text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with("Vault:"))
        })
        .collect();
    let columns = layout.columns;
    let gap = 10.0;
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f32;
    let per_column = lines.len().div_ceil(columns).max(1);
    let by_width = (w - 2.0 * M - gap * (columns - 1) as f32) / (columns as f32 * widest * 0.602);
    let by_height = (h - M - y0) / (per_column as f32 * 1.12);
    let size = by_width.min(by_height).min(layout.max_size);
    let leading = (h - M - y0) / per_column as f32;
    let leading = leading.min(size * 1.3);
    let col_w = (w - 2.0 * M + gap) / columns as f32;
    for (i, line) in lines.iter().enumerate() {
        let (col, row) = (i / per_column, i % per_column);
        let face = if line.starts_with("BREAKGLASS")
            || line.starts_with("Part:")
            || line.starts_with("END")
        {
            &p.f.mono_bold
        } else {
            &p.f.mono
        };
        p.text(
            face,
            size,
            M + col as f32 * col_w,
            y0 + size + row as f32 * leading,
            line,
        );
    }
}
