//! `breakglass upgrade` (docs/FORMAT.md §14.6): a quorum moves a version 1
//! vault to version 2. The shares and envelopes stay valid, the history and
//! the audit trail are kept, a receipt of the version 1 file still
//! verifies, and a trail whose MACs fail is never vouched for.

use crate::util::{stderr, Env};

/// A version 1 drill record a forger made: all versions fine, an hour
/// after the golden vault's records, with a MAC that is not the quorum's.
fn forged_drill(custodians: &[u8]) -> vault_core::record::Record {
    use vault_core::record::{Drill, DrillKind, Proof, Record};
    Record::Drill(Drill {
        time: 1_795_478_400 + 3600,
        actor: "forger".into(),
        custodians: custodians.to_vec(),
        kind: DrillKind::Drill,
        versions_ok: 4,
        versions_failed: 0,
        reason: "quarterly".into(),
        proof: Proof::Mac([0x5a; 32]),
    })
}

/// The version 1 golden vault and its three shares in `env`.
fn v1_golden(env: &Env) {
    for name in ["golden.bg", "alice.share", "bob.share", "carol.share"] {
        env.write(name, crate::util::fixture(&format!("v1/{name}")));
    }
}

fn upgrade(env: &Env) -> assert_cmd::assert::Assert {
    let args = [
        "upgrade",
        "golden.bg",
        "--share",
        "carol.share",
        "--share",
        "alice.share",
        "--contact",
        "Security on-call +1 555 0100",
    ];
    env.run(&args, "golden-alice-passphrase\n")
}

#[test]
fn a_v1_vault_upgrades_and_its_shares_receipts_and_trail_stay() {
    let env = Env::new();
    v1_golden(&env);
    let v1 = crate::util::load(&crate::util::fixture("v1/golden.bg"));
    let receipt = vault_core::receipt::Receipt::of(&v1).to_line();
    let out = upgrade(&env).success();
    let text = crate::util::stdout(&out);
    assert!(
        text.contains("Upgraded golden.bg to format version 2 with the shares of carol, alice")
            && text.contains(&format!("(was {})", v1.fingerprint()))
            && text.contains("The shares and envelopes stay valid (generation 1)"),
        "{text}"
    );
    let v2 = crate::util::load(&std::fs::read(env.path("golden.bg")).unwrap());
    assert_eq!((v2.format(), v2.generation()), (2, 1));
    assert_eq!(v2.contact(), "Security on-call +1 555 0100");
    assert_eq!(v2.entries().len(), v1.entries().len());
    // Checked by anyone now; the v1 receipt still extends the file.
    let out = env
        .run(
            &["audit", "golden.bg", "--verify", "--receipt", &receipt],
            "",
        )
        .success();
    assert!(stderr(&out).contains("every quorum and custodian signature valid"));
    // The v1 envelopes open it; the unseal is signed.
    let mut args = crate::util::unseal_args("golden.bg", &["bob.share", "carol.share"]);
    args.extend(["--entry", "entra-ba1", "--json"]);
    let v = crate::util::json(&env.run(&args, "golden-bob-passphrase\n").success());
    assert_eq!(v["entries"][0]["secret"], "Golden-Entra-v2!");
    env.run(&["audit", "golden.bg", "--verify"], "").success();
    let status = crate::util::stdout(&env.run(&["status", "golden.bg"], ""));
    assert!(!status.contains("Unverified"), "{status}");
    // The v1 file is kept beside it, unchanged.
    let kept: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("golden.bg.before-upgrade-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read(kept[0].path()).unwrap(),
        crate::util::fixture("v1/golden.bg")
    );
    // Once is enough.
    let again = upgrade(&env);
    let err = stderr(&again);
    assert_eq!(again.get_output().status.code(), Some(2), "{err}");
    assert!(err.contains("already format version 2"), "{err}");
}

/// Issue 11, attack 2 on a version 1 vault: a drill record with a garbage
/// MAC made `status` report the drill as done. `status` now says a version
/// 1 vault's records are unverified, and `upgrade` — which verifies every
/// MAC before the quorum signs — refuses to vouch for it, exit 4, nothing
/// changed.
#[test]
fn upgrade_refuses_to_vouch_for_a_forged_v1_trail() {
    let env = Env::new();
    v1_golden(&env);
    let bytes = crate::util::fixture("v1/golden.bg");
    let mut records = crate::util::records_of(&bytes);
    records.push(forged_drill(&[1, 2]));
    let forged = crate::util::encode_log(&records);
    env.write("golden.bg", &forged);
    let status =
        crate::util::stdout(&env.run(&["status", "golden.bg", "--at", "2026-11-25T00:00:00Z"], ""));
    assert!(
        status.contains("Unverified:  this is a version 1 vault"),
        "{status}"
    );
    let out = upgrade(&env);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("records [8] fail their MAC") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("golden.bg")).unwrap(), forged);
}

/// Red-team finding 3: a version 1 file's share checks (0x04) carry no MAC
/// and its history records (0x06) hold records MAC'd under an old key, so
/// an attacker could add a share check or an old "drill" before an upgrade
/// or a rekey, which the new quorum's signature would then seem to vouch
/// for. The upgraded vault counts neither: only signed records count.
#[test]
fn unverifiable_v1_records_carried_by_an_upgrade_do_not_count() {
    use vault_core::record::{Drill, DrillKind, History, Proof, Record, ShareVerified};
    let env = Env::new();
    v1_golden(&env);
    let bytes = crate::util::fixture("v1/golden.bg");
    let mut records = crate::util::records_of(&bytes);
    let when = 1_795_478_400 + 3600;
    records.push(Record::ShareVerified(ShareVerified {
        time: when,
        actor: "forger".into(),
        custodian: 1,
        signature: None,
    }));
    let drill = Record::Drill(Drill {
        time: when,
        actor: "forger".into(),
        custodians: vec![1, 2],
        kind: DrillKind::Drill,
        versions_ok: 4,
        versions_failed: 0,
        reason: "quarterly".into(),
        proof: Proof::Mac([0x5a; 32]),
    });
    records.push(Record::History(History {
        kind: drill.kind(),
        record: 9,
        hash: [0; 32],
        body: drill.encode_body(),
        v2: None,
    }));
    env.write("golden.bg", crate::util::encode_log(&records));
    upgrade(&env).success();
    let s = crate::util::json(&env.run(&["status", "golden.bg", "--json"], ""));
    assert_eq!(s["last_drill"], serde_json::Value::Null, "{s}");
    assert_eq!(s["custodians"][0]["verifications"], 0, "{s}");
    assert_eq!(s["records_verified"], true);
}

/// Red-team finding 3b: a rekey of a version 1 file checks every MAC
/// before the new quorum signs the carried trail, as an upgrade does.
#[test]
fn a_rekey_refuses_to_carry_a_forged_v1_trail() {
    let env = Env::new();
    v1_golden(&env);
    let bytes = crate::util::fixture("v1/golden.bg");
    let mut records = crate::util::records_of(&bytes);
    records.push(forged_drill(&[1, 3]));
    let forged = crate::util::encode_log(&records);
    env.write("golden.bg", &forged);
    let mut args = vec!["rekey", "golden.bg", "--share", "carol.share"];
    args.extend(["--share", "alice.share"]);
    args.extend(crate::util::rekey_to("2", &["x", "y"], "new", "rotation"));
    let out = env.run(&args, "golden-alice-passphrase\n");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(err.contains("records [8] fail their MAC"), "{err}");
    assert_eq!(std::fs::read(env.path("golden.bg")).unwrap(), forged);
}

/// Red-team finding 5: one custodian's share checks the signature key the
/// genesis names for them, so `verify-share` alone tells a vault forged
/// with someone else's keys (here an "upgrade" signed by an attacker) —
/// exit 4 — instead of saying "Share OK" and appending a record that can
/// never verify.
#[test]
fn one_share_refuses_a_genesis_that_names_another_key_for_it() {
    let env = Env::new();
    v1_golden(&env);
    upgrade(&env).success();
    let good = std::fs::read(env.path("golden.bg")).unwrap();
    let attacker = vault_core::keys::MasterKey::generate();
    let forged = crate::util::resigned(&good, &attacker, |g| {
        for (i, c) in g.custodians.iter_mut().enumerate() {
            let key = vault_core::sign::quorum_key(&attacker, &g.vault_id, 100 + i as u16);
            c.public = Some(key.public().0);
        }
    });
    env.write("golden.bg", &forged);
    let _ = std::fs::remove_file(env.path("golden.bg.index"));
    env.run(&["list", "golden.bg"], "").success();
    let out = env.run(&["verify-share", "golden.bg", "--share", "carol.share"], "");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("names another signature key for them"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("golden.bg")).unwrap(), forged);
}
