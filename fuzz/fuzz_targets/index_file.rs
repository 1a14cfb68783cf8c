//! The lookup index (VAULT.index) as read from disk: never panic, never
//! allocate beyond the file, and a lookup returns only rows with its key,
//! in order.
#![no_main]
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vault_core::index::{Index, Table};

fuzz_target!(|data: &[u8]| {
    let Some((probe, file)) = data.split_first_chunk::<8>() else { return };
    let key = u64::from_be_bytes(*probe);
    let Ok(mut index) = Index::open(Cursor::new(file)) else { return };
    for table in Table::ALL {
        if let Ok(rows) = index.find(table, key) {
            assert!(rows.iter().all(|r| r.key == key));
            assert!(rows.windows(2).all(|w| w[0] < w[1]));
        }
        let _ = index.rows(table);
    }
});
