//! Deposits without the vault file (FORMAT.md §7.9): `recipient`,
//! `seal --to` and `ingest`, on the real binary — including the deposit
//! hijack of issue 11 (an escrow key swapped in the file) caught by ingest
//! and by a depositor pinned with the recipient.

use crate::util::{json, stderr, stdout, Env};

fn recipient(env: &Env) -> String {
    stdout(&env.run(&["recipient", "v.bg"], "").success())
        .trim()
        .to_owned()
}

fn seal_to(env: &Env, to: &str, label: &str, secret: &str, out: &str) {
    env.run(
        &["seal", "--to", to, "--label", label, "--out", out],
        secret,
    )
    .success();
}

fn ingest(env: &Env, files: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec!["ingest", "v.bg"];
    args.extend(files);
    env.run(&args, "")
}

#[test]
fn tokens_sealed_without_the_vault_are_ingested_once_and_open_with_a_quorum() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let r = recipient(&env);
    assert!(r.starts_with("breakglass1") && r.len() == 120, "{r}");
    // Two devices, two files; one device rotated twice.
    seal_to(&env, &r, "laps-pc1", "pw-old", "pc1.tokens");
    seal_to(&env, &r, "laps-pc1", "pw-new", "pc1.tokens");
    seal_to(&env, &r.to_uppercase(), "fv-c02x", "ABCD", "mac.tokens");
    let out = ingest(&env, &["pc1.tokens", "mac.tokens"]).success();
    let text = stdout(&out);
    assert!(
        text.contains("pc1.tokens line 1: ingested as 'laps-pc1' version 1")
            && text.contains("pc1.tokens line 2: ingested as 'laps-pc1' version 2")
            && text.contains("mac.tokens line 1: ingested as 'fv-c02x' version 1"),
        "{text}"
    );
    assert!(stderr(&out).contains("breakglass-receipt:v1:"));
    // Again: nothing added, each named where it already is.
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let again = stdout(&ingest(&env, &["pc1.tokens"]).success());
    assert!(
        again.contains("line 2: already ingested as 'laps-pc1' version 2 (record #3)"),
        "{again}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    // The newest is current; a drill opens every version.
    let shown = stdout(
        &env.unseal(&["alice", "bob"], &["--entry", "laps-pc1"], "")
            .success(),
    );
    assert!(
        shown.contains("pw-new") && !shown.contains("pw-old"),
        "{shown}"
    );
    let drill = stdout(
        &env.run(
            &[
                "drill",
                "v.bg",
                "--share",
                "shares/alice.share",
                "--share",
                "shares/bob.share",
            ],
            "",
        )
        .success(),
    );
    assert!(
        drill.contains("all 3 versions of 2 entries decrypt"),
        "{drill}"
    );
}

/// The deposit hijack of issue 11: whoever can write the file swaps the
/// escrow key in genesis and re-chains. A device that seals with the
/// recipient it was given keeps sealing to the real key, and ingest refuses
/// its tokens into the swapped file (exit 4, nothing written); a depositor
/// with the file, pinned by the recipient, is told the escrow key changed.
#[test]
fn escrow_key_swap_is_caught_by_ingest_and_by_a_pinned_recipient() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let r = recipient(&env);
    seal_to(&env, &r, "entra-ba1", "the-real-password", "t.tokens");
    let good = std::fs::read(env.path("v.bg")).unwrap();
    let swapped = crate::util::hijacked(&good);
    env.write("v.bg", &swapped);
    let _ = std::fs::remove_file(env.path("v.bg.index"));

    let out = ingest(&env, &["t.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("t.tokens line 1: the token was sealed to the vault with fingerprint")
            && err.contains("it is for another vault, or this vault's keys were replaced")
            && err.contains("nothing was ingested"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), swapped);

    let out = env.run(&["seal", "v.bg", "--label", "new", "--expect", &r], "s");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("its escrow key differs from the recipient's")
            && err.contains("nothing was sealed"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), swapped);
    // The real file takes both.
    env.write("v.bg", &good);
    ingest(&env, &["t.tokens"]).success();
    env.run(&["seal", "v.bg", "--label", "new", "--expect", &r], "s")
        .success();
}

#[test]
fn a_damaged_or_foreign_line_stops_the_whole_ingest() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let r = recipient(&env);
    seal_to(&env, &r, "a", "pw-a", "t.tokens");
    seal_to(&env, &r, "b", "pw-b", "t.tokens");
    let text = env.read("t.tokens");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // One character changed in line 2 (a copy-paste accident).
    let at = lines[1].len() - 20;
    let c = if &lines[1][at..=at] == "A" { "B" } else { "A" };
    lines[1].replace_range(at..=at, c);
    env.write("t.tokens", format!("# devices\n{}\n", lines.join("\n")));
    let before = std::fs::read(env.path("v.bg")).unwrap();
    let out = ingest(&env, &["t.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(2), "{err}");
    assert!(
        err.contains("t.tokens line 3: the token is damaged") && err.contains("copy it again"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);

    // A file with no token at all is named, not silently accepted.
    env.write("empty.tokens", "nothing here\n");
    let out = ingest(&env, &["empty.tokens"]);
    assert_eq!(out.get_output().status.code(), Some(2));
    assert!(stderr(&out).contains("holds no deposit token"));

    // Sealing to a mistyped recipient is refused before a secret is read.
    let mut bad = r.clone();
    bad.replace_range(20..21, if &r[20..21] == "q" { "p" } else { "q" });
    let out = env.run(&["seal", "--to", &bad, "--label", "x"], "pw");
    assert_eq!(out.get_output().status.code(), Some(2));
    assert!(
        stderr(&out).contains("--to: the recipient"),
        "{}",
        stderr(&out)
    );
}

/// After a rekey the old recipient is retired: a token sealed to it names
/// the rekey instead of "another vault", exit 2.
#[test]
fn a_token_for_a_retired_generation_names_the_rekey() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let old = recipient(&env);
    seal_to(&env, &old, "late", "pw", "t.tokens");
    let mut rekey = vec!["rekey", "v.bg", "--share", "shares/alice.share"];
    rekey.extend(["--share", "shares/bob.share", "--threshold", "2"]);
    rekey.extend(["--share-dir", "new", "--no-passphrase"]);
    rekey.extend(["--custodian", "bob", "--custodian", "carol"]);
    env.run(&rekey, "").success();
    assert_ne!(recipient(&env), old);
    let out = ingest(&env, &["t.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(2), "{err}");
    assert!(
        err.contains("was sealed to generation 1's recipient, retired by the rekey"),
        "{err}"
    );
    let j = json(&env.run(&["recipient", "v.bg", "--json"], "").success());
    assert_eq!(j["generation"], 2);
    assert_eq!(j["recipient"].as_str().unwrap(), recipient(&env));
}

/// A forged token for the victim's token: same deposit id and metadata, the
/// attacker's secret, sealed with nothing but the public recipient.
fn forged_like(victim_line: &str, secret: &str) -> String {
    use vault_core::entry::EntrySecret;
    use vault_core::token::Token;
    let mut t = Token::parse(victim_line).unwrap();
    let info = vault_core::vault::exported_info(&t.fingerprint);
    let batch = vault_core::escrow::Batch::new(&t.escrow_public, &info).unwrap();
    let plain = EntrySecret {
        username: zeroize::Zeroizing::new(String::new()),
        secret: zeroize::Zeroizing::new(secret.as_bytes().to_vec()),
    }
    .encode();
    t.deposit.ciphertext = batch.seal(&t.deposit.exported_aad(&t.fingerprint), &plain);
    t.deposit.enc = batch.enc();
    t.to_line()
}

/// Red-team finding: ingest skipped a token as "already ingested" when only
/// its deposit id matched, so an attacker who saw a device's token could
/// ingest a forged one first and make the real secret vanish (exit 0). Now
/// a token is skipped only when it is that very deposit; another deposit
/// under the same id is refused, exit 4, in either order, nothing written.
#[test]
fn a_forged_token_with_a_victims_deposit_id_is_refused() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let r = recipient(&env);
    seal_to(&env, &r, "laps-pc1", "the-real-password", "victim.tokens");
    let victim = env.read("victim.tokens");
    env.write(
        "evil.tokens",
        forged_like(victim.trim(), "attacker-knows-this") + "\n",
    );
    let before = std::fs::read(env.path("v.bg")).unwrap();
    // In one ingest, the forged token first.
    let out = ingest(&env, &["evil.tokens", "victim.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("victim.tokens line 1: the token carries the deposit id of token 1 of this ingest, but not its content"),
        "{err}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), before);
    // In two ingests: the forged one lands first (it is a deposit like any
    // other), and the real one is then refused loudly, not skipped.
    ingest(&env, &["evil.tokens"]).success();
    let out = ingest(&env, &["victim.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("carries the deposit id of record #2 of the vault, but not its content"),
        "{err}"
    );
}

/// Red-team finding: a recipient with the vault's real fingerprint but an
/// attacker's escrow key (an altered MDM profile) was accepted by --expect,
/// and tokens sealed with it were ingested though the vault cannot open
/// them. Both are refused now, exit 4.
#[test]
fn a_recipient_with_the_real_fingerprint_and_another_key_is_refused() {
    use vault_core::recipient::Recipient;
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let real = Recipient::parse(&recipient(&env)).unwrap();
    let mut forged = real;
    forged.escrow_public = vault_core::vault::Vault::replay(
        &vault_core::log::parse(&{
            let other = Env::new();
            other.init(2, &["x", "y"], true);
            std::fs::read(other.path("v.bg")).unwrap()
        })
        .unwrap(),
    )
    .unwrap()
    .genesis()
    .escrow_public;
    let forged = forged.to_string();
    let out = env.run(&["seal", "v.bg", "--label", "n", "--expect", &forged], "s");
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(
        err.contains("carries this vault's fingerprint") && err.contains("another escrow key"),
        "{err}"
    );
    seal_to(&env, &forged, "laps-pc1", "pw", "t.tokens");
    let out = ingest(&env, &["t.tokens"]);
    let err = stderr(&out);
    assert_eq!(out.get_output().status.code(), Some(4), "{err}");
    assert!(err.contains("was sealed to another escrow key"), "{err}");
}

/// Red-team findings: two tokens of one label with different kinds were
/// "would ingest" in a dry run and vault damage (exit 4) for real; a token
/// already carried over by a rekey blocked the whole ingest. Now: the kind
/// change is a named input error (exit 2) in both; the carried token is
/// skipped.
#[test]
fn kind_changes_are_named_and_carried_tokens_are_skipped() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    let r = recipient(&env);
    env.run(
        &["seal", "--to", &r, "--label", "l", "--out", "k.tokens"],
        "pw",
    )
    .success();
    env.run(
        &[
            "seal", "--to", &r, "--label", "l", "--kind", "note", "--out", "k.tokens",
        ],
        "note",
    )
    .success();
    for dry in [true, false] {
        let mut args = vec!["ingest", "v.bg", "k.tokens"];
        if dry {
            args.push("--dry-run");
        }
        let out = env.run(&args, "");
        let err = stderr(&out);
        assert_eq!(out.get_output().status.code(), Some(2), "dry {dry}: {err}");
        assert!(
            err.contains("k.tokens line 2") && err.contains("'l'"),
            "{err}"
        );
    }
    seal_to(&env, &r, "carried", "pw-c", "c.tokens");
    ingest(&env, &["c.tokens"]).success();
    let mut rekey = vec!["rekey", "v.bg", "--share", "shares/alice.share"];
    rekey.extend(["--share", "shares/bob.share", "--threshold", "2"]);
    rekey.extend(["--share-dir", "new", "--no-passphrase"]);
    rekey.extend(["--custodian", "bob", "--custodian", "carol"]);
    env.run(&rekey, "").success();
    let out = ingest(&env, &["c.tokens"]).success();
    assert!(
        stdout(&out).contains("already ingested as 'carried' version 1"),
        "{}",
        stdout(&out)
    );
    // seal --to --json gives the token and the fingerprint.
    let j = json(
        &env.run(
            &["seal", "--to", &recipient(&env), "--label", "j", "--json"],
            "pw",
        )
        .success(),
    );
    assert!(j["token"]
        .as_str()
        .unwrap()
        .starts_with("breakglass-deposit:v1:"));
    assert_eq!(j["label"], "j");
}
