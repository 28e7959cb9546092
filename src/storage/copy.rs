//! Copying a SQLite database into PostgreSQL (`replyguard migrate`): every table, every row, with
//! the same ids, in one PostgreSQL transaction — a failed copy leaves the target empty. The two
//! schemas have the same tables and columns (`migrations/` and `postgres/0001_schema.sql`), so
//! rows travel as JSON objects and PostgreSQL's `json_populate_recordset` types them by the
//! target table.

use super::{Database, PgStore, SqliteStore, StorageError};
use rusqlite::types::ValueRef;
use std::path::Path;

/// Tables in an order that satisfies their foreign keys. `comment_counts` and `published_blocks`
/// are not copied: the target's triggers count the comments as they arrive.
const TABLES: &[&str] = &[
    "api_keys",
    "api_key_blogs",
    "api_usage",
    "training_examples",
    "sites",
    "site_origins",
    "articles",
    "article_aliases",
    "threads",
    "comments",
    "comment_votes",
    "comment_events",
    "learning_log",
    "settings",
    "admin_sessions",
    "reply_subscriptions",
    "reply_notices",
    "reply_addresses",
    "outbox",
];

/// Tables whose `id` comes from a sequence that must continue after the copied ids.
const SEQUENCES: &[&str] = &[
    "api_keys",
    "training_examples",
    "sites",
    "threads",
    "comments",
    "comment_events",
    "learning_log",
    "outbox",
];

/// What the target holds of a table before its rows are copied and the copy replaces: the
/// default site its migrations seed, what a server started on it once keeps (its admin token's
/// hash and other settings, a sign-in), and the outbox events its triggers wrote for the copied
/// comments (old comments are not news: a copy must not notify anyone). The target holds no
/// comment, key or article (checked first), so none of this is anyone's data.
fn replaced_by_copy(table: &str) -> Option<&'static str> {
    match table {
        "sites" => Some("DELETE FROM sites"),
        "settings" => Some("DELETE FROM settings"),
        "admin_sessions" => Some("DELETE FROM admin_sessions"),
        "outbox" => Some("DELETE FROM outbox"),
        _ => None,
    }
}

/// Rows sent per statement.
const BATCH: usize = 2_000;

/// How many rows of each table were copied.
pub type Copied = Vec<(&'static str, u64)>;

fn copy_error(message: impl Into<String>) -> StorageError {
    StorageError::Backend {
        kind: super::FailureKind::Other,
        message: message.into(),
    }
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database `to`; `progress` hears
/// about every batch (table, rows so far).
pub async fn sqlite_to_postgres(
    from: &Path,
    to: &str,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Copied, StorageError> {
    if !from.is_file() {
        return Err(StorageError::Open {
            path: from.to_path_buf(),
            kind: super::FailureKind::Io,
            message: "no such database file".into(),
        });
    }
    // Opening applies any pending SQLite migration, so both schemas are current.
    let path = from.to_path_buf();
    tokio::task::spawn_blocking(move || SqliteStore::open(&path).map(drop))
        .await
        .map_err(|e| StorageError::Task(e.to_string()))??;
    let source =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    // Nothing else of replyguard may be on the target while it is filled (a replica started on
    // it would keep settings and sites the copy replaces); held until the copy is committed.
    let _alone = super::postgres_exclusive_use(to, true).await?;
    let target = PgStore::connect(to).await?;
    let mut client = target.client().await?;
    let tx = client.transaction().await?;
    let existing: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM comments) + (SELECT count(*) FROM api_keys) \
             + (SELECT count(*) FROM articles)",
            &[],
        )
        .await?
        .try_get(0)?;
    if existing > 0 {
        return Err(copy_error(format!(
            "{} already holds comments, keys or articles; migrate into an empty database",
            Database::Postgres(to.to_string())
        )));
    }
    let mut copied = Vec::new();
    for &table in TABLES {
        if let Some(clear) = replaced_by_copy(table) {
            tx.execute(clear, &[]).await?;
        }
        let mut stmt = source.prepare(&format!("SELECT * FROM {table} ORDER BY 1"))?;
        let names: Vec<String> = stmt.column_names().map(String::from).collect();
        let mut rows = stmt.query([])?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut parents = Vec::new();
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            let mut object = serde_json::Map::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i)? {
                    ValueRef::Null => serde_json::Value::Null,
                    ValueRef::Integer(v) => v.into(),
                    ValueRef::Real(v) => serde_json::Number::from_f64(v)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    ValueRef::Blob(_) => {
                        return Err(copy_error(format!(
                            "{table}.{name} holds binary data, which replyguard never writes"
                        )));
                    }
                };
                object.insert(name.clone(), value);
            }
            // A reply may come before its parent (imports link them afterwards): parents are
            // set once every comment is in.
            if table == "comments" {
                let id = object.get("id").cloned().unwrap_or_default();
                if let Some(parent) = object.get_mut("parent_id")
                    && !parent.is_null()
                {
                    parents.push(serde_json::json!({"id": id, "parent": parent.take()}));
                }
            }
            batch.push(serde_json::Value::Object(object));
            if batch.len() == BATCH {
                n += insert(&tx, table, &mut batch).await?;
                progress(table, n);
            }
        }
        n += insert(&tx, table, &mut batch).await?;
        for chunk in parents.chunks(BATCH) {
            tx.execute(
                "UPDATE comments c SET parent_id = v.parent \
                 FROM json_to_recordset($1::text::json) AS v(id BIGINT, parent BIGINT) WHERE c.id = v.id",
                &[&serde_json::Value::Array(chunk.to_vec()).to_string()],
            )
            .await?;
        }
        progress(table, n);
        copied.push((table, n));
    }
    for &table in SEQUENCES {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ),
            &[],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(copied)
}

async fn insert(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &str,
    batch: &mut Vec<serde_json::Value>,
) -> Result<u64, StorageError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows = serde_json::Value::Array(std::mem::take(batch)).to_string();
    let n = tx
        .execute(
            &format!(
                "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::text::json)"
            ),
            &[&rows],
        )
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table of the schema is copied (or named here with the reason it is not), so a new
    /// table cannot be left behind by `replyguard migrate`.
    #[test]
    fn every_table_is_copied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rg.db");
        SqliteStore::open(&path).expect("open");
        let db = rusqlite::Connection::open(&path).expect("connection");
        let mut stmt = db
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .expect("statement");
        let mut tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("tables")
            .collect::<Result<_, _>>()
            .expect("names");
        // Counted by the target's own trigger as the comments arrive.
        tables.retain(|t| t != "comment_counts" && t != "published_blocks");
        tables.sort();
        let mut copied: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        copied.sort();
        assert_eq!(tables, copied);
    }
}
