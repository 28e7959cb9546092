//! The bodies of [`AkismetStore`](crate::storage::AkismetStore), once for both backends.

use super::{Exec, Lock, Spellings, row, spelled};
use crate::data::LabeledComment;
use crate::storage::{ApiKey, StorageError, now_rfc3339};

/// `SELECT` of the columns [`row::key`] reads, with the key's blogs as a JSON array (the one
/// column whose SQL differs), then the rest of the statement.
macro_rules! select_keys {
    (sqlite, $rest:literal) => {
        concat!(
            "SELECT id, key_prefix, note, quota, created_at, revoked_at, \
             (SELECT json_group_array(blog) FROM (SELECT blog FROM api_key_blogs \
              WHERE key_id = api_keys.id ORDER BY blog)) FROM api_keys ",
            $rest
        )
    };
    (postgres, $rest:literal) => {
        concat!(
            "SELECT id, key_prefix, note, quota, created_at, revoked_at, \
             COALESCE((SELECT json_agg(blog ORDER BY blog) FROM api_key_blogs \
              WHERE key_id = api_keys.id)::TEXT, '[]') FROM api_keys ",
            $rest
        )
    };
}

const KEY_BY_ID: Spellings = [
    select_keys!(sqlite, "WHERE id = $1"),
    select_keys!(postgres, "WHERE id = $1"),
];
const ALL_KEYS: Spellings = [
    select_keys!(sqlite, "ORDER BY id DESC"),
    select_keys!(postgres, "ORDER BY id DESC"),
];
const KEY_BY_HASH: Spellings = [
    select_keys!(sqlite, "WHERE key_sha256 = $1 AND revoked_at IS NULL"),
    select_keys!(postgres, "WHERE key_sha256 = $1 AND revoked_at IS NULL"),
];

/// Stores a new key bound to `blogs`; in a transaction.
pub async fn add_key<E: Exec>(
    e: &E,
    key_sha256: &str,
    prefix: &str,
    blogs: &[String],
    note: Option<&str>,
    quota: Option<i64>,
) -> Result<ApiKey, StorageError> {
    let created = now_rfc3339();
    let id = super::scalar(
        e,
        "INSERT INTO api_keys (key_sha256, key_prefix, note, quota, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[&key_sha256, &prefix, &note, &quota, &created],
    )
    .await?
    .ok_or_else(|| StorageError::Encode("no id for the new key".into()))?;
    for blog in blogs {
        e.execute(
            "INSERT INTO api_key_blogs (key_id, blog) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, blog],
        )
        .await?;
    }
    e.query_opt(spelled(e, KEY_BY_ID), &[&id], row::key)
        .await?
        .ok_or(StorageError::NotFound(id))
}

/// All keys, newest first.
pub async fn keys<E: Exec>(e: &E) -> Result<Vec<ApiKey>, StorageError> {
    e.query(spelled(e, ALL_KEYS), &[], row::key).await
}

/// A live key by hash.
pub async fn key_by_hash<E: Exec>(e: &E, key_sha256: &str) -> Result<Option<ApiKey>, StorageError> {
    e.query_opt(spelled(e, KEY_BY_HASH), &[&key_sha256], row::key)
        .await
}

/// Revokes a live key; false when there is none with this hash.
pub async fn revoke_key<E: Exec>(e: &E, key_sha256: &str) -> Result<bool, StorageError> {
    let at = now_rfc3339();
    let n = e
        .execute(
            "UPDATE api_keys SET revoked_at = $1 WHERE key_sha256 = $2 AND revoked_at IS NULL",
            &[&at, &key_sha256],
        )
        .await?;
    Ok(n > 0)
}

/// Counts one call for `month` and returns the month's total.
pub async fn count_call<E: Exec>(e: &E, key_id: i64, month: &str) -> Result<i64, StorageError> {
    let calls = super::scalar(
        e,
        "INSERT INTO api_usage (key_id, month, calls) VALUES ($1, $2, 1) \
         ON CONFLICT (key_id, month) DO UPDATE SET calls = api_usage.calls + 1 RETURNING calls",
        &[&key_id, &month],
    )
    .await?;
    Ok(calls.unwrap_or(0))
}

/// Calls made in `month`.
pub async fn usage<E: Exec>(e: &E, key_id: i64, month: &str) -> Result<i64, StorageError> {
    let calls = super::scalar(
        e,
        "SELECT calls FROM api_usage WHERE key_id = $1 AND month = $2",
        &[&key_id, &month],
    )
    .await?;
    Ok(calls.unwrap_or(0))
}

/// Stores a labeled example, and with `learn` appends it to the learning log; in a transaction.
pub async fn add_example<E: Exec>(
    e: &E,
    example: &LabeledComment,
    source: &str,
    learn: bool,
) -> Result<(), StorageError> {
    let encode = |e: serde_json::Error| StorageError::Encode(e.to_string());
    let record = serde_json::to_string(example).map_err(encode)?;
    let comment = serde_json::to_string(&example.comment).map_err(encode)?;
    let label = example.label.as_str();
    let at = now_rfc3339();
    e.execute(
        "INSERT INTO training_examples (label, record, source, created_at) VALUES ($1, $2, $3, $4)",
        &[&label, &record, &source, &at],
    )
    .await?;
    if learn {
        e.lock(Lock::LearningLog).await?;
        e.execute(
            "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
             VALUES (NULL, $1, 1, $2, $3, $4)",
            &[&label, &comment, &source, &at],
        )
        .await?;
    }
    Ok(())
}

/// Id of the comment the Akismet check `guid` stored.
pub async fn comment_by_guid<E: Exec>(e: &E, guid: &str) -> Result<Option<i64>, StorageError> {
    super::scalar(
        e,
        "SELECT id FROM comments WHERE akismet_guid = $1",
        &[&guid],
    )
    .await
}

/// Every statement of this module in SQLite's spelling, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[KEY_BY_ID[0], ALL_KEYS[0], KEY_BY_HASH[0]];
