//! Writing checked rows: deposits in rounds (versions of one label in
//! order, distinct labels sealed in parallel), skipping what a previous
//! import of the same file already holds.

use std::io::Write;

use super::*;

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
const PART: usize = 4096;

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
    let mut rounds: Vec<Vec<(Row, bool)>> = Vec::new();
    let mut run: Option<(String, usize, bool)> = None;
    for row in rows {
        let (round, held_before) = match &run {
            Some((label, n, held)) if *label == row.label => (n + 1, *held),
            _ => (0, vault.entries().contains_key(&row.label)),
        };
        run = Some((row.label.clone(), round, held_before));
        if rounds.len() <= round {
            rounds.push(Vec::new());
        }
        rounds[round].push((row, held_before));
    }
    let mut sealer = match Sealer::new(vault, actor, time) {
        Ok(s) => s,
        Err(problem) => {
            let errors = rounds
                .into_iter()
                .flatten()
                .map(|(row, _)| RowError {
                    line: row.line,
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

/// One HPKE encapsulation for the whole import (FORMAT.md §7.8): each
/// row's key is exported from it, bound to the row's metadata and a fresh
/// deposit id — one X25519 key agreement instead of one per row.
struct Sealer<'a> {
    batch: crate::escrow::Batch,
    fingerprint: crate::fingerprint::Fingerprint,
    actor: &'a str,
    time: u64,
}

impl<'a> Sealer<'a> {
    fn new(vault: &Vault, actor: &'a str, time: u64) -> Result<Self, RowProblem> {
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

    /// Checks, seals (in parallel) and pushes rows of distinct labels, each
    /// with whether its entry was in the vault before this import, handing
    /// each frame to `emit` in order.
    fn seal(
        &mut self,
        vault: &mut Vault,
        rows: Vec<(Row, bool)>,
        outcome: &mut Outcome,
        errors: &mut Vec<RowError>,
        progress: &(impl Fn() + Sync),
        emit: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        use rayon::prelude::*;
        let mut prepared = Vec::with_capacity(rows.len());
        for (row, held_before) in rows {
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
                Ok(p) => prepared.push((row.line, existing.is_none(), p)),
                Err(e) => errors.push(RowError {
                    line: row.line,
                    problem: RowProblem::Refused(e.to_string()),
                }),
            }
        }
        let (batch, fingerprint) = (&self.batch, &self.fingerprint);
        // The rows' deposit ids, from the operating system in one call (a
        // call a row was a tenth of the import's time).
        let mut ids = vec![[0u8; 16]; prepared.len()];
        crate::keys::random_bytes(ids.as_flattened_mut());
        let sealed: Vec<_> = prepared
            .into_par_iter()
            .zip(ids)
            .map(|((line, is_new, p), id)| {
                let record = p.seal_in(batch, fingerprint, id);
                progress();
                (line, is_new, record)
            })
            .collect();
        for (line, is_new, record) in sealed {
            let pushed = vault.push(record).map_err(|e| e.to_string());
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
    /// and their records at a time, one bit an identity, and the plan.
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
        let mut sealer = match Sealer::new(vault, actor, time) {
            Ok(s) => s,
            Err(problem) => {
                errors.extend(self.rows.iter().map(|p| RowError {
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
        vault.reserve_entries(self.rows.len().min(1 << 20));
        let mut emit = |frame: &[u8]| out.write_all(frame);
        for (round, rows_of_round) in Plan::rounds(&self.rows, &self.round_ends).enumerate() {
            for part in rows_of_round.chunks(PART) {
                let mut rows: Vec<(Row, bool)> = Vec::with_capacity(part.len());
                for planned in part {
                    let row = Plan::row(&mut self.again, &self.checker, planned)
                        .map_err(DepositError::Read)?;
                    let held = if round == 0 {
                        let held = vault.entries().contains_key(&row.label);
                        held_before.push(held);
                        held
                    } else {
                        held_before[planned.group as usize]
                    };
                    rows.push((row, held));
                }
                sealer
                    .seal(vault, rows, &mut outcome, &mut errors, &progress, &mut emit)
                    .map_err(DepositError::Write)?;
            }
        }
        Ok((outcome, errors))
    }
}
