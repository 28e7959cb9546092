//! [`AkismetStore`] on PostgreSQL.

use super::{LEARNING_LOCK, PgStore};
use crate::data::LabeledComment;
use crate::storage::{AkismetStore, ApiKey, StorageError, now_rfc3339};
use deadpool_postgres::GenericClient;

const KEY_COLUMNS: &str = "id, key_prefix, note, quota, created_at, revoked_at, \
    ARRAY(SELECT blog FROM api_key_blogs WHERE key_id = api_keys.id ORDER BY blog)";

fn row_to_key(r: &tokio_postgres::Row) -> Result<ApiKey, StorageError> {
    Ok(ApiKey {
        id: r.try_get(0)?,
        prefix: r.try_get(1)?,
        note: r.try_get(2)?,
        quota: r.try_get(3)?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        blogs: r.try_get(6)?,
    })
}

async fn key_by_id(client: &impl GenericClient, id: i64) -> Result<ApiKey, StorageError> {
    let row = client
        .query_one(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
            &[&id],
        )
        .await?;
    row_to_key(&row)
}

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
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO api_keys (key_sha256, key_prefix, note, quota, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&key_sha256, &prefix, &note, &quota, &now_rfc3339()],
            )
            .await?
            .try_get(0)?;
        for blog in blogs {
            tx.execute(
                "INSERT INTO api_key_blogs (key_id, blog) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, blog],
            )
            .await?;
        }
        let key = key_by_id(&tx, id).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn keys(&self) -> Result<Vec<ApiKey>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id DESC"),
                &[],
            )
            .await?;
        rows.iter().map(row_to_key).collect()
    }

    async fn key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL"
            ))
            .await?;
        client
            .query_opt(&stmt, &[&key_sha256])
            .await?
            .as_ref()
            .map(row_to_key)
            .transpose()
    }

    async fn revoke_key(&self, key_sha256: &str) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE key_sha256 = $2 AND revoked_at IS NULL",
                &[&now_rfc3339(), &key_sha256],
            )
            .await?;
        Ok(n > 0)
    }

    async fn count_call(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO api_usage (key_id, month, calls) VALUES ($1, $2, 1) \
                 ON CONFLICT (key_id, month) DO UPDATE SET calls = api_usage.calls + 1 RETURNING calls",
            )
            .await?;
        Ok(client
            .query_one(&stmt, &[&key_id, &month])
            .await?
            .try_get(0)?)
    }

    async fn usage(&self, key_id: i64, month: &str) -> Result<i64, StorageError> {
        let client = self.client().await?;
        match client
            .query_opt(
                "SELECT calls FROM api_usage WHERE key_id = $1 AND month = $2",
                &[&key_id, &month],
            )
            .await?
        {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(0),
        }
    }

    async fn add_example(
        &self,
        example: &LabeledComment,
        source: &str,
        learn: bool,
    ) -> Result<(), StorageError> {
        let record =
            serde_json::to_string(example).map_err(|e| StorageError::Encode(e.to_string()))?;
        let comment = serde_json::to_string(&example.comment)
            .map_err(|e| StorageError::Encode(e.to_string()))?;
        let label = example.label.as_str();
        let at = now_rfc3339();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO training_examples (label, record, source, created_at) VALUES ($1, $2, $3, $4)",
            &[&label, &record, &source, &at],
        )
        .await?;
        if learn {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEARNING_LOCK])
                .await?;
            tx.execute(
                "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                 VALUES (NULL, $1, 1, $2, $3, $4)",
                &[&label, &comment, &source, &at],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn comment_by_guid(&self, guid: &str) -> Result<Option<i64>, StorageError> {
        let client = self.client().await?;
        match client
            .query_opt("SELECT id FROM comments WHERE akismet_guid = $1", &[&guid])
            .await?
        {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => Ok(None),
        }
    }
}
