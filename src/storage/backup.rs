//! Backups that cannot be done wrong, and the start-up check that keeps a wrong file from being
//! taken for an empty database.
//!
//! A plain copy of a live SQLite file misses what is still in its write-ahead log, and a copy
//! whose log was left behind can be a file with no tables, on which a server would start a fresh
//! database. So:
//! - [`backup_sqlite`] writes a consistent snapshot with `VACUUM INTO` (one read transaction: every
//!   comment committed before it started is in it, while the server keeps serving), checks it,
//!   and moves it into place atomically;
//! - [`restore_sqlite`] checks a backup, refuses to replace a database that has comments unless
//!   told to, and swaps it in atomically, removing the old file's log;
//! - [`check_sqlite_file`] refuses to open a file that is not a SQLite database, or one without
//!   replyguard's tables beside a leftover log or with someone else's tables.
//!
//! PostgreSQL has its own tools for this; [`backup_postgres`] and [`restore_postgres`] run
//! `pg_dump` and `pg_restore`.

use super::StorageError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub comments: i64,
    pub schema_version: i64,
    pub bytes: u64,
}

fn failed(path: &Path, reason: impl Into<String>) -> StorageError {
    StorageError::Unusable {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The SQLite file header every database starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Refuses, before anything is created or migrated, a database file that would otherwise be
/// silently taken for a new empty database: not a SQLite file at all, a SQLite file with another
/// program's tables, or one without replyguard's tables while a write-ahead log or shared-memory
/// file stands beside it (a copy that left its log behind). A missing or empty file is fine: that
/// is a new database.
pub fn check_sqlite_file(path: &Path) -> Result<(), StorageError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.len() == 0 {
        return Ok(());
    }
    let mut header = [0u8; 16];
    let read =
        std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if read.is_err() || &header != SQLITE_MAGIC {
        return Err(failed(
            path,
            "is not a SQLite database; refusing to start so that nothing overwrites it (a backup \
             made by `replyguard backup` is restored with `replyguard restore`)",
        ));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed(path, format!("cannot be read: {e}")))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| failed(path, format!("cannot be read: {e}")))?;
    if tables.iter().any(|t| t == "comments") {
        return Ok(());
    }
    if !tables.is_empty() {
        return Err(failed(
            path,
            format!(
                "is a SQLite database of another program (tables: {}); give replyguard its own file",
                tables.join(", ")
            ),
        ));
    }
    let leftovers: Vec<String> = ["-wal", "-shm"]
        .iter()
        .map(|s| sibling(path, s))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    // A live replyguard holds every file it has open (a shared lock): then the log is the one it
    // is writing its first tables to (two processes creating one database at once), no orphan.
    if !leftovers.is_empty() && !in_use(path) {
        return Err(failed(
            path,
            format!(
                "has no replyguard tables, but a write-ahead log stands beside it ({}): this looks \
                 like a copy made without its log, which misses comments. Restore a backup made by \
                 `replyguard backup` instead; refusing to start a fresh database over it",
                leftovers.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Whether a running replyguard holds the file `path` (its shared lock; see `SqliteStore`).
fn in_use(path: &Path) -> bool {
    std::fs::File::open(path)
        .is_ok_and(|file| matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// Checks that `path` is a sound replyguard database and says what it holds.
pub fn inspect_sqlite(path: &Path) -> Result<BackupSummary, StorageError> {
    check_sqlite_file(path)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed(path, format!("cannot be read: {e}")))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| failed(path, format!("cannot be checked: {e}")))?;
    if integrity != "ok" {
        return Err(failed(path, format!("is damaged: {integrity}")));
    }
    let comments: i64 = conn
        .query_row("SELECT count(*) FROM comments", [], |r| r.get(0))
        .map_err(|_| failed(path, "has no replyguard tables"))?;
    let schema_version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| failed(path, format!("cannot be read: {e}")))?;
    if schema_version > super::sqlite::MIGRATIONS.len() as i64 {
        return Err(failed(
            path,
            format!(
                "was written by a newer replyguard (schema {schema_version}, this build knows {}); \
                 upgrade first",
                super::sqlite::MIGRATIONS.len()
            ),
        ));
    }
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    Ok(BackupSummary {
        comments,
        schema_version,
        bytes,
    })
}

/// Writes a consistent snapshot of the live database at `db` to `out`, while servers keep
/// writing to it: `VACUUM INTO` a temporary file beside `out`, checked, then renamed over it.
pub fn backup_sqlite(db: &Path, out: &Path) -> Result<BackupSummary, StorageError> {
    if !db.exists() {
        return Err(failed(db, "does not exist"));
    }
    check_sqlite_file(db)?;
    let tmp = sibling(out, ".partial");
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed(db, format!("cannot be read: {e}")))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| failed(db, e.to_string()))?;
    let tmp_text = tmp
        .to_str()
        .ok_or_else(|| failed(out, "the backup path is not valid UTF-8"))?;
    conn.execute("VACUUM INTO ?1", [tmp_text])
        .map_err(|e| failed(out, format!("cannot be written: {e}")))?;
    drop(conn);
    let summary = match inspect_sqlite(&tmp) {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    sync_and_rename(&tmp, out)?;
    Ok(summary)
}

/// Replaces the database at `db` with the backup `from`. The backup is checked first; a database
/// that holds comments is replaced only with `force`. Stop the servers on `db` first.
pub fn restore_sqlite(from: &Path, db: &Path, force: bool) -> Result<BackupSummary, StorageError> {
    let summary = inspect_sqlite(from)?;
    // Held until the file is replaced: a server or import that opens it meanwhile waits on
    // nothing, but one that has it open now keeps its shared lock (see `SqliteStore::open`).
    let _exclusive = lock_for_restore(db)?;
    if db.exists() && std::fs::metadata(db).is_ok_and(|m| m.len() > 0) {
        let existing = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM comments", [], |r| r.get::<_, i64>(0))
                    .ok()
            });
        if let Some(n) = existing.filter(|&n| n > 0 && !force) {
            return Err(failed(
                db,
                format!(
                    "already holds {n} comments; restoring would replace them. Stop the server, \
                     back it up if you may need it, and run again with --force"
                ),
            ));
        }
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let tmp = sibling(db, ".restoring");
    std::fs::copy(from, &tmp).map_err(|e| failed(db, format!("cannot be written: {e}")))?;
    // The old file's log belongs to the old file: applied to the restored one it would corrupt it.
    for leftover in ["-wal", "-shm"] {
        let path = sibling(db, leftover);
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|e| failed(&path, format!("cannot be removed: {e}")))?;
        }
    }
    sync_and_rename(&tmp, db)?;
    Ok(summary)
}

/// An exclusive advisory lock on the database file being restored over, refused while a
/// replyguard process (a server, an import) has it open: the file would be swapped from under it,
/// and everything it wrote after that would go to the replaced file and be lost. `None` when
/// there is no file yet.
fn lock_for_restore(db: &Path) -> Result<Option<std::fs::File>, StorageError> {
    let Ok(file) = std::fs::File::open(db) else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(failed(
            db,
            "is open in a running replyguard (a server, an import): stop it first, then restore; \
             swapped from under it, everything it wrote after the restore would be lost"
                .to_string(),
        )),
        // A file system without advisory locks: nothing to tell by.
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

fn sync_and_rename(tmp: &Path, to: &Path) -> Result<(), StorageError> {
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| failed(tmp, format!("cannot be synced: {e}")))?;
    std::fs::rename(tmp, to).map_err(|e| failed(to, format!("cannot be written: {e}")))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// A PostgreSQL client program: on `PATH`, or Debian's versioned directory.
fn pg_program(name: &str) -> PathBuf {
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = dirs
            .flatten()
            .map(|d| d.path().join("bin").join(name))
            .filter(|p| p.exists())
            .collect();
        found.sort();
        if let Some(newest) = found.pop() {
            return newest;
        }
    }
    PathBuf::from(name)
}

fn run_pg(program: &str, args: &[&str], what: &Path) -> Result<(), StorageError> {
    let binary = pg_program(program);
    let output = Command::new(&binary).args(args).output().map_err(|e| {
        failed(
            what,
            format!(
                "cannot run {} ({e}); install PostgreSQL's client programs (Debian: postgresql-client)",
                binary.display()
            ),
        )
    })?;
    if !output.status.success() {
        return Err(failed(
            what,
            format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// `pg_dump --format=custom` of the database at `url` into `out` (through a temporary file).
pub fn backup_postgres(url: &str, out: &Path) -> Result<u64, StorageError> {
    let tmp = sibling(out, ".partial");
    let tmp_text = tmp.to_string_lossy().to_string();
    run_pg(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--file",
            &tmp_text,
            "--dbname",
            url,
        ],
        out,
    )?;
    sync_and_rename(&tmp, out)?;
    Ok(std::fs::metadata(out).map_or(0, |m| m.len()))
}

/// `pg_restore --clean --if-exists` of a `pg_dump` custom-format file into the database at `url`.
pub fn restore_postgres(from: &Path, url: &str) -> Result<(), StorageError> {
    let from_text = from.to_string_lossy().to_string();
    run_pg(
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            url,
            &from_text,
        ],
        from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_files_are_refused_and_new_ones_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("new.db");
        assert!(check_sqlite_file(&missing).is_ok());
        std::fs::write(&missing, b"").unwrap();
        assert!(check_sqlite_file(&missing).is_ok(), "an empty file is new");

        let text = dir.path().join("notes.db");
        std::fs::write(&text, b"hello, this is not a database at all").unwrap();
        let e = check_sqlite_file(&text).unwrap_err().to_string();
        assert!(e.contains("not a SQLite database"), "{e}");

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE photos (id INTEGER)")
            .unwrap();
        let e = check_sqlite_file(&foreign).unwrap_err().to_string();
        assert!(e.contains("another program") && e.contains("photos"), "{e}");

        let orphan = dir.path().join("copy.db");
        Connection::open(&orphan)
            .unwrap()
            .execute_batch("PRAGMA user_version = 0; VACUUM;")
            .unwrap();
        assert!(check_sqlite_file(&orphan).is_ok(), "no tables, no log: new");
        std::fs::write(sibling(&orphan, "-wal"), b"left behind").unwrap();
        let e = check_sqlite_file(&orphan).unwrap_err().to_string();
        assert!(e.contains("write-ahead log"), "{e}");
    }
}
