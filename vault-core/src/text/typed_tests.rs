//! Typed entry: every accepted line kept, lines replaced, renumbered,
//! held, named when from another envelope; fixes only when the whole share
//! confirms them.

use super::*;
use crate::share_text::tests::{fixed_plain, fixed_protected};
use crate::share_text::{body_lines, encode, ShareHeader};

fn printed(body: &ShareBody) -> Vec<String> {
    let text = encode(
        body,
        &ShareHeader {
            vault_name: "V",
            fingerprint: "F",
            custodian: "c",
        },
    );
    text.lines()
        .filter(|l| l.get(2..3) == Some(":"))
        .map(str::to_owned)
        .collect()
}

fn kept(line: usize) -> Typed {
    Typed::Kept {
        line,
        replaced: false,
        dropped: vec![],
    }
}

fn known_for(bodies: &[(&str, &ShareBody)]) -> Vec<KnownLineOne> {
    bodies
        .iter()
        .map(|(name, b)| {
            let l1 = body_lines(b)[0][..16].to_owned();
            let one = line_one(&l1).unwrap();
            let other = LineOne {
                protected: !one.protected,
                ..one
            };
            KnownLineOne {
                custodian: (*name).to_owned(),
                index: one.index,
                symbols: [l1, line_one_symbols(&other)],
            }
        })
        .collect()
}

fn done(t: &TypedShare) -> ShareBody {
    match t.finish() {
        Finish::Done(b) => b,
        Finish::Missing(m) => panic!("missing {m:?}"),
        Finish::Fix(f) => panic!("fix {f:?}"),
        Finish::Failed(e) => panic!("{e}"),
    }
}

#[test]
fn lines_in_any_order_with_and_without_colons() {
    let body = fixed_protected(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    // Line 3 before line 1: held, then checked when line 1 comes.
    assert_eq!(t.enter(&lines[2]), Typed::Held { line: 3 });
    assert_eq!(t.enter(&lines[0].replacen(':', "", 1)), kept(1));
    assert_eq!(t.line_count(), Some(12));
    for l in &lines[1..] {
        if l.starts_with("03") {
            continue;
        }
        assert!(
            matches!(t.enter(&l.to_lowercase()), Typed::Kept { .. }),
            "{l}"
        );
    }
    assert_eq!(done(&t), body);
}

#[test]
fn a_repeated_line_replaces_the_earlier_one() {
    let body = fixed_plain(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    for l in &lines {
        t.enter(l);
    }
    assert_eq!(
        t.enter(&lines[3]),
        Typed::Kept {
            line: 4,
            replaced: true,
            dropped: vec![]
        }
    );
    assert_eq!(done(&t), body);
}

#[test]
fn a_misnumbered_line_is_kept_under_its_own_number() {
    let body = fixed_plain(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    t.enter(&lines[0]);
    let as_five = format!("05{}", &lines[5][2..]);
    assert_eq!(
        t.enter(&as_five),
        Typed::Renumbered {
            typed: 5,
            line: 6,
            replaced: false
        }
    );
    for l in &lines[1..5] {
        assert!(matches!(t.enter(l), Typed::Kept { .. }));
    }
    assert_eq!(done(&t), body);
}

#[test]
fn a_missing_line_is_asked_for_by_number() {
    let body = fixed_plain(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    for (i, l) in lines.iter().enumerate() {
        if i != 3 {
            t.enter(l);
        }
    }
    assert!(matches!(t.finish(), Finish::Missing(m) if m == vec![4]));
    assert_eq!(t.next_line(), 4);
    t.enter(&lines[3]);
    assert_eq!(done(&t), body);
}

#[test]
fn a_line_from_another_envelope_is_named_there() {
    let alice = fixed_protected(5, 1, 7);
    let carol = fixed_protected(5, 3, 9);
    let bob = fixed_plain(5, 2, 8);
    let known = known_for(&[("alice", &alice), ("bob", &bob), ("carol", &carol)]);
    let mut t = TypedShare::new(known);
    t.enter(&printed(&alice)[0]);
    assert_eq!(
        t.enter(&printed(&carol)[4]),
        Typed::Refused(LineProblem::FromEnvelope {
            line: 5,
            custodian: "carol".into(),
            index: 3,
            or_line: None,
        })
    );
    assert_eq!(
        t.enter(&printed(&bob)[2]),
        Typed::Refused(LineProblem::FromEnvelope {
            line: 3,
            custodian: "bob".into(),
            index: 2,
            or_line: None,
        })
    );
    // Another vault's line: named at that line, no envelope to name.
    let other_vault = fixed_protected(6, 1, 7);
    assert_eq!(
        t.enter(&printed(&other_vault)[6]),
        Typed::Refused(LineProblem::Mismatch { line: 7 })
    );
}

#[test]
fn no_fix_is_proposed_for_a_wholly_wrong_line() {
    let alice = fixed_protected(5, 1, 7);
    let other = fixed_protected(6, 1, 9);
    let lines = printed(&alice);
    let wrong = printed(&other);
    // For every line: all others right, that one from another share.
    for n in 2..=12 {
        let mut t = TypedShare::new(vec![]);
        for (i, l) in lines.iter().enumerate() {
            t.enter(if i + 1 == n { &wrong[i] } else { l });
        }
        match t.finish() {
            Finish::Missing(m) => assert_eq!(m, vec![n]),
            Finish::Done(_) => panic!("line {n}: a wrong line passed"),
            Finish::Fix(_) => panic!("line {n}: a fix was proposed for a wholly wrong line"),
            Finish::Failed(e) => panic!("line {n}: {e}"),
        }
    }
}

#[test]
fn a_single_typo_gets_the_fix_the_whole_share_confirms() {
    let body = fixed_protected(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    let typo = {
        let mut c: Vec<char> = lines[6].chars().collect();
        c[10] = if c[10] == 'Z' { 'Y' } else { 'Z' };
        c.into_iter().collect::<String>()
    };
    for (i, l) in lines.iter().enumerate() {
        let r = t.enter(if i == 6 { &typo } else { l });
        if i == 6 {
            assert_eq!(r, Typed::Refused(LineProblem::Mismatch { line: 7 }));
        }
    }
    let Finish::Fix(fix) = t.finish() else {
        panic!("a fix is expected")
    };
    assert_eq!((fix.line, fix.group, fix.position), (7, Some(2), 2));
    assert_eq!(fix.corrected.as_str(), &lines[6][9..13]);
    assert!(!format!("{fix:?}").contains(&lines[6][9..13]));
    t.accept_fix(&fix);
    assert_eq!(done(&t), body);
}

#[test]
fn a_missing_check_code_is_named_and_back_takes_a_line_back() {
    let body = fixed_plain(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    t.enter(&lines[0]);
    assert_eq!(
        t.enter(&lines[1][..lines[1].len() - 4]),
        Typed::Refused(LineProblem::Form(ShareTextError::CheckMissing { line: 2 }))
    );
    t.enter(&lines[1]);
    assert_eq!(t.back(), Some(2));
    assert_eq!(t.next_line(), 2);
    assert_eq!(t.back(), Some(1));
    assert!(t.is_empty());
    assert_eq!(t.back(), None);
}

#[test]
fn a_new_line_1_rechecks_the_others() {
    let alice = fixed_plain(5, 1, 7);
    let bob = fixed_plain(5, 2, 8);
    let mut t = TypedShare::new(vec![]);
    t.enter(&printed(&alice)[0]);
    t.enter(&printed(&alice)[1]);
    // Bob's line 1 replaces alice's: alice's line 2 no longer checks.
    match t.enter(&printed(&bob)[0]) {
        Typed::Kept {
            line: 1,
            replaced: true,
            dropped,
        } => assert_eq!(dropped, vec![LineProblem::Mismatch { line: 2 }]),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.kept(), vec![1]);
}

#[test]
fn header_lines_and_a_line_past_the_end() {
    let body = fixed_plain(5, 1, 7);
    let lines = printed(&body);
    let mut t = TypedShare::new(vec![]);
    assert_eq!(t.enter("BREAKGLASS SHARE v2"), Typed::Header);
    assert_eq!(t.enter("Custodian: alice"), Typed::Header);
    assert_eq!(t.enter("hello"), Typed::NotALine);
    t.enter(&lines[0]);
    assert_eq!(
        t.enter("07: 0000 0000 0000 0000  00"),
        Typed::Refused(LineProblem::PastEnd { line: 7, lines: 6 })
    );
    assert!(format!("{t:?}").contains("kept: [1]"));
}

/// A line of carol's that also passes as another line of alice's typed
/// under the wrong number: the 10-bit check codes of two line numbers
/// under the two line 1s collide (about one pair in a thousand). Named as
/// carol's, nothing kept. It was kept as alice's line (CI, 2026-11-30),
/// to be caught only once the whole share was in.
#[test]
fn a_stray_line_that_also_passes_as_a_misnumbered_one_is_not_kept() {
    // The first vault (by fingerprint tag) where that happens.
    let (alice, carol, number, other) = (0..=255u8)
        .find_map(|tag| {
            let (alice, carol) = (fixed_protected(tag, 1, 7), fixed_protected(tag, 3, 9));
            let alice_l1 = body_lines(&alice)[0][..16].to_owned();
            let checks = Checks::V2 { line1: &alice_l1 };
            let lines = body_lines(&carol);
            (2..=lines.len()).find_map(|n| {
                let (data, check) = lines[n - 1].split_at(lines[n - 1].len() - 2);
                (2..=lines.len())
                    .find(|&m| m != n && share_line_check(checks, m, data) == check)
                    .map(|m| (alice.clone(), carol.clone(), n, m))
            })
        })
        .expect("a collision among 256 vaults");
    let known = known_for(&[("alice", &alice), ("carol", &carol)]);
    let alice_lines = printed(&alice);
    let mut t = TypedShare::new(known);
    t.enter(&alice_lines[0]);
    assert_eq!(
        t.enter(&printed(&carol)[number - 1]),
        Typed::Refused(LineProblem::FromEnvelope {
            line: number,
            custodian: "carol".into(),
            index: 3,
            or_line: Some(other),
        })
    );
    assert_eq!(t.kept(), vec![1]);
    // Alice's own lines still go in, and the share is hers.
    for l in &alice_lines[1..] {
        t.enter(l);
    }
    assert_eq!(done(&t), alice);
}

/// A typo that makes a line pass as another line already typed is refused
/// at its own number: the line kept there stays (about one typo in a
/// hundred passes as some other line).
#[test]
fn a_typo_never_replaces_a_line_already_kept() {
    let alice = fixed_protected(5, 1, 7);
    let lines = body_lines(&alice);
    let l1 = lines[0][..16].to_owned();
    let checks = Checks::V2 { line1: &l1 };
    // Line 3 with one symbol changed so that it checks as some line m.
    let (typo, m) = (0..16)
        .flat_map(|pos| super::super::lines::ALPHABET.chars().map(move |c| (pos, c)))
        .find_map(|(pos, c)| {
            let mut t: Vec<char> = lines[2].chars().collect();
            if t[pos] == c {
                return None;
            }
            t[pos] = c;
            let t: String = t.into_iter().collect();
            let (data, check) = t.split_at(t.len() - 2);
            (2..=lines.len())
                .find(|&m| m != 3 && share_line_check(checks, m, data) == check)
                .map(|m| (t, m))
        })
        .expect("a typo that passes as another line");
    let printed_lines = printed(&alice);
    let mut t = TypedShare::new(Vec::new());
    for (i, l) in printed_lines.iter().enumerate() {
        if i != 2 {
            t.enter(l);
        }
    }
    assert_eq!(
        t.enter(&format!("03: {typo}")),
        Typed::Refused(LineProblem::Mismatch { line: 3 }),
        "passes as line {m}"
    );
    assert_eq!(t.enter(&printed_lines[2]), kept(3));
    assert_eq!(done(&t), alice);
}
