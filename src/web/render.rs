//! HTML pages (maud: every interpolated value is escaped unless wrapped in `PreEscaped`, which is
//! used only for the operator's own article HTML). Styles and the one script are static files
//! (`assets.rs`), so the Content-Security-Policy can forbid every inline script and style.

use super::identity::Identity;
use crate::articles::Article;
use crate::domain::Anchor;
use crate::storage::StoredComment;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::collections::{HashMap, HashSet};

/// What the reply form shows: the user's values, errors, a message, and the comment being replied to.
#[derive(Debug, Default, Clone)]
pub struct FormState {
    pub content: String,
    pub author: String,
    pub email: String,
    pub url: String,
    pub parent: Option<i64>,
    pub errors: super::error::FieldErrors,
    pub notice: Option<String>,
    /// The server can send e-mail, so the form offers "notify me of replies" (unticked).
    pub offer_reply_notices: bool,
    /// A reader may leave their name out (an embedding site that does not require it).
    pub author_optional: bool,
    /// A reader may leave their e-mail address out.
    pub email_optional: bool,
}

/// A whole HTML document: the doctype, `<html lang="en">`, a `<head>` with the charset and
/// viewport every page declares followed by `head`, and a `<body>` holding `body`. The public
/// pages and the admin pages are both built on it.
pub(super) fn document(head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                (head)
            }
            body { (body) }
        }
    }
}

/// Where a page's header and feed link lead: this server's own pages, or (for a thread of a
/// site that embeds the comments) that site's home and no feed of this server's.
#[derive(Debug, Clone, Copy)]
pub struct Home<'a> {
    pub href: Option<&'a str>,
    pub feed: Option<&'a str>,
}

impl Home<'static> {
    /// The default site's pages, served here.
    pub const OWN: Home<'static> = Home {
        href: Some("/"),
        feed: Some("/feed"),
    };
}

fn layout(title: &str, site: &Identity, body: Markup) -> Markup {
    layout_at(title, site, Home::OWN, body)
}

fn layout_at(title: &str, site: &Identity, home: Home<'_>, body: Markup) -> Markup {
    document(
        html! {
            title { (title) " · " (site.title) }
            @if !site.tagline.is_empty() { meta name="description" content=(site.tagline); }
            link rel="stylesheet" href=(super::assets::SITE_CSS_PATH);
            @if let Some(feed) = home.feed {
                link rel="alternate" type="application/atom+xml" title="Recent comments" href=(feed);
            }
            @if !site.accent.is_empty() { link rel="stylesheet" href={ "/static/theme.css?v=" (site.revision()) }; }
            script src=(super::assets::COMMENTS_JS_PATH) defer {}
        },
        html! {
            header.site {
                @let logo = html! { @if !site.logo.is_empty() { img.logo src=(site.logo) alt=""; " " } };
                @if let Some(href) = home.href {
                    a.site-title href=(href) { (logo) (site.title) }
                } @else {
                    span.site-title { (logo) (site.title) }
                }
                @if !site.tagline.is_empty() { " " span.tagline { (site.tagline) } }
                @if !site.nav.is_empty() {
                    nav.site-nav aria-label="Site" {
                        @for (label, href) in &site.nav { a href=(href) { (label) } " " }
                    }
                }
            }
            main { (body) }
            footer { "Comments are filtered by replyguard." }
        },
    )
}

/// The list of articles (when there are several).
pub fn article_list(articles: &[Article], counts: &[u64], site: &Identity) -> Markup {
    layout(
        "Articles",
        site,
        html! {
            h1 { "Articles" }
            ul {
                @for (a, n) in articles.iter().zip(counts) {
                    li { a href={ "/articles/" (a.slug) } { (a.title) } " " span.meta { (a.date) " · " (n) " comments" } }
                }
            }
        },
    )
}

/// Which page of an article's comments is shown.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// 1-based.
    pub page: u64,
    pub pages: u64,
    /// Published comments on all pages.
    pub total: u64,
    /// Ids of the first and last comment shown: the cursors of the older / newer links.
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
}

/// The article page with one page of its threaded comments and the reply form.
pub fn article_page(
    article: &Article,
    comments: &[StoredComment],
    pending: Option<&StoredComment>,
    form: &FormState,
    site: &Identity,
    paging: Paging,
    old_links: bool,
) -> Markup {
    let threaded = replies_by_parent(comments, pending, old_links);
    let count = paging.total;
    layout(
        &article.title,
        site,
        html! {
            article {
                h1 { (article.title) }
                p.byline { (article.date) @if !article.author.is_empty() { " · by " (article.author) } }
                (PreEscaped(&article.html))
            }
            section.comments id="comments" {
                h2 { (count) @if count == 1 { " Comment" } @else { " Comments" } }
                p.feed { a href={ "/articles/" (article.slug) "/feed" } type="application/atom+xml" { "Follow these comments (Atom feed)" } }
                (page_links(&article.slug, paging))
                (thread(&threaded, None, pending.map(|p| p.id), article.comments_open.then(|| format!("/articles/{}?cpage={}", article.slug, paging.page)).as_deref(), 0))
                (page_links(&article.slug, paging))
            }
            @if article.comments_open {
                (reply_form(&format!("/articles/{}", article.slug), &format!("/articles/{}/comments", article.slug), form))
            } @else {
                section id="respond" { p.closed { (super::submit::COMMENTS_CLOSED) } }
            }
        },
    )
}

/// A page's comments arranged for [`thread`]: each comment's replies, and the anchors each
/// carries.
struct Threaded<'a> {
    children: HashMap<Option<i64>, Vec<&'a StoredComment>>,
    anchors: Anchors,
    /// The address of the page the comments belong to, when they are shown elsewhere (a site's
    /// thread page here): imported comments' relative links resolve against it.
    links_from: Option<url::Url>,
}

/// The `id`s a page gives its comments: `comment-N` of their own id and, for an imported one,
/// also the anchor old links name ([`crate::domain::old_anchor`]), so that a link to the old
/// site's `#comment-7` (followed through its 301) lands on that comment. One `id` per element
/// only: when an old anchor and a comment's own clash, a reader who came by an old link
/// (`old_links`, `?anchors=old`, which the 301 adds) gets the old one, anyone else the page's own.
#[derive(Default)]
struct Anchors {
    /// Comments whose own `comment-N` is left out.
    own_dropped: HashSet<i64>,
    /// Each imported comment's old anchor, where it is given.
    old: HashMap<i64, Anchor>,
}

impl Anchors {
    fn of(comments: &[&StoredComment], old_links: bool) -> Anchors {
        let old: HashMap<i64, Anchor> = comments
            .iter()
            .filter_map(|c| Some((c.id, crate::domain::old_anchor(c.remote_id.as_deref()?)?)))
            .collect();
        if old.is_empty() {
            // A page with nothing imported: every comment keeps its own, nothing to compare.
            return Anchors::default();
        }
        // Old anchors that read `comment-N` for the id N of a comment on this page.
        let ids: HashSet<i64> = comments.iter().map(|c| c.id).collect();
        let clash = |anchor: &Anchor| anchor.own_id().filter(|n| ids.contains(n));
        if old_links {
            let own_dropped = old.values().filter_map(clash).collect();
            Anchors { own_dropped, old }
        } else {
            let old = old
                .into_iter()
                .filter(|(_, a)| clash(a).is_none())
                .collect();
            Anchors {
                own_dropped: HashSet::new(),
                old,
            }
        }
    }

    /// The comment's own anchor, if it keeps it.
    fn own(&self, c: &StoredComment) -> Option<OwnAnchor> {
        (!self.own_dropped.contains(&c.id)).then_some(OwnAnchor(c.id))
    }

    /// Its old anchor, if it is given.
    fn old(&self, c: &StoredComment) -> Option<Anchor> {
        self.old.get(&c.id).copied()
    }
}

/// A comment's own anchor, `comment-N`, written straight into the page.
#[derive(Debug, PartialEq, Eq)]
struct OwnAnchor(i64);

impl maud::Render for OwnAnchor {
    fn render_to(&self, buffer: &mut String) {
        use std::fmt::Write;
        let _ = write!(buffer, "comment-{}", self.0);
    }
}

/// The comments shown (and the reader's own pending one) by the comment they answer, with their
/// anchors. A reply whose parent is not shown is listed at the top level rather than lost.
fn replies_by_parent<'a>(
    comments: &'a [StoredComment],
    pending: Option<&'a StoredComment>,
    old_links: bool,
) -> Threaded<'a> {
    let mut children: HashMap<Option<i64>, Vec<&StoredComment>> = HashMap::new();
    let known: HashSet<i64> = comments
        .iter()
        .map(|c| c.id)
        .chain(pending.map(|p| p.id))
        .collect();
    for c in comments.iter().chain(pending) {
        let parent = c.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(c);
    }
    let all: Vec<&StoredComment> = comments.iter().chain(pending).collect();
    Threaded {
        children,
        anchors: Anchors::of(&all, old_links),
        links_from: None,
    }
}

/// The page of a thread of an embedding site, for readers without JavaScript (the embed's
/// `<noscript>` link): its published comments, threaded, and the reply form. `page` is the
/// thread's own address here (with its `?uri=`), `origin_page` the site's page it belongs to;
/// the header is the site's identity, leading home as `Home` says.
pub fn thread_page(
    title: &str,
    origin_page: Option<&str>,
    page: &str,
    comments: &[StoredComment],
    pending: Option<&StoredComment>,
    form: Option<&FormState>,
    (site, home): (&Identity, Home<'_>),
) -> Markup {
    let mut threaded = replies_by_parent(comments, pending, false);
    threaded.links_from = origin_page.and_then(|page| url::Url::parse(page).ok());
    let count = comments.len();
    layout_at(
        title,
        site,
        home,
        html! {
            article {
                h1 { "Comments on “" (title) "”" }
                @if let Some(link) = origin_page {
                    p.byline { a href=(link) { "Back to the page" } }
                }
            }
            section.comments id="comments" {
                h2 { (count) @if count == 1 { " Comment" } @else { " Comments" } }
                (thread(&threaded, None, pending.map(|p| p.id), form.is_some().then_some(page), 0))
            }
            @if let Some(form) = form {
                (reply_form(page, page, form))
            } @else {
                section id="respond" { p.closed { (super::submit::THREAD_CLOSED) } }
            }
        },
    )
}

/// "Older / Newer comments" links, when the comments span several pages.
fn page_links(slug: &str, paging: Paging) -> Markup {
    html! {
        @if paging.pages > 1 {
            nav.comment-pages aria-label="Comment pages" {
                @if paging.page > 1 {
                    a rel="prev" href={ "/articles/" (slug) "?cpage=" (paging.page - 1) @if let Some(id) = paging.first_id { "&before=" (id) } "#comments" } { "← Older comments" }
                    " "
                }
                span.meta { "Page " (paging.page) " of " (paging.pages) }
                @if paging.page < paging.pages {
                    " "
                    a rel="next" href={ "/articles/" (slug) "?cpage=" (paging.page + 1) @if let Some(id) = paging.last_id { "&after=" (id) } "#comments" } { "Newer comments →" }
                }
            }
        }
    }
}

/// Comments answering `parent`, nested; `reply_base` is the page's address with a query, to
/// which `&replytocom=ID#respond` is added for each Reply link (none when the page's comments
/// are closed: a reply would be refused).
fn thread(
    threaded: &Threaded<'_>,
    parent: Option<i64>,
    pending: Option<i64>,
    reply_base: Option<&str>,
    depth: usize,
) -> Markup {
    let Some(list) = threaded.children.get(&parent) else {
        return html! {};
    };
    html! {
        ol {
            @for c in list {
                li.comment id=[threaded.anchors.own(c)] {
                    @if let Some(old) = threaded.anchors.old(c) {
                        span.old-anchor id=(old.to_string()) {}
                    }
                    div.meta {
                        @if let Some(url) = &c.author_url {
                            a.who href=(url) rel="nofollow ugc noopener" { (display_name(c)) }
                        } @else {
                            span.who { (display_name(c)) }
                        }
                        @if c.source == "owner" { " " span.owner { "(site owner)" } }
                        " · " time datetime=(c.created_at) { (c.created_at.get(..10).unwrap_or(&c.created_at)) }
                    }
                    @if Some(c.id) == pending {
                        p.pending { "Your comment is awaiting moderation." }
                    }
                    (comment_body_from(c, threaded.links_from.as_ref()))
                    @if let Some(reply_base) = reply_base.filter(|_| Some(c.id) != pending && depth < 8) {
                        a.reply href={ (reply_base) "&replytocom=" (c.id) "#respond" } data-comment=(c.id) data-author=(c.author) { "Reply" }
                    }
                    (thread(threaded, Some(c.id), pending, reply_base, depth + 1))
                }
            }
        }
    }
}

fn field_error(form: &FormState, name: &str) -> Markup {
    html! {
        @if let Some(message) = form.errors.get(name) {
            span.error id={ (name) "-error" } { (message) }
        }
    }
}

/// The name a comment is shown under: an embedding site's reader may leave theirs out.
pub fn display_name(c: &StoredComment) -> &str {
    if c.author.trim().is_empty() {
        "Anonymous"
    } else {
        &c.author
    }
}

/// The reply form of the page at `page` (its Cancel link), posting to `action`.
fn reply_form(page: &str, action: &str, form: &FormState) -> Markup {
    html! {
        section id="respond" {
            h2 { "Leave a Reply" }
            // Always present: comments.js shows it when "Reply" moves the form under a comment.
            p id="reply-to" hidden[form.parent.is_none()] {
                "Replying to " span id="reply-to-name" { "comment #" (form.parent.unwrap_or(0)) } ". "
                a id="cancel-reply" href={ (page) "#respond" } { "Cancel reply" }
            }
            @if let Some(notice) = &form.notice {
                p.notice role="alert" { (notice) }
            }
            form method="post" action=(action) {
                p.meta { "Your email address will not be published. Required fields are marked *" }
                p {
                    label for="comment" { "Comment *" }
                    textarea id="comment" name="comment" required maxlength="10000" { (form.content) }
                    (field_error(form, "comment_content"))
                }
                p {
                    label for="author" { "Name" @if !form.author_optional { " *" } }
                    input id="author" name="author" type="text" required[!form.author_optional] maxlength="200" value=(form.author);
                    (field_error(form, "comment_author"))
                }
                p {
                    label for="email" { "Email" @if !form.email_optional { " *" } }
                    input id="email" name="email" type="email" required[!form.email_optional] maxlength="254" value=(form.email);
                    (field_error(form, "comment_author_email"))
                }
                p {
                    label for="url" { "Website" }
                    input id="url" name="url" type="url" maxlength="500" value=(form.url);
                    (field_error(form, "comment_author_url"))
                }
                p.hp aria-hidden="true" {
                    label for="website" { "Leave this field empty" }
                    input id="website" name="website" type="text" tabindex="-1" autocomplete="off";
                }
                @if form.offer_reply_notices {
                    p {
                        input id="notify_replies" name="notify_replies" type="checkbox" value="on";
                        " " label for="notify_replies" { "Notify me of replies by email" }
                    }
                }
                input id="comment_parent" type="hidden" name="comment_parent" value=(form.parent.unwrap_or(0));
                p { button type="submit" { "Post Comment" } }
                p id="form-status" role="status" aria-live="polite" {}
                p.meta {
                    "This site uses replyguard to reduce spam. Your comment and the data you enter stay on this server."
                }
            }
        }
    }
}

/// A small page for errors on page routes.
pub fn message_page(title: &str, message: &str, site: &Identity) -> Markup {
    layout(
        title,
        site,
        html! { h1 { (title) } p { (message) } p { a href="/" { "Back to the blog" } } },
    )
}

/// A comment's text as HTML: plain text in paragraphs (a blank line) and lines, escaped; a comment
/// imported from WordPress, Disqus or Isso is sanitized HTML, cleaned again here; Markdown
/// (written in Isso's widget) is rendered and sanitized.
pub fn comment_body(c: &StoredComment) -> Markup {
    comment_body_from(c, None)
}

/// [`comment_body`] on a page other than the comment's own, at `page` when known: imported
/// HTML's relative links lead where they did on that page
/// ([`formatted_comment_from`](crate::domain::comment_text::formatted_comment_from)).
fn comment_body_from(c: &StoredComment, page: Option<&url::Url>) -> Markup {
    use crate::domain::comment_text::{formatted_comment, formatted_comment_from};
    let formatted = match page {
        Some(page) => formatted_comment_from(&c.content, c.format(), page),
        None => formatted_comment(&c.content, c.format()),
    };
    html! {
        @if let Some(formatted) = formatted {
            div.comment-html { (PreEscaped(formatted)) }
        } @else {
            @for para in c.content.split("\n\n").filter(|p| !p.trim().is_empty()) {
                p {
                    @for (i, line) in para.lines().enumerate() {
                        @if i > 0 { br; }
                        (line)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Anchor, Anchors, OwnAnchor};
    use crate::storage::{Status, StoredComment};

    fn comment(id: i64, remote_id: Option<&str>) -> StoredComment {
        StoredComment {
            id,
            article: "a".into(),
            parent_id: None,
            author: "Ana".into(),
            author_email: String::new(),
            author_url: None,
            content: "Hi".into(),
            user_ip: None,
            user_agent: None,
            status: Status::Published,
            verdict: "published".into(),
            spam_probability: 0.0,
            clues: serde_json::Value::Null,
            model_version: String::new(),
            source: "import".into(),
            created_at: String::new(),
            html: false,
            markdown: false,
            site_id: 1,
            remote_id: remote_id.map(str::to_string),
        }
    }

    #[test]
    fn one_id_per_element_and_old_links_win_their_clashes() {
        // Comment 7 was born here; comment 9 was the old blog's 7.
        let (born_here, imported) = (comment(7, None), comment(9, Some("wordpress:7")));
        let page = [&born_here, &imported];
        let plain = Anchors::of(&page, false);
        assert_eq!(plain.own(&born_here), Some(OwnAnchor(7)));
        assert_eq!(plain.old(&imported), None, "the page's own anchor wins");
        let old_link = Anchors::of(&page, true);
        assert_eq!(old_link.own(&born_here), None);
        assert_eq!(
            old_link.old(&imported),
            Some(Anchor::Comment(7)),
            "the old link wins"
        );
        assert_eq!(old_link.own(&imported), Some(OwnAnchor(9)));
        // Without a clash both are given.
        let apart = comment(12, Some("wordpress:501"));
        let anchors = Anchors::of(&[&born_here, &apart], false);
        assert_eq!(anchors.own(&apart), Some(OwnAnchor(12)));
        assert_eq!(anchors.old(&apart), Some(Anchor::Comment(501)));
    }
}
