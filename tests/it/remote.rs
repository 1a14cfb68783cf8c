//! Remote custodians on the real binary: three custodians in three
//! separate directories contribute to one request; expired, foreign,
//! replayed, tampered and duplicated contributions are named.

use crate::util::{json, pass_lines, stdout, Env, BIN};
use predicates::prelude::*;

/// The operator's vault (in `op/`) and one directory per custodian, each
/// holding only their share and what they were sent.
fn setup() -> Env {
    let env = Env::new();
    for d in ["op", "alice", "bob", "carol"] {
        std::fs::create_dir(env.path(d)).unwrap();
    }
    env.init(2, &["alice", "bob", "carol"], false);
    env.seal("entra-ba1", "remote-secret");
    for who in ["alice", "bob", "carol"] {
        std::fs::rename(
            env.path(&format!("shares/{who}.share")),
            env.path(&format!("{who}/{who}.share")),
        )
        .unwrap();
    }
    env
}

/// `setup`, then request `op/req.txt` (2 hours), to which alice and bob
/// have contributed.
fn contributed_by_alice_and_bob() -> Env {
    let env = setup();
    request(&env, "op/req.txt", "2h");
    contribute(&env, "alice", "op/req.txt").success();
    contribute(&env, "bob", "op/req.txt").success();
    env
}

fn request(env: &Env, out: &str, expires: &str) {
    env.run(
        &[
            "request",
            "v.bg",
            "--out",
            out,
            "--reason",
            "IdP outage INC-9",
            "--expires",
            expires,
        ],
        "",
    )
    .success()
    .stdout(predicate::str::contains("breakglass-request:v1:"));
}

/// Custodian `who` contributes from their own directory to `req`.
fn contribute(env: &Env, who: &str, req: &str) -> assert_cmd::assert::Assert {
    std::fs::copy(env.path(req), env.path(&format!("{who}/request.txt"))).unwrap();
    contribute_from(env, who, "request.txt", pass_lines(&[who]))
}

/// `contribute REQ` by custodian `who`, in their own directory, with their
/// share and stdin `input`.
fn contribute_from(env: &Env, who: &str, req: &str, input: String) -> assert_cmd::assert::Assert {
    let share = format!("{who}.share");
    assert_cmd::Command::new(BIN)
        .current_dir(env.path(who))
        .args([
            "contribute",
            req,
            "--share",
            &share,
            "--out",
            "contribution.txt",
            "--yes",
        ])
        .write_stdin(input)
        .assert()
}

/// The contributions of alice and bob (in their directories).
const ALICE_AND_BOB: [&str; 2] = ["alice/contribution.txt", "bob/contribution.txt"];

fn unseal_request(env: &Env, req: &str, contributions: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec!["unseal", "v.bg", "--request", req, "--json", "--all"];
    for c in contributions {
        args.extend(["--contribution", *c]);
    }
    env.run(&args, "")
}

#[test]
fn three_custodians_in_three_places_contribute_to_one_request() {
    let env = setup();
    request(&env, "op/req.txt", "2h");
    assert!(env.path("op/req.txt.key").exists());
    for who in ["alice", "bob", "carol"] {
        contribute(&env, who, "op/req.txt")
            .success()
            .stderr(predicate::str::contains("reason:  IdP outage INC-9"))
            .stdout(predicate::str::contains("breakglass-contribution:v1:"));
        // The contribution holds no readable share.
        let c = env.read(&format!("{who}/contribution.txt"));
        assert!(!c.contains("BREAKGLASS SHARE"));
    }
    let out = unseal_request(
        &env,
        "op/req.txt",
        &[
            "carol/contribution.txt",
            "alice/contribution.txt",
            "bob/contribution.txt",
        ],
    )
    .success();
    let v = json(&out);
    assert_eq!(v["entries"][0]["secret"], "remote-secret");
    assert_eq!(
        v["custodians"],
        serde_json::json!(["carol", "alice", "bob"])
    );
    // The key is gone: the request is finished.
    assert!(!env.path("op/req.txt.key").exists());
    let audit = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "unseal");
    assert_eq!(
        last["custodians"],
        serde_json::json!(["alice", "bob", "carol"])
    );
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .starts_with("remote request "));
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .ends_with(": IdP outage INC-9"));
}

#[test]
fn replayed_contributions_are_useless() {
    let env = contributed_by_alice_and_bob();
    unseal_request(&env, "op/req.txt", &ALICE_AND_BOB).success();
    // The same request again: its key was destroyed.
    unseal_request(&env, "op/req.txt", &ALICE_AND_BOB)
        .code(2)
        .stderr(predicate::str::contains(
            "the request's key is needed (it is destroyed once a request is finished)",
        ));
    // The old contributions offered to a new request: made for another request.
    request(&env, "op/req2.txt", "2h");
    unseal_request(&env, "op/req2.txt", &ALICE_AND_BOB)
        .code(3)
        .stderr(predicate::str::contains(
            "contribution alice/contribution.txt: was made for another request",
        ))
        .stderr(predicate::str::contains("need 2 valid shares, got 0"));
}

#[test]
fn expired_requests_are_refused_and_their_key_destroyed() {
    let env = setup();
    request(&env, "op/req.txt", "1s");
    contribute(&env, "alice", "op/req.txt").success();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    contribute(&env, "bob", "op/req.txt")
        .code(2)
        .stderr(predicate::str::contains("expired at"));
    unseal_request(&env, "op/req.txt", &["alice/contribution.txt"])
        .code(2)
        .stderr(
            predicate::str::contains("expired at")
                .and(predicate::str::contains("its key was destroyed")),
        );
    assert!(!env.path("op/req.txt.key").exists());
}

#[test]
fn tampered_duplicated_and_foreign_contributions_are_named() {
    let env = contributed_by_alice_and_bob();
    // One symbol changed in transit.
    let c = env.read("bob/contribution.txt");
    let i = c.len() - 12;
    let swapped = if &c[i..i + 1] == "A" { "B" } else { "A" };
    env.write(
        "bob/tampered.txt",
        format!("{}{swapped}{}", &c[..i], &c[i + 1..]),
    );
    unseal_request(
        &env,
        "op/req.txt",
        &[
            "alice/contribution.txt",
            "alice/contribution.txt",
            "bob/tampered.txt",
        ],
    )
    .code(3)
    .stderr(predicate::str::contains(
        "contribution alice/contribution.txt: duplicate: custodian alice already contributed",
    ))
    .stderr(predicate::str::contains(
        "contribution bob/tampered.txt: the contribution is damaged",
    ));
    assert!(
        env.path("op/req.txt.key").exists(),
        "a failed attempt keeps the request open"
    );
    // A request altered on its way to a custodian (a longer expiry, say):
    // the contribution does not open with the operator's request.
    let text = env.read("op/req.txt");
    let mut req = vault_core::remote::Request::from_text(&text).unwrap();
    req.expires += 86_400;
    env.write("op/forged.txt", req.to_token());
    contribute(&env, "carol", "op/forged.txt").success();
    unseal_request(
        &env,
        "op/req.txt",
        &["alice/contribution.txt", "carol/contribution.txt"],
    )
    .code(3)
    .stderr(predicate::str::contains(
        "contribution carol/contribution.txt: does not open with this request's key",
    ));
    // Then the genuine ones succeed.
    unseal_request(&env, "op/req.txt", &ALICE_AND_BOB).success();
}

#[test]
fn contribute_checks_the_share_and_asks_for_confirmation() {
    let env = setup();
    request(&env, "op/req.txt", "2h");
    std::fs::copy(env.path("op/req.txt"), env.path("bob/request.txt")).unwrap();
    // `contribute REQUEST --share SHARE --out c.txt [--yes]` in bob's
    // directory.
    let contribute = |request: &str, share: &str, yes: bool, input: &str| {
        let mut args = vec!["contribute", request, "--share", share, "--out", "c.txt"];
        if yes {
            args.push("--yes");
        }
        assert_cmd::Command::new(BIN)
            .current_dir(env.path("bob"))
            .args(args)
            .write_stdin(input.to_owned())
            .assert()
    };
    contribute("request.txt", "bob.share", false, "bob-passphrase\n")
        .code(1)
        .stderr(predicate::str::contains("confirm with --yes"));
    contribute("request.txt", "bob.share", true, "wrong-passphrase\n")
        .code(2)
        .stderr(predicate::str::contains("wrong passphrase"));
    env.foreign_share(["x", "y"], "bob/x.share");
    contribute("request.txt", "x.share", true, "")
        .code(2)
        .stderr(predicate::str::contains("but the request is for vault"));
    assert!(!env.path("bob/c.txt").exists());
    // The token itself may be given instead of a file.
    let token = env
        .read("op/req.txt")
        .lines()
        .find(|l| l.starts_with("breakglass-request:"))
        .unwrap()
        .to_owned();
    contribute(&token, "bob.share", true, "bob-passphrase\n").success();
}

#[test]
fn a_request_shown_as_a_qr_code_is_contributed_to_from_its_picture() {
    let env = setup();
    env.run(
        &[
            "request",
            "v.bg",
            "--out",
            "op/req.txt",
            "--qr",
            "op/req.png",
            "--reason",
            "on screen",
        ],
        "",
    )
    .success();
    std::fs::copy(env.path("op/req.png"), env.path("alice/req.png")).unwrap();
    contribute_from(&env, "alice", "req.png", pass_lines(&["alice"]))
        .success()
        .stderr(predicate::str::contains("reason:  on screen"));
    contribute(&env, "bob", "op/req.txt").success();
    unseal_request(&env, "op/req.txt", &ALICE_AND_BOB).success();
}

/// `request --for PURPOSE` into `out`.
fn request_for(env: &Env, out: &str, purpose: &str) -> String {
    let r = env
        .run(
            &[
                "request", "v.bg", "--out", out, "--for", purpose, "--reason", "Q4 drill",
            ],
            "",
        )
        .success();
    stdout(&r)
}

/// Words the operator was shown, from `request`'s output.
fn words_of(request_stdout: &str) -> String {
    request_stdout
        .lines()
        .find_map(|l| l.split("before contributing: ").nth(1))
        .expect("words printed")
        .trim()
        .to_owned()
}

/// A quarterly drill with the custodians in their own places: they see who
/// asks, for a drill, of which generation, and the operator's words; the
/// drill is recorded with the request id, and its key destroyed.
#[test]
fn a_remote_drill_shows_who_asks_for_what_and_is_recorded() {
    let env = setup();
    let out = request_for(&env, "op/drill.txt", "drill");
    let words = words_of(&out);
    assert_eq!(words.split(' ').count(), 4, "{words}");
    let text = env.read("op/drill.txt");
    assert!(text.starts_with("Drill request "), "{text}");
    assert!(text.contains(&format!("Words: {words}")), "{text}");
    for who in ["alice", "bob"] {
        contribute(&env, who, "op/drill.txt")
            .success()
            .stderr(predicate::str::contains(format!("words:   {words}")))
            .stderr(predicate::str::contains("Drill request "))
            .stderr(predicate::str::contains(", generation 1"))
            .stderr(predicate::str::contains("from:    "));
    }
    // Contributions for a drill do not unseal.
    unseal_request(&env, "op/drill.txt", &ALICE_AND_BOB)
        .code(2)
        .stderr(predicate::str::contains(
            "the custodians contributed to a drill, not a unseal",
        ));
    let mut args = vec!["drill", "v.bg", "--request", "op/drill.txt", "--json"];
    for c in ALICE_AND_BOB {
        args.extend(["--contribution", c]);
    }
    let r = env.run(&args, "").success();
    assert_eq!(json(&r)["ok"], true);
    assert!(
        !env.path("op/drill.txt.key").exists(),
        "the key is destroyed"
    );
    let audit = stdout(&env.run(&["audit", "v.bg", "--json"], "").success());
    let drill: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(drill["event"], "drill", "{drill}");
    assert!(
        drill["reason"]
            .as_str()
            .unwrap()
            .starts_with("remote request "),
        "{drill}"
    );
    // Used once: the same contributions again find no key.
    env.run(&args, "")
        .code(2)
        .stderr(predicate::str::contains("op/drill.txt.key"));
}

/// A custodian change with nobody in the same room: the rekey opens with
/// contributions to a rekey request; afterwards an old share offered to a
/// new request is refused on the custodian's machine, naming the rekey.
#[test]
fn a_remote_rekey_and_then_a_stale_share_is_refused_at_contribute() {
    let env = setup();
    request_for(&env, "op/rekey.txt", "rekey");
    for who in ["alice", "bob"] {
        contribute(&env, who, "op/rekey.txt").success();
    }
    let mut args = vec!["rekey", "v.bg", "--request", "op/rekey.txt"];
    args.extend(crate::util::rekey_to(
        "2",
        &["alice", "bob"],
        "new",
        "carol left",
    ));
    for c in ALICE_AND_BOB {
        args.extend(["--contribution", c]);
    }
    env.run(&args, "").success();
    assert!(!env.path("op/rekey.txt.key").exists());
    // A new unseal request; alice offers her old (generation 1) share.
    request(&env, "op/req2.txt", "2h");
    contribute(&env, "alice", "op/req2.txt")
        .code(2)
        .stderr(predicate::str::contains(
            "this share is from generation 1 of the vault, the request is for generation 2",
        ))
        .stderr(predicate::str::contains(
            "use the envelope you received at the last rekey",
        ));
}

/// A request claiming to stay open ten years is refused at contribute,
/// whatever it says, before the share is read.
#[test]
fn a_request_open_for_ten_years_is_refused_at_contribute() {
    use vault_core::remote::{Asking, Purpose, Request};
    let env = setup();
    let vault = vault_core::store::load(&env.path("v.bg")).unwrap().vault;
    let asking = Asking {
        vault_id: *vault.id(),
        fingerprint: *vault.fingerprint().as_bytes(),
        generation: vault.generation(),
        operator: "mallory".into(),
        purpose: Purpose::Unseal,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (mut req, _) = Request::new(&asking, "routine", now, 3600).unwrap();
    req.expires = now + 10 * 365 * 24 * 3600;
    std::fs::write(env.path("alice/long.txt"), req.to_token()).unwrap();
    contribute_from(&env, "alice", "long.txt", String::new())
        .code(2)
        .stderr(predicate::str::contains("more than 7 days"));
    assert!(!env.path("alice/contribution.txt").exists());
}

/// On a terminal, `contribute` shows the words and asks the custodian to
/// read them back before it goes on; "no" writes nothing.
#[test]
fn contribute_at_a_terminal_asks_for_the_words_to_be_read_back() {
    let env = setup();
    let words = words_of(&request_for(&env, "op/drill.txt", "drill"));
    std::fs::copy(env.path("op/drill.txt"), env.path("bob/request.txt")).unwrap();
    let t = crate::terminal::Term::start(
        &env.path("bob"),
        &format!("{BIN} contribute request.txt --share bob.share --out c.txt"),
    );
    let screen = t.wait_for("do you agree to this drill? [y/N]");
    assert!(screen.contains(&format!("words:   {words}")), "{screen}");
    assert!(
        screen.contains("Read the words above to the person who asked, by phone"),
        "{screen}"
    );
    t.answer("do you agree to this drill? [y/N]", "n");
    let screen = t.exits(2);
    assert!(screen.contains("nothing was written"), "{screen}");
    assert!(!env.path("bob/c.txt").exists());
}
