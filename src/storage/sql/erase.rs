//! Erasing a commenter's personal data (a data-protection request): every comment signed with
//! their e-mail address keeps its text and place in its thread, but loses the name, the address,
//! the website, the IP address and the user agent, as WordPress's personal-data eraser does; the
//! copies the learning log and the Akismet examples keep are scrubbed the same way. Once for both
//! backends, in one transaction.

use super::{Exec, Lock};
use crate::data::Comment;
use crate::storage::{Erased, StorageError};

/// The name an erased comment is shown under.
pub const ERASED_NAME: &str = "Anonymous";

// `$2`: the address lowercased, as `CommentDraft::parse` stores it; `$3`: with its ASCII letters
// lowercased only, as the migration that lowercased older comments wrote it (SQLite's LOWER folds
// ASCII only), so an address with non-ASCII capitals is found either way.
const ERASE_COMMENTS: &str = "UPDATE comments SET author = $1, author_email = '', \
    author_url = NULL, user_ip = NULL, user_agent = NULL, referrer = NULL \
    WHERE LOWER(author_email) = $2 OR author_email = $3";
// The address's reply-mail consent goes with it (kept as `replies::address_key` writes it).
const ERASE_ADDRESS: &str = "DELETE FROM reply_addresses WHERE email = $1";
// A record names the address in its JSON; LIKE finds the candidates, the JSON decides.
const LOG_CANDIDATES: &str =
    "SELECT id, record FROM learning_log WHERE LOWER(record) LIKE $1 ESCAPE '!'";
const LOG_UPDATE: &str = "UPDATE learning_log SET record = $1 WHERE id = $2";
const EXAMPLE_CANDIDATES: &str =
    "SELECT id, record FROM training_examples WHERE LOWER(record) LIKE $1 ESCAPE '!'";
const EXAMPLE_UPDATE: &str = "UPDATE training_examples SET record = $1 WHERE id = $2";

/// Erases what is stored of the commenter with e-mail address `email` (any case).
pub async fn erase_author<E: Exec>(e: &E, email: &str) -> Result<Erased, StorageError> {
    // As the migration left older comments' addresses (ASCII letters lowercased only).
    let older = email.trim().to_ascii_lowercase();
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Ok(Erased::default());
    }
    e.lock(Lock::LearningLog).await?;
    let comments = e
        .execute(ERASE_COMMENTS, &[&ERASED_NAME, &email, &older])
        .await?;
    e.execute(ERASE_ADDRESS, &[&super::replies::address_key(&email)])
        .await?;
    // Records keep the address as it was stored (any case of non-ASCII letters), and the two
    // backends' LOWER fold those differently: both spellings are looked for.
    let (mut learning_records, mut examples) = (0, 0);
    let mut spellings = vec![email.clone(), older];
    spellings.dedup();
    for spelling in &spellings {
        let pattern = format!(
            "%{}%",
            spelling
                .replace('!', "!!")
                .replace('%', "!%")
                .replace('_', "!_")
        );
        learning_records += scrub(e, LOG_CANDIDATES, LOG_UPDATE, &pattern, &email).await?;
        examples += scrub(e, EXAMPLE_CANDIDATES, EXAMPLE_UPDATE, &pattern, &email).await?;
    }
    Ok(Erased {
        comments,
        learning_records,
        examples,
    })
}

/// Rewrites each record found by `select` whose sender is `email`, without its personal fields.
async fn scrub<E: Exec>(
    e: &E,
    select: &str,
    update: &str,
    pattern: &str,
    email: &str,
) -> Result<u64, StorageError> {
    let rows = e
        .query(select, &[&pattern], |r| Ok((r.int(0)?, r.text(1)?)))
        .await?;
    let mut changed = 0;
    for (id, record) in rows {
        let Ok(mut comment) = serde_json::from_str::<Comment>(&record) else {
            continue;
        };
        let theirs = comment
            .comment_author_email
            .as_deref()
            .is_some_and(|a| a.trim().to_lowercase() == email);
        if !theirs {
            continue;
        }
        comment.comment_author = None;
        comment.comment_author_email = None;
        comment.comment_author_url = None;
        comment.user_ip = None;
        comment.user_agent = None;
        comment.referrer = None;
        let record = serde_json::to_string(&comment)
            .map_err(|e| StorageError::Task(format!("cannot write a record: {e}")))?;
        e.execute(update, &[&record, &id]).await?;
        changed += 1;
    }
    Ok(changed)
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[
    ERASE_COMMENTS,
    ERASE_ADDRESS,
    LOG_CANDIDATES,
    LOG_UPDATE,
    EXAMPLE_CANDIDATES,
    EXAMPLE_UPDATE,
];
