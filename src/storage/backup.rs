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

/// `PRAGMA application_id` of a file `replyguard backup` wrote ("RGBK"): a backup replaces only
/// a file so marked, never a database that merely has replyguard's tables (the live one, its
/// server stopped, with the arguments swapped). `restore` clears it on the copy it puts back.
const BACKUP_APPLICATION_ID: i32 = 0x5247_424B;

/// Whether `path` is a SQLite backup written by `replyguard backup` (its mark).
fn is_marked_backup(path: &Path) -> bool {
    check_sqlite_file(path).is_ok()
        && Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.pragma_query_value(None, "application_id", |r| r.get::<_, i32>(0)))
            .is_ok_and(|id| id == BACKUP_APPLICATION_ID)
}

/// Sets the `application_id` of the SQLite file at `path` (0 clears the backup mark).
fn set_application_id(path: &Path, id: i32) -> Result<(), StorageError> {
    Connection::open(path)
        .and_then(|c| c.pragma_update(None, "application_id", id))
        .map_err(|e| failed(path, format!("cannot be marked: {e}")))
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
        // A log without its database: the file was deleted or moved while a server wrote to it.
        // A fresh database started here would overwrite the log, and what the log still holds.
        let log = sibling(path, "-wal");
        if std::fs::metadata(&log).is_ok_and(|m| m.len() > 0) || sibling(path, "-shm").exists() {
            return Err(failed(
                path,
                format!(
                    "is missing, but its write-ahead log {} (or its index, -shm) is there: the \
                     database was deleted or moved while a server used it. Put it back (or `replyguard restore` a backup), \
                     or move the log away to start an empty database; refusing to start over it",
                    log.display()
                ),
            ));
        }
        return Ok(());
    };
    if meta.len() == 0 {
        return Ok(());
    }
    if !has_sqlite_header(path) {
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

/// Whether `path` starts as every SQLite database does.
fn has_sqlite_header(path: &Path) -> bool {
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok_and(|()| &header == SQLITE_MAGIC)
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

/// Where a backup may be written: a file name (not a directory), not the database itself or one
/// of its companion files, and not a file that is something else — a backup only replaces an
/// earlier backup (`is_backup` tells one), so a slip of the argument never destroys data.
fn check_backup_target(
    db: Option<&Path>,
    out: &Path,
    is_backup: impl Fn(&Path) -> bool,
) -> Result<(), StorageError> {
    if out.is_dir() {
        return Err(failed(
            out,
            "is a directory: give the backup a file name in it (e.g. DIR/replyguard-2026-12-07.db)",
        ));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(failed(
            out,
            format!(
                "cannot be written: its directory {} does not exist (create it first: mkdir -p {})",
                dir.display(),
                dir.display()
            ),
        ));
    }
    // Only a regular file is ever replaced: not a device (`/dev/null`), a pipe, a socket.
    if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
        return Err(failed(
            out,
            "is not a regular file: give the backup a file name",
        ));
    }
    if let Some(db) = db {
        let companions = ["", "-wal", "-shm", "-journal"].map(|suffix| sibling(db, suffix));
        // By file (a link to it) and by name (a log that is not there yet: SQLite would read a
        // backup written under its name as the database's hot journal).
        if companions
            .iter()
            .any(|file| same_file(file, out) || same_name(file, out))
        {
            return Err(failed(
                out,
                "is the database being backed up (or one of its files): write the backup \
                 elsewhere",
            ));
        }
    }
    // A database's log beside it: `out` is (or was) a live database, whatever it holds.
    let logs = ["-wal", "-shm", "-journal"].map(|suffix| sibling(out, suffix));
    if logs.iter().any(|log| log.exists()) {
        return Err(failed(
            out,
            "has a database log beside it: it is a live database, not an earlier backup; \
             write the backup elsewhere",
        ));
    }
    if out.exists() && (in_use(out) || !is_backup(out)) {
        return Err(failed(
            out,
            "already exists and is not an earlier backup (a backup only replaces one): \
             choose another file name, or remove it first if it is not needed",
        ));
    }
    Ok(())
}

/// Whether `a` and `b` are the same name in the same directory (the directories compared as
/// files, so `./x/../db` and `db` agree), whether or not the file exists.
fn same_name(a: &Path, b: &Path) -> bool {
    let dir = |p: &Path| match p.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    a.file_name().is_some() && a.file_name() == b.file_name() && same_file(&dir(a), &dir(b))
}

/// Whether `a` and `b` name one file (by device and inode; `false` if either is missing).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Creates the temporary file `tmp` empty and private ([`create_private`]), runs `write` to
/// fill it, then `check`s it and moves it to `out`; on any failure the temporary file is
/// removed, so nothing half-written stays behind.
fn write_then_rename<T>(
    tmp: &Path,
    out: &Path,
    write: impl FnOnce() -> Result<(), StorageError>,
    check: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let _ = std::fs::remove_file(tmp);
    let done = create_private(tmp)
        .and_then(|()| write())
        .and_then(|()| check())
        .and_then(|value| sync_and_rename(tmp, out).map(|()| value));
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    done
}

/// Writes a consistent snapshot of the live database at `db` to `out`, while servers keep
/// writing to it: `VACUUM INTO` a temporary file beside `out`, checked, then renamed over it
/// (readable by its owner only). `out` may be an earlier backup, nothing else.
pub fn backup_sqlite(db: &Path, out: &Path) -> Result<BackupSummary, StorageError> {
    if !db.exists() {
        return Err(failed(db, "does not exist"));
    }
    check_sqlite_file(db)?;
    check_backup_target(Some(db), out, is_marked_backup)?;
    let tmp = sibling(out, ".partial");
    let tmp_text = tmp
        .to_str()
        .ok_or_else(|| failed(out, "the backup path is not valid UTF-8"))?;
    let write = || {
        // `VACUUM INTO` fills the empty private file it is given.
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| failed(db, format!("cannot be read: {e}")))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| failed(db, e.to_string()))?;
        conn.execute("VACUUM INTO ?1", [tmp_text])
            .map_err(|e| failed(out, format!("cannot be written: {e}")))?;
        drop(conn);
        set_application_id(&tmp, BACKUP_APPLICATION_ID)
    };
    write_then_rename(&tmp, out, write, || inspect_sqlite(&tmp))
}

/// Creates `path` empty and readable by its owner only (a backup holds every commenter's e-mail
/// and IP address: no moment where another user could open it).
fn create_private(path: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|e| failed(path, format!("cannot be created: {e}")))
}

/// Replaces the database at `db` with the backup `from`. The backup is checked first; a database
/// that holds comments is replaced only with `force`. Stop the servers on `db` first.
pub fn restore_sqlite(from: &Path, db: &Path, force: bool) -> Result<BackupSummary, StorageError> {
    // Through a link, the file it leads to is the database (a volume mounted elsewhere): the
    // link itself stays.
    let resolved = std::fs::canonicalize(db).ok();
    let db = resolved.as_deref().unwrap_or(db);
    if !from.is_file() || !has_sqlite_header(from) {
        return Err(failed(
            from,
            "is not a backup made by `replyguard backup` (not a SQLite database file)",
        ));
    }
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
    // The restored database is a live one again: no longer something a backup may replace.
    if let Err(e) = set_application_id(&tmp, 0).and_then(|()| take_place_of(&tmp, db)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
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

/// Gives the restored copy `tmp` the owner and mode of the database file it replaces, so the
/// service's user can still write it when `restore` runs as root (a copy would be root's,
/// world-readable: the server would start, read, and refuse every comment). A new database is
/// readable by its owner only, and owned as its directory is (the service's state directory).
fn take_place_of(tmp: &Path, db: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (mode, owner) = match std::fs::metadata(db) {
        Ok(old) => (old.mode() & 0o7777, Some((old.uid(), old.gid()))),
        Err(_) => {
            let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
            let owner = std::fs::metadata(dir.unwrap_or(Path::new(".")))
                .ok()
                .map(|d| (d.uid(), d.gid()));
            (0o600, owner)
        }
    };
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(mode))
        .map_err(|e| failed(tmp, format!("cannot take the database's mode: {e}")))?;
    if let Some((uid, gid)) = owner {
        let current = std::fs::metadata(tmp).map(|m| (m.uid(), m.gid())).ok();
        if current != Some((uid, gid)) {
            std::os::unix::fs::chown(tmp, Some(uid), Some(gid)).map_err(|e| {
                failed(
                    db,
                    format!(
                        "the restored copy cannot be given to the database's owner (uid {uid}, gid \
                         {gid}): {e}; run restore as that user or as root"
                    ),
                )
            })?;
        }
    }
    Ok(())
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
    check_backup_target(None, out, is_pg_dump)?;
    let tmp = sibling(out, ".partial");
    let tmp_text = tmp.to_string_lossy().to_string();
    // pg_dump truncates the empty private file it is given.
    let write = || {
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
        )
    };
    write_then_rename(&tmp, out, write, || Ok(()))?;
    Ok(std::fs::metadata(out).map_or(0, |m| m.len()))
}

/// Whether `path` is a `pg_dump` custom-format file (it starts with `PGDMP`).
fn is_pg_dump(path: &Path) -> bool {
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"PGDMP")
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

    fn database_with_comments(path: &Path) {
        Connection::open(path)
            .unwrap()
            .execute_batch("CREATE TABLE comments (id INTEGER); INSERT INTO comments VALUES (1);")
            .unwrap();
    }

    /// A backup replaces only an earlier backup: never the database itself, a directory, or a
    /// file of anything else; nothing half-written stays behind, and it is its owner's only.
    #[test]
    fn a_backup_never_overwrites_what_it_must_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        database_with_comments(&db);
        let is_backup = |file: &Path| check_sqlite_file(file).is_ok();
        let refused = |out: &Path| {
            check_backup_target(Some(&db), out, is_backup)
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&db).contains("is the database being backed up"));
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(refused(&link).contains("is the database being backed up"));
        std::fs::write(sibling(&db, "-wal"), b"log").unwrap();
        assert!(refused(&sibling(&db, "-wal")).contains("is the database being backed up"));
        assert!(refused(dir.path()).contains("is a directory"));
        assert!(refused(Path::new("/dev/null")).contains("not a regular file"));
        // The database's journal, not there yet: its name is refused all the same.
        assert!(refused(&sibling(&db, "-journal")).contains("is the database being backed up"));
        assert!(refused(&dir.path().join(".").join("live.db-shm")).contains("being backed up"));
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, b"my notes").unwrap();
        assert!(refused(&notes).contains("not an earlier backup"));
        let earlier = dir.path().join("earlier.db");
        database_with_comments(&earlier);
        assert!(check_backup_target(Some(&db), &earlier, is_backup).is_ok());
        // Only a file `backup` marked counts as one: a database with comments is not.
        assert!(!is_marked_backup(&earlier));
        set_application_id(&earlier, BACKUP_APPLICATION_ID).unwrap();
        assert!(is_marked_backup(&earlier));
        // A log beside the target: a live database.
        std::fs::write(sibling(&earlier, "-wal"), b"log").unwrap();
        let e = check_backup_target(Some(&db), &earlier, is_marked_backup).unwrap_err();
        assert!(e.to_string().contains("database log beside it"), "{e}");
        assert!(check_backup_target(Some(&db), &dir.path().join("new.db"), is_backup).is_ok());

        // A write that fails leaves no partial file; one that succeeds is private.
        let out = dir.path().join("out.db");
        let tmp = sibling(&out, ".partial");
        let failing = write_then_rename(
            &tmp,
            &out,
            || std::fs::write(&tmp, b"half").map_err(|e| failed(&tmp, e.to_string())),
            || Err::<(), _>(failed(&tmp, "check failed")),
        );
        assert!(failing.is_err() && !tmp.exists() && !out.exists());
        write_then_rename(
            &tmp,
            &out,
            || std::fs::write(&tmp, b"whole").map_err(|e| failed(&tmp, e.to_string())),
            || Ok(()),
        )
        .unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode, tmp.exists()), (0o600, false));
    }

    /// A restored database keeps the replaced file's mode (and owner): the service's user can
    /// still write it, and no one else can read it.
    #[test]
    fn a_restored_database_keeps_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        std::fs::write(&db, b"old").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        let tmp = dir.path().join("copy");
        std::fs::write(&tmp, b"new").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        take_place_of(&tmp, &db).unwrap();
        let mode = std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // Into a new database: private.
        take_place_of(&tmp, &dir.path().join("new.db")).unwrap();
        let mode = std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_backup_into_a_missing_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nowhere").join("b.db");
        let why = check_backup_target(None, &out, |_| false)
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("does not exist") && why.contains("mkdir -p"),
            "{why}"
        );
    }

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
