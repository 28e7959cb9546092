//! The bodies of [`SiteStore`](crate::storage::SiteStore), once for both backends. Every change
//! of a site moves the [`SITES_VERSION`] setting in the same transaction, so every server on the
//! database reloads its sites.

use super::{Exec, Lock, Param, RowRead};
use crate::domain::site::canonical_path;
use crate::domain::{DEFAULT_SITE, Site, SiteOrigin, SiteSettings, Thread};
use crate::storage::{SITES_VERSION, SiteChange, StorageError, now_rfc3339};

const SITES: &str = "SELECT id, name, title, settings, created_at FROM sites \
    WHERE removed_at IS NULL ORDER BY CASE WHEN id = 1 THEN 0 ELSE 1 END, name";
const ORIGINS: &str = "SELECT site_id, origin FROM site_origins ORDER BY origin";
const SITE_BY_NAME: &str = "SELECT id, removed_at FROM sites WHERE name = $1";
const INSERT_SITE: &str = "INSERT INTO sites (name, title, settings, created_at) \
    VALUES ($1, $2, $3, $4) RETURNING id";
const UPDATE_SITE: &str = "UPDATE sites SET removed_at = NULL, title = COALESCE($1, title), \
    settings = COALESCE($2, settings) WHERE id = $3";
const ORIGIN_OWNER: &str = "SELECT s.name, s.id FROM site_origins o JOIN sites s \
    ON s.id = o.site_id WHERE o.origin = $1";
const INSERT_ORIGIN: &str = "INSERT INTO site_origins (origin, site_id) VALUES ($1, $2) \
    ON CONFLICT (origin) DO NOTHING";
const DELETE_ORIGIN: &str = "DELETE FROM site_origins WHERE origin = $1 AND site_id = $2";
const BUMP: &str = "INSERT INTO settings (key, value) VALUES ($1, '1') \
    ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)";
const THREAD: &str = "SELECT id, site_id, uri, title, created_at, comments_open FROM threads \
    WHERE site_id = $1 AND uri = $2";
const INSERT_THREAD: &str = "INSERT INTO threads (site_id, uri, title, created_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (site_id, uri) DO NOTHING";
const THREAD_OPEN: &str = "UPDATE threads SET comments_open = $1 WHERE site_id = $2 AND uri = $3";
/// Pages only: a default-site article its owner closed is kept as a thread named by its slug
/// (no `/`), a flag beside the article rather than a page of the site.
const THREADS: &str = "SELECT id, site_id, uri, title, created_at, comments_open FROM threads \
    WHERE site_id = $1 AND uri LIKE '/%' ORDER BY id DESC LIMIT $2";

// The spellings of thread keys stored before keys were canonical ([`canonical_thread_keys`]).
const PAGE_KEYS: &str = "SELECT DISTINCT site_id, article FROM comment_counts \
    WHERE article LIKE '/%'";
const RENAME_COMMENTS: &str =
    "UPDATE comments SET article = $1 WHERE site_id = $2 AND article = $3";
const PAGE_THREADS: &str = "SELECT site_id, uri, title, comments_open FROM threads \
    WHERE uri LIKE '/%'";
const RENAME_THREAD: &str = "UPDATE threads SET uri = $1 WHERE site_id = $2 AND uri = $3";
// Closed under either spelling stays closed; the title the canonical thread lacks is taken.
const MERGE_THREAD: &str = "UPDATE threads SET comments_open = (comments_open AND $1), \
    title = CASE WHEN title = '' THEN $2 ELSE title END WHERE site_id = $3 AND uri = $4";
const DELETE_THREAD: &str = "DELETE FROM threads WHERE site_id = $1 AND uri = $2";

fn thread_row(r: &dyn RowRead) -> Result<Thread, StorageError> {
    Ok(Thread {
        id: r.int(0)?,
        site_id: r.int(1)?,
        uri: r.text(2)?,
        title: r.text(3)?,
        created_at: r.text(4)?,
        comments_open: r.flag(5)?,
    })
}

/// Every site that was not removed, with its origins: the default site first, then by name.
pub async fn sites<E: Exec>(e: &E) -> Result<Vec<Site>, StorageError> {
    let mut sites = e
        .query(SITES, &[], |r| {
            Ok(Site {
                id: r.int(0)?,
                name: r.text(1)?,
                title: r.text(2)?,
                settings: SiteSettings::from_json(&r.text(3)?),
                created_at: r.text(4)?,
                origins: Vec::new(),
            })
        })
        .await?;
    let origins = e
        .query(ORIGINS, &[], |r| Ok((r.int(0)?, r.text(1)?)))
        .await?;
    for (site_id, origin) in origins {
        if let Some(site) = sites.iter_mut().find(|s| s.id == site_id) {
            site.origins.push(origin);
        }
    }
    Ok(sites)
}

/// Creates or changes a site (see [`crate::storage::SiteStore::add_site`]); in a transaction.
pub async fn add_site<E: Exec>(e: &E, change: &SiteChange) -> Result<Site, StorageError> {
    e.lock(Lock::Sites).await?;
    let name = change.name.as_str();
    let settings = change.settings.as_ref().map(SiteSettings::to_json);
    let existing = e.query_opt(SITE_BY_NAME, &[&name], |r| r.int(0)).await?;
    let id = match existing {
        Some(id) => {
            let params: [&dyn Param; 3] = [&change.title, &settings, &id];
            e.execute(UPDATE_SITE, &params).await?;
            id
        }
        None => {
            let title = change.title.clone().unwrap_or_else(|| name.to_string());
            let settings = settings.unwrap_or_else(|| SiteSettings::default().to_json());
            let now = now_rfc3339();
            let params: [&dyn Param; 4] = [&name, &title, &settings, &now];
            super::scalar(e, INSERT_SITE, &params)
                .await?
                .ok_or_else(|| StorageError::Task("no id for the new site".into()))?
        }
    };
    for origin in &change.origins {
        let origin = origin.as_str();
        let owner = e
            .query_opt(ORIGIN_OWNER, &[&origin], |r| Ok((r.text(0)?, r.int(1)?)))
            .await?;
        match owner {
            Some((other, other_id)) if other_id != id => {
                return Err(StorageError::Conflict(format!(
                    "origin {origin} belongs to site `{other}`; remove it there first \
                     (replyguard sites remove {other} --origin {origin})"
                )));
            }
            Some(_) => {}
            None => {
                e.execute(INSERT_ORIGIN, &[&origin, &id]).await?;
            }
        }
    }
    e.execute(BUMP, &[&SITES_VERSION]).await?;
    sites(e)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| StorageError::Task("the new site is not listed".into()))
}

/// Removes origins of a site, or the site (see [`crate::storage::SiteStore::remove_site`]); in a
/// transaction.
pub async fn remove_site<E: Exec>(
    e: &E,
    name: &str,
    origins: &[SiteOrigin],
) -> Result<bool, StorageError> {
    e.lock(Lock::Sites).await?;
    let live = e
        .query_opt(SITE_BY_NAME, &[&name], |r| Ok((r.int(0)?, r.opt_text(1)?)))
        .await?;
    let Some((id, None)) = live else {
        return Ok(false);
    };
    if origins.is_empty() {
        if id == DEFAULT_SITE {
            return Err(StorageError::Conflict(
                "the default site holds the built-in articles and cannot be removed; \
                 remove its origins with --origin"
                    .into(),
            ));
        }
        e.execute("DELETE FROM site_origins WHERE site_id = $1", &[&id])
            .await?;
        let now = now_rfc3339();
        e.execute(
            "UPDATE sites SET removed_at = $1 WHERE id = $2",
            &[&now, &id],
        )
        .await?;
    } else {
        for origin in origins {
            e.execute(DELETE_ORIGIN, &[&origin.as_str(), &id]).await?;
        }
    }
    e.execute(BUMP, &[&SITES_VERSION]).await?;
    Ok(true)
}

/// A thread by its key.
pub async fn thread<E: Exec>(e: &E, site: i64, uri: &str) -> Result<Option<Thread>, StorageError> {
    e.query_opt(THREAD, &[&site, &uri], thread_row).await
}

/// The thread, created with `title` if new; in a transaction.
pub async fn create_thread<E: Exec>(
    e: &E,
    site: i64,
    uri: &str,
    title: &str,
) -> Result<Thread, StorageError> {
    let now = now_rfc3339();
    e.execute(INSERT_THREAD, &[&site, &uri, &title, &now])
        .await?;
    thread(e, site, uri)
        .await?
        .ok_or_else(|| StorageError::Task("the new thread is not found".into()))
}

/// Opens or closes a thread to new comments, creating it with `title` if it is new (an existing
/// thread keeps its title); in a transaction.
pub async fn set_comments_open<E: Exec>(
    e: &E,
    site: i64,
    uri: &str,
    title: &str,
    open: bool,
) -> Result<Thread, StorageError> {
    create_thread(e, site, uri, title).await?;
    e.execute(THREAD_OPEN, &[&open, &site, &uri]).await?;
    thread(e, site, uri)
        .await?
        .ok_or_else(|| StorageError::Task("the thread is not found".into()))
}

/// A site's threads, newest first.
pub async fn threads<E: Exec>(e: &E, site: i64, limit: u64) -> Result<Vec<Thread>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    e.query(THREADS, &[&site, &limit], thread_row).await
}

/// Gives every page's thread key its one spelling ([`canonical_path`]): the comments and the
/// thread (title, closed) stored under `/r%c3%a9sum%c3%a9/` or `/résumé/` by an earlier version,
/// which kept keys as sent, join `/r%C3%A9sum%C3%A9/`'s. Run at every start, in the transaction
/// that applies migrations; a database whose keys are all canonical costs two index reads.
/// Counts and published blocks follow through their triggers. How many keys changed.
pub async fn canonical_thread_keys<E: Exec>(e: &E) -> Result<u64, StorageError> {
    let text_pair = |r: &dyn RowRead| Ok((r.int(0)?, r.text(1)?));
    let mut changed = 0;
    for (site, key) in e.query(PAGE_KEYS, &[], text_pair).await? {
        let canonical = canonical_path(&key);
        if canonical != key {
            e.execute(RENAME_COMMENTS, &[&canonical, &site, &key])
                .await?;
            changed += 1;
        }
    }
    let page_thread = |r: &dyn RowRead| Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.flag(3)?));
    for (site, uri, title, open) in e.query(PAGE_THREADS, &[], page_thread).await? {
        let canonical = canonical_path(&uri);
        if canonical == uri {
            continue;
        }
        if thread(e, site, &canonical).await?.is_some() {
            e.execute(MERGE_THREAD, &[&open, &title, &site, &canonical])
                .await?;
            e.execute(DELETE_THREAD, &[&site, &uri]).await?;
        } else {
            e.execute(RENAME_THREAD, &[&canonical, &site, &uri]).await?;
        }
        changed += 1;
    }
    Ok(changed)
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[
    SITES,
    ORIGINS,
    SITE_BY_NAME,
    INSERT_SITE,
    UPDATE_SITE,
    ORIGIN_OWNER,
    INSERT_ORIGIN,
    DELETE_ORIGIN,
    BUMP,
    THREAD,
    INSERT_THREAD,
    THREAD_OPEN,
    THREADS,
    PAGE_KEYS,
    RENAME_COMMENTS,
    PAGE_THREADS,
    RENAME_THREAD,
    MERGE_THREAD,
    DELETE_THREAD,
];
