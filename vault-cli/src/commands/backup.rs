//! `breakglass backup` and `breakglass restore`: the whole sealed vault on
//! paper, and back to a byte-identical file. The paper holds only what the
//! file holds: reading a secret still needs k shares.

use vault_core::backup::{self, Assembler};
use vault_core::{log, store, vault::Vault};

use crate::cli::{BackupArgs, PaperArg, RestoreArgs};
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::paper::backup::{self as paper, BackupInfo};
use crate::paper::layout::Paper;
use crate::paper::scan;

/// Runs `backup`.
pub fn backup(a: BackupArgs) -> CliResult {
    let vault = super::load(&a.vault)?;
    let layout = if a.large_type {
        paper::LARGE
    } else {
        paper::DENSE
    };
    let bytes = read_printable(&a.vault, layout.per_page)?;
    let parts = backup::split_in(&bytes, vault.id(), backup::CHUNK);
    let paper_size = match a.paper {
        PaperArg::A4 => Paper::A4,
        PaperArg::Letter => Paper::Letter,
    };
    let info = BackupInfo {
        vault_name: vault.name(),
        fingerprint: &vault.fingerprint().short(),
        threshold: vault.threshold(),
        custodians: vault.custodians().len(),
        generation: vault.generation(),
        file_len: bytes.len(),
        vault_file: &a
            .vault
            .file_name()
            .map_or("VAULT".into(), |n| n.to_string_lossy().into_owned()),
        date: &rfc3339(context::now())[..10],
    };
    let printed = paper::render(&parts, &info, paper_size, layout).map_err(CliError::input)?;
    store::write_new_file(&a.out, &printed.pdf, a.force)?;
    let (version, level) = printed
        .qr
        .iter()
        .map(|&(v, l, _)| (v, l))
        .max()
        .unwrap_or((0, "-"));
    println!(
        "{}: {} pages; {} bytes of vault in {} parts ({} bytes a page; {} bytes of PDF; QR up \
         to version {version}, level {level}). Restore with: breakglass restore VAULT --from \
         page-*.png",
        a.out.display(),
        printed.pages,
        bytes.len(),
        parts.len(),
        bytes.len() / printed.pages.max(1),
        printed.pdf.len()
    );
    Ok(())
}

/// The vault file, refused before it is laid out when it needs more than
/// [`paper::MAX_PAGES`] pages (1 MB of vault): the PDF is built in memory,
/// at about 120 KB a page.
fn read_printable(path: &std::path::Path, per_page: usize) -> CliResult<Vec<u8>> {
    use std::io::Read;
    let most = (paper::MAX_PAGES * per_page * backup::CHUNK) as u64;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(most + 1).read_to_end(&mut bytes))
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > most {
        let len = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        let pages = len.div_ceil((per_page * backup::CHUNK) as u64);
        return Err(CliError::input(format!(
            "{}: {len} bytes would take {pages} pages; a paper backup holds at most {} pages \
             ({most} bytes of vault) — keep copies of the file instead: it is sealed, so a copy \
             needs k shares to read, like the paper",
            path.display(),
            paper::MAX_PAGES,
        )));
    }
    Ok(bytes)
}

/// Runs `restore`.
pub fn restore(a: RestoreArgs) -> CliResult {
    let expected = super::expected(&a.expect)?;
    let mut assembler = Assembler::new();
    let mut problems = 0;
    for path in &a.from {
        let bytes =
            std::fs::read(path).map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        let texts = if scan::is_picture(&bytes) {
            match scan::decode_all(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("breakglass: {}: {e}", path.display());
                    problems += 1;
                    continue;
                }
            }
        } else {
            vec![String::from_utf8_lossy(&bytes).into_owned()]
        };
        for text in texts {
            match assembler.add_text(&text) {
                Ok(parts) => eprintln!(
                    "{}: part{} {}",
                    path.display(),
                    if parts.len() == 1 { "" } else { "s" },
                    parts
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(e) => {
                    eprintln!("breakglass: {}: {e}", path.display());
                    problems += 1;
                }
            }
        }
    }
    let file = assembler.finish().map_err(|e| {
        CliError::input(format!(
            "{e}{}",
            if problems > 0 {
                " (and see the problems above)"
            } else {
                ""
            }
        ))
    })?;
    // It must be a vault this breakglass can open.
    let parsed = log::parse(&file)
        .map_err(|e| CliError::damaged(format!("the restored file is not a valid vault: {e}")))?;
    let vault = Vault::replay(&parsed)
        .map_err(|e| CliError::damaged(format!("the restored file is not a valid vault: {e}")))?;
    // A swapped paper backup is a vault with someone else's escrow key:
    // compare before writing anything.
    super::check_expected(
        std::path::Path::new("the restored vault"),
        &vault,
        expected.as_ref(),
        "nothing was written",
    )?;
    store::write_new_file(&a.out, &file, a.force)?;
    println!(
        "Restored vault '{}' (id {}) to {}: {} bytes, {} records, {} entries, byte for byte as backed up.",
        vault.name(),
        vault.id().short(),
        a.out.display(),
        file.len(),
        vault.record_count(),
        vault.entries().len()
    );
    println!(
        "Fingerprint: {} — compare it with the fingerprint on your envelopes",
        vault.fingerprint()
    );
    Ok(())
}
