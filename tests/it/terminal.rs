//! Prompts on a real terminal: the binary runs inside tmux, the test types
//! at its prompts with send-keys and reads the screen with capture-pane.
//! Needs tmux (`scripts/test.sh` installs it).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vault_core::text::typed::{known_line_ones, LineProblem, Typed, TypedShare};

use crate::util::{init_args, Env, BIN, FLOOR};

/// One tmux server (own socket) running one command in a temp directory.
pub(crate) struct Term {
    socket: String,
}

impl Term {
    pub(crate) fn start(dir: &Path, command: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "bg-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        // Pins made at first use stay in the test's directory.
        let script = format!(
            "export BREAKGLASS_KNOWN_VAULTS=\"$PWD/.known_vaults\"; {command}; echo \"EXIT=$?\"; sleep 600"
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                "-c",
            ])
            .arg(dir)
            .args(["sh", "-c", &script])
            .status()
            .expect(
                "tmux must be installed to run the terminal tests (scripts/test.sh installs it)",
            );
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` `count` times.
    fn wait_for_n(&self, text: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(text.trim_end()).count() >= count {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the command to end, checks that it exited with `code`,
    /// and returns the screen.
    pub(crate) fn exits(&self, code: i32) -> String {
        let screen = self.wait_for("EXIT=");
        assert!(screen.contains(&format!("EXIT={code}")), "{screen}");
        screen
    }

    /// Waits for the prompt `prompt`, then types `line` at it.
    pub(crate) fn answer(&self, prompt: &str, line: &str) {
        self.wait_for(prompt);
        self.type_line(line);
    }

    pub(crate) fn wait_for(&self, text: &str) -> String {
        self.wait_for_n(text, 1)
    }

    fn type_line(&self, text: &str) {
        for keys in [["-l", text], ["Enter", ""]] {
            let args: Vec<&str> = keys.iter().copied().filter(|k| !k.is_empty()).collect();
            Command::new("tmux")
                .args(["-L", &self.socket, "send-keys"])
                .args(&args)
                .status()
                .unwrap();
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Arguments `init v.bg --name NAME --threshold 2` with custodians
/// `names`, shares in `s/`, at the Argon2 floor.
fn init_at_floor<'a>(name: &'a str, names: &[&'a str]) -> Vec<&'a str> {
    let mut args = init_args("v.bg", name, "2", names, "s");
    args.extend(FLOOR);
    args
}

/// `breakglass init` of vault T (alice and bob) at a terminal in `dir`.
fn start_init(dir: &Path) -> Term {
    let init = init_at_floor("T", &["alice", "bob"]).join(" ");
    Term::start(dir, &format!("{BIN} {init}"))
}

#[test]
fn init_seal_and_unseal_at_the_terminal_never_echo() {
    let env = Env::new();
    let dir = env.dir.path();
    let t = start_init(dir);
    for who in ["alice", "bob"] {
        t.answer(
            &format!("New passphrase for {who}'s share: "),
            &format!("{who}-secret-words"),
        );
        t.answer(
            &format!("Repeat the passphrase for {who}'s share: "),
            &format!("{who}-secret-words"),
        );
    }
    let screen = t.exits(0);
    assert!(
        screen.contains("any 2 of 2 custodians can unseal"),
        "{screen}"
    );
    assert!(
        !screen.contains("secret-words"),
        "a passphrase was echoed:\n{screen}"
    );
    drop(t);

    let t = Term::start(dir, &format!("{BIN} seal v.bg --label root"));
    t.answer("Secret for 'root': ", "Tty-Typed-Secret");
    t.answer("Repeat the secret for 'root': ", "Tty-Typed-Secret");
    let screen = t.exits(0);
    assert!(screen.contains("Sealed 'root'"), "{screen}");
    assert!(
        !screen.contains("Tty-Typed-Secret"),
        "the secret was echoed:\n{screen}"
    );
    drop(t);

    let t = Term::start(
        dir,
        &format!("{BIN} unseal v.bg --share s/alice.share --share s/bob.share --entry root"),
    );
    t.answer(
        "Passphrase for alice's share (s/alice.share): ",
        "alice-secret-words",
    );
    t.answer(
        "Passphrase for bob's share (s/bob.share): ",
        "bob-secret-words",
    );
    let screen = t.exits(0);
    assert!(screen.contains("secret:   Tty-Typed-Secret"), "{screen}");
    assert!(
        !screen.contains("secret-words"),
        "a passphrase was echoed:\n{screen}"
    );
}

#[test]
fn mismatched_confirmation_writes_nothing() {
    let env = Env::new();
    let dir = env.dir.path();
    let t = start_init(dir);
    t.answer("New passphrase for alice's share: ", "first-attempt-1");
    t.answer(
        "Repeat the passphrase for alice's share: ",
        "first-attempt-2",
    );
    let screen = t.exits(2);
    assert!(
        screen.contains("the two entries of the passphrase for alice's share differ"),
        "{screen}"
    );
    assert!(!dir.join("v.bg").exists());
    assert!(!dir.join("s").exists());
}

#[test]
fn wrong_passphrase_at_the_terminal_is_named() {
    let env = Env::new();
    let dir = env.dir.path();
    env.run(
        &init_at_floor("T", &["alice", "bob"]),
        "alice-pass-1\nbob-pass-22\n",
    )
    .success();
    let t = Term::start(dir, &format!("{BIN} verify-share v.bg --share s/bob.share"));
    for n in 1..=3 {
        t.wait_for_n("Passphrase for bob's share (s/bob.share): ", n);
        t.type_line("not-bobs");
    }
    let screen = t.exits(2);
    assert!(
        screen.contains("wrong passphrase for bob's share — type it again (1 try left)"),
        "{screen}"
    );
    assert!(
        screen.contains("custodian bob: wrong passphrase"),
        "{screen}"
    );
}

/// The numbered lines of a share file, as printed.
fn share_lines(env: &Env, name: &str) -> Vec<String> {
    env.read(&format!("s/{name}.share"))
        .lines()
        .filter(|l| l.get(2..3) == Some(":"))
        .map(str::to_owned)
        .collect()
}

/// `line` with the symbol at character `at` changed.
fn with_typo(line: &str, at: usize) -> String {
    let mut b = line.as_bytes().to_vec();
    b[at] = if b[at] == b'Z' { b'Y' } else { b'Z' };
    String::from_utf8(b).unwrap()
}

/// What vault-core's typed entry (as the terminal runs it, knowing the
/// envelopes of `v.bg`) makes of `typed` after the lines `before`. Line
/// checks are 10 bits: about one typo or stray line in a hundred also
/// passes as some other line. The tests below use this to pick lines whose
/// outcome is the one they show; vault-core's tests cover the others.
fn core_typed(env: &Env, before: &[String], typed: &str) -> Typed {
    let vault = vault_core::store::load(&env.path("v.bg")).unwrap().vault;
    let mut t = TypedShare::new(known_line_ones(&vault));
    for l in before {
        t.enter(l);
    }
    t.enter(typed)
}

/// `lines[i]` with the symbol at character `at` changed so that the typed
/// entry refuses it at its own number.
fn refused_typo(env: &Env, lines: &[String], i: usize, at: usize) -> String {
    "ZYXWVTSRQ"
        .chars()
        .filter(|&c| lines[i].as_bytes()[at] != c as u8)
        .map(|c| {
            let mut b = lines[i].as_bytes().to_vec();
            b[at] = c as u8;
            String::from_utf8(b).unwrap()
        })
        .find(|typo| {
            core_typed(env, &lines[..i], typo)
                == Typed::Refused(LineProblem::Mismatch { line: i + 1 })
        })
        .expect("one of eight typos is refused at its own number")
}

/// A vault "Paper" (alice, bob, carol; any 2) with one entry, at the floor.
fn paper_vault(env: &Env) {
    env.run(
        &init_at_floor("Paper", &["alice", "bob", "carol"]),
        "alice-pass-1\nbob-pass-22\ncarol-pass-3\n",
    )
    .success();
    env.run(&["seal", "v.bg", "--label", "root"], "typed-from-paper")
        .success();
}

/// The screen from the first `from` on, for exact comparisons.
fn tail(screen: &str, from: &str) -> String {
    let at = screen
        .rfind(from)
        .unwrap_or_else(|| panic!("{from:?} not on:\n{screen}"));
    screen[at..]
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unseal_from_paper_at_the_terminal() {
    let env = Env::new();
    let dir = env.dir.path();
    paper_vault(&env);
    let lines = share_lines(&env, "alice");
    assert_eq!(lines.len(), 12, "a protected format-2 share has 12 lines");

    let t = Term::start(
        dir,
        &format!("{BIN} unseal v.bg --entry root --reason paper"),
    );
    t.wait_for("Share 1 of 2:");
    // Line 1 with a typo: named at once, nothing proposed, retyped.
    t.answer("line 1> ", &with_typo(&lines[0], 5));
    t.wait_for("line 1 does not match its check code");
    for (i, line) in lines.iter().enumerate() {
        // Typed in lower case and without the colon, as a hurried
        // custodian would.
        t.answer(
            &format!("line {}> ", i + 1),
            &line.to_lowercase().replacen(':', "", 1),
        );
        t.wait_for_n(" ok", i + 1);
    }
    let screen = t.wait_for("Passphrase for alice's share (typed share): ");
    assert!(
        screen.contains("This is alice's share (share 1, 12 lines, protected by a passphrase)."),
        "{screen}"
    );
    t.type_line("alice-pass-1");
    t.wait_for("1 of 2 valid shares: alice");
    // The second share from a file, with a wrong passphrase first: asked
    // again, the file not named twice.
    t.answer("line 1> ", "s/carol.share");
    t.answer(
        "Passphrase for carol's share (s/carol.share): ",
        "not-carols",
    );
    t.wait_for("wrong passphrase for carol's share — type it again (2 tries left");
    t.wait_for_n("Passphrase for carol's share", 2);
    t.type_line("carol-pass-3");
    let screen = t.exits(0);
    assert!(
        screen.contains("2 of 2 valid shares: alice, carol"),
        "{screen}"
    );
    assert!(screen.contains("secret:   typed-from-paper"), "{screen}");
    assert!(
        !screen.contains("pass-1") && !screen.contains("pass-3"),
        "a passphrase was echoed:\n{screen}"
    );
}

/// A wrong passphrase is asked again (3 tries) and the 12 typed lines are
/// kept; b at the passphrase prompt goes back to the lines, still kept.
#[test]
fn a_wrong_passphrase_keeps_the_typed_lines() {
    let env = Env::new();
    let dir = env.dir.path();
    paper_vault(&env);
    let lines = share_lines(&env, "bob");
    let t = Term::start(dir, &format!("{BIN} verify-share v.bg --share -"));
    for (i, line) in lines.iter().enumerate() {
        t.answer(&format!("line {}> ", i + 1), line);
    }
    t.answer("Passphrase for bob's share (typed share): ", "not-bobs-1");
    t.wait_for(
        "wrong passphrase for bob's share — type it again (2 tries left; the typed lines are kept)",
    );
    t.wait_for_n("Passphrase for bob's share", 2);
    t.type_line("b");
    t.wait_for("Back to the lines: every line is kept; retype any line to replace it.");
    // Line 12 again: replaces the one kept, and the share is whole again.
    t.answer("line 13> ", &lines[11]);
    t.wait_for("line 12 ok (replaces the one typed before)");
    t.wait_for_n("Passphrase for bob's share (typed share): ", 3);
    t.type_line("bob-pass-22");
    let screen = t.exits(0);
    assert!(screen.contains("Share OK: bob (share 2 of 3)"), "{screen}");
}

/// A repeated line replaces the earlier one; a line typed under the wrong
/// number is kept under its own; a missing line is asked for by number.
#[test]
fn repeated_misnumbered_and_missing_lines() {
    // A vault where line 4 typed as 3 passes only as line 4 (about one in
    // seventy also passes as another line, or as line 3 of another
    // envelope, and is then not kept).
    let (env, lines) = (0..20)
        .map(|_| {
            let env = Env::new();
            paper_vault(&env);
            let lines = share_lines(&env, "alice");
            (env, lines)
        })
        .find(|(env, lines)| {
            matches!(
                core_typed(env, &lines[..2], &format!("03{}", &lines[3][2..])),
                Typed::Renumbered { line: 4, .. }
            )
        })
        .expect("a vault where line 4 typed as 3 is kept as line 4");
    let dir = env.dir.path();
    let t = Term::start(dir, &format!("{BIN} verify-share v.bg --share -"));
    t.answer("line 1> ", &lines[0]);
    t.answer("line 2> ", &lines[1]);
    t.answer("line 3> ", &lines[1]);
    t.wait_for("line 2 ok (replaces the one typed before)");
    // Line 4's symbols under number 3.
    t.answer("line 3> ", &format!("03{}", &lines[3][2..]));
    t.wait_for("that is line 4 (typed as 3): kept as line 4");
    for line in &lines[4..] {
        t.type_line(line);
    }
    // The prompt after line 12 is the 11th "line 3>" (one per line typed
    // since line 2, and this one): wait for it before the empty line.
    t.wait_for("  line 12 ok");
    t.wait_for_n("line 3>", 11);
    t.type_line("");
    t.wait_for("line 3 is missing: type line 3 from the envelope");
    t.answer("line 3> ", &lines[2]);
    t.answer(
        "Passphrase for alice's share (typed share): ",
        "alice-pass-1",
    );
    let screen = t.exits(0);
    // Exactly what the custodian saw, and every line kept: line 3 was the
    // only one asked for again.
    let seen = tail(&screen, &format!("line 3> {}", lines[1]));
    let expected = [
        format!("line 3> {}", lines[1]),
        "  line 2 ok (replaces the one typed before)".into(),
        format!("line 3> 03{}", &lines[3][2..]),
        "  that is line 4 (typed as 3): kept as line 4".into(),
    ];
    assert!(seen.starts_with(&expected.join("\n")), "{seen}");
    let end = tail(&screen, "  line 12 ok");
    let expected = [
        "  line 12 ok".to_owned(),
        "line 3>".into(),
        "  line 3 is missing: type line 3 from the envelope".into(),
        format!("line 3> {}", lines[2]),
        "  line 3 ok".into(),
        "Passphrase for alice's share (typed share):".into(),
        "Share OK: alice (share 1 of 3) belongs to vault 'Paper'".into(),
    ];
    assert!(end.starts_with(&expected.join("\n")), "{end}");
}

/// A line from another custodian's envelope is named at that line, with
/// whose envelope it is; a line with its check code left off is named as
/// such; neither gets a proposed fix.
#[test]
fn a_line_from_another_envelope_and_a_missing_check_code() {
    let env = Env::new();
    let dir = env.dir.path();
    paper_vault(&env);
    let alice = share_lines(&env, "alice");
    let carol = share_lines(&env, "carol");
    // The first of carol's lines that only her line 1 makes check: one
    // in five hundred also checks under bob's, and is then named as from
    // another envelope without a name.
    let n = (2..=alice.len())
        .find(|&n| {
            matches!(core_typed(&env, &alice[..n - 1], &carol[n - 1]),
                Typed::Refused(LineProblem::FromEnvelope { custodian, .. }) if custodian == "carol")
        })
        .expect("a line of carol's named as hers");
    let t = Term::start(dir, &format!("{BIN} verify-share v.bg --share -"));
    for (i, line) in alice[..n - 1].iter().enumerate() {
        t.answer(&format!("line {}> ", i + 1), line);
    }
    t.answer(&format!("line {n}> "), &carol[n - 1]);
    t.wait_for(&format!(
        "line {n} is from carol's envelope (share 3), not from this one — type line {n} from \
         this envelope"
    ));
    let line = &alice[n - 1];
    t.answer(&format!("line {n}> "), &line[..line.len() - 4]);
    t.wait_for(&format!(
        "line {n}: the two check symbols at the end of the line are missing — type line {n} \
         again, with the two check symbols printed after the four groups"
    ));
    t.answer(&format!("line {n}> "), "q");
    let screen = t.exits(2);
    assert!(
        !screen.contains("Is group"),
        "a fix was proposed:\n{screen}"
    );
    assert!(screen.contains("nothing was checked (q)"), "{screen}");
}

/// One mistyped symbol: the line is refused without a guess; once every
/// other line is in, the whole share confirms the fix, which the custodian
/// checks on the envelope.
#[test]
fn a_typo_is_fixed_only_with_the_whole_share_behind_it() {
    let env = Env::new();
    let dir = env.dir.path();
    paper_vault(&env);
    let lines = share_lines(&env, "carol");
    let t = Term::start(dir, &format!("{BIN} verify-share v.bg --share -"));
    // Line 3, group 2, symbol 2 (character 10 of "03: AAAA BBBB …").
    t.answer("line 1> ", &lines[0]);
    t.answer("line 2> ", &lines[1]);
    t.answer("line 3> ", &refused_typo(&env, &lines, 2, 10));
    t.wait_for("line 3 does not match its check code (a typo, or a line from another envelope)");
    for line in &lines[3..] {
        t.type_line(line);
    }
    let screen = t.wait_for("[y/N]");
    assert!(
        screen.contains(&format!(
            "line 3: symbol 2 of group 2 looks mistyped (the rest of the share confirms it).\n  \
             Is group 2 of line 3 on the envelope {}? [y/N]",
            &lines[2][9..13]
        )),
        "{screen}"
    );
    t.type_line("y");
    t.answer(
        "Passphrase for carol's share (typed share): ",
        "carol-pass-3",
    );
    let screen = t.exits(0);
    assert!(
        screen.contains("line 3 ok (corrected as confirmed)"),
        "{screen}"
    );
    assert!(screen.contains("Share OK: carol"), "{screen}");
}

/// At any prompt: b takes back the last line, a path switches to a file,
/// and q quits (also at the passphrase prompt).
#[test]
fn back_file_and_quit_at_any_prompt() {
    let env = Env::new();
    let dir = env.dir.path();
    paper_vault(&env);
    let lines = share_lines(&env, "alice");
    let t = Term::start(dir, &format!("{BIN} unseal v.bg --entry root --reason q"));
    t.answer("line 1> ", &lines[0]);
    t.answer("line 2> ", &lines[1]);
    t.answer("line 3> ", "b");
    t.wait_for("line 2 taken back: type it again");
    t.answer("line 2> ", "s/bob.share");
    t.answer("Passphrase for bob's share (s/bob.share): ", "bob-pass-22");
    t.wait_for("1 of 2 valid shares: bob");
    for (i, line) in lines.iter().enumerate() {
        t.answer(&format!("line {}> ", i + 1), line);
    }
    t.answer("Passphrase for alice's share (typed share): ", "q");
    let screen = t.exits(3);
    assert!(screen.contains("need 2 valid shares, got 1"), "{screen}");
}

#[test]
fn a_device_with_two_keys_asks_which_one_at_the_terminal() {
    use crate::lookup::{two_keys_of_one_pc, KEY_DATA, KEY_OS};
    let env = two_keys_of_one_pc(true);
    let t = Term::start(
        env.dir.path(),
        &format!(
            "{BIN} unseal v.bg --share shares/alice.share --share shares/bob.share --device pc-7"
        ),
    );
    let prompt = "Which one to reveal? (1-2, empty to cancel): ";
    let screen = t.wait_for(prompt);
    // Each key with what tells them apart: kind, device, key ID, last deposit.
    for (n, label, id) in [(1, "pc7-data", "5E6F7A8B"), (2, "pc7-os", "1A2B3C4D")] {
        let row = screen
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{n}  {label} ")))
            .unwrap_or_else(|| panic!("no row {n}:\n{screen}"));
        for part in ["recovery-key", "PC-7", id, "deposited 20"] {
            assert!(row.contains(part), "{row}");
        }
    }
    t.type_line("3");
    t.answer("Give a number from 1 to 2.", "2");
    let screen = t.exits(0);
    assert!(screen.contains(KEY_OS), "{screen}");
    assert!(!screen.contains(KEY_DATA), "{screen}");
    let events = env.audit_events();
    let last = events.last().unwrap();
    assert_eq!(last["entries"].as_array().unwrap().len(), 1, "{last}");
    assert_eq!(last["entries"][0]["label"], "pc7-os");
}

/// A deposit at a terminal pins the vault's fingerprint at first use (SSH
/// known_hosts style); once the escrow key is swapped and the file
/// re-chained, the next deposit at that terminal is refused before the
/// secret is asked for, and says how to accept an intended change.
#[test]
fn a_vault_pinned_at_first_use_is_refused_once_its_keys_change() {
    let env = crate::util::Env::new();
    env.init(2, &["alice", "bob"], true);
    let seal = |label: &str| {
        let t = Term::start(env.dir.path(), &format!("{BIN} seal v.bg --label {label}"));
        t.wait_for(&format!("Secret for '{label}': "));
        t.type_line("a-secret-typed");
        t.wait_for(&format!("Repeat the secret for '{label}': "));
        t.type_line("a-secret-typed");
        t.wait_for("EXIT=")
    };
    let first = seal("one");
    assert!(
        first.contains("EXIT=0") && first.contains("Pinned v.bg to fingerprint"),
        "{first}"
    );
    assert!(!seal("two").contains("Pinned"), "pinned once only");

    let good = std::fs::read(env.path("v.bg")).unwrap();
    let swapped = crate::util::hijacked(&good);
    env.write("v.bg", &swapped);
    let _ = std::fs::remove_file(env.path("v.bg.index"));
    let t = Term::start(env.dir.path(), &format!("{BIN} seal v.bg --label three"));
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=4"), "{screen}");
    assert!(
        screen.contains("This machine pinned another fingerprint for it at first")
            && screen.contains("--forget"),
        "{screen}"
    );
    assert!(
        !screen.contains("Secret for"),
        "asked for the secret: {screen}"
    );
    assert_eq!(std::fs::read(env.path("v.bg")).unwrap(), swapped);

    // An intended change: forget the pin, and the next deposit pins anew.
    let forget = Command::new(BIN)
        .args(["pin", "v.bg", "--forget"])
        .current_dir(env.dir.path())
        .env("BREAKGLASS_KNOWN_VAULTS", env.path(".known_vaults"))
        .output()
        .unwrap();
    assert!(forget.status.success(), "{forget:?}");
    let again = seal("four");
    assert!(
        again.contains("EXIT=0") && again.contains("Pinned v.bg to fingerprint"),
        "{again}"
    );
}

/// `unseal` at a terminal with nothing named lists the entries and asks
/// which to reveal and why: only those are revealed, the reason is
/// recorded; an empty answer reveals nothing and records nothing.
#[test]
fn unseal_with_nothing_named_asks_which_and_why() {
    let env = Env::new();
    env.init(2, &["alice", "bob"], true);
    for label in ["root", "db", "wifi"] {
        env.run(
            &["seal", "v.bg", "--label", label],
            format!("{label}-secret"),
        )
        .success();
    }
    let command = format!("{BIN} unseal v.bg --share shares/alice.share --share shares/bob.share");
    let prompt = "Which to reveal? Numbers or labels separated by spaces (e.g. 1 3), \"all\" for \
                  every entry, empty to cancel: ";

    // Cancelled: nothing revealed, nothing recorded.
    let t = Term::start(env.dir.path(), &command);
    t.answer(prompt, "");
    let screen = t.exits(2);
    assert!(
        screen.contains("nothing chosen: nothing revealed"),
        "{screen}"
    );
    assert!(!screen.contains("-secret"), "{screen}");
    drop(t);
    assert_eq!(env.audit_events().last().unwrap()["event"], "deposit");

    let t = Term::start(env.dir.path(), &command);
    let screen = t.wait_for(prompt);
    assert!(
        screen
            .contains("Vault 'Test vault' holds 3 entries. Only the ones you choose are revealed"),
        "{screen}"
    );
    for (n, label) in [(1, "db"), (2, "root"), (3, "wifi")] {
        assert!(
            screen
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{n}  {label} "))
                    && l.contains("password")),
            "no row {n} {label}:\n{screen}"
        );
    }
    t.type_line("7");
    t.answer(
        "'7' is neither a number from 1 to 3 nor a label of this vault; try again.",
        "3 db",
    );
    let why = "Why is the vault being opened? (an incident number or a few words; kept in the \
               audit record): ";
    t.answer(why, "");
    t.answer(
        "A reason is needed: it is recorded with the custodians' names.",
        "INC-9 wifi down",
    );
    let screen = t.exits(0);
    assert!(
        screen.contains("wifi-secret") && screen.contains("db-secret"),
        "{screen}"
    );
    assert!(!screen.contains("root-secret"), "{screen}");
    let last = env.audit_events().pop().unwrap();
    assert_eq!(last["event"], "unseal", "{last}");
    assert_eq!(last["reason"], "INC-9 wifi down", "{last}");
    let labels: Vec<&str> = last["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["wifi", "db"], "{last}");
}

/// Issue 13's scripted incident: three custodians of a 3-of-5 vault type
/// their shares from the envelope text at one terminal, each with one typo
/// (named at its line and typed again), then their passphrases; the
/// password is revealed. Prints the keystrokes and the time it took here
/// (machine time, not a custodian's typing speed).
#[test]
fn a_scripted_incident_three_custodians_from_paper_with_one_typo_each() {
    let env = Env::new();
    let dir = env.dir.path();
    let names = ["alice", "bob", "carol", "dave", "erin"];
    let mut init = init_args("v.bg", "Incident", "3", &names, "s");
    init.extend(FLOOR);
    env.run(
        &init,
        "alice-pass-1\nbob-pass-22\ncarol-pass-3\ndave-pass-44\nerin-pass-5\n",
    )
    .success();
    env.run(
        &["seal", "v.bg", "--label", "entra-ba1"],
        "Tr0ub4dor-outage",
    )
    .success();
    let started = Instant::now();
    let mut keys = 0;
    let t = Term::start(
        dir,
        &format!("{BIN} unseal v.bg --entry entra-ba1 --reason INC-7"),
    );
    let mut oks = 0;
    let custodians = [
        ("alice", "alice-pass-1"),
        ("bob", "bob-pass-22"),
        ("carol", "carol-pass-3"),
    ];
    for (n, (who, pass)) in custodians.iter().enumerate() {
        t.wait_for(&format!("Share {} of 3:", n + 1));
        let lines = share_lines(&env, who);
        // A different line of each envelope, group 2, symbol 2.
        let typo_at = 4 + n;
        for (i, line) in lines.iter().enumerate() {
            if i == typo_at {
                let typo = refused_typo(&env, &lines, i, 10);
                t.type_line(&typo);
                keys += typo.len() + 1;
                t.wait_for(&format!("line {} does not match its check code", i + 1));
            }
            t.type_line(line);
            keys += line.len() + 1;
            oks += 1;
            t.wait_for_n(" ok", oks);
        }
        t.wait_for(&format!("Passphrase for {who}'s share (typed share): "));
        t.type_line(pass);
        keys += pass.len() + 1;
        t.wait_for(&format!("{} of 3 valid shares", n + 1));
    }
    let screen = t.exits(0);
    let secs = started.elapsed().as_secs_f64();
    assert!(screen.contains("Tr0ub4dor-outage"), "{screen}");
    assert!(
        screen.contains("3 of 3 valid shares: alice, bob, carol"),
        "{screen}"
    );
    println!(
        "incident: 3 custodians, 36 lines and 3 typos typed again, {keys} keystrokes \
         (passphrases included), {secs:.1} s from start to the password at this terminal"
    );
}
