//! A comment's text: how it is written ([`TextFormat`]) and how each kind is shown.
//!
//! - HTML (imported from WordPress, Disqus, or older Isso imports) goes through the comment
//!   allow-list ([`comment_html`], ammonia) whenever it is shown.
//! - Markdown (Isso's widget, and replyguard's embed, which speaks Isso's API) is read the way
//!   Isso 0.14 reads it: CommonMark with strikethrough, sub- and superscript, line breaks kept
//!   (Isso's `hard_wrap`) and HTML typed into the text shown as typed (Isso's `escape`), then
//!   through the same allow-list plus lists ([`markdown_to_html`]). [`markdown_reading`] is that
//!   text as the filter and the site's rules read it: what a reader sees, and every link's
//!   address as rendered (an entity or a backslash in a Markdown link still makes an `http://`
//!   link, which must count as one).
//! - Plain text is escaped by whoever shows it.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// How a comment's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// Typed in a form here: shown escaped, blank lines between paragraphs, line breaks kept.
    Plain,
    /// Imported from WordPress, Disqus or Isso: HTML, sanitized again whenever it is shown.
    Html,
    /// Written in Isso's widget (posted through the Isso API): Markdown as typed, rendered and
    /// sanitized when shown, as Isso does, so the author's edit gets the text back as written.
    Markdown,
}

/// A comment's text as it is shown, as HTML: `None` for plain text (the caller escapes it).
pub fn formatted_comment(text: &str, format: TextFormat) -> Option<String> {
    match format {
        TextFormat::Plain => None,
        TextFormat::Html => Some(comment_html(&with_paragraphs(text))),
        TextFormat::Markdown => Some(markdown_to_html(text)),
    }
}

/// [`formatted_comment`] shown away from the page it belongs to (a site's thread page on this
/// server, a feed): imported HTML's relative links — to a post of the old site
/// (`/2019/04/post/`), an upload, an anchor of the page (`#comment-102`, which names the old
/// site's comment, not this server's) — are resolved against `page`, that page's address, where
/// they led. Markdown has no relative links and plain text no links.
pub fn formatted_comment_from(text: &str, format: TextFormat, page: &url::Url) -> Option<String> {
    match format {
        TextFormat::Html => {
            let mut builder = comment_builder();
            builder.url_relative(ammonia::UrlRelative::Custom(Box::new(ResolvedAgainst(
                page.clone(),
            ))));
            Some(builder.clean(&with_paragraphs(text)).to_string())
        }
        _ => formatted_comment(text, format),
    }
}

/// Relative links resolved against a page's address.
struct ResolvedAgainst(url::Url);

impl ammonia::UrlRelativeEvaluate<'static> for ResolvedAgainst {
    fn evaluate<'url>(&self, link: &'url str) -> Option<std::borrow::Cow<'url, str>> {
        let resolved = self.0.join(link).ok()?;
        // Only where an absolute link could lead.
        matches!(resolved.scheme(), "http" | "https")
            .then(|| std::borrow::Cow::Owned(resolved.into()))
    }
}

/// Imported HTML as WordPress shows it: WordPress stores a comment's paragraphs as blank lines
/// and its line breaks as newlines, adding `<p>` and `<br>` when it shows it (`wpautop`); a text
/// without block tags gets them here, so the Isso widget and the embed, which have no
/// `white-space` rule for it, show its lines too.
fn with_paragraphs(html: &str) -> std::borrow::Cow<'_, str> {
    // Paragraphs or breaks of its own: it was shaped already.
    if !html.contains('\n') || html.contains("<p") || html.contains("<br") {
        return std::borrow::Cow::Borrowed(html);
    }
    let blocks = ["<pre", "<ul", "<ol", "<blockquote", "<h"];
    let paragraphs: String = html
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            // A block stays as it is (a list, a quote; a `<pre>` keeps its lines).
            if blocks.iter().any(|tag| p.starts_with(tag)) || p.contains("<pre") {
                p.to_string()
            } else {
                format!("<p>{}</p>", p.replace('\n', "<br>"))
            }
        })
        .collect();
    std::borrow::Cow::Owned(paragraphs)
}

/// Tags a comment may keep: WordPress's own allow-list for comments, and the lists, rules, sub-
/// and superscripts and insertions Markdown, Disqus and Isso write.
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
    "hr",
    "i",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "strike",
    "strong",
    "sub",
    "sup",
    "ul",
];

/// Imported HTML: its relative links (`#comment-102`, a post of the old site) are kept.
static COMMENT: LazyLock<ammonia::Builder<'static>> = LazyLock::new(comment_builder);

/// The comment tags with only these attributes (ammonia's defaults would add `cite` on quotes,
/// an address nobody sees that the link schemes do not check, and `lang` anywhere); links
/// `http(s)`/`mailto` or relative, marked `nofollow ugc`.
fn comment_builder() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::empty();
    b.tags(COMMENT_TAGS.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "title"])),
            ("abbr", HashSet::from(["title"])),
            ("acronym", HashSet::from(["title"])),
            ("ol", HashSet::from(["start"])),
        ]))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("nofollow ugc noopener"));
    b
}

/// Markdown from readers: only absolute links (`[x](//host/)` would be a link the rules do not
/// see as one; addresses are made absolute first where a browser would, see
/// [`canonical_address`]).
static MARKDOWN: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = comment_builder();
    b.url_relative(ammonia::UrlRelative::Deny);
    b
});

/// A comment's HTML through the comment allow-list: the comment tags only, links `nofollow ugc`.
pub fn comment_html(raw: &str) -> String {
    COMMENT.clean(raw).to_string()
}

/// Rendered Markdown through the comment allow-list, absolute links only.
fn markdown_html(html: &str) -> String {
    MARKDOWN.clean(html).to_string()
}

/// A comment's text as a key that survives the trips between formats (an export to WordPress or
/// Isso and back): what a reader sees — its words, one space between them however the format
/// breaks lines or paragraphs (`<br>`, a blank line, a CR), markup gone, entities decoded — and
/// where its links lead. The tests of the exports check with it that a conversion keeps the text.
#[cfg(test)]
pub fn text_key(text: &str, format: TextFormat) -> String {
    let html;
    let shown = match format {
        TextFormat::Plain => return text.split_whitespace().collect::<Vec<_>>().join(" "),
        TextFormat::Html => text,
        TextFormat::Markdown => {
            html = markdown_to_html(text);
            &html
        }
    };
    // Sanitized HTML escapes `<` in its text, so every `<` opens a tag; a tag separates words
    // as a line break would, and a link's tag gives its address.
    let mut words = String::with_capacity(shown.len());
    let mut rest = shown;
    while let Some(open) = rest.find('<') {
        words.push_str(&rest[..open]);
        let tag_end = rest[open..]
            .find('>')
            .map_or(rest.len(), |close| open + close + 1);
        let tag = &rest[open..tag_end];
        words.push(' ');
        if let Some(href) = tag
            .split_once(" href=\"")
            .and_then(|(_, value)| value.split_once('"'))
            .map(|(href, _)| html_escape::decode_html_entities(href))
        {
            // Escaped or not (`%28` for `(`), the same address.
            let address = canonical_address(CowStr::from(href.into_owned()));
            words.push_str(&percent_encoding::percent_decode_str(&address).decode_utf8_lossy());
            words.push(' ');
        }
        rest = &rest[tag_end..];
    }
    words.push_str(rest);
    html_escape::decode_html_entities(&words)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes and lists nested deeper than this are flattened into their parent: nobody writes
/// them, and thousands of levels (`>>>>…`) cost every reader of the thread a slow render.
const MAX_NESTING: usize = 16;

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SUBSCRIPT | Options::ENABLE_SUPERSCRIPT
}

/// Whether a tag is a level of nesting (counted against [`MAX_NESTING`]; a list's items are
/// inside its level, and go with it).
fn nests(tag: &Tag<'_>) -> bool {
    matches!(tag, Tag::BlockQuote(_) | Tag::List(_))
}

/// A link's address as a browser reads it (WHATWG URL parsing, what the `url` crate does):
/// `https:host/`, `http:/host/`, `http://ho%73t/` and full-width letters all lead to
/// `https://host/`-style addresses, written so here, so that the rules count them as links and
/// find keys in their hosts. An address that is not absolute stays as it is (the allow-list
/// drops it).
fn canonical_address(address: CowStr<'_>) -> CowStr<'_> {
    match url::Url::parse(&address) {
        Ok(url) if url.as_str() != &*address => CowStr::from(url.as_str().to_string()),
        _ => address,
    }
}

/// The parser's events as Isso's renderer reads them: raw HTML as text, soft line breaks as
/// hard ones, links at their canonical addresses without titles (Isso shows none, and the filter
/// would not read them), nesting capped at [`MAX_NESTING`].
fn events(source: &str) -> impl Iterator<Item = Event<'_>> {
    // For each open tag: whether it was kept (an over-deep level is dropped with its end, its
    // items become lines).
    let mut open: Vec<bool> = Vec::new();
    let mut depth = 0usize;
    Parser::new_ext(source, options()).filter_map(move |event| match event {
        Event::Start(tag) => {
            let level = nests(&tag);
            let keep = (!level || depth < MAX_NESTING)
                && !(matches!(tag, Tag::Item) && depth > MAX_NESTING);
            depth += usize::from(level);
            open.push(keep);
            match tag {
                _ if !keep => matches!(tag, Tag::Item).then_some(Event::HardBreak),
                // A block of HTML is a paragraph of its text.
                Tag::HtmlBlock => Some(Event::Start(Tag::Paragraph)),
                Tag::Link {
                    link_type,
                    dest_url,
                    id,
                    ..
                } => Some(Event::Start(Tag::Link {
                    link_type,
                    dest_url: canonical_address(dest_url),
                    title: CowStr::Borrowed(""),
                    id,
                })),
                tag => Some(Event::Start(tag)),
            }
        }
        Event::End(end) => {
            let keep = open.pop().unwrap_or(true);
            depth -=
                usize::from(matches!(end, TagEnd::BlockQuote(_) | TagEnd::List(_)) && depth > 0);
            keep.then_some(match end {
                TagEnd::HtmlBlock => Event::End(TagEnd::Paragraph),
                end => Event::End(end),
            })
        }
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        Event::SoftBreak => Some(Event::HardBreak),
        other => Some(other),
    })
}

/// A Markdown comment as HTML, sanitized.
pub fn markdown_to_html(source: &str) -> String {
    let mut html = String::with_capacity(source.len() + source.len() / 4 + 16);
    pulldown_cmark::html::push_html(&mut html, events(source));
    markdown_html(&html)
}

/// A Markdown comment as the filter reads it: its text as shown, then each link's address
/// (unless its text is the address) — after the text, so a link inside a word (`cas[](x)ino`)
/// does not split the word — written as browsers reach it and, where that differs, as readers
/// see it (a Unicode host, decoded escapes), so keys are found in either.
pub fn markdown_reading(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut addresses: Vec<String> = Vec::new();
    // The open link's address and where its text starts in `out`.
    let mut link: Option<(CowStr<'_>, usize)> = None;
    // Inside an image: its text is its alt text, which nobody sees (images are dropped).
    let mut images = 0usize;
    for event in events(source) {
        match event {
            Event::Start(Tag::Image { .. }) => images += 1,
            Event::End(TagEnd::Image) => images = images.saturating_sub(1),
            Event::Text(_) | Event::Code(_) if images > 0 => {}
            Event::Text(text) | Event::Code(text) => out.push_str(&text),
            Event::Start(Tag::Link { dest_url, .. }) => link = Some((dest_url, out.len())),
            Event::End(TagEnd::Link) => {
                if let Some((address, start)) = link.take() {
                    // A link written as its address (an autolink) is read once.
                    let text = out.get(start..).unwrap_or_default().trim();
                    if text != &*address && *canonical_address(CowStr::Borrowed(text)) != *address {
                        addresses.push(address.to_string());
                    }
                    if let Some(seen) = address_as_seen(&address) {
                        addresses.push(seen);
                    }
                }
            }
            Event::HardBreak | Event::End(TagEnd::Item) => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::BlockQuote(_) | TagEnd::CodeBlock) => {
                out.push_str("\n\n");
            }
            _ => {}
        }
    }
    let mut out = out.trim_end().to_string();
    for address in addresses {
        out.push('\n');
        out.push_str(&address);
    }
    out
}

/// An absolute address as a reader sees it, when that differs from how it is written: the host
/// in Unicode rather than punycode, escapes in the path decoded (`b%61dword` reads `badword`).
/// Without its scheme: it is the same link again, which the rules must not count twice.
fn address_as_seen(address: &str) -> Option<String> {
    let url = url::Url::parse(address).ok()?;
    let host = url.host_str().unwrap_or_default();
    // Without `www.`, which the rules would take for another link.
    let unicode_host = idna::domain_to_unicode(host).0;
    let unicode_host = unicode_host.strip_prefix("www.").unwrap_or(&unicode_host);
    let host = host.strip_prefix("www.").unwrap_or(host);
    let rest = &url[url::Position::BeforePath..];
    let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
    (unicode_host != host || decoded != rest).then(|| format!("{unicode_host}{decoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shown away from its page, an imported comment's relative links lead where they did on it;
    /// absolute links, Markdown and plain text are as shown anywhere.
    #[test]
    fn relative_links_resolve_against_the_comments_page() {
        let page = url::Url::parse("https://blog.example/notes/ski-wax/").unwrap();
        let html = r##"See <a href="/2019/04/post/">this</a>, <a href="#comment-102">Ana</a>, <a href="../older/">that</a>, <a href="https://other.example/">there</a> and <a href="javascript:alert(1)">x</a>."##;
        let shown = formatted_comment_from(html, TextFormat::Html, &page).unwrap();
        for expected in [
            r#"href="https://blog.example/2019/04/post/""#,
            r##"href="https://blog.example/notes/ski-wax/#comment-102""##,
            r#"href="https://blog.example/notes/older/""#,
            r#"href="https://other.example/""#,
        ] {
            assert!(shown.contains(expected), "{expected}: {shown}");
        }
        assert!(!shown.contains("javascript"), "{shown}");
        assert!(shown.contains(r#"rel="nofollow ugc noopener""#), "{shown}");
        // On its own page the links stay as written.
        let here = formatted_comment(html, TextFormat::Html).unwrap();
        assert!(here.contains(r#"href="/2019/04/post/""#), "{here}");
        let markdown = "[a](https://a.example/) and [b](/b/)";
        assert_eq!(
            formatted_comment_from(markdown, TextFormat::Markdown, &page),
            formatted_comment(markdown, TextFormat::Markdown)
        );
        assert_eq!(formatted_comment_from("a", TextFormat::Plain, &page), None);
    }

    #[test]
    fn markdown_renders_as_isso_shows_it() {
        assert_eq!(
            markdown_to_html("Some *em*, **strong**, `code`, ~~gone~~, ~sub~ and ^sup^."),
            "<p>Some <em>em</em>, <strong>strong</strong>, <code>code</code>, <del>gone</del>, \
             <sub>sub</sub> and <sup>sup</sup>.</p>\n"
        );
        // Line breaks are kept (Isso's hard_wrap).
        assert_eq!(
            markdown_to_html("line one\nline two"),
            "<p>line one<br>\nline two</p>\n"
        );
        let list = markdown_to_html("- a\n- b\n\n1. c");
        assert!(
            list.contains("<ul>\n<li>a</li>") && list.contains("<ol>"),
            "{list}"
        );
    }

    #[test]
    fn typed_html_shows_as_typed() {
        for (typed, shown) in [
            (
                "Put the CSS in a <style> element, then reload the page.",
                "Put the CSS in a &lt;style&gt; element, then reload the page.",
            ),
            (
                "if a<b and c>d then swap them",
                "if a&lt;b and c&gt;d then swap them",
            ),
            (
                "Use <template> and <script>alert(1)</script> here",
                "Use &lt;template&gt; and &lt;script&gt;alert(1)&lt;/script&gt; here",
            ),
        ] {
            let html = markdown_to_html(typed);
            assert!(html.contains(shown), "{typed}: {html}");
        }
        // A block of HTML is a paragraph of its text.
        let block = markdown_to_html("<div onclick=\"x()\">\nhi\n</div>");
        assert!(block.starts_with("<p>&lt;div onclick="), "{block}");
        assert!(!block.contains("<div"), "{block}");
    }

    #[test]
    fn links_keep_only_absolute_web_addresses_and_are_read_as_rendered() {
        let html = markdown_to_html(
            "[ok](https://example.org/a) [rel](//evil.test/) [js](javascript:alert(1)) \
             [ent](http&#58;//a1.test/) [esc](http:\\/\\/f1.test/) ![img](https://x.test/i.png)",
        );
        assert!(
            html.contains(r#"<a href="https://example.org/a" rel="nofollow ugc noopener">ok</a>"#),
            "{html}"
        );
        for dropped in ["evil.test", "javascript", "<img", "x.test"] {
            assert!(!html.contains(dropped), "{dropped}: {html}");
        }
        // What became a link is read with its address, so the rules count it.
        assert!(html.contains("href=\"http://a1.test/\""), "{html}");
        let read = markdown_reading("[ent](http&#58;//a1.test/) and [esc](http:\\/\\/f1.test/)");
        assert_eq!(read, "ent and esc\nhttp://a1.test/\nhttp://f1.test/");
        // A link written as its address is read once.
        assert_eq!(markdown_reading("<https://x.test/>"), "https://x.test/");
    }

    #[test]
    fn imported_lines_and_paragraphs_show_as_wordpress_shows_them() {
        assert_eq!(
            formatted_comment("Line one\nLine <em>two</em>\n\nNew para", TextFormat::Html).unwrap(),
            "<p>Line one<br>Line <em>two</em></p><p>New para</p>"
        );
        // Text that has its paragraphs already is left as it is; blocks among paragraphs stay.
        let blocks = "<p>One</p>\n<p>Two</p>";
        assert_eq!(formatted_comment(blocks, TextFormat::Html).unwrap(), blocks);
        assert_eq!(
            formatted_comment(
                "Para one.\n\nPara two.\n\n<ul><li>a</li></ul>",
                TextFormat::Html
            )
            .unwrap(),
            "<p>Para one.</p><p>Para two.</p><ul><li>a</li></ul>"
        );
    }

    #[test]
    fn a_text_key_is_the_same_in_every_format() {
        let plain = "5*3*2 = 30, a < b & c\r\n\r\nsecond paragraph";
        let key = text_key(plain, TextFormat::Plain);
        assert_eq!(
            text_key(
                "<p>5*3*2 = 30, a &lt; b &amp; c</p>\n<p>second paragraph</p>",
                TextFormat::Html
            ),
            key
        );
        assert_eq!(
            text_key(
                "5\\*3\\*2 = 30, a \\< b & c\n\nsecond paragraph",
                TextFormat::Markdown
            ),
            key
        );
        assert_ne!(text_key("another text", TextFormat::Plain), key);
        // Words and link targets tell comments apart.
        assert_ne!(
            text_key("a b", TextFormat::Plain),
            text_key("ab", TextFormat::Plain)
        );
        assert_ne!(
            text_key(r#"<a href="https://a.example/">see</a>"#, TextFormat::Html),
            text_key(r#"<a href="https://b.example/">see</a>"#, TextFormat::Html)
        );
        assert_eq!(
            text_key("[see](https://A.example)", TextFormat::Markdown),
            text_key(
                r#"<p><a href="https://a.example/" rel="nofollow">see</a></p>"#,
                TextFormat::Html
            )
        );
    }

    #[test]
    fn addresses_are_read_as_browsers_read_them() {
        // No slashes, one slash, a percent-encoded or full-width host: the same http link.
        for (typed, read) in [
            ("[x](https:a.example/)", "x\nhttps://a.example/"),
            ("[x](http:/b.example/)", "x\nhttp://b.example/"),
            ("[x](http://ca%73ino.example/)", "x\nhttp://casino.example/"),
            (
                "[x](http://ｃａｓｉｎｏ.example/)",
                "x\nhttp://casino.example/",
            ),
        ] {
            assert_eq!(markdown_reading(typed), read, "{typed}");
            let html = markdown_to_html(typed);
            let address = read.split('\n').nth(1).unwrap_or_default();
            assert!(html.contains(address), "{html}");
        }
        // A link inside a word leaves the word whole; an address is also read as seen.
        assert_eq!(
            markdown_reading("cas[](http://x.example/)ino"),
            "casino\nhttp://x.example/"
        );
        assert_eq!(
            markdown_reading("[x](http://例え.jp/b%61dword)"),
            "x\nhttp://xn--r8jz45g.jp/b%61dword\n例え.jp/badword"
        );
        // Read as seen even when the link's text is its address; and one link counts once.
        assert_eq!(
            markdown_reading("<http://xn--bcher-kva.example/>"),
            "http://xn--bcher-kva.example/\nbücher.example/"
        );
        for one in [
            "[東京](https://ja.wikipedia.org/wiki/東京)",
            "<https://www.müller.de/>",
            "[notes](https://example.org/%7Euser/)",
        ] {
            let read = markdown_reading(one);
            assert_eq!(crate::domain::site_rules::link_count(&read), 1, "{read}");
        }
        // A title is neither shown nor read; an image's alt text is not read (it is not shown).
        let titled = markdown_to_html("[x](http://a.example/ \"cheap pills\")");
        assert!(!titled.contains("cheap"), "{titled}");
        assert_eq!(
            markdown_reading("see ![buy pills](http://a.example/i.png) ok"),
            "see  ok"
        );
    }

    #[test]
    fn deep_nesting_is_flattened() {
        let deep = ">".repeat(10_000) + " deep";
        let html = markdown_to_html(&deep);
        assert_eq!(html.matches("<blockquote>").count(), MAX_NESTING, "{html}");
        assert!(html.contains("deep"));
        // Lists nest as deep as quotes; items past the cap are lines of their own.
        let mut list = String::new();
        for level in 0..20 {
            list += &format!("{}- item{level}\n", "  ".repeat(level));
        }
        let html = markdown_to_html(&list);
        assert_eq!(html.matches("<ul>").count(), MAX_NESTING, "{html}");
        assert!(!html.contains("item17item18"), "{html}");
        assert!(html.contains("item19"), "{html}");
    }
}
