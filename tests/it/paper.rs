//! Paper, end to end with ordinary tools: every envelope is rendered with
//! pdftoppm, its QR code decoded with zbarimg, and the decoded text unseals
//! the vault. Needs poppler-utils and zbar-tools (`scripts/test.sh` installs them).

use std::process::Command;

use crate::util::{envelope_all_args, json, pass_lines, unseal_args, Env};
use predicates::prelude::*;

fn tool(name: &str) -> Command {
    assert!(
        Command::new("which").arg(name).output().is_ok_and(|o| o.status.success()),
        "{name} is needed for the paper tests (Debian: poppler-utils, zbar-tools; scripts/test.sh installs them)"
    );
    Command::new(name)
}

/// Arguments `envelope v.bg --share SHARE --out PDF`.
fn envelope_args<'a>(share: &'a str, pdf: &'a str) -> Vec<&'a str> {
    vec!["envelope", "v.bg", "--share", share, "--out", pdf]
}

/// Renders page 1 of `pdf` at `dpi` and decodes its QR code with zbarimg.
fn scan(env: &Env, pdf: &str, dpi: u32) -> String {
    let stem = format!("{pdf}-{dpi}");
    let ok = tool("pdftoppm")
        .current_dir(env.dir.path())
        .args(["-r", &dpi.to_string(), "-png", "-singlefile", pdf, &stem])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = tool("zbarimg")
        .current_dir(env.dir.path())
        .args(["--raw", "-q", &format!("{stem}.png")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {pdf} at {dpi} dpi"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_envelope_scans_back_to_a_share_that_unseals() {
    let env = Env::new();
    env.init(2, &["alice", "bob", "carol"], false);
    env.seal("entra-ba1", "paper-secret");
    let mut args = envelope_all_args("pdf");
    args.push("--json");
    let out = env.run(&args, "").success();
    let report = json(&out);
    for e in report["envelopes"].as_array().unwrap() {
        assert!(e["bytes"].as_u64().unwrap() < 200_000, "{e}");
        assert!(["H", "Q", "M"].contains(&e["qr_level"].as_str().unwrap()));
    }
    for who in ["alice", "bob", "carol"] {
        let decoded = scan(&env, &format!("pdf/{who}.pdf"), 150);
        assert_eq!(
            decoded.trim_end(),
            compact(&env.read(&format!("shares/{who}.share"))),
            "{who}"
        );
        env.write(&format!("{who}.scanned"), decoded);
    }
    env.run(
        &[
            unseal_args("v.bg", &["carol.scanned", "alice.scanned"]),
            vec!["--all"],
        ]
        .concat(),
        pass_lines(&["carol", "alice"]),
    )
    .success()
    .stdout(predicate::str::contains("paper-secret"));
}

#[test]
fn letter_and_a4_pages_and_plain_shares() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for (paper, size) in [
        ("a4", "595.28 x 841.89 pts (A4)"),
        ("letter", "612 x 792 pts (letter)"),
    ] {
        let pdf = format!("bob-{paper}.pdf");
        let mut args = envelope_args("shares/bob.share", &pdf);
        args.extend(["--paper", paper]);
        env.run(&args, "").success();
        let info = tool("pdfinfo")
            .current_dir(env.dir.path())
            .arg(&pdf)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&info.stdout).contains(size),
            "{paper}"
        );
        let fonts = tool("pdffonts")
            .current_dir(env.dir.path())
            .arg(&pdf)
            .output()
            .unwrap();
        let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
        assert!(
            fonts.contains("DejaVuSansMono")
                && fonts.lines().skip(2).all(|l| l.contains(" yes yes ")),
            "fonts not embedded: {fonts}"
        );
        assert_eq!(
            scan(&env, &pdf, 150).trim_end(),
            compact(&env.read("shares/bob.share"))
        );
        let text = tool("pdftotext")
            .current_dir(env.dir.path())
            .args([&pdf, "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains("No passphrase: whoever holds this page holds the share"),
            "{text}"
        );
        assert!(text.contains("any 2 of the 2 custodians"), "{text}");
        assert!(
            fonts.contains("DejaVuSans-Bold") && fonts.contains("DejaVuSans "),
            "{fonts}"
        );
    }
    env.run(&envelope_args("shares/bob.share", "bob-a4.pdf"), "")
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    env.foreign_share(["x", "y"], "x.share");
    env.run(&envelope_args("x.share", "x.pdf"), "")
        .code(2)
        .stderr(predicate::str::contains("belongs to another vault"));
}

/// The envelope a custodian follows alone: what to do and not do, who
/// else holds a share, whom to call and where things are (given as flags,
/// or kept in a version 2 vault's genesis), which generation it is; the
/// QR code on page 1 and the typed share on page 2; unseal by --entry with
/// a reason, never reveal-all.
#[test]
fn an_envelope_says_who_whom_to_call_where_and_which_generation() {
    let env = Env::new();
    env.init(3, &["alice", "bob", "carol", "dave", "erin"], true);
    let mut args = envelope_args("shares/carol.share", "carol.pdf");
    args.extend([
        "--contact",
        "Maria Lopez +49 30 1234",
        "--where",
        "safe 2, room 4.12",
    ]);
    env.run(&args, "").success();
    let text = tool("pdftotext")
        .current_dir(env.dir.path())
        .args(["carol.pdf", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 2, "{text}");
    for want in [
        "DO NOT OPEN except in an emergency or a scheduled drill",
        "any 3 of the 5 custodians",
        "alice, bob, dave, erin",
        "Maria Lopez +49 30 1234",
        "safe 2, room 4.12",
        "Replaces envelopes printed before 20",
        "Generation 1",
        "breakglass unseal v.bg --entry NAME --reason",
    ] {
        let page = pages[0].split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(page.contains(want), "page 1 lacks {want:?}:\n{page}");
    }
    assert!(!pages[0].contains("01: "), "typed share on page 1");
    let share = env.read("shares/carol.share");
    let page = pages[1].split_whitespace().collect::<Vec<_>>().join(" ");
    for line in share.lines().filter(|l| l.get(2..4) == Some(": ")) {
        // pdftotext lists the check codes as a column of their own.
        let words: Vec<&str> = line.split_whitespace().collect();
        let line = words[..words.len() - 1].join(" ");
        assert!(page.contains(&line), "page 2 lacks {line:?}:\n{page}");
    }
    // Page 1's QR code is the share, in its compact form.
    assert_eq!(
        scan(&env, "carol.pdf", 150).trim_end(),
        compact(&env.read("shares/carol.share"))
    );
    // The same flags at init: checked, kept in the (format 2) genesis,
    // and printed on envelopes made later without them.
    let env2 = Env::new();
    let mut init = crate::util::init_args("v.bg", "T", "2", &["a", "b"], "s");
    init.extend(crate::util::FLOOR);
    init.extend(["--no-passphrase", "--contact", "Maria +49 30 1234"]);
    init.extend(["--where", "safe 2, room 4.12"]);
    env2.run(&init, "")
        .success()
        .stdout(predicate::str::contains(
            "breakglass envelope 'v.bg' --all --share-dir 's' --out-dir envelopes",
        ));
    env2.run(&envelope_args("s/a.share", "a.pdf"), "").success();
    let text = tool("pdftotext")
        .current_dir(env2.dir.path())
        .args(["a.pdf", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for want in ["Maria +49 30 1234", "safe 2, room 4.12"] {
        assert!(
            text.contains(want),
            "the envelope lacks {want:?} kept in the vault:\n{text}"
        );
    }
    let mut bad = crate::util::init_args("w.bg", "T", "2", &["a", "b"], "s2");
    bad.extend(["--where", "two\nlines"]);
    env2.run(&bad, "").code(2).stderr(predicate::str::contains(
        "--where contains a control character",
    ));
}

// ---------------------------------------------------------------- pictures

use image::{GrayImage, Luma};

/// Rotates by `degrees` about the centre (nearest neighbour, white fill).
fn rotate(img: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([255])
        }
    })
}

/// Flips `percent` % of pixels to random grey levels (reproducible).
fn noise(img: &GrayImage, percent: u64) -> GrayImage {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut out = img.clone();
    for p in out.pixels_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state % 100 < percent {
            p.0[0] = (state >> 24) as u8;
        }
    }
    out
}

fn degraded(env: &Env, name: &str, img: &image::DynamicImage) -> String {
    let path = env.path(name);
    img.save(&path).unwrap();
    name.to_owned()
}

#[test]
fn degraded_scans_and_photos_of_an_envelope_still_give_the_share() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], false);
    env.seal("x", "picture-secret");
    env.run(&envelope_args("shares/alice.share", "alice.pdf"), "")
        .success();
    assert!(tool("pdftoppm")
        .current_dir(env.dir.path())
        .args([
            "-r",
            "150",
            "-gray",
            "-png",
            "-singlefile",
            "alice.pdf",
            "scan"
        ])
        .status()
        .unwrap()
        .success());
    let scan = image::open(env.path("scan.png")).unwrap().to_luma8();
    let (w, h) = scan.dimensions();
    let cases: Vec<(&str, image::DynamicImage)> = vec![
        ("rotated-4.png", rotate(&scan, 4.0).into()),
        ("rotated-minus-3.png", rotate(&scan, -3.0).into()),
        (
            "upscaled.png",
            image::imageops::resize(
                &scan,
                w * 3 / 2,
                h * 3 / 2,
                image::imageops::FilterType::Triangle,
            )
            .into(),
        ),
        ("noisy.png", noise(&scan, 3).into()),
        ("blurred.png", image::imageops::blur(&scan, 0.8).into()),
        (
            "photo.jpg",
            image::DynamicImage::from(rotate(&noise(&scan, 2), 2.5))
                .to_rgb8()
                .into(),
        ),
    ];
    for (name, img) in &cases {
        let file = degraded(&env, name, img);
        env.run(
            &["verify-share", "v.bg", "--share", &file],
            pass_lines(&["alice"]),
        )
        .success()
        .stdout(predicate::str::contains("Share OK: alice"));
    }
    env.run(
        &[
            unseal_args("v.bg", &["photo.jpg", "shares/bob.share"]),
            vec!["--all"],
        ]
        .concat(),
        pass_lines(&["alice", "bob"]),
    )
    .success()
    .stdout(predicate::str::contains("picture-secret"));
    // A picture with no QR code says so.
    let blank = GrayImage::from_pixel(300, 300, Luma([255]));
    blank.save(env.path("blank.png")).unwrap();
    env.run(&["verify-share", "v.bg", "--share", "blank.png"], "")
        .code(2)
        .stderr(predicate::str::contains(
            "share blank.png: no QR code could be read in this picture",
        ));
}

// ---------------------------------------------------------------- the whole vault on paper

/// The size, in points, of every typed part line in `pdf` (pdftotext's
/// word boxes of the four-symbol groups below the page header), smallest
/// first.
fn typed_sizes(env: &Env, pdf: &str) -> Vec<f32> {
    let out = tool("pdftotext")
        .current_dir(env.dir.path())
        .args(["-bbox", pdf, "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut sizes: Vec<f32> = text
        .lines()
        .filter(|l| l.contains("<word"))
        .filter_map(|l| {
            let attr = |name: &str| -> Option<f32> {
                let at = l.find(&format!("{name}=\""))? + name.len() + 2;
                l[at..].split('"').next()?.parse().ok()
            };
            let word = l.split('>').nth(1)?.split('<').next()?;
            let group = word.len() == 4
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            // Below the header (whose byte count is four digits too).
            let below = attr("yMin")? > 120.0;
            (group && below).then(|| attr("yMax").zip(attr("yMin")).map(|(a, b)| a - b))?
        })
        .collect();
    sizes.sort_by(f32::total_cmp);
    sizes
}

/// `backup --large-type`: one part a page, its typed lines at 10 pt or
/// more (the dense default sets them at about 7.5 pt, two parts a page),
/// and the pages still scan back to the same file.
#[test]
fn a_large_type_backup_sets_its_typed_parts_at_ten_points() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for i in 0..12 {
        env.seal(&format!("entry-{i}"), &format!("backed-up-secret-{i}"));
    }
    let len = std::fs::read(env.path("v.bg")).unwrap().len();
    let parts = len.div_ceil(1000);
    env.run(&["backup", "v.bg", "--out", "dense.pdf"], "")
        .success();
    env.run(
        &["backup", "v.bg", "--out", "large.pdf", "--large-type"],
        "",
    )
    .success()
    .stdout(predicate::str::contains(format!(
        "large.pdf: {parts} pages; {len} bytes of vault in {parts} parts"
    )));
    let dense = typed_sizes(&env, "dense.pdf");
    let large = typed_sizes(&env, "large.pdf");
    assert!(dense[0] >= 7.0, "dense typed text at {} pt", dense[0]);
    assert!(large[0] >= 10.0, "large typed text at {} pt", large[0]);
    assert!(tool("pdftoppm")
        .current_dir(env.dir.path())
        .args(["-r", "150", "-png", "large.pdf", "large"])
        .status()
        .unwrap()
        .success());
    let pages: Vec<String> = (1..=parts).map(|n| format!("large-{n}.png")).collect();
    let mut args = vec!["restore", "r.bg", "--from"];
    args.extend(pages.iter().map(String::as_str));
    env.run(&args, "").success();
    assert_eq!(
        std::fs::read(env.path("r.bg")).unwrap(),
        std::fs::read(env.path("v.bg")).unwrap()
    );
}

#[test]
fn backup_pages_scan_back_to_the_same_vault_in_any_order() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for i in 0..30 {
        env.seal(&format!("entry-{i}"), &format!("backed-up-secret-{i}"));
    }
    // Two parts of 1,000 bytes a page: at least 2,000 bytes on every full
    // page; the page count up front.
    let len = std::fs::read(env.path("v.bg")).unwrap().len();
    let (parts, pages) = (len.div_ceil(1000), len.div_ceil(2000));
    assert!(pages >= 3, "{len}");
    env.run(&["backup", "v.bg", "--out", "backup.pdf"], "")
        .success()
        .stdout(predicate::str::contains(format!(
            "backup.pdf: {pages} pages; {len} bytes of vault in {parts} parts"
        )));
    let text = tool("pdftotext")
        .current_dir(env.dir.path())
        .args(["backup.pdf", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        format!("Paper backup of vault 'Test vault': page 1 of {pages}"),
        format!("{len} bytes in {parts} parts on {pages} pages"),
        "needs any 2 of the 2 custodians' shares".to_owned(),
        "generation 1".to_owned(),
        "Part: 2 of".to_owned(),
    ] {
        assert!(text.contains(&want), "{want:?} not in {text}");
    }
    assert!(!text.contains("needs k shares"));
    assert!(tool("pdftoppm")
        .current_dir(env.dir.path())
        .args(["-r", "150", "-png", "backup.pdf", "page"])
        .status()
        .unwrap()
        .success());
    let mut pages: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("page") && n.ends_with(".png"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 3, "{pages:?}");
    pages.reverse(); // any order
    let mut args = vec!["restore", "restored.bg"];
    for p in &pages {
        args.extend(["--from", p.as_str()]);
    }
    env.run(&args, "")
        .success()
        .stdout(predicate::str::contains("byte for byte"));
    assert_eq!(
        std::fs::read(env.path("restored.bg")).unwrap(),
        std::fs::read(env.path("v.bg")).unwrap()
    );
    // The restored vault opens with the shares.
    let mut args = unseal_args("restored.bg", &["shares/alice.share", "shares/bob.share"]);
    args.extend(["--entry", "entry-5"]);
    env.run(&args, "")
        .success()
        .stdout(predicate::str::contains("backed-up-secret-5"));
    // The same pages decoded by zbarimg (an ordinary QR reader) restore too.
    let mut args = vec!["restore".to_owned(), "from-zbar.bg".to_owned()];
    for p in &pages {
        let out = tool("zbarimg")
            .current_dir(env.dir.path())
            .args(["--raw", "-q", p])
            .output()
            .unwrap();
        assert!(out.status.success(), "zbarimg could not read {p}");
        let name = format!("{p}.txt");
        env.write(&name, &out.stdout);
        args.extend(["--from".to_owned(), name]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args, "").success();
    assert_eq!(
        std::fs::read(env.path("from-zbar.bg")).unwrap(),
        std::fs::read(env.path("v.bg")).unwrap()
    );
    // A page missing: the missing parts are named, nothing is written.
    let mut args = vec!["restore", "partial.bg"];
    for p in &pages[1..] {
        args.extend(["--from", p.as_str()]);
    }
    env.run(&args, "")
        .code(2)
        .stderr(predicate::str::contains(format!(
            " of {parts}: scan or type"
        )));
    assert!(!env.path("partial.bg").exists());
}

#[test]
fn typed_backup_parts_restore_and_typos_are_named() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for i in 0..8 {
        env.seal(&format!("x{i}"), "typed-backup");
    }
    let bytes = std::fs::read(env.path("v.bg")).unwrap();
    let vault = vault_core::vault::Vault::replay(&vault_core::log::parse(&bytes).unwrap()).unwrap();
    let parts = vault_core::backup::split(&bytes, vault.id());
    // Typed in lower case, one file per part, in reverse order.
    for (i, p) in parts.iter().enumerate().rev() {
        env.write(&format!("part{i}.txt"), p.to_lowercase());
    }
    let mut args = vec!["restore".to_owned(), "typed.bg".to_owned()];
    for i in (0..parts.len()).rev() {
        args.extend(["--from".to_owned(), format!("part{i}.txt")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args, "").success();
    assert_eq!(std::fs::read(env.path("typed.bg")).unwrap(), bytes);
    // A typo in part 2, line 3.
    let line = parts[1].lines().find(|l| l.starts_with("03: ")).unwrap();
    let mut typo = line.as_bytes().to_vec();
    typo[5] = if typo[5] == b'Z' { b'Y' } else { b'Z' };
    env.write(
        "part1.txt",
        parts[1].replace(line, std::str::from_utf8(&typo).unwrap()),
    );
    let mut args2: Vec<&str> = args.clone();
    args2[1] = "typo.bg";
    env.run(&args2, "")
        .code(2)
        .stderr(predicate::str::contains(
            "part1.txt: part 2: line 3: check code does not match",
        ))
        .stderr(predicate::str::contains("missing part 2"));
}

/// The compact form the envelope's QR code holds (FORMAT.md §6).
fn compact(share_text: &str) -> String {
    vault_core::share_text::compact_text(share_text)
        .expect("a share text")
        .to_string()
}
