//! QR codes for paper: byte mode (the payload is exactly the share text,
//! so any reader returns text that `unseal` accepts), at the highest error
//! correction level whose symbol stays printable at a readable module size.

use qrcode::bits::Bits;
use qrcode::types::{Color, EcLevel, Version};
use qrcode::QrCode;

/// The largest symbol we print: version 25 (117×117 modules) fits a 9 cm
/// square with modules of about 0.75 mm, which phones and 150 dpi scans read.
pub const MAX_VERSION: i16 = 25;

/// A QR symbol as a square of dark/light modules.
pub struct Symbol {
    /// Modules per side (without the quiet zone).
    pub width: usize,
    /// Row-major, true = dark.
    pub dark: Vec<bool>,
    /// QR version (1–40).
    pub version: i16,
    /// Error correction level: "H", "Q" or "M".
    pub level: &'static str,
}

fn byte_mode(data: &[u8], version: i16, level: EcLevel) -> Option<QrCode> {
    let mut bits = Bits::new(Version::Normal(version));
    bits.push_byte_data(data).ok()?;
    bits.push_terminator(level).ok()?;
    QrCode::with_bits(bits, level).ok()
}

/// Encodes `data` in byte mode: the highest level of H, Q, M that fits
/// within [`MAX_VERSION`], at the smallest version for that level.
pub fn encode(data: &[u8]) -> Result<Symbol, String> {
    for (level, name) in [(EcLevel::H, "H"), (EcLevel::Q, "Q"), (EcLevel::M, "M")] {
        for version in 1..=MAX_VERSION {
            if let Some(code) = byte_mode(data, version, level) {
                return Ok(Symbol {
                    width: code.width(),
                    dark: code
                        .to_colors()
                        .into_iter()
                        .map(|c| c == Color::Dark)
                        .collect(),
                    version,
                    level: name,
                });
            }
        }
    }
    Err(format!(
        "{} bytes do not fit a QR code of version {MAX_VERSION} at level M",
        data.len()
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
    }
}
