//! [`ImportStore`] on PostgreSQL: the same rules as on SQLite (`sqlite_import.rs`).

use super::comments::{COLUMNS, row_to_comment};
use super::{LEARNING_LOCK, PgStore};
use crate::import::ArticleRecord;
use crate::storage::sqlite_import::{PLACEHOLDER_PREFIX, link_path, same_link};
use crate::storage::{
    ARTICLES_VERSION, ArticleOutcome, CommentOutcome, ExportArticle, ExportComment, ImportStore,
    ImportedComment, StorageError, StoredArticle, now_rfc3339,
};

/// An article from the columns `slug, title, date, author, html, link, public`.
fn row_to_article(r: &tokio_postgres::Row) -> Result<StoredArticle, StorageError> {
    Ok(StoredArticle {
        slug: r.try_get(0)?,
        title: r.try_get(1)?,
        date: r.try_get(2)?,
        author: r.try_get(3)?,
        html: r.try_get(4)?,
        link: r.try_get(5)?,
        public: r.try_get(6)?,
    })
}

/// `wanted`, or `wanted-2`, `wanted-3`… if another article has it.
async fn free_slug(
    tx: &deadpool_postgres::Transaction<'_>,
    wanted: &str,
    taken: &[String],
    own: Option<&str>,
) -> Result<String, StorageError> {
    let mut candidate = wanted.to_string();
    let mut n = 1;
    loop {
        let used = Some(candidate.as_str()) != own
            && (taken.contains(&candidate)
                || tx
                    .query_opt("SELECT 1 FROM articles WHERE slug = $1", &[&candidate])
                    .await?
                    .is_some());
        if !used {
            return Ok(candidate);
        }
        n += 1;
        candidate = format!("{wanted}-{n}");
    }
}

#[async_trait::async_trait]
impl ImportStore for PgStore {
    async fn import_article(
        &self,
        a: &ArticleRecord,
        taken: &[String],
    ) -> Result<ArticleOutcome, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // One import at a time decides slugs and aliases.
        tx.execute("LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE", &[])
            .await?;
        let existing = match tx
            .query_opt(
                "SELECT slug, title FROM articles WHERE remote_id = $1",
                &[&a.remote_id],
            )
            .await?
        {
            Some(r) => Some((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?)),
            None => None,
        };
        if let Some((slug, title)) = &existing
            && !title.is_empty()
        {
            return Ok(ArticleOutcome::Existing(slug.clone()));
        }
        if let Some(r) = tx
            .query_opt(
                "SELECT slug FROM article_aliases WHERE remote_id = $1",
                &[&a.remote_id],
            )
            .await?
        {
            return Ok(ArticleOutcome::Existing(r.try_get(0)?));
        }
        if existing.is_none() {
            let mut joined = None;
            if let Some(link) = &a.link {
                let path = link_path(link);
                for r in tx
                    .query(
                        "SELECT slug, link FROM articles WHERE link_path = $1 AND link IS NOT NULL",
                        &[&path],
                    )
                    .await?
                {
                    if same_link(&r.try_get::<_, String>(1)?, link) {
                        joined = Some(r.try_get::<_, String>(0)?);
                        break;
                    }
                }
            }
            if joined.is_none() && taken.contains(&a.slug) {
                joined = Some(a.slug.clone());
            }
            if let Some(slug) = joined {
                tx.execute(
                    "INSERT INTO article_aliases (remote_id, slug) VALUES ($1, $2)",
                    &[&a.remote_id, &slug],
                )
                .await?;
                tx.commit().await?;
                return Ok(ArticleOutcome::Existing(slug));
            }
        }
        let slug = free_slug(&tx, &a.slug, taken, existing.as_ref().map(|e| e.0.as_str())).await?;
        let path = a.link.as_deref().and_then(link_path);
        match existing {
            Some((old_slug, _)) => {
                tx.execute(
                    "UPDATE articles SET slug = $1, title = $2, date = $3, author = $4, html = $5, \
                     link = $6, link_path = $7, public = $8 WHERE remote_id = $9",
                    &[
                        &slug,
                        &a.title,
                        &a.date,
                        &a.author,
                        &a.html,
                        &a.link,
                        &path,
                        &a.public,
                        &a.remote_id,
                    ],
                )
                .await?;
                tx.execute(
                    "UPDATE comments SET article = $1 WHERE article = $2",
                    &[&slug, &old_slug],
                )
                .await?;
            }
            None => {
                tx.execute(
                    "INSERT INTO articles (slug, remote_id, title, date, author, html, link, link_path, \
                     wp_post_id, public, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &[
                        &slug,
                        &a.remote_id,
                        &a.title,
                        &a.date,
                        &a.author,
                        &a.html,
                        &a.link,
                        &path,
                        &a.wp_post_id,
                        &a.public,
                        &now_rfc3339(),
                    ],
                )
                .await?;
            }
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ($1, '1') \
             ON CONFLICT (key) DO UPDATE SET value = (CAST(settings.value AS BIGINT) + 1)::TEXT",
            &[&ARTICLES_VERSION],
        )
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(ArticleOutcome::Created(slug))
    }

    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEARNING_LOCK])
            .await?;
        let now = now_rfc3339();
        let article = tx
            .prepare_cached(
                "SELECT slug FROM articles WHERE remote_id = $1 \
                 UNION ALL SELECT slug FROM article_aliases WHERE remote_id = $1 LIMIT 1",
            )
            .await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO comments (article, author, author_email, author_url, content, user_ip, \
                 user_agent, status, verdict, spam_probability, clues, model_version, source, created_at, \
                 remote_id, remote_parent, comment_type, content_format) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'import', $13, $14, $15, $16, 'html') \
                 ON CONFLICT (remote_id) WHERE remote_id IS NOT NULL DO NOTHING RETURNING id",
            )
            .await?;
        let mut outcomes = Vec::with_capacity(comments.len());
        for c in comments {
            let mut slug: Option<String> = match tx.query_opt(&article, &[&c.article]).await? {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            };
            if slug.is_none()
                && let Some(post) = c.article.strip_prefix(PLACEHOLDER_PREFIX)
                && let Ok(post_id) = post.parse::<i64>()
            {
                let name = format!("wp-post-{post_id}");
                tx.execute(
                    "INSERT INTO articles (slug, remote_id, title, date, author, html, wp_post_id, \
                     public, imported_at) VALUES ($1, $2, '', '', '', '', $3, false, $4) \
                     ON CONFLICT DO NOTHING",
                    &[&name, &c.article, &post_id, &now],
                )
                .await?;
                slug = match tx.query_opt(&article, &[&c.article]).await? {
                    Some(r) => Some(r.try_get(0)?),
                    None => None,
                };
            }
            let Some(slug) = slug else {
                outcomes.push(CommentOutcome::Orphan);
                continue;
            };
            let n = c.comment;
            let inserted = tx
                .query_opt(
                    &insert,
                    &[
                        &slug,
                        &n.author,
                        &n.author_email,
                        &n.author_url,
                        &n.content,
                        &n.user_ip,
                        &n.user_agent,
                        &n.status.as_str(),
                        &n.verdict,
                        &n.spam_probability,
                        &n.clues,
                        &n.model_version,
                        &c.created_at,
                        &c.remote_id,
                        &c.remote_parent,
                        &c.comment_type,
                    ],
                )
                .await?;
            let Some(row) = inserted else {
                outcomes.push(CommentOutcome::Existing);
                continue;
            };
            let id: i64 = row.try_get(0)?;
            tx.execute(
                "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
                 VALUES ($1, NULL, $2, 'import', $3)",
                &[&id, &n.status.as_str(), &now],
            )
            .await?;
            if let Some(label) = c.learn {
                let record = crate::data::Comment {
                    comment_content: n.content,
                    comment_author: Some(n.author).filter(|a| !a.is_empty()),
                    comment_author_email: Some(n.author_email).filter(|a| !a.is_empty()),
                    comment_author_url: n.author_url,
                    user_agent: n.user_agent,
                    comment_type: Some(c.comment_type),
                    comment_date_gmt: Some(c.created_at),
                    ..Default::default()
                };
                let record = serde_json::to_string(&record)
                    .map_err(|e| StorageError::Encode(e.to_string()))?;
                tx.execute(
                    "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                     VALUES ($1, $2, 1, $3, 'import', $4)",
                    &[&id, &label.as_str(), &record, &now],
                )
                .await?;
            }
            outcomes.push(CommentOutcome::Created(id));
        }
        tx.commit().await?;
        self.changed();
        Ok(outcomes)
    }

    async fn link_imported_parents(&self) -> Result<u64, StorageError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE comments c SET parent_id = p.id FROM comments p \
                 WHERE c.remote_parent IS NOT NULL AND c.parent_id IS NULL \
                   AND p.remote_id = c.remote_parent AND p.article = c.article",
                &[],
            )
            .await?;
        self.changed();
        Ok(n)
    }

    async fn known_remote_ids(&self, ids: &[String]) -> Result<Vec<String>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id FROM UNNEST($1::text[]) AS ids(id) WHERE \
                 EXISTS (SELECT 1 FROM comments WHERE remote_id = ids.id) \
                 OR EXISTS (SELECT 1 FROM articles WHERE remote_id = ids.id AND title != '') \
                 OR EXISTS (SELECT 1 FROM article_aliases WHERE remote_id = ids.id)",
                &[&ids],
            )
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    async fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT slug, title, date, author, html, link, public FROM articles \
                 WHERE public ORDER BY date DESC, slug",
                &[],
            )
            .await?;
        rows.iter().map(row_to_article).collect()
    }

    async fn export_articles(&self) -> Result<Vec<ExportArticle>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT slug, title, date, author, html, link, public, wp_post_id FROM articles \
                 ORDER BY date, slug",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ExportArticle {
                    article: row_to_article(r)?,
                    wp_post_id: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportComment>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS}, comment_type FROM comments WHERE id > $1 \
                     AND ($2::text IS NULL OR article = $2) ORDER BY id LIMIT $3"
                ),
                &[&after, &article, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ExportComment {
                    comment: row_to_comment(r)?,
                    comment_type: r.try_get(17)?,
                })
            })
            .collect()
    }

    async fn commented_articles(&self) -> Result<Vec<String>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT article FROM comment_counts GROUP BY article HAVING SUM(n) > 0 ORDER BY article",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    async fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError> {
        let client = self.client().await?;
        let row = match wp_post_id {
            Some(id) => {
                client
                    .query_opt(
                        "SELECT slug FROM articles WHERE wp_post_id = $1 AND public LIMIT 1",
                        &[&id],
                    )
                    .await?
            }
            None => {
                client
                    .query_opt(
                        "SELECT slug FROM articles WHERE link_path = $1 AND public LIMIT 1",
                        &[&path.trim_end_matches('/')],
                    )
                    .await?
            }
        };
        match row {
            Some(r) => Ok(Some(r.try_get(0)?)),
            None => Ok(None),
        }
    }
}
