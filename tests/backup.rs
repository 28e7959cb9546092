//! Backups that cannot be done wrong, through the CLI binary and a running server: a backup
//! taken while comments pour in holds every comment acknowledged before it started; a restore
//! puts it back and a server serves it; a wrong file is refused at start instead of being taken
//! for a new database; PostgreSQL through pg_dump / pg_restore.

use crate::common;

use common::postgres::PgCluster;
use common::{Server, agent, model};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ARTICLE: &str = "alibaba-olympic-partner";

fn post(server_base: &str, n: usize) -> Option<i64> {
    let mut resp = agent()
        .post(&format!("{server_base}/api/v1/articles/{ARTICLE}/comments"))
        .send_json(json!({"comment_content": format!("Comment number {n} on the cloud deal: which venues?"),
                          "comment_author": format!("Reader {n}"),
                          "comment_author_email": format!("reader{n}@example.org")}))
        .ok()?;
    if resp.status().as_u16() != 201 {
        return None;
    }
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().ok()?).ok()?;
    body["id"].as_i64()
}

fn ids_in(db: &Path) -> Vec<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn.prepare("SELECT id FROM comments ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_backup_under_load_holds_every_acknowledged_comment_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Server::start(&db, &model(), &[]);
    let base = server.base.clone();
    let acked: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, acked, stop) = (base.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if let Some(id) = post(&base, n) {
                        acked.lock().unwrap().push((id, Instant::now()));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let out = common::run(
        &["backup", "--db", db.to_str().unwrap(), "--out", "backup.db"],
        None,
        dir.path(),
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("backed up"));
    let backup = dir.path().join("backup.db");
    let in_backup = ids_in(&backup);
    let before: Vec<i64> = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(id, _)| *id)
        .collect();
    assert!(
        before.len() > 20,
        "comments were flowing ({})",
        before.len()
    );
    let missing: Vec<&i64> = before.iter().filter(|id| !in_backup.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing: {missing:?}"
    );
    // Restoring over the file the server has open is refused, even with --force: swapped from
    // under it, what it acknowledged after would be lost.
    let refused = common::run(
        &[
            "restore",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "backup.db",
            "--force",
        ],
        None,
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(
        common::text(&refused.stderr).contains("stop it first"),
        "{}",
        common::text(&refused.stderr)
    );
    let after = post(&base, 9_999_999).expect("the server still takes comments");
    server.stop();
    assert!(
        ids_in(&db).contains(&after),
        "the comment acknowledged after the refused restore is in the file"
    );

    // Restore into a new file, serve it, see the same comments.
    let restored = dir.path().join("restored.db");
    let out = common::run(
        &[
            "restore",
            "--db",
            restored.to_str().unwrap(),
            "--from",
            "backup.db",
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(ids_in(&restored), in_backup);
    let again = Server::start(&restored, &model(), &[]);
    let mut resp = agent()
        .get(&again.url(&format!("/api/v1/articles/{ARTICLE}/comments?per_page=1")))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let shown = body["total"].as_u64().unwrap_or_default();
    assert!(shown > 0 && shown <= in_backup.len() as u64, "{body}");
    again.stop();

    // A database that holds comments is not replaced without --force; a damaged backup never.
    let refused = common::run(
        &["restore", "--db", "restored.db", "--from", "backup.db"],
        None,
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(
        common::text(&refused.stderr).contains("--force"),
        "{}",
        common::text(&refused.stderr)
    );
    std::fs::write(dir.path().join("junk.db"), b"not a backup").unwrap();
    let refused = common::run(
        &[
            "restore", "--db", "other.db", "--from", "junk.db", "--force",
        ],
        None,
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(!dir.path().join("other.db").exists(), "nothing written");
}

/// What `serve` prints and how it ends when it refuses its database.
fn refused_start(db: &Path) -> String {
    let mut child = common::bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--model")
        .arg(model())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return err;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the server started on {}", db.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A slip of `--out` never destroys data: the live database, a directory or any other file is
/// refused (nothing written, nothing left behind); a backup replaces an earlier backup. A restore
/// run as root leaves the file to its owner (the service's user), as private as it was.
#[test]
fn a_backup_refuses_to_overwrite_and_a_restore_keeps_the_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Server::start(&db, &model(), &[]);
    assert!(post(&server.base, 1).is_some());
    let cli = |args: &[&str]| {
        let out = common::run(args, None, dir.path());
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let db_arg = db.to_str().unwrap();
    let (ok, err) = cli(&["backup", "--db", db_arg, "--out", db_arg]);
    assert!(
        !ok && err.contains("is the database being backed up"),
        "{err}"
    );
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let (ok, err) = cli(&["backup", "--db", db_arg, "--out", notes.to_str().unwrap()]);
    assert!(!ok && err.contains("not an earlier backup"), "{err}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
    let (ok, err) = cli(&[
        "backup",
        "--db",
        db_arg,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("is a directory"), "{err}");
    // The server kept serving on an intact database; a backup, taken twice onto itself, is private.
    assert!(post(&server.base, 2).is_some());
    let out = dir.path().join("backup.db");
    for _ in 0..2 {
        let (ok, err) = cli(&["backup", "--db", db_arg, "--out", out.to_str().unwrap()]);
        assert!(ok, "{err}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(std::fs::metadata(&out).unwrap().mode() & 0o777, 0o600);
    drop(server);
    assert_eq!(ids_in(&db).len(), 2);
    // With the server stopped and the arguments swapped, the live database is still no backup.
    let (ok, err) = cli(&["backup", "--db", out.to_str().unwrap(), "--out", db_arg]);
    assert!(!ok && err.contains("not an earlier backup"), "{err}");
    assert_eq!(ids_in(&db).len(), 2);

    // A file that is no backup is named as such (not with the server's start-up advice).
    let (ok, err) = cli(&["restore", "--from", notes.to_str().unwrap(), "--db", db_arg]);
    assert!(
        !ok && err.contains("is not a backup made by `replyguard backup`"),
        "{err}"
    );
    assert_eq!(ids_in(&db).len(), 2);

    // Restored by root over a file the service's user owns: still that user's, mode kept.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = std::fs::metadata(&db).unwrap().uid() == 0
        && std::os::unix::fs::chown(&db, Some(61234), Some(61234)).is_ok();
    let (ok, err) = cli(&[
        "restore",
        "--from",
        out.to_str().unwrap(),
        "--db",
        db_arg,
        "--force",
    ]);
    assert!(ok, "{err}");
    let restored = std::fs::metadata(&db).unwrap();
    assert_eq!(restored.mode() & 0o777, 0o640);
    if is_root {
        assert_eq!((restored.uid(), restored.gid()), (61234, 61234));
    }
    // Through a link (a volume mounted elsewhere): the file it leads to is restored, the link
    // stays a link.
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    let (ok, err) = cli(&[
        "restore",
        "--from",
        out.to_str().unwrap(),
        "--db",
        link.to_str().unwrap(),
        "--force",
    ]);
    assert!(ok, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(ids_in(&db).len(), 2);
}

#[test]
fn a_wrong_database_file_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "my notes, not a database").unwrap();
    let err = refused_start(&text);
    assert!(err.contains("not a SQLite database"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "my notes, not a database"
    );

    // A copy that left its log behind: an empty database beside a -wal.
    let copy = dir.path().join("copy.db");
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("VACUUM")
        .unwrap();
    std::fs::write(dir.path().join("copy.db-wal"), b"leftover").unwrap();
    let err = refused_start(&copy);
    assert!(err.contains("write-ahead log"), "{err}");
    assert!(!err.contains("admin token"), "no fresh database: {err}");
}

#[test]
fn postgres_backs_up_with_pg_dump_and_restores() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    // The server's URL names its own `application_name`: still seen as using the database.
    let served_url = format!("{url}?application_name=blog-replica");
    let server = Server::start(Path::new(&served_url), &model(), &[]);
    let ids: Vec<i64> = (0..5).filter_map(|n| post(&server.base, n)).collect();
    assert_eq!(ids.len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        &["backup", "--db", &url, "--out", "pg.dump"],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    // Not under a running server, even with --force: what it acknowledged after the swap would
    // be lost; not over comments without --force.
    let restore = |force: bool| {
        let mut args = vec!["restore", "--db", &url, "--from", "pg.dump"];
        if force {
            args.push("--force");
        }
        common::run(&args, None, dir.path())
    };
    let out = restore(true);
    let said = common::text(&out.stderr);
    assert!(
        !out.status.success() && said.contains("in use by"),
        "{said}"
    );
    assert!(
        post(&server.base, 6).is_some(),
        "the server kept its database"
    );
    server.stop();
    let out = restore(false);
    let said = common::text(&out.stderr);
    assert!(
        !out.status.success() && said.contains("already holds 6 comments"),
        "{said}"
    );
    let out = restore(true);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let count = cluster.psql(&url, "SELECT count(*) FROM comments");
    assert_eq!(
        count.trim(),
        "5",
        "the backup's five, the later one replaced"
    );
    let fresh = cluster.database();
    let out = common::run(
        &["restore", "--db", &fresh, "--from", "pg.dump"],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let ids_text = cluster.psql(
        &fresh,
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM comments",
    );
    let restored: Vec<i64> = ids_text
        .trim()
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(restored, ids);
}
