//! The bodies of [`ImportStore`](crate::storage::ImportStore), once for both backends.

use super::row::{self, article_columns, comment_columns};
use super::{Exec, Lock, scalar};
use crate::domain::ArticleRecord;
use crate::storage::rules::{
    imported_record, link_path, link_post_id, placeholder, same_blog, same_link,
};
use crate::storage::{
    ARTICLES_VERSION, ArticleOutcome, CommentOutcome, ExportArticle, ExportComment,
    ImportedComment, StorageError, StoredArticle, now_rfc3339,
};

const ARTICLE_SLUG: &str = "SELECT slug FROM articles WHERE remote_id = $1 \
    UNION ALL SELECT slug FROM article_aliases WHERE remote_id = $1 LIMIT 1";
const PLACEHOLDER: &str = "INSERT INTO articles (slug, remote_id, title, date, author, html, \
    wp_post_id, public, imported_at) VALUES ($1, $2, '', '', '', '', $3, FALSE, $4) \
    ON CONFLICT DO NOTHING";
const INSERT_COMMENT: &str = "INSERT INTO comments (article, author, author_email, author_url, \
    content, user_ip, user_agent, status, verdict, spam_probability, clues, model_version, \
    source, created_at, remote_id, remote_parent, comment_type, site_id, markdown, \
    content_format, edited_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'import', $13, $14, $15, $16, \
    $17, $18, CASE WHEN $18 THEN 'text' ELSE 'html' END, $19) \
    ON CONFLICT (site_id, remote_id) WHERE remote_id IS NOT NULL DO NOTHING RETURNING id";
const INSERT_EVENT: &str = "INSERT INTO comment_events (comment_id, from_status, to_status, \
    actor, at) VALUES ($1, NULL, $2, 'import', $3)";
const INSERT_LEARNED: &str = "INSERT INTO learning_log (comment_id, label, sign, record, source, \
    at) VALUES ($1, $2, 1, $3, 'import', $4)";
// The two statements that store an article take its fields in the same order ($1 to $10), so
// one list of parameters serves both; the insert adds what only a new row has.
const UPDATE_ARTICLE: &str = "UPDATE articles SET slug = $1, title = $2, date = $3, author = $4, \
    html = $5, link = $6, link_path = $7, public = $8, comments_open = $9 WHERE remote_id = $10";
const INSERT_ARTICLE: &str = "INSERT INTO articles (slug, title, date, author, html, link, \
    link_path, public, comments_open, remote_id, wp_post_id, imported_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const BUMP_ARTICLES: &str = "INSERT INTO settings (key, value) VALUES ($1, '1') \
    ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)";
const LINK_PARENTS: &str = "UPDATE comments SET parent_id = (SELECT p.id FROM comments p \
      WHERE p.remote_id = comments.remote_parent AND p.article = comments.article \
      AND p.site_id = comments.site_id) \
    WHERE remote_parent IS NOT NULL AND parent_id IS NULL \
      AND EXISTS (SELECT 1 FROM comments p WHERE p.remote_id = comments.remote_parent \
                  AND p.article = comments.article AND p.site_id = comments.site_id)";
// The same comment stored under another id (or none): a file `replyguard export` wrote numbers
// each comment by its id in the database it came from — here, when it is imported back into that
// database ($6) — and keeps its site, thread, author's name and e-mail and time (to the second,
// as the exports write it). Its text is not compared: every format spells it its own way
// (escaped, rendered, turned into Markdown), while two comments whose ids and all of these
// agree are one. A file of another system, or of another database, numbers comments otherwise.
// A comment a file shows without name and address (Isso's placeholder for a deleted comment
// that has replies) is matched by the rest.
const SAME_COMMENT: &str = "SELECT id FROM comments WHERE site_id = $1 AND article = $2 \
    AND (author_email = $3 OR $3 = '') AND (author = $4 OR $4 = '') \
    AND substr(created_at, 1, 19) = substr(CAST($5 AS TEXT), 1, 19) AND id = $6";
// Remote ids are the old system's, unique within one site only: two sites moved from two Isso
// databases both have an `isso:1`.
const REMOTE_ID: &str = "SELECT id FROM comments WHERE remote_id = $1 AND site_id = $2";
// The old site's say, at each import: a later export may have reopened (or closed) the post.
const PAGE_ALIAS: &str = "INSERT INTO article_aliases (remote_id, slug) VALUES ($1, $2) \
    ON CONFLICT (remote_id) DO NOTHING";
const PAGE_ADOPTS: &str = "UPDATE comments SET article = $1 WHERE site_id = $2 AND article = \
    (SELECT slug FROM articles WHERE remote_id = $3 AND title = '')";
const PLACEHOLDER_GONE: &str = "DELETE FROM articles WHERE remote_id = $1 AND title = '' \
    AND NOT EXISTS (SELECT 1 FROM comments WHERE comments.article = articles.slug)";
const INSERT_VOTE: &str = "INSERT INTO comment_votes (comment_id, voter, value) VALUES ($1, $2, $3) \
    ON CONFLICT (comment_id, voter) DO NOTHING";
const PUBLIC_ARTICLES: &str = concat!(
    "SELECT ",
    article_columns!(),
    " FROM articles WHERE public ORDER BY date DESC, slug"
);
const EXPORT_ARTICLES: &str = concat!(
    "SELECT ",
    article_columns!(),
    ", wp_post_id FROM articles ORDER BY date, slug"
);
const EXPORT_COMMENTS: &str = concat!(
    "SELECT ",
    comment_columns!(),
    ", comment_type FROM comments WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL OR article = $2) \
     ORDER BY id LIMIT $3"
);

/// Stores an article unless it is known (by remote id, or for a thread of another system by its
/// link or slug); in a transaction. The caller tells the servers when the outcome is `Created`.
pub async fn import_article<E: Exec>(
    e: &E,
    a: &ArticleRecord,
    taken: &[String],
) -> Result<ArticleOutcome, StorageError> {
    e.lock(Lock::Articles).await?;
    let existing = match found_article(e, a, taken).await? {
        Found::Known(slug) => return Ok(ArticleOutcome::Existing(slug)),
        Found::Joins(slug) => {
            e.execute(
                "INSERT INTO article_aliases (remote_id, slug) VALUES ($1, $2)",
                &[&a.remote_id, &slug],
            )
            .await?;
            return Ok(ArticleOutcome::Existing(slug));
        }
        Found::Placeholder(slug) => Some(slug),
        Found::New => None,
    };
    let own = existing.as_deref();
    let slug = free_slug(e, &a.slug, taken, own).await?;
    let path = a.link.as_deref().and_then(link_path);
    let fields: [&dyn super::Param; 10] = [
        &slug,
        &a.title,
        &a.date,
        &a.author,
        &a.html,
        &a.link,
        &path,
        &a.public,
        &a.comments_open,
        &a.remote_id,
    ];
    match &existing {
        // The post was known only from a comment dump: it gets its content and slug now.
        Some(old_slug) => {
            e.execute(UPDATE_ARTICLE, &fields).await?;
            e.execute(
                "UPDATE comments SET article = $1 WHERE article = $2",
                &[&slug, old_slug],
            )
            .await?;
        }
        None => {
            let now = now_rfc3339();
            let params = [fields.as_slice(), &[&a.wp_post_id, &now]].concat();
            e.execute(INSERT_ARTICLE, &params).await?;
        }
    }
    e.execute(BUMP_ARTICLES, &[&ARTICLES_VERSION]).await?;
    Ok(ArticleOutcome::Created(slug))
}

/// What an article of an export is in the database.
enum Found {
    /// Imported before (its remote id, or an alias of it): this slug.
    Known(String),
    /// A thread about an article already here (same link, or a Markdown article's slug).
    Joins(String),
    /// Known only from a comment dump, by this placeholder's slug: the article fills it in.
    Placeholder(String),
    /// Not here.
    New,
}

/// Finds an article of an export in the database, without changing anything: what
/// [`import_article`] goes by, and what a dry run reports.
async fn found_article<E: Exec>(
    e: &E,
    a: &ArticleRecord,
    taken: &[String],
) -> Result<Found, StorageError> {
    let existing = e
        .query_opt(
            "SELECT slug, title FROM articles WHERE remote_id = $1",
            &[&a.remote_id],
            |r| Ok((r.text(0)?, r.text(1)?)),
        )
        .await?;
    if let Some((slug, title)) = &existing
        && !title.is_empty()
    {
        return Ok(Found::Known(slug.clone()));
    }
    let alias = "SELECT slug FROM article_aliases WHERE remote_id = $1";
    // A post once imported as a site's page is no article: imported as one now (it is no longer
    // public, or goes to another site), it is an article of its own.
    if let Some(slug) = e.query_opt(alias, &[&a.remote_id], |r| r.text(0)).await?
        && page_alias(&slug).is_none()
    {
        return Ok(Found::Known(slug));
    }
    match existing {
        // An article as empty and hidden as the placeholder (what an export writes of one: no
        // title, no text, not public) has nothing to fill it in with; it is the one already
        // here. An untitled post that is published still fills it in.
        Some((slug, _)) if a.title.trim().is_empty() && a.html.trim().is_empty() && !a.public => {
            Ok(Found::Known(slug))
        }
        Some((slug, _)) => Ok(Found::Placeholder(slug)),
        // A thread of another system about an article already here (a Disqus thread of an
        // imported WordPress post, or of a Markdown article with the same slug) joins it.
        None => Ok(joined(e, a, taken).await?.map_or(Found::New, Found::Joins)),
    }
}

/// The slug of the article already here that importing `a` would find (and not create), for a
/// dry run: the same remote id, or a thread about an article here (by link or slug).
pub async fn known_article<E: Exec>(
    e: &E,
    a: &ArticleRecord,
    taken: &[String],
) -> Result<Option<String>, StorageError> {
    Ok(match found_article(e, a, taken).await? {
        Found::Known(slug) | Found::Joins(slug) => Some(slug),
        Found::Placeholder(_) | Found::New => None,
    })
}

/// The article already here that a new one is a thread about: the same link, or a slug taken
/// outside the database.
async fn joined<E: Exec>(
    e: &E,
    a: &ArticleRecord,
    taken: &[String],
) -> Result<Option<String>, StorageError> {
    if let Some(link) = &a.link {
        // A link that names a WordPress post id (`?p=7`: a draft, or a blog on "Plain"
        // permalinks) is that post of the blog at that address, whatever the post's own
        // address here (a published post has one); its path is only the blog's own
        // (`/blog/` for a blog in a subdirectory), which every post shares.
        let post_id = link_post_id(link);
        if let Some(id) = post_id {
            let found = slugs_and_links(e, "wp_post_id = $1", &id).await?;
            if let Some((slug, _)) = found.into_iter().find(|(_, l)| same_blog(l, link)) {
                return Ok(Some(slug));
            }
        }
        // The same address (a post id in it must be the same post's too: `/blog/?p=7` and
        // `/blog/?p=8` share a path).
        let found = slugs_and_links(e, "link_path = $1", &link_path(link)).await?;
        let same = |l: &str| same_link(l, link) && link_post_id(l) == post_id;
        if let Some((slug, _)) = found.into_iter().find(|(_, l)| same(l)) {
            return Ok(Some(slug));
        }
    }
    Ok(taken.contains(&a.slug).then(|| a.slug.clone()))
}

/// The slug and link of every article with a link that `condition` (on `$1`) picks.
async fn slugs_and_links<E: Exec>(
    e: &E,
    condition: &str,
    value: &dyn super::Param,
) -> Result<Vec<(String, String)>, StorageError> {
    let sql = format!("SELECT slug, link FROM articles WHERE {condition} AND link IS NOT NULL");
    e.query(&sql, &[value], |r| Ok((r.text(0)?, r.text(1)?)))
        .await
}

/// `wanted`, or `wanted-2`, `wanted-3`… if another article has it.
async fn free_slug<E: Exec>(
    e: &E,
    wanted: &str,
    taken: &[String],
    own: Option<&str>,
) -> Result<String, StorageError> {
    let mut candidate = wanted.to_string();
    let mut n = 1;
    loop {
        let used = Some(candidate.as_str()) != own
            && (taken.contains(&candidate)
                || e.query_opt(
                    "SELECT 1 FROM articles WHERE slug = $1",
                    &[&candidate],
                    |_| Ok(()),
                )
                .await?
                .is_some());
        if !used {
            return Ok(candidate);
        }
        n += 1;
        candidate = format!("{wanted}-{n}");
    }
}

async fn article_slug<E: Exec>(e: &E, remote: &str) -> Result<Option<String>, StorageError> {
    e.query_opt(ARTICLE_SLUG, &[&remote], |r| r.text(0)).await
}

/// The thread an imported comment's `article` names, if it is here: a page of an embedding site
/// (an Isso import, `thread:PATH`) is its path; an article, its slug by remote id — or, for a
/// post imported as a page of the comment's site `site` ([`import_page`]), that page's path
/// (another site's page of the same post id is not this comment's).
async fn stored_thread<E: Exec>(
    e: &E,
    article: &str,
    site: i64,
) -> Result<Option<String>, StorageError> {
    if let Some(uri) = article.strip_prefix("thread:") {
        return Ok(Some(uri.to_string()));
    }
    if let Some(slug) = article.strip_prefix(super::super::ARTICLE_KEY) {
        return Ok(Some(slug.to_string()));
    }
    Ok(article_slug(e, article)
        .await?
        .and_then(|slug| match page_alias(&slug) {
            Some((of, uri)) => (of == site).then(|| uri.to_string()),
            None => Some(slug),
        }))
}

/// The alias under which [`import_page`] keeps a post that is page `uri` of `site`.
fn page_alias_of(site: i64, uri: &str) -> String {
    format!("thread:{site}:{uri}")
}

/// A [`page_alias_of`]'s site and page; `None` for an article's slug.
fn page_alias(slug: &str) -> Option<(i64, &str)> {
    let (site, uri) = slug.strip_prefix("thread:")?.split_once(':')?;
    Some((site.parse().ok()?, uri))
}

/// A post imported as the page `uri` of `site`: its thread, the post's remote id kept as an
/// alias of `thread:SITE:URI` (so a comment dump imported later onto the site finds it), and
/// the comments a dump left on the post's placeholder moved there (the placeholder then goes).
/// How many moved.
pub async fn import_page<E: Exec>(
    e: &E,
    remote_id: &str,
    site: i64,
    uri: &str,
    title: &str,
    comments_open: bool,
) -> Result<u64, StorageError> {
    super::sites::set_comments_open(e, site, uri, title, comments_open).await?;
    let alias = page_alias_of(site, uri);
    e.execute(PAGE_ALIAS, &[&remote_id, &alias]).await?;
    let moved = e.execute(PAGE_ADOPTS, &[&uri, &site, &remote_id]).await?;
    e.execute(PLACEHOLDER_GONE, &[&remote_id]).await?;
    Ok(moved)
}

/// Stores comments, each with its first status event and learning-log entry; in a transaction.
pub async fn import_comments<E: Exec>(
    e: &E,
    comments: Vec<ImportedComment>,
) -> Result<Vec<CommentOutcome>, StorageError> {
    e.lock(Lock::LearningLog).await?;
    let now = now_rfc3339();
    let mut outcomes = Vec::with_capacity(comments.len());
    for c in comments {
        let mut slug = stored_thread(e, &c.article, c.comment.site_id).await?;
        // A dump names posts by id only; until their WXR arrives they wait, unshown.
        if slug.is_none()
            && let Some((name, post_id)) = placeholder(&c.article)
        {
            e.execute(PLACEHOLDER, &[&name, &c.article, &post_id, &now])
                .await?;
            slug = article_slug(e, &c.article).await?;
        }
        let Some(slug) = slug else {
            outcomes.push(CommentOutcome::Orphan);
            continue;
        };
        if same_comment(e, &c, &slug).await? {
            outcomes.push(CommentOutcome::Existing);
            continue;
        }
        let n = &c.comment;
        let params: [&dyn super::Param; 19] = [
            &slug,
            &n.author,
            &n.author_email,
            &n.author_url,
            &n.content,
            &n.user_ip,
            &n.user_agent,
            &n.status,
            &n.verdict,
            &n.spam_probability,
            &n.clues,
            &n.model_version,
            &c.created_at,
            &c.remote_id,
            &c.remote_parent,
            &c.comment_type,
            &n.site_id,
            &n.markdown,
            &c.edited_at,
        ];
        let Some(id) = scalar(e, INSERT_COMMENT, &params).await? else {
            outcomes.push(CommentOutcome::Existing);
            continue;
        };
        e.execute(INSERT_EVENT, &[&id, &n.status, &now]).await?;
        for (count, kind, value) in [(c.likes, "like", 1_i64), (c.dislikes, "dislike", -1)] {
            for k in 1..=count {
                let voter = format!("import-{kind}:{k}");
                e.execute(INSERT_VOTE, &[&id, &voter, &value]).await?;
            }
        }
        if let Some(label) = c.learn {
            let record = serde_json::to_string(&imported_record(&c))
                .map_err(|e| StorageError::Encode(e.to_string()))?;
            let label = label.as_str();
            e.execute(INSERT_LEARNED, &[&id, &label, &record, &now])
                .await?;
        }
        outcomes.push(CommentOutcome::Created(id));
    }
    Ok(outcomes)
}

/// Whether comment `c` of article `slug` is stored already under another id (or none): see
/// [`SAME_COMMENT`].
async fn same_comment<E: Exec>(
    e: &E,
    c: &ImportedComment,
    slug: &str,
) -> Result<bool, StorageError> {
    let Some(number) = c
        .remote_id
        .rsplit(':')
        .next()
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return Ok(false);
    };
    let n = &c.comment;
    let params: [&dyn super::Param; 6] = [
        &n.site_id,
        &slug,
        &n.author_email,
        &n.author,
        &c.created_at,
        &number,
    ];
    Ok(e.query_opt(SAME_COMMENT, &params, |_| Ok(()))
        .await?
        .is_some())
}

/// Which of these comments an import would find stored already (for a dry run): by remote id,
/// or as the same comment under another id ([`SAME_COMMENT`]). `joined` names the slugs of the
/// articles the dry run found by remote id (`(remote id, slug)`) that the database does not know
/// by that id yet.
pub async fn known_comments<E: Exec>(
    e: &E,
    comments: &[ImportedComment],
    joined: &[(String, String)],
) -> Result<Vec<bool>, StorageError> {
    let mut known = Vec::with_capacity(comments.len());
    for c in comments {
        if e.query_opt(REMOTE_ID, &[&c.remote_id, &c.comment.site_id], |_| Ok(()))
            .await?
            .is_some()
        {
            known.push(true);
            continue;
        }
        let slug = match stored_thread(e, &c.article, c.comment.site_id).await? {
            Some(slug) => Some(slug),
            None => joined
                .iter()
                .find(|(remote, _)| *remote == c.article)
                .map(|(_, slug)| slug.clone()),
        };
        known.push(match slug {
            Some(slug) => same_comment(e, c, &slug).await?,
            None => false,
        });
    }
    Ok(known)
}

/// Points imported replies at their parents; how many were linked.
pub async fn link_imported_parents<E: Exec>(e: &E) -> Result<u64, StorageError> {
    e.execute(LINK_PARENTS, &[]).await
}

/// The imported articles that are shown, newest first.
pub async fn public_articles<E: Exec>(e: &E) -> Result<Vec<StoredArticle>, StorageError> {
    e.query(PUBLIC_ARTICLES, &[], row::article).await
}

/// Every imported article.
pub async fn export_articles<E: Exec>(e: &E) -> Result<Vec<ExportArticle>, StorageError> {
    e.query(EXPORT_ARTICLES, &[], |r| {
        Ok(ExportArticle {
            article: row::article(r)?,
            wp_post_id: r.opt_int(8)?,
        })
    })
    .await
}

/// Comments after id `after`, by id, of one article when given.
pub async fn export_comments<E: Exec>(
    e: &E,
    article: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<ExportComment>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    e.query(EXPORT_COMMENTS, &[&after, &article, &limit], |r| {
        Ok(ExportComment {
            comment: row::comment(r)?,
            comment_type: r.text(row::COMMENT_COLUMNS)?,
        })
    })
    .await
}

/// Slugs of every article that has comments.
pub async fn commented_articles<E: Exec>(e: &E) -> Result<Vec<String>, StorageError> {
    e.query(
        "SELECT article FROM comment_counts GROUP BY article HAVING SUM(n) > 0 ORDER BY article",
        &[],
        |r| r.text(0),
    )
    .await
}

/// Where an old address of an imported post lives now: the slug of a public article.
pub async fn moved_article<E: Exec>(
    e: &E,
    path: &str,
    wp_post_id: Option<i64>,
) -> Result<Option<String>, StorageError> {
    let slug = |r: &dyn super::RowRead| r.text(0);
    match wp_post_id {
        Some(id) => {
            let sql = "SELECT slug FROM articles WHERE wp_post_id = $1 AND public LIMIT 1";
            e.query_opt(sql, &[&id], slug).await
        }
        None => {
            let sql = "SELECT slug FROM articles WHERE link_path = $1 AND public LIMIT 1";
            e.query_opt(sql, &[&path.trim_end_matches('/')], slug).await
        }
    }
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[
    ARTICLE_SLUG,
    PLACEHOLDER,
    INSERT_COMMENT,
    INSERT_EVENT,
    INSERT_LEARNED,
    UPDATE_ARTICLE,
    INSERT_ARTICLE,
    BUMP_ARTICLES,
    EXPORT_COMMENTS,
    SAME_COMMENT,
    REMOTE_ID,
    PAGE_ALIAS,
    PAGE_ADOPTS,
    PLACEHOLDER_GONE,
    INSERT_VOTE,
];
