//! The recovery page's state: one vault file, the shares accepted so far
//! (each checked alone, as on the command line), the share being typed,
//! and the unseal that writes its record before any secret is shown.
//! Pure logic over bytes: the page hands in the file, the typed lines, the
//! photos' pixels and the clock, and takes back the new file.

use secrecy::{ExposeSecret, SecretString};
use vault_core::log;
use vault_core::receipt::Receipt;
use vault_core::scan;
use vault_core::shamir::KeyShare;
use vault_core::share::ShareBody;
use vault_core::share_text;
use vault_core::text::typed::{known_line_ones, Finish, LineFix, Typed, TypedShare};
use vault_core::vault::advice::{share_problem, text_problem};
use vault_core::vault::{Quorum, Revealed, Several, ShareProblem, Vault};

/// The most entries one search lists: the page shows them as a list to
/// tick, and a fleet vault has a million.
pub const LISTED: usize = 200;

/// The largest vault file the page opens: the browser holds the file, a
/// copy in the WebAssembly memory and the replayed state (about 235 bytes
/// an entry), within WebAssembly's 4 GiB. Larger vaults (fleets of
/// millions) are for the command line, which streams them.
pub const MAX_VAULT_FILE: usize = 512 << 20;

/// The longest share text accepted (a share file, pasted text, a QR
/// code's payload): a share is under 2 KiB; anything near this is not one.
pub const MAX_SHARE_TEXT: usize = 64 << 10;

/// The largest picture searched: 40 megapixels, as on the command line
/// (`--share photo.jpg`); the page refuses larger ones before decoding.
pub const MAX_PICTURE_PIXELS: u64 = 40_000_000;

/// The longest passphrase accepted, as a line on the command line's stdin.
pub const MAX_PASSPHRASE: usize = 1 << 20;

/// A vault file opened in the page.
pub struct Kit {
    /// The file as loaded, less any torn tail (an interrupted append).
    file: Vec<u8>,
    /// Bytes of a torn tail dropped from the end, if any.
    torn: usize,
    vault: Vault,
    /// Shares accepted, each with its custodian's name.
    shares: Vec<(String, KeyShare)>,
    /// A decoded share waiting for its passphrase, and where it came from.
    pending: Option<(String, ShareBody)>,
    typed: TypedShare,
    /// A fix the page proposed and the custodian may confirm.
    fix: Option<LineFix>,
    /// Set once an unseal was recorded: the page must load the new file to
    /// go on (a second unseal must be chained after the first).
    spent: bool,
}

/// Why the page cannot go on with what it was given. The text is shown as
/// it is, so it names the share or line and says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl<T: std::fmt::Display> From<T> for Refused {
    fn from(e: T) -> Self {
        Refused(e.to_string())
    }
}

/// A share offered: whose it is and whether it needs a passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The custodian's name.
    pub custodian: String,
    /// The share is protected by a passphrase (asked next).
    pub protected: bool,
}

/// An entry as the page lists it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Label.
    pub label: String,
    /// Kind name.
    pub kind: &'static str,
    /// Device, if any.
    pub device: Option<String>,
    /// BitLocker key ID, if any.
    pub key_id: Option<String>,
    /// Last deposit, Unix seconds.
    pub time: u64,
}

/// What an unseal gives back: the new file (the old one with the unseal
/// record appended), its receipt, and the secrets.
pub struct Unsealed {
    /// The whole new vault file.
    pub file: Vec<u8>,
    /// The receipt of the new file (record number and head).
    pub receipt: Receipt,
    /// The secrets, in the order asked for.
    pub revealed: Vec<Revealed>,
    /// Custodians whose shares opened it.
    pub custodians: Vec<String>,
    /// Warnings to show with the secrets (altered records, left-out shares).
    pub warnings: Vec<String>,
}

impl Kit {
    /// Reads and checks a whole vault file: every record, signature and
    /// rule, as the command line does. A torn tail (an append cut short) is
    /// set aside and the new record written in its place, as the command
    /// line's next append would.
    pub fn open(bytes: Vec<u8>) -> Result<Self, Refused> {
        if bytes.len() > MAX_VAULT_FILE {
            return Err(Refused(format!(
                "this vault file is {} MiB: the recovery page opens vaults up to {} MiB; \
                 use the breakglass command line, which reads any size",
                bytes.len() >> 20,
                MAX_VAULT_FILE >> 20
            )));
        }
        let parsed = log::parse(&bytes).map_err(|e| Refused(format!("this vault file: {e}")))?;
        let vault = Vault::replay(&parsed).map_err(|e| Refused(format!("this vault file: {e}")))?;
        let end = usize::try_from(vault.end()).map_err(|_| Refused("file too large".into()))?;
        let torn = bytes.len().saturating_sub(end);
        let mut file = bytes;
        file.truncate(end);
        let known = known_line_ones(&vault);
        Ok(Self {
            file,
            torn,
            vault,
            shares: Vec::new(),
            pending: None,
            typed: TypedShare::new(known),
            fix: None,
            spent: false,
        })
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Bytes of an interrupted append at the end of the file, set aside.
    pub fn torn(&self) -> usize {
        self.torn
    }

    /// The custodians whose shares were accepted, in order.
    pub fn accepted(&self) -> Vec<&str> {
        self.shares.iter().map(|(c, _)| c.as_str()).collect()
    }

    fn quorum(&self) -> Quorum<'_> {
        let mut q = Quorum::new(&self.vault);
        for (_, s) in &self.shares {
            // Each was checked when accepted; the vault has not changed.
            let _ = q.add_key_share(s.clone());
        }
        q
    }

    /// The entries whose label, device, key ID or other names contain
    /// `text` (all, with an empty text), at most [`LISTED`], in label
    /// order, and how many matched in all.
    pub fn find(&self, text: &str) -> (Vec<Listed>, usize) {
        let text = text.trim();
        let mut total = 0;
        let mut out = Vec::new();
        for e in self.vault.entries().refs() {
            if !text.is_empty() && !e.matches_search(text) {
                continue;
            }
            total += 1;
            if out.len() < LISTED {
                out.push(Listed {
                    label: e.label().to_owned(),
                    kind: e.kind().name(),
                    device: e.current_device().map(str::to_owned),
                    key_id: e.current_key_id().map(str::to_owned),
                    time: e.current_time(),
                });
            }
        }
        (out, total)
    }

    /// Offers a share given whole: a share file's text, an envelope's
    /// typed text or its QR code's payload. Checked before any passphrase
    /// (vault, generation, custodian, not counted yet); `source` names it
    /// in messages.
    pub fn offer_text(&mut self, source: &str, text: &str) -> Result<Offered, Refused> {
        self.not_spent()?;
        if text.len() > MAX_SHARE_TEXT {
            return Err(Refused(format!(
                "share {source}: not a share ({} KiB; a share is under 2 KiB) — choose the custodian's share file",
                text.len() >> 10
            )));
        }
        let body = share_text::decode(text).map_err(|e| {
            let who = share_text::header_field(text, "Custodian")
                .map(|c| format!("custodian {c} (per its header): "))
                .unwrap_or_default();
            Refused(format!("share {source}: {who}{}", text_problem(&e)))
        })?;
        self.offer(source, body)
    }

    fn offer(&mut self, source: &str, body: ShareBody) -> Result<Offered, Refused> {
        let q = self.quorum();
        let custodian = q
            .precheck(&body)
            .map_err(|p| Refused(format!("share {source}: {}", self.problem(&p))))?
            .to_owned();
        let protected = body.is_protected();
        self.pending = Some((source.to_owned(), body));
        if !protected {
            self.unlock(None)?;
        }
        Ok(Offered {
            custodian,
            protected,
        })
    }

    /// Offers the share in a photo or scan: 8-bit RGBA pixels from the
    /// page's canvas, searched with the command line's QR search until
    /// `out_of_time` says the budget is spent.
    pub fn offer_picture(
        &mut self,
        source: &str,
        width: u32,
        height: u32,
        rgba: &[u8],
        out_of_time: &mut dyn FnMut() -> bool,
    ) -> Result<Offered, Refused> {
        self.not_spent()?;
        if u64::from(width) * u64::from(height) > MAX_PICTURE_PIXELS {
            return Err(Refused(format!(
                "share {source}: this picture is larger than 40 megapixels: take it at a lower resolution"
            )));
        }
        let luma = scan::luma_from_rgba(width, height, rgba)
            .ok_or_else(|| Refused(format!("share {source}: not a readable picture")))?;
        let (outcomes, timed_out) = scan::search_here(&luma, false, out_of_time);
        let text = scan::first_text(outcomes, timed_out)
            .map_err(|why| Refused(format!("share {source}: {why}")))?;
        self.offer_text(source, &text)
    }

    /// Opens the share waiting for its passphrase and checks it against
    /// its custodian's commitment. A wrong passphrase keeps it waiting, to
    /// be typed again.
    pub fn unlock(&mut self, passphrase: Option<SecretString>) -> Result<String, Refused> {
        self.not_spent()?;
        if passphrase
            .as_ref()
            .is_some_and(|p| p.expose_secret().len() > MAX_PASSPHRASE)
        {
            return Err(Refused(
                "this passphrase is longer than 1 MiB: type the custodian's passphrase".into(),
            ));
        }
        let Some((source, body)) = self.pending.take() else {
            return Err(Refused("no share is waiting for a passphrase".into()));
        };
        let mut q = self.quorum();
        match q.add(&body, passphrase.as_ref()) {
            Ok(custodian) => {
                let custodian = custodian.to_owned();
                let share = q.shares().last().cloned().expect("just accepted");
                self.shares.push((custodian.clone(), share));
                Ok(custodian)
            }
            Err(p) => {
                let who = self
                    .vault
                    .custodian_name(body.index)
                    .map(|c| format!("custodian {c}: "))
                    .unwrap_or_default();
                let message = format!("share {source}: {who}{}", self.problem(&p));
                if matches!(p, ShareProblem::Unlock(_)) {
                    self.pending = Some((source, body));
                }
                Err(Refused(message))
            }
        }
    }

    /// Sets aside the share waiting for its passphrase.
    pub fn cancel_pending(&mut self) {
        self.pending = None;
    }

    /// The custodian whose share waits for a passphrase.
    pub fn pending(&self) -> Option<&str> {
        let (_, body) = self.pending.as_ref()?;
        self.vault.custodian_name(body.index)
    }

    fn problem(&self, p: &ShareProblem) -> String {
        share_problem(&self.vault, p)
    }

    /// Enters one typed line of an envelope (§6.5: the same checks as at
    /// the unseal prompt). What became of it, in words.
    pub fn type_line(&mut self, line: &str) -> (bool, String) {
        self.fix = None;
        describe(&self.typed.enter(line))
    }

    /// The typed share once its lines are in: offered (`Ok`), or what is
    /// still needed or a fix to confirm (`Err`, with the fix kept for
    /// [`Kit::accept_fix`]).
    pub fn finish_typed(&mut self) -> Result<Offered, Refused> {
        self.not_spent()?;
        match self.typed.finish() {
            Finish::Done(body) => {
                let offered = self.offer("typed", body);
                if offered.is_ok() {
                    self.typed = TypedShare::new(known_line_ones(&self.vault));
                }
                offered
            }
            Finish::Missing(lines) => Err(Refused(format!(
                "still needed: line{} {} — type {} from the envelope",
                if lines.len() == 1 { "" } else { "s" },
                list(&lines),
                if lines.len() == 1 { "it" } else { "them" }
            ))),
            Finish::Fix(fix) => {
                let at = match fix.group {
                    Some(g) => format!("group {g}, symbol {}", fix.position),
                    None => format!("check code, symbol {}", fix.position),
                };
                let message = format!(
                    "line {} ({at}): the only change that makes the share check gives {} — \
                     compare it with the envelope; if it matches, confirm the fix",
                    fix.line,
                    fix.corrected.as_str()
                );
                self.fix = Some(fix);
                Err(Refused(message))
            }
            Finish::Failed(e) => Err(Refused(text_problem(&e))),
        }
    }

    /// Applies the fix proposed by the last [`Kit::finish_typed`], which
    /// the custodian compared with the envelope.
    pub fn accept_fix(&mut self) -> Result<Offered, Refused> {
        let fix = self
            .fix
            .take()
            .ok_or_else(|| Refused("no fix to confirm".into()))?;
        self.typed.accept_fix(&fix);
        self.finish_typed()
    }

    /// Starts the typed share again.
    pub fn clear_typed(&mut self) {
        self.fix = None;
        self.typed = TypedShare::new(known_line_ones(&self.vault));
    }

    /// The lines typed so far (numbers only).
    pub fn typed_lines(&self) -> Vec<usize> {
        self.typed.kept()
    }

    /// Combines the shares, decrypts `labels`, and appends the unseal
    /// record (reason, actor, time, the entries and versions, signed by
    /// the quorum) to the file. Nothing is returned without the record:
    /// the caller shows the secrets only with the new file in hand.
    pub fn unseal(
        &mut self,
        labels: &[String],
        reason: &str,
        actor: &str,
        now: u64,
    ) -> Result<Unsealed, Refused> {
        self.not_spent()?;
        if labels.is_empty() {
            return Err(Refused("choose at least one entry to reveal".into()));
        }
        let labels = self
            .vault
            .select(labels, None, Several::Refuse)
            .map_err(Refused::from)?;
        let q = self.quorum();
        if !q.is_complete() {
            return Err(Refused(format!(
                "need {} valid shares, got {}: bring another custodian's share",
                q.need(),
                q.len()
            )));
        }
        let opened = q.open().map_err(Refused::from)?;
        let mut warnings: Vec<String> = opened
            .inconsistent
            .iter()
            .map(|name| {
                format!(
                    "custodian {name}'s share matches the commitment stored in the vault but \
                     not the other shares: the vault's commitments were altered; the share was \
                     left out"
                )
            })
            .collect();
        for record in opened.unsealed.bad_macs(&self.vault) {
            warnings.push(format!(
                "audit record #{record} fails its check: the audit trail was altered"
            ));
        }
        let (revealed, damaged) = opened.unsealed.reveal_all(&self.vault, &labels, false);
        warnings.extend(damaged.iter().map(ToString::to_string));
        let entries: Vec<(String, u32)> = revealed
            .iter()
            .map(|r| (r.label.clone(), r.version))
            .collect();
        let record = opened
            .unsealed
            .unseal_record(&entries, reason.trim(), actor, now, self.vault.head())
            .map_err(Refused::from)?;
        // Replayed into the vault as any reader would: its place, its
        // signature and every rule are checked before it counts.
        let frame = self.vault.push(record).map_err(Refused::from)?;
        self.file.extend_from_slice(&frame);
        self.spent = true;
        Ok(Unsealed {
            file: self.file.clone(),
            receipt: Receipt::of(&self.vault),
            revealed,
            custodians: opened.used,
            warnings,
        })
    }

    fn not_spent(&self) -> Result<(), Refused> {
        if self.spent {
            return Err(Refused(
                "this vault was unsealed and recorded: load the new vault file to unseal again"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A typed line's outcome in words: whether it was kept, and what to do.
fn describe(t: &Typed) -> (bool, String) {
    match t {
        Typed::Kept {
            line,
            replaced,
            dropped,
        } => {
            let mut s = format!(
                "line {line} {}",
                if *replaced { "replaced" } else { "checks" }
            );
            for d in dropped {
                s.push_str(&format!("; {d} — type line {} again", d.line()));
            }
            (true, s)
        }
        Typed::Renumbered { typed, line, .. } => (
            true,
            format!("typed as line {typed}, it checks as line {line}: kept as line {line}"),
        ),
        Typed::Held { line } => (
            true,
            format!("line {line} kept; it is checked when line 1 is typed"),
        ),
        Typed::Header => (true, "header line: nothing to keep".into()),
        Typed::NotALine => (
            false,
            "not a share line: type the line number, the four groups and the check code".into(),
        ),
        Typed::Refused(p) => (
            false,
            format!("{p} — compare that line with the envelope and retype it"),
        ),
    }
}

fn list(lines: &[usize]) -> String {
    let names: Vec<String> = lines.iter().map(ToString::to_string).collect();
    names.join(", ")
}
