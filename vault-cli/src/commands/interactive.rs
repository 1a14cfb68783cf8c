//! Unseal from paper at a terminal: each custodian types their share line
//! by line (each line is checked as it is entered, and every accepted line
//! is kept until the share is whole) or gives the path to a share file or
//! a picture of their envelope, then their passphrase. At every prompt `q`
//! quits and `b` goes back. The rules live in vault-core
//! (`vault_core::text::typed`); this is the terminal around them.

use std::path::Path;

use vault_core::share::ShareBody;
use vault_core::share_text::ShareTextError;
use vault_core::text::typed::{known_line_ones, Finish, LineFix, LineProblem, Typed, TypedShare};
use vault_core::vault::Vault;
use zeroize::Zeroizing;

use crate::commands::shares::{add_body, add_text, share_problem, text_problem, Added, Gathered};
use crate::error::CliResult;
use crate::input::Input;

/// What the custodian gave at the prompts.
enum Given {
    /// `q`.
    Quit,
    /// A typed share, whole and checked.
    Typed(ShareBody, TypedShare),
    /// The text of a file or picture whose path was typed.
    File(String, Zeroizing<String>),
    /// Line 1 names a share this vault refuses (other vault, generation,
    /// custodian already counted): why.
    Refused(String),
}

/// The words at the start of a typed share.
const HOW: &str = "Type the share's numbered lines as printed (spaces and the colon do not \
matter; each line is checked as you go), or the path of its file or of a photo of the envelope. \
At any prompt: q quits, b takes back the last line.";

/// Asks for shares until k are valid, or the user gives up (`q`).
pub fn gather<'v>(vault: &'v Vault, input: &mut Input) -> CliResult<Gathered<'v>> {
    let k = vault.threshold();
    let names: Vec<&str> = vault.custodians().iter().map(|c| c.name.as_str()).collect();
    eprintln!(
        "Unsealing '{}' (id {}): any {k} of {} — {}.",
        vault.name(),
        vault.id().short(),
        names.len(),
        names.join(", ")
    );
    eprintln!("{HOW}");
    let mut out = Gathered::new(vault);
    while !out.quorum.is_complete() {
        eprintln!("\nShare {} of {k}:", out.quorum.len() + 1);
        match one_share(&mut out, input)? {
            None => return Ok(out), // q: the caller reports "need k valid shares"
            Some(Ok(_)) => {
                let who = out.quorum.custodians();
                eprintln!("✓ {} of {k} valid shares: {}", who.len(), who.join(", "));
            }
            Some(Err((source, why))) => {
                eprintln!("✗ {why}\n  Try again, or give another custodian's share.");
                out.rejected.push(source);
            }
        }
    }
    Ok(out)
}

/// `verify-share --share -` at a terminal: one share, typed as for unseal.
pub fn verify_one(
    gathered: &mut Gathered<'_>,
    input: &mut Input,
) -> CliResult<Result<String, String>> {
    eprintln!("{HOW}");
    Ok(match one_share(gathered, input)? {
        None => Err("nothing was checked (q)".to_owned()),
        Some(r) => r.map_err(|(_, why)| why),
    })
}

/// One share from the prompts, added to `out`: `None` for `q`; else the
/// custodian, or the source and why it was not counted.
fn one_share(
    out: &mut Gathered<'_>,
    input: &mut Input,
) -> CliResult<Option<Result<String, (String, String)>>> {
    let mut typed = TypedShare::new(known_line_ones(out.quorum.vault()));
    loop {
        match read_share(out, typed, input)? {
            Given::Quit => return Ok(None),
            Given::Refused(why) => return Ok(Some(Err(("typed share".into(), why)))),
            Given::File(source, text) => {
                return Ok(Some(
                    add_text(out, &source, &text, input)?.map_err(|w| (source, w)),
                ));
            }
            Given::Typed(body, kept) => {
                match add_body(out, "typed share", &body, input, true)? {
                    Added::Ok(c) => return Ok(Some(Ok(c))),
                    Added::Quit => return Ok(None),
                    Added::Back => {
                        eprintln!("  Back to the lines: every line is kept; retype any line to replace it.");
                        typed = kept;
                    }
                    Added::Rejected(why) => {
                        return Ok(Some(Err(("typed share".into(), why))));
                    }
                }
            }
        }
    }
}

/// Reads typed lines until the share is whole (or a file is given, or q).
fn read_share(out: &Gathered<'_>, mut t: TypedShare, input: &mut Input) -> CliResult<Given> {
    loop {
        let Some(line) = input.prompt_line(&format!("line {}> ", t.next_line()))? else {
            return Ok(Given::Quit);
        };
        let trimmed = line.trim();
        // Compared in place (a lower-cased copy of a share line would stay
        // behind in memory).
        let is = |word: &str| trimmed.eq_ignore_ascii_case(word);
        if is("q") || is("quit") {
            return Ok(Given::Quit);
        }
        if is("b") || is("back") {
            match t.back() {
                Some(n) => eprintln!("  line {n} taken back: type it again"),
                None => eprintln!("  nothing to take back yet"),
            }
            continue;
        }
        let done =
            trimmed.is_empty() || trimmed.eq_ignore_ascii_case(vault_core::share_text::END_LINE);
        if done {
            if t.is_empty() {
                continue;
            }
            if let Some(given) = finish(&mut t, input)? {
                return Ok(given);
            }
            continue;
        }
        if Path::new(trimmed).is_file() {
            match input.share_text(Path::new(trimmed)) {
                Ok(text) => return Ok(Given::File(trimmed.to_owned(), text)),
                Err(e) => {
                    eprintln!("  {e} — give another file, or type the share");
                    continue;
                }
            }
        }
        let result = t.enter(trimmed);
        report(&result);
        if let Typed::Kept { line: 1, .. } | Typed::Renumbered { line: 1, .. } = result {
            if let Some(why) = check_line_one(out, &t) {
                return Ok(Given::Refused(why));
            }
        }
        let kept = matches!(result, Typed::Kept { .. } | Typed::Renumbered { .. });
        let whole = t.line_count().is_some_and(|n| t.kept().len() == n);
        if kept && (whole || t.only_failed_lines_left()) {
            if let Some(given) = finish(&mut t, input)? {
                return Ok(given);
            }
        }
    }
}

/// As soon as line 1 is in: whose share it is, or why this vault refuses
/// it (before line 2 is typed).
fn check_line_one(out: &Gathered<'_>, t: &TypedShare) -> Option<String> {
    let l1 = t.line_one()?;
    let vault = out.quorum.vault();
    if let Err(p) = vault.precheck_line_one(&l1) {
        return Some(share_problem(vault, &p));
    }
    let name = vault.custodian_name(l1.index)?;
    if out.quorum.indices().contains(&l1.index) {
        return Some(format!(
            "line 1 is {name}'s, whose share was already counted — bring another custodian's share"
        ));
    }
    eprintln!(
        "  This is {name}'s share (share {}, {} lines{}).",
        l1.index,
        t.line_count().unwrap_or(0),
        if l1.protected {
            ", protected by a passphrase"
        } else {
            ""
        }
    );
    None
}

/// Prints what became of a typed line.
fn report(result: &Typed) {
    match result {
        Typed::Kept {
            line,
            replaced,
            dropped,
        } => {
            let again = if *replaced {
                " (replaces the one typed before)"
            } else {
                ""
            };
            eprintln!("  line {line} ok{again}");
            for p in dropped {
                eprintln!("  {} — type line {} again", p, p.line());
            }
        }
        Typed::Renumbered {
            typed,
            line,
            replaced,
        } => {
            let again = if *replaced {
                ", replacing the one typed before"
            } else {
                ""
            };
            eprintln!("  that is line {line} (typed as {typed}): kept as line {line}{again}");
        }
        Typed::Held { line } => {
            eprintln!("  line {line} kept: it is checked once line 1 is typed");
        }
        Typed::Header => {}
        Typed::NotALine => eprintln!(
            "  (not a share line: type it as printed, e.g. 01: ABCD EFGH …, or a file path)"
        ),
        Typed::Refused(p) => eprintln!("  {}", problem_hint(p)),
    }
}

/// A refused line with what to do.
fn problem_hint(p: &LineProblem) -> String {
    let n = p.line();
    match p {
        LineProblem::Form(e @ ShareTextError::CheckMissing { .. }) => format!(
            "{e} — type line {n} again, with the two check symbols printed after the four groups"
        ),
        LineProblem::Form(e @ ShareTextError::NewerFormat(_)) => text_problem(e),
        LineProblem::Form(e) => {
            format!("{e} — compare it with the envelope and type line {n} again")
        }
        LineProblem::Mismatch { .. } => {
            format!("{p} — compare it with the envelope and type line {n} again")
        }
        LineProblem::FromEnvelope { or_line: None, .. } => {
            format!("{p} — type line {n} from this envelope")
        }
        LineProblem::FromEnvelope {
            or_line: Some(m), ..
        } => format!(
            "{p} — type line {n} from this envelope (if you typed line {m} of this one, \
             type it with its own number)"
        ),
        LineProblem::PastEnd { .. } => format!("{p} — check the line number"),
    }
}

/// The custodian says the share is complete: the share, or what is still
/// needed (`None`: keep reading lines).
fn finish(t: &mut TypedShare, input: &mut Input) -> CliResult<Option<Given>> {
    loop {
        match t.finish() {
            Finish::Done(body) => {
                return Ok(Some(Given::Typed(body, std::mem::take(t))));
            }
            Finish::Missing(lines) => {
                let list: Vec<String> = lines.iter().map(ToString::to_string).collect();
                match &lines[..] {
                    [n] => eprintln!("  line {n} is missing: type line {n} from the envelope"),
                    _ => eprintln!(
                        "  lines {} are missing: type them from the envelope",
                        list.join(", ")
                    ),
                }
                return Ok(None);
            }
            Finish::Fix(fix) => {
                if !ask_fix(&fix, input)? {
                    eprintln!("  then type line {} again from the envelope", fix.line);
                    return Ok(None);
                }
                t.accept_fix(&fix);
                eprintln!("  line {} ok (corrected as confirmed)", fix.line);
            }
            Finish::Failed(e) => {
                eprintln!(
                    "  {e} — compare every line with the envelope and retype the wrong one \
                     (b takes back the last line)"
                );
                return Ok(None);
            }
        }
    }
}

/// Shows a fix the whole-share check confirms, for the custodian to check
/// on the envelope.
fn ask_fix(fix: &LineFix, input: &mut Input) -> CliResult<bool> {
    let place = match fix.group {
        Some(g) => format!("group {g}"),
        None => "the check code".to_owned(),
    };
    eprintln!(
        "  line {}: symbol {} of {place} looks mistyped (the rest of the share confirms it).",
        fix.line, fix.position
    );
    input.confirm(&format!(
        "  Is {place} of line {} on the envelope {}?",
        fix.line,
        fix.corrected.as_str()
    ))
}
