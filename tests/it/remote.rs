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
