//! The paper backup: the whole sealed vault as numbered QR codes with the
//! same parts typed beside them.

use krilla::page::PageSettings;
use krilla::Document;

use super::envelope::{finish, Printed};
use super::layout::{Fonts, Paper, Pen};
use super::qr;

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
pub fn render(parts: &[String], info: &BackupInfo<'_>, paper: Paper) -> Result<Printed, String> {
    let fonts = Fonts::load()?;
    let (w, h) = paper.size();
    let pages = parts.len().div_ceil(2);
    let mut doc = Document::new();
    let mut qrs = Vec::new();
    for (n, pair) in parts.chunks(2).enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(w, h).ok_or("bad paper size")?);
        let mut s = page.surface();
        let mut p = Pen::new(&mut s, &fonts);
        let m = 36.0;
        let mut y = m + 14.0;
        p.text(
            &fonts.mono_bold,
            13.0,
            m,
            y,
            "BREAKGLASS — VAULT BACKUP (sealed: reading it needs k shares)",
        );
        y += 14.0;
        let vault_line = format!("Vault '{}' ({})", info.vault_name, info.fingerprint);
        p.text(&fonts.mono, 8.5, m, y, &vault_line);
        y += 11.0;
        let page_line = format!(
            "Page {} of {pages} — {} parts in all — printed {}",
            n + 1,
            parts.len(),
            info.date
        );
        p.text(&fonts.mono_bold, 8.5, m, y, &page_line);
        y += 11.0;
        p.text(&fonts.mono, 8.0, m, y, &format!(
            "To restore: scan every page (any order) or type the parts, then: breakglass restore {} --from SCAN.png ...",
            info.vault_file
        ));
        y += 6.0;
        p.rect(m, y, w - 2.0 * m, 0.8);
        y += 10.0;
        let block_h = (h - y - m) / 2.0;
        for part in pair {
            let symbol = qr::encode(part.as_bytes())?;
            qrs.push((symbol.version, symbol.level, symbol.mode));
            p.qr(&symbol, m, y, 230.0);
            let mut ty = y + 10.0;
            for line in part.lines().filter(|l| !l.is_empty()) {
                p.text(&fonts.mono, 7.6, m + 245.0, ty, line);
                ty += 8.6;
            }
            y += block_h;
        }
        s.finish();
        page.finish();
    }
    finish(doc, qrs, pages)
}
