//! Text that people compare is unambiguous (issue 15): labels, custodian
//! names, device identifiers and vault names refuse control, bidirectional
//! and zero-width characters and non-NFC forms, naming the character and
//! its position; records written before the rule still open; a new label
//! that only differs by case or look-alike characters is warned about.

use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::record::Record;
use vault_core::store::{self, Scope};
use vault_core::vault::DepositMeta;
use zeroize::Zeroizing;

use crate::util::{stderr, stdout, Env, FLOOR};

fn vault() -> Env {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    env
}

/// `seal --label LABEL` must fail with exit 2 and `message`.
fn refused(env: &Env, args: &[&str], message: &str) {
    let a = env.run(args, "s3cret").code(2);
    let err = stderr(&a);
    assert!(err.contains(message), "{args:?}: {err}");
}

#[test]
fn labels_with_invisible_or_reordering_characters_are_refused() {
    let env = vault();
    for (label, message) in [
        (
            "a\u{200b}",
            "label contains a zero-width (invisible) character (U+200B at character 2)",
        ),
        (
            "a\u{202e}",
            "label contains a bidirectional control character (U+202E at character 2)",
        ),
        (
            "x\u{2066}y\u{2069}",
            "label contains a bidirectional control character (U+2066 at character 2)",
        ),
        (
            "\u{feff}admin",
            "label contains a zero-width (invisible) character (U+FEFF at character 1)",
        ),
        (
            "cafe\u{301}",
            "label is not in Unicode normal form NFC (type the accented letter as one character) (U+0065 at character 4)",
        ),
    ] {
        refused(&env, &["seal", "v.bg", "--label", label], message);
    }
    // The composed form is fine, and nothing was written for the others.
    env.seal("caf\u{e9}", "s3cret");
    let list = stdout(&env.run(&["list", "v.bg", "--json"], "").success());
    assert_eq!(list.matches("\"label\"").count(), 1, "{list}");
}

#[test]
fn devices_names_and_custodians_follow_the_same_rule() {
    let env = vault();
    refused(
        &env,
        &[
            "seal",
            "v.bg",
            "--label",
            "mac",
            "--device",
            "C02\u{200d}XK",
        ],
        "device contains a zero-width (invisible) character (U+200D at character 4)",
    );
    let init = |name: &str, custodian: &str| {
        let mut args = vec![
            "init",
            "w.bg",
            "--name",
            name,
            "--threshold",
            "2",
            "--custodian",
            "alice",
            "--custodian",
            custodian,
            "--share-dir",
            "wshares",
            "--no-passphrase",
        ];
        args.extend(FLOOR);
        env.run(&args, "")
    };
    let a = init("Ops", "bob\u{202e}").code(2);
    assert!(
        stderr(&a).contains(
            "custodian name contains a bidirectional control character (U+202E at character 4)"
        ),
        "{}",
        stderr(&a)
    );
    let a = init("Ops\u{200b}", "bob").code(2);
    assert!(
        stderr(&a).contains(
            "vault name contains a zero-width (invisible) character (U+200B at character 4)"
        ),
        "{}",
        stderr(&a)
    );
    assert!(!env.path("w.bg").exists());
}

/// Records written before the rule (here: appended by the library with
/// the label changed after the checks) still replay and list.
#[test]
fn records_written_before_the_rule_still_open() {
    let env = vault();
    let path = env.path("v.bg");
    let secret = EntrySecret {
        username: Zeroizing::new(String::new()),
        secret: Zeroizing::new(b"pw".to_vec()),
    };
    for old in ["a\u{200b}", "a\u{202e}", "cafe\u{301}"] {
        store::append(&path, &Scope::Whole, |v| {
            let mut r = v.deposit(
                "placeholder",
                EntryKind::Password,
                &secret,
                &DepositMeta::default(),
            )?;
            if let Record::Deposit(d) = &mut r {
                d.label = old.to_owned();
            }
            Ok::<_, vault_core::vault::InputError>(r)
        })
        .unwrap()
        .unwrap();
    }
    let list = env.run(&["list", "v.bg", "--json"], "").success();
    let json: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    let text = json.to_string();
    for old in ["a\u{200b}", "a\u{202e}", "cafe\u{301}"] {
        assert!(
            text.contains(&serde_json::to_string(old).unwrap()),
            "{old:?} listed: {text}"
        );
    }
    // 5: "needs attention" (no drill yet), not damage.
    let status = env.run(&["status", "v.bg"], "");
    assert!(
        matches!(status.get_output().status.code(), Some(0 | 5)),
        "{}",
        stderr(&status)
    );
}

#[test]
fn a_label_that_looks_like_another_is_sealed_with_a_warning() {
    let env = vault();
    env.seal("admin", "one");
    let quiet = env
        .run(&["seal", "v.bg", "--label", "admin"], "two")
        .success();
    assert!(
        !stderr(&quiet).contains("looks like"),
        "a new version is not a look-alike"
    );
    for (label, why) in [
        ("Admin", "case"),
        ("\u{430}dmin", "Cyrillic a"),
        ("adrnin", "rn for m"),
    ] {
        let a = env.run(&["seal", "v.bg", "--label", label], "x").success();
        let err = stderr(&a);
        assert!(
            err.contains(&format!(
                "label '{label}' looks like the existing entry 'admin'"
            )),
            "{why}: {err}"
        );
    }
    let other = env
        .run(&["seal", "v.bg", "--label", "backup"], "x")
        .success();
    assert!(!stderr(&other).contains("looks like"));
}
