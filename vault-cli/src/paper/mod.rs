//! Paper: QR codes and printable PDF envelopes.

pub mod envelope;
pub mod qr;
pub mod scan;
