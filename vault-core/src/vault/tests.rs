//! Unit tests of the vault's operations.

use zeroize::Zeroizing;

use super::*;
use crate::entry::EntrySecret;
use crate::log;
use crate::passphrase::KdfParams;
use crate::shamir::KeyShare;
use crate::share::ShareBody;
use crate::share_text;

pub(crate) fn spec(k: usize, names: &[&str]) -> InitSpec {
    InitSpec::new("Test vault", k, names.iter().copied())
        .with_actor("tester@host")
        .with_time(1_700_000_000)
        .with_kdf(KdfParams::FLOOR)
}

fn meta(time: u64) -> DepositMeta {
    DepositMeta {
        actor: "x".into(),
        time,
        ..DepositMeta::default()
    }
}

fn secret(s: &str) -> EntrySecret {
    EntrySecret {
        username: Zeroizing::new("admin".into()),
        secret: Zeroizing::new(s.as_bytes().to_vec()),
    }
}

fn append(bytes: &mut Vec<u8>, vault: &Vault, record: &Record) {
    bytes.extend_from_slice(
        &log::encode_frame(vault.head(), record.kind(), &record.encode_body()).0,
    );
}

fn load(bytes: &[u8]) -> Vault {
    Vault::replay(&log::parse(bytes).unwrap()).unwrap()
}

/// A new plain vault of `names`, any `k`, and every share checked.
fn checked_shares(k: usize, names: &[&str]) -> (Vault, Vec<KeyShare>) {
    let none = vec![None; names.len()];
    let Created {
        bytes,
        shares: issued,
        ..
    } = create(&spec(k, names), &none).unwrap();
    let vault = load(&bytes);
    let s = shares_of(&issued)
        .iter()
        .map(|b| vault.check_share(b, None).unwrap())
        .collect();
    (vault, s)
}

fn shares_of(issued: &[IssuedShare]) -> Vec<ShareBody> {
    issued
        .iter()
        .map(|s| share_text::decode(&s.text).unwrap())
        .collect()
}

#[test]
fn init_deposit_unseal_end_to_end() {
    let Created {
        mut bytes,
        shares: issued,
        ..
    } = create(&spec(2, &["a", "b", "c"]), &[None, None, None]).unwrap();
    let vault = load(&bytes);
    let d = vault
        .deposit("root", EntryKind::Password, &secret("s3cret"), &meta(5))
        .unwrap();
    append(&mut bytes, &vault, &d);
    let vault = load(&bytes);
    let d = vault
        .deposit("root", EntryKind::Password, &secret("n3w"), &meta(6))
        .unwrap();
    append(&mut bytes, &vault, &d);
    let vault = load(&bytes);
    assert_eq!(vault.entries().get("root").unwrap().versions.len(), 2);

    let bodies = shares_of(&issued);
    let shares: Vec<KeyShare> = bodies[1..]
        .iter()
        .map(|b| vault.check_share(b, None).unwrap())
        .collect();
    let unsealed = vault.open(&shares).unwrap();
    assert_eq!(unsealed.custodians(), &[2, 3]);
    let r = unsealed.reveal(&vault, "root").unwrap().unwrap();
    assert_eq!(r.secret.secret.as_slice(), b"n3w");
    assert_eq!(r.version, 2);
    assert!(unsealed.bad_macs(&vault).is_empty());
    let rec = unsealed
        .unseal_record(&[("root".into(), 2)], "drill", "me", 7, vault.head())
        .unwrap();
    append(&mut bytes, &vault, &rec);
    let vault = load(&bytes);
    assert!(unsealed.bad_macs(&vault).is_empty());
}

#[test]
fn a_reason_is_one_line_of_at_most_1024_bytes() {
    assert!(check_reason("").is_ok());
    assert!(check_reason("INC-42 IdP outage").is_ok());
    let two_lines = check_reason("a\nb").unwrap_err();
    assert!(
        two_lines.to_string().contains("control characters"),
        "{two_lines}"
    );
    assert!(check_reason(&"x".repeat(1025))
        .unwrap_err()
        .to_string()
        .contains("too long"));
    let (vault, s) = checked_shares(2, &["a", "b"]);
    let un = vault.open(&s).unwrap();
    assert!(un.unseal_record(&[], "a\nb", "", 1, vault.head()).is_err());
    let outcome = un.check_all(&vault);
    assert!(un
        .drill_record(&outcome, DrillKind::Drill, "a\tb", "", 1, vault.head())
        .is_err());
    // A good one is signed for its place: appended, its signature
    // verifies without shares; altered, or placed elsewhere, replay
    // refuses it as damage.
    let ok = un.unseal_record(&[], "fine", "", 1, vault.head()).unwrap();
    let mut grown = vault.clone();
    grown.push(ok.clone()).unwrap();
    assert!(un.bad_macs(&grown).is_empty());
    let Record::Unseal(mut u) = ok.clone() else {
        unreachable!()
    };
    u.reason = "fine!".into();
    let mut forged = vault.clone();
    let refused = forged.push(Record::Unseal(u)).unwrap_err().to_string();
    assert!(
        refused.contains("record #2") && refused.contains("signature does not verify"),
        "{refused}"
    );
    // The same signed record one place later (a record removed before it,
    // or one inserted): refused too.
    let mut moved = grown.clone();
    let refused = moved.push(ok).unwrap_err().to_string();
    assert!(
        refused.contains("record #3") && refused.contains("signature"),
        "{refused}"
    );
}

#[test]
fn rejects_bad_specs() {
    for (k, names, msg) in [
        (1, vec!["a", "b"], "at least 2"),
        (3, vec!["a", "b"], "more than the 2"),
        (2, vec!["a", "A"], "named twice"),
        (2, vec!["a", ""], "custodian name is empty"),
        (2, vec!["a", "b\nc"], "control characters"),
    ] {
        let s = spec(k, &names);
        let err = create(&s, &vec![None; names.len()]).unwrap_err();
        assert!(err.to_string().contains(msg), "{err} should contain {msg}");
    }
    let names: Vec<String> = (0..256).map(|i| format!("c{i}")).collect();
    let s = InitSpec {
        custodians: names,
        ..spec(2, &[])
    };
    assert!(create(&s, &vec![None; 256])
        .unwrap_err()
        .to_string()
        .contains("at most 255"));
    let weak = InitSpec {
        kdf: KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
        },
        ..spec(2, &["a", "b"])
    };
    assert!(create(&weak, &[None, None])
        .unwrap_err()
        .to_string()
        .contains("below the floor"));
}

#[test]
fn share_problems_are_specific() {
    let Created {
        bytes,
        shares: issued,
        ..
    } = create(&spec(2, &["a", "b", "c"]), &[None, None, None]).unwrap();
    let Created { shares: other, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let foreign = share_text::decode(&other[0].text).unwrap();
    assert!(matches!(
        vault.check_share(&foreign, None),
        Err(ShareProblem::ForeignVault(_))
    ));
    let mut body = share_text::decode(&issued[0].text).unwrap();
    body.index = 2; // claims to be b's
    assert_eq!(
        vault.check_share(&body, None).unwrap_err(),
        ShareProblem::CommitmentMismatch {
            custodian: "b".into()
        }
    );
    body.index = 9;
    assert_eq!(
        vault.check_share(&body, None).unwrap_err(),
        ShareProblem::UnknownIndex(9)
    );
}

#[test]
fn too_few_and_duplicates_do_not_open() {
    let (vault, s) = checked_shares(3, &["a", "b", "c"]);
    assert_eq!(
        vault.open(&s[..2]).unwrap_err(),
        OpenError::TooFew { need: 3, got: 2 }
    );
    let dup = vec![s[0].clone(), s[0].clone(), s[1].clone()];
    assert_eq!(
        vault.open(&dup).unwrap_err(),
        OpenError::TooFew { need: 3, got: 2 }
    );
}

#[test]
fn an_inconsistent_share_among_more_than_k_is_named() {
    let (vault, mut s) = checked_shares(2, &["a", "b", "c"]);
    // As if b's commitment had been replaced to match a forged share.
    s[1] = KeyShare::new(2, Zeroizing::new([0x42; 32])).unwrap();
    let un = vault.open(&s).unwrap();
    assert_eq!(un.inconsistent(), &[2]);
    assert_eq!(un.custodians(), &[1, 3]);
    // With exactly k shares there is nothing to leave out: damage.
    assert!(matches!(vault.open(&s[..2]), Err(OpenError::KeyMismatch)));
}

#[test]
fn altered_key_check_is_damage() {
    let Created {
        bytes,
        shares: issued,
        ..
    } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let mut vault = load(&bytes);
    vault.genesis.key_check[0] ^= 1;
    // The fingerprint covers the key check: format-2 shares name the
    // change before any passphrase.
    assert!(matches!(
        vault.check_share(&shares_of(&issued)[0], None),
        Err(ShareProblem::OtherFingerprint { generation: 1, .. })
    ));
    let s: Vec<KeyShare> = shares_of(&issued)
        .iter()
        .map(|b| b.unlock(None).unwrap())
        .collect();
    assert!(matches!(vault.open(&s), Err(OpenError::KeyMismatch)));
}

#[test]
fn kind_cannot_change_and_versions_count_up() {
    let Created { bytes, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let mut bytes = bytes;
    let d = vault
        .deposit(
            "k",
            EntryKind::RecoveryKey,
            &secret("ABCD-EFGH-IJKL-MNOP-QRST-UVWX"),
            &meta(1),
        )
        .unwrap();
    append(&mut bytes, &vault, &d);
    let vault = load(&bytes);
    let err = vault
        .deposit("k", EntryKind::Password, &secret("y"), &meta(2))
        .unwrap_err();
    assert!(err.to_string().contains("holds a recovery-key"), "{err}");
    assert!(vault
        .deposit(
            "k",
            EntryKind::RecoveryKey,
            &EntrySecret {
                username: Zeroizing::new(String::new()),
                secret: Zeroizing::new(Vec::new()),
            },
            &meta(2)
        )
        .is_err());
}

#[test]
fn replayed_deposit_is_refused() {
    let Created { mut bytes, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let d = vault
        .deposit("k", EntryKind::Note, &secret("x"), &meta(1))
        .unwrap();
    append(&mut bytes, &vault, &d);
    let vault = load(&bytes);
    append(&mut bytes, &vault, &d); // the same record again, correctly chained
    let err = Vault::replay(&log::parse(&bytes).unwrap()).unwrap_err();
    assert!(err.to_string().contains("version out of sequence"), "{err}");
}

#[test]
fn moved_metadata_fails_to_decrypt() {
    let Created {
        mut bytes,
        shares: issued,
        ..
    } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let d = vault
        .deposit("alpha", EntryKind::Password, &secret("x"), &meta(1))
        .unwrap();
    let Record::Deposit(mut moved) = d.clone() else {
        unreachable!()
    };
    moved.label = "beta".into();
    append(&mut bytes, &vault, &Record::Deposit(moved));
    let vault = load(&bytes);
    let s: Vec<KeyShare> = shares_of(&issued)
        .iter()
        .map(|b| vault.check_share(b, None).unwrap())
        .collect();
    let un = vault.open(&s).unwrap();
    let err = un.reveal(&vault, "beta").unwrap().unwrap_err();
    assert_eq!(err.label, "beta");
    assert_eq!(err.record, 2);
}

/// An unseal record says what was revealed; one that cannot (over 65,535
/// entry versions, or a body over 1 MiB) is refused rather than written
/// with a wrapped count.
#[test]
fn an_unseal_record_too_large_to_name_everything_is_refused() {
    let (vault, s) = checked_shares(2, &["a", "b"]);
    let un = vault.open(&s).unwrap();
    let many: Vec<(String, u32)> = (0..65_536).map(|i| (format!("e{i}"), 1)).collect();
    assert_eq!(
        un.unseal_record(&many, "", "", 1, vault.head())
            .unwrap_err(),
        InputError::TooManyRevealed { count: 65_536 }
    );
    let long: Vec<(String, u32)> = (0..9_000).map(|i| (format!("{i:0>120}"), 1)).collect();
    assert!(un.unseal_record(&long, "", "", 1, vault.head()).is_err());
    assert!(un
        .unseal_record(&many[..65_535], "", "", 1, vault.head())
        .is_ok());
}

/// A new 2-of-2 vault's bytes, the vault and its two shares, checked.
fn two_of_two() -> (Vec<u8>, Vault, Vec<KeyShare>) {
    let Created { bytes, shares, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let shares = shares_of(&shares)
        .iter()
        .map(|b| vault.check_share(b, None).unwrap())
        .collect();
    (bytes, vault, shares)
}

#[test]
fn exported_key_deposits_share_one_encapsulation_and_open_alone() {
    let (mut bytes, vault, shares) = two_of_two();
    let f = vault.fingerprint();
    let batch =
        crate::escrow::Batch::new(&vault.genesis.escrow_public, &exported_info(&f)).unwrap();
    let mut v = vault;
    for (label, s) in [("bl-1", "s-1"), ("bl-2", "s-2"), ("bl-1", "s-3")] {
        let r = v
            .prepare_deposit(label, EntryKind::Password, &secret(s), &meta(9))
            .unwrap()
            .seal_in(&batch, &f, crate::keys::random_array());
        assert_eq!(r.kind(), crate::record::kind::DEPOSIT_EXPORTED);
        append(&mut bytes, &v, &r);
        v = load(&bytes);
    }
    assert_eq!(v.entries().get("bl-1").unwrap().versions.len(), 2);
    let un = v.open(&shares).unwrap();
    let shown = |label: &str, version| {
        let r = un.reveal_version(&v, label, version).unwrap().unwrap();
        String::from_utf8(r.secret.secret.to_vec()).unwrap()
    };
    assert_eq!(shown("bl-1", 1), "s-1");
    assert_eq!(shown("bl-1", 2), "s-3");
    assert_eq!(shown("bl-2", 1), "s-2");
    let outcome = un.check_all(&v);
    assert_eq!((outcome.ok, outcome.failed.len()), (3, 0));

    // A copy of version 1 appended as version 3 would decrypt (the version
    // is not in this form's AAD): its repeated deposit id is damage.
    let Record::Deposit(mut copy) = v.records()[1].record.clone() else {
        unreachable!()
    };
    copy.version = 3;
    let mut copied = bytes.clone();
    append(&mut copied, &v, &Record::Deposit(copy));
    let err = Vault::replay(&log::parse(&copied).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("deposit id repeats the deposit in record #2"),
        "{err}"
    );

    // Metadata moved or altered: the deposit no longer opens.
    let Record::Deposit(mut moved) = v.records()[2].record.clone() else {
        unreachable!()
    };
    let mut same_id = bytes.clone();
    let mut relabelled = moved.clone();
    relabelled.label = "bl-1".into();
    relabelled.version = 3;
    append(&mut same_id, &v, &Record::Deposit(relabelled));
    assert!(Vault::replay(&log::parse(&same_id).unwrap()).is_err());
    // With a fresh deposit id it replays, but does not open.
    moved.label = "bl-1".into();
    moved.version = 3;
    moved.deposit_id = Some([0xAB; 16]);
    let mut forged = bytes.clone();
    append(&mut forged, &v, &Record::Deposit(moved));
    let fv = load(&forged);
    assert!(un.reveal_version(&fv, "bl-1", 3).unwrap().is_err());
}

#[test]
fn a_drill_keeps_batch_contexts_and_still_finds_the_deposit_that_fails() {
    let (mut bytes, mut v, shares) = two_of_two();
    let f = v.fingerprint();
    // More batches than the openers keep, their rows interleaved, one
    // deposit sealed alone, and one whose ciphertext was altered.
    let batches: Vec<_> = (0..super::deposit::Openers::KEPT + 6)
        .map(|_| crate::escrow::Batch::new(&v.genesis.escrow_public, &exported_info(&f)).unwrap())
        .collect();
    let mut records = Vec::new();
    for round in 0..2 {
        for (i, batch) in batches.iter().enumerate() {
            let label = format!("e-{i}");
            let r = v
                .prepare_deposit(
                    &label,
                    EntryKind::Password,
                    &secret(&format!("s{round}")),
                    &meta(9),
                )
                .unwrap()
                .seal_in(batch, &f, crate::keys::random_array());
            append(&mut bytes, &v, &r);
            v = load(&bytes);
            records.push(r);
        }
    }
    let alone = v
        .prepare_deposit("alone", EntryKind::Password, &secret("x"), &meta(9))
        .unwrap()
        .seal()
        .unwrap();
    append(&mut bytes, &v, &alone);
    v = load(&bytes);
    let Record::Deposit(mut bad) = records[3].clone() else {
        unreachable!()
    };
    bad.version = 1;
    bad.ciphertext[0] ^= 1;
    // Deposited "bad" first, then "a-bad": named in label order.
    for label in ["bad", "a-bad"] {
        bad.label = label.into();
        bad.deposit_id = Some(crate::keys::random_array());
        append(&mut bytes, &v, &Record::Deposit(bad.clone()));
        v = load(&bytes);
    }

    let un = v.open(&shares).unwrap();
    let outcome = un.check_all(&v);
    assert_eq!(outcome.ok as usize, 2 * batches.len() + 1);
    assert_eq!(
        outcome
            .failed
            .iter()
            .map(|e| e.label.as_str())
            .collect::<Vec<_>>(),
        ["a-bad", "bad"]
    );
    // Each deposit opens through the kept contexts as it does alone.
    let escrow = &un.escrow;
    let id = v.id();
    let mut openers = super::deposit::Openers::new(escrow, id, &f);
    let mut most = 0;
    for r in v.records() {
        if let Record::Deposit(d) = &r.record {
            let alone = super::deposit::open_deposit(escrow, id, || f, d);
            assert_eq!(openers.open(d), alone, "{}", d.label);
            most = most.max(openers.kept());
        }
    }
    // Every batch's context kept until the cache is full, never more.
    assert_eq!(most, super::deposit::Openers::KEPT);
}

/// Format-2 shares are prechecked against the vault before any
/// passphrase (FORMAT.md §6.7): another vault, a newer generation, the
/// same generation of another vault file; line 1 alone is enough for the
/// first two.
#[test]
fn format_2_shares_are_prechecked_by_vault_generation_and_fingerprint() {
    use crate::share::ShareIdentity;
    let Created { bytes, shares, .. } = create(&spec(2, &["a", "b"]), &[None, None]).unwrap();
    let vault = load(&bytes);
    let body = shares_of(&shares).remove(0);
    assert_eq!(body.identity.generation(), Some(1));
    vault.precheck_share(&body).unwrap();
    let ShareIdentity::V2 {
        vault_tag,
        fingerprint,
        ..
    } = body.identity
    else {
        panic!("init writes format 2")
    };
    let with = |identity| ShareBody {
        identity,
        ..body.clone()
    };
    let newer = with(ShareIdentity::V2 {
        vault_tag,
        generation: 2,
        fingerprint,
    });
    assert_eq!(
        vault.precheck_share(&newer).unwrap_err(),
        ShareProblem::NewerGeneration {
            generation: 2,
            current: 1
        }
    );
    let mut other_fpr = fingerprint;
    other_fpr[0] ^= 1;
    let replaced = with(ShareIdentity::V2 {
        vault_tag,
        generation: 1,
        fingerprint: other_fpr,
    });
    assert!(matches!(
        vault.precheck_share(&replaced).unwrap_err(),
        ShareProblem::OtherFingerprint { generation: 1, .. }
    ));
    let mut other_tag = vault_tag;
    other_tag[4] ^= 1;
    let foreign = with(ShareIdentity::V2 {
        vault_tag: other_tag,
        generation: 1,
        fingerprint,
    });
    assert!(matches!(
        vault.precheck_share(&foreign).unwrap_err(),
        ShareProblem::ForeignVault(_)
    ));
    let line = |vault_tag, generation| crate::share_text::LineOne {
        protected: false,
        index: 1,
        generation,
        vault_tag,
    };
    vault.precheck_line_one(&line(vault_tag, 1)).unwrap();
    assert!(matches!(
        vault.precheck_line_one(&line(vault_tag, 3)),
        Err(ShareProblem::NewerGeneration { generation: 3, .. })
    ));
    assert!(matches!(
        vault.precheck_line_one(&line(other_tag, 1)),
        Err(ShareProblem::ForeignVault(_))
    ));
    // The words people read never say "commitment".
    for p in [
        vault.precheck_share(&newer).unwrap_err(),
        vault.precheck_share(&replaced).unwrap_err(),
    ] {
        assert!(!p.to_string().contains("commitment"), "{p}");
    }
}

/// A session's keys (issue 19): once the master key is forgotten, neither
/// it nor the shares that make it stay; the escrow key still reveals and
/// the quorum's key still signs records that replay accepts.
#[test]
fn a_forgotten_master_key_leaves_reveal_and_signing_only() {
    let (mut vault, shares) = checked_shares(2, &["a", "b", "c"]);
    let s = secret("kept");
    let d = vault
        .deposit("x", EntryKind::Password, &s, &meta(1))
        .unwrap();
    vault.push(d).unwrap();
    let mut un = vault.open(&shares[..2]).unwrap();
    assert!(un.holds_master_key());
    assert!(un.forget_master_key());
    assert!(
        !un.holds_master_key(),
        "neither the key nor the shares stay"
    );
    let r = un.reveal(&vault, "x").unwrap().unwrap();
    assert_eq!(&r.secret.secret[..], b"kept");
    let record = un
        .unseal_record(&[("x".into(), 1)], "session", "", 2, vault.head())
        .unwrap();
    vault.push(record).unwrap();
    assert!(un.bad_macs(&vault).is_empty());
    // What needs the master key or the shares is refused, never a panic.
    assert!(un
        .reissue(&vault, 3, None, crate::passphrase::KdfParams::FLOOR)
        .is_err());
}

/// A replay that keeps no records reads deposits where they lie (no
/// `Record` is built for them): on every fixture, good or damaged, it
/// reaches the same state or stops at the same record with the same
/// words as the replay that keeps every record.
#[test]
fn a_replay_without_records_reads_deposits_as_the_whole_replay_does() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
    let mut files = vec![
        format!("{root}/v1/golden.bg"),
        format!("{root}/v1/lifecycle/lifecycle.bg"),
        format!("{root}/v2/golden.bg"),
        format!("{root}/v2/lifecycle/lifecycle.bg"),
        format!("{root}/v2/upgraded/upgraded.bg"),
    ];
    let bad = std::fs::read_dir(format!("{root}/bad")).unwrap();
    files.extend(
        bad.map(|e| e.unwrap().path().display().to_string())
            .filter(|p| p.ends_with(".bg")),
    );
    let mut deposits = 0;
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let Ok(parsed) = log::parse(&bytes) else {
            continue;
        };
        let frames = &parsed.frames;
        let whole = Vault::replay(&parsed);
        let streamed = (|| {
            let mut v = Vault::begin(frames.first(), false)?;
            for (i, f) in frames.iter().enumerate().skip(1) {
                v.replay_frame(f, i + 1)?;
            }
            v.finish()?;
            Ok::<_, ReplayError>(v)
        })();
        match (whole, streamed) {
            (Ok(a), Ok(b)) => {
                let entries = |v: &Vault| {
                    v.entries()
                        .iter()
                        .map(|(l, e)| (l.to_owned(), e))
                        .collect::<Vec<_>>()
                };
                assert_eq!(entries(&a), entries(&b), "{path}");
                assert_eq!((a.head(), a.count), (b.head(), b.count), "{path}");
                deposits += a
                    .entries()
                    .values()
                    .map(|e| e.versions.len())
                    .sum::<usize>();
            }
            // The first five are good vaults.
            (Err(a), Err(b)) if i >= 5 => assert_eq!(a, b, "{path}"),
            (a, b) => panic!("{path}: {:?} against {:?}", a.err(), b.err()),
        }
    }
    // The fixtures hold deposits for the fast path to read.
    assert!(deposits >= 10, "{deposits} deposits");
}

/// Both replays on `bytes`: the same error, which is `want`.
fn both_replays_refuse(bytes: &[u8], want: &str) {
    let parsed = log::parse(bytes).unwrap();
    let whole = Vault::replay(&parsed).unwrap_err();
    let frames = &parsed.frames;
    let mut v = Vault::begin(frames.first(), false).unwrap();
    let streamed = frames
        .iter()
        .enumerate()
        .skip(1)
        .try_for_each(|(i, f)| v.replay_frame(f, i + 1))
        .unwrap_err();
    assert_eq!(whole, streamed);
    assert!(whole.to_string().contains(want), "{whole}");
}

/// A deposit read where it lies is still checked for its place: not as
/// the second record of a rewritten file (the replaced file's genesis
/// belongs there), nor where it must have its closing rekey record.
#[test]
fn a_deposit_out_of_place_is_refused_by_either_replay() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
    let deposit = crate::record::Record::Deposit(crate::record::Deposit {
        time: 1_700_000_000,
        actor: "x".into(),
        label: "a".into(),
        kind: EntryKind::Password,
        version: 1,
        attributes: Vec::new(),
        enc: [0; 32],
        ciphertext: vec![0; 32],
        deposit_id: Some([1; 16]),
    });
    let (kind, body) = (deposit.kind(), deposit.encode_body());
    let upgraded = std::fs::read(format!("{root}/v2/upgraded/upgraded.bg")).unwrap();
    let frames = log::parse(&upgraded).unwrap().frames;
    let closing = frames
        .iter()
        .find(|f| f.kind == crate::record::kind::REKEY_V2)
        .expect("an upgraded file closes its carried records with a rekey record");
    let mut cut = upgraded[..closing.offset as usize].to_vec();
    let (frame, _) = log::encode_frame(&closing.prev, kind, &body);
    cut.extend_from_slice(&frame);
    both_replays_refuse(&cut, "must be the rekey record that closes");

    let second = &frames[1];
    let mut early = upgraded[..second.offset as usize].to_vec();
    let (frame, _) = log::encode_frame(&second.prev, kind, &body);
    early.extend_from_slice(&frame);
    both_replays_refuse(&early, "second record must be the replaced file's genesis");
}
