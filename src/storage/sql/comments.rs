//! The bodies of [`CommentStore`](crate::storage::CommentStore), once for both backends. The
//! group insert and the posting limits are each backend's own (`sqlite.rs`,
//! `postgres/comments.rs`); everything else is here. Bodies that write several statements run
//! inside a transaction their backend opens and commits.

use super::row::{self, comment_columns, public_comment_columns};
use super::{Exec, Lock, Param, Spellings, spelled};
use crate::storage::key_index::{KeyRead, KeyedComment, KeyedRow};
use crate::storage::rules::decision_entries;
use crate::storage::{
    DayActivity, IMPLICIT_PER_SITE, IMPLICIT_SOURCE, LearnedExample, NewComment,
    REPUTATION_LINK_DOMAINS, Reputation, ReputationQuery, Status, StatusEvent, StorageError,
    StoredComment, Window, now_rfc3339,
};

/// Inserts one new comment with [`new_comment_params`] (SQLite's writer; PostgreSQL's inserts
/// a whole group with one `UNNEST`).
pub const INSERT_COMMENT: &str = "INSERT INTO comments (article, parent_id, author, \
    author_email, author_url, content, user_ip, user_agent, referrer, status, verdict, \
    spam_probability, clues, model_version, source, created_at, akismet_guid, api_key_id, \
    site_id, markdown) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
    $20)";

/// The values of [`INSERT_COMMENT`] for one comment stored at `now`.
pub fn new_comment_params<'a>(c: &'a NewComment, now: &'a String) -> [&'a dyn Param; 20] {
    [
        &c.article,
        &c.parent_id,
        &c.author,
        &c.author_email,
        &c.author_url,
        &c.content,
        &c.user_ip,
        &c.user_agent,
        &c.referrer,
        &c.status,
        &c.verdict,
        &c.spam_probability,
        &c.clues,
        &c.model_version,
        &c.source,
        now,
        &c.akismet_guid,
        &c.api_key_id,
        &c.site_id,
        &c.markdown,
    ]
}

const GET: &str = concat!(
    "SELECT ",
    comment_columns!(),
    " FROM comments WHERE id = $1"
);
const PUBLISHED: [&str; 2] = [
    concat!(
        "SELECT ",
        public_comment_columns!(),
        " FROM comments WHERE site_id = $1 AND article = $2 AND status = 'published' \
         AND id > $3 AND id < $4 ORDER BY id ASC LIMIT $5 OFFSET $6"
    ),
    concat!(
        "SELECT ",
        public_comment_columns!(),
        " FROM comments WHERE site_id = $1 AND article = $2 AND status = 'published' \
         AND id > $3 AND id < $4 ORDER BY id DESC LIMIT $5 OFFSET $6"
    ),
];
/// Comment ids per block of `published_blocks` (the migrations' `id >> 10`).
const BLOCK_BITS: u32 = 10;
/// The block where the published comment after skipping `$3` of a thread lies, oldest first
/// ([0]) or newest first ([1]), and how many published comments the blocks before it hold. Reads
/// one count per block (a thousand at a million comments), not one row per comment skipped.
const BLOCK_OF: [&str; 2] = [
    "SELECT block, upto - here FROM (SELECT block, CAST(SUM(n) AS BIGINT) AS here, \
       CAST(SUM(SUM(n)) OVER (ORDER BY block ASC) AS BIGINT) AS upto FROM published_blocks \
       WHERE site_id = $1 AND article = $2 GROUP BY block) counted \
     WHERE upto > $3 ORDER BY block ASC LIMIT 1",
    "SELECT block, upto - here FROM (SELECT block, CAST(SUM(n) AS BIGINT) AS here, \
       CAST(SUM(SUM(n)) OVER (ORDER BY block DESC) AS BIGINT) AS upto FROM published_blocks \
       WHERE site_id = $1 AND article = $2 GROUP BY block) counted \
     WHERE upto > $3 ORDER BY block DESC LIMIT 1",
];
// An old link's comment wins over a comment of this site with the same number (see
// `CommentStore::locate_published`).
// The comments before it are counted by block (`BLOCK_OF`), then row by row within its own.
const LOCATE_PUBLISHED: &str = "SELECT c.id, CAST(COALESCE((SELECT SUM(b.n) FROM published_blocks b \
      WHERE b.site_id = c.site_id AND b.article = c.article AND b.block < (c.id >> 10)), 0) \
      + (SELECT count(*) FROM comments p \
      WHERE p.site_id = c.site_id AND p.article = c.article AND p.status = 'published' \
        AND p.id >= ((c.id >> 10) << 10) AND p.id < c.id) AS BIGINT) \
    FROM comments c WHERE c.site_id = $1 AND c.article = $2 AND c.status = 'published' \
      AND (c.remote_id = $3 OR c.remote_id = $4 OR c.id = $5) \
    ORDER BY CASE WHEN c.remote_id = $3 OR c.remote_id = $4 THEN 0 ELSE 1 END LIMIT 1";
const PUBLISHED_COUNTS: &str = "SELECT article, CAST(SUM(n) AS BIGINT) FROM comment_counts \
    WHERE site_id = $1 AND status = 'published' GROUP BY article HAVING SUM(n) > 0";
const COUNT_PUBLISHED: &str = "SELECT CAST(SUM(n) AS BIGINT) FROM comment_counts \
    WHERE site_id = $1 AND article = $2 AND status = 'published'";
// Only the author's 500 latest comments on the article: enough for a repeated submission, and a
// prolific author (or a spammer) cannot make this a full scan.
const IS_DUPLICATE: &str = "SELECT id FROM (SELECT id, content, status FROM comments \
    WHERE site_id = $1 AND article = $2 AND author_email = $3 ORDER BY id DESC LIMIT 500) recent \
    WHERE content = $4 AND status != 'trash' LIMIT 1";
const KEYS_AFTER: &str = "SELECT id, site_id, article, author_email, content, author_url, user_ip, \
    edited_at FROM comments \
    WHERE id > $1 ORDER BY id LIMIT $2";
// Edits since a time, in (edit time, id) order from a cursor: the partial index
// `comments_by_edit` holds only edited rows, so this reads the few edits, never the table.
const KEYS_EDITED: &str = "SELECT id, site_id, article, author_email, content, author_url, user_ip, \
    edited_at FROM comments \
    WHERE edited_at IS NOT NULL AND (edited_at > $1 OR (edited_at = $1 AND id > $2)) \
    ORDER BY edited_at, id LIMIT $3";
const BY_STATUS: &str = concat!(
    "SELECT ",
    comment_columns!(),
    " FROM comments WHERE status = $1 AND (CAST($2 AS BIGINT) IS NULL OR site_id = $2) \
     AND (CAST($3 AS TEXT) IS NULL OR article = $3) AND (CAST($4 AS BIGINT) IS NULL OR id < $4) \
     ORDER BY id DESC LIMIT $5"
);
const STATUS_OF: Spellings = [
    "SELECT status, verdict FROM comments WHERE id = $1",
    // Two moderators deciding at once take turns, and each logs what it changed. (SQLite: the
    // transaction is IMMEDIATE, which serializes it already.)
    "SELECT status, verdict FROM comments WHERE id = $1 FOR UPDATE",
];
const INSERT_EVENT: &str = "INSERT INTO comment_events (comment_id, from_status, to_status, \
    actor, at) VALUES ($1, $2, $3, $4, $5)";
/// Appends one entry to the learning log.
pub const INSERT_LEARNED: &str = "INSERT INTO learning_log (comment_id, label, sign, record, \
    source, at) VALUES ($1, $2, $3, $4, $5, $6)";
const HISTORY: &str = "SELECT from_status, to_status, actor, at FROM comment_events \
    WHERE comment_id = $1 ORDER BY id";
const LEARNING_LOG: &str = "SELECT l.id, l.label, CAST(l.sign AS BIGINT), l.record, l.source, \
    CASE WHEN c.source = 'import' THEN NULL ELSE c.verdict END, COALESCE(c.article, l.layer), \
    COALESCE((SELECT s.name FROM sites s WHERE s.id = c.site_id), 'default') \
    FROM learning_log l LEFT JOIN comments c ON c.id = l.comment_id \
    WHERE l.id > $1 ORDER BY l.id LIMIT $2";
const DAILY_VERDICTS: &str = "SELECT substr(created_at, 1, 10) AS d, verdict, count(*) \
    FROM comments WHERE created_at >= $1 AND source != 'import' \
    AND (CAST($2 AS BIGINT) IS NULL OR site_id = $2) GROUP BY d, verdict";
const DAILY_CORRECTIONS: &str = "SELECT substr(l.at, 1, 10) AS d, \
    count(*) FILTER (WHERE l.label = 'spam' AND c.verdict = 'published'), \
    count(*) FILTER (WHERE l.label = 'ham' AND c.verdict IN ('held', 'rejected')) \
    FROM learning_log l JOIN comments c ON c.id = l.comment_id \
    WHERE l.sign = 1 AND l.at >= $1 AND l.source != 'import' \
    AND (CAST($2 AS BIGINT) IS NULL OR c.site_id = $2) GROUP BY d";

/// One comment by id.
pub async fn get<E: Exec>(e: &E, id: i64) -> Result<Option<StoredComment>, StorageError> {
    e.query_opt(GET, &[&id], row::comment).await
}

/// Published comments of a thread in a window, oldest first, without their clues.
pub async fn published<E: Exec>(
    e: &E,
    site: i64,
    article: &str,
    window: Window,
    limit: u64,
) -> Result<Vec<StoredComment>, StorageError> {
    // Both bounds are always bound, so each order is one prepared statement.
    let (newest_first, skip, above, below) = match window {
        Window::Offset(n) => (false, n, i64::MIN, i64::MAX),
        Window::FromEnd(n) => (true, n, i64::MIN, i64::MAX),
        Window::After(id) => (false, 0, id, i64::MAX),
        Window::Before(id) => (true, 0, i64::MIN, id),
    };
    let limit = limit.min(i64::MAX as u64) as i64;
    let mut skip = skip.min(i64::MAX as u64) as i64;
    let (mut above, mut below) = (above, below);
    // A long skip starts from the block it lands in: what the blocks before it hold is counted,
    // not read row by row.
    if skip >= 1 << BLOCK_BITS {
        let order = usize::from(newest_first);
        let found = e
            .query_opt(BLOCK_OF[order], &[&site, &article, &skip], |r| {
                Ok((r.int(0)?, r.int(1)?))
            })
            .await?;
        let Some((block, before)) = found else {
            return Ok(Vec::new());
        };
        skip -= before;
        if newest_first {
            below = block.saturating_add(1).saturating_mul(1 << BLOCK_BITS);
        } else {
            above = block.saturating_mul(1 << BLOCK_BITS).saturating_sub(1);
        }
    }
    let sql = PUBLISHED[usize::from(newest_first)];
    let mut comments = e
        .query(
            sql,
            &[&site, &article, &above, &below, &limit, &skip],
            row::comment,
        )
        .await?;
    if newest_first {
        comments.reverse();
    }
    Ok(comments)
}

/// Number of published comments of a thread.
pub async fn count_published<E: Exec>(
    e: &E,
    site: i64,
    article: &str,
) -> Result<u64, StorageError> {
    let n = super::scalar(e, COUNT_PUBLISHED, &[&site, &article]).await?;
    Ok(row::count(n.unwrap_or(0)))
}

/// Number of published comments of each of `articles` (a widget's count request), on one
/// connection: one trip to the database for the lot, not one per thread.
pub async fn count_published_each<E: Exec>(
    e: &E,
    site: i64,
    articles: &[String],
) -> Result<Vec<u64>, StorageError> {
    let mut counts = Vec::with_capacity(articles.len());
    for article in articles {
        counts.push(count_published(e, site, article).await?);
    }
    Ok(counts)
}

/// Number of published comments of each thread of a site that has any.
pub async fn published_counts<E: Exec>(
    e: &E,
    site: i64,
) -> Result<Vec<(String, u64)>, StorageError> {
    e.query(PUBLISHED_COUNTS, &[&site], |r| {
        Ok((r.text(0)?, row::count(r.opt_int(1)?.unwrap_or(0))))
    })
    .await
}

/// A published comment of a thread named by an anchor's candidates (two remote ids, one own id),
/// and how many published comments of the thread come before it.
pub async fn locate_published<E: Exec>(
    e: &E,
    site: i64,
    article: &str,
    remote_ids: [&str; 2],
    own_id: i64,
) -> Result<Option<(i64, u64)>, StorageError> {
    e.query_opt(
        LOCATE_PUBLISHED,
        &[&site, &article, &remote_ids[0], &remote_ids[1], &own_id],
        |r| Ok((r.int(0)?, row::count(r.int(1)?))),
    )
    .await
}

/// What the site knows of a reader's e-mail address ([`crate::storage::Reputation`]), in one
/// statement: both facts are read on every reader's post.
pub async fn reputation<E: Exec>(e: &E, q: &ReputationQuery) -> Result<Reputation, StorageError> {
    let website = like_domain(&q.website_domain);
    let website_sub = like_subdomain(&q.website_domain);
    let links: Vec<String> = (0..REPUTATION_LINK_DOMAINS)
        .map(|i| {
            q.link_domains
                .get(i)
                .map_or_else(String::new, |d| like_anywhere(d))
        })
        .collect();
    e.query_opt(
        REPUTATION,
        &[
            &q.site,
            &q.api_key.unwrap_or(0),
            &q.email,
            &q.name,
            &q.spam_since,
            &website,
            &website_sub,
            &q.ip,
            &q.ip_spam_since,
            &links[0],
            &links[1],
            &links[2],
            &q.website,
        ],
        |r| {
            Ok(Reputation {
                returning_author: r.int(0)? == 1,
                website_published: r.int(5)? == 1,
                marked_spam: r.int(1)? == 1,
                website_marked_spam: r.int(2)? == 1,
                ip_marked_spam: r.int(3)? == 1,
                link_domain_marked_spam: r.int(4)? == 1,
            })
        },
    )
    .await
    .map(Option::unwrap_or_default)
}

/// SQL: whether this site has spam a moderator marked lately (`$5` on; status spam on a comment
/// that arrived published or held) whose `column` matches one of the LIKE `patterns`, and no
/// comment posted after that spam, matching it, that a moderator approved (in a key's scope,
/// the blog's own correction by guid, `akismet-client`, is its moderator's). A domain that
/// readers use too — a video or social platform, a blog host, a site readers link to — is shown
/// so by the moderator's approval of one of them: its history then holds no one else, where
/// otherwise one spam mark there would hold every later reader on that platform, however many
/// the moderator let through.
macro_rules! marked_since_approved {
    ($column:literal, $($pattern:literal),+) => {
        concat!(
            "EXISTS (SELECT 1 FROM comments s WHERE s.site_id = $1 AND COALESCE(s.api_key_id, 0) = $2 \
             AND s.status = 'spam' AND s.verdict IN ('published', 'held') AND s.created_at >= $5 AND (",
            $("LOWER(s.", $column, ") LIKE ", $pattern, " ESCAPE '!' OR ",)+
            "1 = 0) AND NOT EXISTS (SELECT 1 FROM learning_log l JOIN comments a ON a.id = l.comment_id \
             WHERE l.source IN ('admin', 'akismet-client') AND l.label = 'ham' AND l.sign = 1 AND l.comment_id > s.id \
             AND a.site_id = $1 AND COALESCE(a.api_key_id, 0) = $2 AND a.status = 'published' AND (",
            $("LOWER(a.", $column, ") LIKE ", $pattern, " ESCAPE '!' OR ",)+
            "1 = 0)))"
        )
    };
}

/// The reputation lookup. "Marked spam" means a moderator's decision: status spam on a comment
/// that arrived published or held (the filter's own rejections are not evidence about anyone).
/// An empty parameter turns its part off. `$2` is the scope: 0 for the site's own readers, an
/// Akismet key's id for that key's checks; neither sees the other's history (a partner blog's
/// reports never hold the site's readers, nor the reverse).
const REPUTATION: &str = concat!(
    "SELECT \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comments WHERE site_id = $1 AND COALESCE(api_key_id, 0) = $2 \
     AND $3 <> '' AND author_email = $3 AND status = 'published' AND LOWER(author) = LOWER(CAST($4 AS TEXT))) \
     THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comments WHERE site_id = $1 AND COALESCE(api_key_id, 0) = $2 \
     AND $3 <> '' AND author_email = $3 AND status = 'spam' AND verdict IN ('published', 'held') AND created_at >= $5) \
     THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN $6 <> '' AND ",
    marked_since_approved!("author_url", "$6", "$7"),
    " THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comments WHERE site_id = $1 AND COALESCE(api_key_id, 0) = $2 \
     AND $8 <> '' AND status = 'spam' AND verdict IN ('published', 'held') AND created_at >= $9 AND user_ip = $8) \
     THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN ($10 <> '' AND ",
    marked_since_approved!("content", "$10"),
    ") OR ($11 <> '' AND ",
    marked_since_approved!("content", "$11"),
    ") OR ($12 <> '' AND ",
    marked_since_approved!("content", "$12"),
    ") THEN 1 ELSE 0 END AS BIGINT), \
     CAST(CASE WHEN $13 <> '' AND EXISTS (SELECT 1 FROM comments a WHERE a.site_id = $1 AND COALESCE(a.api_key_id, 0) = $2 \
     AND $3 <> '' AND a.author_email = $3 AND a.status = 'published' AND LOWER(a.author) = LOWER(CAST($4 AS TEXT)) \
     AND a.author_url = $13 AND (a.source = 'import' OR EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = a.id \
     AND l.source IN ('admin', 'akismet-client') AND l.label = 'ham' AND l.sign = 1))) \
     AND NOT EXISTS (SELECT 1 FROM learning_log m JOIN comments s ON s.id = m.comment_id \
     WHERE m.source IN ('admin', 'akismet-client') AND m.label = 'spam' AND m.sign = 1 AND m.at >= $5 \
     AND s.site_id = $1 AND COALESCE(s.api_key_id, 0) = $2 \
     AND RTRIM(LOWER(s.author_url), '/') = RTRIM(LOWER(CAST($13 AS TEXT)), '/')) \
     THEN 1 ELSE 0 END AS BIGINT)"
);

/// `domain` made safe inside a LIKE pattern (`!` is the escape character).
fn like_escaped(domain: &str) -> String {
    domain
        .replace('!', "!!")
        .replace('%', "!%")
        .replace('_', "!_")
}

/// A website on exactly this host: `%://shop.example/%`-style, with or without a path.
fn like_domain(domain: &str) -> String {
    if domain.is_empty() {
        return String::new();
    }
    format!("%://{}%", like_escaped(domain))
}

/// A website on a subdomain of it (`www.shop.example`).
fn like_subdomain(domain: &str) -> String {
    if domain.is_empty() {
        return String::new();
    }
    format!("%.{}%", like_escaped(domain))
}

fn like_anywhere(domain: &str) -> String {
    format!("%{}%", like_escaped(domain))
}

/// Candidates for implicit ham among the site's readers' comments: comments after `$1` created
/// before `$2`, or with at least `$3` readers' comments after them (the id of the `$3`-th newest
/// reader comment back bounds them), each with whether it is still published as it arrived and
/// was never learned, and whose lessons it would be ([`ImplicitScope`]). Both conditions hold
/// for every id up to the last one returned, so the caller's cursor passes nothing unseen.
const UNCHALLENGED: &str = "SELECT id, CAST(CASE WHEN status = 'published' AND verdict = 'published' \
     AND source <> 'import' \
     AND NOT EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = comments.id) \
     THEN 1 ELSE 0 END AS BIGINT), site_id, CAST(0 AS BIGINT), '', '', '' \
     FROM comments WHERE id > $1 AND api_key_id IS NULL AND (created_at < $2 OR id <= COALESCE((SELECT r.id FROM comments r \
     WHERE r.source IN ('form', 'api') ORDER BY r.id DESC LIMIT 1 OFFSET $3), 0)) \
     ORDER BY id LIMIT $4";
/// The same among Akismet keys' checks, by time only (`$3` unused: the readers' comments counted
/// are the site's own, not the blog's), with each check's thread, address and text for
/// [`spoken_for`]: a check answered `false` counts as its blog's reader (the blog's
/// `submit-spam` by guid takes it back as a moderator's mark does). A separate pass with its own
/// cursor: a check not yet old enough must not be passed by site comments the count rule
/// already lets through.
const UNCHALLENGED_CHECKS: &str = "SELECT id, CAST(CASE WHEN status = 'published' AND verdict = 'published' \
     AND source <> 'import' \
     AND NOT EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = comments.id) \
     THEN 1 ELSE 0 END AS BIGINT), site_id, api_key_id, article, author_email, content \
     FROM comments WHERE id > $1 AND api_key_id IS NOT NULL AND created_at < $2 \
     AND CAST($3 AS BIGINT) >= 0 ORDER BY id LIMIT $4";
/// The key's latest stored checks from the same address in the same thread (the index of the
/// duplicate check): among them, a check's other copies.
const KEY_CHECK_COPIES: &str = "SELECT id, status, content FROM comments \
    WHERE site_id = $1 AND article = $2 AND author_email = $3 AND id <> $4 ORDER BY id DESC LIMIT 50";
/// Whether the key voted on the text (a `submit-spam` or `submit-ham` without a guid: its
/// blog's report of a comment it could not name).
const KEY_VOTED: &str = "SELECT 1 FROM training_examples WHERE key_id = $1 AND text_sha256 = $2";
/// Whether a comment is still published with no learning-log entry.
const STILL_UNCHALLENGED: &str = "SELECT 1 FROM comments c WHERE c.id = $1 \
    AND c.status = 'published' \
    AND NOT EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = c.id)";
/// A site's (`$3` = 0) or an Akismet key's implicit-ham entries, net of take-backs, read through
/// `learning_log_by_source`; each entry's comment is looked up by its id, so the count reads the
/// implicit entries of every site and key (at most 5,000 each) however many comments they have,
/// whatever either planner thinks of a join. Read once per scope a pass meets.
const IMPLICIT_LEARNED: &str = "SELECT CAST(COALESCE(SUM(l.sign), 0) AS BIGINT) FROM learning_log l \
    WHERE l.source = $1 AND EXISTS (SELECT 1 FROM comments c WHERE c.id = l.comment_id \
    AND c.site_id = $2 AND COALESCE(c.api_key_id, 0) = $3)";

/// Whether the same text was already posted to the thread by the same address.
pub async fn is_duplicate<E: Exec>(
    e: &E,
    site: i64,
    article: &str,
    author_email: &str,
    content: &str,
) -> Result<bool, StorageError> {
    let params: [&dyn Param; 4] = [&site, &article, &author_email, &content];
    let found = e.query_opt(IS_DUPLICATE, &params, |_| Ok(())).await?;
    Ok(found.is_some())
}

/// At most `limit` comments, with their keys, for
/// [`crate::storage::key_index::KeyIndex`]: after an id in id order, or edited since a time in
/// (edit time, id) order.
pub async fn keyed_rows<E: Exec>(
    e: &E,
    read: &KeyRead,
    limit: i64,
) -> Result<Vec<KeyedRow>, StorageError> {
    let keyed = |r: &dyn super::RowRead| {
        let (article, author_email, content) = (r.text(2)?, r.text(3)?, r.text(4)?);
        let (author_url, user_ip) = (r.opt_text(5)?, r.opt_text(6)?);
        let comment = KeyedComment {
            site: r.int(1)?,
            article: &article,
            author_email: &author_email,
            author_url: author_url.as_deref(),
            user_ip: user_ip.as_deref(),
            content: &content,
        };
        Ok(KeyedRow {
            id: r.int(0)?,
            edited_at: r.opt_text(7)?,
            keys: comment.keys(),
        })
    };
    match read {
        KeyRead::After { id } => e.query(KEYS_AFTER, &[id, &limit], keyed).await,
        KeyRead::EditedSince { at, id } => e.query(KEYS_EDITED, &[at, id, &limit], keyed).await,
    }
}

/// Comments by status, newest first, optionally of one site and thread, and older than
/// `before` (the last id of the previous page).
pub async fn by_status<E: Exec>(
    e: &E,
    status: Status,
    site: Option<i64>,
    article: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<StoredComment>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    e.query(
        BY_STATUS,
        &[&status, &site, &article, &before, &limit],
        row::comment,
    )
    .await
}

/// Changes a comment's status, logs what the decision teaches and who made it; in a
/// transaction.
pub async fn set_status<E: Exec>(
    e: &E,
    id: i64,
    to: Status,
    actor: &str,
) -> Result<StoredComment, StorageError> {
    let (from, verdict) = e
        .query_opt(spelled(e, STATUS_OF), &[&id], |r| {
            Ok((r.text(0)?, r.text(1)?))
        })
        .await?
        .ok_or(StorageError::NotFound(id))?;
    e.execute("UPDATE comments SET status = $1 WHERE id = $2", &[&to, &id])
        .await?;
    log_decision(e, id, &verdict, Status::parse(&from), to, actor).await?;
    let at = now_rfc3339();
    e.execute(INSERT_EVENT, &[&id, &from, &to, &actor, &at])
        .await?;
    e.query_opt(GET, &[&id], row::comment)
        .await?
        .ok_or(StorageError::NotFound(id))
}

/// Appends to the learning log what a status change does to the labeled example comment `id`
/// stands for ([`decision_entries`]). The record is built only for a decision that teaches.
async fn log_decision<E: Exec>(
    e: &E,
    id: i64,
    verdict: &str,
    from: Option<Status>,
    to: Status,
    actor: &str,
) -> Result<(), StorageError> {
    let entries = decision_entries(verdict, from, to);
    if entries.is_empty() {
        return Ok(());
    }
    let record = learning_record(e, id).await?;
    let at = now_rfc3339();
    e.lock(Lock::LearningLog).await?;
    let labels = entries.iter().any(|&(_, sign)| sign > 0);
    for (label, sign) in entries {
        if sign > 0 && labels {
            take_back_implicit(e, id, &record, &at).await?;
        }
        let label = label.as_str();
        e.execute(INSERT_LEARNED, &[&id, &label, &sign, &record, &actor, &at])
            .await?;
    }
    Ok(())
}

/// The learning-log record of comment `id`: the fields the classifier reads, as JSON.
async fn learning_record<E: Exec>(e: &E, id: i64) -> Result<String, StorageError> {
    e.query_opt(
        "SELECT content, author, author_email, author_url, user_agent, comment_type \
         FROM comments WHERE id = $1",
        &[&id],
        |r| {
            Ok(serde_json::json!({
                "comment_content": r.text(0)?,
                "comment_author": r.text(1)?,
                "comment_author_email": r.text(2)?,
                "comment_author_url": r.opt_text(3)?,
                "user_agent": r.opt_text(4)?,
                "comment_type": r.text(5)?,
            })
            .to_string())
        },
    )
    .await?
    .ok_or(StorageError::NotFound(id))
}

/// A moderator's label supersedes the ham comment `id` taught by staying published: that
/// implicit entry is taken back (before the new label is added).
async fn take_back_implicit<E: Exec>(
    e: &E,
    id: i64,
    record: &str,
    at: &str,
) -> Result<(), StorageError> {
    let source = IMPLICIT_SOURCE;
    let implicit = e
        .query_opt(
            "SELECT CAST(COALESCE(SUM(sign), 0) AS BIGINT) FROM learning_log \
             WHERE comment_id = $1 AND source = $2",
            &[&id, &source],
            |r| r.int(0),
        )
        .await?
        .unwrap_or(0);
    if implicit > 0 {
        let (label, sign) = ("ham", -1_i16);
        e.execute(INSERT_LEARNED, &[&id, &label, &sign, &record, &source, &at])
            .await?;
    }
    Ok(())
}

/// See [`crate::storage::CommentStore::learn_unchallenged`]; run in a transaction.
pub async fn learn_unchallenged<E: Exec>(
    e: &E,
    before: &str,
    newer: u64,
    after_id: i64,
    limit: u64,
    relayed: bool,
) -> Result<(usize, i64), StorageError> {
    let (candidates, through) = unchallenged(e, before, newer, after_id, limit, relayed).await?;
    if candidates.is_empty() {
        return Ok((0, through));
    }
    Ok((learn_implicit(e, &candidates).await?, through))
}

/// The read half of [`learn_unchallenged`]: the site's readers' comments (`relayed`: the
/// Akismet keys' checks) after `after_id` that qualify as implicit ham, as (id, scope), those of
/// scopes already at [`IMPLICIT_PER_SITE`] left out, and the last id looked at. Reads only, so
/// SQLite runs it on its background connection: on a first start over a large database the
/// backlog is a long scan.
pub async fn unchallenged<E: Exec>(
    e: &E,
    before: &str,
    newer: u64,
    after_id: i64,
    limit: u64,
    relayed: bool,
) -> Result<(Vec<(i64, ImplicitScope)>, i64), StorageError> {
    let limit = limit as i64;
    // No reader comment sits this far back: counting is off.
    let offset = if newer == 0 { i64::MAX } else { newer as i64 };
    let query = if relayed {
        UNCHALLENGED_CHECKS
    } else {
        UNCHALLENGED
    };
    let rows = e
        .query(query, &[&after_id, &before, &offset, &limit], |r| {
            Ok(Candidate {
                id: r.int(0)?,
                unchallenged: r.int(1)? == 1,
                scope: (r.int(2)?, r.int(3)?),
                article: r.text(4)?,
                email: r.text(5)?,
                content: r.text(6)?,
            })
        })
        .await?;
    let through = rows.last().map_or(after_id, |c| c.id);
    let mut room = ImplicitRoom::default();
    let mut candidates = Vec::new();
    for c in rows {
        // A scope with no room left pays for nothing more.
        if !c.unchallenged || room.left(e, c.scope).await? <= 0 {
            continue;
        }
        if relayed && spoken_for(e, &c).await? {
            continue;
        }
        if room.take(e, c.scope).await? {
            candidates.push((c.id, c.scope));
        }
    }
    Ok((candidates, through))
}

/// Whose lessons an implicit-ham entry is: a site's readers' (key 0), or one Akismet key's
/// checks (its id; the checks are stored on the default site). Each has its own
/// [`IMPLICIT_PER_SITE`].
pub type ImplicitScope = (i64, i64);

/// A comment [`unchallenged`] looked at.
struct Candidate {
    id: i64,
    unchallenged: bool,
    scope: ImplicitScope,
    /// For a key's check: its thread, address and text.
    article: String,
    email: String,
    content: String,
}

/// Whether the blog has spoken for a key's check some other way than by its guid: it voted on
/// the text without a guid, or another stored check of the key from the same address with the
/// same text (case and runs of white space aside, as votes count texts) came earlier — a
/// recheck stores the comment again, and it is learned once, as the first — or is not published
/// (the blog reported a recheck, or it waits).
async fn spoken_for<E: Exec>(e: &E, c: &Candidate) -> Result<bool, StorageError> {
    let text = super::keys::text_sha256(&c.content);
    let (site, key) = c.scope;
    if e.query_opt(KEY_VOTED, &[&key, &text], |_| Ok(()))
        .await?
        .is_some()
    {
        return Ok(true);
    }
    let copies = e
        .query(
            KEY_CHECK_COPIES,
            &[&site, &c.article, &c.email, &c.id],
            |r| Ok((r.int(0)?, r.text(1)?, r.text(2)?)),
        )
        .await?;
    Ok(copies.iter().any(|(id, status, content)| {
        (*id < c.id || status != Status::Published.as_str())
            && super::keys::text_sha256(content) == text
    }))
}

/// How many more implicit-ham entries each scope may take ([`IMPLICIT_PER_SITE`] less what its
/// log holds, net of take-backs), each scope's count read once.
#[derive(Default)]
struct ImplicitRoom(std::collections::HashMap<ImplicitScope, i64>);

impl ImplicitRoom {
    /// The places `scope` has left.
    async fn left<E: Exec>(&mut self, e: &E, scope: ImplicitScope) -> Result<i64, StorageError> {
        if let Some(&left) = self.0.get(&scope) {
            return Ok(left);
        }
        let source = IMPLICIT_SOURCE;
        let (site, key) = scope;
        let held = super::scalar(e, IMPLICIT_LEARNED, &[&source, &site, &key]).await?;
        let left = IMPLICIT_PER_SITE - held.unwrap_or(0);
        self.0.insert(scope, left);
        Ok(left)
    }

    /// Takes one place for `scope`; `false` when it has none left.
    async fn take<E: Exec>(&mut self, e: &E, scope: ImplicitScope) -> Result<bool, StorageError> {
        let left = self.left(e, scope).await?;
        self.0.insert(scope, left - 1);
        Ok(left > 0)
    }
}

/// The write half of [`learn_unchallenged`]: one implicit-ham entry for each candidate still
/// published with no learning-log entry (another replica, or a moderator, may have been first),
/// while its site has room; run in a transaction. Returns how many were learned.
pub async fn learn_implicit<E: Exec>(
    e: &E,
    candidates: &[(i64, ImplicitScope)],
) -> Result<usize, StorageError> {
    e.lock(Lock::LearningLog).await?;
    let at = now_rfc3339();
    let source = IMPLICIT_SOURCE;
    let (label, sign) = ("ham", 1_i16);
    let mut room = ImplicitRoom::default();
    let mut learned = 0;
    for &(id, scope) in candidates {
        let still = e.query_opt(STILL_UNCHALLENGED, &[&id], |_| Ok(())).await?;
        if still.is_none() || !room.take(e, scope).await? {
            continue;
        }
        let record = learning_record(e, id).await?;
        e.execute(INSERT_LEARNED, &[&id, &label, &sign, &record, &source, &at])
            .await?;
        learned += 1;
    }
    Ok(learned)
}

/// A comment's status history, oldest first.
pub async fn history<E: Exec>(e: &E, id: i64) -> Result<Vec<StatusEvent>, StorageError> {
    e.query(HISTORY, &[&id], row::status_event).await
}

/// The learning log after entry `after`, oldest first.
pub async fn learning_log<E: Exec>(
    e: &E,
    after: i64,
    limit: u64,
) -> Result<Vec<LearnedExample>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    let entries = e
        .query(LEARNING_LOG, &[&after, &limit], row::learned)
        .await?;
    Ok(entries.into_iter().flatten().collect())
}

/// Per day from `since`: comments by verdict, and the moderators' corrections.
pub async fn daily_activity<E: Exec>(
    e: &E,
    since: &str,
    site: Option<i64>,
) -> Result<Vec<DayActivity>, StorageError> {
    let verdicts = e
        .query(DAILY_VERDICTS, &[&since, &site], |r| {
            Ok((r.text(0)?, r.text(1)?, row::count(r.int(2)?)))
        })
        .await?;
    let corrections = e
        .query(DAILY_CORRECTIONS, &[&since, &site], |r| {
            Ok((r.text(0)?, row::count(r.int(1)?), row::count(r.int(2)?)))
        })
        .await?;
    let mut days: std::collections::BTreeMap<String, DayActivity> = Default::default();
    for (d, verdict, n) in verdicts {
        let a = entry(&mut days, d);
        match verdict.as_str() {
            "published" => a.published += n,
            "held" => a.held += n,
            _ => a.rejected += n,
        }
    }
    for (d, spam, ham) in corrections {
        let a = entry(&mut days, d);
        a.spam_published += spam;
        a.ham_caught += ham;
    }
    Ok(days.into_values().collect())
}

fn entry(
    days: &mut std::collections::BTreeMap<String, DayActivity>,
    d: String,
) -> &mut DayActivity {
    days.entry(d.clone()).or_insert_with(|| DayActivity {
        day: d,
        ..DayActivity::default()
    })
}

/// A server setting.
pub async fn setting<E: Exec>(e: &E, key: &str) -> Result<Option<String>, StorageError> {
    e.query_opt("SELECT value FROM settings WHERE key = $1", &[&key], |r| {
        r.text(0)
    })
    .await
}

/// Sets a server setting.
pub async fn set_setting<E: Exec>(e: &E, key: &str, value: &str) -> Result<(), StorageError> {
    e.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )
    .await?;
    Ok(())
}

/// Sets a server setting only if it still holds `expected` (`None`: only if it is unset); whether
/// it was set. Processes starting together agree this way on a value each would make its own
/// (a salted hash, a random key): the first to write wins, the others read the winner's.
pub async fn replace_setting<E: Exec>(
    e: &E,
    key: &str,
    expected: Option<&str>,
    value: &str,
) -> Result<bool, StorageError> {
    let changed = match expected {
        None => {
            e.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )
            .await?
        }
        Some(old) => {
            e.execute(
                "UPDATE settings SET value = $1 WHERE key = $2 AND value = $3",
                &[&value, &key, &old],
            )
            .await?
        }
    };
    Ok(changed > 0)
}

/// Stores a session, dropping expired ones; in a transaction.
pub async fn create_session<E: Exec>(
    e: &E,
    id_sha256: &str,
    csrf: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), StorageError> {
    e.execute("DELETE FROM admin_sessions WHERE expires_at <= $1", &[&now])
        .await?;
    e.execute(
        "INSERT INTO admin_sessions (id_sha256, csrf, expires_at) VALUES ($1, $2, $3)",
        &[&id_sha256, &csrf, &expires_at],
    )
    .await?;
    Ok(())
}

/// The CSRF token of a live session.
pub async fn session_csrf<E: Exec>(
    e: &E,
    id_sha256: &str,
    now: i64,
) -> Result<Option<String>, StorageError> {
    e.query_opt(
        "SELECT csrf FROM admin_sessions WHERE id_sha256 = $1 AND expires_at > $2",
        &[&id_sha256, &now],
        |r| r.text(0),
    )
    .await
}

/// Ends a session.
pub async fn delete_session<E: Exec>(e: &E, id_sha256: &str) -> Result<(), StorageError> {
    e.execute(
        "DELETE FROM admin_sessions WHERE id_sha256 = $1",
        &[&id_sha256],
    )
    .await?;
    Ok(())
}

/// Liveness probe.
pub async fn ping<E: Exec>(e: &E) -> Result<(), StorageError> {
    e.query_opt("SELECT 1", &[], |_| Ok(())).await?;
    Ok(())
}

/// Stored comments per status, of one site or of all.
pub async fn count_by_status<E: Exec>(
    e: &E,
    site: Option<i64>,
) -> Result<Vec<(Status, u64)>, StorageError> {
    let rows = e
        .query(
            "SELECT status, CAST(SUM(n) AS BIGINT) FROM comment_counts \
             WHERE CAST($1 AS BIGINT) IS NULL OR site_id = $1 GROUP BY status ORDER BY status",
            &[&site],
            |r| Ok((r.text(0)?, row::count(r.opt_int(1)?.unwrap_or(0)))),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, n)| Some((Status::parse(&status)?, n)))
        .collect())
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[
    INSERT_COMMENT,
    GET,
    PUBLISHED[0],
    PUBLISHED[1],
    BLOCK_OF[0],
    BLOCK_OF[1],
    COUNT_PUBLISHED,
    PUBLISHED_COUNTS,
    LOCATE_PUBLISHED,
    IS_DUPLICATE,
    KEYS_AFTER,
    KEYS_EDITED,
    REPUTATION,
    UNCHALLENGED,
    UNCHALLENGED_CHECKS,
    KEY_CHECK_COPIES,
    KEY_VOTED,
    IMPLICIT_LEARNED,
    STILL_UNCHALLENGED,
    BY_STATUS,
    STATUS_OF[0],
    INSERT_EVENT,
    INSERT_LEARNED,
    HISTORY,
    LEARNING_LOG,
    DAILY_VERDICTS,
    DAILY_CORRECTIONS,
];
