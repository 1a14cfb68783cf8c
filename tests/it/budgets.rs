//! Input budgets ("Hostile inputs, round two"; docs/HARDENING.md,
//! "Budgets"): each hostile input of the report, made here, run through
//! the real binary, with its cost printed (`--nocapture` shows the
//! figures) and held to its budget.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use vault_core::passphrase::KdfParams;
use vault_core::share::Protection;
use vault_core::share_text::{self, ShareHeader};

use crate::util::{envelope_all_args, init_args, load, pass_lines, spawn_piped, BIN, FLOOR};

/// The per-command memory budget.
const BUDGET_MIB: u64 = 256;
/// What one whole-vault command may take at 1,000,000 entries, held here
/// by extrapolation from 5k and 50k. The state is a compact entry table,
/// ≈75–95 bytes an entry for these small entries (≈105 for a FileVault
/// import); issue 14's 128 MiB at 1M is met and measured by `bench/run.sh`
/// (docs/PERFORMANCE.md: 113–124 MiB). The extrapolation moves ±10 MiB
/// from run to run (a MiB of noise in a 4 MiB growth), so the guard is
/// 160 MiB: it fails a return to the 195 MiB of the table before
/// (2026-12-01), not the noise. It was ≈750 bytes an entry (a map of
/// Strings and Vecs) and, before streaming, ≈2 KiB.
const MILLION_MIB: f64 = 160.0;

/// One run of the binary, with what it cost.
struct Run {
    out: Output,
    secs: f64,
    /// Peak resident memory of the command, from `/usr/bin/time` when the
    /// machine has it.
    peak_mib: Option<f64>,
    /// CPU seconds (user + system) the command spent, from `/usr/bin/time`:
    /// what an input can make us spend, whatever else the machine is doing
    /// (the tests run in parallel on two cores).
    cpu_secs: Option<f64>,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Checks the exit code and that stderr says each of `says`; `what`
    /// names the case in a failure.
    fn exited(&self, code: i32, says: &[&str], what: &str) -> &Self {
        let err = self.stderr();
        assert_eq!(self.code(), Some(code), "{what} stderr: {err}");
        for s in says {
            assert!(err.contains(s), "{what} stderr: {err}");
        }
        self
    }

    /// Prints the figure and checks the budget.
    fn within(&self, what: &str, max_secs: f64, max_mib: u64) -> &Self {
        let peak = self
            .peak_mib
            .map_or_else(|| "? MiB".to_owned(), |m| format!("{m:.0} MiB"));
        let cpu = self
            .cpu_secs
            .map_or_else(|| "? s".to_owned(), |c| format!("{c:.2} s"));
        println!(
            "budget: {what}: {:.2} s wall, {cpu} CPU, peak {peak} (budget {max_secs} s, {max_mib} MiB); exit {:?}",
            self.secs,
            self.code()
        );
        // CPU time where it can be measured: wall time on a loaded machine
        // says more about the other tests than about this input.
        let spent = self.cpu_secs.unwrap_or(self.secs);
        assert!(
            spent <= max_secs,
            "{what}: {spent:.1} s is over {max_secs} s; stderr: {}",
            self.stderr()
        );
        if let Some(m) = self.peak_mib {
            assert!(
                m <= max_mib as f64,
                "{what}: peak {m:.0} MiB is over {max_mib} MiB"
            );
        }
        self
    }
}

/// `breakglass ARGS` in `dir` with `stdin`, timed and measured.
fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    use std::io::Write;
    let time = Path::new("/usr/bin/time");
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-o")
            .arg(report.path())
            .args(["-f", "%M %U %S"])
            .arg(BIN);
        c
    } else {
        Command::new(BIN)
    };
    let start = Instant::now();
    let mut child = spawn_piped(cmd.current_dir(dir).args(args));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    let secs = start.elapsed().as_secs_f64();
    feeder.join().unwrap();
    // `/usr/bin/time -f "%M %U %S"`: peak KiB, user and system seconds.
    let figures: Vec<f64> = std::fs::read_to_string(report.path())
        .ok()
        .and_then(|s| Some(s.lines().last()?.to_owned()))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let (peak_mib, cpu_secs) = match figures[..] {
        [kib, user, system] => (Some(kib / 1024.0), Some(user + system)),
        _ => (None, None),
    };
    Run {
        out,
        secs,
        peak_mib,
        cpu_secs,
    }
}

/// Every file under `dir`, as paths relative to it.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                todo.push(p.clone());
            }
            out.insert(p.strip_prefix(dir).unwrap().to_owned());
        }
    }
    out
}

/// A vault `v.bg` in `dir` with these custodians (2 of n), shares in
/// `dir/shares`; passphrases `<name>-passphrase` unless `plain`.
fn init(dir: &Path, names: &[&str], plain: bool) {
    let mut args = init_args("v.bg", "Budget vault", "2", names, "shares");
    args.extend(FLOOR);
    if plain {
        args.push("--no-passphrase");
    }
    let r = run(dir, &args, pass_lines(names).as_bytes());
    r.exited(0, &[], "init:");
}

// ---------------------------------------------------------------- Argon2

/// `init` refuses costs above the ceiling, naming it, before anyone types
/// a passphrase; it reaches the ceiling itself when asked.
#[test]
fn init_refuses_argon2_above_the_ceiling_and_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "init",
        "v.bg",
        "--name",
        "V",
        "--threshold",
        "2",
        "--custodian",
        "alice",
        "--custodian",
        "bob",
        "--share-dir",
        "shares",
    ];
    for flags in [
        &["--argon2-memory", "256"][..],
        &["--argon2-memory", "4096"],
        &["--argon2-time", "64", "--argon2-parallelism", "64"],
        &["--argon2-memory", "192", "--argon2-time", "5"],
        &["--argon2-parallelism", "17"],
    ] {
        let args: Vec<&str> = base.iter().chain(flags).copied().collect();
        let r = run(dir.path(), &args, b"");
        let ceiling = "is above the ceiling: at most 192 MiB of memory";
        r.exited(2, &[ceiling], &format!("{flags:?}:"));
        assert!(!dir.path().join("v.bg").exists());
    }
    // The ceiling itself, deliberately: two shares at 192 MiB × 4 passes.
    let args: Vec<&str> = base
        .iter()
        .chain(&[
            "--argon2-memory",
            "192",
            "--argon2-time",
            "4",
            "--argon2-parallelism",
            "4",
        ])
        .copied()
        .collect();
    let r = run(dir.path(), &args, b"alice-passphrase\nbob-passphrase\n");
    r.exited(0, &[], "")
        .within("init at the Argon2 ceiling (2 shares)", 30.0, BUDGET_MIB);
    let r = run(
        dir.path(),
        &["verify-share", "v.bg", "--share", "shares/alice.share"],
        b"alice-passphrase\n",
    );
    r.exited(0, &[], "")
        .within("verify-share at the Argon2 ceiling", 15.0, BUDGET_MIB);
}

/// A share declaring Argon2 costs above the ceiling (the report's m = 4 GiB,
/// and t = 64, p = 64) is refused before any Argon2 runs, naming the
/// custodian: in milliseconds and a few MiB, not 24 s and 4.2 GB.
#[test]
fn forged_argon2_costs_in_a_share_are_refused_before_hashing() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), &["alice", "bob"], false);
    let vault = load(&std::fs::read(dir.path().join("v.bg")).unwrap());
    let text = std::fs::read_to_string(dir.path().join("shares/alice.share")).unwrap();
    for (name, params) in [
        (
            "m=4GiB",
            KdfParams {
                m_kib: 4 * 1024 * 1024,
                t: 3,
                p: 4,
            },
        ),
        (
            "t=64,p=64",
            KdfParams {
                m_kib: 64 * 1024,
                t: 64,
                p: 64,
            },
        ),
    ] {
        let mut body = share_text::decode(&text).unwrap();
        let Protection::Passphrase(w) = &mut body.protection else {
            panic!("alice's share is protected")
        };
        w.params = params;
        let forged = share_text::encode(
            &body,
            &ShareHeader {
                vault_name: vault.name(),
                fingerprint: &vault.id().fingerprint(),
                custodian: "alice",
            },
        );
        let file = format!("forged-{name}.share");
        std::fs::write(dir.path().join(&file), forged.as_bytes()).unwrap();
        let r = run(
            dir.path(),
            &["verify-share", "v.bg", "--share", &file],
            b"alice-passphrase\n",
        );
        r.exited(2, &["custodian alice", "is above the ceiling"], "")
            .within(
                &format!("verify-share of a share declaring {name}"),
                5.0,
                64,
            );
    }
}

// ---------------------------------------------------------------- restore

/// `restore` is linear in its input: 16,384 parts (a 4,096-part backup
/// given four times) are read in seconds; before, 16k parts took 29.5 s and
/// the time quadrupled with each doubling. The blob is not a vault, so the
/// restore ends with exit 4 after assembling it — what is timed is the
/// reading. The structural check (bytes searched per part) is the unit test
/// `backup::tests::reading_parts_searches_each_byte_a_bounded_number_of_times`.
#[test]
fn restore_of_16k_parts_is_linear() {
    let dir = tempfile::tempdir().unwrap();
    let id = vault_core::VaultId([7; 16]);
    let blob: Vec<u8> = (0..150 * vault_core::backup::MAX_PARTS)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    // Parts of 150 bytes (as backups were first printed): the most parts.
    let parts: Vec<String> = vault_core::backup::split_in(&blob, &id, 150)
        .into_iter()
        .map(|p| p.text)
        .collect();
    assert_eq!(parts.len(), 4096);
    let mut figures = Vec::new();
    for copies in [1usize, 4] {
        let text: String = (0..copies)
            .flat_map(|_| parts.iter().map(String::as_str))
            .collect();
        std::fs::write(dir.path().join("parts.txt"), &text).unwrap();
        let r = run(
            dir.path(),
            &["restore", "out.bg", "--from", "parts.txt"],
            b"",
        );
        r.exited(4, &["the restored file is not a valid vault"], "")
            .within(
                &format!(
                    "restore of {} parts ({} MB of text)",
                    4096 * copies,
                    text.len() / 1_000_000
                ),
                60.0,
                BUDGET_MIB,
            );
        figures.push(r.secs);
    }
    // Four times the input: linear is about 4×, quadratic 16×. Generous,
    // as the machine is shared.
    println!(
        "budget: restore 16k/4k parts time ratio {:.1}",
        figures[1] / figures[0]
    );
    assert!(
        figures[1] / figures[0] < 10.0,
        "16k parts took {:.1} s, 4k {:.1} s",
        figures[1],
        figures[0]
    );
}

// ---------------------------------------------------------------- names

/// Rewrites the genesis record of `path` with these custodian names and
/// signs it again with the master key of the plain shares in `shares`: a
/// forger holding a quorum (format 2 signs genesis, so no one else can).
fn rename_custodians(path: &Path, shares: &[PathBuf], names: &[&str]) {
    let bytes = std::fs::read(path).unwrap();
    let shares: Vec<&Path> = shares.iter().map(PathBuf::as_path).collect();
    let mk = crate::util::master_key(&bytes, &shares);
    let out = crate::util::resigned(&bytes, &mk, |genesis| {
        for (c, n) in genesis.custodians.iter_mut().zip(names) {
            c.name = (*n).to_owned();
        }
    });
    std::fs::write(path, out).unwrap();
}

/// The share files `init` wrote in `dir` for `names`.
fn share_files(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| dir.join("shares").join(format!("{n}.share")))
        .collect()
}

/// Re-issues plain format-2 shares for the vault now in `vault` (its
/// fingerprint changed with the names), as the forger would.
fn restamp_plain_shares(vault: &Path, dir: &Path, names: &[&str]) {
    use vault_core::share::ShareIdentity;
    use vault_core::share_text::{self, ShareHeader};
    let v = crate::util::load(&std::fs::read(vault).unwrap());
    for name in names {
        let path = dir.join(format!("{name}.share"));
        let mut body = share_text::decode(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let generation = body.identity.generation().unwrap();
        body.identity = ShareIdentity::v2(v.id(), generation, &v.fingerprint());
        let header = ShareHeader {
            vault_name: v.name(),
            fingerprint: &v.fingerprint().short(),
            custodian: name,
        };
        std::fs::write(&path, share_text::encode(&body, &header).as_bytes()).unwrap();
    }
}

/// `envelope --all` makes file names from the custodian names in the
/// vault file: hostile names (`../evil`, `/tmp/abs`, `a/b`, `..`) are
/// sanitised, so every share is read from inside `--share-dir` and every
/// envelope written inside `--out-dir`, even with `--force`; before, the
/// share of `../evil` was read from beside the share directory and its
/// envelope written beside the output directory.
#[test]
fn envelope_all_keeps_hostile_custodian_names_inside_the_named_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let honest = ["alice", "bob", "carol", "dave"];
    init(&work, &honest, true);
    let abs = format!("{}/abs", tmp.path().display());
    let hostile = ["../evil", abs.as_str(), "a/b", ".."];
    rename_custodians(&work.join("v.bg"), &share_files(&work, &honest), &hostile);
    restamp_plain_shares(&work.join("v.bg"), &work.join("shares"), &honest);
    // The shares, under the sanitised names inside the share directory
    // (where a custodian following the rules would put them).
    let shares = work.join("shares");
    let stems = ["_._evil", &abs.replace('/', "_"), "a_b", "_."];
    for (h, s) in honest.iter().zip(stems) {
        std::fs::rename(
            shares.join(format!("{h}.share")),
            shares.join(format!("{s}.share")),
        )
        .unwrap();
    }
    // Decoys where the unsanitised names lead, outside the directories.
    let alice = std::fs::read(shares.join("_._evil.share")).unwrap();
    std::fs::write(work.join("evil.share"), &alice).unwrap();
    std::fs::write(format!("{abs}.share"), &alice).unwrap();
    std::fs::write(work.join("evil.pdf"), b"must survive").unwrap();
    std::fs::write(format!("{abs}.pdf"), b"must survive").unwrap();
    // Opening the vault writes its lookup index beside it: let that happen
    // before the snapshot.
    assert_eq!(run(&work, &["list", "v.bg"], b"").code(), Some(0));
    let before = tree(tmp.path());

    let mut args = envelope_all_args("out");
    args.push("--force");
    let r = run(&work, &args, b"");
    r.exited(0, &[], "");
    let after = tree(tmp.path());
    let new: Vec<&PathBuf> = after.difference(&before).collect();
    let expected: BTreeSet<PathBuf> = std::iter::once(PathBuf::from("work/out"))
        .chain(
            stems
                .iter()
                .map(|s| PathBuf::from(format!("work/out/{s}.pdf"))),
        )
        .collect();
    assert_eq!(
        new.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every new file is an envelope inside --out-dir"
    );
    assert_eq!(
        std::fs::read(work.join("evil.pdf")).unwrap(),
        b"must survive"
    );
    assert_eq!(
        std::fs::read(format!("{abs}.pdf")).unwrap(),
        b"must survive"
    );
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    assert!(stdout.contains("envelope for ../evil"), "{stdout}");

    // A name with a control character never gets that far: the vault file
    // is refused as damaged, and nothing is written.
    let work2 = tmp.path().join("work2");
    std::fs::create_dir(&work2).unwrap();
    init(&work2, &honest[..2], true);
    rename_custodians(
        &work2.join("v.bg"),
        &share_files(&work2, &honest[..2]),
        &["bell\u{7}name", "x"],
    );
    let before = tree(tmp.path());
    let r = run(&work2, &envelope_all_args("out"), b"");
    r.exited(4, &["control characters"], "");
    assert_eq!(tree(tmp.path()), before);
}

/// Two hostile names that would make the same file are refused rather
/// than one envelope overwriting the other.
#[test]
fn envelope_all_refuses_names_that_collide_once_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), &["alice", "bob"], true);
    rename_custodians(
        &dir.path().join("v.bg"),
        &share_files(dir.path(), &["alice", "bob"]),
        &["a/b", "a\\b"],
    );
    let r = run(dir.path(), &envelope_all_args("out"), b"");
    r.exited(2, &["would share the file name 'a_b'"], "");
    assert!(!dir.path().join("out").exists());
}

// ---------------------------------------------------------------- pictures

/// A QR finder pattern (7 × 7 modules of `module` pixels) at (x, y).
fn finder(img: &mut image::GrayImage, x: u32, y: u32, module: u32) {
    for dy in 0..7 * module {
        for dx in 0..7 * module {
            let (mx, my) = (dx / module, dy / module);
            let ring = mx.min(my).min(6 - mx).min(6 - my);
            let v = if ring == 1 { 255 } else { 0 };
            img.put_pixel(x + dx, y + dy, image::Luma([v]));
        }
    }
}

/// A `side` × `side` picture tiled with finder patterns.
fn tiled(side: u32, module: u32) -> image::GrayImage {
    let tile = 8 * module;
    let mut img = image::GrayImage::from_pixel(side, side, image::Luma([255]));
    for ty in 0..side / tile {
        for tx in 0..side / tile {
            finder(&mut img, tx * tile, ty * tile, module);
        }
    }
    img
}

/// The pictures of the report, given as a share, a contribution's share
/// and backup pages: each is refused or searched within 10 s and 256 MiB.
/// Before: the white 12000 × 12000 PNG took 1.7 GB; the tiled 2000 × 2000
/// one 72 s; a 6000 × 6000 tiled one more than 15 minutes at 1.7 GB.
#[test]
fn hostile_pictures_stay_within_budget() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), &["alice", "bob"], true);
    let save = |name: &str, img: image::DynamicImage| {
        img.save(dir.path().join(name)).unwrap();
        let kb = std::fs::metadata(dir.path().join(name)).unwrap().len() / 1000;
        let (w, h) = (img.width(), img.height());
        println!("budget: made {name}: {w} × {h}, {kb} KB");
    };
    save(
        "white-12000.png",
        image::GrayImage::from_pixel(12_000, 12_000, image::Luma([255])).into(),
    );
    // Just under the 40-megapixel cap, in 8-bit RGBA: the largest
    // allocation a picture may make.
    save(
        "white-40mp-rgba.png",
        image::RgbaImage::from_pixel(6_320, 6_320, image::Rgba([255; 4])).into(),
    );
    save(
        "white-40mp.jpg",
        image::RgbImage::from_pixel(6_320, 6_320, image::Rgb([255; 3])).into(),
    );
    save("finders-2000.png", tiled(2_000, 2).into());
    save("finders-6000.png", tiled(6_000, 3).into());

    let cases: [(&str, &str); 5] = [
        ("white-12000.png", "at most 40 megapixels"),
        ("white-40mp-rgba.png", "no QR code could be read"),
        ("white-40mp.jpg", "no QR code could be read"),
        ("finders-2000.png", "look like QR finder patterns"),
        ("finders-6000.png", "QR"),
    ];
    for (file, says) in cases {
        let r = run(dir.path(), &["verify-share", "v.bg", "--share", file], b"");
        r.exited(2, &[says], &format!("{file}:")).within(
            &format!("verify-share --share {file}"),
            10.0,
            BUDGET_MIB,
        );
    }
    // The same path serves restore (every QR code on a page) and
    // contribute.
    for file in ["finders-2000.png", "finders-6000.png"] {
        let r = run(dir.path(), &["restore", "out.bg", "--from", file], b"");
        r.exited(2, &[], &format!("{file}:")).within(
            &format!("restore --from {file}"),
            10.0,
            BUDGET_MIB,
        );
    }
}

/// The whole-vault commands (`list`, `status`, `audit`, `audit --verify`
/// with and without shares, `drill`) on `dir/v.bg`, each timed and
/// measured; `what` names the vault in the figures.
fn whole_vault_commands(dir: &Path, what: &str, by: [&str; 2]) -> Vec<(&'static str, Run)> {
    let (one, two) = (
        format!("shares/{}.share", by[0]),
        format!("shares/{}.share", by[1]),
    );
    let shares = ["--share", one.as_str(), "--share", two.as_str()];
    // A receipt of the file as it is, kept outside it.
    let vault = vault_core::store::load(&dir.join("v.bg")).unwrap().vault;
    let receipt = vault_core::receipt::Receipt::of(&vault).to_line();
    drop(vault);
    let commands: [(&str, Vec<&str>); 7] = [
        ("list", vec!["list", "v.bg"]),
        ("status", vec!["status", "v.bg"]),
        ("audit", vec!["audit", "v.bg"]),
        ("audit --verify", vec!["audit", "v.bg", "--verify"]),
        (
            "audit --verify --share ×2",
            [&["audit", "v.bg", "--verify"][..], &shares].concat(),
        ),
        ("drill", [&["drill", "v.bg"][..], &shares].concat()),
        (
            "audit --verify --receipt",
            vec!["audit", "v.bg", "--verify", "--receipt", &receipt],
        ),
    ];
    commands
        .into_iter()
        .map(|(name, args)| {
            let r = run(dir, &args, b"");
            assert!(
                matches!(r.code(), Some(0 | 4 | 5)),
                "{what}: {name}: {}",
                r.stderr()
            );
            (name, r)
        })
        .collect()
}

#[test]
fn whole_vault_commands_stay_within_budget_on_an_amplified_vault() {
    // Issue 15: MAC-less unseal records naming 65,535 entries each, which
    // anyone who can append to a format 1 vault may write (format 2 refuses
    // an unsigned unseal at once: below). Whole-vault commands replay them
    // one frame at a time and keep none: the cost of a record is bounded by
    // the format (a u16 count in a body of at most 1 MiB) and lasts until
    // the next one. 8 MB here; the 27 MB with BREAKGLASS_AMPLIFY_MB=27.
    let env = crate::util::Env::new();
    crate::audit_amplification::v1_vault(&env);
    let mb: usize = std::env::var("BREAKGLASS_AMPLIFY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let added = crate::audit_amplification::amplify(&env.path("v.bg"), mb * 1_000_000);
    let what = format!("{added} unseal records of 65,535 entries ({mb} MB)");
    for (name, r) in whole_vault_commands(env.dir.path(), &what, ["bob", "carol"]) {
        r.within(&format!("{what}: {name}"), 120.0, BUDGET_MIB);
    }
    // A paper backup of it is refused before anything is laid out: at most
    // 500 pages (1 MB). It took more than 300 s for 27 MB.
    let r = run(env.dir.path(), &["backup", "v.bg", "--out", "b.pdf"], b"");
    r.exited(2, &["a paper backup holds at most 500 pages"], "v.bg:");
    r.within(&format!("{what}: backup"), 10.0, BUDGET_MIB);
    assert!(!env.path("b.pdf").exists());
    // A rekey checks every MAC of a format 1 file before it signs the
    // carried trail in format 2, one record at a time: these forged
    // records fail theirs, so it is refused (exit 4), within the budget,
    // and nothing is replaced.
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let r = run(env.dir.path(), &rekey_args(), b"");
    r.exited(4, &["fail their MAC", "nothing was changed"], "v.bg:");
    r.within(&format!("{what}: rekey"), 120.0, BUDGET_MIB);
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
}

/// `rekey v.bg` with alice's and bob's shares to the same two, plain.
fn rekey_args() -> Vec<&'static str> {
    let mut args = vec![
        "rekey",
        "v.bg",
        "--share",
        "shares/bob.share",
        "--share",
        "shares/carol.share",
    ];
    args.extend(crate::util::rekey_to(
        "2",
        &["alice", "bob"],
        "rekeyed",
        "budget",
    ));
    args
}

/// Appends `n` deposits (FileVault-style: label, device, a recovery key)
/// to `path` at the library level, in one write.
fn grow(path: &Path, n: usize) {
    use vault_core::entry::{EntryKind, EntrySecret};
    use vault_core::vault::{DepositMeta, Vault};
    use zeroize::Zeroizing;
    let mut bytes = std::fs::read(path).unwrap();
    let mut vault = Vault::replay(&vault_core::log::parse(&bytes).unwrap()).unwrap();
    for i in 0..n {
        let serial = format!("C02{i:08}X");
        let secret = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(
                format!(
                    "{:06}-111111-222222-333333-444444-555555-666666-777777",
                    i % 1_000_000
                )
                .into_bytes(),
            ),
        };
        let meta = DepositMeta {
            actor: "bench".into(),
            time: 1_700_000_000,
            device: Some(serial.clone()),
            ..DepositMeta::default()
        };
        let label = format!("filevault-{serial}");
        let record = vault
            .deposit(&label, EntryKind::Note, &secret, &meta)
            .unwrap();
        bytes.extend(vault.push(record).unwrap());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn whole_vault_commands_grow_by_a_few_hundred_bytes_an_entry() {
    // Issue 14 item 6: whole-vault commands hold the vault's state, never
    // its records. Measured at 5k and 50k entries (made at the library
    // level), the growth an entry is extrapolated to 1M; bench/run.sh
    // measures 1M itself (docs/PERFORMANCE.md).
    let sizes = [5_000usize, 50_000];
    let mut peaks: Vec<Vec<(&str, f64)>> = Vec::new();
    for n in sizes {
        let env = crate::util::Env::new();
        env.init(2, &["alice", "bob"], true);
        grow(&env.path("v.bg"), n);
        let what = format!("{n} entries");
        let runs = whole_vault_commands(env.dir.path(), &what, ["alice", "bob"]);
        for (name, r) in &runs {
            r.within(&format!("{what}: {name}"), 300.0, BUDGET_MIB);
        }
        peaks.push(
            runs.iter()
                .filter_map(|(name, r)| Some((*name, r.peak_mib?)))
                .collect(),
        );
    }
    let [small, large] = &peaks[..] else {
        unreachable!("two sizes were run");
    };
    if small.is_empty() || large.is_empty() {
        let why = "no /usr/bin/time: the growth an entry is not measured";
        return crate::util::skip(
            "whole_vault_commands_grow_by_a_few_hundred_bytes_an_entry",
            why,
        );
    }
    for ((name, at_small), (_, at_large)) in small.iter().zip(large) {
        let added = (sizes[1] - sizes[0]) as f64;
        let per_entry = (at_large - at_small).max(0.0) * 1_048_576.0 / added;
        let at_1m = at_large + per_entry * (1e6 - sizes[1] as f64) / 1_048_576.0;
        println!(
            "budget: {name}: {per_entry:.0} bytes an entry; {at_1m:.0} MiB extrapolated to 1M entries"
        );
        assert!(
            at_1m <= MILLION_MIB,
            "{name}: {at_1m:.0} MiB extrapolated to 1M entries is over {MILLION_MIB} MiB"
        );
    }
}

/// What `import` may take at 1,000,000 rows, held here by extrapolation
/// from 10k and 100k: the budget every command keeps to. Rows are read twice
/// from where the file lies (docs/HARDENING.md, "Budgets"): what stays is
/// the vault's entry table, without the new versions' names and digests,
/// and the plan's rows not yet deposited, not the file. `bench/run.sh`
/// measures 108–112 MiB at 1M (issue 14's 128 MiB); extrapolated from
/// these sizes it is 125–140 MiB (a MiB of noise moves it by 11). The
/// guard fails a return to the table before (212 MiB at 1M). It was ≈1.8 KiB a row (1,840 MiB at 1M) before the rows
/// were streamed, then ≈330 bytes (316 MiB) while the file's text was held.
const MILLION_IMPORT_MIB: f64 = 180.0;

/// A FileVault export of `n` rows, as `bench/gen.py` writes them.
fn filevault_csv(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let mut state = n as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let mut csv = String::from("Serial Number,Computer Name,Recovery Key\n");
    for i in 0..n {
        let mut key = String::new();
        for g in 0..6 {
            if g > 0 {
                key.push('-');
            }
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                key.push(char::from(
                    ALPHABET[(state >> 33) as usize % ALPHABET.len()],
                ));
            }
        }
        csv.push_str(&format!("C02{i:08}X,mac-{i},{key}\n"));
    }
    csv
}

#[test]
fn import_grows_by_a_few_hundred_bytes_a_row() {
    // Issues 14 and 15: an import held every row and every sealed frame
    // for one write. Measured at 10k and 100k rows, the growth a row is
    // extrapolated to 1M; bench/run.sh measures 1M itself.
    // 10k, not 5k: from two parts of 4,096 rows on, one part is sealed
    // while the next is read (a constant ≈3 MiB, not a growth a row).
    let sizes = [10_000usize, 100_000];
    let mut peaks = Vec::new();
    for n in sizes {
        let env = crate::util::Env::new();
        env.init(2, &["alice", "bob"], true);
        std::fs::write(env.path("rows.csv"), filevault_csv(n)).unwrap();
        let args = [
            "import",
            "v.bg",
            "--from",
            "rows.csv",
            "--format",
            "filevault",
        ];
        let r = run(env.dir.path(), &args, b"");
        let what = format!("import of {n} FileVault rows");
        r.exited(0, &[], &what).within(&what, 300.0, BUDGET_MIB);
        let out = String::from_utf8_lossy(&r.out.stdout).into_owned();
        assert!(out.contains(&format!("{n} new entries")), "{out}");
        peaks.push(r.peak_mib);
    }
    let [Some(small), Some(large)] = peaks[..] else {
        let why = "no /usr/bin/time: the growth a row is not measured";
        return crate::util::skip("import_grows_by_a_few_hundred_bytes_a_row", why);
    };
    let added = (sizes[1] - sizes[0]) as f64;
    let per_row = (large - small).max(0.0) * 1_048_576.0 / added;
    let at_1m = large + per_row * (1e6 - sizes[1] as f64) / 1_048_576.0;
    println!("budget: import: {per_row:.0} bytes a row; {at_1m:.0} MiB extrapolated to 1M rows");
    assert!(
        at_1m <= MILLION_IMPORT_MIB,
        "import: {at_1m:.0} MiB extrapolated to 1M rows is over {MILLION_IMPORT_MIB} MiB"
    );
}
