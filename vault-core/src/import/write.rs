//! Writing checked rows: deposits in rounds (versions of one label in
//! order, distinct labels sealed in parallel), skipping what a previous
//! import of the same file already holds.

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

/// Deposits `rows` onto `vault` (see [`Vault::push`]) and returns the frame
/// bytes to append, what happened, and rows refused by the entry checks.
/// Rows of one label must be adjacent, oldest first (as [`read`] returns
/// them). They are checked in order and deposited in rounds: round n takes
/// the n-th row of every label, seals them (HPKE, the costly part) in
/// parallel — its labels are distinct, so their deposits are independent —
/// and pushes them in order. `progress` is called once per row handled.
pub fn deposit(
    vault: &mut Vault,
    rows: Vec<Row>,
    actor: &str,
    time: u64,
    progress: impl Fn() + Sync,
) -> (Vec<u8>, Outcome, Vec<RowError>) {
    use rayon::prelude::*;
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
    // One HPKE encapsulation for the whole import (FORMAT.md §7.8): each
    // row's key is exported from it, bound to the row's metadata and a
    // fresh deposit id — one X25519 key agreement instead of one per row.
    let fingerprint = vault.fingerprint();
    let batch = match crate::escrow::Batch::new(
        &vault.genesis().escrow_public,
        &crate::vault::exported_info(&fingerprint),
    ) {
        Ok(b) => b,
        Err(e) => {
            let problem = RowProblem::Refused(crate::error::InputError::from(e).to_string());
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
        let mut prepared = Vec::with_capacity(round.len());
        for (row, held_before) in round {
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
                actor: actor.to_owned(),
                time,
                device: row.device.clone(),
                key_id: row.key_id.clone(),
                also_known_as: row.also_known_as.clone(),
                user: row.user.clone(),
                digest,
                ..DepositMeta::default()
            };
            // `read` validated the secret and kept its canonical form.
            match vault.prepare_canonical(&row.label, row.kind, row.secret.clone(), &meta) {
                Ok(p) => prepared.push((row.line, existing.is_none(), p)),
                Err(e) => errors.push(RowError {
                    line: row.line,
                    problem: RowProblem::Refused(e.to_string()),
                }),
            }
        }
        let sealed: Vec<_> = prepared
            .into_par_iter()
            .map(|(line, is_new, p)| {
                let record = p.seal_in(&batch, &fingerprint);
                progress();
                (line, is_new, record)
            })
            .collect();
        for (line, is_new, record) in sealed {
            let pushed = vault.push(record).map_err(|e| e.to_string());
            match pushed {
                Ok(frame) => bytes.extend_from_slice(&frame),
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
    }
    (bytes, outcome, errors)
}
