//! Writing a site's comments out again: WordPress WXR (which WordPress's importer and
//! `replyguard import` read), Disqus XML, an Isso database ([`isso`]), and JSONL in the training
//! format with the labels the moderation gave. Comments are read from the store in pages, so memory stays flat however many
//! there are.

use crate::articles::Article;
use crate::domain::Status;
use crate::domain::{Site, TextFormat};
use crate::storage::{ExportComment, StorageError, Store, StoredArticle};
use quick_xml::escape::escape;
use std::collections::HashSet;
use std::io::Write;

pub mod isso;

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the Isso database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("--format isso writes an SQLite database: give the file with --out")]
    NeedsFile,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Wxr,
    Disqus,
    Jsonl,
    Isso,
}

/// What was written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub articles: u64,
    pub comments: u64,
}

const PAGE: u64 = 1_000;

/// Where a thread's post id starts in an export (WXR and Disqus want numbers): far above any
/// blog's own post ids, so an export imported where the blog's history also is cannot take a
/// thread for a post of the blog.
const THREAD_POST_IDS: i64 = 1_000_000_000;

/// Threads of a site read at most (sites have hundreds; the bound keeps memory flat).
const MAX_THREADS: u64 = 1_000_000;

/// One page to export (an article, or a thread of an embedding site), with a numeric id for
/// formats that need one.
struct Item {
    post_id: i64,
    article: StoredArticle,
    /// What its comments are stored under: the article's slug, the thread's uri.
    key: String,
    /// Its path on the site: `/articles/slug` (or the path of an imported post's address), the
    /// thread's uri as the embedding page gave it.
    path: String,
}

/// Where an export reads from: the store, the runtime its calls are awaited on (the writers
/// are synchronous; the runtime must not be the calling thread's own), and the site it covers.
pub struct Source<'a> {
    pub store: &'a dyn Store,
    pub rt: &'a tokio::runtime::Handle,
    /// Only this site's comments, and its threads among the pages; `None`: every site's
    /// comments on the articles.
    pub site: Option<Site>,
}

/// The pages to export: the database's articles (imported) and the Markdown ones, each once;
/// with a site, its threads too, and of the articles only those it has comments on (every
/// article for the default site, whose pages they are).
fn items(source: &Source<'_>, files: &[Article], site_url: &str) -> Result<Vec<Item>, ExportError> {
    let commented = match &source.site {
        Some(_) => Some(commented_keys(source)?),
        None => None,
    };
    let wanted = |key: &str, is_article: bool| match (&source.site, &commented) {
        (Some(site), Some(keys)) => {
            keys.contains(key) || (is_article && site.id == crate::domain::DEFAULT_SITE)
        }
        _ => true,
    };
    let stored = source.rt.block_on(source.store.export_articles())?;
    let mut next = stored
        .iter()
        .filter_map(|a| a.wp_post_id)
        .max()
        .unwrap_or(0)
        + 1;
    let mut articles = Vec::new();
    for a in stored {
        let post_id = a.wp_post_id.unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        articles.push((post_id, a.article));
    }
    for f in files {
        if articles.iter().any(|(_, a)| a.slug == f.slug) {
            continue;
        }
        articles.push((
            next,
            StoredArticle {
                slug: f.slug.clone(),
                title: f.title.clone(),
                date: crate::import::rfc3339(&f.date).unwrap_or_default(),
                author: f.author.clone(),
                html: f.html.clone(),
                link: None,
                public: true,
                comments_open: true,
            },
        ));
        next += 1;
    }
    let mut items = Vec::new();
    for (post_id, article) in articles {
        if !wanted(&article.slug, true) {
            continue;
        }
        let address = link(site_url, &article);
        let path = url::Url::parse(&address)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| format!("/articles/{}", article.slug));
        items.push(Item {
            post_id,
            key: article.slug.clone(),
            article,
            path,
        });
    }
    if let Some(site) = &source.site {
        // The page at the site's address; a site without one has its threads only as this
        // server's thread pages (`/sites/NAME/thread?uri=`).
        let link = |uri: &str| match site.public_origin() {
            Some(origin) => format!("{}{uri}", origin.trim_end_matches('/')),
            None => format!(
                "{}{}",
                site_url.trim_end_matches('/'),
                crate::domain::site::thread_page(&site.name, uri)
            ),
        };
        for thread in source
            .rt
            .block_on(source.store.threads(site.id, MAX_THREADS))?
        {
            if !wanted(&thread.uri, false) {
                continue;
            }
            items.push(Item {
                post_id: THREAD_POST_IDS + thread.id,
                article: StoredArticle {
                    slug: thread_slug(&thread.uri, thread.id),
                    title: thread.title,
                    date: thread.created_at,
                    author: site.title.clone(),
                    html: String::new(),
                    link: Some(link(&thread.uri)),
                    public: true,
                    comments_open: thread.comments_open,
                },
                key: thread.uri.clone(),
                path: thread.uri,
            });
        }
    }
    Ok(items)
}

/// The keys (article slugs, thread uris) the export's site has comments under.
fn commented_keys(source: &Source<'_>) -> Result<HashSet<String>, ExportError> {
    let mut keys = HashSet::new();
    each_comment(source, None, |c| {
        if !keys.contains(&c.comment.article) {
            keys.insert(c.comment.article.clone());
        }
        Ok(())
    })?;
    Ok(keys)
}

/// A post name for a thread: its path's segments joined by `-` (`/posts/caches/` →
/// `posts-caches`), `thread-ID` for the site's root.
fn thread_slug(uri: &str, id: i64) -> String {
    // A post name is a slug: the path's words (percent-decoded, lowercase) joined by `-`.
    let decoded = percent_encoding::percent_decode_str(uri).decode_utf8_lossy();
    let slug = decoded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase();
    if slug.is_empty() {
        format!("thread-{id}")
    } else {
        slug
    }
}

/// Every comment of one article or thread (or all), page by page; of the export's site only.
fn each_comment(
    source: &Source<'_>,
    key: Option<&str>,
    mut f: impl FnMut(&ExportComment) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let site = source.site.as_ref().map(|s| s.id);
    let mut after = 0;
    loop {
        let page = source
            .rt
            .block_on(source.store.export_comments(key, after, PAGE))?;
        for c in &page {
            if site.is_none_or(|id| c.comment.site_id == id) {
                f(c)?;
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = last.comment.id,
            _ => return Ok(()),
        }
    }
}

/// A comment's text as HTML: imported comments are HTML already; Markdown (Isso's widget) is
/// rendered as it is shown; text typed here is escaped and keeps its line breaks.
fn comment_html(c: &ExportComment) -> String {
    match c.comment.format() {
        TextFormat::Html => c.comment.content.clone(),
        TextFormat::Markdown => crate::domain::comment_text::markdown_to_html(&c.comment.content),
        TextFormat::Plain => escape(&c.comment.content).into_owned(),
    }
}

fn link(site: &str, a: &StoredArticle) -> String {
    a.link
        .clone()
        .unwrap_or_else(|| format!("{}/articles/{}", site.trim_end_matches('/'), a.slug))
}

/// `2017-03-01T12:00:00Z` → `2017-03-01 12:00:00`, WordPress's own date format.
fn wp_date(rfc3339: &str) -> String {
    rfc3339
        .get(..19)
        .map(|d| d.replace('T', " "))
        .unwrap_or_else(|| "0000-00-00 00:00:00".into())
}

/// A flag as XML Schema's `boolean` spells it (Disqus's `isDeleted`, `isSpam`, …).
fn xml_bool(flag: bool) -> &'static str {
    if flag { "true" } else { "false" }
}

/// `<name>text</name>` with the text escaped, and without the characters XML 1.0 does not allow
/// (control characters other than tab and line breaks, U+FFFE, U+FFFF), which a visitor may
/// have typed: the export must parse whatever was stored.
fn element(out: &mut impl Write, name: &str, text: &str) -> std::io::Result<()> {
    write!(
        out,
        "<{name}>{}</{name}>",
        escape(crate::domain::unshowable::xml_chars(text))
    )
}

/// Writes the export; `site` is the address the articles are served under (for their links).
pub fn write(
    format: Format,
    store: &Source<'_>,
    files: &[Article],
    site: &str,
    out: &mut impl Write,
) -> Result<Counts, ExportError> {
    match format {
        Format::Wxr => wxr(store, files, site, out),
        Format::Disqus => disqus(store, files, site, out),
        Format::Jsonl => jsonl(store, out),
        // A database, not a stream: `isso::write` with the file's path.
        Format::Isso => Err(ExportError::NeedsFile),
    }
}

fn wxr(
    store: &Source<'_>,
    files: &[Article],
    site: &str,
    out: &mut impl Write,
) -> Result<Counts, ExportError> {
    let mut counts = Counts::default();
    writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!-- WordPress eXtended RSS, written by replyguard export -->\n\
         <rss version=\"2.0\" xmlns:excerpt=\"http://wordpress.org/export/1.2/excerpt/\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:wfw=\"http://wellformedweb.org/CommentAPI/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:wp=\"http://wordpress.org/export/1.2/\">\n<channel>"
    )?;
    // A site's export is of the site: its title and the address its pages are published at.
    let (title, base) = match &store.site {
        Some(s) => (s.title.as_str(), s.public_origin().unwrap_or(site)),
        None => ("replyguard export", site),
    };
    element(out, "title", title)?;
    element(out, "link", base)?;
    element(out, "wp:wxr_version", "1.2")?;
    element(out, "wp:base_site_url", base)?;
    element(out, "wp:base_blog_url", base)?;
    writeln!(out)?;
    for item in items(store, files, site)? {
        let a = &item.article;
        counts.articles += 1;
        write!(out, "<item>")?;
        element(out, "title", &a.title)?;
        element(out, "link", &link(site, a))?;
        element(out, "dc:creator", &a.author)?;
        element(out, "content:encoded", &a.html)?;
        element(out, "wp:post_id", &item.post_id.to_string())?;
        element(out, "wp:post_date", &wp_date(&a.date))?;
        element(out, "wp:post_date_gmt", &wp_date(&a.date))?;
        element(out, "wp:post_name", &a.slug)?;
        element(
            out,
            "wp:status",
            if a.public { "publish" } else { "private" },
        )?;
        element(out, "wp:post_type", "post")?;
        element(
            out,
            "wp:comment_status",
            if a.comments_open { "open" } else { "closed" },
        )?;
        writeln!(out)?;
        each_comment(store, Some(&item.key), |c| {
            counts.comments += 1;
            let s = &c.comment;
            write!(out, "<wp:comment>")?;
            element(out, "wp:comment_id", &s.id.to_string())?;
            element(out, "wp:comment_author", &s.author)?;
            element(out, "wp:comment_author_email", &s.author_email)?;
            element(
                out,
                "wp:comment_author_url",
                s.author_url.as_deref().unwrap_or(""),
            )?;
            element(
                out,
                "wp:comment_author_IP",
                s.user_ip.as_deref().unwrap_or(""),
            )?;
            element(out, "wp:comment_date", &wp_date(&s.created_at))?;
            element(out, "wp:comment_date_gmt", &wp_date(&s.created_at))?;
            element(out, "wp:comment_content", &comment_html(c))?;
            element(
                out,
                "wp:comment_approved",
                match s.status {
                    Status::Published => "1",
                    Status::Held => "0",
                    Status::Spam => "spam",
                    Status::Trash => "trash",
                },
            )?;
            element(out, "wp:comment_type", &c.comment_type)?;
            element(
                out,
                "wp:comment_parent",
                &s.parent_id.unwrap_or(0).to_string(),
            )?;
            element(
                out,
                "wp:comment_agent",
                s.user_agent.as_deref().unwrap_or(""),
            )?;
            writeln!(out, "</wp:comment>")?;
            Ok(())
        })?;
        writeln!(out, "</item>")?;
    }
    writeln!(out, "</channel>\n</rss>")?;
    Ok(counts)
}

fn disqus(
    store: &Source<'_>,
    files: &[Article],
    site: &str,
    out: &mut impl Write,
) -> Result<Counts, ExportError> {
    let mut counts = Counts::default();
    writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<disqus xmlns=\"http://disqus.com\" \
         xmlns:dsq=\"http://disqus.com/disqus-internals\">"
    )?;
    let items = items(store, files, site)?;
    for item in &items {
        let a = &item.article;
        counts.articles += 1;
        write!(out, "<thread dsq:id=\"{}\">", item.post_id)?;
        element(out, "id", &item.key)?;
        element(out, "link", &link(site, a))?;
        element(out, "title", &a.title)?;
        element(out, "createdAt", &a.date)?;
        write!(out, "<author>")?;
        element(out, "name", &a.author)?;
        write!(out, "</author>")?;
        element(out, "isClosed", xml_bool(!a.comments_open))?;
        element(out, "isDeleted", xml_bool(!a.public))?;
        writeln!(out, "</thread>")?;
    }
    for item in &items {
        each_comment(store, Some(&item.key), |c| {
            counts.comments += 1;
            let s = &c.comment;
            write!(out, "<post dsq:id=\"{}\">", s.id)?;
            element(out, "message", &comment_html(c))?;
            element(out, "createdAt", &s.created_at)?;
            element(out, "isDeleted", xml_bool(s.status == Status::Trash))?;
            element(out, "isSpam", xml_bool(s.status == Status::Spam))?;
            element(out, "isApproved", xml_bool(s.status != Status::Held))?;
            write!(out, "<author>")?;
            element(out, "name", &s.author)?;
            element(out, "email", &s.author_email)?;
            if let Some(url) = &s.author_url {
                element(out, "link", url)?;
            }
            write!(out, "</author>")?;
            if let Some(ip) = &s.user_ip {
                element(out, "ipAddress", ip)?;
            }
            write!(out, "<thread dsq:id=\"{}\"/>", item.post_id)?;
            if let Some(parent) = s.parent_id {
                write!(out, "<parent dsq:id=\"{parent}\"/>")?;
            }
            writeln!(out, "</post>")?;
            Ok(())
        })?;
    }
    writeln!(out, "</disqus>")?;
    Ok(counts)
}

/// One training record per comment the moderation labeled: published is ham, spam is spam;
/// held and trashed comments carry no label and are left out.
fn jsonl(store: &Source<'_>, out: &mut impl Write) -> Result<Counts, ExportError> {
    let mut counts = Counts::default();
    each_comment(store, None, |c| {
        let s = &c.comment;
        let label = match s.status {
            Status::Published => "ham",
            Status::Spam => "spam",
            Status::Held | Status::Trash => return Ok(()),
        };
        counts.comments += 1;
        let row = serde_json::json!({
            "label": label,
            "comment_content": s.content,
            "comment_author": s.author,
            "comment_author_email": s.author_email,
            "comment_author_url": s.author_url,
            "user_ip": s.user_ip,
            "user_agent": s.user_agent,
            "comment_type": c.comment_type,
            "comment_date_gmt": s.created_at,
            "article": s.article,
            "decided_by": if decided_by_a_person(&s.verdict, s.status) { "moderator" } else { "classifier" },
        });
        writeln!(out, "{row}")?;
        Ok(())
    })?;
    Ok(counts)
}

/// Whether the status was a person's decision (a moderator here or on the old site) rather than
/// the classifier's verdict left in place.
fn decided_by_a_person(verdict: &str, status: Status) -> bool {
    crate::engine::Verdict::parse(verdict)
        .is_none_or(|v| crate::domain::training_label(v, status).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_named_by_their_path() {
        assert_eq!(thread_slug("/posts/caches/", 7), "posts-caches");
        assert_eq!(thread_slug("/2024/café", 7), "2024-café");
        assert_eq!(
            thread_slug("/2024/caf%C3%A9%20au%20Lait/", 7),
            "2024-café-au-lait"
        );
        assert_eq!(thread_slug("/p-100% done.html", 7), "p-100-done-html");
        assert_eq!(thread_slug("/", 7), "thread-7");
    }

    #[test]
    fn dates_in_wordpress_form() {
        assert_eq!(wp_date("2019-04-12T09:30:00Z"), "2019-04-12 09:30:00");
        assert_eq!(wp_date(""), "0000-00-00 00:00:00");
    }
}
