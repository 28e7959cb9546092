//! [`AkismetStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::keys`].

use super::PgStore;
use crate::data::LabeledComment;
use crate::storage::sql::{Pg, keys};
use crate::storage::{AkismetStore, ApiKey, StorageError};

#[async_trait::async_trait]
impl AkismetStore for PgStore {
    async fn add_key(
        &self,
        key_sha256: &str,
        prefix: &str,
        blogs: &[String],
        note: Option<&str>,
        quota: Option<i64>,
    ) -> Result<ApiKey, StorageError> {
        in_transaction!(self, tx => keys::add_key(&tx, key_sha256, prefix, blogs, note, quota))
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StorageError> {
        keys::keys(&Pg(&self.client().await?)).await
    }

    async fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
        keys::key_by_hash(&Pg(&self.client().await?), key_sha256).await
    }

    async fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError> {
        keys::revoke_key(&Pg(&self.client().await?), key_sha256).await
    }

    async fn count_call(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        keys::count_call(&Pg(&self.client().await?), key_id, month).await
    }

    async fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        keys::usage(&Pg(&self.client().await?), key_id, month).await
    }

    async fn record_submit(
        &self,
        key_id: i64,
        example: &LabeledComment,
        source: &str,
    ) -> Result<keys::SubmitVote, StorageError> {
        in_transaction!(self, tx => keys::record_submit(&tx, key_id, example, source))
    }

    async fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError> {
        keys::comment_by_guid(&Pg(&self.client().await?), guid).await
    }
}
