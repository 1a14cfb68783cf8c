//! The ceremony transcript `init` and `rekey` print (and write with
//! `--transcript FILE`): the vault's fingerprint, each custodian's
//! recipient and the SHA-256 of the share file written for them, so each
//! custodian can check out of band that the file they were handed is
//! theirs and belongs to this vault (`sha256sum FILE`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vault_core::fingerprint::Fingerprint;

use crate::error::{CliError, CliResult};

/// One share written at the ceremony.
pub struct ShareLine {
    /// The custodian.
    pub custodian: String,
    /// Their recipient (or its SSH fingerprint), "passphrase" or "plain".
    pub custody: String,
    /// The share file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub digest: String,
}

/// SHA-256 of `bytes` in lower-case hex.
pub fn digest(bytes: &[u8]) -> String {
    crate::commands::hex(&Sha256::digest(bytes))
}

/// What the ceremony made.
pub struct Transcript<'a> {
    /// "init" or "rekey".
    pub command: &'a str,
    /// The vault file.
    pub vault: &'a Path,
    /// The vault's name.
    pub name: &'a str,
    /// k.
    pub threshold: usize,
    /// The (new) fingerprint.
    pub fingerprint: &'a Fingerprint,
    /// The shares, in custodian order.
    pub shares: &'a [ShareLine],
}

impl Transcript<'_> {
    /// The transcript as text.
    pub fn render(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "breakglass ceremony transcript ({})", self.command);
        let _ = writeln!(
            t,
            "Time:        {}",
            crate::context::rfc3339(crate::context::now())
        );
        let _ = writeln!(
            t,
            "Vault:       '{}' at {}",
            self.name,
            self.vault.display()
        );
        let _ = writeln!(
            t,
            "Quorum:      {} of {}",
            self.threshold,
            self.shares.len()
        );
        let _ = writeln!(t, "Fingerprint: {}", self.fingerprint.short());
        let _ = writeln!(t, "             {}", self.fingerprint.full());
        let _ = writeln!(
            t,
            "Shares (custodian, recipient, file, SHA-256 of the file):"
        );
        for s in self.shares {
            let _ = writeln!(
                t,
                "  {}  {}  {}  sha256:{}",
                s.custodian,
                s.custody,
                s.path.display(),
                s.digest
            );
        }
        let _ = writeln!(
            t,
            "Each custodian: check `sha256sum` of the file you received and the fingerprint \
             (breakglass status VAULT) against this transcript, read out of band."
        );
        t
    }

    /// Writes the transcript to `path` (a new file unless `force`).
    pub fn write(&self, path: &Path, force: bool) -> CliResult {
        vault_core::store::write_new_file(path, self.render().as_bytes(), force)
            .map_err(|e| CliError::input(format!("writing the transcript: {e}")))
    }
}
