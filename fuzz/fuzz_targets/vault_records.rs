//! Structure-aware: the input is cut into records that are framed with
//! correct frame checks and chain hashes, so the fuzzer reaches record
//! decoding and replay instead of stopping at the first chain hash. The
//! file is version 2 when its first record is a version 2 genesis (so the
//! signature checks of docs/FORMAT.md §14 are reached), else version 1.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::{log, vault::Vault};

fuzz_target!(|data: &[u8]| {
    let version = match data.first() {
        Some(&vault_core::record::kind::GENESIS_V2) => 2,
        _ => 1,
    };
    let mut file = log::header(version).to_vec();
    let mut prev = log::genesis_prev(version);
    let mut rest = data;
    while rest.len() >= 3 {
        let kind = rest[0];
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let body = &rest[3..3 + len];
        let (frame, hash) = log::encode_frame(&prev, kind, body);
        file.extend_from_slice(&frame);
        prev = hash;
        rest = &rest[3 + len..];
    }
    let parsed = log::parse(&file).expect("a well-framed file always parses");
    assert!(parsed.torn.is_none());
    let _ = Vault::replay(&parsed);
});
