//! QR codes for paper: alphanumeric mode when the payload is upper-case
//! alphanumerics (denser), byte mode otherwise (the payload is then exactly
//! the text, so any reader returns text that `unseal` accepts), at the
//! highest error correction level whose symbol stays printable at a
//! readable module size.

use qrcode::bits::Bits;
use qrcode::types::{Color, EcLevel, Version};
use qrcode::QrCode;

/// The largest symbol we print: version 25 (117×117 modules) fits a 9 cm
/// square with modules of about 0.75 mm, which phones and 150 dpi scans read.
pub const MAX_VERSION: i16 = 25;

/// How the payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any bytes, 8 bits a character.
    Byte,
    /// 0-9 A-Z space $ % * + - . / : only, 5.5 bits a character.
    Alphanumeric,
}

impl Mode {
    /// The densest mode that holds `payload`.
    pub fn for_payload(payload: &str) -> Self {
        if !payload.is_empty() && payload.bytes().all(is_alphanumeric) {
            Self::Alphanumeric
        } else {
            Self::Byte
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Byte => "byte",
            Self::Alphanumeric => "alphanumeric",
        }
    }
}

/// True for the 45 characters of QR alphanumeric mode.
fn is_alphanumeric(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase() || b" $%*+-./:".contains(&b)
}

/// The error correction levels tried, strongest first, and the largest
/// version allowed.
pub struct Spec {
    /// Levels, strongest first.
    pub levels: &'static [Level],
    /// The largest version.
    pub max_version: i16,
}

/// An error correction level and its letter.
pub type Level = (EcLevel, &'static str);

/// Shares: H, then Q, then M, up to [`MAX_VERSION`].
pub const SHARE: Spec = Spec {
    levels: &[(EcLevel::H, "H"), (EcLevel::Q, "Q"), (EcLevel::M, "M")],
    max_version: MAX_VERSION,
};

/// A QR symbol as a square of dark/light modules.
pub struct Symbol {
    /// Modules per side (without the quiet zone).
    pub width: usize,
    /// Row-major, true = dark.
    pub dark: Vec<bool>,
    /// QR version (1–40).
    pub version: i16,
    /// Error correction level: "H", "Q", "M" or "L".
    pub level: &'static str,
    /// The mode the payload was encoded in.
    pub mode: Mode,
}

fn with_mode(data: &[u8], mode: Mode, version: i16, level: EcLevel) -> Option<QrCode> {
    let mut bits = Bits::new(Version::Normal(version));
    match mode {
        Mode::Byte => bits.push_byte_data(data).ok()?,
        Mode::Alphanumeric => bits.push_alphanumeric_data(data).ok()?,
    }
    bits.push_terminator(level).ok()?;
    QrCode::with_bits(bits, level).ok()
}

/// Encodes `data` in byte mode for a share (see [`encode_as`]).
pub fn encode(data: &[u8]) -> Result<Symbol, String> {
    encode_as(data, Mode::Byte, &SHARE)
}

/// Encodes `data` in `mode`: the first level of `spec` that fits within
/// its largest version, at the smallest version for that level.
pub fn encode_as(data: &[u8], mode: Mode, spec: &Spec) -> Result<Symbol, String> {
    for &(level, name) in spec.levels {
        for version in 1..=spec.max_version {
            if let Some(code) = with_mode(data, mode, version, level) {
                return Ok(Symbol {
                    width: code.width(),
                    dark: code
                        .to_colors()
                        .into_iter()
                        .map(|c| c == Color::Dark)
                        .collect(),
                    version,
                    level: name,
                    mode,
                });
            }
        }
    }
    Err(format!(
        "{} bytes do not fit a QR code of version {}",
        data.len(),
        spec.max_version
    ))
}

impl Symbol {
    /// The symbol as a PNG picture: `scale` pixels a module, a 4-module
    /// quiet zone, black on white.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, String> {
        let side = (self.width as u32 + 8) * scale;
        let img = image::GrayImage::from_fn(side, side, |x, y| {
            let (col, row) = ((x / scale) as i64 - 4, (y / scale) as i64 - 4);
            let w = self.width as i64;
            let dark = (0..w).contains(&col)
                && (0..w).contains(&row)
                && self.dark[(row * w + col) as usize];
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(out.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_level_that_fits() {
        let small = encode(&[b'x'; 100]).unwrap();
        assert_eq!(small.level, "H");
        assert_eq!(small.width, small.version as usize * 4 + 17);
        assert_eq!(small.dark.len(), small.width * small.width);
        // A protected share's text (~520 bytes) is H at version 25 at most.
        let share = encode(&[b'x'; 520]).unwrap();
        assert!(share.version <= MAX_VERSION);
        assert!(["H", "Q"].contains(&share.level), "{}", share.level);
        assert!(encode(&[b'x'; 2000]).is_err());
        // Upper-case alphanumerics: alphanumeric mode, smaller at level H.
        let text = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".repeat(6);
        assert_eq!(Mode::for_payload(&text), Mode::Alphanumeric);
        assert_eq!(Mode::for_payload("abc"), Mode::Byte);
        assert_eq!(Mode::for_payload("A\nB"), Mode::Byte);
        let alnum = encode_as(text.as_bytes(), Mode::Alphanumeric, &SHARE).unwrap();
        let bytes = encode(text.as_bytes()).unwrap();
        assert_eq!((alnum.level, bytes.level), ("H", "H"));
        assert!(
            alnum.version < bytes.version,
            "{} {}",
            alnum.version,
            bytes.version
        );
    }
}
