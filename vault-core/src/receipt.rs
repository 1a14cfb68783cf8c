//! Receipts (docs/FORMAT.md §3.4): a line a quorum operation prints —
//! fingerprint, record number, head hash — to be kept outside the vault
//! (a ticket, the SIEM, paper). A later file must still *extend* what the
//! receipt saw; if not, records were dropped, the file was rolled back, or
//! it was swapped. Without a receipt kept elsewhere, dropping the last
//! records of a file cannot be detected: the file alone is consistent.

use crate::fingerprint::Fingerprint;
use crate::keys::sha256;
use crate::record::Record;
use crate::vault::Vault;

/// The text every receipt line starts with.
pub const PREFIX: &str = "breakglass-receipt:v1:";

/// What a receipt saw: this vault (by fingerprint) had `record` records,
/// the last with chain hash `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The vault's fingerprint when the receipt was made.
    pub fingerprint: [u8; 32],
    /// How many records the file held (the last one's 1-based number).
    pub record: u32,
    /// The chain hash of that record.
    pub head: [u8; 32],
}

/// Why a receipt line cannot be read. Never a tamper alarm: a receipt
/// copied wrongly is the reader's problem, not the vault's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not `breakglass-receipt:v1:F:N:HEAD:CHECK`.
    #[error("not a breakglass receipt (breakglass-receipt:v1:…)")]
    Malformed,
    /// Its check does not match: a character was lost or changed.
    #[error("the receipt is damaged (its check does not match): copy it again")]
    Damaged,
}

/// Whether a vault extends what a receipt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It does: the receipt's record is in the file with the same hash.
    Extends,
    /// The receipt is of an earlier generation of this vault, and the
    /// record it names was a deposit that the rekey re-encrypted: check it
    /// against the file the rekey kept (`VAULT.before-rekey-*`).
    Unverifiable {
        /// The receipt's generation.
        generation: u32,
    },
    /// It does not.
    Fails(Failure),
}

/// How a vault fails to extend a receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The file holds fewer records than the receipt saw.
    #[error("the vault holds only {holds} records, the receipt saw {saw}: records were removed after it was issued (rolled back, or the last records dropped)")]
    Shorter {
        /// Records now.
        holds: usize,
        /// Records the receipt saw.
        saw: u32,
    },
    /// Record N is not the one the receipt saw.
    #[error("record #{record} is not the one the receipt saw (another head hash): the file was rewritten from that record on")]
    Rewritten {
        /// The record.
        record: u32,
    },
    /// Records of an earlier generation written after the rekey's snapshot.
    #[error("the receipt saw {saw} records of generation {generation}, but the rekey carried over only {carried}: records of that generation were lost")]
    LostBeforeRekey {
        /// The receipt's generation.
        generation: u32,
        /// Records the receipt saw.
        saw: u32,
        /// Records the rekey carried over.
        carried: u32,
    },
    /// Neither this vault nor one of its earlier generations.
    #[error("it was issued for vault {issued}, which is neither this vault ({current}) nor one of its earlier generations: the vault file was swapped, or rolled back past a rekey")]
    OtherVault {
        /// The receipt's fingerprint (short form).
        issued: String,
        /// This vault's fingerprint (short form).
        current: String,
    },
}

fn check(fingerprint: &[u8; 32], record: u32, head: &[u8; 32]) -> [u8; 4] {
    let h = sha256(&[
        b"breakglass/v1/receipt",
        fingerprint,
        &record.to_be_bytes(),
        head,
    ]);
    [h[0], h[1], h[2], h[3]]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Receipt {
    /// The receipt for `vault` as it is now (its last record).
    pub fn of(vault: &Vault) -> Self {
        Self {
            fingerprint: *vault.fingerprint().as_bytes(),
            record: vault.record_count() as u32,
            head: *vault.head(),
        }
    }

    /// The receipt line: `breakglass-receipt:v1:<fingerprint, 64 hex>:
    /// <record>:<head, 64 hex>:<check, 8 hex>`.
    pub fn to_line(&self) -> String {
        format!(
            "{PREFIX}{}:{}:{}:{}",
            hex(&self.fingerprint),
            self.record,
            hex(&self.head),
            hex(&check(&self.fingerprint, self.record, &self.head))
        )
    }

    /// Reads a receipt line (surrounding white space ignored; hex in
    /// either case).
    pub fn parse(line: &str) -> Result<Self, ReceiptError> {
        let line = line.trim().to_ascii_lowercase();
        let rest = line.strip_prefix(PREFIX).ok_or(ReceiptError::Malformed)?;
        let fields: Vec<&str> = rest.split(':').collect();
        let [f, n, h, c] = fields[..] else {
            return Err(ReceiptError::Malformed);
        };
        let fingerprint = unhex::<32>(f).ok_or(ReceiptError::Malformed)?;
        let head = unhex::<32>(h).ok_or(ReceiptError::Malformed)?;
        let given = unhex::<4>(c).ok_or(ReceiptError::Malformed)?;
        let record: u32 = n
            .parse()
            .ok()
            .filter(|r: &u32| *r >= 1 && r.to_string() == n)
            .ok_or(ReceiptError::Malformed)?;
        if given != check(&fingerprint, record, &head) {
            return Err(ReceiptError::Damaged);
        }
        Ok(Self {
            fingerprint,
            record,
            head,
        })
    }

    /// Whether `vault` (read whole) extends what this receipt saw: one
    /// pass over its records ([`verdicts`] checks many in one).
    pub fn verdict(&self, vault: &Vault) -> Result<Verdict, RecordsUnreadable> {
        Ok(verdicts(std::slice::from_ref(self), vault)?.remove(0))
    }

    /// Which record this receipt is judged by, from the vault's state.
    fn plan(&self, vault: &Vault) -> Plan {
        if self.fingerprint == *vault.fingerprint().as_bytes() {
            return Plan::Same;
        }
        let generation = (1..vault.epoch()).find(|&h| {
            vault
                .earlier_epoch(h)
                .is_some_and(|(g, _)| Fingerprint::of(g).as_bytes() == &self.fingerprint)
        });
        match generation {
            // Each rekey carries every record over one place later (its
            // new genesis comes first), so record r of generation h is
            // record r + (g - h) of this file: a History record with its
            // old number and hash, or a deposit the rekey re-encrypted.
            Some(h) => Plan::Earlier {
                generation: h,
                number: self.record as usize + (vault.epoch() - h) as usize,
            },
            None => Plan::Other,
        }
    }

    fn judge(&self, plan: Plan, vault: &Vault, seen: &Seen) -> Verdict {
        match plan {
            Plan::Same => self.same_generation(vault, seen),
            Plan::Earlier { generation, number } => self
                .earlier_generation(generation, seen, number)
                .unwrap_or_else(|| self.other_vault(vault)),
            Plan::Other => self.other_vault(vault),
        }
    }

    fn other_vault(&self, vault: &Vault) -> Verdict {
        Verdict::Fails(Failure::OtherVault {
            issued: Fingerprint::from_bytes(self.fingerprint).short(),
            current: vault.fingerprint().short(),
        })
    }

    fn same_generation(&self, vault: &Vault, seen: &Seen) -> Verdict {
        match seen.at.get(&(self.record as usize)) {
            _ if self.record as usize > vault.record_count() => Verdict::Fails(Failure::Shorter {
                holds: vault.record_count(),
                saw: self.record,
            }),
            Some(at) if at.hash == self.head => Verdict::Extends,
            _ => Verdict::Fails(Failure::Rewritten {
                record: self.record,
            }),
        }
    }

    /// A receipt of generation h < g: the rekey that ended h carried over
    /// `old_records` records up to `old_head`, and History keeps the chain
    /// hash of every carried record but the deposits (re-encrypted).
    fn earlier_generation(&self, generation: u32, seen: &Seen, number: usize) -> Option<Verdict> {
        // The rekey records in file order: generation h was closed by the
        // h-th one (earlier ones sit inside History).
        let &(carried, old_head) = seen.rekeys.get(generation as usize - 1)?;
        if self.record > carried {
            return Some(Verdict::Fails(Failure::LostBeforeRekey {
                generation,
                saw: self.record,
                carried,
            }));
        }
        let rewritten = Verdict::Fails(Failure::Rewritten {
            record: self.record,
        });
        if self.record == carried {
            return Some(if self.head == old_head {
                Verdict::Extends
            } else {
                rewritten
            });
        }
        Some(match seen.at.get(&number).map(|at| &at.kind) {
            Some(Carried::History { record, hash }) if *record == self.record => {
                if *hash == self.head {
                    Verdict::Extends
                } else {
                    rewritten
                }
            }
            Some(Carried::Deposit) => Verdict::Unverifiable { generation },
            _ => rewritten,
        })
    }
}

/// The records could not be read again to check receipts against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the vault's records could not be read again to check the receipts (the file changed while it was read): run the command again")]
pub struct RecordsUnreadable;

/// The verdicts on `receipts` against `vault` (read whole), in their
/// order, from one pass over its records: memory grows with the number of
/// receipts and of rekeys, never with the file.
pub fn verdicts(receipts: &[Receipt], vault: &Vault) -> Result<Vec<Verdict>, RecordsUnreadable> {
    assert!(
        vault.is_whole(),
        "a receipt is checked against the whole file"
    );
    let plans: Vec<Plan> = receipts.iter().map(|r| r.plan(vault)).collect();
    let mut seen = Seen::default();
    for (r, plan) in receipts.iter().zip(&plans) {
        seen.wanted.insert(match *plan {
            Plan::Earlier { number, .. } => number,
            _ => r.record as usize,
        });
    }
    let mut last = None;
    let whole = vault.for_each_record(|number, frame, record| {
        last = Some(frame.hash);
        seen.observe(number, frame, record);
    });
    // The records read again must end where the checked replay ended.
    if !whole || last != Some(*vault.head()) {
        return Err(RecordsUnreadable);
    }
    Ok(receipts
        .iter()
        .zip(plans)
        .map(|(r, plan)| r.judge(plan, vault, &seen))
        .collect())
}

/// How a receipt is judged.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// By the record it names, in this generation.
    Same,
    /// By the rekey that closed its generation, and by record `number` of
    /// this file.
    Earlier { generation: u32, number: usize },
    /// It is of no generation of this vault.
    Other,
}

/// A record a receipt is judged by.
#[derive(Debug, Clone)]
struct At {
    hash: [u8; 32],
    kind: Carried,
}

/// What a record carried over by a rekey is.
#[derive(Debug, Clone)]
enum Carried {
    History { record: u32, hash: [u8; 32] },
    Deposit,
    Other,
}

/// What one pass over the records keeps for the verdicts.
#[derive(Debug, Default)]
struct Seen {
    /// Every rekey record of the file, live or kept in History, in the
    /// order they were made: (records carried over, head of the file they
    /// replaced). A rekey carries the old records over in their order and
    /// appends its own record last, so file order is the order of the
    /// rekeys.
    rekeys: Vec<(u32, [u8; 32])>,
    /// The numbers of the records receipts are judged by.
    wanted: std::collections::BTreeSet<usize>,
    /// Those records, by number, once seen.
    at: std::collections::BTreeMap<usize, At>,
}

impl Seen {
    fn observe(&mut self, number: usize, frame: &crate::log::Frame, record: &Record) {
        match record {
            Record::Rekey(k) => self.rekeys.push((k.old_records, k.old_head)),
            Record::History(h) => {
                if let Ok(Record::Rekey(k)) = Record::decode(h.kind, &h.body) {
                    self.rekeys.push((k.old_records, k.old_head));
                }
            }
            _ => {}
        }
        if self.wanted.contains(&number) {
            let kind = match record {
                Record::History(h) => Carried::History {
                    record: h.record,
                    hash: h.hash,
                },
                Record::Deposit(_) => Carried::Deposit,
                _ => Carried::Other,
            };
            self.at.insert(
                number,
                At {
                    hash: frame.hash,
                    kind,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryKind, EntrySecret};
    use crate::log;
    use crate::passphrase::KdfParams;
    use crate::vault::{create, DepositMeta, InitSpec};
    use zeroize::Zeroizing;

    fn vault_with(deposits: usize) -> (Vault, Vec<u8>) {
        let spec = InitSpec::new("R", 2, ["a", "b"]).with_kdf(KdfParams::FLOOR);
        let mut bytes = create(&spec, &[None, None]).unwrap().bytes;
        let mut vault = Vault::replay(&log::parse(&bytes).unwrap()).unwrap();
        for i in 0..deposits {
            let secret = EntrySecret {
                username: Zeroizing::new(String::new()),
                secret: Zeroizing::new(b"pw".to_vec()),
            };
            let r = vault
                .deposit(
                    &format!("e{i}"),
                    EntryKind::Password,
                    &secret,
                    &DepositMeta::default(),
                )
                .unwrap();
            bytes.extend(vault.push(r).unwrap());
        }
        (Vault::replay(&log::parse(&bytes).unwrap()).unwrap(), bytes)
    }

    #[test]
    fn lines_round_trip_and_a_changed_character_is_damage() {
        let (vault, _) = vault_with(2);
        let r = Receipt::of(&vault);
        assert_eq!(r.record, 3);
        let line = r.to_line();
        assert!(line.starts_with(PREFIX), "{line}");
        assert_eq!(
            Receipt::parse(&format!("  {}\n", line.to_uppercase())),
            Ok(r)
        );
        // Every single changed hex digit is caught by the check (or
        // breaks the syntax); never a different valid receipt.
        for i in PREFIX.len()..line.len() {
            let mut bad = line.clone().into_bytes();
            bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
            let bad = String::from_utf8(bad).unwrap();
            assert!(Receipt::parse(&bad).is_err(), "{bad}");
        }
        for junk in [
            "",
            "breakglass-receipt:v1:",
            "breakglass-receipt:v1:00:1:00:00",
        ] {
            assert_eq!(Receipt::parse(junk), Err(ReceiptError::Malformed));
        }
    }

    #[test]
    fn a_longer_file_extends_a_shorter_one_and_a_cut_or_rewritten_one_does_not() {
        let (vault, bytes) = vault_with(3);
        let (at_two, _) = vault_with(1);
        // Another vault altogether (a new random id and keys).
        assert!(matches!(
            Receipt::of(&at_two).verdict(&vault).unwrap(),
            Verdict::Fails(Failure::OtherVault { .. })
        ));
        let mid = Receipt {
            record: 3,
            head: vault.records()[2].frame.hash,
            ..Receipt::of(&vault)
        };
        assert_eq!(mid.verdict(&vault).unwrap(), Verdict::Extends);
        let last = Receipt::of(&vault);
        // The last record dropped: the file is valid, the receipt says no.
        let cut = vault.records()[3].frame.offset as usize;
        let shorter = Vault::replay(&log::parse(&bytes[..cut]).unwrap()).unwrap();
        assert_eq!(
            last.verdict(&shorter).unwrap(),
            Verdict::Fails(Failure::Shorter { holds: 3, saw: 4 })
        );
        let forged = Receipt {
            head: [7; 32],
            ..mid
        };
        assert_eq!(
            forged.verdict(&vault).unwrap(),
            Verdict::Fails(Failure::Rewritten { record: 3 })
        );
    }
}
