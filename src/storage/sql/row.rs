//! Rows to the port's types, once for both drivers: each mapping names the columns it reads, in
//! order, next to the function that reads them.

use super::RowRead;
use crate::data::Comment;
use crate::storage::rules::label_of;
use crate::storage::{
    ApiKey, LearnedExample, Status, StatusEvent, StorageError, StoredArticle, StoredComment,
};

/// The columns [`comment`] reads, as a literal for `concat!` (statements stay `&'static str`).
macro_rules! comment_columns {
    () => {
        "id, article, parent_id, author, author_email, author_url, content, user_ip, user_agent, \
         status, verdict, spam_probability, clues, model_version, source, created_at, \
         content_format, site_id, remote_id, markdown"
    };
}
/// [`comment_columns`] without the clues (a constant `'null'`): public listings never show them,
/// and parsing each comment's clue JSON was the largest cost of rendering an article page.
macro_rules! public_comment_columns {
    () => {
        "id, article, parent_id, author, author_email, author_url, content, user_ip, user_agent, \
         status, verdict, spam_probability, 'null', model_version, source, created_at, \
         content_format, site_id, remote_id, markdown"
    };
}
/// The columns [`article`] reads.
macro_rules! article_columns {
    () => {
        "slug, title, date, author, html, link, public, comments_open"
    };
}
pub(crate) use {article_columns, comment_columns, public_comment_columns};

/// How many columns [`comment`] reads: a statement's own columns after them start here.
pub const COMMENT_COLUMNS: usize = 20;

/// A comment from the columns `comment_columns!()` (or `public_comment_columns!()`).
pub fn comment(r: &dyn RowRead) -> Result<StoredComment, StorageError> {
    Ok(StoredComment {
        id: r.int(0)?,
        article: r.text(1)?,
        parent_id: r.opt_int(2)?,
        author: r.text(3)?,
        author_email: r.text(4)?,
        author_url: r.opt_text(5)?,
        content: r.text(6)?,
        user_ip: r.opt_text(7)?,
        user_agent: r.opt_text(8)?,
        status: Status::parse(&r.text(9)?).unwrap_or(Status::Held),
        verdict: r.text(10)?,
        spam_probability: r.float(11)?,
        clues: serde_json::from_str(&r.text(12)?).unwrap_or(serde_json::Value::Null),
        model_version: r.text(13)?,
        source: r.text(14)?,
        created_at: r.text(15)?,
        html: r.text(16)? == "html",
        site_id: r.int(17)?,
        remote_id: r.opt_text(18)?,
        markdown: r.flag(19)?,
    })
}

/// An article from the columns `article_columns!()`.
pub fn article(r: &dyn RowRead) -> Result<StoredArticle, StorageError> {
    Ok(StoredArticle {
        slug: r.text(0)?,
        title: r.text(1)?,
        date: r.text(2)?,
        author: r.text(3)?,
        html: r.text(4)?,
        link: r.opt_text(5)?,
        public: r.flag(6)?,
        comments_open: r.flag(7)?,
    })
}

/// A key from the columns `id, key_prefix, note, quota, created_at, revoked_at` and its blogs
/// as a JSON array ([`super::keys`] builds the column per dialect).
pub fn key(r: &dyn RowRead) -> Result<ApiKey, StorageError> {
    Ok(ApiKey {
        id: r.int(0)?,
        prefix: r.text(1)?,
        note: r.opt_text(2)?,
        quota: r.opt_int(3)?,
        created_at: r.text(4)?,
        revoked_at: r.opt_text(5)?,
        blogs: serde_json::from_str(&r.text(6)?)
            .map_err(|e| StorageError::Encode(e.to_string()))?,
    })
}

/// A status event from the columns `from_status, to_status, actor, at`.
pub fn status_event(r: &dyn RowRead) -> Result<StatusEvent, StorageError> {
    Ok(StatusEvent {
        from_status: r.opt_text(0)?.as_deref().and_then(Status::parse),
        to_status: Status::parse(&r.text(1)?).unwrap_or(Status::Held),
        actor: r.text(2)?,
        at: r.text(3)?,
    })
}

/// A learning-log entry from the columns `id, label, sign, record, source, arrival verdict,
/// thread, site name`;
/// `None` for a record this build cannot read, which is skipped rather than stop learning for good.
pub fn learned(r: &dyn RowRead) -> Result<Option<LearnedExample>, StorageError> {
    let id = r.int(0)?;
    let Ok(comment) = serde_json::from_str::<Comment>(&r.text(3)?) else {
        tracing::warn!(id, "unreadable learning-log record skipped");
        return Ok(None);
    };
    Ok(Some(LearnedExample {
        id,
        label: label_of(&r.text(1)?),
        sign: if r.int(2)? < 0 { -1.0 } else { 1.0 },
        comment,
        source: r.text(4)?,
        arrival: r
            .opt_text(5)?
            .as_deref()
            .and_then(crate::engine::Verdict::parse),
        site: crate::domain::site_rules::site_of_thread(
            r.opt_text(6)?.as_deref(),
            r.opt_text(7)?.as_deref(),
        ),
    }))
}

/// A count that cannot be negative, as the port reports it.
pub fn count(n: i64) -> u64 {
    n.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statements read their own columns after the comment's, from [`COMMENT_COLUMNS`] on.
    #[test]
    fn the_comment_column_count_is_the_lists() {
        assert_eq!(comment_columns!().split(',').count(), COMMENT_COLUMNS);
        assert_eq!(
            public_comment_columns!().split(',').count(),
            COMMENT_COLUMNS
        );
    }
}
