//! Text normalization before tokenizing: HTML entities decoded, invisible characters removed,
//! cp1252 punctuation mis-decoded as C1 controls repaired, and Unicode-aware lowercasing. Writes
//! into caller-owned buffers so scoring a comment allocates nothing once the buffers are warm.

use unicode_normalization::UnicodeNormalization;

/// Shape statistics gathered while normalizing (before lowercasing erases them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStats {
    /// Alphabetic characters seen.
    pub letters: u32,
    /// Uppercase characters among them.
    pub uppercase: u32,
    /// Characters in the normalized text.
    pub chars: u32,
}

/// Reusable normalizer; holds the scratch buffer for entity decoding.
#[derive(Debug, Default)]
pub struct Normalizer {
    decoded: String,
}

impl Normalizer {
    /// Normalizes `input` into `out` (cleared first) and returns shape statistics.
    pub fn normalize(&mut self, input: &str, out: &mut String) -> TextStats {
        out.clear();
        let source: &str = if input.contains('&') {
            self.decoded.clear();
            html_escape::decode_html_entities_to_string(input, &mut self.decoded);
            &self.decoded
        } else {
            input
        };
        let mut stats = TextStats::default();
        let bytes = source.as_bytes();
        // Both checks are vectorized; most comments are one plain run.
        let plain = source.is_ascii() && !bytes.contains(&b'<');
        let mut at = 0;
        while at < bytes.len() {
            // Plain ASCII up to the next tag or non-ASCII character is copied in one go (for most
            // comments, that is the whole text).
            let run_end = if plain {
                bytes.len()
            } else {
                bytes[at..]
                    .iter()
                    .position(|&b| b >= 0x80 || b == b'<')
                    .map_or(bytes.len(), |n| at + n)
            };
            if run_end > at {
                push_ascii_lowercase(&source[at..run_end], out, &mut stats);
                at = run_end;
                continue;
            }
            let rest = &source[at..];
            let Some(c) = rest.chars().next() else { break };
            if c == '<' {
                if let Some(tag_len) = html_tag_len(rest) {
                    // Markup is not words: replace a tag by a space, keeping a link target so
                    // `<a href="…">` still counts as a link.
                    out.push(' ');
                    if let Some(href) = href_of(&rest[..tag_len]) {
                        out.push_str(&href.to_ascii_lowercase());
                        out.push(' ');
                    }
                    at += tag_len;
                } else {
                    out.push('<');
                    stats.chars += 1;
                    at += 1;
                }
                continue;
            }
            at += c.len_utf8();
            if let Some(letter) = negative_letter(c) {
                push_char(letter, out, &mut stats);
                continue;
            }
            if is_styled_letter(c) {
                // Full-width `Ｆｒｅｅ ｃａｓｉｎｏ`, mathematical `𝐟𝐫𝐞𝐞`, circled `ⓕⓡⓔⓔ`: the
                // letters they stand for (compatibility decomposition), so spam written in them
                // reads as its words and links — as it does to the reader and to the site's rules.
                for folded in std::iter::once(c).nfkc() {
                    push_char(folded, out, &mut stats);
                }
                continue;
            }
            let c = match c {
                // Invisible characters: BOM / zero-width no-break space (all over the YouTube data),
                // zero-width space/joiners, word joiner, soft hyphen. Spammers use them to split words.
                '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{00AD}' => {
                    continue;
                }
                // cp1252 punctuation that was decoded as latin-1 (seen in the SMS corpus).
                '\u{0091}' | '\u{0092}' => '\'',
                '\u{0093}' | '\u{0094}' => '"',
                '\u{0096}' | '\u{0097}' => '-',
                '\u{2018}' | '\u{2019}' => '\'',
                '\u{201C}' | '\u{201D}' => '"',
                '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{3000}' => ' ',
                c if c.is_control() => ' ',
                c => c,
            };
            push_char(c, out, &mut stats);
        }
        stats
    }
}

/// Appends one character lowercased, counting it.
fn push_char(c: char, out: &mut String, stats: &mut TextStats) {
    if c.is_alphabetic() {
        stats.letters += 1;
        if c.is_uppercase() {
            stats.uppercase += 1;
        }
    }
    if c.is_uppercase() {
        out.extend(c.to_lowercase());
    } else {
        out.push(c);
    }
    stats.chars += 1;
}

/// The capital letter a negative circled or squared letter (`🅑`, `🅱`) shows; Unicode gives
/// these no compatibility decomposition.
fn negative_letter(c: char) -> Option<char> {
    let base = match c {
        '\u{1F150}'..='\u{1F169}' => 0x1F150,
        '\u{1F170}'..='\u{1F189}' => 0x1F170,
        _ => return None,
    };
    char::from_u32(u32::from('A') + (u32::from(c) - base))
}

/// Whether `c` is a styled form of an ASCII letter, digit or sign: the full-width forms, the
/// mathematical alphanumeric symbols, enclosed (circled) alphanumerics and squared letters.
fn is_styled_letter(c: char) -> bool {
    matches!(
        c,
        '\u{FF01}'..='\u{FF5E}'
            | '\u{1D400}'..='\u{1D7FF}'
            | '\u{2460}'..='\u{24FF}'
            | '\u{1F130}'..='\u{1F14F}'
    )
}

/// Appends an all-ASCII run lowercased, counting its letters and capitals.
fn push_ascii_lowercase(run: &str, out: &mut String, stats: &mut TextStats) {
    // Counted in 255-byte chunks with u8 lanes and no branches, which the compiler vectorizes.
    for chunk in run.as_bytes().chunks(255) {
        let (mut letters, mut uppercase) = (0u8, 0u8);
        for &b in chunk {
            letters += u8::from((b | 0x20).wrapping_sub(b'a') < 26);
            uppercase += u8::from(b.wrapping_sub(b'A') < 26);
        }
        stats.letters += u32::from(letters);
        stats.uppercase += u32::from(uppercase);
    }
    stats.chars += run.len() as u32;
    let start = out.len();
    out.push_str(run);
    out.as_mut_str()[start..].make_ascii_lowercase();
}

/// Longest tag we treat as markup; anything longer is left as text.
const MAX_TAG_LEN: usize = 512;

/// Length of an HTML tag (`<br />`, `</a>`, `<a href="…">`) at the start of `s`, if there is one.
fn html_tag_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let name_at = if bytes.get(1) == Some(&b'/') { 2 } else { 1 };
    if !bytes.get(name_at)?.is_ascii_alphabetic() {
        return None;
    }
    // Byte search: '>' is ASCII, so the index found is always a char boundary.
    let end = bytes[..bytes.len().min(MAX_TAG_LEN)]
        .iter()
        .position(|&b| b == b'>')?;
    if s[1..end].contains('<') {
        return None;
    }
    Some(end + 1)
}

/// The `href` value of an anchor tag.
fn href_of(tag: &str) -> Option<&str> {
    let lower_at = tag.to_ascii_lowercase().find("href=")?;
    let value = &tag[lower_at + 5..];
    let (quote, rest) = match value.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &value[1..]),
        _ => (None, value),
    };
    let end = rest
        .find(|c: char| Some(c) == quote || (quote.is_none() && (c.is_whitespace() || c == '>')))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> (String, TextStats) {
        let mut n = Normalizer::default();
        let mut out = String::new();
        let stats = n.normalize(s, &mut out);
        (out, stats)
    }

    #[test]
    fn styled_letters_read_as_the_letters_they_show() {
        let (text, stats) = norm("Ｆｒｅｅ ｃａｓｉｎｏ ｈｔｔｐｓ://ｗｉｎｂｉｇ.ｃｌｕｂ");
        assert_eq!(text, "free casino https://winbig.club");
        assert_eq!(stats.uppercase, 1);
        assert_eq!(norm("𝐟𝐫𝐞𝐞 ⓜⓞⓝⓔⓨ 🅱🆄🆈").0, "free money buy");
        // Other scripts and accents are left as they are.
        assert_eq!(norm("Ünïcödé ПРИВЕТ 東京").0, "ünïcödé привет 東京");
    }

    #[test]
    fn strips_invisible_characters() {
        assert_eq!(norm("fr\u{200B}ee mo\u{FEFF}ney\u{FEFF}").0, "free money");
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            norm("it&#39;s &quot;great&quot; &amp; &lt;3").0,
            "it's \"great\" & <3"
        );
    }

    #[test]
    fn lowercases_unicode_and_counts_capitals() {
        let (text, stats) = norm("ÜBER Straße CHECK");
        assert_eq!(text, "über straße check");
        assert_eq!(stats.letters, 15);
        assert_eq!(stats.uppercase, 10);
    }

    #[test]
    fn strips_tags_but_keeps_link_targets() {
        assert_eq!(norm("a<br />b").0, "a b");
        assert_eq!(
            norm("see <a href=\"HTTP://X.example/p\">here</a>!").0,
            "see  http://x.example/p here !"
        );
        assert_eq!(norm("&lt;b&gt;bold&lt;/b&gt;").0, " bold ");
        assert_eq!(norm("1 < 2 and 3 > 2").0, "1 < 2 and 3 > 2");
        assert_eq!(norm("<unclosed").0, "<unclosed");
        // a multi-byte character straddling the tag-length limit
        let long = format!("<b{}", "█".repeat(300));
        assert_eq!(norm(&long).0, long);
    }

    #[test]
    fn repairs_c1_punctuation() {
        assert_eq!(norm("I\u{0092}m \u{0093}ok\u{0094}").0, "i'm \"ok\"");
    }

    #[test]
    fn reuses_buffers_between_calls() {
        let mut n = Normalizer::default();
        let mut out = String::new();
        n.normalize("A&amp;B", &mut out);
        n.normalize("c", &mut out);
        assert_eq!(out, "c");
    }
}
