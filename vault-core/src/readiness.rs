//! Readiness: is the vault ready for the next emergency? Drills, routine
//! rotation, entries exposed by an unseal and not yet rotated, custodians'
//! share checks, and the margin between threshold and custodians.

use crate::record::DrillKind;
use crate::vault::Vault;

const DAY: u64 = 86_400;

/// The most entries a report lists by name in each of its lists (the
/// earliest due); the totals count all. A fleet vault's report stays small
/// whatever the vault holds.
pub const DUES_LISTED: usize = 50;

/// The [`DUES_LISTED`] earliest-due entries seen, and how many were seen.
#[derive(Default)]
struct Earliest {
    heap: std::collections::BinaryHeap<(u64, String)>,
    total: usize,
}

impl Earliest {
    fn offer(&mut self, due: u64, label: &str) {
        self.total += 1;
        if self.heap.len() == DUES_LISTED {
            match self.heap.peek() {
                Some((latest, _)) if *latest > due => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push((due, label.to_owned()));
    }
    fn into_dues(self, now: u64) -> (Vec<Due>, usize) {
        let dues = self
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|(due, label)| Due {
                label,
                due,
                overdue: now > due,
            })
            .collect();
        (dues, self.total)
    }
}

/// An entry that needs rotating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Entry label.
    pub label: String,
    /// When it is or was due (Unix seconds).
    pub due: u64,
    /// True when `due` has passed.
    pub overdue: bool,
}

/// One custodian's share checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodianCheck {
    /// Name.
    pub name: String,
    /// Times verified with `verify-share`.
    pub verifications: u32,
    /// Last verification (Unix seconds).
    pub last: Option<u64>,
}

/// The readiness report.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    /// The time the report is for.
    pub now: u64,
    /// Last successful scheduled drill (Unix seconds).
    pub last_drill: Option<u64>,
    /// When the next drill is due.
    pub drill_due: u64,
    /// True when no successful drill happened within the interval.
    pub drill_overdue: bool,
    /// True when the most recent drill of any kind found damaged versions.
    pub last_drill_failed: bool,
    /// Entry versions deposited since a quorum last decrypted them all (a
    /// drill without failures, or a rekey): anyone with the file can
    /// deposit, so a rotation or a cleared exposure among these is what
    /// the depositor said, not yet checked. Informational.
    pub unchecked: usize,
    /// Entries past their routine rotation date: the [`DUES_LISTED`] most
    /// overdue, most overdue first.
    pub rotation_overdue: Vec<Due>,
    /// How many entries are past their routine rotation date.
    pub rotation_overdue_total: usize,
    /// Entries revealed by an unseal and not rotated since, with deadlines:
    /// the [`DUES_LISTED`] with the earliest deadlines, earliest first.
    pub exposed: Vec<Due>,
    /// How many entries are exposed.
    pub exposed_total: usize,
    /// Share checks per custodian, in index order.
    pub custodians: Vec<CustodianCheck>,
    /// Things that are not overdue but put the vault at risk.
    pub warnings: Vec<Warning>,
}

/// Something that is not overdue but puts the vault at risk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// k = n: one lost envelope locks everyone out.
    #[error("any {k} of {n}: one lost envelope or unavailable custodian locks everyone out")]
    NoMargin {
        /// Threshold.
        k: usize,
        /// Custodians.
        n: usize,
    },
    /// k = n - 1: two lost envelopes lock everyone out.
    #[error("any {k} of {n}: two lost envelopes lock everyone out")]
    ThinMargin {
        /// Threshold.
        k: usize,
        /// Custodians.
        n: usize,
    },
    /// Custodians who never verified their share.
    #[error("never checked their share: {}", custodians.join(", "))]
    NeverChecked {
        /// Their names, in index order.
        custodians: Vec<String>,
    },
    /// No entries yet.
    #[error("the vault holds no entries")]
    Empty,
}

impl Readiness {
    /// True when anything is overdue or failed.
    pub fn needs_attention(&self) -> bool {
        self.drill_overdue
            || self.last_drill_failed
            || !self.rotation_overdue.is_empty()
            || self.exposed.iter().any(|e| e.overdue)
    }
}

/// Assesses `vault` as of `now`, with drills due every `drill_every_days`.
pub fn assess(vault: &Vault, now: u64, drill_every_days: u32) -> Readiness {
    let interval = u64::from(drill_every_days) * DAY;
    let last_drill = vault
        .drills()
        .iter()
        .filter(|d| d.kind == DrillKind::Drill && d.versions_failed == 0)
        .map(|d| d.time)
        .max();
    // A vault that was never drilled is due one interval after creation.
    let drill_due = last_drill
        .unwrap_or(vault.genesis().time)
        .saturating_add(interval);
    let mut rotation_overdue = Earliest::default();
    let mut exposed = Earliest::default();
    for e in vault.entries().refs() {
        if let Some(deadline) = e.exposure_deadline() {
            exposed.offer(deadline, e.label());
        }
        if now > e.rotation_due() {
            rotation_overdue.offer(e.rotation_due(), e.label());
        }
    }
    let (rotation_overdue, rotation_overdue_total) = rotation_overdue.into_dues(now);
    let (exposed, exposed_total) = exposed.into_dues(now);
    // Entry versions a quorum has not yet decrypted (EntryVersion.record
    // is 0-based, checked_through 1-based).
    let unchecked = vault
        .entries()
        .refs()
        .flat_map(|e| e.versions())
        .filter(|v| v.record >= vault.checked_through())
        .count();
    let custodians: Vec<CustodianCheck> = vault
        .custodians()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = vault.verifications().get(&(i as u8 + 1));
            CustodianCheck {
                name: c.name.clone(),
                verifications: v.map_or(0, |v| v.0),
                last: v.map(|v| v.1),
            }
        })
        .collect();
    Readiness {
        now,
        last_drill,
        drill_due,
        drill_overdue: now > drill_due,
        last_drill_failed: vault.drills().last().is_some_and(|d| d.versions_failed > 0),
        rotation_overdue,
        rotation_overdue_total,
        exposed,
        exposed_total,
        unchecked,
        warnings: warnings(vault, &custodians),
        custodians,
    }
}

fn warnings(vault: &Vault, custodians: &[CustodianCheck]) -> Vec<Warning> {
    let (k, n) = (vault.threshold(), vault.custodians().len());
    let mut out = Vec::new();
    if n - k < 1 {
        out.push(Warning::NoMargin { k, n });
    } else if n - k < 2 {
        out.push(Warning::ThinMargin { k, n });
    }
    let unchecked: Vec<String> = custodians
        .iter()
        .filter(|c| c.verifications == 0)
        .map(|c| c.name.clone())
        .collect();
    if !unchecked.is_empty() {
        out.push(Warning::NeverChecked {
            custodians: unchecked,
        });
    }
    if vault.entries().is_empty() {
        out.push(Warning::Empty);
    }
    out
}
#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
