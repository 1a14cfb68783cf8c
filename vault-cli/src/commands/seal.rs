//! `breakglass seal` and `breakglass rotate`: deposit a secret. No shares:
//! anyone with the vault file can deposit; only a quorum can read.

use serde_json::json;
use vault_core::entry::{EntryKind, EntrySecret};
use vault_core::fingerprint::{Expected, Fingerprint};
use vault_core::generate::{self, Charset, Generated, Policy};
use vault_core::receipt::Receipt;
use vault_core::store::{self, Scope};
use vault_core::vault::DepositMeta;
use zeroize::Zeroizing;

use crate::cli::{GenerateArgs, KindArg, PolicyArgs, RotateArgs, SealArgs};
use crate::context;
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// The core's kind for a command-line kind.
pub fn kind(k: KindArg) -> EntryKind {
    match k {
        KindArg::Password => EntryKind::Password,
        KindArg::RecoveryKey => EntryKind::RecoveryKey,
        KindArg::Note => EntryKind::Note,
        KindArg::File => EntryKind::File,
    }
}

/// The generation policy asked for, if any.
fn policy(g: &GenerateArgs) -> CliResult<Option<Policy>> {
    if !g.generate {
        return Ok(None);
    }
    if let Some(words) = g.words {
        return Ok(Some(Policy::Passphrase { words }));
    }
    let charsets = g
        .charset
        .iter()
        .map(|name| {
            Charset::from_name(name.trim()).ok_or_else(|| {
                CliError::usage(format!(
                    "--charset {name}: use upper, lower, digits and symbols, separated by commas"
                ))
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    Ok(Some(Policy::Password {
        length: g.length,
        charsets,
        readable: g.readable,
    }))
}

/// The secret to deposit: generated, prompted or read from stdin.
pub(super) fn obtain(
    kind: EntryKind,
    g: &GenerateArgs,
    label: &str,
) -> CliResult<(Zeroizing<Vec<u8>>, Option<Generated>)> {
    if let Some(p) = policy(g)? {
        if !matches!(kind, EntryKind::Password | EntryKind::Note) {
            return Err(CliError::usage(format!(
                "--generate makes passwords, not a {}",
                kind.name()
            )));
        }
        let generated = generate::generate(&p)?;
        let bytes = Zeroizing::new(generated.secret.as_bytes().to_vec());
        return Ok((bytes, Some(generated)));
    }
    let mut input = Input::new();
    if kind == EntryKind::File && input.is_terminal() {
        return Err(CliError::usage(format!(
            "a file is read from stdin: breakglass seal VAULT --label {label} --kind file < FILE"
        )));
    }
    Ok((input.secret(label)?, None))
}

pub(super) fn meta(
    device: Option<String>,
    key_id: Option<String>,
    p: &PolicyArgs,
    rotation: bool,
) -> DepositMeta {
    DepositMeta {
        actor: context::actor(),
        time: context::now(),
        device,
        key_id,
        rotate_days: p.rotate_every,
        expose_hours: p.rotate_after_use,
        rotation,
        digest: None,
        also_known_as: None,
        user: None,
    }
}

/// What a deposit needs besides the vault.
struct Deposit<'a> {
    label: &'a str,
    kind: EntryKind,
    username: Option<String>,
    meta: DepositMeta,
    generate: &'a GenerateArgs,
    expected: Option<Expected>,
    json: bool,
}

/// Checks the label first (before a secret is typed), obtains the secret,
/// appends the deposit, and reports it.
fn deposit(path: &std::path::Path, d: Deposit<'_>) -> CliResult {
    let scope = Scope::Entries(vec![d.label.to_owned()]);
    let vault = super::load_scope(path, &scope)?;
    // At a terminal with no --expect, the fingerprint pinned at the first
    // deposit from this machine is expected (SSH known_hosts style).
    let interactive = d.expected.is_none() && Input::new().is_terminal();
    let (expected, refused) = match (d.expected, interactive) {
        (None, true) => (
            crate::pins::pinned(path),
            format!(
                "nothing was sealed. This machine pinned another fingerprint for it at first \
                 use; if the change was intended (a rekey), forget the pin: breakglass pin {} \
                 --forget",
                path.display()
            ),
        ),
        (expected, _) => (expected, "nothing was sealed".to_owned()),
    };
    let refused = refused.as_str();
    super::check_expected(path, &vault, expected.as_ref(), refused)?;
    if vault.next_version(d.label, d.kind)? == 1 {
        warn_look_alikes(path, d.label)?;
    }
    let (secret, generated) = obtain(d.kind, d.generate, d.label)?;
    let secret = EntrySecret {
        username: Zeroizing::new(d.username.unwrap_or_default()),
        secret,
    };
    let mut version = 0;
    let mut fingerprint = *vault.fingerprint().as_bytes();
    let appended = store::append(path, &scope, |v| {
        // Again under the lock: the file may have changed since.
        super::check_expected(path, v, expected.as_ref(), refused)?;
        fingerprint = *v.fingerprint().as_bytes();
        version = v.next_version(d.label, d.kind)?;
        Ok::<_, CliError>(v.deposit(d.label, d.kind, &secret, &d.meta)?)
    })??;
    super::report_append(path, &appended);
    crate::notify::acknowledge(path, crate::notify::Since::appended(&appended));
    if interactive {
        crate::pins::pin_first_use(path, &Fingerprint::from_bytes(fingerprint));
    }
    let verb = if d.meta.rotation { "Rotated" } else { "Sealed" };
    if d.json {
        let mut out = json!({
            "label": d.label,
            "kind": d.kind.name(),
            "version": version,
            "rotation": d.meta.rotation,
            "record": appended.record,
            "head": super::hex(&appended.head),
            "receipt": Receipt {
                fingerprint,
                record: appended.record as u32,
                head: appended.head,
            }
            .to_line(),
        });
        if let Some(g) = &generated {
            out["secret"] = json!(g.secret.as_str());
            out["entropy_bits"] = json!((g.entropy_bits * 10.0).round() / 10.0);
        }
        super::print_json(&out);
        return Ok(());
    }
    println!(
        "{verb} '{}' ({}, version {version}) into {}. Reading it needs {} of the custodians.",
        d.label,
        d.kind.name(),
        path.display(),
        vault.threshold()
    );
    if let Some(g) = generated {
        println!(
            "Generated secret ({:.0} bits of entropy), shown this once — set it on the account now:",
            g.entropy_bits
        );
        println!("  {}", g.secret.as_str());
    }
    Ok(())
}

/// A new label that differs from an existing one only by case or by
/// look-alike characters is sealed as asked (both may be meant), after a
/// warning naming the existing entry. Finding them needs every label, so
/// a new entry costs one whole read of the vault.
fn warn_look_alikes(path: &std::path::Path, label: &str) -> CliResult {
    // The check reads every label. A deposit into a fleet-sized vault must
    // stay O(1) (docs/PERFORMANCE.md), so above this size it is not made:
    // SECURITY.md, "Known limits".
    const LOOK_ALIKE_CHECK_MAX_BYTES: u64 = 4 << 20;
    if std::fs::metadata(path).map_or(true, |m| m.len() > LOOK_ALIKE_CHECK_MAX_BYTES) {
        return Ok(());
    }
    let whole = super::load(path)?;
    let labels = whole.entries().keys();
    for existing in vault_core::text_rules::look_alikes(label, labels) {
        super::warn(format_args!(
            "label '{label}' looks like the existing entry '{}' (it differs only by case or by look-alike characters); sealing it as a separate entry",
            existing.escape_debug()
        ));
    }
    Ok(())
}

/// Runs `seal`.
pub fn run(a: SealArgs) -> CliResult {
    if let Some(to) = &a.to {
        return super::tokens::seal_to(&a, to);
    }
    let kind = kind(a.kind);
    let vault = a.vault.as_deref().ok_or_else(|| {
        CliError::usage("seal needs a vault file, or --to RECIPIENT to write a deposit token")
    })?;
    deposit(
        vault,
        Deposit {
            label: &a.label,
            kind,
            username: a.username,
            meta: meta(a.device, a.key_id, &a.policy, false),
            generate: &a.generate,
            expected: super::expected(&a.expect)?,
            json: a.json,
        },
    )
}

/// Runs `rotate`: a new version of an existing entry, recorded as a rotation.
pub fn rotate(a: RotateArgs) -> CliResult {
    let vault = super::load_scope(&a.vault, &Scope::Entries(vec![a.label.clone()]))?;
    let entry = vault.entries().get(&a.label).ok_or_else(|| {
        CliError::input(format!(
            "no entry '{}' in vault '{}' to rotate (see: breakglass list)",
            a.label,
            vault.name()
        ))
    })?;
    let kind = entry.kind;
    let device = entry.current().device.clone();
    if a.username.is_none() {
        super::warn("usernames are sealed, so rotate cannot copy the old one: give --username to keep one with the new version");
    }
    deposit(
        &a.vault,
        Deposit {
            label: &a.label,
            kind,
            username: a.username,
            meta: meta(device, None, &a.policy, true),
            generate: &a.generate,
            expected: super::expected(&a.expect)?,
            json: a.json,
        },
    )
}
