//! A submitted comment parsed into a [`CommentDraft`]: trimmed, within limits, free of control
//! characters, with a web address that can only lead to a web page. A draft that exists is valid;
//! nothing downstream checks again.

use std::collections::BTreeMap;

/// Per-field problems, keyed by the Akismet field name, in words a reader can act on.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// Longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_URL_CHARS: usize = 500;

/// The fields of a comment as they arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawComment {
    pub content: String,
    pub author: String,
    pub email: String,
    pub url: String,
}

/// How much a comment must carry. A reader writing in the form or the API gives a name and an
/// e-mail address; a comment relayed by another blog's software (Akismet `comment-check`) is
/// taken with whatever that software collected. A comment from a site's archive (an import) was
/// accepted long ago under the old site's limits, and a relayed one has just been accepted under
/// the relaying blog's: WordPress's (65,525 characters of text), not ours — refused, it could not
/// be kept, and the blog's later correction of it would change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Reader,
    /// A reader of an embedding site (Isso's widget, the embed script): the text is required,
    /// a name and an e-mail address only where the site asks for them (checked by its API).
    Embedded,
    Relayed,
    Archived,
}

impl Strictness {
    fn max_comment_chars(self) -> usize {
        match self {
            Strictness::Archived | Strictness::Relayed => MAX_ARCHIVED_COMMENT_CHARS,
            _ => MAX_COMMENT_CHARS,
        }
    }

    fn max_name_chars(self) -> usize {
        match self {
            Strictness::Archived => 255,
            _ => MAX_NAME_CHARS,
        }
    }
}

/// WordPress's own limit on a comment's text.
/// Longest text an archived or relayed comment may have: WordPress's longest comment.
pub const MAX_ARCHIVED_COMMENT_CHARS: usize = 65_525;

/// A valid comment: text, author and e-mail trimmed, the website normalized to `http(s)://`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentDraft {
    content: String,
    author: String,
    email: String,
    url: Option<String>,
}

impl CommentDraft {
    /// Parses raw fields, or says what is wrong with each bad one.
    pub fn parse(raw: &RawComment, strictness: Strictness) -> Result<CommentDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        // Bidi embedding, override and isolate controls reorder how the text around them is
        // shown (a name that displays as someone else's, a link whose text reads backwards); no
        // reader needs them in a comment. An archived comment keeps what the old site stored.
        let archived = strictness == Strictness::Archived;
        let content = without_bidi_controls(&raw.content, archived);
        let author = without_bidi_controls(&raw.author, archived);
        let content = without_blank_edges(&content);
        let author = author.trim();
        let email = raw.email.trim();
        let url = raw.url.trim();
        let required = strictness == Strictness::Reader;
        // What a reader types here has no noncharacters (never text; U+FFFE/U+FFFF would break
        // a feed). An archived or relayed comment keeps its text: feeds and exports drop them.
        let typed = matches!(strictness, Strictness::Reader | Strictness::Embedded);
        let unclean = |text: &str| {
            has_control_chars(text)
                || (typed && text.chars().any(super::unshowable::is_noncharacter))
        };
        if content.is_empty() {
            if required || strictness == Strictness::Embedded {
                errors.insert("comment_content", "Please type your comment.".into());
            }
        } else if !archived && only_invisible(content) {
            errors.insert(
                "comment_content",
                "Your comment contains only invisible characters; please type your comment.".into(),
            );
        } else if unclean(content) {
            errors.insert(
                "comment_content",
                "Your comment contains invisible control characters (such as NUL); please remove them."
                    .into(),
            );
        } else if content.chars().count() > strictness.max_comment_chars() {
            errors.insert(
                "comment_content",
                format!(
                    "Your comment is too long: at most {} characters.",
                    strictness.max_comment_chars()
                ),
            );
        }
        if author.is_empty() {
            if required {
                errors.insert("comment_author", "Please enter your name.".into());
            }
        } else if !archived && only_invisible(author) {
            errors.insert(
                "comment_author",
                "Your name contains only invisible characters; please enter your name.".into(),
            );
        } else if unclean(author)
            || author.contains(|c| c == '\t' || super::unshowable::is_line_break(c))
        {
            errors.insert(
                "comment_author",
                "Your name contains control characters or line breaks; please remove them.".into(),
            );
        } else if author.chars().count() > strictness.max_name_chars() {
            errors.insert(
                "comment_author",
                format!(
                    "Your name is too long: at most {} characters.",
                    strictness.max_name_chars()
                ),
            );
        }
        if email.is_empty() {
            if required {
                errors.insert(
                    "comment_author_email",
                    "Please enter your email address.".into(),
                );
            }
        } else if !looks_like_email(email)
            || email.len() > MAX_EMAIL_CHARS
            || unclean(email)
            || (typed && email.chars().any(super::unshowable::is_bidi_control))
        {
            errors.insert(
                "comment_author_email",
                "Please enter a valid email address.".into(),
            );
        }
        let mut normalized_url = None;
        // A reader's address with a bidi override shows as another one (`a\u{202E}moc.b`).
        if typed && url.chars().any(super::unshowable::is_bidi_control) {
            errors.insert(
                "comment_author_url",
                "The web address contains invisible formatting characters; please remove them."
                    .into(),
            );
        } else if !url.is_empty() && unclean(url) {
            errors.insert(
                "comment_author_url",
                "The web address contains invisible control characters; please remove them.".into(),
            );
        } else if !url.is_empty() {
            match normalize_url(url) {
                Ok(u) if u.len() <= MAX_URL_CHARS => normalized_url = Some(u),
                Ok(_) => {
                    errors.insert(
                        "comment_author_url",
                        format!("The web address is too long: at most {MAX_URL_CHARS} characters."),
                    );
                }
                Err(why) => {
                    errors.insert("comment_author_url", why.into());
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CommentDraft {
            content: content.to_string(),
            author: author.to_string(),
            // One spelling per address: the rules that know a reader by it (a returning author,
            // an address a moderator marked spam) compare it as it is stored, and `Ana@X.org`
            // is `ana@x.org` to every mail system readers use (as to WordPress, whose MySQL
            // compares it without case).
            email: email.to_lowercase(),
            url: normalized_url,
        })
    }

    pub fn content(&self) -> &str {
        &self.content
    }

    pub fn author(&self) -> &str {
        &self.author
    }

    /// The e-mail address; empty only for relayed comments that came without one.
    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// `text` without bidi embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069), unless `keep`.
fn without_bidi_controls(text: &str, keep: bool) -> std::borrow::Cow<'_, str> {
    let bidi = super::unshowable::is_bidi_control;
    if keep || !text.contains(bidi) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().filter(|&c| !bidi(c)).collect())
    }
}

/// `text` without the blank lines and white space around it, but with its first line's
/// indentation: in Markdown (the Isso API's comments) four spaces start a code block.
fn without_blank_edges(text: &str) -> &str {
    let text = text.trim_end();
    let first_visible = text
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(text.len());
    // From the start of the line the first visible character is on.
    let line_start = text[..first_visible].rfind('\n').map_or(0, |n| n + 1);
    &text[line_start..]
}

/// Whether `text` shows nothing: only zero-width characters and white space.
fn only_invisible(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_zero_width(c))
}

/// Unicode's default-ignorable code points (DerivedCoreProperties), as inclusive ranges: zero-
/// width spaces and joiners, soft hyphen, directional marks, variation selectors, Hangul fillers,
/// tags, invisible operators, BOM… — what fonts draw as nothing.
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// A character that shows nothing inside a word ([`DEFAULT_IGNORABLE`]).
pub fn is_zero_width(c: char) -> bool {
    DEFAULT_IGNORABLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// Control characters other than line breaks and tabs (NUL, escape, C1 codes): never part of a
/// comment someone typed, and NUL in particular breaks tools downstream of the database.
fn has_control_chars(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether `email` is a plain mailbox mail can be sent to as it is written: a local part of
/// letters, digits and `!#$%&'*+/=?^_`{|}~.-` (no quotes, no comments, no second address), and
/// a domain of at least two labels of letters (any script), digits and inner hyphens. Addresses
/// the comment form accepts beyond this are kept with the comment but get no mail.
pub fn is_plain_mailbox(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

/// Whether a reader's form would take `email` as typed: an address's shape, at most 254
/// characters, no control, noncharacter or bidi-control characters (the draft's own check).
pub fn typed_email_ok(email: &str) -> bool {
    looks_like_email(email)
        && email.len() <= MAX_EMAIL_CHARS
        && !has_control_chars(email)
        && !email
            .chars()
            .any(|c| super::unshowable::is_noncharacter(c) || super::unshowable::is_bidi_control(c))
}

/// Whether `email` has the shape of an address (`local@domain.tld`, no spaces or brackets).
fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// Accepts `http(s)://…` or a bare host (made `http://`); refuses any other scheme, such as
/// `javascript:`, so the link on the page can only go to a web page.
/// The Website field as stored (`http://` added to a bare host), or what is wrong with it, in
/// words for the form.
fn normalize_url(url: &str) -> Result<String, &'static str> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return Err("A web address cannot contain spaces, quotes or angle brackets (< >).");
    }
    let lower = url.to_ascii_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        url.to_string()
    } else {
        // Any other scheme (`javascript:`, `data:`, `ftp://`…) is refused; a bare host gets http://.
        let other_scheme = url.contains("://")
            || lower.contains("script:")
            || (url.contains(':') && !url.contains('.'));
        if other_scheme {
            return Err("Please enter a web address starting with http:// or https://.");
        }
        format!("http://{url}")
    };
    let host = with_scheme
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .unwrap_or_default();
    if host.is_empty() {
        return Err("The web address has no host name (like example.com).");
    }
    Ok(with_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(raw: &RawComment) -> Result<CommentDraft, FieldErrors> {
        CommentDraft::parse(raw, Strictness::Reader)
    }

    #[test]
    fn blank_lines_around_a_comment_go_its_first_lines_indentation_stays() {
        assert_eq!(
            without_blank_edges("\n \n    code\n    more\n\n "),
            "    code\n    more"
        );
        assert_eq!(without_blank_edges("  text  "), "  text");
        assert_eq!(without_blank_edges(" \n\t\n"), "");
    }

    fn sub(content: &str, author: &str, email: &str, url: &str) -> RawComment {
        RawComment {
            content: content.into(),
            author: author.into(),
            email: email.into(),
            url: url.into(),
        }
    }

    /// A reader's website or address with a bidi override (which shows as another) or a
    /// noncharacter is refused.
    #[test]
    fn addresses_with_formatting_characters_are_refused() {
        let raw = sub(
            "A fine post.",
            "Ana",
            "ana\u{202E}@example.org",
            "https://a\u{202E}b.example/",
        );
        let errors = validate(&raw).expect_err("formatting characters");
        assert!(errors.contains_key("comment_author_email"), "{errors:?}");
        assert!(errors.contains_key("comment_author_url"), "{errors:?}");
        let raw = sub(
            "A fine post.",
            "Ana",
            "ana@example.org",
            "https://a\u{FFFF}b.example/",
        );
        assert!(
            validate(&raw)
                .expect_err("a noncharacter")
                .contains_key("comment_author_url")
        );
    }

    /// Noncharacters are refused where a reader types (they would break feeds), kept in an
    /// imported or relayed comment (feeds and exports drop them; the comment is not lost).
    #[test]
    fn noncharacters_are_refused_from_readers_only() {
        let raw = sub(
            "Interesting \u{FFFE} deal",
            "Nora\u{FDD0}",
            "n@example.org",
            "",
        );
        let errors = validate(&raw).expect_err("a reader's noncharacters");
        assert!(errors.contains_key("comment_content") && errors.contains_key("comment_author"));
        for kept in [Strictness::Archived, Strictness::Relayed] {
            assert!(CommentDraft::parse(&raw, kept).is_ok(), "{kept:?}");
        }
    }

    #[test]
    fn bidi_controls_are_dropped_and_invisible_only_fields_refused() {
        let draft = validate(&sub(
            "look \u{202E}moc.elpmaxe\u{202C} here",
            "Ann\u{2066}e\u{2069}",
            "ann@example.org",
            "",
        ))
        .expect("valid once the controls are gone");
        assert_eq!(draft.content(), "look moc.elpmaxe here");
        assert_eq!(draft.author(), "Anne");
        let errors = validate(&sub(
            "\u{200B}\u{200D} \u{FEFF}",
            "\u{200B}",
            "ann@example.org",
            "",
        ))
        .expect_err("nothing visible");
        assert!(
            errors
                .get("comment_content")
                .is_some_and(|m| m.contains("invisible"))
        );
        assert!(
            errors
                .get("comment_author")
                .is_some_and(|m| m.contains("invisible"))
        );
        // A joiner inside an emoji sequence is part of what shows.
        assert!(validate(&sub("👩\u{200D}💻 nice", "Ann", "ann@example.org", "")).is_ok());
    }

    #[test]
    fn control_characters_are_refused_line_breaks_kept() {
        let errors = validate(&sub("nul\0here", "Ana\u{1b}", "a@b.org", "")).unwrap_err();
        assert!(errors["comment_content"].contains("NUL"));
        assert!(errors.contains_key("comment_author"));
        let errors = validate(&sub("ok", "Ana\nBen", "a@b.org", "")).unwrap_err();
        assert!(errors.contains_key("comment_author"));
        assert!(validate(&sub("line one\r\n\tline two", "Ana", "a@b.org", "")).is_ok());
        assert!(validate(&sub("C1 \u{85} code", "Ana", "a@b.org", "")).is_err());
    }

    #[test]
    fn validation_names_each_bad_field() {
        let errors = validate(&sub("  ", "", "nope", "javascript:alert(1)")).unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            [
                "comment_author",
                "comment_author_email",
                "comment_author_url",
                "comment_content"
            ]
        );
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert!(
            validate(&sub(&long, "a", "a@b.co", ""))
                .unwrap_err()
                .contains_key("comment_content")
        );
    }

    #[test]
    fn urls_are_normalized_or_refused() {
        let ok = validate(&sub("hi", "Ana", "ana@example.org", "example.org/blog")).unwrap();
        assert_eq!(ok.url(), Some("http://example.org/blog"));
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "http://",
            "ftp://x.org",
            "http://a b",
        ] {
            assert!(
                validate(&sub("hi", "Ana", "ana@example.org", bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn archived_and_relayed_comments_keep_the_old_sites_limits() {
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        let too_long = "x".repeat(MAX_ARCHIVED_COMMENT_CHARS + 1);
        for kept in [Strictness::Archived, Strictness::Relayed] {
            assert!(CommentDraft::parse(&sub(&long, "", "", ""), kept).is_ok());
            assert!(CommentDraft::parse(&sub(&too_long, "", "", ""), kept).is_err());
        }
        assert!(CommentDraft::parse(&sub(&long, "", "", ""), Strictness::Embedded).is_err());
    }

    #[test]
    fn only_plain_mailboxes_get_mail() {
        for good in [
            "ana@example.org",
            "a.b+tag@mail.example.co",
            "idn@bücher.example",
        ] {
            assert!(is_plain_mailbox(good), "{good}");
        }
        for bad in [
            "\"new\"@example.org",
            "new@example.org,evil@example.com",
            "n\\ew@example.org",
            "a..b@example.org",
            "a@localhost",
            "a@-x.example",
            "a@example..org",
            "no-at-sign",
        ] {
            assert!(!is_plain_mailbox(bad), "{bad}");
        }
    }

    #[test]
    fn relayed_comments_need_no_name_or_email_but_keep_the_checks() {
        let relayed = |raw: &RawComment| CommentDraft::parse(raw, Strictness::Relayed);
        assert!(relayed(&sub("", "", "", "")).is_ok());
        assert!(relayed(&sub("nul\0", "", "", "")).is_err());
        assert!(relayed(&sub("hi", "", "not-an-email", "")).is_err());
        assert!(relayed(&sub("hi", "", "", "javascript:x")).is_err());
    }

    #[test]
    fn a_wrong_web_address_is_told_what_is_wrong() {
        let why = |url: &str| {
            validate(&sub("Nice post", "Ana", "ana@example.org", url))
                .err()
                .and_then(|e| e.get("comment_author_url").cloned())
                .unwrap_or_default()
        };
        assert!(why("https://eve.example/<b>").contains("angle brackets"));
        assert!(why("https://x/a b").contains("spaces"));
        assert!(why("javascript:alert(1)").contains("http:// or https://"));
        assert!(why("https://").contains("host name"));
        assert_eq!(why("eve.example"), "");
    }
}
