//! `breakglass session`: a recovery session for a mass outage (many locked
//! devices at once). The quorum is combined once; then lookups are
//! answered one after another — at a `lookup>` prompt on a terminal, or
//! one a line on stdin with one JSON object a line on stdout for a
//! help-desk tool. Each secret shown has its own unseal record, written
//! and synced before the secret is printed; the session's first and last
//! records say who opened it, why, its limits and how it ended
//! (docs/FORMAT.md §13). The rules for lookups are vault-core's
//! (`vault::session`).
//!
//! With a current index beside the vault (docs/FORMAT.md §12) the session
//! never replays the whole vault: it starts on the genesis record, and
//! each lookup is made on the records it needs (the label's, the
//! device's or the key ID's deposits), read through the index under the
//! exclusive lock its reveal record is then appended under — so no record
//! can come between the lookup and its record, and an older secret is
//! never shown as current. Without one (it cannot be written, or the
//! vault was read whole for another reason) the session keeps the vault
//! in memory and reads it again whenever someone else appends.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vault_core::store::{self, Appended, Scope};
use vault_core::vault::session::{
    end_reason, reveal_reason, start_reason, SessionEnd, SessionIndex, SessionLookup,
};
use vault_core::vault::{Revealed, SelectError, Unsealed, Vault};
use zeroize::Zeroizing;

use crate::cli::SessionArgs;
use crate::commands::shares::open_quorum;
use crate::context::{self, rfc3339};
use crate::error::{CliError, CliResult};
use crate::input::Input;

/// The longest session: a working day and a night.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// How often a waiting session looks whether it was interrupted.
const POLL: Duration = Duration::from_millis(200);

/// Ctrl-C (SIGINT) and SIGTERM end the session with its end record instead
/// of killing it: the flag they set is read between lookups, and before a
/// secret is shown. A second one ends the process at once (exit 130), for
/// a session waiting on a lock someone else holds. On Windows, Ctrl-C
/// reaches the C runtime's SIGINT handler the same way; Ctrl-Break or
/// closing the console window still end the process without the record.
fn stop_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as the signal before set it.
        let second = signal_hook::flag::register_conditional_shutdown(
            signal,
            130,
            std::sync::Arc::clone(&flag),
        );
        if let Err(e) = second.and(signal_hook::flag::register(
            signal,
            std::sync::Arc::clone(&flag),
        )) {
            super::warn(format_args!(
                "Ctrl-C will end the session without its end record ({e})"
            ));
        }
    }
    flag
}

/// Runs `session`.
pub fn run(a: SessionArgs) -> CliResult {
    let ttl = duration("--ttl", &a.ttl)?;
    let idle = duration("--idle", &a.idle)?;
    if ttl > MAX_TTL {
        return Err(CliError::usage(
            "--ttl: a session lasts at most 24h; start another one after it",
        ));
    }
    let reason = a.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(CliError::usage(
            "--reason: say why (the incident), it is kept in every record of the session",
        ));
    }
    let locked = crate::harden::lock_memory();
    if let Err(why) = &locked {
        if !a.allow_unlocked {
            return Err(CliError::input(format!(
                "{why} — a session keeps the vault's escrow key in memory for hours, where it \
                 could be swapped to disk: run it where memory can be locked (as root, or with a \
                 higher memlock limit), or accept the risk with --allow-unlocked"
            )));
        }
        super::warn(format_args!(
            "{why}: the escrow key may reach swap (--allow-unlocked)"
        ));
    }
    // The genesis record, through the index when it is current; else the
    // whole vault (which also writes a current index for the next session).
    let mut vault = super::load_scope(&a.vault, &Scope::Keys)?;
    let indexed = !vault.is_whole();
    let mut input = Input::new();
    let (mut unsealed, used) = open_quorum(&vault, &a.vault, &a.shares, &mut input)?;
    // Only the escrow key (to reveal) and the quorum's signing key (to sign
    // each record) stay for the session: the master key goes now.
    let forgot = unsealed.forget_master_key();
    let tty = input.is_terminal();
    let stop = stop_flag();
    let mut session = Session {
        path: &a.vault,
        unsealed: &unsealed,
        index: SessionIndex::of(&vault),
        // Only a whole read tells where the records end (issue 15); read
        // through the index, the first append proves it.
        known: (!indexed).then(|| store::Known::of(&vault)),
        indexed,
        stop: std::sync::Arc::clone(&stop),
        id: session_id(),
        reveals: 0,
        lookups: 0,
        tty,
    };
    let start = start_reason(&session.id, &reason, ttl.as_secs(), idle.as_secs());
    // Written on the vault as loaded, or else read again first: the
    // session's view starts at its own first record. (Read through the
    // index, each lookup reads what it needs again: no view to keep.)
    while session.record(&[], &start, !indexed)?.is_none() {
        session.reload(&mut vault)?;
    }
    eprintln!(
        "Session {} open with the shares of {}: until {} or {} without a lookup. Give a key ID, \
         serial number, device name or label{}; each secret shown is recorded first.",
        session.id,
        used.join(", "),
        rfc3339(context::now() + ttl.as_secs()),
        humantime::format_duration(idle),
        if tty {
            " at the prompt (q or Ctrl-C ends)"
        } else {
            ", one a line"
        },
    );
    if forgot {
        eprintln!(
            "The master key was dropped: only the escrow key and the quorum's signing key are \
             held, {}, until the session ends.",
            if locked.is_ok() {
                "in locked memory"
            } else {
                "in memory that could not be locked (--allow-unlocked)"
            }
        );
    } else {
        eprintln!(
            "This is a version 1 vault: the master key stays in memory to MAC each record \
             (breakglass upgrade moves it to version 2, where it is dropped)."
        );
    }
    let (lines, ready) = reader(input, tty);
    let started = Instant::now();
    let mut last = Instant::now();
    let end = loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break SessionEnd::Interrupted;
        }
        let ttl_left = ttl.saturating_sub(started.elapsed());
        let idle_left = idle.saturating_sub(last.elapsed());
        if ttl_left.is_zero() {
            break SessionEnd::Ttl;
        }
        if idle_left.is_zero() {
            break SessionEnd::Idle;
        }
        let line = match lines.recv_timeout(ttl_left.min(idle_left).min(POLL)) {
            Ok(Some(line)) => line,
            Ok(None) | Err(RecvTimeoutError::Disconnected) => break SessionEnd::EndOfInput,
            Err(RecvTimeoutError::Timeout) => continue,
        };
        if tty && matches!(line.trim(), "q" | "quit") {
            break SessionEnd::EndOfInput;
        }
        session.answer(&mut vault, &line)?;
        let _ = ready.send(());
        last = Instant::now();
    };
    if end == SessionEnd::Interrupted && tty {
        eprintln!();
    }
    session.record(&[], &end_reason(&session.id, session.reveals, end), false)?;
    eprintln!(
        "Session {} ended ({}): {} secrets shown, each recorded; rotate them (breakglass status \
         lists them as exposed).",
        session.id,
        end.name(),
        session.reveals
    );
    Ok(())
}

fn duration(flag: &str, text: &str) -> CliResult<Duration> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::usage(format!("{flag} {text}: give a duration like 15m or 8h")))
}

fn session_id() -> String {
    let mut id = [0u8; 4];
    vault_core::keys::random_bytes(&mut id);
    vault_core::hex_upper(&id)
}

/// Reads lookups on a thread, so that the session can end while it waits;
/// the next prompt comes only once the last answer is printed.
fn reader(
    mut input: Input,
    tty: bool,
) -> (mpsc::Receiver<Option<Zeroizing<String>>>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || loop {
        let line = input.prompt_line(if tty { "lookup> " } else { "" });
        let line = match line {
            Ok(Some(l)) => Some(l),
            Ok(None) => None,
            Err(e) => {
                eprintln!("breakglass: {e}: the session ends");
                None
            }
        };
        let done = line.is_none();
        if tx.send(line).is_err() || done || ready_rx.recv().is_err() {
            return;
        }
    });
    (rx, ready_tx)
}

struct Session<'a> {
    path: &'a Path,
    unsealed: &'a Unsealed,
    /// The vault's entries by device and key ID, for lookups in O(1).
    index: SessionIndex,
    /// The head and end of the file as this session last knew it (its
    /// own records included): a change means someone else appended.
    /// `None` until its first record when it read through the index.
    known: Option<store::Known>,
    /// Each lookup reads through the index under its record's lock (see
    /// the module documentation); else `index` holds the whole vault's.
    indexed: bool,
    /// Set by Ctrl-C or SIGTERM.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    id: String,
    reveals: usize,
    lookups: usize,
    tty: bool,
}

impl Session<'_> {
    /// Appends one unseal record of the session, synced; no secret is
    /// shown unless this succeeds. With `unchanged`, only if the file is
    /// as this session last knew it (`None` otherwise: nothing written;
    /// read it again and look up again).
    fn record(
        &mut self,
        entries: &[(String, u32)],
        reason: &str,
        unchanged: bool,
    ) -> CliResult<Option<Appended>> {
        let (actor, time) = (context::actor(), context::now());
        let known = self.known;
        let sign = |head: &[u8; 32]| {
            self.unsealed
                .unseal_record(entries, reason, &actor, time, head)
                .map_err(Some)
        };
        // O(1) after what this session read or wrote itself; else (another
        // writer appended, or left a torn tail) through the usual append,
        // which sets a torn tail aside.
        let fast = match known {
            Some(known) => store::append_after(self.path, known, sign).map_err(cannot_record)?,
            None => Ok(None),
        };
        let appended = match fast {
            Ok(Some(appended)) => Ok(appended),
            Ok(None) => store::append(self.path, &Scope::Keys, |v| {
                if unchanged && known.is_some_and(|k| *v.head() != k.head) {
                    return Err(None);
                }
                sign(v.head())
            })
            .map_err(cannot_record)?,
            Err(e) => Err(e),
        };
        let appended = match appended {
            Ok(appended) => appended,
            // Someone appended since: nothing written.
            Err(None) => return Ok(None),
            Err(Some(e)) => return Err(e.into()),
        };
        self.recorded(&appended);
        Ok(Some(appended))
    }

    /// What follows each record of the session once it is durable.
    fn recorded(&mut self, appended: &Appended) {
        // The file as it is now, this record included.
        self.known = Some(store::Known::after(appended));
        super::report_append(self.path, appended);
        // Each record leaves the machine as it is written (monitoring),
        // not at the end of a session that may be killed.
        crate::notify::acknowledge(self.path, crate::notify::Since::appended(appended));
    }

    /// Reads the vault again (someone else appended) and rebuilds the
    /// lookup map.
    fn reload(&mut self, vault: &mut Vault) -> CliResult {
        *vault = super::load(self.path)?;
        self.index = SessionIndex::of(vault);
        self.known = Some(store::Known::of(vault));
        Ok(())
    }

    /// True when the file's length is not what this session last knew.
    fn changed(&self) -> bool {
        let known = self.known.map(|k| k.end);
        std::fs::metadata(self.path).map_or(true, |m| Some(m.len()) != known)
    }

    /// Answers one lookup: refused, not found, ambiguous, or found — then
    /// recorded and shown.
    fn answer(&mut self, vault: &mut Vault, line: &str) -> CliResult {
        self.lookups += 1;
        let lookup = match SessionLookup::parse(line) {
            Ok(l) => l,
            Err(e) => {
                return self.reply(json!({"status": "refused", "error": e.to_string()}), || {
                    format!("  refused: {e}")
                })
            }
        };
        if self.indexed {
            return self.answer_through_index(&lookup);
        }
        // A record someone else appended (a new version deposited) makes
        // the state stale: read it again, and look up again, so that an
        // older secret is never shown as current.
        loop {
            if self.changed() {
                self.reload(vault)?;
            }
            let label = match self.index.select(vault, &lookup) {
                Ok(label) => label,
                Err(e) => return self.reply_unfound(&lookup, e),
            };
            let r = match reveal_one(self.unsealed, vault, label) {
                Ok(r) => r,
                Err(e) => return self.reply_damaged(&e),
            };
            // Interrupted while this lookup waited (for the lock): shown
            // nothing more.
            if self.stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            let reason = reveal_reason(&self.id, self.reveals + 1, &lookup);
            // Written only if nobody appended since the lookup was made;
            // else read again and look up again: the answer of the vault
            // as it is, never an older secret, and no record of a reveal
            // that was not shown.
            let Some(appended) = self.record(&[(r.label.clone(), r.version)], &reason, true)?
            else {
                self.reload(vault)?;
                continue;
            };
            let entry = vault.entries().entry(&r.label);
            let device = entry.and_then(|e| e.current_device()).map(str::to_owned);
            let key_id = entry.and_then(|e| e.current_key_id()).map(str::to_owned);
            return self.reply_found(&r, device.as_deref(), key_id.as_deref(), &appended);
        }
    }

    /// Answers `lookup` on the vault as read through the index under the
    /// exclusive lock its reveal record is appended under (FORMAT.md §13):
    /// no record can come between the lookup and its record.
    fn answer_through_index(&mut self, lookup: &SessionLookup) -> CliResult {
        let scope = match lookup {
            SessionLookup::KeyId(id) => Scope::KeyId(id.clone()),
            SessionLookup::Name(name) => Scope::Name(name.clone()),
        };
        let reason = reveal_reason(&self.id, self.reveals + 1, lookup);
        let (actor, time) = (context::actor(), context::now());
        let mut outcome = None;
        let appended = store::append(self.path, &scope, |v| {
            let label = v
                .session_select(lookup)
                .map_err(|e| Unshown::Unfound(Box::new(e)))?;
            let r = reveal_one(self.unsealed, v, label).map_err(Unshown::Damaged)?;
            // Interrupted while this lookup waited (for the lock): shown
            // nothing more, and nothing recorded.
            if self.stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Unshown::Stopped);
            }
            let entries = [(r.label.clone(), r.version)];
            let record = self
                .unsealed
                .unseal_record(&entries, &reason, &actor, time, v.head())
                .map_err(|e| Unshown::Refused(e.into()))?;
            let entry = v.entries().entry(&r.label);
            let device = entry.and_then(|e| e.current_device()).map(str::to_owned);
            let key_id = entry.and_then(|e| e.current_key_id()).map(str::to_owned);
            outcome = Some((r, device, key_id));
            Ok(record)
        })
        .map_err(cannot_record)?;
        let appended = match appended {
            Ok(appended) => appended,
            Err(Unshown::Unfound(e)) => return self.reply_unfound(lookup, *e),
            Err(Unshown::Damaged(e)) => return self.reply_damaged(&e),
            Err(Unshown::Stopped) => return Ok(()),
            Err(Unshown::Refused(e)) => return Err(e),
        };
        self.recorded(&appended);
        let (r, device, key_id) = outcome.expect("the record was built");
        self.reply_found(&r, device.as_deref(), key_id.as_deref(), &appended)
    }

    /// Not found, or several found: nothing shown, nothing recorded.
    fn reply_unfound(&self, lookup: &SessionLookup, e: SelectError) -> CliResult {
        match e {
            SelectError::SeveralMatches { labels, .. } => {
                let text = format!(
                    "  {lookup} matches {} entries: {} — give the label of the one you need",
                    labels.len(),
                    labels.join(", ")
                );
                self.reply(json!({"status": "ambiguous", "labels": labels}), || text)
            }
            e => self.reply(
                json!({"status": "not_found", "error": e.to_string()}),
                || format!("  not found: {e}"),
            ),
        }
    }

    /// The entry's current version would not decrypt.
    fn reply_damaged(&self, e: &str) -> CliResult {
        self.reply(json!({"status": "damaged", "error": e}), || {
            format!("  damaged: {e}")
        })
    }

    /// A secret, once its record is durable.
    fn reply_found(
        &mut self,
        r: &Revealed,
        device: Option<&str>,
        key_id: Option<&str>,
        appended: &Appended,
    ) -> CliResult {
        self.reveals += 1;
        let secret = r.secret_text();
        let reply = json!({
            "status": "found",
            "label": r.label,
            "kind": r.kind.name(),
            "version": r.version,
            "time": crate::context::rfc3339(r.time),
            "device": device,
            "key_id": key_id,
            "username": r.secret.username.as_str(),
            "secret": secret.as_str(),
            "record": appended.record,
        });
        self.reply(reply, || {
            // The version and its date: what tells a reader that an
            // index hid a newer one (SECURITY.md, "Known limits").
            format!(
                "  {} (version {} of {}, {}{}): {}",
                r.label,
                r.version,
                crate::context::rfc3339(r.time),
                r.kind.name(),
                device.map_or(String::new(), |d| format!(", device {d}")),
                secret.as_str()
            )
        })
    }

    /// One answer: a JSON line on stdout for a tool, a line for a person.
    fn reply(&self, mut value: Value, text: impl FnOnce() -> String) -> CliResult {
        if self.tty {
            println!("{}", text());
        } else {
            value["lookup"] = json!(self.lookups);
            // One object a line, for the tool reading them.
            println!("{value}");
        }
        Ok(())
    }
}

/// Why a lookup made under the append's lock showed nothing (and so
/// recorded nothing).
enum Unshown {
    Unfound(Box<SelectError>),
    Damaged(String),
    Stopped,
    Refused(CliError),
}

/// Decrypts the current version of `label`, or says why it would not.
fn reveal_one(unsealed: &Unsealed, vault: &Vault, label: String) -> Result<Revealed, String> {
    let (revealed, damaged) = unsealed.reveal_all(vault, &[label], false);
    revealed.into_iter().next().ok_or_else(|| {
        damaged
            .into_iter()
            .next()
            .map_or_else(String::new, |e| e.to_string())
    })
}

fn cannot_record(e: store::StoreError) -> CliError {
    CliError::input(format!(
        "could not record the session in the vault: {e} — nothing more is shown"
    ))
}
