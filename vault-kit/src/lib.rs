//! The offline recovery page (`kit.html`): vault-core compiled to
//! WebAssembly behind a small call interface, so that a custodian can
//! unseal from a browser with nothing installed. Shares are checked one by
//! one with the command line's checks and words; the unseal record is
//! appended to the vault file (and offered for download) before any
//! secret is shown. See docs/RECOVERY-KIT.md.
//!
//! - [`kit`]: the state (vault, shares, typed lines, unseal), pure Rust;
//! - [`api`]: the page's calls, JSON in and out;
//! - `wasm` (wasm32 only): the exported functions the page's script calls;
//! - [`page`]: the HTML file, assembled around the WebAssembly with a
//!   strict Content-Security-Policy.

pub mod api;
pub mod kit;
pub mod page;
#[cfg(target_arch = "wasm32")]
mod wasm;
