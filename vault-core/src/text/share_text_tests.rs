//! Share texts: format 2 written, format 1 read forever, the compact form,
//! and the line checks (FORMAT.md §6.3–§6.6).

use super::*;
use crate::keys::MasterKey;
use crate::passphrase::{KdfParams, WrappedShare};
use crate::shamir::split;
use crate::share::Protection;
use crate::text::lines::numbered_loose;
use crate::VaultId;
use proptest::prelude::*;
use secrecy::SecretString;

fn header() -> ShareHeader<'static> {
    ShareHeader {
        vault_name: "Acme",
        fingerprint: "0505-0505-0505-0505-0505",
        custodian: "alice",
    }
}

fn v2(tag: u8, generation: u16) -> ShareIdentity {
    ShareIdentity::V2 {
        vault_tag: [tag; 5],
        generation,
        fingerprint: [tag ^ 0x5a; 8],
    }
}

/// A plain format-2 body with fixed bytes (deterministic tests).
pub(crate) fn fixed_plain(tag: u8, index: u8, y: u8) -> ShareBody {
    ShareBody {
        identity: v2(tag, 1),
        index,
        threshold: 2,
        custodians: 3,
        protection: Protection::None(Zeroizing::new([y; 32])),
    }
}

/// A protected format-2 body with fixed bytes (no KDF run).
pub(crate) fn fixed_protected(tag: u8, index: u8, y: u8) -> ShareBody {
    ShareBody {
        protection: Protection::Passphrase(WrappedShare {
            params: KdfParams::FLOOR,
            salt: [y; 16],
            nonce: [y ^ 1; 12],
            ciphertext: [y ^ 2; 48],
        }),
        ..fixed_plain(tag, index, y)
    }
}

fn plain_body() -> ShareBody {
    let shares = split(&MasterKey::generate(), 2, 3).unwrap();
    ShareBody::seal(v2(5, 1), 2, 3, &shares[0], None).unwrap()
}

fn numbered_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.get(2..3) == Some(":"))
        .map(str::to_owned)
        .collect()
}

fn change(line: &str, pos: usize, to: char) -> String {
    let mut c: Vec<char> = line.chars().collect();
    c[pos] = to;
    c.into_iter().collect()
}

/// Character positions of the symbols in a printed line `NN: AAAA BBBB CCCC DDDD  CC`.
fn symbol_positions(line: &str) -> Vec<usize> {
    line.char_indices()
        .skip(3)
        .filter(|(_, c)| *c != ' ')
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn format_2_layout_is_as_documented() {
    let text = encode(&fixed_protected(5, 1, 7), &header());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], MAGIC_LINE);
    assert_eq!(lines[1], "Vault: Acme");
    assert_eq!(
        lines[2],
        "Fingerprint: 0505-0505-0505-0505-0505 (generation 1)"
    );
    assert_eq!(lines[3], "Custodian: alice");
    assert_eq!(lines[4], "Share: 1 — any 2 of the 3 custodians");
    assert_eq!(lines[5], "Protection: passphrase (Argon2id)");
    assert_eq!(*lines.last().unwrap(), END_LINE);
    // 112 bytes -> 180 symbols -> 11 full lines and one of 4.
    assert_eq!(numbered_lines(&text).len(), 12);
    let plain = encode(&fixed_plain(5, 1, 7), &header());
    // 56 bytes -> 90 symbols -> 5 full lines and one of 10.
    assert_eq!(numbered_lines(&plain).len(), 6);
    // Line 1 is exactly the first 10 bytes: format, protection, index,
    // generation, vault tag.
    let l1 = normalize(&numbered_lines(&text)[0][3..]);
    let one = line_one(&l1[..16]).unwrap();
    assert_eq!(
        one,
        LineOne {
            protected: true,
            index: 1,
            generation: 1,
            vault_tag: [5; 5]
        }
    );
    assert_eq!(line_one_symbols(&one), l1[..16]);
}

/// The symbols a custodian types (data and check symbols), and the
/// compact form's length: FORMAT.md §6.6 states them.
#[test]
fn symbols_typed_and_compact_lengths() {
    let typed = |b: &ShareBody| -> usize { body_lines(b).iter().map(|l| l.len()).sum() };
    assert_eq!(typed(&fixed_plain(5, 1, 7)), 90 + 12);
    assert_eq!(typed(&fixed_protected(5, 1, 7)), 180 + 24);
    assert_eq!(compact(&fixed_plain(5, 1, 7)).len(), 4 + 102);
    assert_eq!(compact(&fixed_protected(5, 1, 7)).len(), 4 + 204);
    // Format 1 for comparison: 92 + 12 and 181 + 24.
    let shares = split(&MasterKey::generate(), 2, 3).unwrap();
    let v1 = ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 3, &shares[0], None).unwrap();
    assert_eq!(typed(&v1), 92 + 12);
}

#[test]
fn compact_form_is_qr_alphanumeric_and_reads_back() {
    for body in [fixed_plain(5, 2, 9), fixed_protected(6, 3, 1), plain_body()] {
        let c = compact(&body);
        assert!(c.starts_with("BGS2"));
        assert!(c
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(decode(&c).unwrap(), body);
        // As typed from the text block: lower case, spaced, on lines.
        let spaced: String = c
            .to_lowercase()
            .as_bytes()
            .chunks(5)
            .map(|g| format!("{} ", String::from_utf8_lossy(g)))
            .collect();
        assert_eq!(decode(&spaced).unwrap(), body);
        assert_eq!(decode(&format!("\n  {}\n", c.as_str())).unwrap(), body);
    }
    // Format 1 bodies have a compact form too.
    let shares = split(&MasterKey::generate(), 2, 3).unwrap();
    let v1 = ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 3, &shares[1], None).unwrap();
    assert!(compact(&v1).starts_with("BGS1"));
    assert_eq!(decode(&compact(&v1)).unwrap(), v1);
    assert_eq!(
        decode("BGS3ABCD").unwrap_err(),
        ShareTextError::NewerFormat(3)
    );
}

#[test]
fn a_compact_typo_is_named_by_line() {
    let body = fixed_protected(5, 1, 7);
    let c = compact(&body).to_string();
    // Line 3 starts at 4 + 2 × 18.
    let p = 4 + 2 * 18 + 5;
    let to = if &c[p..=p] == "Z" { 'Y' } else { 'Z' };
    let bad = change(&c, p, to);
    assert!(matches!(
        decode(&bad).unwrap_err(),
        ShareTextError::Typo { line: 3, .. }
    ));
}

#[test]
fn forgives_case_spaces_dashes_lookalikes_and_a_missing_colon() {
    let body = plain_body();
    let text = encode(&body, &header()).to_string();
    let sloppy: String = text
        .lines()
        .map(|l| match numbered_loose(l) {
            Some((n, rest)) if l.get(2..3) == Some(":") => {
                let s = normalize(rest)
                    .to_lowercase()
                    .replace('0', "o")
                    .replace('1', "l");
                let dashed: Vec<String> = s
                    .as_bytes()
                    .chunks(3)
                    .map(|c| String::from_utf8_lossy(c).into())
                    .collect();
                // Every other line without its colon.
                if n % 2 == 0 {
                    format!("{n} {}\n", dashed.join("-"))
                } else {
                    format!("{n}:{}\n", dashed.join("-"))
                }
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert_eq!(decode(&sloppy).unwrap(), body);
    // Typed forms: no header, no end line.
    let bare: String = numbered_lines(&text)
        .iter()
        .map(|l| format!("{}\n", l.replacen(':', "", 1)))
        .collect();
    assert_eq!(decode(&bare).unwrap(), body);
}

#[test]
fn a_missing_check_code_is_named_as_missing() {
    let text = encode(&fixed_plain(5, 1, 7), &header()).to_string();
    let lines = numbered_lines(&text);
    let no_check = &lines[2][..lines[2].len() - 4];
    assert_eq!(
        decode(&text.replace(&lines[2], no_check)).unwrap_err(),
        ShareTextError::CheckMissing { line: 3 }
    );
    // The short last line too (10 data symbols).
    let last = &lines[5];
    let no_check = &last[..last.len() - 4];
    assert_eq!(
        decode(&text.replace(last.as_str(), no_check)).unwrap_err(),
        ShareTextError::CheckMissing { line: 6 }
    );
}

/// Every single-symbol change, in every line (data or check symbols) of a
/// plain and a protected format-2 share, is caught by that line's check;
/// decoding names that line (every fourth change of the plain share, every
/// sixteenth of the protected one: decoding locates the typo, which is slow
/// unoptimised).
#[test]
fn every_single_symbol_change_is_caught_at_its_line() {
    for (body, every) in [(fixed_plain(5, 1, 7), 4), (fixed_protected(9, 2, 3), 16)] {
        let mut tried = 0usize;
        let text = encode(&body, &header()).to_string();
        for (i, line) in numbered_lines(&text).iter().enumerate() {
            for p in symbol_positions(line) {
                let here = line[p..].chars().next().unwrap();
                for c in ALPHABET.chars().filter(|&c| c != here) {
                    tried += 1;
                    let bad = text.replace(line.as_str(), &change(line, p, c));
                    if !tried.is_multiple_of(every) {
                        let sym = normalize(&change(line, p, c)[3..]);
                        let l1 = normalize(&numbered_lines(&text)[0][3..]);
                        let l1 = if i == 0 {
                            sym[..16].to_owned()
                        } else {
                            l1[..16].to_owned()
                        };
                        assert!(check_share_line(Checks::V2 { line1: &l1 }, i + 1, &sym).is_err());
                        continue;
                    }
                    match decode(&bad).unwrap_err() {
                        ShareTextError::Typo { line: l, .. }
                        | ShareTextError::LineCheck { line: l } => {
                            assert_eq!(l, i + 1, "{line} pos {p} -> {c}")
                        }
                        e => panic!("line {} pos {p} -> {c}: {e:?}", i + 1),
                    }
                    // And the line check alone sees it: no change of one
                    // symbol keeps a line's check.
                    let sym = normalize(&change(line, p, c)[3..]);
                    let l1 = normalize(&numbered_lines(&text)[0][3..]);
                    let l1 = if i == 0 {
                        sym[..16].to_owned()
                    } else {
                        l1[..16].to_owned()
                    };
                    assert!(check_share_line(Checks::V2 { line1: &l1 }, i + 1, &sym).is_err());
                }
            }
        }
    }
}

/// A line of another custodian's share, of another vault, or of another
/// generation, fails at that line (deterministic shares: the binding is
/// 10 bits, so these fixed cases are checked, not random ones).
#[test]
fn a_line_from_another_share_fails_at_that_line() {
    let ours = fixed_protected(5, 1, 7);
    let others = [
        fixed_protected(5, 2, 8), // another custodian
        fixed_protected(6, 1, 7), // another vault
        ShareBody {
            identity: v2(5, 2),
            ..fixed_protected(5, 1, 9)
        }, // another generation
    ];
    let text = encode(&ours, &header()).to_string();
    let our_lines = numbered_lines(&text);
    for other in &others {
        let theirs = numbered_lines(&encode(other, &header()));
        for l in 2..=12 {
            if theirs[l - 1] == our_lines[l - 1] {
                continue;
            }
            let mixed = text.replace(&our_lines[l - 1], &theirs[l - 1]);
            match decode(&mixed).unwrap_err() {
                ShareTextError::LineCheck { line } | ShareTextError::Typo { line, .. } => {
                    assert_eq!(line, l)
                }
                e => panic!("line {l}: {e:?}"),
            }
        }
    }
}

#[test]
fn typo_in_line_1_is_located_through_the_other_lines() {
    let body = fixed_plain(5, 1, 7);
    let text = encode(&body, &header()).to_string();
    let l1 = &numbered_lines(&text)[0];
    let p = symbol_positions(l1)[9];
    let to = if &l1[p..=p] == "Z" { 'Y' } else { 'Z' };
    assert_eq!(
        decode(&text.replace(l1.as_str(), &change(l1, p, to))).unwrap_err(),
        ShareTextError::Typo {
            line: 1,
            group: Some(3),
            position: 2
        }
    );
}

#[test]
fn swapped_missing_and_duplicate_lines_are_named() {
    let text = encode(&fixed_plain(5, 1, 7), &header()).to_string();
    let lines = numbered_lines(&text);
    let (l2, l3) = (&lines[1], &lines[2]);
    let swapped = text
        .replace(l2.as_str(), "@@")
        .replace(l3.as_str(), &format!("02:{}", &l3[3..]))
        .replace("@@", &format!("03:{}", &l2[3..]));
    assert_eq!(
        decode(&swapped).unwrap_err(),
        ShareTextError::SwappedLine { line: 2, holds: 3 }
    );
    let missing = text.replace(&format!("{l3}\n"), "");
    assert_eq!(
        decode(&missing).unwrap_err(),
        ShareTextError::MissingLine(3)
    );
    let dup = text.replace(l3.as_str(), &format!("{l3}\n{l3}"));
    assert_eq!(decode(&dup).unwrap_err(), ShareTextError::DuplicateLine(3));
    let no_last = text.replace(&format!("{}\n", lines[5]), "");
    assert_eq!(
        decode(&no_last).unwrap_err(),
        ShareTextError::MissingLine(6)
    );
    let no_first = text.replace(&format!("{}\n", lines[0]), "");
    assert_eq!(
        decode(&no_first).unwrap_err(),
        ShareTextError::MissingLine(1)
    );
}

#[test]
fn format_1_texts_still_read() {
    let shares = split(&MasterKey::generate(), 2, 3).unwrap();
    let body =
        ShareBody::seal(ShareIdentity::V1(VaultId([5; 16])), 2, 3, &shares[0], None).unwrap();
    let text = encode(&body, &header());
    assert!(text.starts_with(MAGIC_LINE_V1));
    assert!(text.contains("Share: 1 of 3 (any 2 unseal)"));
    assert_eq!(decode(&text).unwrap(), body);
    // Typed without its header: the format is read from line 1.
    let bare: String = numbered_lines(&text)
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(decode(&bare).unwrap(), body);
}

#[test]
fn wrong_magic_and_newer_version() {
    assert_eq!(
        decode("hello\nworld").unwrap_err(),
        ShareTextError::NotAShare
    );
    assert_eq!(decode("").unwrap_err(), ShareTextError::NotAShare);
    assert_eq!(
        decode("BREAKGLASS SHARE v3\n01: AAAA").unwrap_err(),
        ShareTextError::NewerFormat(3)
    );
    assert_eq!(
        decode("BREAKGLASS SHARE v2\n").unwrap_err(),
        ShareTextError::Empty
    );
}

#[test]
fn protected_share_roundtrips_and_binds_its_public_part() {
    let shares = split(&MasterKey::generate(), 2, 3).unwrap();
    let pass = SecretString::from("a long passphrase".to_owned());
    let body =
        ShareBody::seal(v2(5, 3), 2, 3, &shares[2], Some((&pass, KdfParams::FLOOR))).unwrap();
    let text = encode(&body, &header());
    assert!(text.contains("Protection: passphrase (Argon2id)"));
    let back = decode(&text).unwrap();
    assert_eq!(back, body);
    assert_eq!(back.unlock(Some(&pass)).unwrap().y(), shares[2].y());
    // The wrap binds the generation (and every public byte): the same
    // wrapped secret under another generation does not open.
    let moved = ShareBody {
        identity: v2(5, 4),
        ..body.clone()
    };
    assert_eq!(
        moved.unlock(Some(&pass)).unwrap_err(),
        crate::share::UnlockError::WrongPassphrase
    );
    let other_index = ShareBody {
        threshold: 3,
        ..body
    };
    assert!(other_index.unlock(Some(&pass)).is_err());
}

#[test]
fn header_fields_are_readable_for_messages() {
    let text = encode(&plain_body(), &header());
    assert_eq!(header_field(&text, "custodian").as_deref(), Some("alice"));
    assert!(!header_says_protected(&text));
    assert!(header_says_protected(
        "BREAKGLASS SHARE v1\nProtection: passphrase (Argon2id)"
    ));
    assert!(header_says_protected(&compact(&fixed_protected(5, 1, 2))));
}

#[test]
fn header_values_cannot_inject_lines() {
    let h = ShareHeader {
        vault_name: "x\n01: AAAA",
        fingerprint: "f\n02: BBBB",
        custodian: "bob\r\nEND BREAKGLASS SHARE",
    };
    let body = plain_body();
    let text = encode(&body, &h);
    assert_eq!(decode(&text).unwrap(), body);
}

proptest! {
    #[test]
    fn roundtrip_any_share(key in any::<[u8; 32]>(), k in 2usize..5, extra in 0usize..3, generation in 1u16..) {
        let n = k + extra;
        let shares = split(&MasterKey::from_slice(&key).unwrap(), k, n).unwrap();
        for s in &shares {
            let id = ShareIdentity::V2 { vault_tag: key[..5].try_into().unwrap(), generation, fingerprint: key[5..13].try_into().unwrap() };
            let body = ShareBody::seal(id, k as u8, n as u8, s, None).unwrap();
            prop_assert_eq!(decode(&encode(&body, &header())).unwrap(), body.clone());
            prop_assert_eq!(decode(&compact(&body)).unwrap(), body);
        }
    }

    #[test]
    fn single_symbol_typos_never_decode_silently(line in 1usize..=6, pos in 0usize..16, sym in 0usize..32) {
        let body = plain_body();
        let text = encode(&body, &header()).to_string();
        let original = numbered_lines(&text)[line - 1].clone();
        let data: Vec<char> = normalize(&original[4..]).chars().collect();
        let data_len = data.len() - 2;
        let pos = pos % data_len;
        let new = ALPHABET.as_bytes()[sym] as char;
        prop_assume!(data[pos] != new);
        let mut changed = data.clone();
        changed[pos] = new;
        let typo = format!("{line:02}: {}", changed.iter().collect::<String>());
        let result = decode(&text.replace(&original, &typo));
        prop_assert_eq!(result.unwrap_err(), ShareTextError::Typo { line, group: Some(pos / 4 + 1), position: pos % 4 + 1 });
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = decode(&s);
        let _ = decode(&format!("BREAKGLASS SHARE v2\n{s}"));
        let _ = decode(&format!("BGS2{s}"));
    }

    #[test]
    fn arbitrary_numbered_lines_never_panic(lines in proptest::collection::vec((0usize..80, "[0-9A-Za-z -]{0,24}"), 0..10)) {
        let mut text = String::from("BREAKGLASS SHARE v2\n");
        for (n, s) in lines {
            text.push_str(&format!("{n}: {s}\n"));
        }
        let _ = decode(&text);
    }
}
