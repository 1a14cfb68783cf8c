//! The error-message contract as snapshots (trycmd): one misuse per
//! `tests/cmd/*.toml`, with its exact stdout, stderr and exit status,
//! run in a sandbox copy of `fixtures/`. At least one case per exit code
//! (README.md, "Exit codes") and per documented message; see
//! tests/cmd/README.md. `TRYCMD=overwrite cargo test --test it cmd::`
//! rewrites the snapshots after a deliberate change of wording.

use crate::util::{root, BIN};

#[test]
fn error_messages_and_exit_codes() {
    trycmd::TestCases::new()
        .register_bin("breakglass", std::path::Path::new(BIN))
        .case(root().join("tests/cmd/*.toml"));
}
