//! `unseal` at a terminal with nothing named: list the entries, ask which
//! to reveal and why. Revealing everything marks everything exposed, so it
//! is never the default: it takes `--all` or the answer "all".

use vault_core::vault::{check_reason, Vault};

use crate::context::rfc3339;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// At most this many entries are listed; the others are named by label.
const LISTED: usize = 40;

/// How many times an empty or unusable reason is asked again.
const REASON_TRIES: usize = 3;

/// The refusal when nothing is named and nobody is at a terminal to ask.
pub fn nothing_named() -> CliError {
    CliError::input(
        "name what to reveal: --entry LABEL (repeat for more), --device ID or --key-id ID; \
         or reveal every entry deliberately with --all",
    )
}

/// Lists the entries of `vault` and asks which to reveal; with `reason`
/// empty, also asks why (the answer goes into the unseal record).
pub fn ask(vault: &Vault, input: &mut Input, reason: &mut String) -> CliResult<Vec<String>> {
    let labels: Vec<&str> = vault.entries().keys().collect();
    list(vault, &labels);
    let labels = choose(&labels, input)?;
    if reason.is_empty() {
        *reason = ask_reason(input)?;
    }
    Ok(labels)
}

fn list(vault: &Vault, labels: &[&str]) {
    eprintln!(
        "Vault '{}' holds {} entr{}. Only the ones you choose are revealed (and marked \
         exposed, to be rotated):",
        vault.name(),
        labels.len(),
        if labels.len() == 1 { "y" } else { "ies" }
    );
    let width = labels
        .iter()
        .take(LISTED)
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(5);
    for (n, label) in labels.iter().take(LISTED).enumerate() {
        let Some(e) = vault.entries().entry(label) else {
            continue;
        };
        eprintln!(
            "  {:>2}  {label:<width$}  {:<12}  {:<14}  deposited {}",
            n + 1,
            e.kind().name(),
            e.current_device().unwrap_or("-"),
            &rfc3339(e.current_time())[..10],
        );
    }
    if labels.len() > LISTED {
        eprintln!(
            "  … and {} more: type a label (find one with: breakglass list --search TEXT)",
            labels.len() - LISTED
        );
    }
}

fn choose(labels: &[&str], input: &mut Input) -> CliResult<Vec<String>> {
    let listed = labels.len().min(LISTED);
    loop {
        let answer = input.visible_line(
            "Which to reveal? Numbers or labels separated by spaces (e.g. 1 3), \"all\" for \
             every entry, empty to cancel: ",
        )?;
        let answer = answer.trim();
        if answer.is_empty() || answer.eq_ignore_ascii_case("q") {
            return Err(CliError::input(
                "nothing chosen: nothing revealed (name entries with --entry LABEL)",
            ));
        }
        match parse(answer, labels, listed) {
            Ok(chosen) => return Ok(chosen),
            Err(word) => eprintln!(
                "'{word}' is neither a number from 1 to {listed} nor a label of this vault; \
                 try again."
            ),
        }
    }
}

/// The labels an answer names, in the order given, each once; or the first
/// word that names none.
fn parse(answer: &str, labels: &[&str], listed: usize) -> Result<Vec<String>, String> {
    if answer.eq_ignore_ascii_case("all") {
        return Ok(labels.iter().map(|l| l.to_string()).collect());
    }
    let mut chosen: Vec<String> = Vec::new();
    for word in answer.split(|c: char| c == ',' || c.is_whitespace()) {
        if word.is_empty() {
            continue;
        }
        let label = match word.parse::<usize>() {
            Ok(n) if (1..=listed).contains(&n) => labels[n - 1].to_string(),
            _ => match labels.iter().find(|l| **l == word) {
                Some(l) => l.to_string(),
                None => return Err(word.to_owned()),
            },
        };
        if !chosen.contains(&label) {
            chosen.push(label);
        }
    }
    Ok(chosen)
}

fn ask_reason(input: &mut Input) -> CliResult<String> {
    for _ in 0..REASON_TRIES {
        let answer = input.visible_line(
            "Why is the vault being opened? (an incident number or a few words; kept in the \
             audit record): ",
        )?;
        let answer = answer.trim();
        if answer.is_empty() {
            eprintln!("A reason is needed: it is recorded with the custodians' names.");
            continue;
        }
        match check_reason(answer) {
            Ok(()) => return Ok(answer.to_owned()),
            Err(e) => eprintln!("{}", crate::error::input_message(&e)),
        }
    }
    Err(CliError::input(
        "no reason given: nothing revealed (or give it with --reason TEXT)",
    ))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn answers_name_labels_by_number_or_name() {
        let labels = ["a", "b", "c"];
        assert_eq!(parse("1 3", &labels, 3), Ok(vec!["a".into(), "c".into()]));
        assert_eq!(
            parse("c,1, c", &labels, 3),
            Ok(vec!["c".into(), "a".into()])
        );
        assert_eq!(parse("ALL", &labels, 3).unwrap().len(), 3);
        assert_eq!(parse("4", &labels, 3), Err("4".into()));
        assert_eq!(parse("2 x", &labels, 3), Err("x".into()));
        // Past the listed ones, numbers are not accepted, labels are.
        assert_eq!(parse("3", &labels, 2), Err("3".into()));
        assert_eq!(parse("c", &labels, 2), Ok(vec!["c".into()]));
    }
}
