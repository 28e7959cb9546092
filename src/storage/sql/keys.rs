//! The bodies of [`AkismetStore`](crate::storage::AkismetStore), once for both backends.

use super::{Exec, Lock, Param, Spellings, row, spelled};
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

const REVOKE_BY_HASH: &str =
    "UPDATE api_keys SET revoked_at = $1 WHERE key_sha256 = $2 AND revoked_at IS NULL";
const REVOKE_BY_ID: &str =
    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";

/// Revokes a live key; false when there is none with this hash.
pub async fn revoke_key<E: Exec>(e: &E, key_sha256: &str) -> Result<bool, StorageError> {
    revoke(e, REVOKE_BY_HASH, &key_sha256).await
}

/// Revokes the key with id `id`, if it is active.
pub async fn revoke_key_id<E: Exec>(e: &E, id: i64) -> Result<bool, StorageError> {
    revoke(e, REVOKE_BY_ID, &id).await
}

/// Runs one of the two revocations (`$1` the time, `$2` which key); whether a key was live.
async fn revoke<E: Exec>(e: &E, sql: &str, which: &dyn Param) -> Result<bool, StorageError> {
    let at = now_rfc3339();
    Ok(e.execute(sql, &[&at, which]).await? > 0)
}

/// Adds `calls` calls to `month` and returns the month's total.
pub async fn add_calls<E: Exec>(
    e: &E,
    key_id: i64,
    month: &str,
    calls: i64,
) -> Result<i64, StorageError> {
    let calls = super::scalar(
        e,
        "INSERT INTO api_usage (key_id, month, calls) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id, month) DO UPDATE SET calls = api_usage.calls + $3 RETURNING calls",
        &[&key_id, &month, &calls],
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

/// What a key's submit without a stored check did ([`record_submit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitVote {
    /// The key's first vote on this text: stored and learned by the key's own layer.
    New,
    /// The key voted the other label before: that lesson is taken back, this one learned.
    Changed,
    /// The key already voted this label on this text: nothing changes (one text, one vote).
    Repeated,
}

/// The model layer a key's lessons teach: the same name as the thread its checks are stored in.
pub fn key_layer(key_id: i64) -> String {
    format!("{KEY_NAMESPACE}{key_id}")
}

/// The prefix of every key's namespace ([`key_layer`]).
const KEY_NAMESPACE: &str = "akismet:";

/// Whether a thread is an Akismet key's namespace: its checks are never shown on the site, so
/// every public listing leaves such threads out.
pub fn is_key_namespace(thread: &str) -> bool {
    thread.starts_with(KEY_NAMESPACE)
}

/// A text's identity for "one text, one vote": case and runs of white space do not make a new
/// text.
pub fn text_sha256(text: &str) -> String {
    use sha2::Digest;
    let folded = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    hex::encode(sha2::Sha256::digest(folded.as_bytes()))
}

const EARLIER_VOTE: &str =
    "SELECT label, record FROM training_examples WHERE key_id = $1 AND text_sha256 = $2";
const INSERT_VOTE: &str = "INSERT INTO training_examples \
    (label, record, source, created_at, key_id, text_sha256) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (key_id, text_sha256) DO NOTHING";
const CHANGE_VOTE: &str = "UPDATE training_examples SET label = $1, record = $2, created_at = $3 \
    WHERE key_id = $4 AND text_sha256 = $5";
const LEARN_VOTE: &str = "INSERT INTO learning_log (comment_id, label, sign, record, source, at, \
    layer) VALUES (NULL, $1, CAST($2 AS BIGINT), $3, $4, $5, $6)";

/// Records a key's submit without a stored check, in a transaction: one vote per key and text
/// ([`SubmitVote`]), learned into the key's own layer ([`key_layer`]), never the shared model.
pub async fn record_submit<E: Exec>(
    e: &E,
    key_id: i64,
    example: &LabeledComment,
    source: &str,
) -> Result<SubmitVote, StorageError> {
    let encode = |e: serde_json::Error| StorageError::Encode(e.to_string());
    let record = serde_json::to_string(example).map_err(encode)?;
    let comment = serde_json::to_string(&example.comment).map_err(encode)?;
    let label = example.label.as_str();
    let text = text_sha256(&example.comment.comment_content);
    let layer = key_layer(key_id);
    let at = now_rfc3339();
    e.lock(Lock::LearningLog).await?;
    let earlier = e
        .query_opt(EARLIER_VOTE, &[&key_id, &text], |r| {
            Ok((r.text(0)?, r.text(1)?))
        })
        .await?;
    let vote = match earlier {
        Some((earlier_label, _)) if earlier_label == label => return Ok(SubmitVote::Repeated),
        Some((earlier_label, earlier_record)) => {
            let earlier: LabeledComment = serde_json::from_str(&earlier_record)
                .map_err(|e| StorageError::Encode(e.to_string()))?;
            let earlier_comment = serde_json::to_string(&earlier.comment).map_err(encode)?;
            e.execute(
                LEARN_VOTE,
                &[
                    &earlier_label,
                    &-1_i64,
                    &earlier_comment,
                    &source,
                    &at,
                    &layer,
                ],
            )
            .await?;
            e.execute(CHANGE_VOTE, &[&label, &record, &at, &key_id, &text])
                .await?;
            SubmitVote::Changed
        }
        None => {
            let inserted = e
                .execute(
                    INSERT_VOTE,
                    &[&label, &record, &source, &at, &key_id, &text],
                )
                .await?;
            if inserted == 0 {
                // The same vote raced in from another request or replica.
                return Ok(SubmitVote::Repeated);
            }
            SubmitVote::New
        }
    };
    e.execute(
        LEARN_VOTE,
        &[&label, &1_i64, &comment, &source, &at, &layer],
    )
    .await?;
    Ok(vote)
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
pub const STATEMENTS: &[&str] = &[
    KEY_BY_ID[0],
    ALL_KEYS[0],
    KEY_BY_HASH[0],
    EARLIER_VOTE,
    INSERT_VOTE,
    CHANGE_VOTE,
    LEARN_VOTE,
    REVOKE_BY_HASH,
    REVOKE_BY_ID,
];
