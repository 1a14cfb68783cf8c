//! The rules for text that people compare by eye: labels, custodian names,
//! device identifiers, vault names and reasons (docs/FORMAT.md §7, "Text").
//!
//! Two entries must never look the same on a screen or on paper. New text
//! ([`input_problem`], what [`crate::record::text_problem`] applies) is
//! refused when it holds
//!
//! - a control character (Unicode category Cc) or a line or paragraph
//!   separator (U+2028, U+2029);
//! - a bidirectional control: U+202A–U+202E, U+2066–U+2069, U+200E,
//!   U+200F, U+061C (they reorder what is shown: `a\u{202e}bc` shows as
//!   "acb");
//! - an invisible character: zero-width U+200B–U+200D, U+2060, U+FEFF, and
//!   U+00AD (soft hyphen), U+180E, U+2061–U+2064, the tag characters
//!   U+E0000–U+E007F;
//! - leading or trailing white space;
//! - a form other than Unicode NFC (`e` + U+0301 and `é` look the same but
//!   are different bytes, so one would not find the other). breakglass
//!   refuses rather than normalises: what is stored is exactly what was
//!   typed, and a lookup of an older, non-NFC label still finds it.
//!
//! The message names the character (U+XXXX) and its position, counted in
//! characters from 1, and never shows the text itself.
//!
//! Records already in a file are read with the older, looser rule
//! ([`replay_problem`]: no control characters, no outer spaces), so every
//! vault written before these rules still opens; the stricter rule applies
//! to what is written from now on.
//!
//! Near-duplicates that differ only by case or by a confusable character
//! (`admin` / `Admin` / `аdmin` with a Cyrillic а) are not refused, since
//! both may be meant, but [`look_alikes`] finds them so the caller can warn.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Why a text value is refused, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextProblem {
    what: &'static str,
    at: Option<(usize, char)>,
}

impl TextProblem {
    const fn whole(what: &'static str) -> Self {
        Self { what, at: None }
    }

    /// What is wrong ("is empty", "contains a zero-width character", …).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The 1-based character position of the offending character, if the
    /// problem is one character.
    pub fn position(&self) -> Option<usize> {
        self.at.map(|(n, _)| n)
    }
}

impl fmt::Display for TextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            None => f.write_str(self.what),
            Some((n, c)) => write!(f, "{} (U+{:04X} at character {n})", self.what, c as u32),
        }
    }
}

/// Bidirectional controls: embeddings, overrides, isolates and marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{2061}'..='\u{2064}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// The rule for new text (see the module documentation): `None` when
/// `value` may be written.
pub fn input_problem(value: &str, max: usize, may_be_empty: bool) -> Option<TextProblem> {
    if value.is_empty() && !may_be_empty {
        return Some(TextProblem::whole("is empty"));
    }
    if value.len() > max {
        return Some(TextProblem::whole("is too long"));
    }
    if plain_ascii(value) {
        return None;
    }
    every_rule(value)
}

/// ASCII without control characters or an outer space: what labels,
/// serial numbers and names almost always are, and what passes every
/// rule below without looking at characters (ASCII is NFC; its other
/// white space is control characters).
fn plain_ascii(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.iter().all(|&b| (0x20..0x7f).contains(&b))
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
}

/// The character rules of [`input_problem`], character by character.
fn every_rule(value: &str) -> Option<TextProblem> {
    for (i, c) in value.chars().enumerate() {
        let what = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            "contains control characters"
        } else if is_bidi_control(c) {
            "contains a bidirectional control character"
        } else if is_invisible(c) {
            "contains a zero-width (invisible) character"
        } else {
            continue;
        };
        return Some(TextProblem {
            what,
            at: Some((i + 1, c)),
        });
    }
    if value.trim() != value {
        return Some(TextProblem::whole("has leading or trailing spaces"));
    }
    if !unicode_normalization::is_nfc(value) {
        // The first character that normalisation changes.
        let at = value
            .chars()
            .zip(value.nfc())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| value.nfc().count());
        let c = value.chars().nth(at).unwrap_or(' ');
        return Some(TextProblem {
            what: "is not in Unicode normal form NFC (type the accented letter as one character)",
            at: Some((at + 1, c)),
        });
    }
    None
}

/// The rule records in a file are read with (the rule before issue 15):
/// not empty unless allowed, at most `max` bytes, no control characters,
/// no leading or trailing white space.
pub fn replay_problem(value: &str, max: usize, may_be_empty: bool) -> Option<&'static str> {
    if value.is_empty() && !may_be_empty {
        Some("is empty")
    } else if value.len() > max {
        Some("is too long")
    } else if value.chars().any(char::is_control) {
        Some("contains control characters")
    } else if value.trim() != value {
        Some("has leading or trailing spaces")
    } else {
        None
    }
}

/// What two texts look like to a reader: lower case, then the Unicode
/// confusable skeleton (UTS #39), so `Admin`, `admin` and `аdmin`
/// (Cyrillic а) have the same form.
pub fn look_alike_form(value: &str) -> String {
    let lower: String = value.nfc().collect::<String>().to_lowercase();
    unicode_security::skeleton(&lower).collect()
}

/// The values in `existing` that differ from `value` but look like it
/// (same [`look_alike_form`]), in the order given.
pub fn look_alikes<'a>(value: &str, existing: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let form = look_alike_form(value);
    existing
        .into_iter()
        .filter(|e| *e != value && look_alike_form(e) == form)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(s: &str) -> Option<String> {
        input_problem(s, 64, false).map(|p| p.to_string())
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused_with_their_position() {
        assert_eq!(
            problem("a\u{200b}").as_deref(),
            Some("contains a zero-width (invisible) character (U+200B at character 2)")
        );
        assert_eq!(
            problem("a\u{202e}cb").as_deref(),
            Some("contains a bidirectional control character (U+202E at character 2)")
        );
        assert_eq!(
            problem("é\u{2066}").as_deref(),
            Some("contains a bidirectional control character (U+2066 at character 2)")
        );
        for c in [
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{202a}',
            '\u{2069}',
            '\u{e0041}',
            '\u{00ad}',
        ] {
            let p = input_problem(&format!("ab{c}"), 64, false).unwrap();
            assert_eq!(p.position(), Some(3), "U+{:04X}", c as u32);
        }
        assert_eq!(
            problem("a\u{7}b").as_deref(),
            Some("contains control characters (U+0007 at character 2)")
        );
        assert_eq!(
            problem("a\u{2028}b").as_deref(),
            Some("contains control characters (U+2028 at character 2)")
        );
    }

    #[test]
    fn combining_sequences_must_be_composed() {
        // "café" with e + COMBINING ACUTE ACCENT: refused at the e.
        let p = input_problem("cafe\u{301}", 64, false).unwrap();
        assert_eq!(p.position(), Some(4));
        assert!(p.to_string().contains("NFC"), "{p}");
        assert_eq!(input_problem("caf\u{e9}", 64, false), None);
        // A combining mark with no composed form is NFC already.
        assert_eq!(input_problem("q\u{301}", 64, false), None);
        // Hangul jamo compose into a syllable.
        assert_eq!(
            input_problem("\u{1100}\u{1161}", 64, false)
                .unwrap()
                .position(),
            Some(1)
        );
    }

    #[test]
    fn plain_text_in_any_script_passes() {
        for ok in ["mac-1", "Ålesund HQ", "東京 サーバ", "админ", "a b", "👍"] {
            assert_eq!(input_problem(ok, 64, false), None, "{ok}");
        }
        assert_eq!(input_problem("", 64, true), None);
        assert_eq!(problem("").as_deref(), Some("is empty"));
        assert_eq!(
            problem(" a").as_deref(),
            Some("has leading or trailing spaces")
        );
        assert_eq!(
            input_problem("abcdef", 5, false).map(|p| p.what()),
            Some("is too long")
        );
    }

    #[test]
    fn the_ascii_shortcut_takes_only_plain_text() {
        for plain in ["a", "FKCJ-YBWJ", "mac 1", "~!"] {
            assert!(plain_ascii(plain), "{plain:?}");
        }
        for not in [" a", "a ", " ", "a\tb", "a\x7f", "é"] {
            assert!(!plain_ascii(not), "{not:?}");
            assert_eq!(input_problem(not, 64, true), every_rule(not), "{not:?}");
        }
    }

    proptest::proptest! {
        /// The ASCII shortcut never passes what the character rules
        /// refuse, on text near its edges (spaces, controls, DEL, and
        /// characters just past ASCII).
        #[test]
        fn the_ascii_shortcut_agrees_with_every_rule(
            value in "[ -~\t\n\r\x00\x1f\x7f\u{80}\u{85}\u{a0}\u{ad}\u{200b}\u{202e}é]{0,12}",
        ) {
            proptest::prop_assert_eq!(input_problem(&value, 64, true), every_rule(&value));
        }
    }

    #[test]
    fn replay_keeps_the_older_rule() {
        // Written before the stricter rule: still readable.
        for old in ["a\u{200b}", "a\u{202e}", "cafe\u{301}"] {
            assert_eq!(replay_problem(old, 64, false), None);
            assert!(input_problem(old, 64, false).is_some());
        }
        assert_eq!(
            replay_problem("a\nb", 64, false),
            Some("contains control characters")
        );
    }

    #[test]
    fn look_alikes_differ_by_case_or_confusable_characters() {
        let existing = ["admin", "mac-1", "Server", "paypal"];
        assert_eq!(look_alikes("Admin", existing), ["admin"]);
        assert_eq!(look_alikes("\u{430}dmin", existing), ["admin"]); // Cyrillic а
        assert_eq!(look_alikes("server", existing), ["Server"]);
        assert_eq!(look_alikes("paypa1", existing), ["paypal"]); // digit one
        assert!(
            look_alikes("admin", existing).is_empty(),
            "itself is not a look-alike"
        );
        assert!(look_alikes("mac-2", existing).is_empty());
    }
}
