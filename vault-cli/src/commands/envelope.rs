//! `breakglass envelope`: printable envelopes for custodians' shares.

use std::path::{Path, PathBuf};

use serde_json::json;
use vault_core::share_text::{self, ShareHeader};
use vault_core::store::{self, Scope};
use vault_core::vault::Vault;

use crate::cli::{EnvelopeArgs, PaperArg};
use crate::commands::init::{file_stem, share_path};
use crate::commands::shares::{share_problem, text_problem};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::paper::envelope::{self, Envelope, Paper};

/// One share to print: its canonical text and facts.
struct ToPrint {
    custodian: String,
    index: u8,
    protected: bool,
    text: zeroize::Zeroizing<String>,
    out: PathBuf,
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
        text,
        out,
    })
}

/// Runs `envelope`.
pub fn run(a: EnvelopeArgs) -> CliResult {
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
                        &share_path(dir, &c.name),
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
    let fingerprint = match vault.generation() {
        1 => vault.fingerprint().short(),
        g => format!("{} (generation {g})", vault.fingerprint()),
    };
    let vault_file = a
        .vault
        .file_name()
        .map_or("VAULT".into(), |n| n.to_string_lossy().into_owned());
    let mut report = Vec::new();
    for job in &jobs {
        let page = Envelope {
            vault_name: vault.name(),
            fingerprint: &fingerprint,
            vault_file: &vault_file,
            custodian: &job.custodian,
            index: job.index,
            threshold: vault.threshold(),
            custodians: vault.custodians().len(),
            date: &date,
            protected: job.protected,
            share_text: &job.text,
        };
        let printed = envelope::render(&[page], paper).map_err(CliError::input)?;
        store::write_new_file(&job.out, &printed.pdf, a.force)?;
        let (version, level) = printed.qr[0];
        report.push(json!({
            "custodian": job.custodian, "path": job.out.display().to_string(),
            "bytes": printed.pdf.len(), "qr_version": version, "qr_level": level,
        }));
        if !a.json {
            println!(
                "{}: envelope for {} ({} bytes, QR version {version} level {level})",
                job.out.display(),
                job.custodian,
                printed.pdf.len()
            );
        }
    }
    if a.json {
        super::print_json(&json!({ "envelopes": report }));
    }
    Ok(())
}
