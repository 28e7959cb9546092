//! [`SiteStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::sites`].

use super::PgStore;
use crate::domain::{Site, SiteOrigin, Thread};
use crate::storage::sql::{Pg, sites};
use crate::storage::{SiteChange, SiteStore, StorageError};

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
}
