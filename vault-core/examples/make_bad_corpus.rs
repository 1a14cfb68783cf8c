//! Writes the bad-input corpus (fixtures/bad/) from the golden fixture.
//!
//! ```text
//! cargo run -p vault-core --example make_bad_corpus -- fixtures/v1 fixtures/bad
//! ```
//!
//! Each case is one malformed vault or share and one line of `cases.tsv`:
//! the case file, the command to run on it, the expected exit code and a
//! piece of the expected message. `tests/it/bad_corpus.rs` runs them all
//! against the real binary. Share checks are re-implemented here from
//! docs/FORMAT.md §6 rather than called from the library, so the corpus
//! also checks that the code follows the spec. Everything is derived from
//! the golden fixture deterministically, except `foreign.share`, which
//! needs a vault of its own.

use std::fmt::Write as _;
use std::path::Path;

use data_encoding::{Encoding, Specification};
use sha2::{Digest, Sha256};

const ALICE: &str = "golden-alice-passphrase";

struct Corpus {
    dir: std::path::PathBuf,
    tsv: String,
    count: usize,
}

impl Corpus {
    /// Records a case: `command` is one of `list`, `audit-verify`,
    /// `verify-share` (against golden.bg) or `unseal` (alice + carol).
    fn case(
        &mut self,
        name: &str,
        bytes: &[u8],
        command: &str,
        input: &str,
        exit: u8,
        message: &str,
    ) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
        writeln!(self.tsv, "{name}\t{command}\t{input}\t{exit}\t{message}").unwrap();
        self.count += 1;
    }
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

// ---------------------------------------------------------------- vault files

/// (type, body) of every record in a vault file (FORMAT.md §3).
fn records(file: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 10;
    while pos < file.len() {
        let len = u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        out.push((file[pos + 4], file[pos + 9..pos + 9 + len].to_vec()));
        pos += 9 + len + 32;
    }
    out
}

/// Frames `records` with correct frame checks and chain hashes.
fn rechain(header: &[u8], recs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = header.to_vec();
    let mut prev = sha(&[b"breakglass/v1/chain", header]);
    for (kind, body) in recs {
        let len = (body.len() as u32).to_be_bytes();
        out.extend_from_slice(&len);
        out.push(*kind);
        out.extend_from_slice(&sha(&[b"breakglass/v1/frame", &len, &[*kind]])[..4]);
        out.extend_from_slice(body);
        prev = sha(&[b"breakglass/v1/chain", &prev, &[*kind], &len, body]);
        out.extend_from_slice(&prev);
    }
    out
}

/// Byte offsets of each record's frame.
fn offsets(file: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 10;
    while pos < file.len() {
        out.push(pos);
        let len = u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 9 + len + 32;
    }
    out
}

fn flipped(file: &[u8], at: usize) -> Vec<u8> {
    let mut out = file.to_vec();
    out[at] ^= 0x01;
    out
}

fn vault_cases(c: &mut Corpus, golden: &[u8]) {
    let header = &golden[..10];
    let recs = records(golden);
    let offs = offsets(golden);
    let n = recs.len();

    c.case(
        "magic-wrong.bg",
        &flipped(golden, 0),
        "list",
        "-",
        2,
        "not a breakglass vault",
    );
    c.case(
        "magic-text.bg",
        b"hello, world\n",
        "list",
        "-",
        2,
        "not a breakglass vault",
    );
    c.case("empty.bg", b"", "list", "-", 2, "not a breakglass vault");
    // A version 1 file whose header says 2: its chain no longer starts
    // where its first record says (the header is hashed into it).
    let mut b = golden.to_vec();
    b[8..10].copy_from_slice(&[0, 2]);
    c.case(
        "version-2.bg",
        &b,
        "list",
        "-",
        4,
        "chain hash does not match",
    );
    for (name, v) in [
        ("version-3.bg", [0u8, 3]),
        ("version-ffff.bg", [0xff, 0xff]),
    ] {
        let mut b = golden.to_vec();
        b[8..10].copy_from_slice(&v);
        c.case(
            name,
            &b,
            "list",
            "-",
            2,
            "is newer than this breakglass understands",
        );
    }
    let mut b = golden.to_vec();
    b[8..10].copy_from_slice(&[0, 0]);
    c.case("version-0.bg", &b, "list", "-", 2, "not a breakglass vault");
    c.case(
        "header-only.bg",
        header,
        "list",
        "-",
        4,
        "the file has no records",
    );

    // One flipped byte in each field of each record.
    for (i, &off) in offs.iter().enumerate() {
        let num = i + 1;
        let len = recs[i].1.len();
        let last = num == n;
        let head_fields = [
            ("length", off + 3),
            ("type", off + 4),
            ("framecheck", off + 6),
        ];
        for (field, at) in head_fields {
            c.case(
                &format!("flip-r{num}-{field}.bg"),
                &flipped(golden, at),
                "list",
                "-",
                4,
                &format!("record #{num} at offset {off}: record header check fails"),
            );
        }
        let tail_fields = [
            ("body-first", off + 9),
            ("body-middle", off + 9 + len / 2),
            ("body-last", off + 9 + len - 1),
            ("chainhash", off + 9 + len + 5),
        ];
        for (field, at) in tail_fields {
            let name = format!("flip-r{num}-{field}.bg");
            if last {
                // The last record, complete but altered: damage, never an
                // unfinished write — an unseal must not show the version
                // before it as current (FORMAT.md §3.1).
                c.case(
                    &name,
                    &flipped(golden, at),
                    "unseal",
                    "golden-alice-passphrase",
                    4,
                    &format!("record #{num} at offset {off}: a complete record fails its check"),
                );
            } else {
                c.case(
                    &name,
                    &flipped(golden, at),
                    "list",
                    "-",
                    4,
                    &format!("record #{num} at offset {off}: chain hash does not match"),
                );
            }
        }
    }

    // Truncations: at a record boundary the file is a shorter, valid vault
    // (a rollback: only a kept head hash reveals it); inside a record it is
    // a torn tail.
    for (i, &off) in offs.iter().enumerate().skip(2) {
        c.case(
            &format!("cut-before-r{}.bg", i + 1),
            &golden[..off],
            "audit-verify",
            "-",
            0,
            "Head hash:",
        );
        c.case(
            &format!("cut-inside-r{}.bg", i + 1),
            &golden[..off + 20],
            "audit-verify",
            "-",
            4,
            "are not a valid record",
        );
    }
    let mut b = golden.to_vec();
    b.extend_from_slice(&[0u8; 512]);
    c.case("zero-tail.bg", &b, "list", "-", 0, "zero-filled tail");

    // Huge length with a valid frame check.
    let mut b = golden.to_vec();
    let off = offs[1];
    b[off..off + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let check = sha(&[
        b"breakglass/v1/frame",
        &u32::MAX.to_be_bytes(),
        &[b[off + 4]],
    ]);
    b[off + 5..off + 9].copy_from_slice(&check[..4]);
    c.case(
        "huge-length.bg",
        &b,
        "list",
        "-",
        4,
        "record length beyond the format's limit",
    );

    // Well-chained files that break replay rules.
    let mut r = recs.clone();
    r.insert(2, recs[1].clone());
    c.case(
        "duplicate-deposit.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "record #3 at offset",
    );
    let mut r = recs.clone();
    r.insert(1, recs[0].clone());
    c.case(
        "second-genesis.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "a second genesis record",
    );
    let mut r = recs.clone();
    r.swap(1, 2);
    c.case(
        "reordered-versions.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "entry version out of sequence",
    );
    let mut b = golden.to_vec();
    let (a, z) = (offs[3], offs[5]);
    let moved: Vec<u8> = [&golden[offs[4]..z], &golden[a..offs[4]]].concat();
    b[a..z].copy_from_slice(&moved);
    c.case("reordered-unchained.bg", &b, "list", "-", 4, "record #4");
    c.case(
        "first-not-genesis.bg",
        &rechain(header, &recs[1..]),
        "list",
        "-",
        4,
        "the first record is not a genesis record",
    );
    let mut r = recs.clone();
    r.push((0x7f, vec![1, 2, 3]));
    c.case(
        "unknown-type.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "unknown record type 0x7f",
    );
    let mut r = recs.clone();
    r[4].1.push(0);
    c.case(
        "trailing-body-byte.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "unexpected trailing bytes",
    );
    let mut r = recs.clone();
    let kind_at = deposit_kind_offset(&r[4].1);
    r[4].1[kind_at] = 9;
    c.case(
        "bad-entry-kind.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "unknown entry kind",
    );
    let mut r = recs.clone();
    let label_at = kind_at - "runbook".len();
    r[4].1[label_at] = b'\n';
    c.case(
        "label-control-char.bg",
        &rechain(header, &r),
        "list",
        "-",
        4,
        "contains control characters",
    );

    // Times far in the future (a forged or corrupted clock): shown as
    // invalid, never a crash, in every command that prints or compares them.
    let mut r = recs.clone();
    r[1].1[..8].copy_from_slice(&u64::MAX.to_be_bytes());
    let far = rechain(header, &r);
    c.case("time-max-list.bg", &far, "list", "-", 0, "");
    c.case(
        "time-max-audit.bg",
        &far,
        "audit-verify",
        "-",
        0,
        "Head hash:",
    );
    c.case("time-max-status.bg", &far, "status", "-", 0, "");
    // Well-formed files whose cryptography catches the change at unseal.
    let mut r = recs.clone();
    let kind_at = deposit_kind_offset(&r[3].1);
    r[3].1[kind_at - 1] = b'Z'; // filevault-C02XG0FDH7JY moved to …JZ
    c.case(
        "moved-label.bg",
        &rechain(header, &r),
        "unseal",
        ALICE,
        4,
        "does not decrypt: the vault is damaged or was altered",
    );
    let mut r = recs.clone();
    let g = r[0].1.len();
    r[0].1[g - 64] ^= 1; // key_check
    c.case(
        "altered-key-check.bg",
        &rechain(header, &r),
        "unseal",
        ALICE,
        4,
        "do not combine to the vault's key",
    );
    let mut r = recs.clone();
    r[0].1[g - 64 - 10] ^= 1; // sealed escrow key
    c.case(
        "altered-escrow-key.bg",
        &rechain(header, &r),
        "unseal",
        ALICE,
        4,
        "the sealed escrow key does not open",
    );
    let mut r = recs.clone();
    let u = r[5].1.len();
    r[5].1[u - 33] ^= 0x20; // a letter of the unseal reason
    c.case(
        "forged-unseal-reason.bg",
        &rechain(header, &r),
        "unseal",
        ALICE,
        0,
        "audit record #6 fails its MAC",
    );
}

/// Offset of the kind byte in a deposit body: after time, actor and label.
fn deposit_kind_offset(body: &[u8]) -> usize {
    let mut pos = 8;
    for _ in 0..2 {
        let len = u16::from_be_bytes([body[pos], body[pos + 1]]) as usize;
        pos += 2 + len;
    }
    pos
}

// ---------------------------------------------------------------- shares

fn base32() -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    spec.encoding().unwrap()
}

fn line_check(number: usize, symbols: &str) -> String {
    let h = sha(&[
        b"breakglass/v1/line-check",
        &(number as u32).to_be_bytes(),
        symbols.as_bytes(),
    ]);
    let v = ((h[0] as usize) << 2) | (h[1] as usize >> 6);
    let a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".as_bytes();
    format!("{}{}", a[v >> 5] as char, a[v & 31] as char)
}

/// Share text (FORMAT.md §6.3) for raw body bytes (check not included).
fn share_text_v2_check(body_without_check: &[u8], header: &str) -> String {
    let mut body = body_without_check.to_vec();
    body.extend_from_slice(&sha(&[b"breakglass/v2/share-check", body_without_check])[..4]);
    lines_text(&base32().encode(&body), header)
}

fn share_text(body_without_check: &[u8], header: &str) -> String {
    let mut body = body_without_check.to_vec();
    body.extend_from_slice(&sha(&[b"breakglass/v1/share-check", body_without_check])[..4]);
    lines_text(&base32().encode(&body), header)
}

fn lines_text(symbols: &str, header: &str) -> String {
    let mut out = format!("BREAKGLASS SHARE v1\n{header}\n");
    for (i, chunk) in symbols.as_bytes().chunks(16).enumerate() {
        let s = std::str::from_utf8(chunk).unwrap();
        writeln!(out, "{:02}: {s}  {}", i + 1, line_check(i + 1, s)).unwrap();
    }
    out.push_str("END BREAKGLASS SHARE\n");
    out
}

/// The body bytes (without check) of a share text.
fn body_of(text: &str) -> Vec<u8> {
    let symbols: String = text
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, rest)| {
            let s: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
            s[..s.len() - 2].to_owned()
        })
        .collect();
    let mut bytes = base32().decode(symbols.as_bytes()).unwrap();
    bytes.truncate(bytes.len() - 4);
    bytes
}

fn with_line(text: &str, number: usize, f: impl Fn(&str) -> String) -> String {
    let prefix = format!("{number:02}: ");
    text.lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                f(l)
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

fn share_cases(c: &mut Corpus, alice: &str, carol: &str, foreign: &str) {
    let verify = "verify-share";
    let h = "Custodian: corpus";
    c.case(
        "not-a-share.share",
        b"hello, world\n",
        verify,
        "-",
        2,
        "not a breakglass share",
    );
    c.case(
        "share-v3.share",
        carol.replace("SHARE v1", "SHARE v3").as_bytes(),
        verify,
        "-",
        2,
        "share text format v3 is newer",
    );
    c.case(
        "header-only.share",
        b"BREAKGLASS SHARE v1\nCustodian: x\n",
        verify,
        "-",
        2,
        "the share has no numbered lines",
    );
    for line in 1..=6 {
        let typo = with_line(carol, line, |l| {
            let mut b = l.as_bytes().to_vec();
            b[5] = if b[5] == b'Z' { b'Y' } else { b'Z' };
            String::from_utf8(b).unwrap()
        });
        c.case(
            &format!("typo-line-{line}.share"),
            typo.as_bytes(),
            verify,
            "-",
            2,
            &format!("line {line}: symbol 2 of group 1 is mistyped"),
        );
    }
    let bad = with_line(carol, 2, |l| format!("{}U{}", &l[..4], &l[5..]));
    c.case(
        "bad-symbol.share",
        bad.as_bytes(),
        verify,
        "-",
        2,
        "line 2: character 1 is not a valid share symbol",
    );
    let missing = with_line(carol, 3, |_| String::from("(line lost)"));
    c.case(
        "missing-line.share",
        missing.as_bytes(),
        verify,
        "-",
        2,
        "line 3 is missing",
    );
    let missing_last = with_line(carol, 6, |_| String::new());
    c.case(
        "missing-last-line.share",
        missing_last.as_bytes(),
        verify,
        "-",
        2,
        "line 6 is missing",
    );
    let dup = with_line(carol, 2, |l| format!("{l}\n{l}"));
    c.case(
        "duplicate-line.share",
        dup.as_bytes(),
        verify,
        "-",
        2,
        "line 2 appears twice",
    );
    let l2 = carol.lines().find(|l| l.starts_with("02: ")).unwrap();
    let l3 = carol.lines().find(|l| l.starts_with("03: ")).unwrap();
    let swapped = with_line(
        &with_line(carol, 2, |_| format!("02:{}", &l3[3..])),
        3,
        |_| format!("03:{}", &l2[3..]),
    );
    c.case(
        "swapped-lines.share",
        swapped.as_bytes(),
        verify,
        "-",
        2,
        "line 2 holds the symbols of line 3",
    );
    let two = with_line(carol, 2, |l| {
        let mut b = l.as_bytes().to_vec();
        for i in [5, 16] {
            b[i] = if b[i] == b'Z' { b'Y' } else { b'Z' };
        }
        String::from_utf8(b).unwrap()
    });
    c.case(
        "two-typos-one-line.share",
        two.as_bytes(),
        verify,
        "-",
        2,
        "line 2: check code does not match",
    );
    let long = with_line(carol, 1, |l| {
        let n = l.len();
        format!("{} 0000{}", &l[..n - 4], &l[n - 4..])
    });
    c.case(
        "line-too-long.share",
        long.as_bytes(),
        verify,
        "-",
        2,
        "line 1: wrong length",
    );
    let line99 = carol.replace("END BREAKGLASS", "99: 0000  00\nEND BREAKGLASS");
    c.case(
        "line-99.share",
        line99.as_bytes(),
        verify,
        "-",
        2,
        "line 99: a share has at most 64 lines",
    );

    // Body-level cases: valid line checks, wrong content.
    let body = body_of(carol);
    let mut symbols = base32().encode(
        &[
            body.as_slice(),
            &sha(&[b"breakglass/v1/share-check", &body])[..4],
        ]
        .concat(),
    );
    let first = symbols.remove(20);
    symbols.insert(20, if first == '7' { '8' } else { '7' });
    c.case(
        "whole-check.share",
        lines_text(&symbols, h).as_bytes(),
        verify,
        "-",
        2,
        "the whole-share check does not match",
    );
    let mut b = body.clone();
    b[18] = 9; // index
    c.case(
        "unknown-index.share",
        share_text(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "share index 9 is not a custodian of this vault",
    );
    let mut b = body.clone();
    b[18] = 2; // carol's bytes claim bob's slot
    c.case(
        "wrong-slot.share",
        share_text(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "does not match custodian bob's share",
    );
    let mut b = body.clone();
    b[30] ^= 1;
    c.case(
        "altered-y.share",
        share_text(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "does not match custodian carol's share",
    );
    let mut b = body.clone();
    b[18] = 0;
    c.case(
        "index-0.share",
        share_text(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "index 0 is not a share",
    );
    let mut b = body.clone();
    b[1] = 9;
    c.case(
        "protection-9.share",
        share_text(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "unknown protection",
    );
    let mut b = body.clone();
    b[0] = 3;
    // A format newer than 2 is checked with the newest label known (§6.1).
    c.case(
        "body-format-3.share",
        share_text_v2_check(&b, h).as_bytes(),
        verify,
        "-",
        2,
        "share format 3 is newer",
    );
    c.case(
        "foreign.share",
        foreign.as_bytes(),
        verify,
        "-",
        2,
        "belongs to another vault",
    );

    let abody = body_of(alice);
    let mut b = abody.clone();
    b[21..25].copy_from_slice(&u32::MAX.to_be_bytes()); // Argon2 memory
    c.case(
        "argon2-huge-memory.share",
        share_text(&b, h).as_bytes(),
        verify,
        ALICE,
        2,
        "is above the ceiling",
    );
    let mut b = abody.clone();
    b[21..25].copy_from_slice(&1024u32.to_be_bytes());
    c.case(
        "argon2-below-floor.share",
        share_text(&b, h).as_bytes(),
        verify,
        ALICE,
        2,
        "is below the floor",
    );
    let mut b = abody.clone();
    b[25..29].copy_from_slice(&1u32.to_be_bytes()); // passes
    c.case(
        "argon2-one-pass.share",
        share_text(&b, h).as_bytes(),
        verify,
        ALICE,
        2,
        "is below the floor",
    );
    c.case(
        "wrong-passphrase.share",
        alice.as_bytes(),
        verify,
        "not-alices-passphrase",
        2,
        "custodian alice: wrong passphrase",
    );
    let mut b = abody.clone();
    let n = b.len();
    b[n - 1] ^= 1; // the wrapped share's tag
    c.case(
        "altered-wrapped.share",
        share_text(&b, h).as_bytes(),
        verify,
        ALICE,
        2,
        "wrong passphrase",
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (from, to) = (args.next().expect("FROM"), args.next().expect("TO"));
    let (from, to) = (Path::new(&from), Path::new(&to));
    std::fs::create_dir_all(to).unwrap();
    let mut c = Corpus {
        dir: to.to_owned(),
        tsv: String::from(
            "# case\tcommand\tstdin\texit\tmessage (generated by examples/make_bad_corpus.rs)\n",
        ),
        count: 0,
    };
    let golden = std::fs::read(from.join("golden.bg")).unwrap();
    vault_cases(&mut c, &golden);
    let read = |n: &str| std::fs::read_to_string(from.join(n)).unwrap();
    let foreign = match std::fs::read_to_string(to.join("foreign.share")) {
        Ok(existing) => existing, // keep the committed one: regenerating stays stable
        Err(_) => foreign_share(),
    };
    share_cases(&mut c, &read("alice.share"), &read("carol.share"), &foreign);
    std::fs::write(to.join("cases.tsv"), &c.tsv).unwrap();
    eprintln!("wrote {} cases to {}", c.count, to.display());
}

/// A plain share of a fresh vault.
fn foreign_share() -> String {
    use vault_core::{passphrase::KdfParams, vault};
    let spec = vault::InitSpec::new("some other vault", 2, ["x", "y"]).with_kdf(KdfParams::FLOOR);
    vault::create(&spec, &[None, None]).unwrap().shares[0]
        .text
        .to_string()
}
