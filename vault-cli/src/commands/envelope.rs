//! `breakglass envelope`: printable envelopes for custodians' shares.

use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::share_text::{self, ShareHeader};
use vault_core::store::{self, Scope};
use vault_core::vault::Vault;
use zeroize::Zeroizing;

use crate::cli::{EnvelopeArgs, EnvelopeTextArgs, PaperArg};
use crate::commands::init::{file_stem, share_path};
use crate::commands::shares::{share_problem, text_problem};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::paper::envelope::{self, Envelope, Paper};
use crate::paper::qr::Mode;

/// One share to print: its canonical text and facts.
struct ToPrint {
    custodian: String,
    index: u8,
    protected: bool,
    text: Zeroizing<String>,
    qr: (Zeroizing<String>, Mode),
    out: PathBuf,
}

/// The longest `--contact` or `--where`, in characters.
const TEXT_MAX: usize = 200;

/// Checks `--contact` and `--where`: one line each, at most [`TEXT_MAX`]
/// characters, no control characters.
pub fn check_text(t: &EnvelopeTextArgs) -> CliResult {
    for (flag, value) in [("--contact", &t.contact), ("--where", &t.place)] {
        let Some(v) = value else { continue };
        if let Some(c) = v.chars().find(|c| c.is_control()) {
            return Err(CliError::input(format!(
                "{flag} contains a control character (U+{:04X}): give one line of text",
                u32::from(c)
            )));
        }
        if v.chars().count() > TEXT_MAX || v.trim().is_empty() {
            return Err(CliError::input(format!(
                "{flag} must be 1 to {TEXT_MAX} characters (it is printed on every envelope)"
            )));
        }
    }
    Ok(())
}

/// The `breakglass envelope` command that prints these envelopes, for
/// `init` and `rekey` to show when `--contact` or `--where` was given: the
/// version 2 vault keeps them, so the command needs neither.
pub fn reprint_hint(vault: &Path, share_dir: &Path, t: &EnvelopeTextArgs) -> Option<String> {
    if t.contact.is_none() && t.place.is_none() {
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let cmd = format!(
        "breakglass envelope {} --all --share-dir {} --out-dir envelopes",
        quote(&vault.display().to_string()),
        quote(&share_dir.display().to_string())
    );
    Some(format!(
        "Print the envelopes now (whom to call and where things are are kept in the vault file \
         and printed on every envelope):\n  {cmd}"
    ))
}

/// Whom to call and where things are, for an envelope: the flags, else
/// what the vault's genesis keeps (format 2).
fn envelope_text<'a>(
    a: &'a EnvelopeTextArgs,
    vault: &'a Vault,
) -> (Option<&'a str>, Option<&'a str>) {
    let kept = |s: &'a str| (!s.is_empty()).then_some(s);
    (
        a.contact.as_deref().or_else(|| kept(vault.contact())),
        a.place.as_deref().or_else(|| kept(vault.location())),
    )
}

/// Reads and checks a share file against the vault; prints its canonical text.
fn prepare(vault: &Vault, share: &Path, out: PathBuf) -> CliResult<ToPrint> {
    // Through the one share reader, so a share sealed to its custodian
    // opens with --identity (issue 12).
    let raw = crate::input::Input::new().share_text(share)?;
    let body = share_text::decode(&raw)
        .map_err(|e| CliError::input(format!("share {}: {}", share.display(), text_problem(&e))))?;
    vault.precheck_share(&body).map_err(|p| {
        CliError::input(format!(
            "share {}: {}",
            share.display(),
            share_problem(vault, &p)
        ))
    })?;
    let custodian = vault
        .custodian_name(body.index)
        .expect("prechecked")
        .to_owned();
    let text = share_text::encode(
        &body,
        &ShareHeader {
            vault_name: vault.name(),
            fingerprint: &vault.fingerprint().short(),
            custodian: &custodian,
        },
    );
    Ok(ToPrint {
        custodian,
        index: body.index,
        protected: body.is_protected(),
        qr: envelope::qr_payload(&body, &text),
        text,
        out,
    })
}

/// The share file of `custodian` in `dir`: `NAME.share`, or
/// `NAME.share.age` when the share was sealed to the custodian's key (it
/// opens with `--identity`). Both there is ambiguous: refused.
fn share_file(dir: &Path, custodian: &str) -> CliResult<PathBuf> {
    let plain = share_path(dir, custodian);
    let sealed = dir.join(format!(
        "{}.{}",
        file_stem(custodian),
        crate::custody::AGE_EXTENSION
    ));
    match (plain.exists(), sealed.exists()) {
        (true, true) => Err(CliError::input(format!(
            "both {} and {} are there for {custodian}: move the one that is not this vault's \
             away, or print this envelope with --share FILE --out FILE",
            plain.display(),
            sealed.display()
        ))),
        (false, true) => Ok(sealed),
        _ => Ok(plain),
    }
}

/// Runs `envelope`.
pub fn run(a: EnvelopeArgs) -> CliResult {
    check_text(&a.text)?;
    let vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let jobs: Vec<ToPrint> = match (&a.share, &a.out) {
        (Some(share), Some(out)) => vec![prepare(&vault, share, out.clone())?],
        _ => {
            let (dir, out_dir) = (
                a.share_dir.as_ref().expect("clap"),
                a.out_dir.as_ref().expect("clap"),
            );
            // Custodian names come from the vault file: made into file
            // names only through `file_stem`, so every share is read from
            // inside DIR and every envelope written inside OUT_DIR.
            let mut stems = std::collections::BTreeMap::new();
            for c in vault.custodians() {
                let stem = file_stem(&c.name);
                if let Some(other) = stems.insert(stem.to_lowercase(), &c.name) {
                    return Err(CliError::input(format!(
                        "custodians '{other}' and '{}' would share the file name '{stem}': \
                         print their envelopes one at a time with --share and --out",
                        c.name
                    )));
                }
            }
            std::fs::create_dir_all(out_dir)
                .map_err(|e| CliError::input(format!("{}: {e}", out_dir.display())))?;
            vault
                .custodians()
                .iter()
                .map(|c| {
                    prepare(
                        &vault,
                        &share_file(dir, &c.name)?,
                        out_dir.join(format!("{}.pdf", file_stem(&c.name))),
                    )
                })
                .collect::<CliResult<_>>()?
        }
    };
    let paper = match a.paper {
        PaperArg::A4 => Paper::A4,
        PaperArg::Letter => Paper::Letter,
    };
    let date = rfc3339(context::now())[..10].to_owned();
    let generation_date = rfc3339(vault.genesis().time)[..10].to_owned();
    let fingerprint = vault.fingerprint().short();
    let names: Vec<String> = vault.custodians().iter().map(|c| c.name.clone()).collect();
    let vault_file = a
        .vault
        .file_name()
        .map_or("VAULT".into(), |n| n.to_string_lossy().into_owned());
    let mut report = Vec::new();
    let (contact, place) = envelope_text(&a.text, &vault);
    for job in &jobs {
        let page = Envelope {
            vault_name: vault.name(),
            fingerprint: &fingerprint,
            vault_file: &vault_file,
            custodian: &job.custodian,
            index: job.index,
            threshold: vault.threshold(),
            custodians: &names,
            generation: vault.generation(),
            generation_date: &generation_date,
            date: &date,
            protected: job.protected,
            share_text: &job.text,
            qr: (&job.qr.0, job.qr.1),
            contact,
            place,
        };
        let printed = envelope::render(&[page], paper).map_err(CliError::input)?;
        store::write_new_file(&job.out, &printed.pdf, a.force)?;
        let (version, level, mode) = printed.qr[0];
        report.push(json!({
            "custodian": job.custodian, "path": job.out.display().to_string(),
            "bytes": printed.pdf.len(), "qr_version": version, "qr_level": level,
            "qr_mode": mode.name(),
        }));
        if !a.json {
            println!(
                "{}: envelope for {} ({} bytes, QR version {version} level {level}, {} mode)",
                job.out.display(),
                job.custodian,
                printed.pdf.len(),
                mode.name()
            );
        }
    }
    if a.json {
        super::print_json(&json!({ "envelopes": report }));
    } else if contact.is_none() || place.is_none() {
        println!(
            "No --contact or --where given: the envelopes leave blank lines for whom to call and \
             where the vault copy, laptop and program are; fill them in by hand or reprint with \
             --contact TEXT --where TEXT."
        );
    }
    Ok(())
}
