//! Unit tests of the readiness report (`readiness.rs`): drill due dates
//! and their boundaries, a failed last drill, routine rotation, exposure
//! deadlines after an unseal, custodians' share checks and the warnings.
//! Each vault is built record by record with known times through the
//! public vault API, so every boundary is exact to the second.

use super::*;
use crate::entry::{EntryKind, EntrySecret};
use crate::log;
use crate::passphrase::KdfParams;
use crate::record::DrillKind;
use crate::share_text;
use crate::vault::{create, DepositMeta, DrillOutcome, EntryDamaged, InitSpec, Unsealed, Vault};
use zeroize::Zeroizing;

/// Creation time of every test vault.
const T0: u64 = 1_800_000_000;
const HOUR: u64 = 3600;
/// The drill interval `status` uses by default.
const EVERY: u32 = 90;

/// A vault with its quorum open, to append records at chosen times.
struct Bench {
    vault: Vault,
    quorum: Unsealed,
    /// Every custodian's checked share, in index order.
    shares: Vec<crate::shamir::KeyShare>,
}

impl Bench {
    /// A `k`-of-`names` vault with plain shares, created at `T0`.
    fn new(k: usize, names: &[&str]) -> Self {
        let spec = InitSpec::new("Readiness", k, names.iter().copied())
            .with_actor("tester")
            .with_time(T0)
            .with_kdf(KdfParams::FLOOR);
        let plain: Vec<_> = names.iter().map(|_| None).collect();
        let created = create(&spec, &plain).unwrap();
        let vault = Vault::replay(&log::parse(&created.bytes).unwrap()).unwrap();
        let shares: Vec<_> = created
            .shares
            .iter()
            .map(|s| {
                let body = share_text::decode(&s.text).unwrap();
                vault.check_share(&body, None).unwrap()
            })
            .collect();
        let quorum = vault.open(&shares[..k]).unwrap();
        Self {
            vault,
            quorum,
            shares,
        }
    }

    /// A 2-of-3 vault: no margin warning beyond "two lost envelopes".
    fn three() -> Self {
        Self::new(2, &["alice", "bob", "carol"])
    }

    /// Deposits a new version of `label` at `time` with the given policy
    /// (None: the entry's policy, 90 days and 24 hours by default).
    fn deposit(
        &mut self,
        label: &str,
        time: u64,
        rotate_days: Option<u32>,
        expose_hours: Option<u32>,
    ) {
        let secret = EntrySecret {
            username: Zeroizing::new(String::new()),
            secret: Zeroizing::new(b"s3cret".to_vec()),
        };
        let meta = DepositMeta {
            actor: "tester".into(),
            time,
            rotate_days,
            expose_hours,
            ..DepositMeta::default()
        };
        let record = self
            .vault
            .deposit(label, EntryKind::Password, &secret, &meta)
            .unwrap();
        self.vault.push(record).unwrap();
    }

    /// An unseal at `time` revealing the current version of `label`.
    fn unseal(&mut self, label: &str, time: u64) {
        let version = self.vault.entries().get(label).unwrap().current().version;
        let record = self
            .quorum
            .unseal_record(
                &[(label.to_owned(), version)],
                "test",
                "tester",
                time,
                self.vault.head(),
            )
            .unwrap();
        self.vault.push(record).unwrap();
    }

    /// A drill of `kind` at `time` in which `failed` versions did not
    /// decrypt.
    fn drill(&mut self, kind: DrillKind, time: u64, failed: u32) {
        let outcome = DrillOutcome {
            ok: 1,
            failed: (0..failed)
                .map(|i| EntryDamaged {
                    label: format!("damaged-{i}"),
                    version: 1,
                    record: 2,
                })
                .collect(),
        };
        let record = self
            .quorum
            .drill_record(&outcome, kind, "test", "tester", time, self.vault.head())
            .unwrap();
        self.vault.push(record).unwrap();
    }

    /// Custodian `index` (1-based) verified their share at `time`.
    fn verified(&mut self, index: u8, time: u64) {
        let share = &self.shares[usize::from(index) - 1];
        let record = self
            .vault
            .share_verified(share, "tester", time, self.vault.head());
        self.vault.push(record).unwrap();
    }

    /// The report as of `now`, drills due every 90 days.
    fn at(&self, now: u64) -> Readiness {
        assess(&self.vault, now, EVERY)
    }
}

// ---------------------------------------------------------------- drills

#[test]
fn a_vault_never_drilled_is_due_one_interval_after_creation() {
    let b = Bench::three();
    let due = T0 + 90 * DAY;
    let r = b.at(T0);
    assert_eq!((r.last_drill, r.drill_due), (None, due));
    assert!(!r.drill_overdue);
    // Due at the second itself is not yet overdue; one second later it is.
    assert!(!b.at(due).drill_overdue);
    assert!(!b.at(due).needs_attention());
    assert!(b.at(due + 1).drill_overdue);
    assert!(b.at(due + 1).needs_attention());
}

#[test]
fn the_interval_is_the_callers() {
    let b = Bench::three();
    let r = assess(&b.vault, T0 + 30 * DAY + 1, 30);
    assert_eq!(r.drill_due, T0 + 30 * DAY);
    assert!(r.drill_overdue);
    assert!(!assess(&b.vault, T0 + 30 * DAY + 1, 31).drill_overdue);
}

#[test]
fn a_successful_drill_moves_the_next_due_date() {
    let mut b = Bench::three();
    b.deposit("x", T0 + HOUR, None, None);
    let drilled = T0 + 80 * DAY;
    b.drill(DrillKind::Drill, drilled, 0);
    let r = b.at(T0 + 91 * DAY);
    assert_eq!(r.last_drill, Some(drilled));
    assert_eq!(r.drill_due, drilled + 90 * DAY);
    assert!(!r.drill_overdue, "the drill at day 80 covers day 91");
    assert!(!r.last_drill_failed);
    assert!(b.at(drilled + 90 * DAY + 1).drill_overdue);
}

#[test]
fn the_latest_successful_drill_counts() {
    let mut b = Bench::three();
    b.drill(DrillKind::Drill, T0 + 50 * DAY, 0);
    b.drill(DrillKind::Drill, T0 + 10 * DAY, 0);
    assert_eq!(b.at(T0 + 60 * DAY).last_drill, Some(T0 + 50 * DAY));
}

#[test]
fn a_failed_last_drill_needs_attention_and_does_not_count_as_a_drill() {
    let mut b = Bench::three();
    b.drill(DrillKind::Drill, T0 + 10 * DAY, 0);
    b.drill(DrillKind::Drill, T0 + 20 * DAY, 1);
    let r = b.at(T0 + 21 * DAY);
    assert!(r.last_drill_failed);
    assert!(r.needs_attention());
    assert!(!r.drill_overdue);
    assert_eq!(
        r.last_drill,
        Some(T0 + 10 * DAY),
        "the failed drill is not the last successful one"
    );
    assert_eq!(r.drill_due, T0 + 100 * DAY);
    // A later drill that finds everything whole clears it.
    b.drill(DrillKind::Drill, T0 + 22 * DAY, 0);
    let r = b.at(T0 + 23 * DAY);
    assert!(!r.last_drill_failed);
    assert!(!r.needs_attention());
    assert_eq!(r.last_drill, Some(T0 + 22 * DAY));
}

#[test]
fn only_scheduled_drills_reset_the_schedule_but_any_failure_counts() {
    let mut b = Bench::three();
    b.drill(DrillKind::Emergency, T0 + 80 * DAY, 0);
    b.drill(DrillKind::Misuse, T0 + 85 * DAY, 0);
    let r = b.at(T0 + 90 * DAY + 1);
    assert_eq!(r.last_drill, None);
    assert!(r.drill_overdue, "reviews are not scheduled drills");
    assert!(!r.last_drill_failed);
    b.drill(DrillKind::Emergency, T0 + 86 * DAY, 2);
    assert!(b.at(T0 + 87 * DAY).last_drill_failed);
}

/// Deposits are not signed (anyone with the file can make one): the
/// versions since the last drill that decrypted everything are counted as
/// unchecked, and a failed drill or a review checks nothing.
#[test]
fn versions_after_the_last_good_drill_are_unchecked() {
    let mut b = Bench::three();
    b.deposit("x", T0 + HOUR, None, None);
    b.deposit("y", T0 + 2 * HOUR, None, None);
    assert_eq!(b.at(T0 + DAY).unchecked, 2);
    b.drill(DrillKind::Drill, T0 + DAY, 0);
    assert_eq!(b.at(T0 + DAY).unchecked, 0);
    b.deposit("x", T0 + 2 * DAY, None, None);
    assert_eq!(b.at(T0 + 3 * DAY).unchecked, 1);
    b.drill(DrillKind::Drill, T0 + 3 * DAY, 1);
    b.drill(DrillKind::Emergency, T0 + 4 * DAY, 0);
    assert_eq!(
        b.at(T0 + 5 * DAY).unchecked,
        1,
        "a failed drill or a review checks nothing"
    );
    b.drill(DrillKind::Drill, T0 + 5 * DAY, 0);
    assert_eq!(b.at(T0 + 6 * DAY).unchecked, 0);
}

// ---------------------------------------------------------------- rotation

#[test]
fn rotation_is_overdue_one_second_after_its_day() {
    let mut b = Bench::three();
    b.deposit("short", T0 + HOUR, Some(30), None);
    b.deposit("default", T0 + 2 * HOUR, None, None);
    let due = T0 + HOUR + 30 * DAY;
    assert_eq!(b.at(due).rotation_overdue, []);
    let r = b.at(due + 1);
    assert_eq!(
        r.rotation_overdue,
        [Due {
            label: "short".into(),
            due,
            overdue: true,
        }]
    );
    assert!(r.needs_attention());
    // The default policy: 90 days.
    let r = b.at(T0 + 2 * HOUR + 90 * DAY + 1);
    let labels: Vec<&str> = r
        .rotation_overdue
        .iter()
        .map(|d| d.label.as_str())
        .collect();
    assert_eq!(labels, ["short", "default"], "the most overdue first");
    assert_eq!(r.rotation_overdue_total, 2);
}

#[test]
fn a_fleet_report_names_the_most_overdue_and_counts_the_rest() {
    let mut b = Bench::three();
    let n = crate::readiness::DUES_LISTED + 7;
    for i in 0..n as u64 {
        // The last deposited is the least overdue.
        b.deposit(&format!("e{i:03}"), T0 + i * HOUR, None, None);
    }
    let r = b.at(T0 + 200 * DAY);
    assert_eq!(r.rotation_overdue_total, n);
    assert_eq!(r.rotation_overdue.len(), crate::readiness::DUES_LISTED);
    assert_eq!(r.rotation_overdue[0].label, "e000");
    assert!(r.rotation_overdue.windows(2).all(|w| w[0].due <= w[1].due));
    assert!(r.rotation_overdue.iter().all(|d| d.label.as_str() < "e050"));
    assert!(r.needs_attention());
}

#[test]
fn a_new_version_restarts_the_rotation_clock() {
    let mut b = Bench::three();
    b.deposit("x", T0, Some(30), None);
    b.deposit("x", T0 + 29 * DAY, None, None);
    assert_eq!(b.at(T0 + 30 * DAY + 1).rotation_overdue, []);
    assert_eq!(
        b.at(T0 + 59 * DAY + 1).rotation_overdue[0].due,
        T0 + 59 * DAY,
        "the entry's 30-day policy is kept by the new version"
    );
}

// ---------------------------------------------------------------- exposure

#[test]
fn an_unseal_exposes_the_entry_until_its_deadline() {
    let mut b = Bench::three();
    b.deposit("ba", T0, None, Some(4));
    b.deposit("quiet", T0, None, None);
    assert_eq!(b.at(T0 + HOUR).exposed, [], "nothing revealed yet");
    let opened = T0 + 2 * HOUR;
    b.unseal("ba", opened);
    let deadline = opened + 4 * HOUR;
    let r = b.at(deadline);
    assert_eq!(
        r.exposed,
        [Due {
            label: "ba".into(),
            due: deadline,
            overdue: false,
        }]
    );
    assert!(!r.needs_attention(), "pending is not overdue");
    let r = b.at(deadline + 1);
    assert!(r.exposed[0].overdue);
    assert!(r.needs_attention());
    assert_eq!(r.rotation_overdue, [], "exposure is not routine rotation");
}

#[test]
fn the_default_exposure_window_is_24_hours() {
    let mut b = Bench::three();
    b.deposit("x", T0, None, None);
    b.unseal("x", T0 + HOUR);
    assert_eq!(b.at(T0 + HOUR).exposed[0].due, T0 + 25 * HOUR);
}

#[test]
fn rotating_an_exposed_entry_clears_it() {
    let mut b = Bench::three();
    b.deposit("x", T0, None, Some(4));
    b.unseal("x", T0 + HOUR);
    b.deposit("x", T0 + 10 * HOUR, None, None);
    let r = b.at(T0 + 11 * HOUR);
    assert_eq!(r.exposed, []);
    assert!(!r.needs_attention());
}

// ---------------------------------------------------------------- custodians

#[test]
fn share_checks_are_counted_per_custodian_in_index_order() {
    let mut b = Bench::three();
    b.verified(2, T0 + 10);
    b.verified(3, T0 + 20);
    b.verified(2, T0 + 30);
    let r = b.at(T0 + 40);
    let got: Vec<(&str, u32, Option<u64>)> = r
        .custodians
        .iter()
        .map(|c| (c.name.as_str(), c.verifications, c.last))
        .collect();
    assert_eq!(
        got,
        [
            ("alice", 0, None),
            ("bob", 2, Some(T0 + 30)),
            ("carol", 1, Some(T0 + 20)),
        ]
    );
    assert!(r.warnings.contains(&Warning::NeverChecked {
        custodians: vec!["alice".into()]
    }));
    assert!(
        !r.needs_attention(),
        "unchecked shares warn, they are not overdue"
    );
}

#[test]
fn warnings_name_a_thin_margin_an_empty_vault_and_unchecked_shares() {
    let tight = Bench::new(2, &["a", "b"]).at(T0);
    assert_eq!(
        tight.warnings,
        [
            Warning::NoMargin { k: 2, n: 2 },
            Warning::NeverChecked {
                custodians: vec!["a".into(), "b".into()]
            },
            Warning::Empty,
        ]
    );
    assert!(!tight.needs_attention());
    let thin = Bench::new(2, &["a", "b", "c"]).at(T0);
    assert_eq!(thin.warnings[0], Warning::ThinMargin { k: 2, n: 3 });
    assert_eq!(
        thin.warnings[0].to_string(),
        "any 2 of 3: two lost envelopes lock everyone out"
    );

    let mut roomy = Bench::new(2, &["a", "b", "c", "d"]);
    roomy.deposit("x", T0, None, None);
    for i in 1..=4 {
        roomy.verified(i, T0 + 1);
    }
    assert_eq!(roomy.at(T0 + 2).warnings, Vec::<Warning>::new());
}

#[test]
fn a_vault_in_order_needs_no_attention() {
    let mut b = Bench::three();
    b.deposit("x", T0, None, Some(4));
    b.unseal("x", T0 + HOUR);
    b.deposit("x", T0 + 2 * HOUR, None, None);
    b.drill(DrillKind::Drill, T0 + 3 * HOUR, 0);
    let r = b.at(T0 + 4 * HOUR);
    assert_eq!(r.now, T0 + 4 * HOUR);
    assert!(!r.drill_overdue && !r.last_drill_failed);
    assert_eq!((r.rotation_overdue.len(), r.exposed.len()), (0, 0));
    assert!(!r.needs_attention());
}
