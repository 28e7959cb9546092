//! The async port over [`SqliteStore`]: new comments go to its group-commit writer and are
//! awaited without holding a thread; every other call runs one of the shared bodies
//! ([`super::sql`]) on tokio's blocking pool, because SQLite's calls block on disk.

use super::duplicate_index::fingerprint;
use super::sql::{self, comments, import, keys, lessons, ready, sites, threads};
use super::{
    AkismetStore, ApiKey, ArticleOutcome, CommentExtras, CommentOutcome, CommentStore, DayActivity,
    ExportArticle, ExportComment, ImportStore, ImportedComment, LearnedExample, Lesson, NewComment,
    Reputation, ReputationQuery, SiteChange, SiteStore, SqliteStore, Status, StatusEvent,
    StorageError, StoredArticle, StoredComment, TakeBack, Votes,
};
use crate::data::LabeledComment;
use crate::domain::{ArticleRecord, Site, SiteOrigin, Thread};
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
    /// Rules out duplicates without a query ([`super::duplicate_index`]).
    duplicates: Arc<super::duplicate_index::DuplicateIndex>,
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
            duplicates: Arc::default(),
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
}

#[async_trait::async_trait]
impl CommentStore for SqlitePort {
    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError> {
        let stored = self
            .store
            .enqueue(comment)?
            .await
            .map_err(|_| StorageError::WriterStopped)??;
        self.duplicates.add(stored.fingerprint());
        Ok(stored)
    }

    async fn get(&self, id: i64) -> Result<Option<StoredComment>, StorageError> {
        self.read(move |c| ready(comments::get(c, id))).await
    }

    async fn published(
        &self,
        site: i64,
        article: &str,
        window: super::Window,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let article = article.to_owned();
        self.read(move |c| ready(comments::published(c, site, &article, window, limit)))
            .await
    }

    async fn reputation(&self, query: &ReputationQuery) -> Result<Reputation, StorageError> {
        let query = query.clone();
        self.read(move |c| ready(comments::reputation(c, &query)))
            .await
    }

    async fn count_published(&self, site: i64, article: &str) -> Result<u64, StorageError> {
        let article = article.to_owned();
        self.read(move |c| ready(comments::count_published(c, site, &article)))
            .await
    }

    async fn locate_published(
        &self,
        site: i64,
        article: &str,
        remote_ids: [&str; 2],
        own_id: i64,
    ) -> Result<Option<(i64, u64)>, StorageError> {
        let article = article.to_owned();
        let remote_ids = remote_ids.map(str::to_owned);
        self.read(move |c| {
            ready(comments::locate_published(
                c,
                site,
                &article,
                [&remote_ids[0], &remote_ids[1]],
                own_id,
            ))
        })
        .await
    }

    async fn is_duplicate(
        &self,
        site: i64,
        article: &str,
        author_email: &str,
        content: &str,
    ) -> Result<bool, StorageError> {
        let port = self.clone();
        let load = move |after, limit| {
            let port = port.clone();
            async move {
                port.scan(move |c| ready(comments::fingerprints_after(c, after, limit)))
                    .await
            }
        };
        let fingerprint = fingerprint(site, article, author_email, content);
        if !self.duplicates.check(fingerprint, load) {
            return Ok(false);
        }
        let owned = [article, author_email, content].map(str::to_owned);
        self.read(move |c| {
            let [article, email, content] = &owned;
            ready(comments::is_duplicate(c, site, article, email, content))
        })
        .await
    }

    async fn by_status(
        &self,
        status: Status,
        site: Option<i64>,
        article: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let article = article.map(str::to_owned);
        self.read(move |c| {
            ready(comments::by_status(
                c,
                status,
                site,
                article.as_deref(),
                limit,
            ))
        })
        .await
    }

    async fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &str,
    ) -> Result<StoredComment, StorageError> {
        let actor = actor.to_owned();
        self.write(Shown::Changed, move |c| {
            ready(comments::set_status(c, id, to, &actor))
        })
        .await
    }

    async fn history(&self, id: i64) -> Result<Vec<StatusEvent>, StorageError> {
        self.read(move |c| ready(comments::history(c, id))).await
    }

    async fn feedback(&self) -> Result<Vec<LabeledComment>, StorageError> {
        self.read(|c| ready(comments::feedback(c))).await
    }

    async fn learn_unchallenged(
        &self,
        before: &str,
        newer: u64,
        after_id: i64,
        limit: u64,
    ) -> Result<(usize, i64), StorageError> {
        // The scan on the background connection; the shared one only for what is learned.
        let before = before.to_owned();
        let (candidates, through) = self
            .scan(move |c| ready(comments::unchallenged(c, &before, newer, after_id, limit)))
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

    async fn learning_log(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LearnedExample>, StorageError> {
        self.read(move |c| ready(comments::learning_log(c, after, limit)))
            .await
    }

    async fn lessons(
        &self,
        teaches: &str,
        before: i64,
        limit: u64,
    ) -> Result<Vec<Lesson>, StorageError> {
        let teaches = teaches.to_owned();
        self.read(move |c| ready(lessons::lessons(c, &teaches, before, limit)))
            .await
    }

    async fn take_back(&self, id: i64) -> Result<TakeBack, StorageError> {
        self.write(Shown::Same, move |c| ready(lessons::take_back(c, id)))
            .await
    }

    async fn daily_activity(&self, since: &str) -> Result<Vec<DayActivity>, StorageError> {
        let since = since.to_owned();
        self.read(move |c| ready(comments::daily_activity(c, &since)))
            .await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let key = key.to_owned();
        self.read(move |c| ready(comments::setting(c, &key))).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.read(move |c| ready(comments::set_setting(c, &key, &value)))
            .await
    }

    async fn create_session(
        &self,
        id_sha256: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError> {
        let (id, csrf) = (id_sha256.to_owned(), csrf.to_owned());
        self.write(Shown::Same, move |c| {
            ready(comments::create_session(c, &id, &csrf, expires_at, now))
        })
        .await
    }

    async fn session_csrf(
        &self,
        id_sha256: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let id = id_sha256.to_owned();
        self.read(move |c| ready(comments::session_csrf(c, &id, now)))
            .await
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<(), StorageError> {
        let id = id_sha256.to_owned();
        self.read(move |c| ready(comments::delete_session(c, &id)))
            .await
    }

    async fn admit_post(
        &self,
        address: std::net::IpAddr,
        limits: super::PostLimits,
    ) -> Result<super::Admission, StorageError> {
        Ok(self.guard.admit(address, limits))
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.read(|c| ready(comments::ping(c))).await
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

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>, StorageError> {
        self.read(|c| ready(comments::count_by_status(c))).await
    }

    async fn erase_author(&self, email: &str) -> Result<super::Erased, StorageError> {
        let email = email.to_owned();
        self.write(Shown::Changed, move |c| {
            ready(sql::erase::erase_author(c, &email))
        })
        .await
    }
}

#[async_trait::async_trait]
impl AkismetStore for SqlitePort {
    async fn add_key(
        &self,
        key_sha256: &str,
        prefix: &str,
        blogs: &[String],
        note: Option<&str>,
        quota: Option<i64>,
    ) -> Result<ApiKey, StorageError> {
        let (hash, prefix) = (key_sha256.to_owned(), prefix.to_owned());
        let (blogs, note) = (blogs.to_vec(), note.map(str::to_owned));
        self.write(Shown::Same, move |c| {
            ready(keys::add_key(
                c,
                &hash,
                &prefix,
                &blogs,
                note.as_deref(),
                quota,
            ))
        })
        .await
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StorageError> {
        self.read(|c| ready(keys::keys(c))).await
    }

    async fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
        let hash = key_sha256.to_owned();
        self.read(move |c| ready(keys::key_by_hash(c, &hash))).await
    }

    async fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError> {
        let hash = key_sha256.to_owned();
        self.read(move |c| ready(keys::revoke_key(c, &hash))).await
    }

    async fn count_call(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let month = month.to_owned();
        self.read(move |c| ready(keys::count_call(c, key_id, &month)))
            .await
    }

    async fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let month = month.to_owned();
        self.read(move |c| ready(keys::usage(c, key_id, &month)))
            .await
    }

    async fn record_submit(
        &self,
        key_id: i64,
        example: &LabeledComment,
        source: &str,
    ) -> Result<keys::SubmitVote, StorageError> {
        let (example, source) = (example.clone(), source.to_owned());
        self.write(Shown::Same, move |c| {
            ready(keys::record_submit(c, key_id, &example, &source))
        })
        .await
    }

    async fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError> {
        let guid = guid.to_owned();
        self.read(move |c| ready(keys::comment_by_guid(c, &guid)))
            .await
    }
}

#[async_trait::async_trait]
impl ImportStore for SqlitePort {
    async fn import_article(
        &self,
        article: &ArticleRecord,
        taken: &[String],
    ) -> Result<ArticleOutcome, StorageError> {
        let (article, taken) = (article.clone(), taken.to_vec());
        let outcome = self
            .write(Shown::Same, move |c| {
                ready(import::import_article(c, &article, &taken))
            })
            .await?;
        if matches!(outcome, ArticleOutcome::Created(_)) {
            self.store.changed();
        }
        Ok(outcome)
    }

    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        self.write(Shown::Changed, move |c| {
            ready(import::import_comments(c, comments))
        })
        .await
    }

    async fn link_imported_parents(&self) -> Result<u64, StorageError> {
        self.write(Shown::Changed, |c| ready(import::link_imported_parents(c)))
            .await
    }

    async fn known_remote_ids(&self, ids: &[String]) -> Result<Vec<String>, StorageError> {
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut known = Vec::new();
            for id in ids {
                let found = ready(sql::Exec::query_opt(
                    c,
                    import::KNOWN_REMOTE_ID,
                    &[&id],
                    |_| Ok(()),
                ))?;
                if found.is_some() {
                    known.push(id);
                }
            }
            Ok(known)
        })
        .await
    }

    async fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError> {
        self.read(|c| ready(import::public_articles(c))).await
    }

    async fn export_articles(&self) -> Result<Vec<ExportArticle>, StorageError> {
        self.read(|c| ready(import::export_articles(c))).await
    }

    async fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportComment>, StorageError> {
        let article = article.map(str::to_owned);
        self.read(move |c| ready(import::export_comments(c, article.as_deref(), after, limit)))
            .await
    }

    async fn commented_articles(&self) -> Result<Vec<String>, StorageError> {
        self.read(|c| ready(import::commented_articles(c))).await
    }

    async fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError> {
        let path = path.to_owned();
        self.read(move |c| ready(import::moved_article(c, &path, wp_post_id)))
            .await
    }
}

#[async_trait::async_trait]
impl SiteStore for SqlitePort {
    async fn sites(&self) -> Result<Vec<Site>, StorageError> {
        self.read(|c| ready(sites::sites(c))).await
    }

    async fn add_site(&self, change: &SiteChange) -> Result<Site, StorageError> {
        let change = change.clone();
        self.write(Shown::Same, move |c| ready(sites::add_site(c, &change)))
            .await
    }

    async fn remove_site(&self, name: &str, origins: &[SiteOrigin]) -> Result<bool, StorageError> {
        let (name, origins) = (name.to_owned(), origins.to_vec());
        self.write(Shown::Same, move |c| {
            ready(sites::remove_site(c, &name, &origins))
        })
        .await
    }

    async fn thread(&self, site: i64, uri: &str) -> Result<Option<Thread>, StorageError> {
        let uri = uri.to_owned();
        self.read(move |c| ready(sites::thread(c, site, &uri)))
            .await
    }

    async fn create_thread(
        &self,
        site: i64,
        uri: &str,
        title: &str,
    ) -> Result<Thread, StorageError> {
        let (uri, title) = (uri.to_owned(), title.to_owned());
        self.write(Shown::Same, move |c| {
            ready(sites::create_thread(c, site, &uri, &title))
        })
        .await
    }

    async fn threads(&self, site: i64, limit: u64) -> Result<Vec<Thread>, StorageError> {
        self.read(move |c| ready(sites::threads(c, site, limit)))
            .await
    }

    async fn edit_comment(
        &self,
        id: i64,
        content: &str,
        author: &str,
        author_url: Option<&str>,
    ) -> Result<StoredComment, StorageError> {
        let (content, author) = (content.to_owned(), author.to_owned());
        let url = author_url.map(str::to_owned);
        self.write(Shown::Changed, move |c| {
            ready(threads::edit_comment(
                c,
                id,
                &content,
                &author,
                url.as_deref(),
            ))
        })
        .await
        .inspect(|edited| self.duplicates.add(edited.fingerprint()))
    }

    async fn vote(&self, id: i64, voter: &str, up: bool) -> Result<Votes, StorageError> {
        let voter = voter.to_owned();
        self.write(Shown::Same, move |c| {
            ready(threads::vote(c, id, &voter, up))
        })
        .await
    }

    async fn thread_extras(
        &self,
        site: i64,
        uri: &str,
    ) -> Result<Vec<CommentExtras>, StorageError> {
        let uri = uri.to_owned();
        self.read(move |c| ready(threads::thread_extras(c, site, &uri)))
            .await
    }
}

#[async_trait::async_trait]
impl super::OutboxStore for SqlitePort {
    async fn any_events_due(&self, now: &str) -> Result<bool, StorageError> {
        let now = now.to_owned();
        self.read(move |c| ready(sql::outbox::any_due(c, &now)))
            .await
    }

    async fn claim_events(
        &self,
        now: &str,
        lease_until: &str,
        limit: u64,
    ) -> Result<Vec<super::OutboxItem>, StorageError> {
        let (now, lease) = (now.to_owned(), lease_until.to_owned());
        self.write(Shown::Same, move |c| {
            ready(sql::outbox::claim(c, &now, &lease, limit))
        })
        .await
    }

    async fn finish_event(
        &self,
        id: i64,
        outcome: &super::EventOutcome,
    ) -> Result<(), StorageError> {
        let outcome = outcome.clone();
        self.write(Shown::Same, move |c| {
            ready(sql::outbox::finish(c, id, &outcome))
        })
        .await
    }

    async fn delivery_log(
        &self,
        site: i64,
        limit: u64,
    ) -> Result<Vec<super::OutboxItem>, StorageError> {
        self.read(move |c| ready(sql::outbox::log(c, site, limit)))
            .await
    }

    async fn prune_events(&self, before: &str) -> Result<u64, StorageError> {
        let before = before.to_owned();
        self.write(Shown::Same, move |c| ready(sql::outbox::prune(c, &before)))
            .await
    }

    async fn subscribe_replies(&self, id: i64) -> Result<(), StorageError> {
        self.write(Shown::Same, move |c| ready(sql::replies::subscribe(c, id)))
            .await
    }

    async fn reply_subscriber(&self, id: i64) -> Result<Option<super::Subscriber>, StorageError> {
        self.read(move |c| ready(sql::replies::subscriber(c, id)))
            .await
    }

    async fn unsubscribe_replies(&self, id: i64) -> Result<bool, StorageError> {
        self.write(Shown::Same, move |c| {
            ready(sql::replies::unsubscribe(c, id))
        })
        .await
    }

    async fn reply_announced(&self, id: i64) -> Result<bool, StorageError> {
        self.read(move |c| ready(sql::replies::announced(c, id)))
            .await
    }

    async fn announce_reply(&self, id: i64) -> Result<(), StorageError> {
        self.write(Shown::Same, move |c| ready(sql::replies::announce(c, id)))
            .await
    }
}
