//! Writing checked rows: deposits in rounds (versions of one label in
//! order, distinct labels sealed in parallel), skipping what a previous
//! import of the same file already holds.

use std::io::Write;

use super::*;
use crate::vault::entries::Keep;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// New entries.
    pub added: usize,
    /// New versions of existing entries.
    pub updated: usize,
    /// Rows whose entry already holds the same secret (in any version).
    pub unchanged: usize,
    /// History rows of entries the vault already held, left out so they
    /// cannot become current.
    pub history_skipped: usize,
}

/// Rows sealed at once: a round (whose labels are distinct, so whose
/// deposits are independent) is sealed in parts of at most this many, so
/// that what is held while sealing does not grow with the file.
pub(super) const PART: usize = 4096;

/// Deposits `rows` onto `vault` (see [`Vault::push`]) and returns the frame
/// bytes to append, what happened, and rows refused by the entry checks.
/// Rows of one label must be adjacent, oldest first (as [`read`] returns
/// them). They are checked in order and deposited in rounds: round n takes
/// the n-th row of every label, seals them (HPKE, the costly part) in
/// parallel — its labels are distinct, so their deposits are independent —
/// and pushes them in order. `progress` is called once per row handled.
///
/// Every row and every frame is held until the end: [`Plan::deposit`]
/// writes the same records holding a part of a round at a time.
pub fn deposit(
    vault: &mut Vault,
    rows: Vec<Row>,
    actor: &str,
    time: u64,
    progress: impl Fn() + Sync,
) -> (Vec<u8>, Outcome, Vec<RowError>) {
    let mut outcome = Outcome::default();
    let mut errors = Vec::new();
    // Rows of one label are adjacent (as `read` returns them): the n-th of
    // a run goes in round n. A history row is left out when its entry was
    // in the vault before this import. No per-label map: at a million rows
    // that would cost more than the rows.
    let mut rounds: Vec<Vec<Queued>> = Vec::new();
    let mut run: Option<(String, usize, bool)> = None;
    let mut rows = rows.into_iter().peekable();
    while let Some(row) = rows.next() {
        let (round, held_before) = match &run {
            Some((label, n, held)) if *label == row.label => (n + 1, *held),
            _ => (0, vault.entries().contains_key(&row.label)),
        };
        run = Some((row.label.clone(), round, held_before));
        if rounds.len() <= round {
            rounds.push(Vec::new());
        }
        let followed = rows.peek().is_some_and(|next| next.label == row.label);
        rounds[round].push(Queued {
            row,
            held_before,
            followed,
        });
    }
    let sealer = match Sealer::new(vault, actor, time) {
        Ok(s) => s,
        Err(problem) => {
            let errors = rounds
                .into_iter()
                .flatten()
                .map(|q| RowError {
                    line: q.row.line,
                    problem: problem.clone(),
                })
                .collect();
            return (Vec::new(), outcome, errors);
        }
    };
    let mut bytes = Vec::new();
    for round in rounds {
        let mut emit = |frame: &[u8]| {
            bytes.extend_from_slice(frame);
            Ok(())
        };
        let written = sealer.seal(
            vault,
            round,
            &mut outcome,
            &mut errors,
            &progress,
            &mut emit,
        );
        written.expect("writing to memory does not fail");
    }
    (bytes, outcome, errors)
}

/// A checked row on its way to be sealed.
pub(super) struct Queued {
    pub(super) row: Row,
    /// Whether its entry was in the vault before this import.
    pub(super) held_before: bool,
    /// Whether a later row of its identity follows in this import: only
    /// then is its import digest kept in the entry table, to be compared
    /// with that row's (every digest is in its record either way).
    pub(super) followed: bool,
}

/// One HPKE encapsulation for the whole import (FORMAT.md §7.8): each
/// row's key is exported from it, bound to the row's metadata and a fresh
/// deposit id — one X25519 key agreement instead of one per row.
pub(super) struct Sealer<'a> {
    batch: crate::escrow::Batch,
    fingerprint: crate::fingerprint::Fingerprint,
    actor: &'a str,
    time: u64,
}

impl<'a> Sealer<'a> {
    pub(super) fn new(vault: &Vault, actor: &'a str, time: u64) -> Result<Self, RowProblem> {
        let fingerprint = vault.fingerprint();
        let batch = crate::escrow::Batch::new(
            &vault.genesis().escrow_public,
            &crate::vault::exported_info(&fingerprint),
        )
        .map_err(|e| RowProblem::Refused(crate::error::InputError::from(e).to_string()))?;
        Ok(Self {
            batch,
            fingerprint,
            actor,
            time,
        })
    }

    /// Checks, seals (in parallel) and pushes rows of distinct labels,
    /// handing each frame to `emit` in order: [`Sealer::prepare`],
    /// [`Sealer::seal_part`] and [`Sealer::push`] in turn.
    fn seal(
        &self,
        vault: &mut Vault,
        rows: Vec<Queued>,
        outcome: &mut Outcome,
        errors: &mut Vec<RowError>,
        progress: &(impl Fn() + Sync),
        emit: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let round_start = vault.record_count();
        let prepared = self.prepare(vault, rows, round_start, outcome, progress);
        errors.extend(prepared.errors);
        let sealed = self.seal_part(prepared.rows, progress);
        Self::push(vault, sealed, outcome, errors, emit)
    }

    /// Checks rows of distinct labels against the vault and prepares their
    /// deposits; counts the rows left out (unchanged, or history of an
    /// entry held before) and keeps the refusals, in order. `round_start`
    /// is the vault's record count when the round began.
    pub(super) fn prepare(
        &self,
        vault: &Vault,
        rows: Vec<Queued>,
        round_start: usize,
        outcome: &mut Outcome,
        progress: &(impl Fn() + Sync),
    ) -> Prepared {
        let mut prepared = Prepared {
            rows: Vec::with_capacity(rows.len()),
            errors: Vec::new(),
        };
        for Queued {
            row,
            held_before,
            followed,
        } in rows
        {
            // `read` keeps each secret in its canonical form, so
            // "abcd-…" and "ABCD-…" give one digest.
            let digest = row
                .digest_ok
                .then(|| digest(vault, &row.label, &row.secret.secret));
            let existing = vault.entries().get(&row.label);
            if let (Some(e), Some(d)) = (&existing, &digest) {
                if e.versions
                    .iter()
                    .any(|v| v.digest.as_deref() == Some(d.as_str()))
                {
                    outcome.unchanged += 1;
                    progress();
                    continue;
                }
            }
            if row.history && held_before {
                outcome.history_skipped += 1;
                progress();
                continue;
            }
            // A round's labels are distinct unless two identities' long
            // names were shortened to one label: the second is refused,
            // as when the round is prepared whole, however far apart the
            // two rows' parts are.
            if existing
                .as_ref()
                .is_some_and(|e| e.current().record >= round_start)
            {
                prepared.errors.push(RowError {
                    line: row.line,
                    problem: RowProblem::Refused(
                        "another row of this import has the same label (two long names \
                         shortened alike); this one was not imported"
                            .into(),
                    ),
                });
                continue;
            }
            let meta = DepositMeta {
                actor: self.actor.to_owned(),
                time: self.time,
                device: row.device.clone(),
                key_id: row.key_id.clone(),
                also_known_as: row.also_known_as.clone(),
                user: row.user.clone(),
                digest,
                ..DepositMeta::default()
            };
            // `read` validated the secret and kept its canonical form.
            match vault.prepare_canonical(&row.label, row.kind, row.secret, &meta) {
                Ok(p) => prepared.rows.push(Ready {
                    line: row.line,
                    is_new: existing.is_none(),
                    followed,
                    deposit: p,
                }),
                Err(e) => prepared.errors.push(RowError {
                    line: row.line,
                    problem: RowProblem::Refused(e.to_string()),
                }),
            }
        }
        prepared
    }

    /// Seals prepared deposits on every core (HPKE, the costly part), in
    /// order; touches no vault.
    fn seal_part(&self, rows: Vec<Ready>, progress: &(impl Fn() + Sync)) -> Vec<Sealed> {
        use rayon::prelude::*;
        let (batch, fingerprint) = (&self.batch, &self.fingerprint);
        // The rows' deposit ids, from the operating system in one call (a
        // call a row was a tenth of the import's time).
        let mut ids = vec![[0u8; 16]; rows.len()];
        crate::keys::random_bytes(ids.as_flattened_mut());
        rows.into_par_iter()
            .zip(ids)
            .map(|(r, id)| {
                let record = r.deposit.seal_in(batch, fingerprint, id);
                progress();
                Sealed {
                    line: r.line,
                    is_new: r.is_new,
                    followed: r.followed,
                    record,
                }
            })
            .collect()
    }

    /// Pushes sealed records onto the vault in order, handing each frame
    /// to `emit`; a record the vault refuses is named by its line.
    fn push(
        vault: &mut Vault,
        sealed: Vec<Sealed>,
        outcome: &mut Outcome,
        errors: &mut Vec<RowError>,
        emit: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        for Sealed {
            line,
            is_new,
            followed,
            record,
        } in sealed
        {
            // A vault dropped once the import is written (Keep::APPENDING)
            // is read again only to compare a later row's digest and to
            // write the index: a digest only while a later row may repeat
            // it. Any other keeps every version whole.
            let kept = vault.keeping();
            let lean = kept == Keep::APPENDING;
            if lean {
                vault.keep(Keep {
                    digests: followed,
                    names: false,
                });
            }
            let pushed = vault.push(record).map_err(|e| e.to_string());
            vault.keep(kept);
            match pushed {
                Ok(frame) => emit(&frame)?,
                Err(why) => {
                    errors.push(RowError {
                        line,
                        problem: RowProblem::Refused(why),
                    });
                    continue;
                }
            }
            if is_new {
                outcome.added += 1;
            } else {
                outcome.updated += 1;
            }
        }
        Ok(())
    }
}

/// A part's rows checked against the vault: the deposits to seal, and
/// the rows refused, in order.
pub(super) struct Prepared {
    pub(super) rows: Vec<Ready>,
    pub(super) errors: Vec<RowError>,
}

/// A deposit ready to seal, with its row's line and what its push counts.
pub(super) struct Ready {
    line: u64,
    /// Whether its entry is new (added, not updated).
    is_new: bool,
    /// See [`Queued::followed`].
    followed: bool,
    deposit: crate::vault::PreparedDeposit,
}

/// A sealed record to push, as [`Ready`].
struct Sealed {
    line: u64,
    is_new: bool,
    followed: bool,
    record: crate::record::Record,
}

/// Why [`Plan::deposit`] stopped.
#[derive(Debug)]
pub enum DepositError {
    /// Writing a frame failed.
    Write(std::io::Error),
    /// The export could not be read again as it was planned.
    Read(ImportError),
}

impl Plan {
    /// Deposits the planned rows onto `vault` as [`deposit`] does the rows
    /// [`read`] returns — the same records in the same order, the same
    /// outcome and refusals — writing each frame to `out` as it is made.
    /// Each row is read again from the export: holds at most [`PART`] rows
    /// and their records at a time, one bit an identity, and the plan's
    /// rows not yet deposited (a plan deposits once).
    /// Fails when `out` does, or when the export no longer holds a planned
    /// row (it changed since it was planned): then nothing written to
    /// `out` may be kept.
    pub fn deposit(
        &mut self,
        vault: &mut Vault,
        actor: &str,
        time: u64,
        out: &mut dyn Write,
        progress: impl Fn() + Sync,
    ) -> Result<(Outcome, Vec<RowError>), DepositError> {
        let mut outcome = Outcome::default();
        let mut errors = Vec::new();
        // A plan deposits once: its rows are let go of as they are (a
        // second call deposits nothing).
        let mut queue = std::mem::take(&mut self.rows);
        let round_ends = std::mem::take(&mut self.round_ends);
        let sealer = match Sealer::new(vault, actor, time) {
            Ok(s) => s,
            Err(problem) => {
                errors.extend(queue.iter().map(|p| RowError {
                    line: u64::from(p.line),
                    problem: problem.clone(),
                }));
                return Ok((outcome, errors));
            }
        };
        // Whether each identity's entry was in the vault before this
        // import, found as its first version (round 0) is deposited.
        let mut held_before: Vec<bool> = Vec::with_capacity(self.groups);
        // Room in the entry table for every row, so that it does not
        // rehash as the rows come (at most as much as a replay reserves).
        vault.reserve_entries(queue.len.min(1 << 20));
        let mut emit = |frame: &[u8]| out.write_all(frame);
        let mut start = 0;
        for (round, &end) in round_ends.iter().enumerate() {
            // The next round's rows, whose identities are in the order of
            // this round's (both by first row): whether an identity has a
            // later row is found walking both.
            let next_end = round_ends.get(round + 1).copied().unwrap_or(end);
            let round_start = vault.record_count();
            let mut next = end;
            let mut at = start;
            // A part is sealed on every core while the next one is read
            // and checked here, then pushed: a round's labels are
            // distinct, so no part changes what the next one reads (a
            // round starts once the last one is pushed).
            let mut ready: Option<Prepared> = None;
            loop {
                let mut sealed: Option<Vec<Sealed>> = None;
                let mut refused = Vec::new();
                let (again, checker, shared) = (&mut self.again, &self.checker, &*vault);
                let (sealer, progress) = (&sealer, &progress);
                let upcoming = rayon::in_place_scope(|scope| {
                    if let Some(p) = ready.take() {
                        refused = p.errors;
                        let sealed = &mut sealed;
                        scope.spawn(move |_| *sealed = Some(sealer.seal_part(p.rows, progress)));
                    }
                    if at == end {
                        return Ok(None);
                    }
                    let part_end = end.min(at + self.part);
                    let mut rows: Vec<Queued> = Vec::with_capacity(part_end - at);
                    for planned in (at..part_end).map(|i| queue.get(i)) {
                        let row = Plan::row(again, checker, &planned)?;
                        let held = if round == 0 {
                            let held = shared.entries().contains_key(&row.label);
                            held_before.push(held);
                            held
                        } else {
                            held_before[planned.group as usize]
                        };
                        while next < next_end && queue.get(next).group < planned.group {
                            next += 1;
                        }
                        rows.push(Queued {
                            row,
                            held_before: held,
                            followed: next < next_end && queue.get(next).group == planned.group,
                        });
                    }
                    let prepared =
                        sealer.prepare(shared, rows, round_start, &mut outcome, progress);
                    Ok(Some((part_end, prepared)))
                })
                .map_err(DepositError::Read)?;
                // The part before, in the order it would have been alone:
                // its refusals, then its records.
                errors.extend(refused);
                if let Some(sealed) = sealed {
                    Sealer::push(vault, sealed, &mut outcome, &mut errors, &mut emit)
                        .map_err(DepositError::Write)?;
                }
                let Some((part_end, prepared)) = upcoming else {
                    break;
                };
                queue.release_before(part_end);
                at = part_end;
                ready = Some(prepared);
            }
            start = end;
        }
        Ok((outcome, errors))
    }
}
