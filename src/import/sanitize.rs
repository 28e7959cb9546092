//! Imported HTML is never trusted: article bodies go through an allow-list (ammonia,
//! html5ever's parser) that keeps ordinary formatting and drops scripts, frames, styles, event
//! handlers and any link that is not `http(s):` or `mailto:`; comments through the comment
//! allow-list ([`crate::domain::comment_text`]). WordPress's shortcodes and uploads are converted.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

static ARTICLE: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener"));
    b
});

/// The export's attachments (WordPress media), for `[gallery]`: a gallery names its images by
/// attachment id (`ids="7,9"`), or shows every image attached to its post.
#[derive(Debug, Default)]
pub struct Media {
    /// Attachment id → its file's URL.
    pub by_id: HashMap<i64, String>,
    /// Post id → the URLs of the attachments whose parent it is, in the export's order.
    pub by_parent: HashMap<i64, Vec<String>>,
}

impl Media {
    /// The images of a gallery on post `post` with the shortcode's `ids` attribute, if any; ids
    /// the export does not hold are left out.
    fn gallery(&self, post: i64, ids: Option<&str>) -> Vec<&str> {
        match ids {
            Some(ids) => ids
                .split(',')
                .filter_map(|id| self.by_id.get(&id.trim().parse::<i64>().ok()?))
                .map(String::as_str)
                .collect(),
            None => self
                .by_parent
                .get(&post)
                .map(|urls| urls.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        }
    }
}

/// An imported body and what the import changed or left out of it, for the import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanArticle {
    pub html: String,
    /// One line per thing converted or removed, naming it and why.
    pub notes: Vec<String>,
}

/// Tags the allow-list removes with their content, named in the report when a body has them.
const REMOVED_TAGS: &[(&str, &str)] = &[
    ("<script", "a script (never run from imported text)"),
    ("<style", "a style sheet"),
    ("<object", "an <object> embed"),
    ("<embed", "an <embed> element"),
    ("<form", "a form"),
];

/// A WordPress post or page body as replyguard shows it: the common shortcodes converted
/// (`[caption]` to a figure with its caption, `[embed]URL[/embed]` and an `<iframe>`'s source to
/// a link, `[gallery]` to the list of its images when the export names them), then the
/// allow-list ([`article_html`]). What could not be kept is listed in `notes`.
pub fn wordpress_article(raw: &str, post: i64, media: &Media) -> CleanArticle {
    let mut notes = Vec::new();
    let mut text = raw.to_string();
    let lower = text.to_ascii_lowercase();
    for (tag, what) in REMOVED_TAGS {
        let n = lower.matches(tag).count();
        if n > 0 {
            notes.push(format!("removed {n} × {what}"));
        }
    }
    text = replace_iframes(&text, &mut notes);
    text = replace_shortcodes(&text, post, media, &mut notes);
    CleanArticle {
        html: article_html(&text),
        notes,
    }
}

/// Every `http(s)://HOST/…/wp-content/uploads/PATH` of `html` as `BASE/PATH`, and how many.
pub fn rewrite_uploads(html: &str, base: &str) -> (String, usize) {
    const UPLOADS: &str = "/wp-content/uploads/";
    let base = base.trim_end_matches('/');
    let mut out = String::with_capacity(html.len());
    let (mut rest, mut moved) = (html, 0);
    while let Some(at) = rest.find(UPLOADS) {
        // The address starts after the quote, bracket or space before it.
        let start = rest[..at]
            .rfind(|c: char| c == '"' || c == '\'' || c == '(' || c == '=' || c.is_whitespace())
            .map_or(0, |i| i + 1);
        let url = &rest[start..at];
        if url.starts_with("http://") || url.starts_with("https://") || url.starts_with("//") {
            out.push_str(&rest[..start]);
            out.push_str(base);
            out.push('/');
            moved += 1;
        } else {
            out.push_str(&rest[..at + UPLOADS.len()]);
        }
        rest = &rest[at + UPLOADS.len()..];
    }
    out.push_str(rest);
    (out, moved)
}

/// Each `<iframe src=URL>…</iframe>` becomes a link to URL (frames are never kept).
fn replace_iframes(html: &str, notes: &mut Vec<String>) -> String {
    // Lower-cased once: ASCII lower-casing keeps every byte offset.
    let lowered = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    while let Some(found) = lowered[pos..].find("<iframe") {
        let start = pos + found;
        out.push_str(&html[pos..start]);
        let end = lowered[start..]
            .find("</iframe>")
            .map(|e| start + e + "</iframe>".len())
            .or_else(|| html[start..].find('>').map(|e| start + e + 1))
            .unwrap_or(html.len());
        let tag = &html[start..end];
        match attribute(tag, "src") {
            Some(src)
                if src.starts_with("http://")
                    || src.starts_with("https://")
                    || src.starts_with("//") =>
            {
                let url = if src.starts_with("//") {
                    format!("https:{src}")
                } else {
                    src
                };
                notes.push(format!("an embedded frame became a link to {url}"));
                out.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>"));
            }
            _ => notes.push("removed an embedded frame without an http(s) source".into()),
        }
        pos = end;
    }
    out.push_str(&html[pos..]);
    out
}

/// The value of `name="…"` (or `'…'`) in a tag or shortcode.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let at = from + at;
        let after = tag[at + name.len()..].trim_start();
        let boundary = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
        if boundary && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let inner = &value[1..];
                return inner.find(quote).map(|e| inner[..e].to_string());
            }
            let end = value
                .find(|c: char| c.is_whitespace() || c == '>' || c == ']')
                .unwrap_or(value.len());
            return Some(value[..end].to_string());
        }
        from = at + name.len();
    }
    None
}

/// WordPress's common shortcodes converted; any other `[name …]` left as text and named.
fn replace_shortcodes(html: &str, post: i64, media: &Media, notes: &mut Vec<String>) -> String {
    // Lower-cased once: ASCII lower-casing keeps every byte offset, so `lowered[i..]` is `html[i..]`.
    let lowered = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('[') {
        let offset = html.len() - rest.len() + open;
        out.push_str(&rest[..open]);
        let at = &rest[open..];
        let Some(close) = at.find(']') else {
            out.push_str(at);
            return out;
        };
        let tag = &at[1..close];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let lower = name.to_ascii_lowercase();
        let ending = format!("[/{lower}]");
        let body_end = || lowered[offset..].find(&ending);
        match lower.as_str() {
            "caption" | "wp_caption" => {
                let body_end = body_end();
                let end = body_end.unwrap_or(close + 1);
                let inner = &at[(close + 1).min(end)..end];
                // The caption is the text after the image (or the `caption` attribute).
                let (media, caption) = match inner.rfind('>') {
                    Some(i) => (&inner[..=i], inner[i + 1..].trim().to_string()),
                    None => ("", inner.trim().to_string()),
                };
                let caption = if caption.is_empty() {
                    attribute(tag, "caption").unwrap_or_default()
                } else {
                    caption
                };
                out.push_str(&format!(
                    "<figure>{media}<figcaption>{caption}</figcaption></figure>"
                ));
                rest = &at[body_end.map_or(close + 1, |e| e + ending.len())..];
            }
            "embed" => {
                let body_end = body_end();
                let end = body_end.unwrap_or(close + 1);
                let url = at[(close + 1).min(end)..end].trim().to_string();
                out.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>"));
                notes.push(format!("an [embed] became a link to {url}"));
                rest = &at[body_end.map_or(close + 1, |e| e + ending.len())..];
            }
            "gallery" => {
                let images = media.gallery(post, attribute(tag, "ids").as_deref());
                if images.is_empty() {
                    notes.push("removed a [gallery]: the export names none of its images".into());
                } else {
                    out.push_str("<ul class=\"gallery\">");
                    for url in &images {
                        out.push_str(&format!(
                            "<li><img src=\"{}\" alt=\"\"></li>",
                            html_escape::encode_double_quoted_attribute(url)
                        ));
                    }
                    out.push_str("</ul>");
                    notes.push(format!(
                        "a [gallery] became a list of its {} image(s)",
                        images.len()
                    ));
                }
                rest = &at[close + 1..];
            }
            _ if looks_like_shortcode(tag) => {
                notes.push(format!(
                    "kept the shortcode [{name}] as text: replyguard does not render it"
                ));
                out.push('[');
                rest = &at[1..];
            }
            _ => {
                out.push('[');
                rest = &at[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `[name]` or `[name attr="…"]`: a word, then nothing or attributes.
fn looks_like_shortcode(tag: &str) -> bool {
    let name_len = tag
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(tag.len());
    name_len > 0
        && tag[..name_len].chars().any(|c| c.is_ascii_alphabetic())
        && (name_len == tag.len() || tag[name_len..].starts_with(' ') && tag.contains('='))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::comment_text::comment_html;

    #[test]
    fn uploads_move_to_the_new_base() {
        let html = r#"<img src="https://old.example/wp-content/uploads/2019/04/a.jpg"> <a href='//old.example/blog/wp-content/uploads/b.pdf'>b</a> see /wp-content/uploads/c.png"#;
        let (moved, n) = rewrite_uploads(html, "https://cdn.example/media/");
        assert_eq!(n, 2);
        assert_eq!(
            moved,
            r#"<img src="https://cdn.example/media/2019/04/a.jpg"> <a href='https://cdn.example/media/b.pdf'>b</a> see /wp-content/uploads/c.png"#
        );
    }

    #[test]
    fn wordpress_shortcodes_and_frames_are_converted_and_what_is_left_out_is_named() {
        let raw = r#"Intro

[caption id="attachment_7" align="alignleft" width="300"]<img src="https://old.example/wp-content/uploads/a.jpg" alt="A"> The stadium at night[/caption]

[embed]https://www.youtube.com/watch?v=abc[/embed]

<iframe src="https://player.example/v/1" width="500"></iframe>

[gallery ids="1,2"]

[contact-form-7 id="5"] and an array like a[0] or [1, 2] stays.

<script>alert(1)</script>"#;
        let media = Media {
            by_id: HashMap::from([(2, "https://old.example/b.jpg".to_string())]),
            by_parent: HashMap::from([(5, vec!["https://old.example/c.jpg".to_string()])]),
        };
        let clean = wordpress_article(raw, 5, &media);
        let html = &clean.html;
        assert!(html.contains("<figure><img src=\"https://old.example/wp-content/uploads/a.jpg\" alt=\"A\"><figcaption>The stadium at night</figcaption></figure>"), "{html}");
        assert!(
            html.contains("<a href=\"https://www.youtube.com/watch?v=abc\""),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://player.example/v/1\""),
            "{html}"
        );
        assert!(
            html.contains("<img src=\"https://old.example/b.jpg\""),
            "{html}"
        );
        assert!(html.contains("a[0] or [1, 2] stays"), "{html}");
        assert!(
            !html.contains("[caption") && !html.contains("iframe") && !html.contains("alert"),
            "{html}"
        );
        let notes = clean.notes.join("\n");
        for expected in [
            "script",
            "link to https://player.example/v/1",
            "[embed] became a link",
            "[gallery] became a list of its 1 image",
            "[contact-form-7]",
        ] {
            assert!(notes.contains(expected), "{expected}: {notes}");
        }
        assert_eq!(
            wordpress_article("[gallery]", 6, &media).notes,
            ["removed a [gallery]: the export names none of its images"]
        );
        // Without ids, a gallery shows the images attached to its post.
        let attached = wordpress_article("[gallery columns=\"2\"]", 5, &media);
        assert!(
            attached
                .html
                .contains("<img src=\"https://old.example/c.jpg\"")
        );
    }

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
