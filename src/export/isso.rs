//! `export --format isso`: one site's threads and comments as an Isso database, the SQLite file
//! Isso's `[general] dbpath` names, for a site that moves (back) to Isso with its history.
//!
//! The schema is Isso's own at its version 5 (`PRAGMA user_version`), what Isso 0.13 and 0.14
//! open without migrating; Isso adds its preferences (session key) and its trigger itself on
//! first start. Published comments are mode 1, comments waiting for a moderator mode 2; spam
//! and trash are not exported, except as Isso's own "deleted" placeholder (mode 4, no text, no
//! author) where a comment that is exported replies to them, so every reply keeps its place.
//! Isso nests one level: a reply to a reply hangs under the top-level comment, as Isso's own
//! migration to version 3 does. Addresses are kept as Isso keeps them (IPv4 to /24, IPv6 to /48),
//! and each comment's voter filter holds its author's address, as Isso sets it, so the author
//! cannot like their own comment; likes and dislikes are the totals counted here.

use super::{Counts, ExportError, Source};
use crate::articles::Article;
use crate::domain::Status;
use crate::storage::{ExportComment, Store};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Isso's database version this schema is.
const ISSO_VERSION: i64 = 5;

/// Threads of a site read at most (Isso sites have hundreds; the bound keeps memory flat).
const MAX_THREADS: u64 = 1_000_000;

const SCHEMA: &str = "
    CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
    CREATE TABLE comments (
        tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
        created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
        text VARCHAR NOT NULL, author VARCHAR, email VARCHAR, website VARCHAR,
        likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
        notification INTEGER DEFAULT 0);
    CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
";

/// One page of the site to export: its Isso uri, title, and the key its comments are stored under.
struct Page {
    uri: String,
    title: String,
    key: String,
}

/// Writes site `site_name`'s threads (and, for the default site, its articles, at the path of
/// their address under `site_url`) into a new Isso database at `path` (an empty or new file).
pub fn write(
    source: &Source<'_>,
    store: &dyn Store,
    files: &[Article],
    site_name: &str,
    site_url: &str,
    path: &Path,
) -> Result<Counts, ExportError> {
    let rt = source.rt;
    let sites = rt.block_on(store.sites())?;
    let site = sites
        .iter()
        .find(|s| s.name.as_str() == site_name)
        .ok_or_else(|| ExportError::UnknownSite(site_name.to_string()))?;
    let mut pages: Vec<Page> = Vec::new();
    if site.id == crate::domain::DEFAULT_SITE {
        for item in super::items(source, files)? {
            let link = super::link(site_url, &item.article);
            let uri = url::Url::parse(&link)
                .map(|u| u.path().to_string())
                .unwrap_or_else(|_| format!("/articles/{}", item.article.slug));
            pages.push(Page {
                uri,
                title: item.article.title,
                key: item.article.slug,
            });
        }
    }
    for thread in rt.block_on(store.threads(site.id, MAX_THREADS))? {
        if pages.iter().any(|p| p.uri == thread.uri) {
            continue;
        }
        pages.push(Page {
            key: thread.uri.clone(),
            uri: thread.uri,
            title: thread.title,
        });
    }

    let mut db = Connection::open(path)?;
    db.execute_batch(SCHEMA)?;
    db.pragma_update(None, "user_version", ISSO_VERSION)?;
    let tx = db.transaction()?;
    let mut counts = Counts::default();
    for page in &pages {
        let mut comments: Vec<ExportComment> = Vec::new();
        super::each_comment(source, Some(&page.key), |c| {
            if c.comment.site_id == site.id {
                comments.push(c.clone());
            }
            Ok(())
        })?;
        let rows = isso_rows(&comments);
        if rows.is_empty() {
            continue;
        }
        let published: Vec<i64> = rows
            .iter()
            .filter(|r| r.mode == 1)
            .map(|r| r.comment.id)
            .collect();
        let extras: HashMap<i64, _> = rt
            .block_on(store.comment_extras(&published))?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        tx.execute(
            "INSERT INTO threads (uri, title) VALUES (?1, ?2)",
            params![page.uri, page.title],
        )?;
        let tid = tx.last_insert_rowid();
        counts.articles += 1;
        for row in rows {
            let c = row.comment;
            let address = anonymize(c.user_ip.as_deref().unwrap_or_default());
            let extra = extras.get(&c.id);
            let placeholder = row.mode == 4;
            tx.execute(
                "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, \
                 text, author, email, website, likes, dislikes, voters, notification) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)",
                params![
                    tid,
                    c.id,
                    row.parent,
                    unix_seconds(&c.created_at),
                    extra.and_then(|e| e.edited_at.as_deref()).map(unix_seconds),
                    row.mode,
                    address,
                    if placeholder { "" } else { c.content.as_str() },
                    (!placeholder).then_some(c.author.as_str()),
                    (!placeholder && !c.author_email.is_empty()).then_some(c.author_email.as_str()),
                    if placeholder {
                        None
                    } else {
                        c.author_url.as_deref()
                    },
                    extra.map_or(0, |e| e.votes.likes as i64),
                    extra.map_or(0, |e| e.votes.dislikes as i64),
                    voters_of(&address).to_vec(),
                ],
            )?;
            if !placeholder {
                counts.comments += 1;
            }
        }
    }
    tx.commit()?;
    Ok(counts)
}

/// A comment as Isso will hold it.
struct IssoRow<'a> {
    comment: &'a crate::storage::StoredComment,
    /// 1 published, 2 waiting for a moderator, 4 deleted (kept for its replies).
    mode: i64,
    /// Its top-level ancestor (Isso nests one level).
    parent: Option<i64>,
}

/// A page's comments as Isso rows, in id order: published and held ones, and the spam or trash
/// they reply to as placeholders.
fn isso_rows(comments: &[ExportComment]) -> Vec<IssoRow<'_>> {
    let by_id: HashMap<i64, &crate::storage::StoredComment> = comments
        .iter()
        .map(|c| (c.comment.id, &c.comment))
        .collect();
    let shown = |s: Status| matches!(s, Status::Published | Status::Held);
    // Every comment that is exported, and every ancestor of one.
    let mut kept: HashSet<i64> = HashSet::new();
    for c in comments.iter().filter(|c| shown(c.comment.status)) {
        let mut at = Some(c.comment.id);
        // Bounded by the page's size, whatever the parent links say.
        for _ in 0..=comments.len() {
            let Some(id) = at else { break };
            if !kept.insert(id) {
                break;
            }
            at = by_id.get(&id).and_then(|c| c.parent_id);
        }
    }
    let top_of = |id: i64| {
        let mut top = id;
        for _ in 0..=comments.len() {
            match by_id.get(&top).and_then(|c| c.parent_id) {
                Some(parent) if by_id.contains_key(&parent) => top = parent,
                _ => break,
            }
        }
        top
    };
    comments
        .iter()
        .filter(|c| kept.contains(&c.comment.id))
        .map(|c| {
            let c = &c.comment;
            let top = top_of(c.id);
            IssoRow {
                comment: c,
                mode: match c.status {
                    Status::Published => 1,
                    Status::Held => 2,
                    Status::Spam | Status::Trash => 4,
                },
                parent: (top != c.id).then_some(top),
            }
        })
        .collect()
}

/// Seconds since 1970 of an RFC 3339 time (0 when it cannot be read).
fn unix_seconds(rfc3339: &str) -> f64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        .unwrap_or(0.0)
}

/// An address as Isso stores it (`isso.utils.anonymize`): IPv4 to its /24, IPv6 to its /48
/// (an IPv4-mapped one as IPv4), anything else `0.0.0.0`.
fn anonymize(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => anonymize(&v4.to_string()),
            None => {
                let s = v6.segments();
                format!(
                    "{:04x}:{:04x}:{:04x}:0000:0000:0000:0000:0000",
                    s[0], s[1], s[2]
                )
            }
        },
        Err(_) => "0.0.0.0".to_string(),
    }
}

/// Isso's voter filter (`isso.utils.Bloomfilter`: 2,048 bits, 11 probes, each the next 11 bits
/// of the SHA-256 of the key read as one big-endian number, from its low end) holding `address`.
fn voters_of(address: &str) -> [u8; 256] {
    let digest = Sha256::digest(address.as_bytes());
    let bit = |j: usize| (digest[31 - j / 8] >> (j % 8)) & 1;
    let mut filter = [0u8; 256];
    for probe in 0..11 {
        let index = (0..11).fold(0usize, |acc, k| {
            acc | (usize::from(bit(probe * 11 + k)) << k)
        });
        filter[index / 8] |= 1 << (index % 8);
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_as_isso_keeps_them() {
        assert_eq!(anonymize("203.0.113.77"), "203.0.113.0");
        assert_eq!(
            anonymize("2001:db8:abcd:12::1"),
            "2001:0db8:abcd:0000:0000:0000:0000:0000"
        );
        assert_eq!(anonymize("::ffff:198.51.100.9"), "198.51.100.0");
        assert_eq!(anonymize(""), "0.0.0.0");
    }

    #[test]
    fn the_voter_filter_sets_eleven_bits_at_most() {
        let filter = voters_of("127.0.0.0");
        let set: u32 = filter.iter().map(|b| b.count_ones()).sum();
        assert!((1..=11).contains(&set), "{set}");
        assert_ne!(voters_of("127.0.0.0"), voters_of("127.0.1.0"));
    }
}
