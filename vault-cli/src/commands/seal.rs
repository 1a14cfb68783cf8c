//! `breakglass seal`: deposit a secret. No shares: anyone with the vault
//! file can deposit; only a quorum can read.

use serde_json::json;
use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::store;
use vault_core::vault::DepositMeta;
use zeroize::Zeroizing;

use crate::cli::{KindArg, SealArgs};
use crate::context;
use crate::error::CliResult;
use crate::input::Input;

/// The core's kind for a command-line kind.
pub fn kind(k: KindArg) -> EntryKind {
    match k {
        KindArg::Password => EntryKind::Password,
        KindArg::RecoveryKey => EntryKind::RecoveryKey,
        KindArg::Note => EntryKind::Note,
    }
}

/// Runs `seal`.
pub fn run(a: SealArgs) -> CliResult {
    let kind = kind(a.kind);
    // Read the vault first: a wrong path or label is reported before the
    // secret is typed.
    let vault = super::load(&a.vault)?;
    vault.next_version(&a.label, kind)?;
    let secret = EntrySecret {
        username: Zeroizing::new(a.username.clone().unwrap_or_default()),
        secret: Input::new().secret(&a.label)?,
    };
    let meta = DepositMeta {
        actor: context::actor(),
        time: context::now(),
        device: a.device.clone(),
    };
    let mut version = 0;
    let appended = store::append(&a.vault, |v| {
        version = v.next_version(&a.label, kind)?;
        v.deposit(&a.label, kind, &secret, &meta)
    })??;
    super::report_append(&a.vault, &appended);
    if a.json {
        super::print_json(&json!({
            "label": a.label,
            "kind": kind.name(),
            "version": version,
            "record": appended.record,
            "head": super::hex(&appended.head),
        }));
    } else {
        println!(
            "Sealed '{}' ({}, version {version}) into {}. Reading it needs {} of the custodians.",
            a.label,
            kind.name(),
            a.vault.display(),
            vault.threshold()
        );
    }
    Ok(())
}
