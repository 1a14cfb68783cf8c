//! Paper: QR codes and printable PDF envelopes and backups.

pub mod backup;
pub mod envelope;
pub mod layout;
pub mod qr;
pub mod scan;
