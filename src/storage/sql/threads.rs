//! What readers do to their own comments on an embedding site's threads (the Isso-compatible
//! API): edit one within the edit window, like or dislike one; once for both backends.

use super::Exec;
use super::row::{self, comment_columns};
use crate::storage::{CommentExtras, StorageError, StoredComment, Votes, now_rfc3339};

const EDIT: &str = "UPDATE comments SET content = $1, author = $2, author_url = $3, \
    edited_at = $4 WHERE id = $5";
const GET: &str = concat!(
    "SELECT ",
    comment_columns!(),
    " FROM comments WHERE id = $1"
);
const VOTE: &str = "INSERT INTO comment_votes (comment_id, voter, value) VALUES ($1, $2, $3) \
    ON CONFLICT (comment_id, voter) DO NOTHING";
const VOTES: &str = "SELECT CAST(COALESCE(SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
    FROM comment_votes WHERE comment_id = $1";
// Only the comments that have anything to add: most have neither votes nor edits.
const EXTRAS: &str = "SELECT c.id, c.edited_at, \
    CAST(COALESCE(SUM(CASE WHEN v.value > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN v.value < 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
    FROM comments c LEFT JOIN comment_votes v ON v.comment_id = c.id \
    WHERE c.site_id = $1 AND c.article = $2 AND c.status = 'published' \
    AND (c.edited_at IS NOT NULL OR v.comment_id IS NOT NULL) \
    GROUP BY c.id, c.edited_at";
const EXTRAS_OF: &str = "SELECT c.id, c.edited_at, \
    CAST(COALESCE(SUM(CASE WHEN v.value > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
    CAST(COALESCE(SUM(CASE WHEN v.value < 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
    FROM comments c LEFT JOIN comment_votes v ON v.comment_id = c.id \
    WHERE c.id = $1 AND c.status IN ('published', 'held') \
    AND (c.edited_at IS NOT NULL OR v.comment_id IS NOT NULL) \
    GROUP BY c.id, c.edited_at";

/// Replaces a comment's text, name and website with its author's edit; the comment after.
pub async fn edit_comment<E: Exec>(
    e: &E,
    id: i64,
    content: &str,
    author: &str,
    author_url: Option<&str>,
) -> Result<StoredComment, StorageError> {
    let now = now_rfc3339();
    let changed = e
        .execute(EDIT, &[&content, &author, &author_url, &now, &id])
        .await?;
    if changed == 0 {
        return Err(StorageError::NotFound(id));
    }
    e.query_opt(GET, &[&id], row::comment)
        .await?
        .ok_or(StorageError::NotFound(id))
}

/// Records one reader's vote on a comment (a second vote of the same reader changes nothing);
/// the comment's totals after.
pub async fn vote<E: Exec>(e: &E, id: i64, voter: &str, up: bool) -> Result<Votes, StorageError> {
    let value: i64 = if up { 1 } else { -1 };
    e.execute(VOTE, &[&id, &voter, &value]).await?;
    let votes = e
        .query_opt(VOTES, &[&id], |r| {
            Ok(Votes {
                likes: row::count(r.int(0)?),
                dislikes: row::count(r.int(1)?),
            })
        })
        .await?;
    Ok(votes.unwrap_or_default())
}

/// Votes and edit times of a thread's published comments that have any.
pub async fn thread_extras<E: Exec>(
    e: &E,
    site: i64,
    uri: &str,
) -> Result<Vec<CommentExtras>, StorageError> {
    e.query(EXTRAS, &[&site, &uri], extras_row).await
}

/// Votes and edit times of these published comments that have any, each by its id (a few
/// comments of large threads: an index lookup each, not a scan of their threads).
pub async fn comment_extras<E: Exec>(
    e: &E,
    ids: &[i64],
) -> Result<Vec<CommentExtras>, StorageError> {
    let mut extras = Vec::new();
    for id in ids {
        extras.extend(e.query_opt(EXTRAS_OF, &[id], extras_row).await?);
    }
    Ok(extras)
}

fn extras_row(r: &dyn super::RowRead) -> Result<CommentExtras, StorageError> {
    Ok(CommentExtras {
        id: r.int(0)?,
        edited_at: r.opt_text(1)?,
        votes: Votes {
            likes: row::count(r.int(2)?),
            dislikes: row::count(r.int(3)?),
        },
    })
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[EDIT, GET, VOTE, VOTES, EXTRAS, EXTRAS_OF];
