//! Imported HTML is never trusted: article bodies and comment text go through an allow-list
//! (ammonia, html5ever's parser) that keeps ordinary formatting and drops scripts, frames, styles,
//! event handlers and any link that is not `http(s):` or `mailto:`.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Tags a comment may keep: WordPress's own allow-list for comments.
const COMMENT_TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "b",
    "blockquote",
    "br",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "p",
    "pre",
    "q",
    "s",
    "strike",
    "strong",
];

static ARTICLE: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener"));
    b
});

static COMMENT: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.tags(COMMENT_TAGS.iter().copied().collect())
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("abbr", ["title"])
        .add_tag_attributes("acronym", ["title"])
        .add_tag_attributes("blockquote", ["cite"])
        .add_tag_attributes("q", ["cite"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("nofollow ugc noopener"));
    b
});

/// An imported post or page body. WordPress stores paragraphs as blank lines and adds `<p>` when
/// it shows the post; a body without any `<p>` gets them here the same way.
pub fn article_html(raw: &str) -> String {
    let with_paragraphs;
    let html = if raw.contains("<p") || !raw.contains("\n\n") {
        raw
    } else {
        with_paragraphs = raw
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{p}</p>"))
            .collect::<Vec<_>>()
            .join("\n");
        &with_paragraphs
    };
    ARTICLE.clean(html).to_string()
}

/// An imported comment's text: the comment tags only, links marked `nofollow ugc`.
pub fn comment_html(raw: &str) -> String {
    COMMENT.clean(raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_script_urls_do_not_survive() {
        let dirty = r#"<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script><iframe src="http://e.vil"></iframe><a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)><style>*{}</style>"#;
        for clean in [article_html(dirty), comment_html(dirty)] {
            for bad in [
                "script",
                "onclick",
                "onerror",
                "iframe",
                "javascript",
                "style",
            ] {
                assert!(!clean.contains(bad), "{bad} in {clean}");
            }
            assert!(clean.contains("<b>there</b>"), "{clean}");
        }
    }

    #[test]
    fn comment_links_are_nofollow_and_paragraphs_are_added_to_bare_posts() {
        let c = comment_html(r#"see <a href="https://x.org/" onmouseover="y">this</a>"#);
        assert_eq!(
            c,
            r#"see <a href="https://x.org/" rel="nofollow ugc noopener">this</a>"#
        );
        assert_eq!(article_html("One\n\nTwo"), "<p>One</p>\n<p>Two</p>");
        assert_eq!(comment_html("a &amp; b < c"), "a &amp; b &lt; c");
    }
}
