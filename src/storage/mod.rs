//! Storage of comments, their status history, keys, sessions and settings, behind one async port
//! ([`CommentStore`], [`AkismetStore`], [`ImportStore`], together [`Store`]) that every command
//! opens through [`open`] from one `--db` value:
//! - a path or `sqlite://PATH`: [`SqliteStore`], the embedded default (WAL, `synchronous=FULL`,
//!   group commit; a comment is acknowledged only after its transaction is durably committed);
//! - `postgres://…`: [`PgStore`], for several replicas on one PostgreSQL server
//!   (`synchronous_commit` on; acknowledged only after commit).
//!
//! No driver type crosses the port: each backend maps its errors to a [`FailureKind`].

pub mod backup;
pub mod copy;
mod forward;
pub mod key_index;
mod locator;
pub mod post_guard;
mod postgres;
pub use postgres::{ExclusiveUse, exclusive_use as postgres_exclusive_use};
pub mod rules;
mod sql;
pub use sql::keys::{SubmitVote, is_key_namespace, key_layer};
pub use sql::lessons::{Lesson, TakeBack};
pub use sql::replies::Subscriber;
mod sqlite;
mod sqlite_port;

pub use locator::Database;
pub use post_guard::{Admission, MemoryGuard, PostLimits};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use sqlite_port::SqlitePort;

use serde::Serialize;
use std::path::PathBuf;

/// What kind of failure the database reported, in the terms callers act on; the backend's own
/// error types stay inside its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The disk is full.
    DiskFull,
    /// The database, its file or its filesystem is read-only.
    ReadOnly,
    /// The disk or the connection failed.
    Io,
    /// Another writer held the database too long.
    Busy,
    /// Anything else (a constraint, a bug, a corrupt file).
    Other,
}

/// Errors of the storage layer. No driver type appears here: each backend maps its errors to a
/// [`FailureKind`] and a message.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database {}: {message}", path.display())]
    Open {
        path: PathBuf,
        kind: FailureKind,
        message: String,
    },
    /// A file that must not be opened or written as it is (see [`backup::check_sqlite_file`]).
    #[error("database {}: {reason}", path.display())]
    Unusable { path: PathBuf, reason: String },
    #[error("cannot create the database directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {message}")]
    Backend { kind: FailureKind, message: String },
    #[error("comment {0} not found")]
    NotFound(i64),
    #[error("the database lock was poisoned by a panic")]
    Poisoned,
    #[error("commit failed, nothing of it was stored: {message}")]
    Write { kind: FailureKind, message: String },
    #[error("the database is read-only")]
    ReadOnly,
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("cannot start the database writer thread: {0}")]
    WriterStart(#[source] std::io::Error),
    #[error("cannot encode a record: {0}")]
    Encode(String),
    #[error("the database is unavailable: {message}")]
    Unavailable { message: String },
    #[error("storage task failed: {0}")]
    Task(String),
    /// The change contradicts what is stored (a name or an origin another site has).
    #[error("{0}")]
    Conflict(String),
}

/// Every part of the port, as one trait object.
pub trait Store: CommentStore + AkismetStore + ImportStore + SiteStore + OutboxStore {}
impl<T: CommentStore + AkismetStore + ImportStore + SiteStore + OutboxStore> Store for T {}

/// Opens the database `--db` names: the one place every command opens storage from. Creates the
/// schema or applies pending migrations.
pub async fn open(database: &Database) -> Result<std::sync::Arc<dyn Store>, StorageError> {
    match database {
        Database::Sqlite(path) => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| StorageError::Task(e.to_string()))??;
            Ok(std::sync::Arc::new(SqlitePort::new(store)))
        }
        Database::Postgres(url) => Ok(std::sync::Arc::new(PgStore::connect(url).await?)),
    }
}

/// [`open`] for a command that reads or changes what is stored (`export`, `sites list`, `rules
/// show`, `erase`, …): a SQLite file that is not there is an error, not a new empty database, so
/// a mistyped `--db` is said rather than answered from a database just created for it.
pub async fn open_existing(database: &Database) -> Result<std::sync::Arc<dyn Store>, StorageError> {
    if let Database::Sqlite(path) = database
        && !path.exists()
    {
        return Err(StorageError::Unusable {
            path: path.clone(),
            reason: "does not exist (check the path; `serve`, `import`, `sites add`, `keys add` \
                     and `rules set` create one)"
                .into(),
        });
    }
    open(database).await
}

impl StorageError {
    /// Why the database cannot take writes at the moment, when that is the problem: the disk is
    /// full, the file or its filesystem is read-only, or the disk fails. Such errors are the
    /// operator's to fix and pass once fixed; nothing stored is affected and reads go on working.
    pub fn unavailable_reason(&self) -> Option<&'static str> {
        let kind = match self {
            StorageError::Backend { kind, .. }
            | StorageError::Write { kind, .. }
            | StorageError::Open { kind, .. } => *kind,
            StorageError::ReadOnly => return Some("the database is read-only"),
            StorageError::Unavailable { .. } | StorageError::WriterStopped => {
                return Some("the database is not reachable");
            }
            _ => return None,
        };
        match kind {
            FailureKind::DiskFull => Some("the server's disk is full"),
            FailureKind::ReadOnly => Some("the database is read-only"),
            FailureKind::Io => Some("the database cannot be written (I/O error)"),
            FailureKind::Busy | FailureKind::Other => None,
        }
    }
}

pub use crate::domain::Status;

/// Which published comments of an article to read, oldest first. The cursors (`After`, `Before`)
/// read through the index from a comment id, so page 10,000 costs what page 1 costs; `Offset`
/// and `FromEnd` (what a page asked for by number alone needs) find the block of 1,024 comment
/// ids their first comment lies in from per-block counts, then skip at most that block's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The first `limit` after skipping this many from the oldest.
    Offset(u64),
    /// The last `limit` before skipping this many from the newest.
    FromEnd(u64),
    /// The first `limit` with an id greater than this.
    After(i64),
    /// The last `limit` with an id less than this.
    Before(i64),
}

/// How an imported comment names an article of this server by its slug (instead of the old
/// site's post id): [`article_key`].
pub const ARTICLE_KEY: &str = "article:";

/// The key of an imported comment that belongs to this server's article `slug`.
pub fn article_key(slug: &str) -> String {
    format!("{ARTICLE_KEY}{slug}")
}

/// A comment to store, as submitted plus the classifier's decision.
#[derive(Debug, Clone)]
pub struct NewComment {
    /// The site it was posted to ([`crate::domain::DEFAULT_SITE`] for the built-in articles).
    pub site_id: i64,
    /// Its thread within the site: an article's slug, or an embedding page's path.
    pub article: String,
    pub parent_id: Option<i64>,
    pub author: String,
    pub author_email: String,
    pub author_url: Option<String>,
    pub content: String,
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub status: Status,
    pub verdict: String,
    pub spam_probability: f64,
    /// JSON array of clues.
    pub clues: String,
    pub model_version: String,
    /// Where it came from: `form`, `api`, `akismet`.
    pub source: String,
    /// Id of the Akismet check that stored it.
    pub akismet_guid: Option<String>,
    /// The API key that sent it.
    pub api_key_id: Option<i64>,
    /// The text is Markdown (written in Isso's widget), rendered when shown; otherwise plain.
    pub markdown: bool,
}

impl NewComment {
    /// The comment as stored with `id` at `created_at`: its text as given, its clues parsed.
    pub fn stored(self, id: i64, created_at: String) -> StoredComment {
        StoredComment {
            id,
            clues: serde_json::from_str(&self.clues).unwrap_or(serde_json::Value::Null),
            article: self.article,
            parent_id: self.parent_id,
            author: self.author,
            author_email: self.author_email,
            author_url: self.author_url,
            content: self.content,
            user_ip: self.user_ip,
            user_agent: self.user_agent,
            status: self.status,
            verdict: self.verdict,
            spam_probability: self.spam_probability,
            model_version: self.model_version,
            source: self.source,
            created_at,
            html: false,
            markdown: self.markdown,
            site_id: self.site_id,
            remote_id: None,
        }
    }
}

/// A stored comment with everything the moderator may see.
#[derive(Debug, Clone, Serialize)]
pub struct StoredComment {
    pub id: i64,
    pub article: String,
    pub parent_id: Option<i64>,
    pub author: String,
    pub author_email: String,
    pub author_url: Option<String>,
    pub content: String,
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    pub status: Status,
    pub verdict: String,
    pub spam_probability: f64,
    pub clues: serde_json::Value,
    pub model_version: String,
    pub source: String,
    pub created_at: String,
    /// The text is sanitized HTML (imported from WordPress or Disqus), not plain text.
    pub html: bool,
    /// The text is Markdown as its author typed it (posted through the Isso API), shown rendered
    /// ([`shown_html`](Self::shown_html)).
    pub markdown: bool,
    /// The site it belongs to.
    pub site_id: i64,
    /// Its id in the system it was imported from (`wordpress:7`, `disqus:123`, `isso:7`), if
    /// it was imported: old links name it ([`crate::domain::old_anchor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
}

impl StoredComment {
    /// How its text is written.
    pub fn format(&self) -> crate::domain::TextFormat {
        use crate::domain::TextFormat;
        match (self.html, self.markdown) {
            (true, _) => TextFormat::Html,
            (false, true) => TextFormat::Markdown,
            (false, false) => TextFormat::Plain,
        }
    }

    /// Its keys in the index of stored comments ([`key_index::KeyedComment::keys`]).
    pub fn index_keys(&self) -> Vec<u32> {
        key_index::KeyedComment {
            site: self.site_id,
            article: &self.article,
            author_email: &self.author_email,
            author_url: self.author_url.as_deref(),
            user_ip: self.user_ip.as_deref(),
            content: &self.content,
        }
        .keys()
    }
}

/// One entry of a comment's status history.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEvent {
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    pub at: String,
}

/// Comments, their moderation, the learning log, settings and sessions: the port the web layer
/// and the commands use. Every method is async; none blocks an executor thread.
#[async_trait::async_trait]
pub trait CommentStore: Send + Sync + 'static {
    /// Stores a comment and returns it with its id, once its transaction is durably committed
    /// (an error means nothing of it was stored).
    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError>;
    /// One comment by id.
    async fn get(&self, id: i64) -> Result<Option<StoredComment>, StorageError>;
    /// At most `limit` published comments of a thread (`article` of `site`) in `window`, oldest
    /// first, without their clues (`Null`): public listings never show them.
    async fn published(
        &self,
        site: i64,
        article: &str,
        window: Window,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError>;
    /// Number of published comments of a thread.
    async fn count_published(&self, site: i64, article: &str) -> Result<u64, StorageError>;
    /// Number of published comments of each thread of a site that has any, in one query (a
    /// list of articles must not cost a query per article).
    /// Number of published comments of each of `articles` of a site, in their order, in one
    /// trip to the database.
    async fn count_published_each(
        &self,
        site: i64,
        articles: &[String],
    ) -> Result<Vec<u64>, StorageError>;
    async fn published_counts(&self, site: i64) -> Result<Vec<(String, u64)>, StorageError>;
    /// The published comment of a thread an anchor names — by its old site's id (`remote_ids`,
    /// which win) or by its own (`own_id`) — and how many published comments of the thread come
    /// before it (so which comment page shows it).
    async fn locate_published(
        &self,
        site: i64,
        article: &str,
        remote_ids: [&str; 2],
        own_id: i64,
    ) -> Result<Option<(i64, u64)>, StorageError>;
    /// What the site knows of a reader ([`Reputation`]), in one lookup.
    async fn reputation(&self, query: &ReputationQuery) -> Result<Reputation, StorageError>;
    /// Whether the same text was already posted to the thread by the same e-mail address.
    async fn is_duplicate(
        &self,
        site: i64,
        article: &str,
        author_email: &str,
        content: &str,
    ) -> Result<bool, StorageError>;
    /// Comments by status (newest first), optionally of one site, and of one thread of it; with
    /// `before`, only those with a smaller id (the next page after one ending at `before`).
    async fn by_status(
        &self,
        status: Status,
        site: Option<i64>,
        article: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError>;
    /// Changes a comment's status and records who did it.
    async fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &str,
    ) -> Result<StoredComment, StorageError>;
    /// A comment's status history, oldest first.
    async fn history(&self, id: i64) -> Result<Vec<StatusEvent>, StorageError>;
    /// The learning log after entry `after`, oldest first, at most `limit` entries: what the
    /// serving model must learn, in order (see `migrations/0005_learning_log.sql`).
    async fn learning_log(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LearnedExample>, StorageError>;
    /// Learning-log entries before id `before`, newest first, of the model `teaches` (a site's
    /// name or `akismet:KEY_ID`; empty: all), at most `limit` (≤ 1,000).
    async fn lessons(
        &self,
        teaches: &str,
        before: i64,
        limit: u64,
    ) -> Result<Vec<Lesson>, StorageError>;
    /// Takes back a lesson no comment's status stands for (an Akismet key's vote).
    async fn take_back(&self, id: i64) -> Result<TakeBack, StorageError>;
    /// Learns, as the site's ham, the comments that were published on arrival and that nobody
    /// challenged: among the comments after id `after_id` created before `before` (RFC 3339) or
    /// followed by at least `newer` readers' comments (0: by time only), oldest first, at most
    /// `limit`, each one still published, not imported, and with no learning-log entry yet gets
    /// one implicit ham entry (source [`IMPLICIT_SOURCE`]), once, while its site (an Akismet
    /// key's check: that key) holds fewer than [`IMPLICIT_PER_SITE`] of them
    /// (the comments after are looked at and passed). A moderator's later label takes it back. Returns how many
    /// were learned and the last id looked at (the caller's next `after_id`). `relayed`: the
    /// Akismet keys' checks instead of the site's readers' comments, by time only, each pass
    /// with its own cursor (a check the blog spoke for without its guid is left out).
    async fn learn_unchallenged(
        &self,
        before: &str,
        newer: u64,
        after_id: i64,
        limit: u64,
        relayed: bool,
    ) -> Result<(usize, i64), StorageError>;
    /// Per day (UTC, oldest first) from `since` (`YYYY-MM-DD`): comments by the classifier's
    /// verdict, and the moderators' corrections of it; one site's, or every site's (`None`).
    async fn daily_activity(
        &self,
        since: &str,
        site: Option<i64>,
    ) -> Result<Vec<DayActivity>, StorageError>;
    /// A server setting.
    async fn setting(&self, key: &str) -> Result<Option<String>, StorageError>;
    /// Sets a server setting.
    async fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError>;
    /// Sets a server setting only if it still holds `expected` (`None`: only while unset);
    /// whether it was set (compare-and-set, for values processes starting together must share).
    async fn replace_setting(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, StorageError>;
    /// Stores a moderator's session (by the hash of its id) until `expires_at` (Unix seconds),
    /// dropping expired ones.
    async fn create_session(
        &self,
        id_sha256: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError>;
    /// The CSRF token of a session that has not expired at `now`.
    async fn session_csrf(&self, id_sha256: &str, now: i64)
    -> Result<Option<String>, StorageError>;
    /// Ends a session.
    async fn delete_session(&self, id_sha256: &str) -> Result<(), StorageError>;
    /// Whether a comment from `address` may be posted now under `limits`, counting it if so.
    /// Replicas on one database share the count.
    async fn admit_post(
        &self,
        address: std::net::IpAddr,
        limits: PostLimits,
    ) -> Result<Admission, StorageError>;
    /// Cheap liveness probe.
    async fn ping(&self) -> Result<(), StorageError>;
    /// A full read of the database's pages for damage (SQLite `PRAGMA quick_check`): what is
    /// wrong, or `None`. Costs a pass over the file, so servers run it once, in the background,
    /// after they start. PostgreSQL checks its own pages: `None`.
    async fn integrity(&self) -> Result<Option<String>, StorageError> {
        Ok(None)
    }
    /// A number that changes after every committed change to comments (new comments, status
    /// changes), so that views derived from them can be cached until it moves.
    fn generation(&self) -> u64;
    /// Tells the other processes on this database now that what pages show has changed, for a
    /// process about to exit (a CLI command): a server otherwise learns of it from the change
    /// itself (SQLite's data version) or from an announcement sent in the background, which an
    /// exiting process may never send (PostgreSQL).
    async fn announce_changes(&self) -> Result<(), StorageError> {
        Ok(())
    }
    /// Number of stored comments per moderation status, of one site or (`None`) of all.
    async fn count_by_status(&self, site: Option<i64>) -> Result<Vec<(Status, u64)>, StorageError>;
    /// Erases the personal data of the commenter with this e-mail address (any case): their
    /// comments keep text and place but lose name, address, website, IP and user agent, and so
    /// do the copies in the learning log and the Akismet examples. In one transaction.
    async fn erase_author(&self, email: &str) -> Result<Erased, StorageError>;
}

/// What [`CommentStore::erase_author`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub comments: u64,
    pub learning_records: u64,
    pub examples: u64,
}

/// What the filter did on one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayActivity {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub published: u64,
    pub held: u64,
    pub rejected: u64,
    /// Comments the classifier published that a moderator marked as spam (by decision day).
    pub spam_published: u64,
    /// Comments the classifier held or rejected that a moderator published (by decision day).
    pub ham_caught: u64,
}

/// One entry of the learning log: a labeled comment to add (`sign` 1) or take back (−1).
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedExample {
    pub id: i64,
    pub label: crate::data::Label,
    pub sign: f64,
    pub comment: crate::data::Comment,
    /// What wrote the entry: `moderation`, `akismet`, `import`, or `implicit` (a comment that
    /// stayed published unchallenged, learned as the site's ham).
    pub source: String,
    /// The verdict the filter gave the comment when it arrived (none for imported history and
    /// API submits without a stored check).
    pub arrival: Option<crate::engine::Verdict>,
    /// The site whose model the entry teaches
    /// ([`site_of_thread`](crate::domain::site_rules::site_of_thread)).
    pub site: String,
}

/// Who sent a reader's comment, as the reputation rules look it up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReputationQuery {
    /// The site asked about: other sites' comments do not count (a reader trusted on one site
    /// is a stranger on another).
    pub site: i64,
    pub email: String,
    pub name: String,
    /// The sender's website domain (`shop.example`), empty when none.
    pub website_domain: String,
    /// The sender's Website as given (`https://github.com/name`), empty when none: whether a
    /// comment of theirs with this very Website is published.
    pub website: String,
    /// The sender's address as text, empty when unknown.
    pub ip: String,
    /// Domains the comment links to; only the first [`REPUTATION_LINK_DOMAINS`] are looked up.
    pub link_domains: Vec<String>,
    /// Spam marked before this time (RFC 3339) no longer counts.
    pub spam_since: String,
    /// Same, for the address: addresses change hands sooner than e-mail addresses.
    pub ip_spam_since: String,
    /// Whose history: `None` for the site's own readers, or the Akismet key whose checks are
    /// asked about (its own checks only: a partner blog's senders are strangers to the site).
    pub api_key: Option<i64>,
}

/// How many of a comment's linked domains the spam-history lookup checks.
pub const REPUTATION_LINK_DOMAINS: usize = 3;

/// What the site knows of a reader, for the reputation rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reputation {
    /// A comment with this address and the same name is published (approved by a moderator,
    /// published on arrival, or imported as approved; in a key's scope, a check of that key
    /// answered or corrected as ham).
    pub returning_author: bool,
    /// Same, and with exactly the Website asked about, on a comment a moderator approved (in a
    /// key's scope, the blog's own correction by guid) or the old site published (an import);
    /// and no moderator (or, in a key's scope, the blog by guid) has marked a comment with this
    /// Website spam since the date asked about — whatever became of that comment since, and
    /// the Website compared without case or a trailing `/`.
    pub website_published: bool,
    /// A comment with this address that was published or held on arrival was marked spam by a
    /// moderator since the date asked about.
    pub marked_spam: bool,
    /// Same, for a comment whose website has the same domain.
    pub website_marked_spam: bool,
    /// Same, for a comment sent from the same address.
    pub ip_marked_spam: bool,
    /// Same, for a comment whose text links to one of the same domains.
    pub link_domain_marked_spam: bool,
}

/// The learning-log source of a comment that stayed published unchallenged (implicit ham).
pub const IMPLICIT_SOURCE: &str = "implicit";

/// Most implicit-ham entries a site's learning log holds (net of take-backs): enough to give the
/// ham side of a site's lessons its mass (a round scales the larger class down to the smaller
/// one's), and a bound on what every learning round and start-up replays. Without it a site that
/// has collected a million comments would replay a million examples on every start (minutes,
/// over a gigabyte resident, measured with `benches/deep_pages.py`).
pub const IMPLICIT_PER_SITE: i64 = 5_000;

impl LearnedExample {
    /// What the model learns from this entry.
    pub fn lesson(&self) -> crate::engine::online::Lesson<'_> {
        crate::engine::online::Lesson {
            comment: &self.comment,
            label: self.label,
            sign: self.sign,
            arrival: self.arrival,
            implicit: self.source == IMPLICIT_SOURCE,
        }
    }
}

/// An Akismet API key as stored (the key itself is never stored, only its SHA-256).
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: i64,
    /// First characters of the key, to recognise it in listings.
    pub prefix: String,
    pub blogs: Vec<String>,
    pub note: Option<String>,
    pub quota: Option<i64>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Storage for the Akismet-compatible API: keys, usage, labeled examples.
#[async_trait::async_trait]
pub trait AkismetStore: Send + Sync + 'static {
    /// Stores a new key (by hash) bound to `blogs`.
    async fn add_key(
        &self,
        key_sha256: &str,
        prefix: &str,
        blogs: &[String],
        note: Option<&str>,
        quota: Option<i64>,
    ) -> Result<ApiKey, StorageError>;
    /// All keys, newest first.
    async fn keys(&self) -> Result<Vec<ApiKey>, StorageError>;
    /// A live (not revoked) key by hash.
    async fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError>;
    /// Revokes a key; false when no live key has this hash.
    async fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError>;
    /// Revokes the active key with id `id` (a lost key, named by its listed prefix).
    async fn revoke_key_id(&self, id: i64) -> Result<bool, StorageError>;
    /// Adds `calls` calls to `month` (`YYYY-MM`) and returns the month's total.
    async fn add_calls(&self, key_id: i64, month: &str, calls: i64) -> Result<i64, StorageError>;
    /// Calls made in `month`.
    async fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError>;
    /// Records a submit-spam / submit-ham without a stored check: one vote per key and text,
    /// learned into the key's own model layer only (see [`SubmitVote`]).
    async fn record_submit(
        &self,
        key_id: i64,
        example: &crate::data::LabeledComment,
        source: &str,
    ) -> Result<SubmitVote, StorageError>;
    /// Id of the comment stored by the Akismet check with this guid.
    async fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError>;
}

/// An imported article as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredArticle {
    pub slug: String,
    pub title: String,
    pub date: String,
    pub author: String,
    /// Sanitized on import.
    pub html: String,
    pub link: Option<String>,
    pub public: bool,
    /// New comments are taken (imported posts keep the old site's "comments closed").
    pub comments_open: bool,
}

/// What importing an article did.
#[derive(Debug, Clone, PartialEq)]
pub enum ArticleOutcome {
    /// Stored under this slug.
    Created(String),
    /// Already there (imported before, or an existing article with the same link): its slug.
    Existing(String),
}

/// An imported comment to store: what the comment becomes, and what the export knew of it.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    /// `wordpress:ID`, `disqus:ID`: a second import of the same id changes nothing.
    pub remote_id: String,
    /// Remote id of its article.
    pub article: String,
    /// Remote id of its parent, resolved by [`ImportStore::link_imported_parents`].
    pub remote_parent: Option<String>,
    /// The comment; its `article` and `parent_id` are filled in by the store.
    pub comment: NewComment,
    /// Original date, RFC 3339.
    pub created_at: String,
    /// `comment`, `pingback`, `trackback`.
    pub comment_type: String,
    /// The labeled example it teaches (appended to the learning log with it), if any.
    pub learn: Option<crate::data::Label>,
    /// Readers' likes and dislikes on the old site. The old site's voters are not known (Isso
    /// keeps only a Bloom filter of them): each vote is stored under a voter id of its own,
    /// `import-like:N` / `import-dislike:N`, which no reader's keyed hash can equal.
    pub likes: u64,
    pub dislikes: u64,
    /// When its author last edited it on the old site (RFC 3339), if known.
    pub edited_at: Option<String>,
}

/// What importing a comment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOutcome {
    Created(i64),
    /// Imported before (same remote id), or stored as the same comment under another id (same
    /// site, article, author's name and e-mail, time and text: a `replyguard export` of it).
    Existing,
    /// Its article is not in the database (nor in the file): not stored.
    Orphan,
}

/// An article as exported: everything stored about it, hidden ones included.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportArticle {
    pub article: StoredArticle,
    pub wp_post_id: Option<i64>,
}

/// A comment as exported.
#[derive(Debug, Clone)]
pub struct ExportComment {
    pub comment: StoredComment,
    /// `comment`, `pingback`, `trackback`.
    pub comment_type: String,
}

/// Storage of imported history: articles with their old addresses, comments with their remote ids.
#[async_trait::async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Stores an article unless its remote id (or, for a thread of another system, its link) is
    /// known; `taken` are slugs already in use outside the database (the Markdown articles),
    /// which an imported article with the same slug joins instead of shadowing.
    async fn import_article(
        &self,
        article: &crate::domain::ArticleRecord,
        taken: &[String],
    ) -> Result<ArticleOutcome, StorageError>;
    /// Makes the post with `remote_id` the page `uri` of `site`: its thread (created once), open
    /// to new comments or not as the post was, where comments naming the post by that id go
    /// from now on, in this import and later ones, and where those a comment dump left on the
    /// post's placeholder article move. How many moved.
    async fn import_page(
        &self,
        remote_id: &str,
        site: i64,
        uri: &str,
        title: &str,
        comments_open: bool,
    ) -> Result<u64, StorageError>;
    /// Stores comments in one transaction, each with its learning-log entry.
    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError>;
    /// Points imported replies at their parents (the file may list a reply before its parent);
    /// returns how many were linked.
    async fn link_imported_parents(&self) -> Result<u64, StorageError>;
    /// The slug of the article already here that [`import_article`](Self::import_article) would
    /// find `article` as (for `--dry-run`): `None` when it would create one.
    async fn known_article(
        &self,
        article: &crate::domain::ArticleRecord,
        taken: &[String],
    ) -> Result<Option<String>, StorageError>;
    /// Which of these comments [`import_comments`](Self::import_comments) would find stored
    /// already, by remote id or as the same comment under another id (for `--dry-run`); `joined`
    /// pairs the remote ids of articles the dry run found with their slugs.
    async fn known_comments(
        &self,
        comments: &[ImportedComment],
        joined: &[(String, String)],
    ) -> Result<Vec<bool>, StorageError>;
    /// The imported articles that are shown, newest first.
    async fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError>;
    /// Every imported article, hidden ones too.
    async fn export_articles(&self) -> Result<Vec<ExportArticle>, StorageError>;
    /// Comments after id `after`, by id, at most `limit`; of one article when given.
    async fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportComment>, StorageError>;
    /// Slugs of every article that has comments.
    async fn commented_articles(&self) -> Result<Vec<String>, StorageError>;
    /// Where an old address of an imported post lives now: its path (`/2017/03/01/hello/`,
    /// `/hello/`) or WordPress post id (`/?p=12`). The slug of a public article.
    async fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError>;
}

/// The setting an import moves whenever it adds or changes articles, so servers reload them.
pub const ARTICLES_VERSION: &str = "articles_version";

/// The setting every change of the sites moves, so servers reload them.
pub const SITES_VERSION: &str = "sites_version";

/// The setting `POST /api/v1/admin/model/reload` moves, so every server on the database loads
/// its model file again, not only the one a load balancer sent the request to.
pub const MODEL_RELOAD: &str = "model_reload";

/// A site to create, or the changes to make to one that exists ([`SiteStore::add_site`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteChange {
    pub name: crate::domain::SiteName,
    /// Its title; a new site without one is titled by its name.
    pub title: Option<String>,
    /// Origins to add.
    pub origins: Vec<crate::domain::SiteOrigin>,
    /// Its settings; a new site without them gets the defaults.
    pub settings: Option<crate::domain::SiteSettings>,
}

/// The sites one server hosts, and their threads.
#[async_trait::async_trait]
pub trait SiteStore: Send + Sync + 'static {
    /// Every site that was not removed, the default site first, then by name.
    async fn sites(&self) -> Result<Vec<crate::domain::Site>, StorageError>;
    /// Creates a site, or (when the name exists) adds the origins and applies the title and
    /// settings given; a removed site of that name comes back with its comments. An origin of
    /// another site is a [`StorageError::Conflict`].
    async fn add_site(&self, change: &SiteChange) -> Result<crate::domain::Site, StorageError>;
    /// Removes `origins` from a site, or with none the whole site (its origins are freed; its
    /// comments stay, under its name). The default site cannot be removed, only its origins.
    /// False when there is no such site.
    async fn remove_site(
        &self,
        name: &str,
        origins: &[crate::domain::SiteOrigin],
    ) -> Result<bool, StorageError>;
    /// A thread of a site by its key.
    async fn thread(
        &self,
        site: i64,
        uri: &str,
    ) -> Result<Option<crate::domain::Thread>, StorageError>;
    /// The thread, created with `title` if it is new (an existing thread keeps its title).
    async fn create_thread(
        &self,
        site: i64,
        uri: &str,
        title: &str,
    ) -> Result<crate::domain::Thread, StorageError>;
    /// Opens or closes a thread to readers' new comments and edits,
    /// creating it with `title` if it is new; the thread after.
    async fn set_comments_open(
        &self,
        site: i64,
        uri: &str,
        title: &str,
        open: bool,
    ) -> Result<crate::domain::Thread, StorageError>;
    /// A site's threads, newest first, at most `limit`.
    async fn threads(
        &self,
        site: i64,
        limit: u64,
    ) -> Result<Vec<crate::domain::Thread>, StorageError>;
    /// Replaces a comment's text, name and website with its author's edit (and notes when).
    async fn edit_comment(
        &self,
        id: i64,
        content: &str,
        author: &str,
        author_url: Option<&str>,
    ) -> Result<StoredComment, StorageError>;
    /// Records `voter`'s like (`up`) or dislike of comment `id`, once per voter; the totals after.
    async fn vote(&self, id: i64, voter: &str, up: bool) -> Result<Votes, StorageError>;
    /// Votes and edit times of a thread's published comments that have any.
    async fn thread_extras(&self, site: i64, uri: &str)
    -> Result<Vec<CommentExtras>, StorageError>;
    /// Votes and edit times of these published or held comments that have any, looked up by id
    /// (a held comment's author may have edited it).
    async fn comment_extras(&self, ids: &[i64]) -> Result<Vec<CommentExtras>, StorageError>;
}

/// A comment's likes and dislikes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Votes {
    pub likes: u64,
    pub dislikes: u64,
}

/// What a published comment of a thread has beyond its row: votes, and when its author last
/// edited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentExtras {
    pub id: i64,
    pub edited_at: Option<String>,
    pub votes: Votes,
}

/// Current time in RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The time `ago` before now in the stored timestamps' format ([`now_rfc3339`]), so it compares
/// with them as text; the epoch if that is further back.
pub fn rfc3339_ago(ago: std::time::Duration) -> String {
    let then = std::time::SystemTime::now()
        .checked_sub(ago)
        .unwrap_or(std::time::UNIX_EPOCH);
    humantime::format_rfc3339_seconds(then).to_string()
}

/// An event of the notification outbox, or (in the delivery log) its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub site_id: i64,
    pub comment_id: i64,
    /// `comment.published`, `comment.held`, `comment.rejected`, `comment.moderated`.
    pub event: String,
    pub attempts: i64,
    /// `pending`, `sent`, `failed` (empty when just claimed).
    pub state: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub done_at: Option<String>,
    /// Channels already delivered (`webhook`, `email`, comma-separated).
    pub done_channels: String,
}

/// How one delivery of an outbox event went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// `sent`, `skipped` (nowhere to deliver), `failed` (given up), or `pending` (try again).
    pub state: String,
    pub error: Option<String>,
    /// When to try again (RFC 3339), for `pending`.
    pub next_attempt_at: String,
    pub attempts: i64,
    pub done_at: Option<String>,
    /// Channels delivered so far (`webhook`, `email`, comma-separated).
    pub done_channels: String,
}

/// The notification outbox (see `migrations/0012_outbox.sql`).
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Whether any event is due at `now` (a read: an idle worker asks this, not
    /// [`claim_events`](Self::claim_events), which writes).
    async fn any_events_due(&self, now: &str) -> Result<bool, StorageError>;
    /// Claims up to `limit` due events until `lease_until` (RFC 3339); no other process gets
    /// them before the lease ends.
    async fn claim_events(
        &self,
        now: &str,
        lease_until: &str,
        limit: u64,
    ) -> Result<Vec<OutboxItem>, StorageError>;
    /// Records how the delivery of event `id` went.
    async fn finish_event(&self, id: i64, outcome: &EventOutcome) -> Result<(), StorageError>;
    /// A site's latest deliveries, newest first.
    async fn delivery_log(&self, site: i64, limit: u64) -> Result<Vec<OutboxItem>, StorageError>;
    /// Forgets delivered and skipped events finished before `before`.
    async fn prune_events(&self, before: &str) -> Result<u64, StorageError>;
    /// Subscribes comment `id`'s author to replies to it (they ticked "notify me of replies").
    async fn subscribe_replies(&self, id: i64) -> Result<(), StorageError>;
    /// Who hears of replies to comment `id`, if anyone does.
    async fn reply_subscriber(&self, id: i64) -> Result<Option<Subscriber>, StorageError>;
    /// Ends the subscription of comment `id`; whether it was on.
    async fn unsubscribe_replies(&self, id: i64) -> Result<bool, StorageError>;
    /// Records that `email` (on `site`) was just asked to confirm it wants reply e-mails.
    async fn ask_reply_address(&self, site: i64, email: &str) -> Result<(), StorageError>;
    /// Records that whoever reads `email` confirmed they want reply e-mails from `site`; false
    /// when it was confirmed already.
    async fn confirm_reply_address(&self, site: i64, email: &str) -> Result<bool, StorageError>;
    /// Whether reply `id` was announced to its parent's author already.
    async fn reply_announced(&self, id: i64) -> Result<bool, StorageError>;
    /// Records that reply `id` was announced.
    async fn announce_reply(&self, id: i64) -> Result<(), StorageError>;
}
