//! Reading a site's history out of the exports other comment systems write: WordPress WXR (Tools
//! → Export), WordPress comment dumps with their spam status (`wp comment list --format=json` or
//! `--format=csv`), and Disqus XML. Each format is read as a stream of [`Record`]s (articles and
//! comments, with their original ids, dates and statuses) in bounded memory; a record that cannot
//! be taken is a [`Refused`] item with its position, and the walk goes on.
//!
//! What becomes of the records (stored, threaded, learned) is [`crate::cli`]'s `import` command
//! on the storage port; this module only reads.

mod charset;
mod disqus;
pub mod isso;
pub mod run;
pub mod sanitize;
pub use sanitize::Media;
mod wp_dump;
mod wxr;
mod xml;

pub use crate::domain::ArticleRecord;
use crate::domain::Status;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Errors that stop reading a file (a refused record does not; see [`Refused`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed XML at byte {position}: {reason}")]
    Syntax { position: u64, reason: String },
    #[error(
        "{}: not an export replyguard reads (expected a WordPress WXR export, a Disqus XML export, `wp comment list --format=json|csv`, or an Isso database)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// The export formats, detected from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// WordPress eXtended RSS (WXR 1.0–1.2), from Tools → Export or WordPress.com.
    Wxr,
    /// `wp comment list --format=json --fields=…`: the `wp_comments` rows, spam included.
    WpJson,
    /// `wp comment list --format=csv --fields=…`.
    WpCsv,
    /// Disqus XML export (`<disqus>` with `<thread>` and `<post>`).
    Disqus,
    /// An Isso database (`comments.db`, SQLite).
    Isso,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Wxr => "WordPress WXR",
            Format::WpJson => "wp comment list (JSON)",
            Format::WpCsv => "wp comment list (CSV)",
            Format::Disqus => "Disqus XML",
            Format::Isso => "Isso database",
        }
    }

    /// Recognizes a format from the first bytes of a file.
    pub fn detect(head: &[u8]) -> Option<Format> {
        if head.starts_with(isso::MAGIC) {
            return Some(Format::Isso);
        }
        let head = String::from_utf8_lossy(head);
        let text = head.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with('[') {
            return Some(Format::WpJson);
        }
        if text.starts_with('<') {
            if text.contains("<disqus") {
                return Some(Format::Disqus);
            }
            if text.contains("wordpress.org/export/") {
                return Some(Format::Wxr);
            }
            return None;
        }
        let header = text.lines().next().unwrap_or_default();
        header
            .split(',')
            .any(|f| f.trim().trim_matches('"') == "comment_ID")
            .then_some(Format::WpCsv)
    }
}

/// A comment as the export describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRecord {
    /// `wordpress:ID` or `disqus:ID`.
    pub remote_id: String,
    /// Remote id of its article ([`ArticleRecord::remote_id`](crate::domain::ArticleRecord::remote_id)).
    pub article: String,
    /// Remote id of the comment it answers.
    pub parent: Option<String>,
    pub author: String,
    pub email: String,
    pub url: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// RFC 3339 (UTC).
    pub date: String,
    /// Text as sanitized HTML ([`comment_html`](crate::domain::comment_text::comment_html)), or
    /// with `markdown` the Markdown its author typed (Isso's).
    pub content: String,
    /// `content` is Markdown, kept as written and rendered when shown.
    pub markdown: bool,
    /// `comment`, `pingback` or `trackback`.
    pub kind: String,
    pub status: Status,
    /// Readers' likes and dislikes (Isso counts them; the other formats carry none).
    pub likes: u64,
    pub dislikes: u64,
    /// When its author last edited it, RFC 3339 (Isso's `modified`; the other formats carry
    /// none): shown as Isso shows it, and written back by `export --format isso`.
    pub edited: Option<String>,
}

/// One thing read from an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Article(ArticleRecord),
    /// A page of an embedding site (Isso): its comments name it as `thread:URI`.
    Thread(isso::ThreadRecord),
    Comment(CommentRecord),
}

/// A record that cannot be imported, where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// `byte N` (XML), `record N` (JSON) or `line N` (CSV).
    pub position: String,
    pub reason: String,
}

/// What a reader hands out.
pub type Item = Result<Record, Refused>;

/// Reads a file of `format`, handing every record to `emit` in file order. `emit` may stop the walk
/// with an error (a storage failure). `media` gives a WordPress export's galleries their images
/// ([`read_media`]; other formats have none).
pub fn read(
    format: Format,
    input: impl BufRead,
    media: &Media,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    match format {
        Format::Wxr => wxr::read(input, media, emit),
        Format::Disqus => disqus::read(input, emit),
        Format::WpJson => wp_dump::read_json(input, emit),
        Format::WpCsv => wp_dump::read_csv(input, emit),
        // A database is read from its file (see [`read_file`]), not as a stream.
        Format::Isso => Err(ImportError::Malformed(
            "an Isso database is read from its file".into(),
        )),
    }
}

/// Reads a file that is a database rather than a stream (an Isso `comments.db`).
pub fn read_file(
    format: Format,
    path: &Path,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    match format {
        Format::Isso => isso::read(path, emit),
        _ => Err(ImportError::Malformed(format!(
            "{} is read as a stream",
            format.name()
        ))),
    }
}

/// A file's media for [`read`]: a WordPress export's attachments, read in a first pass over the
/// file (its posts come before their attachments); nothing for other formats.
pub fn read_media(format: Format, path: &Path) -> Result<Media, ImportError> {
    match format {
        Format::Wxr => Ok(wxr::media(open(path, |file| file)?.1)),
        _ => Ok(Media::default()),
    }
}

/// Opens a file (through `wrap`, say a progress counter) and detects its format.
pub fn open<R: std::io::Read>(
    path: &Path,
    wrap: impl FnOnce(std::fs::File) -> R,
) -> Result<(Format, std::io::BufReader<R>), ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut input = std::io::BufReader::with_capacity(256 * 1024, wrap(file));
    let head = input.fill_buf().map_err(io)?;
    let format = Format::detect(head).ok_or_else(|| ImportError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    Ok((format, input))
}

/// A `wp_comments` row, under the names of the dump (`comment_author`) or of WXR
/// (`wp:comment_author`, prefix removed).
#[derive(Debug, Default)]
pub(crate) struct WpComment {
    pub id: String,
    pub post_id: String,
    pub author: String,
    pub email: String,
    pub url: String,
    pub ip: String,
    pub agent: String,
    pub date: String,
    pub date_gmt: String,
    pub content: Option<String>,
    pub approved: String,
    pub kind: String,
    pub parent: String,
}

impl WpComment {
    /// Stores one field by its `wp_comments` column name; false for a column it does not read.
    pub fn set(&mut self, column: &str, value: String) -> bool {
        let slot = match column.to_ascii_lowercase().as_str() {
            "comment_id" => &mut self.id,
            "comment_post_id" => &mut self.post_id,
            "comment_author" => &mut self.author,
            "comment_author_email" => &mut self.email,
            "comment_author_url" => &mut self.url,
            "comment_author_ip" => &mut self.ip,
            "comment_agent" => &mut self.agent,
            "comment_date" => &mut self.date,
            "comment_date_gmt" => &mut self.date_gmt,
            "comment_content" => {
                self.content = Some(value);
                return true;
            }
            "comment_approved" => &mut self.approved,
            "comment_type" => &mut self.kind,
            "comment_parent" => &mut self.parent,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// The comment as a record, or why it cannot be one.
    pub fn into_record(self) -> Result<CommentRecord, String> {
        let id = self.id.trim();
        if id.is_empty() || id.parse::<u64>().is_err() {
            return Err(format!("comment_ID `{id}` is not a number"));
        }
        let post = self.post_id.trim();
        if post.parse::<u64>().is_err() {
            return Err(format!(
                "comment {id}: comment_post_ID `{post}` is not a number"
            ));
        }
        let Some(content) = self.content else {
            return Err(format!(
                "comment {id} has no comment_content (dump with `wp comment list --status=any` and --fields=comment_ID,comment_post_ID,comment_author,comment_author_email,comment_author_url,comment_author_IP,comment_date_gmt,comment_content,comment_approved,comment_type,comment_parent,comment_agent)"
            ));
        };
        let status = match self.approved.trim() {
            "1" | "approve" | "approved" => Status::Published,
            "0" | "hold" | "unapproved" => Status::Held,
            "spam" => Status::Spam,
            "trash" | "post-trashed" => Status::Trash,
            other => return Err(format!("comment {id}: unknown comment_approved `{other}`")),
        };
        let kind = match self.kind.trim() {
            "" | "comment" | "review" => "comment",
            "pingback" => "pingback",
            "trackback" => "trackback",
            // WooCommerce order notes, action logs…: stored as comments by plugins, never public.
            other => {
                return Err(format!(
                    "comment {id}: type `{other}` is not a reader comment"
                ));
            }
        };
        let gmt = self.date_gmt.trim();
        let date = if gmt.is_empty() || gmt.starts_with("0000") {
            self.date.trim()
        } else {
            gmt
        };
        let date = rfc3339(date).ok_or_else(|| format!("comment {id}: bad date `{date}`"))?;
        let parent = self.parent.trim();
        Ok(CommentRecord {
            remote_id: format!("wordpress:{id}"),
            article: format!("wordpress-post:{post}"),
            parent: (!parent.is_empty() && parent != "0").then(|| format!("wordpress:{parent}")),
            author: plain_text(&self.author),
            email: self.email.trim().to_string(),
            url: Some(self.url.trim().to_string()).filter(|u| !u.is_empty()),
            ip: Some(self.ip.trim().to_string()).filter(|u| !u.is_empty()),
            user_agent: Some(self.agent.trim().to_string()).filter(|u| !u.is_empty()),
            date,
            content: crate::domain::comment_text::comment_html(&content),
            markdown: false,
            kind: kind.to_string(),
            status,
            likes: 0,
            dislikes: 0,
            edited: None,
        })
    }
}

/// A date as the exports write it (`2017-03-01 12:00:00`, `2012-11-04T17:16:33Z`) in RFC 3339 UTC
/// (`2017-03-01T12:00:00Z`); `None` when it is not a date.
pub fn rfc3339(date: &str) -> Option<String> {
    let date = date.trim();
    let (local, offset) = split_utc_offset(date);
    let parsed = humantime::parse_rfc3339_weak(local)
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{local} 00:00:00")))
        .ok()?;
    // The local time less its offset is the UTC instant (`10:00+02:00` is 08:00Z).
    let magnitude = std::time::Duration::from_secs(offset.unsigned_abs());
    let utc = if offset >= 0 {
        parsed.checked_sub(magnitude)?
    } else {
        parsed.checked_add(magnitude)?
    };
    // Only what RFC 3339 can write (1970 to 9999 for humantime, which panics outside it): an
    // offset that moves a date out of that range makes it a bad date, refused like any other.
    const LAST_SECOND: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let since_epoch = utc.duration_since(std::time::UNIX_EPOCH).ok()?;
    if since_epoch.as_secs() > LAST_SECOND {
        return None;
    }
    Some(humantime::format_rfc3339_seconds(utc).to_string())
}

/// A timestamp's numeric UTC offset (`+02:00`, `-0530`) split off, in seconds; `Z` or none is 0.
/// Only after a time of day, so a bare date's `-03` is not taken for one.
fn split_utc_offset(date: &str) -> (&str, i64) {
    let parse = |sign: u8, digits: &str| -> Option<i64> {
        let digits = digits.replace(':', "");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i64 = digits[..2].parse().ok()?;
        let minutes: i64 = digits[2..].parse().ok()?;
        // Real offsets run from -12:00 to +14:00.
        if hours > 14 || minutes >= 60 {
            return None;
        }
        let seconds = hours * 3600 + minutes * 60;
        Some(if sign == b'-' { -seconds } else { seconds })
    };
    for width in [6, 5] {
        let Some(at) = date.len().checked_sub(width) else {
            continue;
        };
        let (Some(head), Some(tail)) = (date.get(..at), date.get(at..)) else {
            continue;
        };
        let has_time = head
            .rsplit(['T', 't', ' '])
            .next()
            .is_some_and(|time| time.contains(':'))
            && head.contains(['T', 't', ' ']);
        let sign = tail.as_bytes()[0];
        if has_time
            && (sign == b'+' || sign == b'-')
            && let Some(offset) = parse(sign, &tail[1..])
        {
            return (head, offset);
        }
    }
    (date, 0)
}

/// A name or title as plain text: WordPress stores them with HTML entities (`&raquo;`, `&#8217;`),
/// and the pages escape plain text themselves.
pub fn plain_text(text: &str) -> String {
    html_escape::decode_html_entities(text.trim()).into_owned()
}

/// A slug from a title or the last segment of a link: lowercase ASCII letters, digits and `-`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_content() {
        assert_eq!(
            Format::detect(
                b"<?xml version=\"1.0\"?>\n<rss xmlns:wp=\"http://wordpress.org/export/1.2/\">"
            ),
            Some(Format::Wxr)
        );
        assert_eq!(
            Format::detect(b"\xef\xbb\xbf<?xml?><disqus xmlns=\"http://disqus.com\">"),
            Some(Format::Disqus)
        );
        assert_eq!(
            Format::detect(b"[{\"comment_ID\":\"1\"}]"),
            Some(Format::WpJson)
        );
        assert_eq!(
            Format::detect(b"comment_ID,comment_post_ID,comment_content\n1,2,hi\n"),
            Some(Format::WpCsv)
        );
        assert_eq!(Format::detect(b"<html><body>"), None);
        assert_eq!(Format::detect(b"id,text\n1,hi"), None);
    }

    #[test]
    fn dates_and_slugs() {
        assert_eq!(
            rfc3339("2017-03-01 12:00:05").as_deref(),
            Some("2017-03-01T12:00:05Z")
        );
        assert_eq!(
            rfc3339("2012-11-04T17:16:33Z").as_deref(),
            Some("2012-11-04T17:16:33Z")
        );
        assert_eq!(rfc3339("yesterday"), None);
        // A numeric offset (Disqus, other exporters) is turned into UTC; a bare date keeps its day.
        assert_eq!(
            rfc3339("2016-01-03T10:00:00+02:00").as_deref(),
            Some("2016-01-03T08:00:00Z")
        );
        assert_eq!(
            rfc3339("2016-01-03T23:30:00-0530").as_deref(),
            Some("2016-01-04T05:00:00Z")
        );
        assert_eq!(
            rfc3339("2016-01-03T10:00:00.250+00:00").as_deref(),
            Some("2016-01-03T10:00:00Z")
        );
        assert_eq!(
            rfc3339("2016-01-03").as_deref(),
            Some("2016-01-03T00:00:00Z")
        );
        assert_eq!(rfc3339("2016-01-03T10:00:00+2:00"), None);
        // Out of what RFC 3339 writes, or no real offset: a bad date, never a panic.
        assert_eq!(rfc3339("1970-01-01T00:30:00+01:00"), None);
        assert_eq!(rfc3339("9999-12-31T23:00:00-12:00"), None);
        assert_eq!(rfc3339("2016-01-02T07:21:00+25:99"), None);
        assert_eq!(slugify("Héllo, World! 2"), "h-llo-world-2");
        assert_eq!(slugify("--"), "");
    }

    #[test]
    fn wordpress_rows_map_statuses_and_refuse_private_types() {
        let row = |approved: &str, kind: &str| {
            let mut c = WpComment::default();
            for (k, v) in [
                ("comment_ID", "5"),
                ("comment_post_ID", "2"),
                ("comment_date_gmt", "0000-00-00 00:00:00"),
                ("comment_date", "2016-01-02 03:04:05"),
                ("comment_content", "hi <script>x()</script>"),
                ("comment_approved", approved),
                ("comment_type", kind),
                ("comment_parent", "0"),
            ] {
                c.set(k, v.into());
            }
            c.into_record()
        };
        let r = row("spam", "").unwrap();
        assert_eq!(
            (r.status, r.date.as_str(), r.parent.clone()),
            (Status::Spam, "2016-01-02T03:04:05Z", None)
        );
        assert!(!r.content.contains("script"));
        assert_eq!(row("1", "").unwrap().status, Status::Published);
        assert_eq!(row("0", "").unwrap().status, Status::Held);
        assert_eq!(row("trash", "pingback").unwrap().kind, "pingback");
        assert!(row("1", "order_note").unwrap_err().contains("order_note"));
        assert!(row("maybe", "").is_err());
    }
}
