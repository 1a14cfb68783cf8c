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
    let swapped = crate::util::with_genesis(&good, |g| g.escrow_public = [9; 32]);
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
