//! The recovery page as one HTML file: the page's markup, its style and
//! its script inline, the WebAssembly as base64 in a data block, and a
//! Content-Security-Policy that allows exactly that script and style (by
//! their SHA-256), WebAssembly compilation, and pictures from the page
//! itself — no network, no other script, no frames, no forms.

use data_encoding::BASE64;
use sha2::{Digest, Sha256};

const HTML: &str = include_str!("../page/kit.html");
const STYLE: &str = include_str!("../page/kit.css");
const SCRIPT: &str = include_str!("../page/kit.js");

/// The policy, with the hashes of the inline script and style.
pub fn policy(script: &str, style: &str) -> String {
    format!(
        "default-src 'none'; script-src 'sha256-{}' 'wasm-unsafe-eval'; style-src 'sha256-{}'; \
         img-src blob: data:; media-src blob: mediastream:; connect-src 'none'; \
         base-uri 'none'; form-action 'none'",
        BASE64.encode(&Sha256::digest(script.as_bytes())),
        BASE64.encode(&Sha256::digest(style.as_bytes())),
    )
}

/// The whole page around `wasm` (the kit's WebAssembly). `version` is
/// printed in its footer and receipt.
pub fn assemble(wasm: &[u8], version: &str) -> String {
    let script = SCRIPT;
    HTML.replace("{{CSP}}", &policy(script, STYLE))
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", script)
        .replace("{{VERSION}}", version)
        .replace("{{WASM}}", &BASE64.encode(wasm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_allows_only_its_own_script_and_style_and_no_network() {
        let page = assemble(b"\0asm", "test");
        let csp = policy(SCRIPT, STYLE);
        assert!(page.contains(&format!("content=\"{csp}\"")));
        assert!(csp.contains("connect-src 'none'") && csp.starts_with("default-src 'none'"));
        // One inline script (the data block is not script), one style.
        assert_eq!(page.matches("<script>").count(), 1);
        assert_eq!(page.matches("<style>").count(), 1);
        assert!(page.contains(&BASE64.encode(b"\0asm")));
        // Nothing to fetch: no URL of any scheme but the page's own.
        for scheme in [
            "http:", "https:", "ws:", "src=", "href=", "<link", "<iframe",
        ] {
            let outside = page
                .match_indices(scheme)
                .filter(|(i, _)| !page[..*i].ends_with("xmlns="))
                .count();
            assert_eq!(outside, 0, "{scheme} in the page");
        }
    }
}
