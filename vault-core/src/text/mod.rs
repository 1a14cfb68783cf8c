//! Text that people type and print: share texts and paper-backup parts,
//! both made of checked lines of Crockford base32.

pub mod backup;
pub mod lines;
pub mod share_text;
pub mod typed;
