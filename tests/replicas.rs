//! Two replicas of the real binary on one PostgreSQL database (a private cluster per test): they
//! behave as one service — pages, moderation, sessions, flood limits and learning — and a
//! PostgreSQL restart costs 503s with `Retry-After`, never an acknowledged comment.

use crate::common;

use common::postgres::PgCluster;
use common::{Server, TOKEN, agent, model};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const ARTICLE: &str = "alibaba-olympic-partner";
const HAM: &str = "Interesting deal, I wonder how big the cloud contract with the IOC really is.";

fn get(url: &str) -> (u16, String) {
    let mut resp = agent().get(url).call().unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

fn post_json(url: &str, body: &Value) -> (u16, Value, Option<String>) {
    let mut resp = agent().post(url).send_json(body).unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        retry,
    )
}

fn admin(url: &str) -> (u16, Value) {
    let mut resp = agent()
        .post(url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new Akismet key for https://blog.example.com in the database at `url` (`extra`: more
/// `keys add` flags).
fn add_key(dir: &Path, url: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "keys",
        "--db",
        url,
        "add",
        "--blog",
        "https://blog.example.com",
    ];
    args.extend_from_slice(extra);
    common::succeeds(dir, &args).trim().to_string()
}

/// An Akismet call (`path`) with `key`, a reader's address and `text`, whatever its status.
fn akismet(server: &Server, path: &str, key: &str, text: &str) -> ureq::http::Response<ureq::Body> {
    agent()
        .post(&server.url(path))
        .config()
        .http_status_as_error(false)
        .build()
        .send_form([
            ("api_key", key),
            ("blog", "https://blog.example.com"),
            ("user_ip", "203.0.113.9"),
            ("comment_author", "Reader"),
            ("comment_content", text),
        ])
        .unwrap()
}

fn comment(content: &str, author: &str) -> Value {
    json!({"comment_content": content, "comment_author": author,
           "comment_author_email": format!("{}@example.org", author.to_lowercase())})
}

/// Polls `check` for up to two seconds (a change notification crosses replicas in milliseconds).
fn eventually(what: &str, check: impl FnMut() -> bool) -> Duration {
    within(Duration::from_secs(2), what, check)
}

fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{what}: not within {limit:?}");
}

fn page(server: &Server) -> String {
    get(&server.url(&format!("/articles/{ARTICLE}"))).1
}

#[test]
fn replicas_on_one_database_behave_as_one_service() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let a = Server::start(Path::new(&url), &model(), &[]);
    let b = Server::start(Path::new(&url), &model(), &[]);

    // B caches its page; a comment posted on A shows on it.
    assert!(!page(&b).contains("cloud contract"));
    let api_a = a.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, posted, _) = post_json(&api_a, &comment(HAM, "Ana"));
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["status"], "published");
    eventually("A's comment on B's cached page", || {
        page(&b).contains("cloud contract")
    });

    // Held on A, approved on B, shown on A's page.
    let held_text = "Does the contract cover the Paris games as well, or only the winter ones?";
    let (status, held, _) = post_json(
        &api_a,
        &json!({"comment_content": held_text, "comment_author": "Bo",
                "comment_author_email": "bo@example.org", "comment_author_url": "https://cheap-flights.example/"}),
    );
    assert_eq!(status, 201, "{held}");
    let id = held["id"].as_i64().unwrap();
    if held["status"] != "published" {
        assert!(!page(&a).contains("Paris games"));
        let (status, approved) = admin(&b.url(&format!("/api/v1/admin/comments/{id}/approve")));
        assert_eq!(status, 200, "{approved}");
    }
    eventually("B's moderation on A's page", || {
        page(&a).contains("Paris games")
    });
    // Trashed on B: gone from A's page.
    let (status, _) = admin(&b.url(&format!("/api/v1/admin/comments/{id}/trash")));
    assert_eq!(status, 200);
    eventually("B's trash on A's page", || {
        !page(&a).contains("Paris games")
    });

    // A moderator signed in on A is signed in on B.
    let cookie = a.admin_session();
    let mut resp = agent()
        .get(&b.url("/admin"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.body_mut().read_to_string().unwrap();
    assert!(body.contains("Sign out"), "signed in on B: {body}");

    // The stored-comment gauge reads the database: both replicas count both comments.
    for server in [&a, &b] {
        let metrics = get(&server.url("/metrics")).1;
        assert!(
            metrics.contains("replyguard_stored_comments{status=\"published\"} 1"),
            "{metrics}"
        );
    }

    // Closed from the CLI, a process that exits at once: both replicas' cached pages follow.
    let close = |verb: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = common::run(
            &[
                "sites",
                verb,
                "default",
                &format!("/articles/{ARTICLE}"),
                "--db",
                &url,
            ],
            None,
            dir.path(),
        );
        assert!(out.status.success(), "{}", common::text(&out.stderr));
    };
    close("close");
    for server in [&a, &b] {
        eventually("the closed article on every replica", || {
            page(server).contains("Comments are closed on this article.")
        });
    }
    close("open");
    eventually("the article open again", || {
        page(&b).contains("Leave a Reply")
    });
    a.stop();
    b.stop();
}

#[test]
fn a_flood_from_one_address_is_refused_on_every_replica() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let a = Server::start(Path::new(&url), &model(), &["--flood-seconds", "60"]);
    let b = Server::start(Path::new(&url), &model(), &["--flood-seconds", "60"]);
    let api = |s: &Server| s.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, first, _) = post_json(&api(&a), &comment(HAM, "Ana"));
    assert_eq!(status, 201, "{first}");
    let (status, second, _) = post_json(
        &api(&b),
        &comment("And another thing about the contract.", "Ana"),
    );
    assert_eq!(status, 429, "the flood check is shared: {second}");
    let (status, _, _) = post_json(&api(&a), &comment("A third one, straight away.", "Ana"));
    assert_eq!(status, 429);
}

#[test]
fn postgres_restart_answers_503_and_loses_nothing() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let key = add_key(dir.path(), &url, &[]);
    let a = Server::start(Path::new(&url), &model(), &[]);
    let api = a.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, _, _) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 201);
    let cached = page(&a);
    assert!(cached.contains("cloud contract"));

    cluster.stop_server();
    let (status, body, retry) =
        post_json(&api, &comment("Posted while the database is down.", "Cy"));
    assert_eq!(status, 503, "{body}");
    assert!(retry.is_some(), "503 says when to retry");
    let (status, health) = get(&a.url("/healthz"));
    assert_eq!(status, 503, "{health}");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["database"], "unavailable");
    assert!(
        health["database_problem"]
            .as_str()
            .is_some_and(|p| !p.is_empty()),
        "says why: {health}"
    );
    // A reader's form post gets a page with why and what they typed, never the API's JSON.
    let typed = "Typed while the database was down, please keep it";
    let mut resp = agent()
        .post(&a.url(&format!("/articles/{ARTICLE}/comments")))
        .config()
        .http_status_as_error(false)
        .build()
        .send_form([
            ("comment", typed),
            ("author", "Eve"),
            ("email", "eve@example.org"),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let content_type = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let shown = resp.body_mut().read_to_string().unwrap();
    assert!(
        shown.contains(typed) && shown.contains("Nothing was stored"),
        "{shown}"
    );
    // Akismet's clients too are told to hold the comment and try again, not that the key is
    // bad (`invalid`).
    for path in ["/1.1/comment-check", "/1.1/verify-key"] {
        let resp = akismet(&a, path, &key, "Checked while the database is down.");
        assert_eq!(resp.status().as_u16(), 503, "{path}");
        assert!(resp.headers().get("retry-after").is_some(), "{path}");
    }
    // The page it had cached is still served.
    let (status, still) = get(&a.url(&format!("/articles/{ARTICLE}")));
    assert_eq!(status, 200);
    assert!(still.contains("cloud contract"));

    cluster.start_server();
    // The replica recovers by itself.
    within(
        Duration::from_secs(10),
        "a write after the database is back",
        || {
            let (status, body, _) =
                post_json(&api, &comment("Posted after the database came back.", "Di"));
            if status == 201 {
                true
            } else {
                assert_eq!(status, 503, "only 503 while recovering: {body}");
                false
            }
        },
    );
    let list = get(&a.url(&format!("/api/v1/articles/{ARTICLE}/comments"))).1;
    assert!(list.contains("cloud contract") && list.contains("came back"));
    assert!(
        !list.contains("while the database is down"),
        "a refused comment is not stored"
    );
    assert_eq!(
        cluster.psql(
            &url,
            "SELECT count(*) FROM comments WHERE content LIKE '%database is down%'"
        ),
        "0"
    );
}

/// `replyguard migrate` copies a SQLite site into PostgreSQL: comments with their threads and
/// statuses, the moderation history and learning log, keys; the replicas carry on from there.
#[test]
fn migrate_copies_a_sqlite_site_into_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("rg.db");
    let out = common::run(
        &[
            "keys",
            "--db",
            sqlite.to_str().unwrap(),
            "add",
            "--blog",
            "https://blog.example.com",
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let key = common::text(&out.stdout).trim().to_string();
    let old = Server::start(&sqlite, &model(), &[]);
    let api = old.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (_, first, _) = post_json(&api, &comment(HAM, "Ana"));
    let mut reply = comment("Good question, I would like to know as well.", "Bo");
    reply["comment_parent"] = first["id"].clone();
    let (status, reply, _) = post_json(&api, &reply);
    assert_eq!(status, 201, "{reply}");
    let (_, spam, _) = post_json(
        &api,
        &comment("Cheap pills here, best price, no prescription.", "Pills"),
    );
    let spam_id = spam["id"].as_i64().unwrap();
    // A decision that teaches: the comment marked as spam by a moderator.
    if spam["status"] != "spam" {
        let (status, _) = admin(&old.url(&format!("/api/v1/admin/comments/{spam_id}/spam")));
        assert_eq!(status, 200);
    }
    let (status, _) = admin(&old.url(&format!("/api/v1/admin/comments/{spam_id}/approve")));
    assert_eq!(status, 200);
    let before = page(&old);
    old.stop();
    // A second site with its origin.
    let out = common::run(
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            "https://blog.example.com",
            "--db",
            sqlite.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let outbox_rows: i64 = rusqlite::Connection::open(&sqlite)
        .unwrap()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();

    let mut cluster = PgCluster::start();
    let url = cluster.database();
    // A replica started on the new database before the copy (it keeps its own admin token's
    // hash there): while it runs the copy is refused; stopped, the copy goes in, the site's
    // settings replacing the start-up ones.
    let early = Server::start(Path::new(&url), &model(), &[]);
    let refused = common::run(
        &["migrate", "--from", sqlite.to_str().unwrap(), "--to", &url],
        None,
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(common::text(&refused.stderr).contains("in use by a replyguard replica"));
    early.stop();
    let out = common::run(
        &["migrate", "--from", sqlite.to_str().unwrap(), "--to", &url],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("comments"));
    // Copying into a database that already holds a site is refused.
    let again = common::run(
        &["migrate", "--from", sqlite.to_str().unwrap(), "--to", &url],
        None,
        dir.path(),
    );
    assert!(!again.status.success());
    assert!(common::text(&again.stderr).contains("empty database"));

    let count = |sql: &str| cluster.psql(&url, sql);
    assert_eq!(count("SELECT count(*) FROM comments"), "3");
    // Sites and origins come along; the copy writes no notification of its own (old comments
    // are not news): the outbox is the source's.
    assert_eq!(
        count("SELECT string_agg(name, ',' ORDER BY id) FROM sites"),
        "default,blog"
    );
    assert_eq!(
        count("SELECT origin FROM site_origins"),
        "https://blog.example.com"
    );
    assert_eq!(
        count("SELECT count(*) FROM outbox"),
        outbox_rows.to_string()
    );
    assert_eq!(
        count("SELECT count(*) FROM comments WHERE parent_id IS NOT NULL"),
        "1"
    );
    assert!(
        count("SELECT count(*) FROM learning_log")
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    assert!(
        count("SELECT count(*) FROM comment_events")
            .parse::<u32>()
            .unwrap()
            >= 4
    );

    let new = Server::start(Path::new(&url), &model(), &[]);
    let after = page(&new);
    for text in ["cloud contract", "would like to know", "Cheap pills"] {
        assert_eq!(before.contains(text), after.contains(text), "{text}");
    }
    // The key still works, and new comments continue the ids.
    let mut resp = agent()
        .post(&new.url("/1.1/verify-key"))
        .send_form([("key", key.as_str()), ("blog", "https://blog.example.com")])
        .unwrap();
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "valid");
    let (status, next, _) = post_json(
        &new.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        &comment("A first comment on the new database.", "Cy"),
    );
    assert_eq!(status, 201, "{next}");
    assert!(next["id"].as_i64().unwrap() > spam_id);
}

/// Posts from `threads` threads to the replicas in turn until `stop`; returns the texts that were
/// acknowledged (201) and every other HTTP status seen (connection errors to a killed replica
/// are not statuses).
fn post_under_load(
    tag: &'static str,
    apis: Vec<String>,
    threads: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(Vec<String>, Vec<u16>)> {
    std::thread::spawn(move || {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (apis, stop) = (apis.clone(), stop.clone());
                std::thread::spawn(move || {
                    let (mut acked, mut other) = (Vec::new(), Vec::new());
                    let mut i = 0usize;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        let text = format!("load comment {tag}-{t}-{i} about the sponsorship deal");
                        let api = &apis[i % apis.len()];
                        let body = json!({"comment_content": text, "comment_author": format!("Load {t}"),
                                          "comment_author_email": format!("load{tag}{t}-{i}@example.org")});
                        match agent().post(api).send_json(&body) {
                            Ok(resp) if resp.status().as_u16() == 201 => acked.push(text),
                            Ok(resp) => other.push(resp.status().as_u16()),
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                    (acked, other)
                })
            })
            .collect();
        let (mut acked, mut other) = (Vec::new(), Vec::new());
        for w in workers {
            let (a, o) = w.join().unwrap();
            acked.extend(a);
            other.extend(o);
        }
        (acked, other)
    })
}

fn assert_all_stored(cluster: &PgCluster, url: &str, acked: &[String]) {
    let stored = cluster.psql(url, "SELECT content FROM comments");
    let stored: std::collections::HashSet<&str> = stored.lines().collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|t| !stored.contains(t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged comments missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[test]
fn kill_9_of_a_replica_and_a_postgres_restart_under_load_lose_no_acknowledged_comment() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let a = Server::start(Path::new(&url), &model(), &[]);
    let b = Server::start(Path::new(&url), &model(), &[]);
    let api = |s: &Server| s.url(&format!("/api/v1/articles/{ARTICLE}/comments"));

    // One replica killed with SIGKILL in the middle of the load.
    let stop = Arc::new(AtomicBool::new(false));
    let load = post_under_load("kill", vec![api(&a), api(&b)], 8, stop.clone());
    std::thread::sleep(Duration::from_millis(700));
    a.stop();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    let (acked, other) = load.join().unwrap();
    assert!(
        acked.len() > 50,
        "the load ran: {} acknowledged",
        acked.len()
    );
    assert!(
        other.is_empty(),
        "no HTTP error from the survivor: {other:?}"
    );
    assert_all_stored(&cluster, &url, &acked);

    // PostgreSQL restarted in the middle of the load on the surviving replica.
    let stop = Arc::new(AtomicBool::new(false));
    let load = post_under_load("restart", vec![api(&b)], 8, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    cluster.stop_server();
    std::thread::sleep(Duration::from_millis(300));
    cluster.start_server();
    within(
        Duration::from_secs(10),
        "writes resume after the restart",
        || {
            let (status, _, _) = post_json(&api(&b), &comment(HAM, "After"));
            status == 201
        },
    );
    stop.store(true, Ordering::Relaxed);
    let (acked, other) = load.join().unwrap();
    assert!(
        other.iter().all(|s| *s == 503),
        "only 503 while the database restarts: {other:?}"
    );
    assert_all_stored(&cluster, &url, &acked);
}

/// Sites are shared: a site added through one replica's admin API is answered by the other
/// within seconds, and a comment posted to it through one replica is listed by the other.
#[test]
fn replicas_share_sites_and_their_threads() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let a = Server::start(Path::new(&url), &model(), &["--min-form-seconds", "0"]);
    let b = Server::start(Path::new(&url), &model(), &["--min-form-seconds", "0"]);
    let origin = "https://blog.example";
    let mut resp = agent()
        .post(&a.url("/api/v1/admin/sites"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_json(json!({"name": "blog", "origins": [origin]}))
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );
    // The other replica learns of the site from the database (it polls every second). Generous:
    // this binary runs its tests side by side, each with its own cluster, on two cores.
    within(
        Duration::from_secs(20),
        "replica b answers the new origin",
        || {
            let resp = agent()
                .get(&b.url("/isso/config"))
                .header("Origin", origin)
                .call()
                .unwrap();
            resp.status().as_u16() == 200
                && resp.headers().get("access-control-allow-origin").is_some()
        },
    );
    let mut resp = agent()
        .post(&b.url("/isso/new?uri=/shared/"))
        .header("Origin", origin)
        .header("Content-Type", "application/json")
        .send(r#"{"text":"Interesting deal, I wonder how big the cloud contract with the IOC really is.","author":"Ana","title":"Shared"}"#)
        .unwrap();
    let status = resp.status().as_u16();
    assert!(
        status == 201 || status == 202,
        "{status} {}",
        resp.body_mut().read_to_string().unwrap()
    );
    let listed = agent()
        .get(&a.url("/api/v1/admin/comments?status=held&site=blog"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let published = agent()
        .get(&a.url("/isso/?uri=/shared/"))
        .header("Origin", origin)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        listed.contains("cloud contract") || published.contains("cloud contract"),
        "replica a does not see the comment posted through b: {listed} {published}"
    );
}

/// A model reload asked of one replica (what a load balancer does with the API call) reaches
/// every replica on the database: each loads its own model file again within a second or two.
#[test]
fn a_model_reload_reaches_every_replica() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served.rgm");
    std::fs::copy(model(), &served).unwrap();
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let a = Server::start(Path::new(&url), &served, &[]);
    let b = Server::start(Path::new(&url), &served, &[]);
    let version = |s: &Server| -> String {
        let (_, health) = get(&s.url("/healthz"));
        let health: Value = serde_json::from_str(&health).unwrap();
        health["model"]["version"].as_str().unwrap().to_string()
    };
    let before = version(&b);
    // A newly trained model takes the file's place (as `train --out` on each machine would).
    let files = common::write_fixtures(dir.path());
    let fresh = dir.path().join("fresh.rgm");
    let mut args = vec![
        "train",
        "--out",
        fresh.to_str().unwrap(),
        "--calibration-folds",
        "3",
    ];
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    common::succeeds(dir.path(), &args);
    std::fs::rename(&fresh, &served).unwrap();
    let (status, reloaded) = admin(&a.url("/api/v1/admin/model/reload"));
    assert_eq!(status, 200, "{reloaded}");
    let now = reloaded["model_version"].as_str().unwrap().to_string();
    assert_ne!(now, before);
    assert_eq!(version(&a), now);
    within(Duration::from_secs(5), "the other replica's reload", || {
        version(&b) == now
    });
}

/// An Akismet key's monthly quota counts every replica's checks: a replica that has been idle
/// since its own last check reads the others' calls again (it had kept its old total for good),
/// so its `usage-limit` is right and it refuses the check past the quota.
#[test]
fn an_akismet_quota_counts_every_replicas_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    let key = add_key(dir.path(), &url, &["--quota", "3"]);
    let a = Server::start(
        Path::new(&url),
        &model(),
        &["--flood-seconds", "0", "--rate-limit", "0"],
    );
    let b = Server::start(
        Path::new(&url),
        &model(),
        &["--flood-seconds", "0", "--rate-limit", "0"],
    );
    let check = |s: &Server, n: u32| -> u16 {
        let text = format!("Question {n} about the winter schedule, anyone?");
        akismet(s, "/1.1/comment-check", &key, &text)
            .status()
            .as_u16()
    };
    let usage = |s: &Server| -> i64 {
        let mut resp = agent()
            .get(&s.url(&format!("/1.2/usage-limit?api_key={key}")))
            .call()
            .unwrap();
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        body["usage"].as_i64().unwrap()
    };
    assert_eq!(check(&b, 1), 200);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(check(&a, 2), 200);
    assert_eq!(check(&a, 3), 200);
    within(Duration::from_secs(5), "b seeing a's calls", || {
        usage(&b) == 3
    });
    assert_eq!(check(&b, 4), 429, "the fourth check of a quota of 3");
}
