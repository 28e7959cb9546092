//! Writing a site's comments out again: WordPress WXR (which WordPress's importer and
//! `replyguard import` read), Disqus XML, an Isso database ([`isso`]), and JSONL in the training
//! format with the labels the moderation gave. Comments are read from the store in pages, so memory stays flat however many
//! there are.

use crate::articles::Article;
use crate::domain::Status;
use crate::storage::{ExportComment, ImportStore, StorageError, StoredArticle};
use quick_xml::escape::escape;
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
    #[error("there is no site `{0}` (see `replyguard sites list`)")]
    UnknownSite(String),
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

/// One article to export, with a numeric id for formats that need one.
struct Item {
    post_id: i64,
    article: StoredArticle,
}

/// The articles to export: the database's (imported) and the Markdown ones, each once.
/// Where an export reads from: the store, and the runtime its calls are awaited on (the writers
/// are synchronous; the runtime must not be the calling thread's own).
pub struct Source<'a> {
    pub store: &'a dyn ImportStore,
    pub rt: &'a tokio::runtime::Handle,
}

fn items(store: &Source<'_>, files: &[Article]) -> Result<Vec<Item>, StorageError> {
    let stored = store.rt.block_on(store.store.export_articles())?;
    let mut next = stored
        .iter()
        .filter_map(|a| a.wp_post_id)
        .max()
        .unwrap_or(0)
        + 1;
    let mut items = Vec::new();
    for a in stored {
        let post_id = a.wp_post_id.unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        items.push(Item {
            post_id,
            article: a.article,
        });
    }
    for f in files {
        if items.iter().any(|i| i.article.slug == f.slug) {
            continue;
        }
        items.push(Item {
            post_id: next,
            article: StoredArticle {
                slug: f.slug.clone(),
                title: f.title.clone(),
                date: crate::import::rfc3339(&f.date).unwrap_or_default(),
                author: f.author.clone(),
                html: f.html.clone(),
                link: None,
                public: true,
                comments_open: true,
            },
        });
        next += 1;
    }
    Ok(items)
}

/// Every comment of one article (or all), page by page.
fn each_comment(
    store: &Source<'_>,
    article: Option<&str>,
    mut f: impl FnMut(&ExportComment) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut after = 0;
    loop {
        let page = store
            .rt
            .block_on(store.store.export_comments(article, after, PAGE))?;
        for c in &page {
            f(c)?;
        }
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = last.comment.id,
            _ => return Ok(()),
        }
    }
}

/// A comment's text as HTML: imported comments are HTML already; text typed here is escaped
/// and keeps its line breaks.
fn comment_html(c: &ExportComment) -> String {
    if c.comment.html {
        c.comment.content.clone()
    } else {
        escape(&c.comment.content).into_owned()
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
    write!(out, "<{name}>{}</{name}>", escape(xml_chars(text)))
}

/// `text` without the characters XML 1.0 does not allow.
fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(allowed) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
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
    element(out, "title", "replyguard export")?;
    element(out, "link", site)?;
    element(out, "wp:wxr_version", "1.2")?;
    element(out, "wp:base_site_url", site)?;
    element(out, "wp:base_blog_url", site)?;
    writeln!(out)?;
    for item in items(store, files)? {
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
        each_comment(store, Some(&a.slug), |c| {
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
    let items = items(store, files)?;
    for item in &items {
        let a = &item.article;
        counts.articles += 1;
        write!(out, "<thread dsq:id=\"{}\">", item.post_id)?;
        element(out, "id", &a.slug)?;
        element(out, "link", &link(site, a))?;
        element(out, "title", &a.title)?;
        element(out, "createdAt", &a.date)?;
        write!(out, "<author>")?;
        element(out, "name", &a.author)?;
        write!(out, "</author>")?;
        element(out, "isDeleted", xml_bool(!a.public))?;
        writeln!(out, "</thread>")?;
    }
    for item in &items {
        each_comment(store, Some(&item.article.slug), |c| {
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
    fn characters_xml_forbids_are_dropped() {
        assert_eq!(
            xml_chars("a\u{0}b\u{1f}c\td\u{FFFE}e\u{FFFF}\u{1F600}"),
            "abc\tde\u{1F600}"
        );
        assert!(matches!(
            xml_chars("plain\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn dates_in_wordpress_form() {
        assert_eq!(wp_date("2019-04-12T09:30:00Z"), "2019-04-12 09:30:00");
        assert_eq!(wp_date(""), "0000-00-00 00:00:00");
    }
}
