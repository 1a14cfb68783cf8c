//! The integration tests: one binary (ripgrep's layout), one module per
//! area, all driving the real `breakglass` binary through the shared
//! harness in `util.rs`. Run one area with `cargo test --test it AREA::`.

mod util;

mod attacks;
mod audit_amplification;
mod bad_corpus;
mod budgets;
mod cli;
mod cmd;
mod crash;
mod custodians;
mod golden;
mod golden_v2;
mod import;
mod index_forgery;
mod lifecycle;
mod lookup;
mod media;
mod memory;
mod monitoring;
mod paper;
mod photos;
mod plugins;
mod process;
mod readme;
mod reissue;
mod rekey;
mod remote;
mod session;
mod terminal;
mod text_rules;
mod tokens;
mod upgrade;
