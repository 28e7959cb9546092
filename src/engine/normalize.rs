//! Text normalization before tokenizing: HTML entities decoded, invisible characters removed,
//! cp1252 punctuation mis-decoded as C1 controls repaired, and Unicode-aware lowercasing. Writes
//! into caller-owned buffers so scoring a comment allocates nothing once the buffers are warm.

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
        for c in source.chars() {
            if c.is_ascii() {
                if c.is_ascii_alphabetic() {
                    stats.letters += 1;
                    if c.is_ascii_uppercase() {
                        stats.uppercase += 1;
                    }
                }
                out.push(c.to_ascii_lowercase());
                stats.chars += 1;
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
        stats
    }
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
    fn strips_invisible_characters() {
        assert_eq!(norm("fr\u{200B}ee mo\u{FEFF}ney\u{FEFF}").0, "free money");
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            norm("it&#39;s &quot;great&quot; &amp; &lt;b&gt;").0,
            "it's \"great\" & <b>"
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
