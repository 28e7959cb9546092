//! The SQLite backend: the operations of [`CommentStore`](super::CommentStore) and
//! [`AkismetStore`](super::AkismetStore), blocking; [`super::SqlitePort`] puts them behind the
//! async port.

use super::{ApiKey, NewComment, Status, StatusEvent, StorageError, StoredComment, now_rfc3339};

/// The outcome of a queued insert, available after its group commit.
pub type PendingInsert = tokio::sync::oneshot::Receiver<Result<StoredComment, StorageError>>;
use super::{DayActivity, IMPLICIT_SOURCE, LearnedExample};
use crate::data::{Comment, Label, LabeledComment};
use crate::domain::training_label;
use crate::engine::Verdict;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_akismet.sql"),
    include_str!("migrations/0003_duplicate_index.sql"),
    include_str!("migrations/0004_comment_counts.sql"),
    include_str!("migrations/0005_learning_log.sql"),
    include_str!("migrations/0006_import.sql"),
    include_str!("migrations/0007_admin_sessions.sql"),
    include_str!("migrations/0008_learning_log_by_comment.sql"),
];

/// Most comments committed together in one transaction.
const MAX_GROUP: usize = 512;

/// A comment waiting for the group-commit writer, and where to send the outcome.
struct InsertRequest {
    comment: NewComment,
    reply: tokio::sync::oneshot::Sender<Result<StoredComment, StorageError>>,
}

/// Comments in one SQLite file. New comments go through a writer thread that commits every
/// comment waiting at that moment in one transaction (group commit: one fsync for many comments)
/// and acknowledges each only after that commit. Everything else uses a second connection behind
/// a mutex; WAL lets it read while the writer writes.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    writer: Option<mpsc::Sender<InsertRequest>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    /// Bumped after every committed change to comments; see [`CommentStore::generation`].
    pub(super) generation: Arc<AtomicU64>,
    /// A connection that only asks `PRAGMA data_version`, which moves whenever another
    /// connection — this process's writer, or another process (`replyguard import`, a second
    /// server on the same file) — commits: cached pages follow changes made elsewhere too,
    /// within [`WATCH_INTERVAL_MS`].
    watch: Option<Watch>,
}

/// How stale a view of commits made by other processes may be.
const WATCH_INTERVAL_MS: u64 = 20;

/// Asks SQLite's `PRAGMA data_version` on its own connection — at most every
/// [`WATCH_INTERVAL_MS`], and by one caller at a time (the others take the last answer) — so
/// that a page view pays an atomic load, not a query.
struct Watch {
    conn: Mutex<Connection>,
    started: std::time::Instant,
    checked_at_ms: AtomicU64,
    version: AtomicU64,
}

impl Watch {
    fn new(conn: Connection) -> Self {
        Watch {
            conn: Mutex::new(conn),
            started: std::time::Instant::now(),
            checked_at_ms: AtomicU64::new(0),
            version: AtomicU64::new(0),
        }
    }

    fn version(&self) -> u64 {
        let now = (self.started.elapsed().as_millis() as u64).max(1);
        let last = self.checked_at_ms.load(Ordering::Acquire);
        if last != 0 && now - last.min(now) < WATCH_INTERVAL_MS {
            return self.version.load(Ordering::Acquire);
        }
        if let Ok(conn) = self.conn.try_lock() {
            let asked = conn
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)));
            if let Ok(v) = asked {
                self.version.store(v.max(0) as u64, Ordering::Release);
            }
            self.checked_at_ms.store(now, Ordering::Release);
        }
        self.version.load(Ordering::Acquire)
    }
}

impl Drop for SqliteStore {
    /// Lets the writer finish every queued comment before the database closes.
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(handle) = self.writer_thread.take() {
            let _ = handle.join();
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
}

/// The writer thread: waits for a comment, takes every other one already queued, commits them all.
fn group_commit(
    mut conn: Connection,
    queue: mpsc::Receiver<InsertRequest>,
    generation: Arc<AtomicU64>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let (comments, replies): (Vec<NewComment>, Vec<_>) =
            batch.into_iter().map(|r| (r.comment, r.reply)).unzip();
        match insert_all(&mut conn, comments) {
            Ok(stored) => {
                generation.fetch_add(1, Ordering::Release);
                for (reply, comment) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(comment));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; no comment of the group was acknowledged");
                let (kind, message) = (failure_kind(&e), e.to_string());
                for reply in replies {
                    let _ = reply.send(Err(StorageError::Write {
                        kind,
                        message: message.clone(),
                    }));
                }
            }
        }
    }
}

/// Inserts comments (and their first status event) in one transaction.
fn insert_all(
    conn: &mut Connection,
    comments: Vec<NewComment>,
) -> rusqlite::Result<Vec<StoredComment>> {
    let now = now_rfc3339();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut stored = Vec::with_capacity(comments.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO comments (article, parent_id, author, author_email, author_url, content, user_ip, \
             user_agent, referrer, status, verdict, spam_probability, clues, model_version, source, created_at, \
             akismet_guid, api_key_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut event = tx.prepare_cached(
            "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) VALUES (?1, NULL, ?2, 'classifier', ?3)",
        )?;
        for c in comments {
            insert.execute(params![
                c.article,
                c.parent_id,
                c.author,
                c.author_email,
                c.author_url,
                c.content,
                c.user_ip,
                c.user_agent,
                c.referrer,
                c.status.as_str(),
                c.verdict,
                c.spam_probability,
                c.clues,
                c.model_version,
                c.source,
                now,
                c.akismet_guid,
                c.api_key_id
            ])?;
            let id = tx.last_insert_rowid();
            event.execute(params![id, c.status.as_str(), now])?;
            stored.push(StoredComment {
                id,
                article: c.article,
                parent_id: c.parent_id,
                author: c.author,
                author_email: c.author_email,
                author_url: c.author_url,
                content: c.content,
                user_ip: c.user_ip,
                user_agent: c.user_agent,
                status: c.status,
                verdict: c.verdict,
                spam_probability: c.spam_probability,
                clues: serde_json::from_str(&c.clues).unwrap_or(serde_json::Value::Null),
                model_version: c.model_version,
                source: c.source,
                created_at: now.clone(),
                html: false,
            });
        }
    }
    tx.commit()?;
    Ok(stored)
}

pub(super) const COLUMNS: &str = "id, article, parent_id, author, author_email, author_url, content, user_ip, \
    user_agent, status, verdict, spam_probability, clues, model_version, source, created_at, \
    content_format";
/// [`COLUMNS`] without the clues (a constant `'null'`): public listings never show them, and
/// parsing each comment's clue JSON was the largest cost of rendering an article page.
const PUBLIC_COLUMNS: &str = "id, article, parent_id, author, author_email, author_url, content, \
    user_ip, user_agent, status, verdict, spam_probability, 'null', model_version, source, created_at, \
    content_format";

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source: rusqlite::Error| StorageError::Open {
            path: path.to_path_buf(),
            kind: failure_kind(&source),
            message: source.to_string(),
        };
        let mut conn = match Connection::open(path) {
            Ok(conn) => conn,
            Err(e) if path.exists() && cannot_write(&e) => {
                return Self::open_read_only(path).map_err(|_| open_err(e));
            }
            Err(e) => return Err(open_err(e)),
        };
        if let Err(e) = configure(&conn).and_then(|()| migrate(&mut conn)) {
            if cannot_write(&e) {
                drop(conn);
                return Self::open_read_only(path).map_err(|_| open_err(e));
            }
            return Err(open_err(e));
        }
        let writer_conn = Connection::open(path).map_err(open_err)?;
        configure(&writer_conn).map_err(open_err)?;
        let (writer, queue) = mpsc::channel();
        let generation = Arc::new(AtomicU64::new(0));
        let writer_thread = std::thread::Builder::new()
            .name("replyguard-db-writer".into())
            .spawn({
                let generation = generation.clone();
                move || group_commit(writer_conn, queue, generation)
            })
            .map_err(StorageError::WriterStart)?;
        let watch = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open_err)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            writer: Some(writer),
            writer_thread: Some(writer_thread),
            generation,
            watch: Some(Watch::new(watch)),
        })
    }

    /// A database whose file or filesystem cannot be written: everything stored can still be
    /// read and shown, and every write is refused with [`StorageError::ReadOnly`] or SQLite's
    /// own read-only error, which the web layer answers with 503.
    fn open_read_only(path: &Path) -> Result<Self, StorageError> {
        let open_err = |source: rusqlite::Error| StorageError::Open {
            path: path.to_path_buf(),
            kind: failure_kind(&source),
            message: source.to_string(),
        };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        let applied: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if applied != MIGRATIONS.len() as i64 {
            // An older schema would need a migration, which is a write.
            return Err(StorageError::ReadOnly);
        }
        tracing::warn!(db = %path.display(), "the database cannot be written: serving what is stored, refusing new comments and moderation until it can");
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            writer: None,
            writer_thread: None,
            generation: Arc::new(AtomicU64::new(0)),
            watch: None,
        })
    }

    pub(super) fn conn(&self) -> Result<MutexGuard<'_, Connection>, StorageError> {
        self.conn.lock().map_err(|_| StorageError::Poisoned)
    }
}

/// SQLite's error in the storage layer's terms.
fn failure_kind(e: &rusqlite::Error) -> super::FailureKind {
    use super::FailureKind;
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => FailureKind::DiskFull,
        Some(ErrorCode::ReadOnly) => FailureKind::ReadOnly,
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => FailureKind::Io,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => FailureKind::Busy,
        _ => FailureKind::Other,
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Backend {
            kind: failure_kind(&e),
            message: e.to_string(),
        }
    }
}

/// Whether opening failed because the file or its filesystem is read-only.
fn cannot_write(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        // IMMEDIATE: take the write lock up front; a deferred read-then-write transaction fails
        // at once with SQLITE_BUSY when the group-commit writer committed in between.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

pub(super) fn row_to_comment(row: &Row<'_>) -> rusqlite::Result<StoredComment> {
    let status: String = row.get(9)?;
    let clues: String = row.get(12)?;
    Ok(StoredComment {
        id: row.get(0)?,
        article: row.get(1)?,
        parent_id: row.get(2)?,
        author: row.get(3)?,
        author_email: row.get(4)?,
        author_url: row.get(5)?,
        content: row.get(6)?,
        user_ip: row.get(7)?,
        user_agent: row.get(8)?,
        status: Status::parse(&status).unwrap_or(Status::Held),
        verdict: row.get(10)?,
        spam_probability: row.get(11)?,
        clues: serde_json::from_str(&clues).unwrap_or(serde_json::Value::Null),
        model_version: row.get(13)?,
        source: row.get(14)?,
        created_at: row.get(15)?,
        html: row.get::<_, String>(16)? == "html",
    })
}

/// The [`CommentStore`](super::CommentStore) operations, blocking; [`super::SqlitePort`] runs them off the
/// executor.
impl SqliteStore {
    pub fn insert(&self, c: NewComment) -> Result<StoredComment, StorageError> {
        self.enqueue(c)?
            .blocking_recv()
            .map_err(|_| StorageError::WriterStopped)?
    }

    pub fn enqueue(&self, c: NewComment) -> Result<PendingInsert, StorageError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let writer = self.writer.as_ref().ok_or(StorageError::ReadOnly)?;
        writer
            .send(InsertRequest { comment: c, reply })
            .map_err(|_| StorageError::WriterStopped)?;
        Ok(outcome)
    }

    pub fn get(&self, id: i64) -> Result<Option<StoredComment>, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM comments WHERE id = ?1"),
                [id],
                row_to_comment,
            )
            .optional()?)
    }

    pub fn published(
        &self,
        article: &str,
        window: super::Window,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        use super::Window;
        let conn = self.conn()?;
        let (condition, order, skip, from) = match window {
            Window::Offset(n) => ("", "ASC", n, 0),
            Window::FromEnd(n) => ("", "DESC", n, 0),
            Window::After(id) => ("AND id > ?4", "ASC", 0, id),
            Window::Before(id) => ("AND id < ?4", "DESC", 0, id),
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PUBLIC_COLUMNS} FROM comments WHERE article = ?1 AND status = 'published' \
             AND ?4 = ?4 {condition} ORDER BY id {order} LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                article,
                limit.min(i64::MAX as u64) as i64,
                skip.min(i64::MAX as u64) as i64,
                from
            ],
            row_to_comment,
        )?;
        let mut comments: Vec<StoredComment> = rows.collect::<Result<_, _>>()?;
        if order == "DESC" {
            comments.reverse();
        }
        Ok(comments)
    }

    pub fn count_published(&self, article: &str) -> Result<u64, StorageError> {
        let conn = self.conn()?;
        let n: Option<i64> = conn
            .query_row(
                "SELECT n FROM comment_counts WHERE article = ?1 AND status = 'published'",
                [article],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    pub fn is_duplicate(
        &self,
        article: &str,
        author_email: &str,
        content: &str,
    ) -> Result<bool, StorageError> {
        let conn = self.conn()?;
        let found: Option<i64> = conn
            .query_row(
                // Only the author's 500 latest comments on the article: enough for a repeated
                // submission, and a prolific author (or a spammer) cannot make this a full scan.
                "SELECT id FROM (SELECT id, content, status FROM comments WHERE article = ?1 AND author_email = ?2 \
                 ORDER BY id DESC LIMIT 500) WHERE content = ?3 AND status != 'trash' LIMIT 1",
                params![article, author_email, content],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    pub fn by_status(
        &self,
        status: Status,
        article: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM comments WHERE status = ?1 AND (?2 IS NULL OR article = ?2) ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![status.as_str(), article, limit as i64],
            row_to_comment,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &str,
    ) -> Result<StoredComment, StorageError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: take the write lock up front; a deferred read-then-write transaction fails
        // at once with SQLITE_BUSY when the group-commit writer committed in between.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: Option<String> = tx
            .query_row("SELECT status FROM comments WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let from = from.ok_or(StorageError::NotFound(id))?;
        tx.execute(
            "UPDATE comments SET status = ?1 WHERE id = ?2",
            params![to.as_str(), id],
        )?;
        log_decision(&tx, id, Status::parse(&from), to, actor)?;
        tx.execute(
            "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, from, to.as_str(), actor, now_rfc3339()],
        )?;
        let comment = tx.query_row(
            &format!("SELECT {COLUMNS} FROM comments WHERE id = ?1"),
            [id],
            row_to_comment,
        )?;
        tx.commit()?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(comment)
    }

    pub fn history(&self, id: i64) -> Result<Vec<StatusEvent>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT from_status, to_status, actor, at FROM comment_events WHERE comment_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let from: Option<String> = r.get(0)?;
            let to: String = r.get(1)?;
            Ok(StatusEvent {
                from_status: from.as_deref().and_then(Status::parse),
                to_status: Status::parse(&to).unwrap_or(Status::Held),
                actor: r.get(2)?,
                at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn feedback(&self) -> Result<Vec<LabeledComment>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT c.content, c.author, c.author_email, c.author_url, c.user_ip, c.user_agent, c.referrer, e.to_status \
             FROM comments c \
             JOIN comment_events e ON e.id = (SELECT MAX(id) FROM comment_events WHERE comment_id = c.id AND actor != 'classifier') \
             WHERE e.to_status = c.status AND e.to_status IN ('published', 'spam') \
               AND NOT (c.verdict = 'published' AND e.to_status = 'published') \
               AND NOT (c.verdict = 'rejected' AND e.to_status = 'spam') \
             ORDER BY c.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let to: String = r.get(7)?;
            Ok(LabeledComment {
                label: if to == "spam" {
                    Label::Spam
                } else {
                    Label::Ham
                },
                comment: Comment {
                    comment_content: r.get(0)?,
                    comment_author: Some(r.get(1)?),
                    comment_author_email: Some(r.get(2)?),
                    comment_author_url: r.get(3)?,
                    user_ip: r.get(4)?,
                    user_agent: r.get(5)?,
                    referrer: r.get(6)?,
                    permalink: None,
                    comment_type: Some("comment".into()),
                    comment_date_gmt: None,
                },
            })
        })?;
        let mut examples: Vec<LabeledComment> = rows.collect::<Result<_, _>>()?;
        // Plus what Akismet clients reported through submit-spam / submit-ham.
        let mut stmt = conn.prepare_cached("SELECT record FROM training_examples ORDER BY id")?;
        for record in stmt.query_map([], |r| r.get::<_, String>(0))? {
            if let Ok(example) = serde_json::from_str(&record?) {
                examples.push(example);
            }
        }
        Ok(examples)
    }

    pub fn learning_log(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LearnedExample>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT l.id, l.label, l.sign, l.record, l.source, \
             CASE WHEN c.source = 'import' THEN NULL ELSE c.verdict END \
             FROM learning_log l LEFT JOIN comments c ON c.id = l.comment_id \
             WHERE l.id > ?1 ORDER BY l.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            let label: String = r.get(1)?;
            let sign: i64 = r.get(2)?;
            let record: String = r.get(3)?;
            let source: String = r.get(4)?;
            let arrival: Option<String> = r.get(5)?;
            Ok((r.get::<_, i64>(0)?, label, sign, record, source, arrival))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, label, sign, record, source, arrival) = row?;
            // A record this build cannot read is skipped rather than stop learning for good.
            let Ok(comment) = serde_json::from_str::<Comment>(&record) else {
                tracing::warn!(id, "unreadable learning-log record skipped");
                continue;
            };
            out.push(LearnedExample {
                id,
                label: if label == "spam" {
                    Label::Spam
                } else {
                    Label::Ham
                },
                sign: if sign < 0 { -1.0 } else { 1.0 },
                comment,
                source,
                arrival: arrival.as_deref().and_then(crate::engine::Verdict::parse),
            });
        }
        Ok(out)
    }

    pub fn daily_activity(&self, since: &str) -> Result<Vec<DayActivity>, StorageError> {
        let conn = self.conn()?;
        let mut days: std::collections::BTreeMap<String, DayActivity> = Default::default();
        fn entry(
            days: &mut std::collections::BTreeMap<String, DayActivity>,
            d: String,
        ) -> &mut DayActivity {
            days.entry(d.clone()).or_insert_with(|| DayActivity {
                day: d,
                ..DayActivity::default()
            })
        }
        let mut stmt = conn.prepare_cached(
            "SELECT substr(created_at, 1, 10) AS d, verdict, count(*) FROM comments \
             WHERE created_at >= ?1 AND source != 'import' GROUP BY d, verdict",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let verdicts = rows.collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare_cached(
            "SELECT substr(l.at, 1, 10) AS d, \
               sum(l.label = 'spam' AND c.verdict = 'published'), \
               sum(l.label = 'ham' AND c.verdict IN ('held', 'rejected')) \
             FROM learning_log l JOIN comments c ON c.id = l.comment_id \
             WHERE l.sign = 1 AND l.at >= ?1 AND l.source != 'import' GROUP BY d",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let corrections = rows.collect::<Result<Vec<_>, _>>()?;
        for (d, verdict, n) in verdicts {
            let a = entry(&mut days, d);
            let n = n.max(0) as u64;
            match verdict.as_str() {
                "published" => a.published += n,
                "held" => a.held += n,
                _ => a.rejected += n,
            }
        }
        for (d, spam, ham) in corrections {
            let a = entry(&mut days, d);
            a.spam_published += spam.max(0) as u64;
            a.ham_caught += ham.max(0) as u64;
        }
        Ok(days.into_values().collect())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError> {
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn count_by_status(&self) -> Result<Vec<(Status, u64)>, StorageError> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT status, SUM(n) FROM comment_counts GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut counts = Vec::new();
        for row in rows {
            let (status, n) = row?;
            if let Some(status) = Status::parse(&status) {
                counts.push((status, n.max(0) as u64));
            }
        }
        Ok(counts)
    }

    pub fn create_session(
        &self,
        id_sha256: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM admin_sessions WHERE expires_at <= ?1", [now])?;
        tx.execute(
            "INSERT INTO admin_sessions (id_sha256, csrf, expires_at) VALUES (?1, ?2, ?3)",
            params![id_sha256, csrf, expires_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn session_csrf(&self, id_sha256: &str, now: i64) -> Result<Option<String>, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT csrf FROM admin_sessions WHERE id_sha256 = ?1 AND expires_at > ?2",
                params![id_sha256, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delete_session(&self, id_sha256: &str) -> Result<(), StorageError> {
        let conn = self.conn()?;
        conn.execute(
            "DELETE FROM admin_sessions WHERE id_sha256 = ?1",
            [id_sha256],
        )?;
        Ok(())
    }

    pub fn generation(&self) -> u64 {
        let here = self.generation.load(Ordering::Acquire);
        // Both only grow, so their sum moves whenever either does.
        let elsewhere = self.watch.as_ref().map_or(0, Watch::version);
        here.wrapping_add(elsewhere)
    }

    pub fn ping(&self) -> Result<(), StorageError> {
        let conn = self.conn()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Appends to the learning log what a status change does to the labeled example comment `id`
/// stands for (see [`crate::domain::training_label`]): the old example taken back, the new one
/// added. Nothing when the example does not change (a repeated decision, held → trash).
fn log_decision(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    from: Option<Status>,
    to: Status,
    actor: &str,
) -> rusqlite::Result<()> {
    let verdict: String =
        tx.query_row("SELECT verdict FROM comments WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
    // The schema's CHECK allows only the three verdicts.
    let verdict = Verdict::parse(&verdict).unwrap_or(Verdict::Rejected);
    let before = from.and_then(|s| training_label(verdict, s));
    let after = training_label(verdict, to);
    if before == after {
        return Ok(());
    }
    // The record is built only for a decision that teaches something.
    let record: String = tx.query_row(
        "SELECT json_object('comment_content', content, 'comment_author', author, \
         'comment_author_email', author_email, 'comment_author_url', author_url, \
         'user_agent', user_agent, 'comment_type', comment_type) FROM comments WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let at = now_rfc3339();
    let mut insert = tx.prepare_cached(
        "INSERT INTO learning_log (comment_id, label, sign, record, source, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    if let Some(label) = before {
        insert.execute(params![id, label.as_str(), -1, record, actor, at])?;
    }
    if after.is_some() {
        // A moderator's label supersedes the ham this comment taught by staying published.
        let implicit: i64 = tx.query_row(
            "SELECT COALESCE(SUM(sign), 0) FROM learning_log WHERE comment_id = ?1 AND source = ?2",
            params![id, IMPLICIT_SOURCE],
            |r| r.get(0),
        )?;
        if implicit > 0 {
            insert.execute(params![id, "ham", -1, record, IMPLICIT_SOURCE, at])?;
        }
    }
    if let Some(label) = after {
        insert.execute(params![id, label.as_str(), 1, record, actor, at])?;
    }
    Ok(())
}

impl SqliteStore {
    /// See [`CommentStore::learn_unchallenged`](super::CommentStore::learn_unchallenged).
    pub fn learn_unchallenged(
        &self,
        before: &str,
        after_id: i64,
        limit: u64,
    ) -> Result<(usize, i64), StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut learned, mut through) = (0, after_id);
        {
            let mut candidates = tx.prepare_cached(
                "SELECT id, status = 'published' AND verdict = 'published' \
                 AND source NOT IN ('import', 'akismet') \
                 AND NOT EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = comments.id) \
                 FROM comments WHERE id > ?1 AND created_at < ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows: Vec<(i64, bool)> = candidates
                .query_map(params![after_id, before, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                 SELECT id, 'ham', 1, json_object('comment_content', content, 'comment_author', author, \
                 'comment_author_email', author_email, 'comment_author_url', author_url, \
                 'user_agent', user_agent, 'comment_type', comment_type), ?2, ?3 \
                 FROM comments WHERE id = ?1",
            )?;
            let at = now_rfc3339();
            for (id, unchallenged) in rows {
                through = id;
                if unchallenged {
                    insert.execute(params![id, IMPLICIT_SOURCE, at])?;
                    learned += 1;
                }
            }
        }
        tx.commit()?;
        Ok((learned, through))
    }
}

fn key_blogs(conn: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT blog FROM api_key_blogs WHERE key_id = ?1 ORDER BY blog")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect()
}

fn row_to_key(conn: &Connection, r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let id: i64 = r.get(0)?;
    Ok(ApiKey {
        id,
        prefix: r.get(1)?,
        note: r.get(2)?,
        quota: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
        blogs: key_blogs(conn, id)?,
    })
}

const KEY_COLUMNS: &str = "id, key_prefix, note, quota, created_at, revoked_at";

/// The [`AkismetStore`](super::AkismetStore) operations, blocking; [`super::SqlitePort`] runs them off the
/// executor.
impl SqliteStore {
    pub fn add_key(
        &self,
        key_sha256: &str,
        prefix: &str,
        blogs: &[String],
        note: Option<&str>,
        quota: Option<i64>,
    ) -> Result<ApiKey, StorageError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: take the write lock up front; a deferred read-then-write transaction fails
        // at once with SQLITE_BUSY when the group-commit writer committed in between.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO api_keys (key_sha256, key_prefix, note, quota, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key_sha256, prefix, note, quota, now_rfc3339()],
        )?;
        let id = tx.last_insert_rowid();
        for blog in blogs {
            tx.execute(
                "INSERT OR IGNORE INTO api_key_blogs (key_id, blog) VALUES (?1, ?2)",
                params![id, blog],
            )?;
        }
        let key = tx.query_row(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
            [id],
            |r| row_to_key(&tx, r),
        )?;
        tx.commit()?;
        Ok(key)
    }

    pub fn keys(&self) -> Result<Vec<ApiKey>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([], |r| row_to_key(&conn, r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_sha256 = ?1 AND revoked_at IS NULL"),
                [key_sha256],
                |r| row_to_key(&conn, r),
            )
            .optional()?)
    }

    pub fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE key_sha256 = ?2 AND revoked_at IS NULL",
            params![now_rfc3339(), key_sha256],
        )?;
        Ok(n > 0)
    }

    pub fn count_call(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let conn = self.conn()?;
        Ok(conn.query_row(
            "INSERT INTO api_usage (key_id, month, calls) VALUES (?1, ?2, 1) \
             ON CONFLICT(key_id, month) DO UPDATE SET calls = calls + 1 RETURNING calls",
            params![key_id, month],
            |r| r.get(0),
        )?)
    }

    pub fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT calls FROM api_usage WHERE key_id = ?1 AND month = ?2",
                params![key_id, month],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    pub fn add_example(
        &self,
        example: &LabeledComment,
        source: &str,
        learn: bool,
    ) -> Result<(), StorageError> {
        let conn = self.conn()?;
        let record = serde_json::to_string(example).unwrap_or_default();
        let label = example.label.as_str();
        let tx = conn.unchecked_transaction()?;
        let at = now_rfc3339();
        tx.execute(
            "INSERT INTO training_examples (label, record, source, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![label, record, source, at],
        )?;
        let comment = serde_json::to_string(&example.comment).unwrap_or_default();
        if learn {
            tx.execute(
            "INSERT INTO learning_log (comment_id, label, sign, record, source, at) VALUES (NULL, ?1, 1, ?2, ?3, ?4)",
            params![label, comment, source, at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT id FROM comments WHERE akismet_guid = ?1",
                [guid],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(article: &str, status: Status) -> NewComment {
        NewComment {
            article: article.into(),
            parent_id: None,
            author: "Ana".into(),
            author_email: "ana@example.org".into(),
            author_url: None,
            content: "Nice post".into(),
            user_ip: Some("127.0.0.1".into()),
            user_agent: None,
            referrer: None,
            status,
            verdict: match status {
                Status::Published => "published",
                Status::Held => "held",
                _ => "rejected",
            }
            .into(),
            spam_probability: 0.01,
            clues: "[]".into(),
            model_version: "test".into(),
            source: "test".into(),
            akismet_guid: None,
            api_key_id: None,
        }
    }

    #[test]
    fn kept_counts_match_counting_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let mut ids = Vec::new();
        for i in 0..30 {
            let status = [Status::Published, Status::Held, Status::Spam][i % 3];
            ids.push(store.insert(comment(["a", "b"][i % 2], status)).unwrap().id);
        }
        for (i, id) in ids.iter().enumerate().step_by(4) {
            let to = [Status::Trash, Status::Published, Status::Spam][i % 3];
            store.set_status(*id, to, "admin").unwrap();
        }
        let conn = store.conn().unwrap();
        for article in ["a", "b", "c"] {
            let counted: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM comments WHERE article = ?1 AND status = 'published'",
                    [article],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(store_count(&conn, article), counted, "article {article}");
        }
        drop(conn);
        let total: u64 = store
            .count_by_status()
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(total, 30);
    }

    fn store_count(conn: &Connection, article: &str) -> i64 {
        conn.query_row(
            "SELECT COALESCE((SELECT n FROM comment_counts WHERE article = ?1 AND status = 'published'), 0)",
            [article],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn stores_moderates_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/db.sqlite");
        let id = {
            let store = SqliteStore::open(&path).unwrap();
            let a = store.insert(comment("a", Status::Published)).unwrap();
            let b = store.insert(comment("a", Status::Held)).unwrap();
            store.insert(comment("b", Status::Published)).unwrap();
            assert_eq!(store.count_published("a").unwrap(), 1);
            assert!(
                store
                    .is_duplicate("a", "ana@example.org", "Nice post")
                    .unwrap()
            );
            assert!(
                !store
                    .is_duplicate("a", "bob@example.org", "Nice post")
                    .unwrap()
            );
            let approved = store.set_status(b.id, Status::Published, "admin").unwrap();
            assert_eq!(approved.status, Status::Published);
            assert_eq!(
                store
                    .published("a", crate::storage::Window::Offset(0), 10)
                    .unwrap()
                    .len(),
                2
            );
            assert!(matches!(
                store.set_status(999, Status::Spam, "admin"),
                Err(StorageError::NotFound(999))
            ));
            a.id
        };
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.count_published("a").unwrap(), 2);
        assert_eq!(store.get(id).unwrap().unwrap().content, "Nice post");
        let feedback = store.feedback().unwrap();
        assert_eq!(
            feedback.len(),
            1,
            "the approved held comment is a ham example"
        );
        assert_eq!(feedback[0].label, Label::Ham);
        store.set_status(id, Status::Spam, "admin").unwrap();
        let feedback = store.feedback().unwrap();
        assert_eq!(
            feedback.len(),
            2,
            "a published comment marked spam disagrees with the classifier"
        );
        assert_eq!(feedback[0].label, Label::Spam);
        let history = store.history(id + 1).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].from_status, Some(Status::Held));
        assert_eq!(history[1].actor, "admin");
    }

    #[test]
    fn concurrent_inserts_are_group_committed_and_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        (0..50)
                            .map(|i| {
                                let mut c = comment("a", Status::Published);
                                c.content = format!("comment {t}-{i}");
                                store.insert(c).unwrap().id
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut ids: Vec<i64> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 400, "every acknowledged insert has its own id");
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.count_published("a").unwrap(), 400);
        assert_eq!(store.history(400).unwrap().len(), 1);
    }
}
