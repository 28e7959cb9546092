//! PostgreSQL implementation of the storage port, for several replicas on one database server.
//!
//! - Connections come from a deadpool pool (recycled after a server restart); every connection
//!   runs with `synchronous_commit = on`, so a comment is acknowledged only once its commit is on
//!   disk.
//! - New comments are group-committed like on SQLite: writer tasks take every comment waiting at
//!   that moment and store them with one statement in one transaction.
//! - Every replica LISTENs on `replyguard_changes` and drops its cached pages when it hears it;
//!   after each commit that changes comments or articles, the writer sends it (coalesced: one
//!   `NOTIFY` for everything committed meanwhile, in its own non-durable transaction). Not from a
//!   trigger inside the comment's transaction: PostgreSQL serializes the commits of notifying
//!   transactions, fsync included, which capped two replicas at ~2,500 comments/s.
//! - Appends to the learning log are serialized by a transaction-level advisory lock, so ids
//!   become visible in id order and every replica folds the same log in the same order.

/// Runs a shared body (`$body`, naming the transaction `$tx`) in one transaction on a pooled
/// connection and commits it; evaluates to the body's outcome once committed.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {{
        let mut client = $store.client().await?;
        let transaction = client.transaction().await?;
        let outcome = {
            let $tx = crate::storage::sql::Pg(&transaction);
            $body.await?
        };
        transaction.commit().await?;
        Ok::<_, StorageError>(outcome)
    }};
}

/// The PostgreSQL runner of [`storage_port!`](crate::storage::forward): `plain` and `locked`
/// bodies on a pooled connection (each statement committed alone), `atomic` ones in one
/// transaction; `+shown` tells this replica and the others once committed ([`PgStore::changed`]).
macro_rules! pg_runs {
    ($store:tt, atomic $(+ $shown:ident)? $name:ident($($arg:ident),*) |$exec:ident| $call:expr) => {{
        let outcome = in_transaction!($store, tx => {
            let $exec = &tx;
            $call
        })?;
        $(pg_runs!(@$shown $store);)?
        Ok(outcome)
    }};
    ($store:tt, $mode:ident $(+ $shown:ident)? $name:ident($($arg:ident),*) |$exec:ident| $call:expr) => {{
        let client = $store.client().await?;
        let $exec = &crate::storage::sql::Pg(&client);
        let outcome = $call.await?;
        $(pg_runs!(@$shown $store);)?
        Ok(outcome)
    }};
    (@shown $store:tt) => {
        $store.changed()
    };
}

mod comments;
mod import;

crate::storage::forward::storage_port!(AkismetStore for PgStore, pg_runs {});

crate::storage::forward::storage_port!(OutboxStore for PgStore, pg_runs {});

crate::storage::forward::storage_port!(SiteStore for PgStore, pg_runs {});

impl crate::storage::forward::Port for PgStore {
    fn key_index(&self) -> &crate::storage::key_index::KeyIndex {
        &self.key_index
    }

    fn may_hold_any(&self, keys: &[u32]) -> bool {
        let pool = self.pool.clone();
        let load = move |read, limit| {
            let pool = pool.clone();
            async move {
                let client = pool.get().await?;
                let exec = crate::storage::sql::Pg(&client);
                crate::storage::sql::comments::keyed_rows(&exec, &read, limit).await
            }
        };
        self.key_index.check(keys, load)
    }

    fn pages_changed(&self) {
        self.changed();
    }
}

use super::{StorageError, StoredComment};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// Schema migrations, applied in order; the table `replyguard_schema` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_schema.sql"),
    include_str!("0002_learning_log_by_comment.sql"),
    include_str!("0003_comments_by_email.sql"),
    include_str!("0004_sites.sql"),
    include_str!("0005_reader_edits.sql"),
    include_str!("0006_outbox.sql"),
    include_str!("0007_submit_votes.sql"),
    include_str!("0008_reply_subscriptions.sql"),
    include_str!("0009_comments_closed.sql"),
    include_str!("0010_published_blocks.sql"),
    include_str!("0011_learning_log_by_source.sql"),
    include_str!("0012_comments_by_edit.sql"),
    include_str!("0013_reply_addresses.sql"),
    include_str!("0014_markdown.sql"),
    include_str!("0015_remote_ids_per_site.sql"),
    include_str!("0016_threads_closed.sql"),
    include_str!("0017_email_case.sql"),
    include_str!("0018_checks_by_id.sql"),
];

/// The `application_name` replyguard's connections carry (unless the URL names another), so an
/// operator sees them in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "replyguard";

/// Key of the advisory lock every replyguard process on a database holds shared for as long as it
/// runs (its change listener's session takes it), and that `restore` and `migrate` take
/// exclusively: they refuse while anything else of replyguard is on the database, whatever
/// `application_name` its URL gives, and keep starting processes from counting as idle.
pub const IN_USE_LOCK: i64 = 0x7265_706c_7967_0003;

/// The database at `url` held exclusively for a `restore` or a `migrate`: no replyguard process
/// is on it, and none can take it as in use until this is dropped (its session ends).
pub struct ExclusiveUse {
    _client: tokio_postgres::Client,
}

/// Takes the database at `url` for a `restore`/`migrate`: refused while a replyguard process (a
/// server, an import) is connected to it — what it wrote after the swap would be lost, and its
/// cached pages and learned model would no longer match the data — and, without `force`, when
/// the database holds comments. The same two refusals a SQLite restore makes.
pub async fn exclusive_use(url: &str, force: bool) -> Result<ExclusiveUse, StorageError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    let shown = super::Database::Postgres(url.to_string()).to_string();
    let alone: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&IN_USE_LOCK])
        .await?
        .try_get(0)?;
    if !alone {
        return Err(StorageError::Unusable {
            path: shown.into(),
            reason: "it is in use by a replyguard replica or import: stop every replica first; \
                     what they wrote after the restore would be lost"
                .into(),
        });
    }
    let has_comments: bool = client
        .query_one("SELECT to_regclass('comments') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    let comments: i64 = if has_comments {
        client
            .query_one("SELECT count(*) FROM comments", &[])
            .await?
            .try_get(0)?
    } else {
        0
    };
    if comments > 0 && !force {
        return Err(StorageError::Unusable {
            path: shown.into(),
            reason: format!(
                "it already holds {comments} comments; restoring would replace them. Stop the \
                 servers, back it up if you may need it, and run again with --force"
            ),
        });
    }
    Ok(ExclusiveUse { _client: client })
}

/// Key of the advisory lock that serializes schema migrations across starting replicas.
const MIGRATION_LOCK: i64 = 0x7265_706c_7967_0001;

/// Most comments committed together in one transaction.
const MAX_GROUP: usize = 512;
/// Writer tasks per replica: while one commits, the next gathers its group.
const WRITERS: usize = 2;
/// Connections per replica: few, so that PostgreSQL's processes do not crowd a small machine's
/// cores (two replicas: 3.1 k comments/s on 2 cores with 8, `benches/replicas_load.sh`).
const POOL_SIZE: usize = 8;

struct InsertRequest {
    comment: super::NewComment,
    reply: tokio::sync::oneshot::Sender<Result<StoredComment, StorageError>>,
}

/// Comments and everything else in one PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    writer: tokio::sync::mpsc::Sender<InsertRequest>,
    /// Bumped after this replica's own commits and at every change notification.
    generation: Arc<AtomicU64>,
    /// Wakes the task that tells the other replicas about a commit.
    announce: Arc<tokio::sync::Notify>,
    /// Posts counted by the limits; every [`PRUNE_EVERY`]th prunes addresses not seen for an hour.
    admissions: AtomicU64,
    /// Rules out duplicates and unknown senders without a query ([`crate::storage::key_index`]).
    pub(super) key_index: Arc<crate::storage::key_index::KeyIndex>,
}

/// How often (in counted posts) stale rows leave the `post_guard` table.
pub(super) const PRUNE_EVERY: u64 = 4096;

/// An error and its causes on one line (the driver's own message is often only "error
/// connecting to server"; the cause says why).
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The driver's error in the storage layer's terms.
pub(super) fn pg_error(e: tokio_postgres::Error) -> StorageError {
    use super::FailureKind;
    let message = chain(&e);
    let kind = match e.code() {
        Some(c) if *c == SqlState::DISK_FULL => FailureKind::DiskFull,
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => FailureKind::ReadOnly,
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            FailureKind::Busy
        }
        Some(c)
            if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
        {
            return StorageError::Unavailable { message };
        }
        Some(_) => FailureKind::Other,
        // No SQL state: the connection itself failed (server gone, socket closed).
        None => return StorageError::Unavailable { message },
    };
    StorageError::Backend { kind, message }
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        pg_error(e)
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => pg_error(e),
            other => StorageError::Unavailable {
                message: other.to_string(),
            },
        }
    }
}

impl PgStore {
    /// Connects to `url`, creates or migrates the schema, and starts the group-commit writers and
    /// the change listener.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let shown = super::Database::Postgres(url.to_string()).to_string();
        let open_err = |message: String| StorageError::Open {
            path: shown.clone().into(),
            kind: super::FailureKind::Io,
            message,
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_err(format!("invalid URL: {e}")))?;
        // Acknowledge nothing that is not on disk, whatever the server's default.
        config.options("-c synchronous_commit=on");
        if config.get_application_name().is_none() {
            config.application_name(APPLICATION_NAME);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(5)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .recycle_timeout(Some(std::time::Duration::from_secs(5)))
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        {
            let mut client = pool.get().await.map_err(|e| {
                let cause = match &e {
                    deadpool_postgres::PoolError::Backend(e) => chain(e),
                    other => chain(other),
                };
                open_err(format!("cannot connect to PostgreSQL: {cause}"))
            })?;
            migrate(&mut client)
                .await
                .map_err(|e| open_err(format!("cannot create the schema: {}", chain(&e))))?;
            canonical_thread_keys(&mut client)
                .await
                .map_err(|e| open_err(format!("cannot update the thread keys: {e}")))?;
        }
        let generation = Arc::new(AtomicU64::new(1));
        let announce = Arc::new(tokio::sync::Notify::new());
        let (writer, queue) = tokio::sync::mpsc::channel(MAX_GROUP * 4);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..WRITERS {
            tokio::spawn(group_commit(
                pool.clone(),
                queue.clone(),
                generation.clone(),
                announce.clone(),
            ));
        }
        tokio::spawn(listen(config, generation.clone()));
        tokio::spawn(announcer(pool.clone(), announce.clone()));
        Ok(PgStore {
            pool,
            writer,
            generation,
            announce,
            admissions: AtomicU64::new(0),
            key_index: Arc::default(),
        })
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Client, StorageError> {
        Ok(self.pool.get().await?)
    }

    /// After a commit that changed comments or articles: this replica's pages are stale now, the
    /// others' once the announcement reaches them.
    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.announce.notify_one();
    }
}

/// Applies pending migrations under an advisory lock, so replicas starting together take turns.
async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS replyguard_schema (version INTEGER NOT NULL)")
        .await?;
    let applied: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM replyguard_schema",
            &[],
        )
        .await?
        .try_get(0)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO replyguard_schema (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )
        .await?;
    }
    tx.commit().await
}

/// Gives stored thread keys their one spelling ([`super::sql::sites::canonical_thread_keys`]),
/// under the migrations' lock so that replicas starting together take turns.
async fn canonical_thread_keys(client: &mut deadpool_postgres::Client) -> Result<(), StorageError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    super::sql::sites::canonical_thread_keys(&super::sql::Pg(&tx)).await?;
    Ok(tx.commit().await?)
}

/// A writer task: waits for a comment, takes every other one already queued, commits them all.
async fn group_commit(
    pool: Pool,
    queue: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<InsertRequest>>>,
    generation: Arc<AtomicU64>,
    announce: Arc<tokio::sync::Notify>,
) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            batch
        };
        let (comments, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|r| (r.comment, r.reply)).unzip();
        match comments::insert_all(&pool, comments).await {
            Ok(stored) => {
                generation.fetch_add(1, Ordering::Release);
                announce.notify_one();
                for (reply, comment) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(comment));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; no comment of the group was acknowledged");
                let message = e.to_string();
                let unavailable = e.unavailable_reason().is_some();
                for reply in replies {
                    let _ = reply.send(Err(if unavailable {
                        StorageError::Unavailable {
                            message: message.clone(),
                        }
                    } else {
                        StorageError::Write {
                            kind: super::FailureKind::Other,
                            message: message.clone(),
                        }
                    }));
                }
            }
        }
    }
}

/// Sends `NOTIFY replyguard_changes` after commits, one for all those made since the last: in a
/// transaction of its own without waiting for the disk (a notification lost in a crash costs
/// nothing — every replica reconnecting treats its pages as stale anyway).
async fn announcer(pool: Pool, announce: Arc<tokio::sync::Notify>) {
    loop {
        announce.notified().await;
        let client = match pool.get().await {
            Ok(client) => client,
            Err(e) => {
                tracing::debug!(error = %e, "cannot announce a change to the other replicas");
                continue;
            }
        };
        if let Err(e) = client
            .batch_execute(
                "BEGIN; SET LOCAL synchronous_commit TO off; NOTIFY replyguard_changes; COMMIT",
            )
            .await
        {
            tracing::debug!(error = %e, "cannot announce a change to the other replicas");
            // A failure midway may leave the transaction open: this connection is not reused.
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// Follows `replyguard_changes` for as long as the process runs, reconnecting after a failure;
/// every notification (and every reconnection, which may have missed some) moves the generation.
async fn listen(config: tokio_postgres::Config, generation: Arc<AtomicU64>) {
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let notified = generation.clone();
                let driver = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                notified.fetch_add(1, Ordering::Release);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "change listener lost its connection");
                                break;
                            }
                        }
                    }
                });
                // The session also says the database is in use ([`IN_USE_LOCK`]); not while a
                // restore holds it (then this process is writing into what is being replaced,
                // which `restore` told its operator not to do).
                let in_use = client
                    .query_one("SELECT pg_try_advisory_lock_shared($1)", &[&IN_USE_LOCK])
                    .await;
                if !matches!(
                    in_use.as_ref().map(|r| r.try_get::<_, bool>(0)),
                    Ok(Ok(true))
                ) {
                    tracing::debug!("the database is held by a restore or a migrate");
                }
                if let Err(e) = client.batch_execute("LISTEN replyguard_changes").await {
                    tracing::warn!(error = %e, "cannot LISTEN for changes");
                } else {
                    delay = std::time::Duration::from_millis(100);
                    generation.fetch_add(1, Ordering::Release);
                    let _ = driver.await;
                }
                drop(client);
            }
            Err(e) => tracing::debug!(error = %e, "change listener cannot connect"),
        }
        generation.fetch_add(1, Ordering::Release);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(2));
    }
}
