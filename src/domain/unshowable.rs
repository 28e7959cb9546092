//! Characters that have no place in what a comment shows: the ones XML 1.0 forbids (a feed or an
//! export with one does not parse), and the bidi controls that reorder the text around them (a
//! name that displays as someone else's, a title that reads backwards).

use std::borrow::Cow;

/// Whether XML 1.0 allows `c` in a document: tab, line breaks and everything from U+0020 but the
/// surrogates (which a Rust string cannot hold) and U+FFFE, U+FFFF.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A Unicode noncharacter (U+FDD0–U+FDEF, and the last two code points of every plane): never
/// text, refused in what readers type.
pub fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32) & 0xFFFE == 0xFFFE
}

/// A bidi embedding, override or isolate control (U+202A–U+202E, U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character some display breaks a line at: line feed, carriage return, vertical tab, form
/// feed, next line, and Unicode's line and paragraph separators. A one-line field (a name, a
/// page's path) has none; text quoted line by line breaks at each.
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `text` without the characters XML 1.0 does not allow: every feed and export writes through
/// it, so whatever was stored (or imported) still makes a document that parses.
pub fn xml_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_forbids_are_dropped_and_the_rest_kept() {
        assert_eq!(
            xml_chars("a\u{0}b\u{1f}c\td\u{FFFE}e\u{FFFF}\u{1F600}\n"),
            "abc\tde\u{1F600}\n"
        );
        assert!(matches!(xml_chars("plain café"), Cow::Borrowed(_)));
        for c in [
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{1FFFF}',
            '\u{10FFFE}',
            '\u{FDD0}',
            '\u{FDEF}',
        ] {
            assert!(is_noncharacter(c), "{c:?}");
        }
        for c in ['a', '\u{FFFD}', '\u{FDCF}', '\u{FDF0}', '\u{1F600}'] {
            assert!(!is_noncharacter(c), "{c:?}");
        }
        assert!(is_bidi_control('\u{202E}') && !is_bidi_control('\u{200E}'));
    }
}
