//! [`SiteStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::sites`].

use super::PgStore;
use crate::domain::{Site, SiteOrigin, Thread};
use crate::storage::sql::{Pg, sites, threads};
use crate::storage::{CommentExtras, SiteChange, SiteStore, StorageError, StoredComment, Votes};

#[async_trait::async_trait]
impl SiteStore for PgStore {
    async fn sites(&self) -> Result<Vec<Site>, StorageError> {
        sites::sites(&Pg(&self.client().await?)).await
    }

    async fn add_site(&self, change: &SiteChange) -> Result<Site, StorageError> {
        in_transaction!(self, tx => sites::add_site(&tx, change))
    }

    async fn remove_site(&self, name: &str, origins: &[SiteOrigin]) -> Result<bool, StorageError> {
        in_transaction!(self, tx => sites::remove_site(&tx, name, origins))
    }

    async fn thread(&self, site: i64, uri: &str) -> Result<Option<Thread>, StorageError> {
        sites::thread(&Pg(&self.client().await?), site, uri).await
    }

    async fn create_thread(
        &self,
        site: i64,
        uri: &str,
        title: &str,
    ) -> Result<Thread, StorageError> {
        sites::create_thread(&Pg(&self.client().await?), site, uri, title).await
    }

    async fn threads(&self, site: i64, limit: u64) -> Result<Vec<Thread>, StorageError> {
        sites::threads(&Pg(&self.client().await?), site, limit).await
    }

    async fn edit_comment(
        &self,
        id: i64,
        content: &str,
        author: &str,
        author_url: Option<&str>,
    ) -> Result<StoredComment, StorageError> {
        threads::edit_comment(&Pg(&self.client().await?), id, content, author, author_url)
            .await
            // The refresh reads new rows only: an edited text is a duplicate from now on too.
            .inspect(|edited| self.duplicates.add(edited.fingerprint()))
    }

    async fn vote(&self, id: i64, voter: &str, up: bool) -> Result<Votes, StorageError> {
        threads::vote(&Pg(&self.client().await?), id, voter, up).await
    }

    async fn thread_extras(
        &self,
        site: i64,
        uri: &str,
    ) -> Result<Vec<CommentExtras>, StorageError> {
        threads::thread_extras(&Pg(&self.client().await?), site, uri).await
    }
}
