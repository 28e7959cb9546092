//! The server under storage and model faults: a full disk, a database whose filesystem turns
//! read-only, a missing model file at start, a truncated model on reload. Each time the user gets
//! a clear answer, the server goes on serving what it can, and nothing stored is damaged.
//!
//! The disk faults use a small tmpfs mounted for the test (`mount` needs root or CAP_SYS_ADMIN,
//! which CI has), so the errors are the kernel's own ENOSPC and EROFS, not simulations.

use crate::common;

use common::{Server, agent, model};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const ARTICLE: &str = "alibaba-olympic-partner";

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
struct SmallDisk {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: these tests need root (or CAP_SYS_ADMIN), as in CI"
        );
        SmallDisk { _dir: dir, path }
    }

    fn remount(&self, mode: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn post_json(server: &Server, content: &str) -> (u16, Value, Option<String>) {
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let mut response = agent()
        .post(&url)
        .send_json(json!({
            "comment_content": content,
            "comment_author": "Ana",
            "comment_author_email": "ana@example.org",
        }))
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (response.status().as_u16(), json, retry)
}

fn post_form(server: &Server, content: &str) -> (u16, String) {
    let url = server.url(&format!("/articles/{ARTICLE}/comments"));
    let mut response = agent()
        .post(&url)
        .send_form([
            ("comment", content),
            ("author", "Ben"),
            ("email", "ben@example.org"),
        ])
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

fn get(server: &Server, path: &str) -> (u16, String) {
    let mut response = agent().get(&server.url(path)).call().unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

/// A ham comment that differs from every other one (the duplicate check would refuse repeats).
fn ham(i: usize, padding: usize) -> String {
    format!(
        "Interesting deal number {i}, I wonder how big the cloud contract with the IOC really is. {}",
        "and the data centres too ".repeat(padding)
    )
    .trim_end()
    .to_string()
}

/// Every comment acknowledged with 201 is in the database, intact, and the file is sound.
fn assert_stored(db: &Path, acknowledged: &[(i64, String)]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    for (id, content) in acknowledged {
        let stored: String = conn
            .query_row("SELECT content FROM comments WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("acknowledged comment {id} is missing: {e}"));
        assert_eq!(&stored, content);
    }
}

#[test]
fn full_disk_refuses_new_comments_clearly_and_recovers() {
    let disk = SmallDisk::mount("3m");
    let db = disk.path.join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let content = ham(i, 4);
        let (status, body, _) = post_json(&server, &content);
        assert_eq!(status, 201, "{body}");
        acknowledged.push((body["id"].as_i64().unwrap(), content));
    }

    // Fill the disk to the last byte.
    let filler = disk.path.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if file.write_all(&block).is_err() {
                break;
            }
        }
        let mut byte = [0u8; 1];
        while file.write_all(&byte).is_ok() {
            byte[0] = byte[0].wrapping_add(1);
        }
        let _ = file.sync_all();
    }

    // SQLite may still fit a few comments into pages its files already have; then it must refuse.
    let mut refused = None;
    for i in 5..400 {
        let content = ham(i, 40);
        let (status, body, retry) = post_json(&server, &content);
        match status {
            201 => acknowledged.push((body["id"].as_i64().unwrap(), content)),
            503 => {
                refused = Some((body, retry));
                break;
            }
            other => panic!("comment {i} on a full disk: {other} {body}"),
        }
    }
    let (body, retry) = refused.expect("a full disk refuses comments");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("disk is full"), "{message}");
    assert!(message.contains("Nothing was stored"), "{message}");
    assert_eq!(retry.as_deref(), Some("60"));

    // The form shows the same reason and keeps the text; the page and the API still read.
    let typed = "A comment typed while the disk was full, please keep it";
    let (status, page) = post_form(&server, typed);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("disk is full"), "{page}");
    assert!(page.contains(typed), "the text is back in the form");
    let (status, page) = get(&server, &format!("/articles/{ARTICLE}"));
    assert_eq!(status, 200);
    assert!(page.contains("Interesting deal number 0"));
    let (status, health) = get(&server, "/healthz");
    assert_eq!(status, 200, "reads are healthy");
    assert!(
        health.contains("\"degraded\"") && health.contains("disk-full"),
        "monitoring is told: {health}"
    );

    // Space comes back: comments are taken again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (_, health) = get(&server, "/healthz");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let content = ham(1000, 1);
    let (status, body, _) = post_json(&server, &content);
    assert_eq!(status, 201, "{body}");
    acknowledged.push((body["id"].as_i64().unwrap(), content));
    server.stop();
    assert_stored(&db, &acknowledged);
}

/// A filesystem cannot be made read-only under a process that has files open on it for writing
/// (EBUSY), so the read-only case is a restart on a database whose filesystem became read-only.
#[test]
fn read_only_database_serves_what_is_stored_and_refuses_writes() {
    let disk = SmallDisk::mount("16m");
    let db = disk.path.join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let content = ham(i, 1);
        let (status, body, _) = post_json(&server, &content);
        assert_eq!(status, 201, "{body}");
        acknowledged.push((body["id"].as_i64().unwrap(), content));
    }
    server.stop();

    disk.remount("ro");
    let server = Server::start(&db, &model(), &[]);
    let (status, page) = get(&server, &format!("/articles/{ARTICLE}"));
    assert_eq!(status, 200);
    assert!(
        page.contains("Interesting deal number 2"),
        "stored comments are shown"
    );
    let (status, body, retry) = post_json(&server, &ham(10, 1));
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("read-only"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("60"));
    let typed = "Typed while the database was read-only";
    let (status, page) = post_form(&server, typed);
    assert_eq!(status, 503);
    assert!(page.contains("read-only") && page.contains(typed), "{page}");
    // Moderation is a write too: refused the same way, nothing changed.
    let url = server.url(&format!(
        "/api/v1/admin/comments/{}/spam",
        acknowledged[0].0
    ));
    let response = agent()
        .post(&url)
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .send_empty()
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    server.stop();

    disk.remount("rw");
    let server = Server::start(&db, &model(), &[]);
    let content = ham(11, 1);
    let (status, body, _) = post_json(&server, &content);
    assert_eq!(status, 201, "{body}");
    acknowledged.push((body["id"].as_i64().unwrap(), content));
    server.stop();
    assert_stored(&db, &acknowledged);
}

fn admin_reload(server: &Server) -> (u16, Value) {
    let mut response = agent()
        .post(&server.url("/api/v1/admin/model/reload"))
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .send_empty()
        .unwrap();
    let body = response.body_mut().read_to_string().unwrap();
    (
        response.status().as_u16(),
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[test]
fn missing_model_at_start_serves_with_the_shipped_model_until_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("models/custom.rgm");
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model_path, &[]);

    let (status, health) = get(&server, "/healthz");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["model"]["source"], "shipped");
    let problem = health["model"]["problem"].as_str().unwrap();
    assert!(problem.contains("custom.rgm"), "{problem}");
    let (status, _) = get(&server, &format!("/articles/{ARTICLE}"));
    assert_eq!(status, 200);
    let (status, body, _) = post_json(&server, &ham(1, 0));
    assert_eq!(status, 201, "comments are still filtered: {body}");
    assert_eq!(body["status"], "published");

    // A truncated file is refused by reload; the stand-in keeps serving.
    std::fs::create_dir_all(model_path.parent().unwrap()).unwrap();
    let good = std::fs::read(model()).unwrap();
    std::fs::write(&model_path, &good[..good.len() / 2]).unwrap();
    let (status, body) = admin_reload(&server);
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("custom.rgm"), "{body}");
    let (status, _, _) = post_json(&server, &ham(2, 0));
    assert_eq!(status, 201);

    // The fixed file is picked up without a restart.
    std::fs::write(&model_path, &good).unwrap();
    let (status, body) = admin_reload(&server);
    assert_eq!(status, 200, "{body}");
    let (_, health) = get(&server, "/healthz");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["model"]["source"], "file");

    // And a truncated file later leaves the good model serving.
    std::fs::write(&model_path, &good[..100]).unwrap();
    let (status, _) = admin_reload(&server);
    assert!((400..500).contains(&status));
    let (_, health) = get(&server, "/healthz");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["model"]["source"], "file", "{health}");
    let (status, _, _) = post_json(&server, &ham(3, 0));
    assert_eq!(status, 201);
}

/// Damage in the middle of the database file (a page no start-up query reads) is found by the
/// check every server runs after it starts: `/healthz` says `degraded`, `database: damaged`, and
/// names the problem, while the server keeps serving.
#[test]
fn a_damaged_page_in_the_middle_of_the_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    {
        let server = Server::start(&db, &model(), &["--flood-seconds", "0"]);
        let resp = agent()
            .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
            .send_json(
                serde_json::json!({"comment_content": "A first comment to copy.",
                "comment_author": "Ana", "comment_author_email": "ana@example.org"}),
            )
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
    }
    {
        // Thousands of comments, so the file has pages no start-up query touches.
        let conn = rusqlite::Connection::open(&db).unwrap();
        for _ in 0..12 {
            conn.execute_batch(
                "INSERT INTO comments (article, parent_id, author, author_email, author_url, content, \
                 user_ip, user_agent, referrer, status, verdict, spam_probability, clues, model_version, \
                 source, created_at, site_id) SELECT article, parent_id, author, author_email, author_url, \
                 hex(randomblob(600)), user_ip, user_agent, referrer, status, verdict, spam_probability, \
                 clues, model_version, 'import', created_at, site_id FROM comments",
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let len = std::fs::metadata(&db).unwrap().len();
    let page = 4096;
    let middle = (len / page / 2) * page;
    assert!(
        middle > 10 * page,
        "the database is too small to damage safely ({len} bytes)"
    );
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        file.seek(SeekFrom::Start(middle)).unwrap();
        file.write_all(&vec![0xAB; page as usize]).unwrap();
    }
    let server = Server::start(&db, &model(), &[]);
    let started = std::time::Instant::now();
    loop {
        let mut resp = agent().get(&server.url("/healthz")).call().unwrap();
        let health: serde_json::Value = resp.body_mut().read_json().unwrap();
        if health["database"] == "damaged" {
            assert_eq!(health["status"], "degraded");
            assert!(
                health["database_problem"]
                    .as_str()
                    .is_some_and(|p| !p.is_empty()),
                "{health}"
            );
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the damage was not reported: {health}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Still serving the pages.
    let page = agent().get(&server.url("/")).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

/// The database file deleted while the server runs (an `rm` in the wrong directory, a cleanup
/// script): SQLite would go on writing to the open, unlinked file, acknowledging comments no one
/// could open again, and the next start would make a fresh database over the orphaned log. Now
/// writes are refused with 503, `/healthz` names the problem, and the next start refuses.
#[test]
fn a_database_deleted_while_serving_refuses_writes_and_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &["--flood-seconds", "0"]);
    let (status, _, _) = post_json(&server, &ham(1, 0));
    assert_eq!(status, 201);
    std::fs::remove_file(&db).unwrap();

    let (status, body, _) = post_json(&server, &ham(2, 0));
    assert_eq!(status, 503, "{body}");
    let (status, health) = get(&server, "/healthz");
    assert_eq!(status, 503, "{health}");
    assert!(health.contains("was deleted"), "{health}");
    // Reads still come from the file as it was opened.
    let (status, page) = get(&server, &format!("/articles/{ARTICLE}"));
    assert_eq!(status, 200);
    assert!(page.contains(&ham(1, 0)[..30]));
    // Stopped cleanly (SIGTERM), it leaves the log as it is: merged into the deleted file, it
    // would be empty, and the next start would begin anew.
    server.terminate();
    let wal = dir.path().join("rg.db-wal");
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0));
    let mut start = common::bin()
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = start.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = start.kill();
            panic!("serve started a fresh database over the orphaned log");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut start.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("write-ahead log"), "{stderr}");
    assert!(!db.exists(), "nothing was created over the log");
}

/// A new database and its log are readable by their owner only (they hold commenters' e-mail
/// and network addresses), whatever the umask of the shell that started the server: the quick
/// start made them `-rw-r--r--`.
#[test]
fn a_new_database_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let (status, _, _) = post_json(&server, &ham(3, 0));
    assert_eq!(status, 201);
    for file in ["rg.db", "rg.db-wal"] {
        let mode = std::fs::metadata(dir.path().join("data").join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file}: {mode:o}");
    }
}
