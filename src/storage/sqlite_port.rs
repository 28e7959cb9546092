//! The async port over [`SqliteStore`]: new comments go to its group-commit writer and are
//! awaited without holding a thread; every other call runs on tokio's blocking pool, because
//! SQLite's calls block on disk.

use super::{
    AkismetStore, ApiKey, ArticleOutcome, CommentOutcome, CommentStore, DayActivity, ExportArticle,
    ExportComment, ImportStore, ImportedComment, LearnedExample, NewComment, SqliteStore, Status,
    StatusEvent, StorageError, StoredArticle, StoredComment,
};
use crate::data::LabeledComment;
use crate::import::ArticleRecord;
use std::sync::Arc;

/// A [`SqliteStore`] behind the async port.
#[derive(Clone)]
pub struct SqlitePort {
    store: Arc<SqliteStore>,
    /// One server owns a SQLite database, so its posting limits live in its memory.
    guard: Arc<super::MemoryGuard>,
}

impl SqlitePort {
    /// Wraps an open store.
    pub fn new(store: SqliteStore) -> Self {
        SqlitePort {
            store: Arc::new(store),
            guard: Arc::default(),
        }
    }

    /// Runs a blocking call on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SqliteStore) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl CommentStore for SqlitePort {
    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError> {
        self.store
            .enqueue(comment)?
            .await
            .map_err(|_| StorageError::WriterStopped)?
    }

    async fn get(&self, id: i64) -> Result<Option<StoredComment>, StorageError> {
        self.run(move |s| s.get(id)).await
    }

    async fn published(
        &self,
        article: &str,
        window: super::Window,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let article = article.to_owned();
        self.run(move |s| s.published(&article, window, limit))
            .await
    }

    async fn count_published(&self, article: &str) -> Result<u64, StorageError> {
        let article = article.to_owned();
        self.run(move |s| s.count_published(&article)).await
    }

    async fn is_duplicate(
        &self,
        article: &str,
        author_email: &str,
        content: &str,
    ) -> Result<bool, StorageError> {
        let (a, e, c) = (
            article.to_owned(),
            author_email.to_owned(),
            content.to_owned(),
        );
        self.run(move |s| s.is_duplicate(&a, &e, &c)).await
    }

    async fn by_status(
        &self,
        status: Status,
        article: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let article = article.map(str::to_owned);
        self.run(move |s| s.by_status(status, article.as_deref(), limit))
            .await
    }

    async fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &str,
    ) -> Result<StoredComment, StorageError> {
        let actor = actor.to_owned();
        self.run(move |s| s.set_status(id, to, &actor)).await
    }

    async fn history(&self, id: i64) -> Result<Vec<StatusEvent>, StorageError> {
        self.run(move |s| s.history(id)).await
    }

    async fn feedback(&self) -> Result<Vec<LabeledComment>, StorageError> {
        self.run(|s| s.feedback()).await
    }

    async fn learn_unchallenged(
        &self,
        before: &str,
        after_id: i64,
        limit: u64,
    ) -> Result<(usize, i64), StorageError> {
        let before = before.to_owned();
        self.run(move |s| s.learn_unchallenged(&before, after_id, limit))
            .await
    }

    async fn learning_log(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LearnedExample>, StorageError> {
        self.run(move |s| s.learning_log(after, limit)).await
    }

    async fn daily_activity(&self, since: &str) -> Result<Vec<DayActivity>, StorageError> {
        let since = since.to_owned();
        self.run(move |s| s.daily_activity(&since)).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let key = key.to_owned();
        self.run(move |s| s.setting(&key)).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.run(move |s| s.set_setting(&key, &value)).await
    }

    async fn create_session(
        &self,
        id_sha256: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError> {
        let (id, csrf) = (id_sha256.to_owned(), csrf.to_owned());
        self.run(move |s| s.create_session(&id, &csrf, expires_at, now))
            .await
    }

    async fn session_csrf(
        &self,
        id_sha256: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let id = id_sha256.to_owned();
        self.run(move |s| s.session_csrf(&id, now)).await
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<(), StorageError> {
        let id = id_sha256.to_owned();
        self.run(move |s| s.delete_session(&id)).await
    }

    async fn admit_post(
        &self,
        address: std::net::IpAddr,
        limits: super::PostLimits,
    ) -> Result<super::Admission, StorageError> {
        Ok(self.guard.admit(address, limits))
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.run(|s| s.ping()).await
    }

    fn generation(&self) -> u64 {
        self.store.generation()
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>, StorageError> {
        self.run(|s| s.count_by_status()).await
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
        let (hash, prefix, blogs, note) = (
            key_sha256.to_owned(),
            prefix.to_owned(),
            blogs.to_vec(),
            note.map(str::to_owned),
        );
        self.run(move |s| s.add_key(&hash, &prefix, &blogs, note.as_deref(), quota))
            .await
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StorageError> {
        self.run(|s| s.keys()).await
    }

    async fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
        let hash = key_sha256.to_owned();
        self.run(move |s| s.key_by_hash(&hash)).await
    }

    async fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError> {
        let hash = key_sha256.to_owned();
        self.run(move |s| s.revoke_key(&hash)).await
    }

    async fn count_call(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let month = month.to_owned();
        self.run(move |s| s.count_call(key_id, &month)).await
    }

    async fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let month = month.to_owned();
        self.run(move |s| s.usage(key_id, &month)).await
    }

    async fn add_example(
        &self,
        example: &LabeledComment,
        source: &str,
        learn: bool,
    ) -> Result<(), StorageError> {
        let (example, source) = (example.clone(), source.to_owned());
        self.run(move |s| s.add_example(&example, &source, learn))
            .await
    }

    async fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError> {
        let guid = guid.to_owned();
        self.run(move |s| s.comment_by_guid(&guid)).await
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
        self.run(move |s| s.import_article(&article, &taken)).await
    }

    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        self.run(move |s| s.import_comments(comments)).await
    }

    async fn link_imported_parents(&self) -> Result<u64, StorageError> {
        self.run(|s| s.link_imported_parents()).await
    }

    async fn known_remote_ids(&self, ids: &[String]) -> Result<Vec<String>, StorageError> {
        let ids = ids.to_vec();
        self.run(move |s| s.known_remote_ids(&ids)).await
    }

    async fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError> {
        self.run(|s| s.public_articles()).await
    }

    async fn export_articles(&self) -> Result<Vec<ExportArticle>, StorageError> {
        self.run(|s| s.export_articles()).await
    }

    async fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportComment>, StorageError> {
        let article = article.map(str::to_owned);
        self.run(move |s| s.export_comments(article.as_deref(), after, limit))
            .await
    }

    async fn commented_articles(&self) -> Result<Vec<String>, StorageError> {
        self.run(|s| s.commented_articles()).await
    }

    async fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError> {
        let path = path.to_owned();
        self.run(move |s| s.moved_article(&path, wp_post_id)).await
    }
}
