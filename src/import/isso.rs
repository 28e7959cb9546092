//! Reading an Isso database (`comments.db`, SQLite): its threads (`uri`, `title`) and comments
//! with their replies, dates and moderation states. Isso stores a comment's text as Markdown; it
//! is rendered and sanitized like every imported comment. Isso's `mode` is its moderation state:
//! 1 accepted (published, a label of ham), 2 waiting (held, no label: nobody decided), 4 deleted
//! (trash). Isso keeps a deleted comment that has replies as a row with mode 4 and no text (and
//! no author): it is imported as a trashed comment, so its replies stay under it. Its `likes` and
//! `dislikes` are counts (the voters are only a Bloom filter), carried as that many votes.

use super::{CommentRecord, ImportError, Item, Record, Refused};
use crate::domain::isso::IssoMode;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The most likes (and dislikes) one comment brings along: a count read from the file becomes
/// that many stored votes, so a corrupt count cannot make the import write without bound.
pub const MAX_VOTES: u64 = 10_000;

/// The first bytes of every SQLite database file.
pub const MAGIC: &[u8] = b"SQLite format 3\0";

/// A thread of the Isso database, in front of its comments.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRecord {
    pub uri: String,
    pub title: String,
}

/// The key an imported comment names its thread by.
pub fn thread_key(uri: &str) -> String {
    format!("thread:{uri}")
}

fn malformed(path: &Path, e: rusqlite::Error) -> ImportError {
    ImportError::Malformed(format!(
        "{}: not an Isso database ({e}); give the file Isso's `[general] dbpath` names",
        path.display()
    ))
}

/// Reads the database at `path` (opened read-only: Isso may be running).
pub fn read(
    path: &Path,
    emit: &mut dyn FnMut(Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| malformed(path, e))?;
    let mut threads = db
        .prepare("SELECT id, uri, COALESCE(title, '') FROM threads ORDER BY id")
        .map_err(|e| malformed(path, e))?;
    let threads: Vec<(i64, String, String)> = threads
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| malformed(path, e))?;
    let mut comments = db
        .prepare(
            "SELECT id, parent, created, mode, COALESCE(remote_addr, ''), COALESCE(text, ''), \
             COALESCE(author, ''), COALESCE(email, ''), COALESCE(website, ''), \
             COALESCE(likes, 0), COALESCE(dislikes, 0), modified \
             FROM comments WHERE tid = ?1 ORDER BY id",
        )
        .map_err(|e| malformed(path, e))?;
    for (tid, uri, title) in threads {
        let Ok(uri) = crate::domain::site::thread_uri(&uri) else {
            emit(Err(Refused {
                position: format!("thread {tid}"),
                reason: format!("uri `{uri}` is not a page path"),
            }))?;
            continue;
        };
        emit(Ok(Record::Thread(ThreadRecord {
            uri: uri.clone(),
            title: crate::domain::site::thread_title(&title),
        })))?;
        let rows: Vec<IssoRow> = comments
            .query_map([tid], |r| {
                Ok(IssoRow {
                    id: r.get(0)?,
                    parent: r.get(1)?,
                    created: r.get(2)?,
                    mode: r.get(3)?,
                    remote_addr: r.get(4)?,
                    text: r.get(5)?,
                    author: r.get(6)?,
                    email: r.get(7)?,
                    website: r.get(8)?,
                    likes: r.get(9)?,
                    dislikes: r.get(10)?,
                    modified: r.get(11)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| malformed(path, e))?;
        for row in rows {
            let position = format!("comment {}", row.id);
            emit(
                row.into_record(&uri)
                    .map(Record::Comment)
                    .map_err(|reason| Refused { position, reason }),
            )?;
        }
    }
    Ok(())
}

struct IssoRow {
    id: i64,
    parent: Option<i64>,
    created: f64,
    mode: i64,
    remote_addr: String,
    text: String,
    author: String,
    email: String,
    website: String,
    likes: i64,
    dislikes: i64,
    /// When its author last edited it (Unix seconds), if ever.
    modified: Option<f64>,
}

/// A vote count as stored votes: none for a negative count, at most [`MAX_VOTES`].
fn votes(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0).min(MAX_VOTES)
}

impl IssoRow {
    fn into_record(self, uri: &str) -> Result<CommentRecord, String> {
        let status = IssoMode::from_number(self.mode)
            .ok_or_else(|| format!("unknown mode {}", self.mode))?
            .status();
        let date = rfc3339_of(self.created)?;
        // An edit time Isso could not have written (before the comment, unreadable) is dropped,
        // not the comment.
        let edited = self
            .modified
            .and_then(|m| rfc3339_of(m).ok())
            .filter(|m| *m >= date);
        Ok(CommentRecord {
            remote_id: format!("isso:{}", self.id),
            article: thread_key(uri),
            parent: self.parent.map(|p| format!("isso:{p}")),
            // Isso stores these escaped (`html.escape`): the reader typed them unescaped.
            author: unescape(&self.author),
            email: unescape(&self.email),
            url: Some(unescape(&self.website)).filter(|w| !w.is_empty()),
            // Isso keeps addresses anonymized (the last octet zeroed): still the sender's network.
            ip: Some(self.remote_addr.trim().to_string()).filter(|a| !a.is_empty()),
            user_agent: None,
            date,
            // Isso's Markdown as its author wrote it, shown as Isso shows it (as a comment
            // posted through the Isso API here is).
            content: self.text,
            markdown: true,
            kind: "comment".into(),
            status,
            likes: votes(self.likes),
            dislikes: votes(self.dislikes),
            edited,
        })
    }
}

/// Isso's Unix seconds as RFC 3339.
fn rfc3339_of(seconds: f64) -> Result<String, String> {
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|since| std::time::UNIX_EPOCH.checked_add(since))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .ok_or_else(|| format!("bad date {seconds}"))
}

/// A field as the reader typed it, from Isso's escaped copy.
fn unescape(field: &str) -> String {
    html_escape::decode_html_entities(field.trim())
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn row(mode: i64, text: &str) -> IssoRow {
        IssoRow {
            id: 7,
            parent: Some(3),
            created: 1_700_000_000.25,
            mode,
            remote_addr: "192.0.2.0".into(),
            text: text.into(),
            author: " Ana ".into(),
            email: "ana@example.org".into(),
            website: String::new(),
            likes: 3,
            dislikes: -2,
            modified: None,
        }
    }

    #[test]
    fn isso_rows_become_records_with_their_state() {
        let r = row(1, "Hello *there* <script>alert(1)</script>")
            .into_record("/a/")
            .unwrap();
        assert_eq!(r.remote_id, "isso:7");
        assert_eq!(r.parent.as_deref(), Some("isso:3"));
        assert_eq!(r.article, "thread:/a/");
        assert_eq!(r.status, Status::Published);
        assert_eq!(r.date, "2023-11-14T22:13:20Z");
        assert_eq!(r.edited, None);
        // An edit keeps its time; one Isso could not have written is dropped, not the comment.
        for (modified, edited) in [
            (1_700_000_600.9, Some("2023-11-14T22:23:20Z")),
            (1_600_000_000.0, None),
            (f64::NAN, None),
            (-1.0, None),
        ] {
            let r = IssoRow {
                modified: Some(modified),
                ..row(1, "x")
            };
            assert_eq!(r.into_record("/a/").unwrap().edited.as_deref(), edited);
        }
        // Isso's Markdown as written, shown as Isso shows it.
        assert!(r.markdown);
        // Name and website come back as the reader typed them (Isso stores them escaped).
        let escaped = IssoRow {
            author: "Tom &amp; Jerry &lt;3".into(),
            website: "https://x.example/?a=1&amp;b=&#x27;2&#x27;".into(),
            ..row(1, "x")
        }
        .into_record("/a/")
        .unwrap();
        assert_eq!(escaped.author, "Tom & Jerry <3");
        assert_eq!(escaped.url.as_deref(), Some("https://x.example/?a=1&b='2'"));
        assert_eq!(r.content, "Hello *there* <script>alert(1)</script>");
        assert_eq!(row(2, "x").into_record("/a/").unwrap().status, Status::Held);
        assert_eq!(
            row(4, "x").into_record("/a/").unwrap().status,
            Status::Trash
        );
        assert!(row(3, "x").into_record("/a/").is_err());
        // Votes come along; a count that cannot be one is none.
        assert_eq!((r.likes, r.dislikes), (3, 0));
        assert_eq!(votes(i64::MAX), MAX_VOTES);
        // A deleted comment with replies: Isso blanked it, it is still a record (trashed).
        let deleted = row(4, "").into_record("/a/").unwrap();
        assert_eq!(
            (deleted.status, deleted.content.as_str()),
            (Status::Trash, "")
        );
    }
}
