//! The SQLite backend's connections: a group-commit writer thread for new comments, one
//! connection for everything else, and a watch on `PRAGMA data_version`. The operations
//! themselves are the shared bodies of [`super::sql`], which [`super::SqlitePort`] runs here.

use super::sql::comments::{INSERT_COMMENT, new_comment_params};
use super::{NewComment, StorageError, StoredComment, now_rfc3339};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

/// The outcome of a queued insert, available after its group commit.
pub type PendingInsert = tokio::sync::oneshot::Receiver<Result<StoredComment, StorageError>>;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_akismet.sql"),
    include_str!("migrations/0003_duplicate_index.sql"),
    include_str!("migrations/0004_comment_counts.sql"),
    include_str!("migrations/0005_learning_log.sql"),
    include_str!("migrations/0006_import.sql"),
    include_str!("migrations/0007_admin_sessions.sql"),
    include_str!("migrations/0008_learning_log_by_comment.sql"),
    include_str!("migrations/0009_comments_by_email.sql"),
    include_str!("migrations/0010_sites.sql"),
    include_str!("migrations/0011_reader_edits.sql"),
    include_str!("migrations/0012_outbox.sql"),
    include_str!("migrations/0013_submit_votes.sql"),
    include_str!("migrations/0014_reply_subscriptions.sql"),
    include_str!("migrations/0015_comments_closed.sql"),
    include_str!("migrations/0016_published_blocks.sql"),
    include_str!("migrations/0017_learning_log_by_source.sql"),
    include_str!("migrations/0018_comments_by_edit.sql"),
    include_str!("migrations/0019_reply_addresses.sql"),
    include_str!("migrations/0020_markdown.sql"),
    include_str!("migrations/0021_remote_ids_per_site.sql"),
    include_str!("migrations/0022_threads_closed.sql"),
    include_str!("migrations/0023_email_case.sql"),
    include_str!("migrations/0024_checks_by_id.sql"),
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
    /// A read-only connection for the long background reads (the integrity check, the duplicate
    /// index's fill): on the shared connection, a `quick_check` of a 550 MB file held every
    /// page and API read for 1.4 s after each start. WAL lets both read at once. Declared (so
    /// dropped) before `conn`: the WAL is checkpointed and removed by the last writable
    /// connection to close, which a read-only one still open would prevent.
    scan: Mutex<Connection>,
    conn: Mutex<Connection>,
    writer: Option<mpsc::Sender<InsertRequest>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    /// Bumped after every committed change to comments; see [`CommentStore::generation`].
    pub(super) generation: Arc<AtomicU64>,
    /// A connection that only asks `PRAGMA data_version` (closed before `conn`: see `Drop`),
    /// which moves whenever another
    /// connection — this process's writer, or another process (`replyguard import`, a second
    /// server on the same file) — commits: cached pages follow changes made elsewhere too,
    /// within [`WATCH_INTERVAL_MS`].
    watch: Option<Watch>,
    /// A shared advisory lock (`flock`, beside SQLite's own `fcntl` locks, which it does not
    /// touch) on the database file for as long as the store is open: `replyguard restore` takes
    /// it exclusively, so it refuses to swap the file from under a running server or import,
    /// whose later writes would go to the replaced file and be lost.
    _in_use: Option<std::fs::File>,
    /// The file this store opened, to notice it deleted or replaced while open.
    file: OpenedFile,
}

/// The database file as opened: its path and identity (device, inode). SQLite keeps writing to
/// the file it opened whatever happens to the path: deleted, every acknowledged comment would go
/// to a file no one can open again (and its log be overwritten by the next start); replaced (a
/// copy moved over it), to the old one. Writes check the path first, and refuse.
#[derive(Clone)]
struct OpenedFile {
    path: std::path::PathBuf,
    identity: Option<(u64, u64)>,
}

impl OpenedFile {
    fn of(path: &Path) -> Self {
        OpenedFile {
            path: path.to_path_buf(),
            identity: identity(path),
        }
    }

    /// `Err` (unavailable) when the path no longer names the file opened.
    fn check(&self) -> Result<(), StorageError> {
        let Some(opened) = self.identity else {
            return Ok(());
        };
        let now = match std::fs::metadata(&self.path) {
            Ok(meta) => Some(file_id(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // Not knowable now (a permission change, say): the write itself will tell.
            Err(_) => return Ok(()),
        };
        let what = match now {
            Some(now) if now == opened => return Ok(()),
            Some(_) => "was replaced by another file",
            None => "was deleted",
        };
        Err(StorageError::Unavailable {
            message: format!(
                "the database file {} {what} while this server ran: nothing more is written, so \
                 that no comment is acknowledged into a file no one can open again. Stop the \
                 server, put the database back (`replyguard restore` from a backup) and start it",
                self.path.display()
            ),
        })
    }
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| file_id(&m))
}

/// A file's (device, inode).
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
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
    /// Lets the writer finish every queued comment before the database closes, then closes the
    /// change watcher's connection: the fields close in declaration order after this, `conn`
    /// last, and the last connection to close is the one that merges the write-ahead log into
    /// the file and removes it. The watcher (declared after `conn`) closing last, once a page
    /// view had used it, left every comment since the last checkpoint in `-wal` only, so a copy
    /// of the stopped database file lacked them.
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(handle) = self.writer_thread.take() {
            let _ = handle.join();
        }
        drop(self.watch.take());
        if self.file.check().is_err() {
            // The file was deleted or replaced: merging the log into the file this process still
            // holds would empty the log into a file no one can open, and the next start would see
            // a missing database with an empty log, and begin anew. The log is left as it is,
            // so that start refuses.
            for conn in [&self.scan, &self.conn] {
                if let Ok(conn) = conn.lock() {
                    let _ = conn.set_db_config(
                        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                        true,
                    );
                }
            }
            return;
        }
        // And should another connection to the file still be open in this process, the file
        // is made complete anyway (the log's frames copied in, the log emptied).
        if let Ok(conn) = self.conn.lock() {
            let merged = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
            if let Err(e) = merged {
                tracing::debug!(error = %e, "no checkpoint at close");
            }
        }
    }
}

/// A read-only connection to the file, waiting up to 5 s on a lock like the others.
/// The shared lock that marks `path` in use (see `SqliteStore::_in_use`); `None` where the file
/// system has no `flock` (then restore cannot tell, as before).
fn mark_in_use(path: &Path) -> Option<std::fs::File> {
    let file = std::fs::File::open(path).ok()?;
    file.try_lock_shared().ok()?;
    Some(file)
}

fn read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Runs `step` again while SQLite answers "busy" without waiting (for up to 10 s): two processes
/// opening a new file at once both hold a read lock when each asks to switch it to WAL, and SQLite
/// refuses one at once rather than let them wait on each other.
fn retry_while_busy(mut step: impl FnMut() -> rusqlite::Result<()>) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match step() {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && started.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // First: another process opening the same file at the same moment (a second replica, a CLI
    // import) holds its lock for a moment, and every statement below waits for it.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

/// The writer thread: waits for a comment, takes every other one already queued, commits them all.
fn group_commit(
    mut conn: Connection,
    queue: mpsc::Receiver<InsertRequest>,
    generation: Arc<AtomicU64>,
    file: OpenedFile,
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
        let committed = match file.check() {
            Ok(()) => insert_all(&mut conn, comments).map_err(|e| {
                let kind = failure_kind(&e);
                StorageError::Write {
                    kind,
                    message: e.to_string(),
                }
            }),
            Err(gone) => Err(gone),
        };
        match committed {
            Ok(stored) => {
                generation.fetch_add(1, Ordering::Release);
                for (reply, comment) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(comment));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; no comment of the group was acknowledged");
                for reply in replies {
                    // The same error for each (it is not `Clone`: other variants hold sources).
                    let again = match &e {
                        StorageError::Write { kind, message } => StorageError::Write {
                            kind: *kind,
                            message: message.clone(),
                        },
                        StorageError::Unavailable { message } => StorageError::Unavailable {
                            message: message.clone(),
                        },
                        other => StorageError::Unavailable {
                            message: other.to_string(),
                        },
                    };
                    let _ = reply.send(Err(again));
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
        let mut insert = tx.prepare_cached(INSERT_COMMENT)?;
        let mut event = tx.prepare_cached(
            "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
             VALUES (?1, NULL, ?2, 'classifier', ?3)",
        )?;
        for c in comments {
            let params = new_comment_params(&c, &now);
            insert.execute(rusqlite::params_from_iter(params.iter().map(|p| p.lite())))?;
            let id = tx.last_insert_rowid();
            event.execute(rusqlite::params![id, c.status.as_str(), now])?;
            stored.push(c.stored(id, now.clone()));
        }
    }
    tx.commit()?;
    Ok(stored)
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        super::backup::check_sqlite_file(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // A new database is its owner's alone (commenters' addresses are in it), whatever the
        // umask: SQLite gives its `-wal` and `-shm` the database file's mode. An existing file
        // keeps the mode its owner gave it; one created meanwhile by another process is left.
        {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
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
        // Held from now on, before the first table is written: another process opening the file
        // meanwhile then knows its write-ahead log is live ([`super::backup::check_sqlite_file`]).
        let in_use = mark_in_use(path);
        if let Err(e) = retry_while_busy(|| configure(&conn).and_then(|()| migrate(&mut conn))) {
            if cannot_write(&e) {
                drop(conn);
                return Self::open_read_only(path).map_err(|_| open_err(e));
            }
            return Err(open_err(e));
        }
        // Keys stored by a version that kept them as sent get their one spelling.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_err)?;
        super::sql::ready(super::sql::sites::canonical_thread_keys(&*tx))?;
        tx.commit().map_err(open_err)?;
        let writer_conn = Connection::open(path).map_err(open_err)?;
        retry_while_busy(|| configure(&writer_conn)).map_err(open_err)?;
        let (writer, queue) = mpsc::channel();
        let generation = Arc::new(AtomicU64::new(0));
        let file = OpenedFile::of(path);
        let writer_thread = std::thread::Builder::new()
            .name("replyguard-db-writer".into())
            .spawn({
                let generation = generation.clone();
                let file = file.clone();
                move || group_commit(writer_conn, queue, generation, file)
            })
            .map_err(StorageError::WriterStart)?;
        let watch = read_only(path).map_err(open_err)?;
        let scan = read_only(path).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            scan: Mutex::new(scan),
            writer: Some(writer),
            writer_thread: Some(writer_thread),
            generation,
            watch: Some(Watch::new(watch)),
            _in_use: in_use,
            file,
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
        let conn = read_only(path).map_err(open_err)?;
        let applied: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if applied != MIGRATIONS.len() as i64 {
            // An older schema would need a migration, which is a write.
            return Err(StorageError::ReadOnly);
        }
        tracing::warn!(db = %path.display(), "the database cannot be written: serving what is stored, refusing new comments and moderation until it can");
        let scan = read_only(path).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            scan: Mutex::new(scan),
            writer: None,
            writer_thread: None,
            generation: Arc::new(AtomicU64::new(0)),
            watch: None,
            _in_use: mark_in_use(path),
            file: OpenedFile::of(path),
        })
    }

    /// `Err` (unavailable) when the database file was deleted or replaced since it was opened.
    pub(super) fn check_file(&self) -> Result<(), StorageError> {
        self.file.check()
    }

    pub(super) fn conn(&self) -> Result<MutexGuard<'_, Connection>, StorageError> {
        self.conn.lock().map_err(|_| StorageError::Poisoned)
    }

    /// The read-only connection for long background reads ([`SqliteStore::scan`]'s field).
    pub(super) fn scan_conn(&self) -> Result<MutexGuard<'_, Connection>, StorageError> {
        self.scan.lock().map_err(|_| StorageError::Poisoned)
    }

    /// Stores a comment through the group-commit writer and waits, blocking, for its commit.
    pub fn insert(&self, c: NewComment) -> Result<StoredComment, StorageError> {
        self.enqueue(c)?
            .blocking_recv()
            .map_err(|_| StorageError::WriterStopped)?
    }

    /// Queues a comment for the group-commit writer; the receiver hears the outcome.
    pub fn enqueue(&self, c: NewComment) -> Result<PendingInsert, StorageError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let writer = self.writer.as_ref().ok_or(StorageError::ReadOnly)?;
        writer
            .send(InsertRequest { comment: c, reply })
            .map_err(|_| StorageError::WriterStopped)?;
        Ok(outcome)
    }

    /// Moves after every commit of this process and, within [`WATCH_INTERVAL_MS`], of others.
    pub fn generation(&self) -> u64 {
        let here = self.generation.load(Ordering::Acquire);
        // Both only grow, so their sum moves whenever either does.
        let elsewhere = self.watch.as_ref().map_or(0, Watch::version);
        here.wrapping_add(elsewhere)
    }

    /// After a commit of this process that changed comments or articles.
    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
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
    loop {
        // IMMEDIATE: take the write lock up front; a deferred read-then-write transaction fails
        // at once with SQLITE_BUSY when the group-commit writer committed in between. The
        // version is read under that lock: a process opening the file at the same moment may
        // have applied the step since, and a step is applied once.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let Some(sql) = MIGRATIONS.get(applied.max(0) as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", applied + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Label;
    use crate::storage::Status;
    use crate::storage::sql::{comments, ready};

    /// Runs a shared body on the store's connection.
    macro_rules! op {
        ($store:expr, $body:ident $(, $arg:expr)*) => {
            ready(comments::$body(&*$store.conn().unwrap() $(, $arg)*))
        };
    }

    fn comment(article: &str, status: Status) -> NewComment {
        NewComment {
            site_id: crate::domain::DEFAULT_SITE,
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
            markdown: false,
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
            op!(store, set_status, *id, to, "admin").unwrap();
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
        let total: u64 = op!(store, count_by_status, None)
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
            assert_eq!(op!(store, count_published, 1, "a").unwrap(), 1);
            assert!(op!(store, is_duplicate, 1, "a", "ana@example.org", "Nice post").unwrap());
            assert!(!op!(store, is_duplicate, 1, "a", "bob@example.org", "Nice post").unwrap());
            let approved = op!(store, set_status, b.id, Status::Published, "admin").unwrap();
            assert_eq!(approved.status, Status::Published);
            assert_eq!(
                op!(
                    store,
                    published,
                    1,
                    "a",
                    crate::storage::Window::Offset(0),
                    10
                )
                .unwrap()
                .len(),
                2
            );
            assert!(matches!(
                op!(store, set_status, 999, Status::Spam, "admin"),
                Err(StorageError::NotFound(999))
            ));
            a.id
        };
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(op!(store, count_published, 1, "a").unwrap(), 2);
        assert_eq!(op!(store, get, id).unwrap().unwrap().content, "Nice post");
        let lessons = |store: &SqliteStore| -> Vec<(Label, i64)> {
            op!(store, learning_log, 0, 100)
                .unwrap()
                .into_iter()
                .map(|l| (l.label, l.sign as i64))
                .collect()
        };
        assert_eq!(
            lessons(&store),
            [(Label::Ham, 1)],
            "the approved held comment is a ham example"
        );
        op!(store, set_status, id, Status::Spam, "admin").unwrap();
        assert_eq!(
            lessons(&store),
            [(Label::Ham, 1), (Label::Spam, 1)],
            "a published comment marked spam disagrees with the classifier"
        );
        let history = op!(store, history, id + 1).unwrap();
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
        assert_eq!(op!(store, count_published, 1, "a").unwrap(), 400);
        assert_eq!(op!(store, history, 400).unwrap().len(), 1);
    }
}
