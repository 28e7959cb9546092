//! The SQLite backend of [`ImportStore`](super::ImportStore), blocking.

use super::{
    ArticleOutcome, CommentOutcome, ImportedComment, SqliteStore, StorageError, StoredArticle,
    now_rfc3339,
};
use crate::import::ArticleRecord;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::sync::atomic::Ordering;

/// The path of an address (`https://blog.example.com/2017/03/01/hello/?x` → `/2017/03/01/hello`),
/// parsed by the `url` crate; `None` for a bare host.
pub fn link_path(link: &str) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    Some(url.path().trim_end_matches('/').to_string()).filter(|p| !p.is_empty())
}

/// Same address, whatever the scheme, case of the host, `www.` or trailing slash: the key match
/// of Akismet blogs ([`crate::akismet::normalize_blog`]), less `www.`.
pub(super) fn same_link(a: &str, b: &str) -> bool {
    let key = |l: &str| {
        let key = crate::akismet::normalize_blog(l);
        key.strip_prefix("www.").map(str::to_string).unwrap_or(key)
    };
    key(a) == key(b)
}

/// An article from the columns `slug, title, date, author, html, link, public`.
fn row_to_article(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredArticle> {
    Ok(StoredArticle {
        slug: r.get(0)?,
        title: r.get(1)?,
        date: r.get(2)?,
        author: r.get(3)?,
        html: r.get(4)?,
        link: r.get(5)?,
        public: r.get(6)?,
    })
}

pub(super) const PLACEHOLDER_PREFIX: &str = "wordpress-post:";

/// The [`ImportStore`](super::ImportStore) operations, blocking; [`super::SqlitePort`] runs them off the
/// executor.
impl SqliteStore {
    pub fn import_article(
        &self,
        a: &ArticleRecord,
        taken: &[String],
    ) -> Result<ArticleOutcome, StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT slug, public, title FROM articles WHERE remote_id = ?1",
                [&a.remote_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((slug, _, title)) = &existing
            && !title.is_empty()
        {
            return Ok(ArticleOutcome::Existing(slug.clone()));
        }
        if let Some(slug) = tx
            .query_row(
                "SELECT slug FROM article_aliases WHERE remote_id = ?1",
                [&a.remote_id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return Ok(ArticleOutcome::Existing(slug));
        }
        // A thread of another system about an article already here (a Disqus thread of an
        // imported WordPress post, or of a Markdown article with the same slug) joins it.
        if existing.is_none() {
            let mut joined = None;
            if let Some(link) = &a.link {
                let path = link_path(link);
                let mut stmt = tx.prepare_cached(
                    "SELECT slug, link FROM articles WHERE link_path = ?1 AND link IS NOT NULL",
                )?;
                let found = stmt
                    .query_map([&path], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                joined = found
                    .into_iter()
                    .find(|(_, l)| same_link(l, link))
                    .map(|(slug, _)| slug);
            }
            if joined.is_none() && taken.contains(&a.slug) {
                joined = Some(a.slug.clone());
            }
            if let Some(slug) = joined {
                tx.execute(
                    "INSERT INTO article_aliases (remote_id, slug) VALUES (?1, ?2)",
                    params![a.remote_id, slug],
                )?;
                tx.commit()?;
                return Ok(ArticleOutcome::Existing(slug));
            }
        }
        let slug = free_slug(&tx, &a.slug, taken, existing.as_ref().map(|e| e.0.as_str()))?;
        let path = a.link.as_deref().and_then(link_path);
        match existing {
            // The post was known only from a comment dump: it gets its content and slug now.
            Some((old_slug, _, _)) => {
                tx.execute(
                    "UPDATE articles SET slug = ?1, title = ?2, date = ?3, author = ?4, html = ?5, \
                     link = ?6, link_path = ?7, public = ?8 WHERE remote_id = ?9",
                    params![
                        slug,
                        a.title,
                        a.date,
                        a.author,
                        a.html,
                        a.link,
                        path,
                        a.public,
                        a.remote_id
                    ],
                )?;
                tx.execute(
                    "UPDATE comments SET article = ?1 WHERE article = ?2",
                    params![slug, old_slug],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO articles (slug, remote_id, title, date, author, html, link, link_path, \
                     wp_post_id, public, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        slug,
                        a.remote_id,
                        a.title,
                        a.date,
                        a.author,
                        a.html,
                        a.link,
                        path,
                        a.wp_post_id,
                        a.public,
                        now_rfc3339()
                    ],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, '1') \
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [super::ARTICLES_VERSION],
        )?;
        tx.commit()?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(ArticleOutcome::Created(slug))
    }

    pub fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(comments.len());
        let now = now_rfc3339();
        {
            let mut article = tx.prepare_cached(
                "SELECT slug FROM articles WHERE remote_id = ?1 \
                 UNION ALL SELECT slug FROM article_aliases WHERE remote_id = ?1 LIMIT 1",
            )?;
            let mut placeholder = tx.prepare_cached(
                "INSERT INTO articles (slug, remote_id, title, date, author, html, wp_post_id, public, imported_at) \
                 VALUES (?1, ?2, '', '', '', '', ?3, 0, ?4) ON CONFLICT DO NOTHING",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO comments (article, author, author_email, author_url, content, user_ip, \
                 user_agent, status, verdict, spam_probability, clues, model_version, source, created_at, \
                 remote_id, remote_parent, comment_type, content_format) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'import', ?13, ?14, ?15, ?16, 'html') \
                 ON CONFLICT (remote_id) WHERE remote_id IS NOT NULL DO NOTHING",
            )?;
            let mut event = tx.prepare_cached(
                "INSERT INTO comment_events (comment_id, from_status, to_status, actor, at) \
                 VALUES (?1, NULL, ?2, 'import', ?3)",
            )?;
            let mut learn = tx.prepare_cached(
                "INSERT INTO learning_log (comment_id, label, sign, record, source, at) \
                 VALUES (?1, ?2, 1, ?3, 'import', ?4)",
            )?;
            for c in comments {
                let mut slug: Option<String> =
                    article.query_row([&c.article], |r| r.get(0)).optional()?;
                // A dump names posts by id only; until their WXR arrives they wait, unshown.
                if slug.is_none()
                    && let Some(post) = c.article.strip_prefix(PLACEHOLDER_PREFIX)
                    && let Ok(post_id) = post.parse::<i64>()
                {
                    let name = format!("wp-post-{post_id}");
                    placeholder.execute(params![name, c.article, post_id, now])?;
                    slug = article.query_row([&c.article], |r| r.get(0)).optional()?;
                }
                let Some(slug) = slug else {
                    outcomes.push(CommentOutcome::Orphan);
                    continue;
                };
                let n = c.comment;
                let inserted = insert.execute(params![
                    slug,
                    n.author,
                    n.author_email,
                    n.author_url,
                    n.content,
                    n.user_ip,
                    n.user_agent,
                    n.status.as_str(),
                    n.verdict,
                    n.spam_probability,
                    n.clues,
                    n.model_version,
                    c.created_at,
                    c.remote_id,
                    c.remote_parent,
                    c.comment_type,
                ])?;
                if inserted == 0 {
                    outcomes.push(CommentOutcome::Existing);
                    continue;
                }
                let id = tx.last_insert_rowid();
                event.execute(params![id, n.status.as_str(), now])?;
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
                    learn.execute(params![id, label.as_str(), record, now])?;
                }
                outcomes.push(CommentOutcome::Created(id));
            }
        }
        tx.commit()?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(outcomes)
    }

    pub fn link_imported_parents(&self) -> Result<u64, StorageError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE comments SET parent_id = (SELECT p.id FROM comments p \
               WHERE p.remote_id = comments.remote_parent AND p.article = comments.article) \
             WHERE remote_parent IS NOT NULL AND parent_id IS NULL \
               AND EXISTS (SELECT 1 FROM comments p WHERE p.remote_id = comments.remote_parent \
                           AND p.article = comments.article)",
            [],
        )?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(n as u64)
    }

    pub fn known_remote_ids(&self, ids: &[String]) -> Result<Vec<String>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT remote_id FROM comments WHERE remote_id = ?1 \
             UNION ALL SELECT remote_id FROM articles WHERE remote_id = ?1 AND title != '' \
             UNION ALL SELECT remote_id FROM article_aliases WHERE remote_id = ?1",
        )?;
        let mut known = Vec::new();
        for id in ids {
            if stmt.exists([id])? {
                known.push(id.clone());
            }
        }
        Ok(known)
    }

    pub fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT slug, title, date, author, html, link, public FROM articles \
             WHERE public = 1 ORDER BY date DESC, slug",
        )?;
        let rows = stmt.query_map([], row_to_article)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn export_articles(&self) -> Result<Vec<super::ExportArticle>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT slug, title, date, author, html, link, public, wp_post_id FROM articles \
             ORDER BY date, slug",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(super::ExportArticle {
                article: row_to_article(r)?,
                wp_post_id: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<super::ExportComment>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {}, comment_type FROM comments WHERE id > ?1 AND (?2 IS NULL OR article = ?2) \
             ORDER BY id LIMIT ?3",
            super::sqlite::COLUMNS
        ))?;
        let rows = stmt.query_map(params![after, article, limit as i64], |r| {
            Ok(super::ExportComment {
                comment: super::sqlite::row_to_comment(r)?,
                comment_type: r.get(17)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn commented_articles(&self) -> Result<Vec<String>, StorageError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT article FROM comment_counts WHERE n > 0 ORDER BY article",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError> {
        let conn = self.conn()?;
        if let Some(id) = wp_post_id {
            return Ok(conn
                .query_row(
                    "SELECT slug FROM articles WHERE wp_post_id = ?1 AND public = 1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?);
        }
        Ok(conn
            .query_row(
                "SELECT slug FROM articles WHERE link_path = ?1 AND public = 1 LIMIT 1",
                [path.trim_end_matches('/')],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// `wanted`, or `wanted-2`, `wanted-3`… if another article has it.
fn free_slug(
    tx: &rusqlite::Transaction<'_>,
    wanted: &str,
    taken: &[String],
    own: Option<&str>,
) -> rusqlite::Result<String> {
    let mut candidate = wanted.to_string();
    let mut n = 1;
    loop {
        let used = Some(candidate.as_str()) != own
            && (taken.contains(&candidate)
                || tx
                    .prepare_cached("SELECT 1 FROM articles WHERE slug = ?1")?
                    .exists([&candidate])?);
        if !used {
            return Ok(candidate);
        }
        n += 1;
        candidate = format!("{wanted}-{n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_compare_by_host_and_path() {
        assert_eq!(
            link_path("https://blog.example.com/2017/03/01/hello/?p=1").as_deref(),
            Some("/2017/03/01/hello")
        );
        assert_eq!(link_path("https://blog.example.com"), None);
        assert!(same_link(
            "http://www.Blog.example.com/hello/",
            "https://blog.example.com/hello"
        ));
        assert!(!same_link("https://a.org/x", "https://a.org/y"));
    }
}
