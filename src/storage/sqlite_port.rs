//! The async port over [`SqliteStore`]: new comments go to its group-commit writer and are
//! awaited without holding a thread; every other call runs one of the shared bodies
//! ([`super::sql`]) on tokio's blocking pool, because SQLite's calls block on disk. The methods
//! that only run a shared body come from the list both backends share ([`super::forward`]).

use super::forward::{Port, storage_port};
use super::key_index::KeyIndex;
use super::sql::{comments, import, ready};
use super::{SqliteStore, Status, StorageError, Window};
use rusqlite::{Connection, TransactionBehavior};
use std::sync::Arc;

/// Implicit-ham entries written per transaction: a thousand at once held the shared connection
/// for about 250 ms on a first start over a million comments, stalling page reads.
const IMPLICIT_CHUNK: usize = 50;

/// A [`SqliteStore`] behind the async port.
#[derive(Clone)]
pub struct SqlitePort {
    store: Arc<SqliteStore>,
    /// One server owns a SQLite database, so its posting limits live in its memory.
    guard: Arc<super::MemoryGuard>,
    /// Rules out duplicates and unknown senders without a query ([`super::key_index`]).
    key_index: Arc<KeyIndex>,
}

/// Whether a write changes what pages show (comments, articles), so cached views must go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Changed,
    Same,
}

impl SqlitePort {
    /// Wraps an open store.
    pub fn new(store: SqliteStore) -> Self {
        SqlitePort {
            store: Arc::new(store),
            guard: Arc::default(),
            key_index: Arc::default(),
        }
    }

    /// Runs a body on the shared connection, on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.on(SqliteStore::conn, body).await
    }

    /// Runs a long read-only body on the background connection, so the reads that pages and
    /// APIs wait on are not queued behind it.
    async fn scan<T: Send + 'static>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        self.on(SqliteStore::scan_conn, body).await
    }

    /// Runs a body on the connection `pick` locks, on the blocking pool.
    async fn on<T: Send + 'static>(
        &self,
        pick: fn(&SqliteStore) -> Result<std::sync::MutexGuard<'_, Connection>, StorageError>,
        body: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || body(&*pick(&store)?))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Runs a body in one `IMMEDIATE` transaction (the write lock taken up front: a deferred
    /// read-then-write transaction fails at once with SQLITE_BUSY when the group-commit writer
    /// committed in between), on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        shown: Shown,
        body: impl FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            store.check_file()?;
            let mut conn = store.conn()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let outcome = body(&tx)?;
            tx.commit()?;
            if shown == Shown::Changed {
                store.changed();
            }
            Ok(outcome)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Implicit ham ([`super::CommentStore::learn_unchallenged`]): the scan on the background
    /// connection, the learning in small transactions.
    async fn learn_unchallenged_in_chunks(
        &self,
        before: &str,
        newer: u64,
        after_id: i64,
        limit: u64,
        relayed: bool,
    ) -> Result<(usize, i64), StorageError> {
        // The scan on the background connection; the shared one only for what is learned.
        let before = before.to_owned();
        let (candidates, through) = self
            .scan(move |c| {
                ready(comments::unchallenged(
                    c, &before, newer, after_id, limit, relayed,
                ))
            })
            .await?;
        if candidates.is_empty() {
            return Ok((0, through));
        }
        // Small transactions: each holds the shared connection that page reads wait on.
        let mut learned = 0;
        for chunk in candidates.chunks(IMPLICIT_CHUNK) {
            let chunk = chunk.to_vec();
            learned += self
                .write(Shown::Same, move |c| {
                    ready(comments::learn_implicit(c, &chunk))
                })
                .await?;
        }
        Ok((learned, through))
    }
}

/// An argument of a port method as a SQLite body takes it to the blocking pool: owned, so the
/// body does not outlive the caller's borrows.
pub(super) trait Carry {
    /// What the body holds.
    type Owned: Send + 'static;
    /// Takes the argument along.
    fn carry(self) -> Self::Owned;
}

/// An argument a body holds, lent back in the form the shared body takes ([`Carry`] undone).
pub(super) trait Lend<'a> {
    /// The argument as the shared body takes it.
    type Lent;
    /// The argument, borrowed from what the body holds.
    fn lend(&'a self) -> Self::Lent;
}

/// [`Carry`] and [`Lend`] for values that are copied.
macro_rules! carried_by_copy {
    ($($t:ty),*) => {$(
        impl Carry for $t {
            type Owned = $t;
            fn carry(self) -> $t {
                self
            }
        }
        impl Lend<'_> for $t {
            type Lent = $t;
            fn lend(&self) -> $t {
                *self
            }
        }
    )*};
}

carried_by_copy!(i64, u64, bool, Option<i64>, Status, Window);

impl Carry for &str {
    type Owned = String;
    fn carry(self) -> String {
        self.to_owned()
    }
}

impl<'a> Lend<'a> for String {
    type Lent = &'a str;
    fn lend(&'a self) -> &'a str {
        self
    }
}

impl Carry for Option<&str> {
    type Owned = Option<String>;
    fn carry(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

impl<'a> Lend<'a> for Option<String> {
    type Lent = Option<&'a str>;
    fn lend(&'a self) -> Option<&'a str> {
        self.as_deref()
    }
}

impl Carry for [&str; 2] {
    type Owned = [String; 2];
    fn carry(self) -> [String; 2] {
        self.map(str::to_owned)
    }
}

impl<'a> Lend<'a> for [String; 2] {
    type Lent = [&'a str; 2];
    fn lend(&'a self) -> [&'a str; 2] {
        self.each_ref().map(String::as_str)
    }
}

impl<T: Clone + Send + 'static> Carry for &[T] {
    type Owned = Vec<T>;
    fn carry(self) -> Vec<T> {
        self.to_vec()
    }
}

impl<'a, T: 'a> Lend<'a> for Vec<T> {
    type Lent = &'a [T];
    fn lend(&'a self) -> &'a [T] {
        self
    }
}

/// A borrowed argument cloned for the body.
pub(super) struct Cloned<T>(T);

impl<T: Clone + Send + 'static> Carry for &T {
    type Owned = Cloned<T>;
    fn carry(self) -> Cloned<T> {
        Cloned(self.clone())
    }
}

impl<'a, T: 'a> Lend<'a> for Cloned<T> {
    type Lent = &'a T;
    fn lend(&'a self) -> &'a T {
        &self.0
    }
}

/// The SQLite runner of [`storage_port!`]: `plain` bodies on the shared connection, `atomic` and
/// `locked` ones in an `IMMEDIATE` transaction; each on the blocking pool, with its arguments
/// carried there ([`Carry`]). Learning implicit ham goes its own way.
macro_rules! sqlite_runs {
    // Implicit ham in small transactions, not one: each holds the shared connection that page
    // reads wait on.
    ($port:tt, atomic learn_unchallenged($($arg:ident),*) |$exec:ident| $call:expr) => {
        $port.learn_unchallenged_in_chunks($($arg),*).await
    };
    ($port:tt, plain $name:ident($($arg:ident),*) |$exec:ident| $call:expr) => {{
        $(let $arg = Carry::carry($arg);)*
        $port
            .read(move |$exec| {
                $(let $arg = Lend::lend(&$arg);)*
                ready($call)
            })
            .await
    }};
    ($port:tt, $mode:ident $(+ $shown:ident)? $name:ident($($arg:ident),*) |$exec:ident| $call:expr) => {{
        $(let $arg = Carry::carry($arg);)*
        $port
            .write(sqlite_runs!(@shown $($shown)?), move |$exec| {
                $(let $arg = Lend::lend(&$arg);)*
                ready($call)
            })
            .await
    }};
    (@shown) => {
        Shown::Same
    };
    (@shown shown) => {
        Shown::Changed
    };
}

impl Port for SqlitePort {
    fn key_index(&self) -> &KeyIndex {
        &self.key_index
    }

    fn may_hold_any(&self, keys: &[u32]) -> bool {
        let port = self.clone();
        let load = move |read, limit| {
            let port = port.clone();
            async move {
                port.scan(move |c| ready(comments::keyed_rows(c, &read, limit)))
                    .await
            }
        };
        self.key_index.check(keys, load)
    }

    fn pages_changed(&self) {
        self.store.changed();
    }
}

storage_port!(CommentStore for SqlitePort, sqlite_runs {
    /// The database answers, and its file is still the one opened (not deleted or replaced).
    async fn ping(&self) -> Result<(), StorageError> {
        self.store.check_file()?;
        self.read(|c| ready(comments::ping(c))).await
    }

    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError> {
        let stored = self
            .store
            .enqueue(comment)?
            .await
            .map_err(|_| StorageError::WriterStopped)??;
        self.key_index.add(&stored.index_keys());
        Ok(stored)
    }

    async fn admit_post(
        &self,
        address: std::net::IpAddr,
        limits: PostLimits,
    ) -> Result<Admission, StorageError> {
        Ok(self.guard.admit(address, limits))
    }

    async fn integrity(&self) -> Result<Option<String>, StorageError> {
        self.scan(|c| {
            let problems: Vec<String> = c
                .prepare("PRAGMA quick_check(10)")
                .and_then(|mut check| {
                    check
                        .query_map([], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap_or_else(|e| vec![e.to_string()]);
            Ok((problems != ["ok"]).then(|| problems.join("; ")))
        })
        .await
    }

    fn generation(&self) -> u64 {
        self.store.generation()
    }
});

storage_port!(AkismetStore for SqlitePort, sqlite_runs {});

storage_port!(ImportStore for SqlitePort, sqlite_runs {
    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        self.write(Shown::Changed, move |c| {
            ready(import::import_comments(c, comments))
        })
        .await
    }
});

storage_port!(SiteStore for SqlitePort, sqlite_runs {});

storage_port!(OutboxStore for SqlitePort, sqlite_runs {});
