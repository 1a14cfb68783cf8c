//! Makes the format-2 share fixture: `fixtures/share-v2/` (see
//! fixtures/README.md). The bytes are random, so running it again makes a
//! *different* vault; the committed one is the contract.
//!
//! cargo run -p vault-core --example make_share_v2 -- fixtures/share-v2

use std::path::Path;

use secrecy::SecretString;
use vault_core::passphrase::KdfParams;
use vault_core::share_text;
use vault_core::vault::{create, InitSpec};

/// 2026-11-30T00:00:00Z.
const T0: u64 = 1_795_996_800;

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: make_share_v2 OUT_DIR");
    let out = Path::new(&out);
    let spec = InitSpec::new("breakglass shares v2", 2, ["alice", "bob", "carol"])
        .with_actor("fixture@breakglass")
        .with_time(T0)
        .with_kdf(KdfParams::FLOOR);
    let pass = |s: &str| Some(SecretString::from(s.to_owned()));
    let created = create(
        &spec,
        &[
            pass("golden-v2-alice-passphrase"),
            pass("golden-v2-bob-passphrase"),
            None,
        ],
    )
    .expect("valid spec");
    std::fs::create_dir_all(out).expect("output directory");
    std::fs::write(out.join("vault.bg"), &created.bytes).expect("write vault");
    for share in &created.shares {
        std::fs::write(
            out.join(format!("{}.share", share.custodian)),
            share.text.as_bytes(),
        )
        .expect("write share");
        let body = share_text::decode(&share.text).expect("a share just made reads back");
        std::fs::write(
            out.join(format!("{}.compact", share.custodian)),
            format!("{}\n", share_text::compact(&body).as_str()),
        )
        .expect("write compact share");
    }
}
