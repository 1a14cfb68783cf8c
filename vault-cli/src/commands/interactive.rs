//! Unseal from paper at a terminal: each custodian types their share line
//! by line (each line is checked as it is entered) or gives the path to a
//! share file or a picture of their envelope, then their passphrase.
//! Progress is shown after every share; a bad share is named with the fix
//! and can be tried again.

use std::path::Path;

use vault_core::share_text::{self, ShareTextError};
use vault_core::vault::Vault;
use zeroize::Zeroizing;

use crate::commands::shares::{add_text, text_problem, Gathered};
use crate::error::CliResult;
use crate::input::Input;

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
    eprintln!(
        "For each share, type its numbered lines (each is checked as you go) and an empty line, \
         or give the path to its file or a photo of the envelope. q quits."
    );
    let mut out = Gathered::new(vault);
    while !out.quorum.is_complete() {
        eprintln!("\nShare {} of {k}:", out.quorum.len() + 1);
        let Some((source, text)) = read_share(input)? else {
            return Ok(out); // q: the caller reports "need k valid shares"
        };
        match add_text(&mut out, &source, &text, input)? {
            Ok(_) => {
                let who = out.quorum.custodians();
                eprintln!("✓ {} of {k} valid shares: {}", who.len(), who.join(", "));
            }
            Err(why) => {
                eprintln!("✗ {why}\n  Try again, or give another custodian's share.");
                out.rejected.push(source);
            }
        }
    }
    Ok(out)
}

/// The share's text: typed lines (checked one by one) up to an empty line,
/// or the contents of a file or picture whose path was typed.
fn read_share(input: &mut Input) -> CliResult<Option<(String, Zeroizing<String>)>> {
    let mut text = Zeroizing::new(String::with_capacity(4096));
    text.push_str(share_text::MAGIC_LINE);
    text.push('\n');
    let mut lines = 0;
    let mut pending: Option<share_text::LineFix> = None;
    loop {
        let line = input.visible_line("> ")?;
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("q") && lines == 0 {
            return Ok(None);
        }
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(share_text::END_LINE) {
            if lines > 0 {
                return Ok(Some(("typed share".into(), text)));
            }
            continue;
        }
        if let Some(fix) = pending.take() {
            if trimmed.eq_ignore_ascii_case("y") {
                eprintln!("  line {} ok (corrected as confirmed)", fix.line);
                text.push_str(&fix.corrected_line);
                text.push('\n');
                lines += 1;
                continue;
            }
        }
        if lines == 0 && Path::new(trimmed).is_file() {
            match input.share_text(Path::new(trimmed)) {
                Ok(t) => return Ok(Some((trimmed.to_owned(), t))),
                Err(e) => {
                    eprintln!("  {e} — give another file, or type the share");
                    continue;
                }
            }
        }
        match share_text::check_typed_line(trimmed) {
            None => {
                eprintln!("  (not a numbered share line: type it as printed, e.g. 01: ABCD EFGH …)")
            }
            Some(Ok(n)) => {
                eprintln!("  line {n} ok");
                text.push_str(trimmed);
                text.push('\n');
                lines += 1;
            }
            Some(Err(e @ ShareTextError::LineCheck { .. })) => {
                match share_text::propose_line_fix(trimmed) {
                    Some(fix) => {
                        let place = fix
                            .group
                            .map_or("the check code".to_owned(), |g| format!("group {g}"));
                        eprintln!(
                        "  {e}\n  Is {place} on the envelope {}? Type y to use it, or retype the line.",
                        fix.corrected.as_str()
                    );
                        pending = Some(fix);
                    }
                    None => eprintln!("  {e} — compare it with the envelope and retype this line"),
                }
            }
            Some(Err(e @ ShareTextError::BadSymbol { .. })) => {
                eprintln!("  {e} — compare it with the envelope and retype this line");
            }
            Some(Err(e)) => eprintln!("  {}", text_problem(&e)),
        }
    }
}
