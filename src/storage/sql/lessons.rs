//! What the serving models learned, for moderators to see and take back: every learning-log
//! entry with its source and the site (or Akismet key) whose model it teaches.

use super::{Exec, Lock};
use crate::data::Comment;
use crate::storage::{StorageError, now_rfc3339};
use serde::Serialize;

/// One learning-log entry as `/admin` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesson {
    pub id: i64,
    pub at: String,
    /// `spam` or `ham`.
    pub label: String,
    /// +1 learned, −1 taken back (by a changed decision or vote, or by a moderator).
    pub sign: i64,
    /// What wrote it: `moderation`, `implicit`, `import`, `akismet-submit`, `taken-back`, …
    pub source: String,
    /// The model it teaches: a site's name, or `akismet:KEY_ID` for a key's own layer.
    pub teaches: String,
    /// The comment whose status stands for it, if any: its lesson is taken back by changing that
    /// status, not here.
    pub comment_id: Option<i64>,
    /// The comment's text, cut to [`TEXT_CHARS`] characters.
    pub text: String,
    /// A moderator took it back.
    pub taken_back: bool,
}

/// How much of a lesson's text a listing carries.
pub const TEXT_CHARS: usize = 240;

/// What [`take_back`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeBack {
    Done,
    NotFound,
    /// The lesson stands for this comment's status: change the status to change the lesson.
    FollowsComment(i64),
    AlreadyTakenBack,
    /// The entry itself takes a lesson back.
    NotALesson,
}

/// The model an entry teaches, in SQL: the same rule as
/// [`site_of_thread`](crate::domain::site_rules::site_of_thread).
macro_rules! teaches {
    () => {
        "(CASE WHEN COALESCE(c.article, l.layer) LIKE 'akismet:%' \
          THEN COALESCE(c.article, l.layer) \
          ELSE COALESCE((SELECT s.name FROM sites s WHERE s.id = c.site_id), 'default') END)"
    };
}

const LESSONS: &str = concat!(
    "SELECT l.id, l.at, l.label, CAST(l.sign AS BIGINT), l.source, ",
    teaches!(),
    ", l.comment_id, l.record, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM learning_log t WHERE t.takes_back = l.id) \
     THEN 1 ELSE 0 END AS BIGINT) \
     FROM learning_log l LEFT JOIN comments c ON c.id = l.comment_id \
     WHERE l.id < $1 AND ($2 = '' OR ",
    teaches!(),
    " = $2) ORDER BY l.id DESC LIMIT $3"
);
const ENTRY: &str = "SELECT comment_id, CAST(sign AS BIGINT), label, record, layer, \
    CAST(CASE WHEN EXISTS (SELECT 1 FROM learning_log t WHERE t.takes_back = $1) \
    THEN 1 ELSE 0 END AS BIGINT) FROM learning_log WHERE id = $1";
const TAKE_BACK: &str = "INSERT INTO learning_log (comment_id, label, sign, record, source, at, \
    layer, takes_back) VALUES (NULL, $1, -1, $2, 'taken-back', $3, $4, $5)";
const FORGET_VOTE: &str =
    "DELETE FROM training_examples WHERE key_id = $1 AND text_sha256 = $2 AND label = $3";

/// Entries before id `before` (newest first), of the model `teaches` (empty: every model).
pub async fn lessons<E: Exec>(
    e: &E,
    teaches: &str,
    before: i64,
    limit: u64,
) -> Result<Vec<Lesson>, StorageError> {
    let limit = limit.min(1_000) as i64;
    e.query(LESSONS, &[&before, &teaches, &limit], |r| {
        let text = serde_json::from_str::<Comment>(&r.text(7)?)
            .map(|c| c.comment_content.chars().take(TEXT_CHARS).collect())
            .unwrap_or_default();
        Ok(Lesson {
            id: r.int(0)?,
            at: r.text(1)?,
            label: r.text(2)?,
            sign: r.int(3)?,
            source: r.text(4)?,
            teaches: r.text(5)?,
            comment_id: r.opt_int(6)?,
            text,
            taken_back: r.int(8)? != 0,
        })
    })
    .await
}

/// Takes back entry `id`, one that no comment's status stands for (an Akismet key's vote):
/// appends its reverse, and forgets the key's vote so the log and the votes agree.
pub async fn take_back<E: Exec>(e: &E, id: i64) -> Result<TakeBack, StorageError> {
    e.lock(Lock::LearningLog).await?;
    let Some((comment, sign, label, record, layer, taken)) = e
        .query_opt(ENTRY, &[&id], |r| {
            Ok((
                r.opt_int(0)?,
                r.int(1)?,
                r.text(2)?,
                r.text(3)?,
                r.opt_text(4)?,
                r.int(5)? != 0,
            ))
        })
        .await?
    else {
        return Ok(TakeBack::NotFound);
    };
    if let Some(comment) = comment {
        return Ok(TakeBack::FollowsComment(comment));
    }
    if sign < 0 {
        return Ok(TakeBack::NotALesson);
    }
    if taken {
        return Ok(TakeBack::AlreadyTakenBack);
    }
    let at = now_rfc3339();
    e.execute(TAKE_BACK, &[&label, &record, &at, &layer, &id])
        .await?;
    if let Some(key_id) = layer
        .as_deref()
        .and_then(|l| l.strip_prefix("akismet:"))
        .and_then(|k| k.parse::<i64>().ok())
        && let Ok(comment) = serde_json::from_str::<Comment>(&record)
    {
        let text = super::keys::text_sha256(&comment.comment_content);
        e.execute(FORGET_VOTE, &[&key_id, &text, &label]).await?;
    }
    Ok(TakeBack::Done)
}

/// Every statement of this module in SQLite's spelling, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[LESSONS, ENTRY, TAKE_BACK, FORGET_VOTE];
