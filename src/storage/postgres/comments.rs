//! [`CommentStore`](crate::storage::CommentStore) on PostgreSQL: the group insert (one `UNNEST`
//! statement for every comment waiting) and the posting limits shared by the replicas; the rest
//! come from the list both backends share ([`crate::storage::forward`]).

use super::{InsertRequest, PgStore};
use crate::storage::forward::storage_port;
use crate::storage::{NewComment, StorageError, StoredComment, now_rfc3339};
use deadpool_postgres::Pool;
use std::sync::atomic::Ordering;
use tokio_postgres::types::ToSql;

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
    let site: Vec<i64> = comments.iter().map(|c| c.site_id).collect();
    let markdown: Vec<bool> = comments.iter().map(|c| c.markdown).collect();
    let probability: Vec<f64> = comments.iter().map(|c| c.spam_probability).collect();
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    // Ids are drawn in the order of the ordered SELECT, so sorting them gives the input order.
    let stmt = tx
        .prepare_cached(
            "WITH input AS (SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], \
               $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
               $12::float8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::int8[], \
               $19::int8[], $20::bool[]) \
               WITH ORDINALITY AS t(article, parent_id, author, author_email, author_url, content, \
               user_ip, user_agent, referrer, status, verdict, spam_probability, clues, \
               model_version, source, akismet_guid, api_key_id, site_id, markdown, ord)), \
             new AS (INSERT INTO comments (article, parent_id, author, author_email, author_url, \
               content, user_ip, user_agent, referrer, status, verdict, spam_probability, clues, \
               model_version, source, created_at, akismet_guid, api_key_id, site_id, markdown) \
               SELECT article, parent_id, author, author_email, author_url, content, user_ip, \
               user_agent, referrer, status, verdict, spam_probability, clues, model_version, \
               source, $18, akismet_guid, api_key_id, site_id, markdown FROM input ORDER BY ord \
               RETURNING id, status), \
             events AS (INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
               SELECT id, NULL, status, 'classifier', $18 FROM new) \
             SELECT id FROM new ORDER BY id",
        )
        .await?;
    let params: [&(dyn ToSql + Sync); 20] = [
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
        &site,
        &markdown,
    ];
    let rows = tx.query(&stmt, &params).await?;
    tx.commit().await?;
    rows.iter()
        .zip(comments)
        .map(|(row, c)| Ok(c.stored(row.try_get(0)?, now.clone())))
        .collect()
}

storage_port!(CommentStore for PgStore, pg_runs {
    async fn ping(&self) -> Result<(), StorageError> {
        let client = self.client().await?;
        crate::storage::sql::comments::ping(&crate::storage::sql::Pg(&client)).await
    }

    async fn insert(&self, comment: NewComment) -> Result<StoredComment, StorageError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.writer
            .send(InsertRequest { comment, reply })
            .await
            .map_err(|_| StorageError::WriterStopped)?;
        let stored = outcome.await.map_err(|_| StorageError::WriterStopped)??;
        self.key_index.add(&stored.index_keys());
        Ok(stored)
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

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    async fn announce_changes(&self) -> Result<(), StorageError> {
        self.client()
            .await?
            .batch_execute("NOTIFY replyguard_changes")
            .await?;
        Ok(())
    }
});
