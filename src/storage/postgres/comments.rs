//! [`CommentStore`] on PostgreSQL.

use super::{InsertRequest, LEARNING_LOCK, PgStore, pg_error};
use crate::data::{Comment, Label, LabeledComment};
use crate::domain::training_label;
use crate::engine::Verdict;
use crate::storage::{
    CommentStore, DayActivity, IMPLICIT_SOURCE, LearnedExample, NewComment, Status, StatusEvent,
    StorageError, StoredComment, now_rfc3339,
};
use deadpool_postgres::Pool;
use std::sync::atomic::Ordering;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub(super) const COLUMNS: &str = "id, article, parent_id, author, author_email, author_url, content, user_ip, \
    user_agent, status, verdict, spam_probability, clues, model_version, source, created_at, \
    content_format";
/// [`COLUMNS`] without the clues: public listings never show them.
const PUBLIC_COLUMNS: &str = "id, article, parent_id, author, author_email, author_url, content, \
    user_ip, user_agent, status, verdict, spam_probability, 'null', model_version, source, created_at, \
    content_format";

pub(super) fn row_to_comment(row: &Row) -> Result<StoredComment, StorageError> {
    let status: String = row.try_get(9)?;
    let clues: String = row.try_get(12)?;
    Ok(StoredComment {
        id: row.try_get(0)?,
        article: row.try_get(1)?,
        parent_id: row.try_get(2)?,
        author: row.try_get(3)?,
        author_email: row.try_get(4)?,
        author_url: row.try_get(5)?,
        content: row.try_get(6)?,
        user_ip: row.try_get(7)?,
        user_agent: row.try_get(8)?,
        status: Status::parse(&status).unwrap_or(Status::Held),
        verdict: row.try_get(10)?,
        spam_probability: row.try_get(11)?,
        clues: serde_json::from_str(&clues).unwrap_or(serde_json::Value::Null),
        model_version: row.try_get(13)?,
        source: row.try_get(14)?,
        created_at: row.try_get(15)?,
        html: row.try_get::<_, String>(16)? == "html",
    })
}

fn rows_to_comments(rows: &[Row]) -> Result<Vec<StoredComment>, StorageError> {
    rows.iter().map(row_to_comment).collect()
}

/// Stores a group of comments (and their first status events) with one statement in one
/// transaction; returns them in the order given.
pub(super) async fn insert_all(
    pool: &Pool,
    comments: Vec<NewComment>,
) -> Result<Vec<StoredComment>, StorageError> {
    let now = now_rfc3339();
    let column = |f: &dyn Fn(&NewComment) -> Option<String>| -> Vec<Option<String>> {
        comments.iter().map(f).collect()
    };
    let article = column(&|c| Some(c.article.clone()));
    let author = column(&|c| Some(c.author.clone()));
    let email = column(&|c| Some(c.author_email.clone()));
    let url = column(&|c| c.author_url.clone());
    let content = column(&|c| Some(c.content.clone()));
    let ip = column(&|c| c.user_ip.clone());
    let agent = column(&|c| c.user_agent.clone());
    let referrer = column(&|c| c.referrer.clone());
    let status = column(&|c| Some(c.status.as_str().to_string()));
    let verdict = column(&|c| Some(c.verdict.clone()));
    let clues = column(&|c| Some(c.clues.clone()));
    let model = column(&|c| Some(c.model_version.clone()));
    let source = column(&|c| Some(c.source.clone()));
    let guid = column(&|c| c.akismet_guid.clone());
    let parent: Vec<Option<i64>> = comments.iter().map(|c| c.parent_id).collect();
    let key: Vec<Option<i64>> = comments.iter().map(|c| c.api_key_id).collect();
    let probability: Vec<f64> = comments.iter().map(|c| c.spam_probability).collect();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // Ids are drawn in the order of the ordered SELECT, so sorting them gives the input order.
    let stmt = tx
        .prepare_cached(
            "WITH input AS (SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], \
               $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
               $12::float8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::int8[]) \
               WITH ORDINALITY AS t(article, parent_id, author, author_email, author_url, content, \
               user_ip, user_agent, referrer, status, verdict, spam_probability, clues, \
               model_version, source, akismet_guid, api_key_id, ord)), \
             new AS (INSERT INTO comments (article, parent_id, author, author_email, author_url, \
               content, user_ip, user_agent, referrer, status, verdict, spam_probability, clues, \
               model_version, source, created_at, akismet_guid, api_key_id) \
               SELECT article, parent_id, author, author_email, author_url, content, user_ip, \
               user_agent, referrer, status, verdict, spam_probability, clues, model_version, \
               source, $18, akismet_guid, api_key_id FROM input ORDER BY ord RETURNING id, status), \
             events AS (INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
               SELECT id, NULL, status, 'classifier', $18 FROM new) \
             SELECT id FROM new ORDER BY id",
        )
        .await?;
    let params: [&(dyn ToSql + Sync); 18] = [
        &article,
        &parent,
        &author,
        &email,
        &url,
        &content,
        &ip,
        &agent,
        &referrer,
        &status,
        &verdict,
        &probability,
        &clues,
        &model,
        &source,
        &guid,
        &key,
        &now,
    ];
    let rows = tx.query(&stmt, &params).await?;
    tx.commit().await?;
    let mut stored = Vec::with_capacity(comments.len());
    for (row, c) in rows.iter().zip(comments) {
        stored.push(StoredComment {
            id: row.try_get(0)?,
            article: c.article,
            parent_id: c.parent_id,
            author: c.author,
            author_email: c.author_email,
            author_url: c.author_url,
            content: c.content,
            user_ip: c.user_ip,
            user_agent: c.user_agent,
            status: c.status,
            verdict: c.verdict,
            spam_probability: c.spam_probability,
            clues: serde_json::from_str(&c.clues).unwrap_or(serde_json::Value::Null),
            model_version: c.model_version,
            source: c.source,
            created_at: now.clone(),
            html: false,
        });
    }
    Ok(stored)
}

/// Appends to the learning log what a status change does to the labeled example comment `id`
/// stands for (see [`training_label`]); the same rule as on SQLite.
async fn log_decision(
    tx: &deadpool_postgres::Transaction<'_>,
    id: i64,
    verdict: &str,
    from: Option<Status>,
    to: Status,
    actor: &str,
) -> Result<(), StorageError> {
    let verdict = Verdict::parse(verdict).unwrap_or(Verdict::Rejected);
    let before = from.and_then(|s| training_label(verdict, s));
    let after = training_label(verdict, to);
    if before == after {
        return Ok(());
    }
    let row = tx
        .query_one(
            "SELECT content, author, author_email, author_url, user_agent, comment_type \
             FROM comments WHERE id = $1",
            &[&id],
        )
        .await?;
    let record = serde_json::json!({
        "comment_content": row.try_get::<_, String>(0)?,
        "comment_author": row.try_get::<_, String>(1)?,
        "comment_author_email": row.try_get::<_, String>(2)?,
        "comment_author_url": row.try_get::<_, Option<String>>(3)?,
        "user_agent": row.try_get::<_, Option<String>>(4)?,
        "comment_type": row.try_get::<_, String>(5)?,
    })
    .to_string();
    let at = now_rfc3339();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEARNING_LOCK])
        .await?;
    let insert = "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                  VALUES ($1, $2, $3, $4, $5, $6)";
    if let Some(label) = before {
        tx.execute(
            insert,
            &[&id, &label.as_str(), &-1i16, &record, &actor, &at],
        )
        .await?;
    }
    if after.is_some() {
        // A moderator's label supersedes the ham this comment taught by staying published.
        let implicit: i64 = tx
            .query_one(
                "SELECT COALESCE(SUM(sign), 0)::BIGINT FROM learning_log \
                 WHERE comment_id = $1 AND source = $2",
                &[&id, &IMPLICIT_SOURCE],
            )
            .await?
            .try_get(0)?;
        if implicit > 0 {
            tx.execute(
                insert,
                &[&id, &"ham", &-1i16, &record, &IMPLICIT_SOURCE, &at],
            )
            .await?;
        }
    }
    if let Some(label) = after {
        tx.execute(insert, &[&id, &label.as_str(), &1i16, &record, &actor, &at])
            .await?;
    }
    Ok(())
}

fn label_of(label: &str) -> Label {
    if label == "spam" {
        Label::Spam
    } else {
        Label::Ham
    }
}

#[async_trait::async_trait]
impl CommentStore for PgStore {
    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.writer
            .send(InsertRequest { comment, reply })
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        outcome.await.map_err(|_| StorageError::WriterStopped)?
    }

    async fn get(&self, id: i64) -> Result<Option<StoredComment>, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {COLUMNS} FROM comments WHERE id = $1"))
            .await?;
        client
            .query_opt(&stmt, &[&id])
            .await?
            .as_ref()
            .map(row_to_comment)
            .transpose()
    }

    async fn published(
        &self,
        article: &str,
        window: crate::storage::Window,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        use crate::storage::Window;
        let (condition, order, skip, from) = match window {
            Window::Offset(n) => ("", "ASC", n, 0),
            Window::FromEnd(n) => ("", "DESC", n, 0),
            Window::After(id) => ("AND id > $4", "ASC", 0, id),
            Window::Before(id) => ("AND id < $4", "DESC", 0, id),
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {PUBLIC_COLUMNS} FROM comments WHERE article = $1 AND status = 'published' \
                 AND $4::BIGINT IS NOT NULL {condition} ORDER BY id {order} LIMIT $2 OFFSET $3"
            ))
            .await?;
        let limit = limit.min(i64::MAX as u64) as i64;
        let skip = skip.min(i64::MAX as u64) as i64;
        let rows = client
            .query(&stmt, &[&article, &limit, &skip, &from])
            .await?;
        let mut comments = rows_to_comments(&rows)?;
        if order == "DESC" {
            comments.reverse();
        }
        Ok(comments)
    }

    async fn count_published(&self, article: &str) -> Result<u64, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT SUM(n)::BIGINT FROM comment_counts WHERE article = $1 AND status = 'published'",
            )
            .await?;
        let n: Option<i64> = match client.query_opt(&stmt, &[&article]).await? {
            Some(row) => row.try_get(0)?,
            None => None,
        };
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    async fn is_duplicate(
        &self,
        article: &str,
        author_email: &str,
        content: &str,
    ) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id FROM (SELECT id, content, status FROM comments WHERE article = $1 \
                 AND author_email = $2 ORDER BY id DESC LIMIT 500) recent \
                 WHERE content = $3 AND status != 'trash' LIMIT 1",
            )
            .await?;
        Ok(client
            .query_opt(&stmt, &[&article, &author_email, &content])
            .await?
            .is_some())
    }

    async fn by_status(
        &self,
        status: Status,
        article: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredComment>, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM comments WHERE status = $1 \
                 AND ($2::text IS NULL OR article = $2) ORDER BY id DESC LIMIT $3"
            ))
            .await?;
        let rows = client
            .query(&stmt, &[&status.as_str(), &article, &(limit as i64)])
            .await?;
        rows_to_comments(&rows)
    }

    async fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &str,
    ) -> Result<StoredComment, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // FOR UPDATE: two moderators deciding at once take turns, and each logs what it changed.
        let row = tx
            .query_opt(
                "SELECT status, verdict FROM comments WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
            .ok_or(StorageError::NotFound(id))?;
        let from: String = row.try_get(0)?;
        let verdict: String = row.try_get(1)?;
        tx.execute(
            "UPDATE comments SET status = $1 WHERE id = $2",
            &[&to.as_str(), &id],
        )
        .await?;
        log_decision(&tx, id, &verdict, Status::parse(&from), to, actor).await?;
        tx.execute(
            "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&id, &from, &to.as_str(), &actor, &now_rfc3339()],
        )
        .await?;
        let row = tx
            .query_one(
                &format!("SELECT {COLUMNS} FROM comments WHERE id = $1"),
                &[&id],
            )
            .await?;
        let comment = row_to_comment(&row)?;
        tx.commit().await?;
        self.changed();
        Ok(comment)
    }

    async fn history(&self, id: i64) -> Result<Vec<StatusEvent>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT from_status, to_status, actor, at FROM comment_events \
                 WHERE comment_id = $1 ORDER BY id",
                &[&id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let from: Option<String> = r.try_get(0)?;
                let to: String = r.try_get(1)?;
                Ok(StatusEvent {
                    from_status: from.as_deref().and_then(Status::parse),
                    to_status: Status::parse(&to).unwrap_or(Status::Held),
                    actor: r.try_get(2)?,
                    at: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn feedback(&self) -> Result<Vec<LabeledComment>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.content, c.author, c.author_email, c.author_url, c.user_ip, c.user_agent, \
                 c.referrer, e.to_status FROM comments c \
                 JOIN comment_events e ON e.id = (SELECT MAX(id) FROM comment_events \
                   WHERE comment_id = c.id AND actor != 'classifier') \
                 WHERE e.to_status = c.status AND e.to_status IN ('published', 'spam') \
                   AND NOT (c.verdict = 'published' AND e.to_status = 'published') \
                   AND NOT (c.verdict = 'rejected' AND e.to_status = 'spam') \
                 ORDER BY c.id",
                &[],
            )
            .await?;
        let mut examples = Vec::with_capacity(rows.len());
        for r in &rows {
            let to: String = r.try_get(7)?;
            examples.push(LabeledComment {
                label: if to == "spam" {
                    Label::Spam
                } else {
                    Label::Ham
                },
                comment: Comment {
                    comment_content: r.try_get(0)?,
                    comment_author: Some(r.try_get(1)?),
                    comment_author_email: Some(r.try_get(2)?),
                    comment_author_url: r.try_get(3)?,
                    user_ip: r.try_get(4)?,
                    user_agent: r.try_get(5)?,
                    referrer: r.try_get(6)?,
                    permalink: None,
                    comment_type: Some("comment".into()),
                    comment_date_gmt: None,
                },
            });
        }
        for r in client
            .query("SELECT record FROM training_examples ORDER BY id", &[])
            .await?
        {
            if let Ok(example) = serde_json::from_str(&r.try_get::<_, String>(0)?) {
                examples.push(example);
            }
        }
        Ok(examples)
    }

    async fn learn_unchallenged(
        &self,
        before: &str,
        after_id: i64,
        limit: u64,
    ) -> Result<(usize, i64), StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, (status = 'published' AND verdict = 'published' \
                 AND source NOT IN ('import', 'akismet') \
                 AND NOT EXISTS (SELECT 1 FROM learning_log l WHERE l.comment_id = comments.id)) \
                 FROM comments WHERE id > $1 AND created_at < $2 ORDER BY id LIMIT $3",
                &[&after_id, &before, &(limit as i64)],
            )
            .await?;
        // Entries are appended in id order by every writer (see `log_decision`).
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEARNING_LOCK])
            .await?;
        let at = now_rfc3339();
        let (mut learned, mut through) = (0, after_id);
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            through = id;
            if row.try_get::<_, bool>(1)? {
                tx.execute(
                    "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                     SELECT id, 'ham', 1, json_build_object('comment_content', content, \
                     'comment_author', author, 'comment_author_email', author_email, \
                     'comment_author_url', author_url, 'user_agent', user_agent, \
                     'comment_type', comment_type)::text, $2, $3 FROM comments WHERE id = $1",
                    &[&id, &IMPLICIT_SOURCE, &at],
                )
                .await?;
                learned += 1;
            }
        }
        tx.commit().await?;
        Ok((learned, through))
    }

    async fn learning_log(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<LearnedExample>, StorageError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT l.id, l.label, l.sign, l.record, l.source, \
                 CASE WHEN c.source = 'import' THEN NULL ELSE c.verdict END \
                 FROM learning_log l LEFT JOIN comments c ON c.id = l.comment_id \
                 WHERE l.id > $1 ORDER BY l.id LIMIT $2",
            )
            .await?;
        let rows = client.query(&stmt, &[&after, &(limit as i64)]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let record: String = r.try_get(3)?;
            let Ok(comment) = serde_json::from_str::<Comment>(&record) else {
                tracing::warn!(id, "unreadable learning-log record skipped");
                continue;
            };
            out.push(LearnedExample {
                id,
                label: label_of(&r.try_get::<_, String>(1)?),
                sign: if r.try_get::<_, i16>(2)? < 0 {
                    -1.0
                } else {
                    1.0
                },
                comment,
                source: r.try_get(4)?,
                arrival: r
                    .try_get::<_, Option<String>>(5)?
                    .as_deref()
                    .and_then(crate::engine::Verdict::parse),
            });
        }
        Ok(out)
    }

    async fn daily_activity(&self, since: &str) -> Result<Vec<DayActivity>, StorageError> {
        let client = self.client().await?;
        let verdicts = client
            .query(
                "SELECT substr(created_at, 1, 10) AS d, verdict, count(*) FROM comments \
                 WHERE created_at >= $1 AND source != 'import' GROUP BY d, verdict",
                &[&since],
            )
            .await?;
        let corrections = client
            .query(
                "SELECT substr(l.at, 1, 10) AS d, \
                   count(*) FILTER (WHERE l.label = 'spam' AND c.verdict = 'published'), \
                   count(*) FILTER (WHERE l.label = 'ham' AND c.verdict IN ('held', 'rejected')) \
                 FROM learning_log l JOIN comments c ON c.id = l.comment_id \
                 WHERE l.sign = 1 AND l.at >= $1 AND l.source != 'import' GROUP BY d",
                &[&since],
            )
            .await?;
        let mut days: std::collections::BTreeMap<String, DayActivity> = Default::default();
        fn entry(
            days: &mut std::collections::BTreeMap<String, DayActivity>,
            d: String,
        ) -> &mut DayActivity {
            days.entry(d.clone()).or_insert_with(|| DayActivity {
                day: d,
                ..DayActivity::default()
            })
        }
        for r in &verdicts {
            let a = entry(&mut days, r.try_get(0)?);
            let n = r.try_get::<_, i64>(2)?.max(0) as u64;
            match r.try_get::<_, String>(1)?.as_str() {
                "published" => a.published += n,
                "held" => a.held += n,
                _ => a.rejected += n,
            }
        }
        for r in &corrections {
            let a = entry(&mut days, r.try_get(0)?);
            a.spam_published += r.try_get::<_, i64>(1)?.max(0) as u64;
            a.ham_caught += r.try_get::<_, i64>(2)?.max(0) as u64;
        }
        Ok(days.into_values().collect())
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let client = self.client().await?;
        match client
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
            .await?
        {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => Ok(None),
        }
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .await?;
        Ok(())
    }

    async fn create_session(
        &self,
        id_sha256: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM admin_sessions WHERE expires_at <= $1", &[&now])
            .await?;
        tx.execute(
            "INSERT INTO admin_sessions (id_sha256, csrf, expires_at) VALUES ($1, $2, $3)",
            &[&id_sha256, &csrf, &expires_at],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_csrf(
        &self,
        id_sha256: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let client = self.client().await?;
        match client
            .query_opt(
                "SELECT csrf FROM admin_sessions WHERE id_sha256 = $1 AND expires_at > $2",
                &[&id_sha256, &now],
            )
            .await?
        {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => Ok(None),
        }
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<(), StorageError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM admin_sessions WHERE id_sha256 = $1",
                &[&id_sha256],
            )
            .await?;
        Ok(())
    }

    async fn admit_post(
        &self,
        address: std::net::IpAddr,
        limits: crate::storage::PostLimits,
    ) -> Result<crate::storage::Admission, StorageError> {
        use crate::storage::Admission;
        if !limits.any() {
            return Ok(Admission::Admitted);
        }
        let address = address.to_string();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The row is locked until commit, so replicas counting the same address take turns; the
        // database's clock is the one clock they share.
        tx.execute(
            "INSERT INTO post_guard (address, last_ms, window_start_ms, in_window) \
             VALUES ($1, $2, $2, 0) ON CONFLICT DO NOTHING",
            &[&address, &crate::storage::post_guard::Seen::NEW.last_ms],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT last_ms, window_start_ms, in_window, \
                 (extract(epoch from clock_timestamp()) * 1000)::BIGINT \
                 FROM post_guard WHERE address = $1 FOR UPDATE",
                &[&address],
            )
            .await?;
        let seen = crate::storage::post_guard::Seen {
            last_ms: row.try_get(0)?,
            window_start_ms: row.try_get(1)?,
            in_window: row.try_get(2)?,
        };
        let now_ms: i64 = row.try_get(3)?;
        let (admission, after) = seen.admit(now_ms, limits);
        if after != seen {
            tx.execute(
                "UPDATE post_guard SET last_ms = $2, window_start_ms = $3, in_window = $4 \
                 WHERE address = $1",
                &[
                    &address,
                    &after.last_ms,
                    &after.window_start_ms,
                    &after.in_window,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        // The table holds one row per address: those silent for an hour go, now and then.
        if self
            .admissions
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(super::PRUNE_EVERY)
        {
            let flood_ms = limits.flood.as_millis().min(i64::MAX as u128) as i64;
            let horizon = now_ms.saturating_sub(3_600_000).saturating_sub(flood_ms);
            client
                .execute("DELETE FROM post_guard WHERE last_ms < $1", &[&horizon])
                .await?;
        }
        Ok(admission)
    }

    async fn ping(&self) -> Result<(), StorageError> {
        let client = self.client().await?;
        client.query_one("SELECT 1", &[]).await.map_err(pg_error)?;
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT status, SUM(n)::BIGINT FROM comment_counts GROUP BY status",
                &[],
            )
            .await?;
        let mut counts = Vec::new();
        for r in &rows {
            if let Some(status) = Status::parse(&r.try_get::<_, String>(0)?) {
                counts.push((status, r.try_get::<_, i64>(1)?.max(0) as u64));
            }
        }
        Ok(counts)
    }
}
