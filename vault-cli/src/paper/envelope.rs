//! The envelope: two PDF pages per custodian, A4 or US Letter, that a
//! custodian who is not an engineer can follow alone, at night, in a hurry.
//!
//! Page 1, from the top: a "do not open except in an emergency or a
//! scheduled drill" panel; who this share belongs to, "any k of the n
//! custodians" and the others' names, the generation and what it replaces,
//! whom to call and where the vault copy, laptop and program are, with the
//! QR code in the top-right corner; the numbered steps (unseal *one* entry,
//! with a reason). Page 2: the same share typed out in a large monospace
//! face in its lower half, how to type it, and a custody log. The QR code
//! and the typed share are on different sheets (or, printed on both sides,
//! in opposite corners), so one stain or tear cannot take both. Prose is
//! set in DejaVu Sans, share text and commands in DejaVu Sans Mono (l, I
//! and 1 differ).

use krilla::page::PageSettings;
use krilla::Document;
use vault_core::share::ShareBody;
use zeroize::Zeroizing;

pub use super::layout::Paper;
use super::layout::{Fonts, Pen};
use super::qr::{self, Mode};

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
    /// Every custodian's name, in share order (n in all).
    pub custodians: &'a [String],
    /// The key generation (1, then one more at each rekey).
    pub generation: u32,
    /// The day this generation was made (RFC 3339 day).
    pub generation_date: &'a str,
    /// Date printed (RFC 3339 day).
    pub date: &'a str,
    /// True when the share is passphrase-protected.
    pub protected: bool,
    /// The share's text form, exactly as `unseal` reads it.
    pub share_text: &'a str,
    /// What the QR code holds, and how (see [`qr_payload`]).
    pub qr: (&'a str, Mode),
    /// Whom to call (free text), if given.
    pub contact: Option<&'a str>,
    /// Where the vault copy, the offline laptop and the program are, if given.
    pub place: Option<&'a str>,
}

/// A printed QR symbol: version, level and mode.
pub type QrInfo = (i16, &'static str, Mode);

/// What was printed, for the report.
pub struct Printed {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// QR version, level and mode per symbol.
    pub qr: Vec<QrInfo>,
    /// Pages.
    pub pages: usize,
}

/// The one place that decides what a share's QR code holds: the share's
/// compact form (FORMAT.md §6: upper-case alphanumerics, the same symbols
/// as the typed lines), encoded in alphanumeric mode at level H — version
/// 12 for a protected share, 8 for a plain one, instead of 24 and 19 for
/// the whole text in byte mode.
pub fn qr_payload(body: &ShareBody, _text: &str) -> (Zeroizing<String>, Mode) {
    let payload = vault_core::share_text::compact(body);
    let mode = Mode::for_payload(&payload);
    (payload, mode)
}

/// Finishes a document.
pub fn finish(doc: Document, qr: Vec<QrInfo>, pages: usize) -> Result<Printed, String> {
    let pdf = doc
        .finish()
        .map_err(|e| format!("the PDF could not be made: {e:?}"))?;
    Ok(Printed { pdf, qr, pages })
}

/// Renders two pages per envelope.
pub fn render(envelopes: &[Envelope<'_>], paper: Paper) -> Result<Printed, String> {
    let fonts = Fonts::load()?;
    let (w, h) = paper.size();
    let mut doc = Document::new();
    let mut qrs = Vec::new();
    for e in envelopes {
        let symbol = qr::encode_as(e.qr.0.as_bytes(), e.qr.1, &qr::SHARE)?;
        qrs.push((symbol.version, symbol.level, symbol.mode));
        for side in [Side::Qr, Side::Typed] {
            let settings = PageSettings::from_wh(w, h).ok_or("bad paper size")?;
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let mut pen = Pen::new(&mut s, &fonts);
            match side {
                Side::Qr => front(&mut pen, e, &symbol, (w, h)),
                Side::Typed => back(&mut pen, e, (w, h)),
            }
            s.finish();
            page.finish();
        }
    }
    finish(doc, qrs, 2 * envelopes.len())
}

const M: f32 = 36.0; // margin
const QR: f32 = 236.0; // QR square, quiet zone included
const LABEL_W: f32 = 84.0; // the labels of the facts

enum Side {
    Qr,
    Typed,
}

/// Page 1: the panel, the facts and the QR code, the steps.
fn front(p: &mut Pen<'_, '_>, e: &Envelope<'_>, symbol: &qr::Symbol, (w, h): (f32, f32)) {
    let y = do_not_open(p, e, w);
    let y = facts(p, e, symbol, y + 14.0, w);
    let y = steps(p, e, y + 8.0, w);
    let who = e
        .contact
        .map_or("the vault owner", |_| "the people under \"Whom to call\"");
    p.para(
        &p.f.sans_bold,
        10.5,
        M,
        y.max(h - M - 40.0) + 10.0,
        w - 2.0 * M,
        13.0,
        &format!(
            "Lost this page, or someone else saw it? Tell {who} at once: the vault must be \
             rekeyed. The share typed out is on page 2."
        ),
    );
}

/// The panel on top: open only in an emergency or a scheduled drill.
fn do_not_open(p: &mut Pen<'_, '_>, e: &Envelope<'_>, w: f32) -> f32 {
    let who = e
        .contact
        .map_or("the vault owner", |_| "the people under \"Whom to call\"");
    let line = format!(
        "Sealed share of {} for vault '{}'. Found open, damaged or missing? Tell {who}.",
        e.custodian, e.vault_name
    );
    let (x, y, bw) = (M, M, w - 2.0 * M);
    let lines = super::layout::wrap(&p.f.sans, 9.5, bw - 24.0, &line).len();
    let bh = 34.0 + 11.0 * lines as f32;
    p.fill(x, y, bw, bh, 228);
    p.frame(x, y, bw, bh, 2.0);
    p.text(
        &p.f.sans_bold,
        15.0,
        x + 12.0,
        y + 21.0,
        "DO NOT OPEN except in an emergency or a scheduled drill",
    );
    p.para(&p.f.sans, 9.5, x + 12.0, y + 37.0, bw - 24.0, 11.0, &line);
    y + bh
}

/// Who and what, left; the QR code, top right. Returns the y below both.
fn facts(p: &mut Pen<'_, '_>, e: &Envelope<'_>, symbol: &qr::Symbol, y0: f32, w: f32) -> f32 {
    let qx = w - M - QR;
    p.qr(symbol, qx, y0 - 8.0, QR);
    let caption = format!(
        "QR code of your share (version {}, level {}): a phone photo or scan of it is enough.",
        symbol.version, symbol.level
    );
    let qy = p.para(
        &p.f.sans,
        7.5,
        qx + 14.0,
        y0 + QR - 4.0,
        QR - 28.0,
        9.0,
        &caption,
    );

    let (x, width) = (M, qx - M - 10.0);
    let mut y = y0 + 12.0;
    p.text(&p.f.sans_bold, 17.0, x, y, "Emergency access share");
    y += 21.0;
    let n = e.custodians.len();
    let others: Vec<&str> = e
        .custodians
        .iter()
        .map(String::as_str)
        .filter(|c| *c != e.custodian)
        .collect();
    let replaces = format!(
        "Generation {}, made {}; printed {}. Replaces envelopes printed before {}{}.",
        e.generation,
        e.generation_date,
        e.date,
        e.generation_date,
        if e.generation > 1 {
            " (their shares no longer open the vault: destroy them)"
        } else {
            ""
        }
    );
    let rows = [
        (
            "Vault",
            format!("{} (fingerprint {})", e.vault_name, e.fingerprint),
        ),
        (
            "This share",
            format!("{}'s, share {} of {n}", e.custodian, e.index),
        ),
        (
            "To open",
            format!("any {} of the {n} custodians, together", e.threshold),
        ),
        ("The others", others.join(", ")),
        ("Whom to call", text_or_blank(e.contact)),
        ("Where", text_or_blank(e.place)),
        ("Generation", replaces),
    ];
    for (label, value) in rows {
        p.text(&p.f.sans_bold, 10.5, x, y, label);
        y = p.para(
            &p.f.sans,
            10.5,
            x + LABEL_W,
            y,
            width - LABEL_W,
            13.0,
            &value,
        );
        y += 2.0;
    }
    let warning = if e.protected {
        format!(
            "Protected by {}'s passphrase, which is not printed anywhere.",
            e.custodian
        )
    } else {
        "No passphrase: whoever holds this page holds the share. Keep it apart from the others."
            .to_owned()
    };
    y = p.para(&p.f.sans_bold, 10.5, x, y + 2.0, width, 13.0, &warning);
    y.max(qy)
}

/// Free text as given, or a line to write it in by hand.
fn text_or_blank(t: Option<&str>) -> String {
    match t {
        Some(t) => t.to_owned(),
        None => "(write it here by hand) ____________".to_owned(),
    }
}

/// The numbered steps: prose in sans, commands on their own line in mono.
fn steps(p: &mut Pen<'_, '_>, e: &Envelope<'_>, y0: f32, w: f32) -> f32 {
    let file = e.vault_file;
    let call = match e.contact {
        Some(_) => "Call the people under \"Whom to call\" above.",
        None => "Call the vault owner and the other custodians named above.",
    };
    let go = match e.place {
        Some(_) => "Go to the offline laptop with the vault copy (see \"Where\" above).".to_owned(),
        None => {
            format!("Go to the computer that has the vault file {file} and the breakglass program.")
        }
    };
    let steps: [(String, Option<String>); 7] = [
        (
            format!(
                "{call} Opening needs any {} of the {} custodians: alone you can open nothing. \
                 Bring this page; never send a photo of it to anyone.",
                e.threshold,
                e.custodians.len()
            ),
            None,
        ),
        (
            format!("{go} Open a terminal in the folder of {file} and reveal only the entry you need, saying why:"),
            Some(format!("breakglass unseal {file} --entry NAME --reason \"INC-123 what happened\"")),
        ),
        (
            "Not sure of the NAME? Leave out --entry and --reason: it lists the entries and asks \
             which and why. \
             Every revealed password must be changed afterwards, so never reveal them all."
                .to_owned(),
            None,
        ),
        (
            "Give your share: a photo or scan of the QR code above (--share photo.jpg), or, \
             when asked, type the lines printed on page 2."
                .to_owned(),
            None,
        ),
        (
            if e.protected {
                "When asked, type your passphrase. Nobody else should see it.".to_owned()
            } else {
                "This share needs no passphrase.".to_owned()
            },
            None,
        ),
        (
            "Far from the others? The operator sends you a request; answer it with the command \
             below and send back only c.txt:"
                .to_owned(),
            Some("breakglass contribute REQUEST --share <photo of this page> --out c.txt".to_owned()),
        ),
        (
            "Scheduled drill (every quarter): check your share alone; it reveals nothing:"
                .to_owned(),
            Some(format!("breakglass verify-share {file} --share <photo of this page>")),
        ),
    ];
    let mut y = y0 + 14.0;
    p.text(&p.f.sans_bold, 14.0, M, y, "In an emergency");
    y += 19.0;
    for (i, (prose, command)) in steps.iter().enumerate() {
        p.text(&p.f.sans_bold, 11.5, M, y, &format!("{}.", i + 1));
        y = p.para(
            &p.f.sans,
            11.5,
            M + 18.0,
            y,
            w - 2.0 * M - 18.0,
            14.5,
            prose,
        );
        if let Some(c) = command {
            p.text(&p.f.mono_bold, 10.0, M + 30.0, y, c);
            y += 14.5;
        }
        y += 3.0;
    }
    y
}

/// Page 2: who, how to type, the custody log, and the typed share in the
/// lower half (behind the steps when printed on both sides, away from the
/// QR code).
fn back(p: &mut Pen<'_, '_>, e: &Envelope<'_>, (w, h): (f32, f32)) {
    let width = w - 2.0 * M;
    let mut y = M + 16.0;
    p.text(&p.f.sans_bold, 15.0, M, y, "Page 2: your share, typed out");
    y += 16.0;
    y = p.para(
        &p.f.sans,
        10.5,
        M,
        y,
        width,
        13.0,
        &format!(
            "{}'s share {} of vault '{}' (fingerprint {}), generation {}, printed {}. Use it only \
             if the QR code on page 1 cannot be read.",
            e.custodian, e.index, e.vault_name, e.fingerprint, e.generation, e.date
        ),
    );
    y += 8.0;
    let how = [
        "Run the unseal command of page 1 without --share: it asks for each share. Type the \
         lines of the box below, one by one, each with its number and its last two symbols.",
        "Case and spaces do not matter; O counts as 0, I and L as 1. A mistyped line is named \
         at once: look at that line again and retype it.",
        "Typing takes about 4 minutes. You can also type the path of a photo of page 1 instead.",
    ];
    for line in how {
        p.text(&p.f.sans_bold, 10.5, M, y, "•");
        y = p.para(&p.f.sans, 10.5, M + 12.0, y, width - 12.0, 13.0, line) + 3.0;
    }
    custody_log(p, M, y + 12.0, width);

    let lines: Vec<&str> = e
        .share_text
        .lines()
        .filter(|l| {
            l.starts_with("BREAKGLASS SHARE")
                || l.starts_with("END BREAKGLASS")
                || l.split_once(':')
                    .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    let (size, leading) = (14.0, 19.0);
    let box_h = 36.0 + leading * lines.len() as f32;
    let box_w = 22.0
        + lines
            .iter()
            .map(|l| p.f.mono.width(l, size))
            .fold(300.0, f32::max);
    let y0 = h - M - box_h;
    p.frame(M, y0, box_w, box_h, 1.2);
    p.text(
        &p.f.sans_bold,
        11.0,
        M + 11.0,
        y0 + 17.0,
        "Your share, typed",
    );
    let mut y = y0 + 40.0;
    for line in &lines {
        p.text(&p.f.mono, size, M + 11.0, y, line);
        y += leading;
    }
}

/// Who sealed and opened the envelope, when.
fn custody_log(p: &mut Pen<'_, '_>, x: f32, y0: f32, width: f32) {
    let mut y = y0;
    p.text(&p.f.sans_bold, 11.0, x, y, "Custody log");
    p.text(
        &p.f.sans,
        9.0,
        x + 80.0,
        y,
        "Each time this page is sealed in a new envelope or opened (drill, emergency):",
    );
    y += 16.0;
    for (label, dx) in [
        ("Sealed / opened by", 0.0),
        ("Why", 0.36),
        ("Date", 0.66),
        ("Signature", 0.8),
    ] {
        p.text(&p.f.sans, 8.5, x + dx * width, y, label);
    }
    for _ in 0..5 {
        y += 20.0;
        p.rect(x, y, width * 0.34, 0.6);
        p.rect(x + width * 0.36, y, width * 0.28, 0.6);
        p.rect(x + width * 0.66, y, width * 0.12, 0.6);
        p.rect(x + width * 0.8, y, width * 0.2, 0.6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_pdf_per_paper_size() {
        let text = "BREAKGLASS SHARE v1\n01: 0000 0000 0000 0000  00\nEND BREAKGLASS SHARE\n";
        let names = ["alice".to_owned(), "bob".to_owned(), "carol".to_owned()];
        let e = Envelope {
            vault_name: "T",
            fingerprint: "0000",
            vault_file: "v.bg",
            custodian: "alice",
            index: 1,
            threshold: 2,
            custodians: &names,
            generation: 1,
            generation_date: "2026-11-24",
            date: "2026-11-24",
            protected: true,
            share_text: text,
            qr: (text, Mode::Byte),
            contact: None,
            place: Some("safe 2, IT office"),
        };
        for paper in [Paper::A4, Paper::Letter] {
            let out = render(std::slice::from_ref(&e), paper).unwrap();
            assert!(out.pdf.starts_with(b"%PDF-"));
            assert_eq!(out.qr[0].1, "H");
        }
    }
}
