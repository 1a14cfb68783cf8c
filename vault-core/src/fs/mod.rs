//! The file on disk: the only place vault-core touches the file system
//! (behind the default `fs` feature). Everything else takes bytes and
//! returns records, so the same core runs in a browser.
//!
//! - [`store`]: locks, fsync, torn tails, atomic rewrites, new files 0600
//! - [`scope`]: reading only the records an operation needs, through the
//!   lookup index beside the vault

mod frames;
pub mod scope;
pub mod store;
