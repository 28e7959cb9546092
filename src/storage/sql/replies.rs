//! Reply notifications: who asked to hear of replies to their comment, unsubscribing, and which
//! replies were announced; once for both backends.

use super::Exec;
use crate::storage::{Status, StorageError, now_rfc3339};

/// The reader to tell of a reply to their comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub email: String,
    pub author: String,
    /// Their comment's status: only a published comment's author hears of replies.
    pub status: Status,
}

const SUBSCRIBE: &str = "INSERT INTO reply_subscriptions (comment_id, created_at) VALUES ($1, $2) \
    ON CONFLICT (comment_id) DO NOTHING";
const SUBSCRIBER: &str = "SELECT c.author_email, c.author, c.status FROM reply_subscriptions s \
    JOIN comments c ON c.id = s.comment_id \
    WHERE s.comment_id = $1 AND s.unsubscribed_at IS NULL AND c.author_email <> ''";
const UNSUBSCRIBE: &str = "UPDATE reply_subscriptions SET unsubscribed_at = $1 \
    WHERE comment_id = $2 AND unsubscribed_at IS NULL";
const ANNOUNCED: &str = "SELECT reply_id FROM reply_notices WHERE reply_id = $1";
const ANNOUNCE: &str = "INSERT INTO reply_notices (reply_id, sent_at) VALUES ($1, $2) \
    ON CONFLICT (reply_id) DO NOTHING";

/// Subscribes comment `id`'s author to replies to it.
pub async fn subscribe<E: Exec>(e: &E, id: i64) -> Result<(), StorageError> {
    e.execute(SUBSCRIBE, &[&id, &now_rfc3339()]).await?;
    Ok(())
}

/// Who hears of replies to comment `id`, if anyone does.
pub async fn subscriber<E: Exec>(e: &E, id: i64) -> Result<Option<Subscriber>, StorageError> {
    e.query_opt(SUBSCRIBER, &[&id], |r| {
        Ok(Subscriber {
            email: r.text(0)?,
            author: r.text(1)?,
            status: Status::parse(&r.text(2)?).unwrap_or(Status::Held),
        })
    })
    .await
}

/// Ends the subscription of comment `id`; whether it was on.
pub async fn unsubscribe<E: Exec>(e: &E, id: i64) -> Result<bool, StorageError> {
    Ok(e.execute(UNSUBSCRIBE, &[&now_rfc3339(), &id]).await? > 0)
}

/// Whether reply `id` was announced to its parent's author already.
pub async fn announced<E: Exec>(e: &E, id: i64) -> Result<bool, StorageError> {
    Ok(e.query_opt(ANNOUNCED, &[&id], |r| r.int(0))
        .await?
        .is_some())
}

/// Records that reply `id` was announced.
pub async fn announce<E: Exec>(e: &E, id: i64) -> Result<(), StorageError> {
    e.execute(ANNOUNCE, &[&id, &now_rfc3339()]).await?;
    Ok(())
}

/// Every statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[SUBSCRIBE, SUBSCRIBER, UNSUBSCRIBE, ANNOUNCED, ANNOUNCE];
