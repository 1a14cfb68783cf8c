//! The events a command hands out: the records it wrote, read back from
//! the file and built by `audit`'s own code, so a delivered event is the
//! very line `audit --json` prints for that record (receipt included).

use std::path::Path;

use vault_core::record::Record;

use crate::commands::audit::Events;
use crate::error::CliError;

/// Which records a command wrote.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    /// Record N and every record after it (appends; `init` is record 1).
    Record(usize),
    /// Record N, which starts at this file offset, and every record after
    /// it: read without the records before it (O(1) in the vault's size).
    Appended {
        /// Its number.
        record: usize,
        /// Its frame's file offset.
        offset: u64,
        /// Its chain hash: the record read back there must be it.
        head: [u8; 32],
    },
    /// A rekey's new file: every record but those carried over from the
    /// generations before it.
    Rekey,
}

impl Since {
    /// The record one append just wrote, read back at its offset.
    pub fn appended(appended: &vault_core::store::Appended) -> Self {
        Self::Appended {
            record: appended.record,
            offset: appended.offset,
            head: appended.head,
        }
    }
}

/// The most events one command hands out (an import of a whole fleet
/// writes one record per row); the rest are named in a warning, to be
/// forwarded with `audit --json` (docs/HARDENING.md).
pub const MAX_EVENTS: usize = 10_000;

/// The events of the records `since` names, as JSON lines. Reads the file
/// from the start (the events need the genesis record), holding one record
/// at a time.
pub fn collect(vault: &Path, since: Since) -> Result<Vec<String>, CliError> {
    let mut events = Events::default();
    let (mut out, mut over) = (Vec::new(), 0usize);
    store_each(vault, since, |number, hash, record| {
        // Before the first wanted record only what sets the builder's
        // state (the genesis, records carried over by a rekey) is built.
        let earlier = match since {
            Since::Record(first) | Since::Appended { record: first, .. } => number < first,
            Since::Rekey => false,
        };
        if earlier && !matches!(record, Record::Genesis(_) | Record::History(_)) {
            return;
        }
        let e = events.event(number, hash, record);
        let wanted = match since {
            Since::Record(_) | Since::Appended { .. } => !earlier,
            Since::Rekey => e["before_rekey"] != true,
        };
        if wanted {
            if out.len() < MAX_EVENTS {
                out.push(e.to_string());
            } else {
                over += 1;
            }
        }
    })?;
    if over > 0 {
        crate::commands::warn(format_args!(
            "{over} more events were written than one command delivers ({MAX_EVENTS}); \
             forward them with: breakglass audit {} --json",
            vault.display()
        ));
    }
    Ok(out)
}

fn store_each(
    vault: &Path,
    since: Since,
    mut each: impl FnMut(usize, &[u8; 32], &Record),
) -> Result<(), CliError> {
    let mut each = |number: usize, frame: &vault_core::log::Frame, record: Record| {
        each(number, &frame.hash, &record);
        Ok::<_, CliError>(())
    };
    match since {
        Since::Appended {
            record,
            offset,
            head,
        } => vault_core::store::for_each_record_from(vault, record, offset, &head, each),
        _ => vault_core::store::for_each_record(vault, &mut each).map(|_| ()),
    }
}
