//! Paper, end to end with ordinary tools: every envelope is rendered with
//! pdftoppm, its QR code decoded with zbarimg, and the decoded text unseals
//! the vault. Needs poppler-utils and zbar-tools (`.ci/run` installs them).

mod common;

use std::process::Command;

use common::{passphrase, stdout, Env};
use predicates::prelude::*;

fn tool(name: &str) -> Command {
    assert!(
        Command::new("which").arg(name).output().is_ok_and(|o| o.status.success()),
        "{name} is needed for the paper tests (Debian: poppler-utils, zbar-tools; .ci/run installs them)"
    );
    Command::new(name)
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
    let out = env
        .run(
            &[
                "envelope",
                "v.bg",
                "--all",
                "--share-dir",
                "shares",
                "--out-dir",
                "pdf",
                "--json",
            ],
            "",
        )
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for e in report["envelopes"].as_array().unwrap() {
        assert!(e["bytes"].as_u64().unwrap() < 200_000, "{e}");
        assert!(["H", "Q", "M"].contains(&e["qr_level"].as_str().unwrap()));
    }
    for who in ["alice", "bob", "carol"] {
        let decoded = scan(&env, &format!("pdf/{who}.pdf"), 150);
        assert_eq!(
            decoded.trim_end(),
            env.read(&format!("shares/{who}.share")).trim_end(),
            "{who}"
        );
        env.write(&format!("{who}.scanned"), decoded);
    }
    env.run(
        &[
            "unseal",
            "v.bg",
            "--share",
            "carol.scanned",
            "--share",
            "alice.scanned",
        ],
        format!("{}\n{}\n", passphrase("carol"), passphrase("alice")),
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
        env.run(
            &[
                "envelope",
                "v.bg",
                "--share",
                "shares/bob.share",
                "--out",
                &pdf,
                "--paper",
                paper,
            ],
            "",
        )
        .success();
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
            env.read("shares/bob.share").trim_end()
        );
        let text = tool("pdftotext")
            .current_dir(env.dir.path())
            .args([&pdf, "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        assert!(text.contains("NOT protected by a passphrase"), "{text}");
        assert!(text.contains("any 2 of 2 unseal"));
    }
    env.run(
        &[
            "envelope",
            "v.bg",
            "--share",
            "shares/bob.share",
            "--out",
            "bob-a4.pdf",
        ],
        "",
    )
    .code(2)
    .stderr(predicate::str::contains("already exists"));
    let other = Env::new();
    other.init(2, &["x", "y"], true);
    std::fs::copy(other.path("shares/x.share"), env.path("x.share")).unwrap();
    env.run(
        &["envelope", "v.bg", "--share", "x.share", "--out", "x.pdf"],
        "",
    )
    .code(2)
    .stderr(predicate::str::contains("belongs to another vault"));
}
