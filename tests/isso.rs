//! Isso's own, unchanged widget against replyguard's Isso-compatible API, in headless Chromium:
//! a static page on another origin loads `embed.min.js` and `count.min.js` from the PyPI package
//! `isso` 0.14.0 (installed by `tests/setup.sh`, never vendored) with `data-isso` pointing at
//! replyguard's `/isso/`. A reader posts, replies, edits and deletes their own comment; counts
//! show on an index page; spam is not shown; payloads in every field stay text; a page on an
//! origin no site lists is refused and nothing is stored. The HTTP contract (preflight,
//! credentials, CSRF guard, unknown threads) is checked on the socket as well.

use crate::common;

use common::browser::{Driver, WAIT, browser, click, type_into, wait_for, wait_text};
use common::static_site::{Page, StaticSite};
use common::{Server, agent, model, refused, stored_comments, succeeds};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A reader's name that is markup if anything puts it in a page unescaped.
const FLO: &str = "Flo <img src=x onerror=alert(42)> & Co";
const HAM: &str = "Thanks for the write-up, the part about the build cache saved me an afternoon.";
const REPLY: &str = "Glad it helped, the cache settings changed in the last release too.";
const EDITED: &str = "Edited: the part about the build cache saved me a whole afternoon.";
const SPAM: &str = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz";

/// Where pip put Isso's client scripts.
fn isso_js() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import isso, os; print(os.path.join(os.path.dirname(isso.__file__), 'js'))",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "the Isso package is missing: run `sh tests/setup.sh` ({})",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The static site: an article page with Isso's widget and an index page with its counter,
/// both pointing at replyguard's `/isso/`, and Isso's own scripts.
async fn static_site() -> StaticSite {
    let js = isso_js();
    let embed = std::fs::read(js.join("embed.min.js")).expect("embed.min.js");
    let count = std::fs::read(js.join("count.min.js")).expect("count.min.js");
    StaticSite::start(vec![
        ("/posts/build-caches/", Page::Html(article)),
        ("/", Page::Html(index)),
        ("/js/embed.min.js", Page::File("text/javascript", embed)),
        ("/js/count.min.js", Page::File("text/javascript", count)),
    ])
    .await
}

fn article(server: &str) -> String {
    let endpoint = format!("{server}isso/");
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Build caches</title></head>\
         <body><h1>Build caches</h1><p>An article.</p>\
         <script data-isso=\"{endpoint}\" src=\"/js/embed.min.js\"></script>\
         <section id=\"isso-thread\" data-title=\"Build caches\"></section></body></html>"
    )
}

fn index(server: &str) -> String {
    let endpoint = format!("{server}isso/");
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Blog</title></head><body>\
         <a id=\"post\" href=\"/posts/build-caches/#isso-thread\">Comments</a>\
         <a id=\"empty\" href=\"/posts/empty/#isso-thread\">Comments</a>\
         <script data-isso=\"{endpoint}\" src=\"/js/count.min.js\"></script></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn issos_own_widget_posts_replies_edits_deletes_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let site = static_site().await;
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--min-form-seconds", "0", "--site-origin", &site.base],
    );
    site.serve_for(&server.base);

    let driver = Driver::start();
    let client = browser(&driver, true, &dir.path().join("profile")).await;
    let page = format!("{}/posts/build-caches/", site.base);
    client.goto(&page).await.unwrap();
    wait_for(&client, "//div[@class='isso-postbox']").await;

    // Post a comment: published, shown at once.
    type_into(&client, "#isso-thread > .isso-postbox .isso-textarea", HAM).await;
    type_into(&client, "#isso-postbox-author", "Ana").await;
    type_into(&client, "#isso-postbox-email", "ana@example.org").await;
    click(&client, "#isso-thread > .isso-postbox input[type=submit]").await;
    wait_text(&client, HAM, true).await;

    // Reply to it: nested under it.
    click(&client, ".isso-comment .isso-reply").await;
    let reply_box = ".isso-comment > .isso-text-wrapper > .isso-postbox";
    wait_for(
        &client,
        "//div[@class='isso-text-wrapper']/div[@class='isso-postbox']",
    )
    .await;
    type_into(&client, &format!("{reply_box} .isso-textarea"), REPLY).await;
    click(&client, &format!("{reply_box} input[type=submit]")).await;
    wait_for(
        &client,
        &format!("//div[@class='isso-follow-up']//div[@class='isso-text'][contains(., '{REPLY}')]"),
    )
    .await;

    // Reload: both are there, the reply nested.
    client.goto(&page).await.unwrap();
    wait_for(
        &client,
        &format!("//div[@class='isso-follow-up']//div[@class='isso-text'][contains(., '{REPLY}')]"),
    )
    .await;
    wait_text(&client, HAM, true).await;

    // Edit one's own comment (the first one in the page is the top-level one).
    let edit = "#isso-thread .isso-comment-footer .isso-edit";
    click(&client, edit).await;
    wait_for(&client, "//div[contains(@class,'isso-comment')]//textarea").await;
    type_into(&client, "#isso-thread .isso-comment textarea", EDITED).await;
    click(&client, edit).await;
    wait_text(&client, EDITED, true).await;
    client.goto(&page).await.unwrap();
    wait_text(&client, EDITED, true).await;

    // Delete one's own reply (Isso asks to confirm with a second click).
    let reply = ".isso-follow-up .isso-comment";
    click(&client, &format!("{reply} .isso-delete")).await;
    click(&client, &format!("{reply} .isso-delete")).await;
    wait_text(&client, REPLY, false).await;
    client.goto(&page).await.unwrap();
    wait_text(&client, EDITED, true).await;
    wait_text(&client, REPLY, false).await;

    // Spam through the widget: stored for the moderator, never shown.
    type_into(&client, "#isso-thread > .isso-postbox .isso-textarea", SPAM).await;
    type_into(&client, "#isso-postbox-author", "Promo").await;
    click(&client, "#isso-thread > .isso-postbox input[type=submit]").await;
    let started = Instant::now();
    while !stored_comments(&server)
        .iter()
        .any(|c| c["content"] == SPAM && c["status"] != "published")
    {
        assert!(
            started.elapsed() < WAIT,
            "the spam comment was not stored as held or spam"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.goto(&page).await.unwrap();
    wait_text(&client, EDITED, true).await;
    wait_text(&client, "CHECK OUT MY CHANNEL", false).await;

    // XSS payloads in every field stay text.
    let payload = "<img src=x onerror=alert(1)>'\"><script>alert(2)</script>";
    type_into(
        &client,
        "#isso-thread > .isso-postbox .isso-textarea",
        &format!("Great read {payload}"),
    )
    .await;
    type_into(&client, "#isso-postbox-author", &format!("Eve {payload}")).await;
    type_into(
        &client,
        "#isso-postbox-website",
        "https://eve.example/'onmouseover='alert(3)",
    )
    .await;
    click(&client, "#isso-thread > .isso-postbox input[type=submit]").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    client.goto(&page).await.unwrap();
    wait_text(&client, EDITED, true).await;
    assert!(client.get_alert_text().await.is_err(), "a dialog opened");
    let injected = client
        // Only what the server returned: Isso 0.14's own postbox puts the website its reader
        // typed back into `value='…'` unescaped (from localStorage; self-XSS in its client).
        .find_all(Locator::Css(
            "#isso-thread .isso-comment .isso-text img, #isso-thread .isso-comment script, \
             #isso-thread .isso-comment [onmouseover], #isso-thread .isso-comment [onerror]",
        ))
        .await
        .unwrap();
    let mut found = Vec::new();
    for element in &injected {
        found.push(element.html(false).await.unwrap_or_default());
    }
    assert!(
        found.is_empty(),
        "markup from a reader's fields reached the page: {found:?}"
    );

    // Counts on an index page, from count.min.js: the thread's published comments.
    let published = stored_comments(&server)
        .iter()
        .filter(|c| c["status"] == "published" && c["article"] == "/posts/build-caches/")
        .count();
    assert!(published >= 1);
    let expected = match published {
        1 => "One Comment".to_string(),
        n => format!("{n} Comments"),
    };
    client.goto(&format!("{}/", site.base)).await.unwrap();
    let started = Instant::now();
    loop {
        let post = element_text(&client, "post").await;
        let empty = element_text(&client, "empty").await;
        if post == expected && empty == "0 Comments" {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "counts shown: {post:?}, {empty:?}; expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.close().await.unwrap();
}

async fn element_text(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A call to replyguard's `/isso/` as a page of `origin` makes it (JSON, like the widget).
fn call(
    server: &Server,
    method: &str,
    path: &str,
    origin: &str,
    body: Option<&str>,
    cookie: Option<&str>,
) -> (u16, ureq::http::HeaderMap, String) {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(server.url(path))
        .header("Origin", origin)
        .header("Content-Type", "application/json");
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let request = request.body(body.unwrap_or_default().to_string()).unwrap();
    let mut response = agent().run(request).unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, text)
}

#[test]
fn the_api_answers_only_a_sites_own_origins_and_keeps_isso_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let site = "http://blog.test:1313";
    let out = common::run(
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            site,
            "--db",
            db.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);

    // Preflight: the exact origin, with credentials and the headers the widget reads.
    let (status, headers, _) = call(&server, "OPTIONS", "/isso/new?uri=/a/", site, None, None);
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], site);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(
        headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("X-Set-Cookie")
    );

    // The widget's settings from the server: the site's, and nothing that overrides the blog's
    // own `data-isso-avatar` (Isso sends `avatar` only to turn it off for Gravatar).
    let (status, _, body) = call(&server, "GET", "/isso/config", site, None, None);
    assert_eq!(status, 200, "{body}");
    let config: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["config"]["require-author"], false, "{body}");
    assert!(config["config"].get("avatar").is_none(), "{body}");

    // An unknown thread is empty, not missing.
    let (status, _, body) = call(
        &server,
        "GET",
        "/isso/?uri=/nowhere/&nested_limit=5",
        site,
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let thread: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(thread["total_replies"], 0);
    assert_eq!(thread["replies"], serde_json::json!([]));

    // A foreign page is refused and nothing is stored.
    let post = r#"{"text":"Thanks, the benchmark section answered my question about caching.","author":"Ana","email":"ana@example.org","title":"A"}"#;
    for foreign in ["http://evil.test", "null", "http://blog.test:1314"] {
        let (status, headers, body) = call(
            &server,
            "POST",
            "/isso/new?uri=/a/",
            foreign,
            Some(post),
            None,
        );
        assert_eq!(status, 403, "{foreign}: {body}");
        assert!(headers.get("access-control-allow-origin").is_none());
        let why = if foreign == "null" {
            "the page has no origin"
        } else {
            "not an origin of any site"
        };
        assert!(body.contains(why), "{body}");
        assert!(!body.contains("--origin null"), "{body}");
    }
    assert!(
        stored_comments(&server).is_empty(),
        "a refused origin stored a comment"
    );
    // A write that names no page at all (a script posting to the API) belongs to no site.
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(server.url("/isso/new?uri=/a/"))
        .header("Content-Type", "application/json")
        .body(post.to_string())
        .unwrap();
    let mut refused = agent().run(request).unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let why = refused.body_mut().read_to_string().unwrap();
    assert!(why.contains("named no origin"), "{why}");
    assert!(stored_comments(&server).is_empty());

    // A form-encoded (or text/plain) write is Isso's CSRF case: refused.
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(server.url("/isso/new?uri=/a/"))
        .header("Origin", site)
        .header("Content-Type", "text/plain")
        .body(post.to_string())
        .unwrap();
    assert_eq!(agent().run(request).unwrap().status().as_u16(), 403);
    assert!(stored_comments(&server).is_empty());

    // The site's own page posts; the comment lands on the blog site's thread, with its title.
    let (status, headers, body) =
        call(&server, "POST", "/isso/new?uri=/a/", site, Some(post), None);
    assert!(status == 201 || status == 202, "{status} {body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_i64().unwrap();
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("isso-edit-{id}=")))
        .expect("the edit cookie");
    assert!(
        headers["x-set-cookie"]
            .to_str()
            .unwrap()
            .starts_with(&format!("isso-{id}="))
    );
    let stored = stored_comments(&server);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["article"], "/a/");
    assert_ne!(
        stored[0]["site_id"], 1,
        "the comment belongs to the blog site"
    );
    // The e-mail address is never in a public answer.
    assert!(!body.contains("ana@example.org"));

    // Only the author (with the cookie) may edit; an edit into spam is taken off the page.
    let edit = format!("/isso/id/{id}");
    let (status, _, body) = call(
        &server,
        "PUT",
        &edit,
        site,
        Some(r#"{"text":"changed"}"#),
        None,
    );
    assert_eq!(status, 403);
    assert!(body.contains("only its author"), "{body}");
    let spam =
        r#"{"text":"CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz"}"#;
    let (status, _, body) = call(&server, "PUT", &edit, site, Some(spam), Some(&cookie));
    assert_eq!(status, 200, "{body}");
    let stored = stored_comments(&server);
    assert_ne!(
        stored[0]["status"], "published",
        "an edit into spam stays on the page"
    );
    // Another site's page cannot reach the comment even with the cookie.
    let (status, _, _) = call(
        &server,
        "GET",
        &edit,
        "http://evil.test",
        None,
        Some(&cookie),
    );
    assert_eq!(status, 403);
}

/// The real Isso server from PyPI on a free port, with its database at `db`; killed on drop.
struct IssoServer {
    child: std::process::Child,
    url: String,
}

impl IssoServer {
    fn start(dir: &std::path::Path, db: &std::path::Path, moderated: bool) -> IssoServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let config = dir.join(format!("isso-{port}.cfg"));
        std::fs::write(
            &config,
            format!(
                "[general]\ndbpath = {}\nhost = http://127.0.0.1:9/\n[moderation]\nenabled = {moderated}\n\
                 [server]\nlisten = http://127.0.0.1:{port}/\n[guard]\nenabled = false\n",
                db.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys; from isso import main; sys.argv = ['isso', '-c', sys.argv[1], 'run']; main()",
            ])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with the isso package (sh tests/setup.sh)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "Isso did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        IssoServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Posts a comment to Isso's own API; its id.
    fn post(&self, uri: &str, body: Value) -> i64 {
        let mut resp = agent()
            .post(&format!("{}/new?uri={uri}", self.url))
            .header("Content-Type", "application/json")
            .send_json(body)
            .unwrap();
        assert!(resp.status().is_success(), "Isso refused the comment");
        let created: Value = resp.body_mut().read_json().unwrap();
        created["id"].as_i64().unwrap()
    }
}

impl Drop for IssoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_isso_database_is_imported_with_threads_replies_dates_and_states() {
    let dir = tempfile::tempdir().unwrap();
    let isso_db = dir.path().join("comments.db");
    {
        let isso = IssoServer::start(dir.path(), &isso_db, false);
        let first = isso.post(
            "/a/",
            serde_json::json!({"text": "The *second* section made it click for me, thanks.",
                "author": "Ana", "email": "ana@example.org", "title": "Post A"}),
        );
        isso.post(
            "/a/",
            serde_json::json!({"text": "Same here, the diagrams helped a lot.", "author": "Bo",
                "parent": first}),
        );
        isso.post(
            "/b/",
            serde_json::json!({"text": "Is there a follow-up planned?", "title": "Post B"}),
        );
    }
    {
        // Moderated: this one waits in Isso's queue (mode 2).
        let isso = IssoServer::start(dir.path(), &isso_db, true);
        isso.post(
            "/a/",
            serde_json::json!({"text": "A late question about the second section.", "author": "Cy"}),
        );
    }
    // Ana edited hers ten minutes later (what Isso's `PUT /id/N` writes: the time, in Unix
    // seconds).
    rusqlite::Connection::open(&isso_db)
        .unwrap()
        .execute_batch(
            "UPDATE comments SET created = created - 31536000; \
             UPDATE comments SET modified = created + 600 WHERE author = 'Ana';",
        )
        .unwrap();
    let db = dir.path().join("db.sqlite");
    let db_arg = db.to_str().unwrap();
    let site = "http://blog.test";
    let ok = |args: &[&str]| succeeds(dir.path(), args);
    ok(&["sites", "add", "blog", "--origin", site, "--db", db_arg]);
    let model = model();
    // A reader's comment posted through the new widget before the import (the order README's
    // move gives: the widget first, then the history).
    let today = {
        let server = Server::start(&db, &model, &[]);
        isso_new(
            &server,
            site,
            "/b/",
            &serde_json::json!({"text": "Posted on the first day of the move, thanks for the post.",
                    "author": "Dee", "email": "dee@example.org"}),
        )
        .0
    };
    let import = [
        "import",
        "--format",
        "isso",
        "--site",
        "blog",
        isso_db.to_str().unwrap(),
        "--db",
        db_arg,
        "--model",
        model.to_str().unwrap(),
    ];
    let report = ok(&import);
    assert!(
        report.contains("threads (pages of site `blog`): 2"),
        "{report}"
    );
    // A second import of the same database changes nothing.
    let again = ok(&import);
    // --format names what the file must be.
    let json = dir.path().join("comments.json");
    std::fs::write(&json, "[]").unwrap();
    refused(
        dir.path(),
        &[
            "import",
            "--format",
            "isso",
            json.to_str().unwrap(),
            "--db",
            db_arg,
            "--model",
            model.to_str().unwrap(),
        ],
        "is not a Isso database file",
    );
    assert!(again.contains("already"), "{again}");
    // Another site moved from its own Isso has the same comment numbers (Isso counts from 1 in
    // every database): its comments are its own, not "already there".
    ok(&[
        "sites",
        "add",
        "docs",
        "--origin",
        "http://docs.test",
        "--db",
        db_arg,
    ]);
    let other = import.map(|a| if a == "blog" { "docs" } else { a });
    let report = ok(&other);
    assert!(
        report.contains("comments: imported 4") && report.contains("0 already there"),
        "{report}"
    );

    let server = Server::start(&db, &model, &[]);
    let (status, _, body) = call(
        &server,
        "GET",
        "/isso/?uri=/a/&nested_limit=5",
        site,
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let thread: Value = serde_json::from_str(&body).unwrap();
    let replies = thread["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{body}");
    assert!(
        replies[0]["text"]
            .as_str()
            .unwrap()
            .contains("<em>second</em>"),
        "{body}"
    );
    assert_eq!(replies[0]["replies"][0]["author"], "Bo", "{body}");
    assert!(
        replies[0]["created"].as_f64().unwrap() > 1.6e9,
        "the original date is kept"
    );
    let created = replies[0]["created"].as_f64().unwrap();
    assert_eq!(
        replies[0]["modified"]
            .as_f64()
            .map(|m| (m - created).round()),
        Some(600.0),
        "so is the edit's: {body}"
    );
    assert_eq!(replies[0]["replies"][0]["modified"], Value::Null);
    // The year-old history comes before what was posted today, whatever their ids: threads
    // are in the order the comments were written, as in Isso.
    let order = |sort: &str| -> Vec<i64> {
        let path = format!("/isso/?uri=/b/&sort={sort}");
        let (_, _, body) = call(&server, "GET", &path, site, None, None);
        let thread: Value = serde_json::from_str(&body).unwrap();
        let replies = thread["replies"].as_array().cloned().unwrap_or_default();
        replies.iter().filter_map(|c| c["id"].as_i64()).collect()
    };
    let oldest = order("oldest");
    assert_eq!(oldest.len(), 2, "{oldest:?}");
    assert_eq!(oldest[1], today, "{oldest:?}");
    assert_eq!(order("newest")[0], today);
    // Isso's waiting comment waits here too.
    assert!(!body.contains("late question"));
    let all = stored_comments(&server);
    let late = all.iter().find(|c| {
        c["content"]
            .as_str()
            .unwrap_or_default()
            .contains("late question")
    });
    assert_eq!(late.expect("the waiting comment")["status"], "held");
    // The thread keeps the page's title (the feed names it).
    let (_, _, feed) = call(&server, "GET", "/isso/feed?uri=/a/", site, None, None);
    assert!(feed.contains("Post A"), "{feed}");
    // Its links are absolute: the page at the site's address; its id is the page's, unique to
    // the site. Its self link names the site: a feed reader sends no Origin, and follows that.
    assert!(
        feed.contains(&format!(r#"href="{site}/a/" rel="alternate""#)),
        "{feed}"
    );
    assert!(
        feed.contains(&format!("<id>{site}/a/#isso-feed</id>")),
        "{feed}"
    );
    let self_link = server.url("/isso/feed?uri=%2Fa%2F&site=blog");
    assert!(
        feed.contains(&format!(
            r#"href="{}" rel="self""#,
            self_link.replace('&', "&amp;")
        )),
        "{feed}"
    );
    let mut resp = agent().get(&self_link).call().unwrap();
    let followed = resp.body_mut().read_to_string().unwrap();
    assert!(
        followed.contains("Post A") && followed.contains("&lt;em&gt;second&lt;/em&gt;"),
        "{followed}"
    );
    // The site's no-JavaScript thread page links it.
    let page = server.get_text("/sites/blog/thread?uri=/a/");
    assert!(
        page.contains(r#"type="application/atom+xml" title="Recent comments" href="/isso/feed?uri=%2Fa%2F&amp;site=blog""#),
        "{page}"
    );
    let (status, _, _) = call(
        &server,
        "GET",
        "/isso/feed?uri=/a/&site=nosuch",
        site,
        None,
        None,
    );
    assert_eq!(status, 404);
    // Without a site or an Origin (a feed reader), a page two sites have (`blog` and `docs`
    // both imported `/a/`) is the default site's: its page and itself at this server's address.
    let mut resp = agent()
        .get(&server.url("/isso/feed?uri=/a/"))
        .call()
        .unwrap();
    let own = resp.body_mut().read_to_string().unwrap();
    let own_feed = server.url("/isso/feed?uri=%2Fa%2F");
    assert!(
        own.contains(&format!(r#"href="{own_feed}" rel="self""#)),
        "{own}"
    );
    assert!(
        own.contains(&format!("<id>{}#isso-feed</id>", server.url("/a/"))),
        "{own}"
    );
}

/// A site's history goes back to Isso: `export --format isso` writes a database the real Isso
/// server opens and serves, with the thread's title, replies under their top-level comment, a
/// removed comment kept as Isso's placeholder for its reply, the likes counted here, and a voter
/// filter that keeps an author from liking their own comment.
#[test]
fn a_sites_comments_export_to_a_database_the_real_isso_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let db_arg = db.to_str().unwrap();
    let site = "http://blog.test";
    let ok = |args: &[&str]| {
        succeeds(dir.path(), args);
    };
    ok(&["sites", "add", "blog", "--origin", site, "--db", db_arg]);
    // A WordPress blog's history, HTML comments included, brought to the site (the fixture
    // holds one record the import refuses on purpose).
    let wxr = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/wordpress.wxr");
    let model_path = model();
    refused(
        dir.path(),
        &[
            "import",
            wxr.to_str().unwrap(),
            "--site",
            "blog",
            "--db",
            db_arg,
            "--model",
            model_path.to_str().unwrap(),
        ],
        "everything else was imported",
    );
    // Behind a proxy, so a reader other than the authors (X-Forwarded-For) can like.
    let server = Server::start(
        &db,
        &model(),
        &["--min-form-seconds", "0", "--trusted-proxy", "127.0.0.1"],
    );
    let post = |uri: &str, body: Value| -> i64 {
        let (status, _, text) = call(
            &server,
            "POST",
            &format!("/isso/new?uri={uri}"),
            site,
            Some(&body.to_string()),
            None,
        );
        assert_eq!(status, 201, "published: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let first = post(
        "/a/",
        serde_json::json!({"text": "The second section made it click for me, thanks: 5*3*2 = 30.",
            "author": "Ana", "email": "ana@example.org", "title": "Post A"}),
    );
    let reply = post(
        "/a/",
        serde_json::json!({"text": "Same here, the diagrams helped a lot.", "author": "Bo",
            "parent": first}),
    );
    let deeper = post(
        "/a/",
        serde_json::json!({"text": "Agreed with both of you on the diagrams.", "author": "Cy",
            "parent": reply}),
    );
    let removed = post(
        "/b/",
        serde_json::json!({"text": "Is there a follow-up planned?", "author": "Di",
            "title": "Post B"}),
    );
    let answer = post(
        "/b/",
        serde_json::json!({"text": "Yes, next month, on the same topic.", "author": "Ed",
            "parent": removed}),
    );
    let like = agent()
        .post(&server.url(&format!("/isso/id/{first}/like")))
        .header("Origin", site)
        .header("X-Forwarded-For", "198.51.100.7")
        .send_empty()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(like.contains("\"likes\":1"), "{like}");
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{removed}/spam"),
        None,
    );
    assert_eq!(status, 200);
    // Typed into the no-JavaScript thread page's form: plain text, not Markdown.
    let response = agent()
        .post(&server.url("/sites/blog/thread?uri=/c/"))
        .header("Origin", site)
        .send_form([
            ("comment", "Plain here: 5*3*2 = 30, and a_b_c stays a_b_c."),
            ("author", FLO),
            ("email", "flo@example.org"),
            ("url", "https://flo.example/?a=1&b='2'"),
        ])
        .unwrap();
    // Published, held or (its website looks like a tracking link) rejected: the moderator
    // publishes it below either way.
    assert!(
        [200, 303, 403].contains(&response.status().as_u16()),
        "{}",
        response.status()
    );
    let typed = stored_comments(&server)
        .into_iter()
        .find(|c| c["author"] == FLO)
        .and_then(|c| c["id"].as_i64())
        .unwrap();
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{typed}/approve"),
        None,
    );
    assert_eq!(status, 200);

    let exported = dir.path().join("isso.db");
    // A database needs a file.
    refused(
        dir.path(),
        &[
            "export", "--format", "isso", "--site", "blog", "--db", db_arg,
        ],
        "--out",
    );
    refused(
        dir.path(),
        &[
            "export",
            "--format",
            "isso",
            "--site",
            "nosuch",
            "--db",
            db_arg,
            "--out",
            exported.to_str().unwrap(),
        ],
        "no site `nosuch`",
    );
    assert!(!exported.exists(), "a failed export leaves no file");
    let export = || {
        ok(&[
            "export",
            "--format",
            "isso",
            "--site",
            "blog",
            "--db",
            db_arg,
            "--out",
            exported.to_str().unwrap(),
        ])
    };
    export();
    // The password-protected post's comment (a hidden article here) is not given to Isso, which
    // serves any thread to anyone who names it.
    let hidden: i64 = rusqlite::Connection::open(&exported)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM threads WHERE uri LIKE '%members-only%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hidden, 0);

    // Replacing a file keeps its mode (and owner): Isso, as its own user, must still read it.
    std::fs::set_permissions(
        &exported,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    export();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&exported).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o644);
    let isso = IssoServer::start(dir.path(), &exported, false);
    let get = |path: &str| -> Value {
        agent()
            .get(&format!("{}{path}", isso.url))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let a = get("/?uri=/a/&nested_limit=5");
    let top = &a["replies"].as_array().unwrap()[0];
    assert_eq!(top["id"].as_i64(), Some(first), "{a}");
    assert_eq!(top["author"], "Ana", "{a}");
    // Markdown posted through the Isso API is Isso's own text: Isso renders it as replyguard does.
    assert!(
        top["text"]
            .as_str()
            .unwrap()
            .contains("made it click for me, thanks: 5<em>3</em>2 = 30."),
        "{a}"
    );
    // Plain text reads as typed (Isso renders Markdown: the export escapes it).
    let c = get("/?uri=/c/&nested_limit=5");
    assert!(
        c["replies"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Plain here: 5*3*2 = 30, and a_b_c stays a_b_c."),
        "{c}"
    );
    // Name and website are stored escaped, as Isso stores them: its widget puts them in the
    // page as they are, so raw they would be markup on the blog.
    assert_eq!(
        c["replies"][0]["author"], "Flo &lt;img src=x onerror=alert(42)&gt; &amp; Co",
        "{c}"
    );
    assert_eq!(
        c["replies"][0]["website"], "https://flo.example/?a=1&amp;b=&#x27;2&#x27;",
        "{c}"
    );
    assert_eq!(top["likes"], 1, "{a}");
    assert!(top["created"].as_f64().unwrap() > 1.6e9, "{a}");
    // Isso nests one level: the reply to the reply hangs under the top-level comment.
    let under: Vec<i64> = top["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(under, vec![reply, deeper], "{a}");
    // The comment marked spam stays only as the placeholder its reply hangs under.
    let b = get("/?uri=/b/&nested_limit=5");
    let placeholder = &b["replies"].as_array().unwrap()[0];
    assert_eq!(placeholder["id"].as_i64(), Some(removed), "{b}");
    assert_eq!(placeholder["mode"], 4, "{b}");
    assert!(!b.to_string().contains("follow-up planned"), "{b}");
    assert_eq!(
        placeholder["replies"][0]["id"].as_i64(),
        Some(answer),
        "{b}"
    );
    // Isso's own counter and titles read the threads.
    let counts: Value = agent()
        .post(&format!("{}/count", isso.url))
        .send_json(serde_json::json!(["/a/", "/b/"]))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(counts, serde_json::json!([3, 1]));
    // The author's address is in the voter filter: their own like does not count.
    let liked: Value = agent()
        .post(&format!("{}/id/{first}/like", isso.url))
        .send_empty()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(liked["likes"], 1, "{liked}");
    // No e-mail address is in what Isso serves.
    assert!(!a.to_string().contains("ana@example.org"));
    // The imported post's comments, under the path of its address: their HTML as formatting.
    let post = get("/?uri=/2019/04/12/sourdough-at-altitude/&nested_limit=5").to_string();
    assert!(post.contains("<strong>gummy</strong>"), "{post}");
    assert!(
        !post.contains("&lt;strong") && !post.contains("<script"),
        "{post}"
    );
}

/// The edit cookie an answer sets for comment `id`, as the widget sends it back.
/// Exports `site`'s history from `db` in `format` to a file in `dir`; its path.
fn export_site(
    dir: &std::path::Path,
    db: &std::path::Path,
    site: &str,
    format: &str,
) -> std::path::PathBuf {
    let out = dir.join(format!("{site}.{format}"));
    succeeds(
        dir,
        &[
            "export",
            "--format",
            format,
            "--site",
            site,
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    out
}

/// Imports `file` (`format`, an export of this database) onto `site` and checks it adds nothing:
/// its `comments` are all "already there".
fn imports_back(
    dir: &std::path::Path,
    db: &std::path::Path,
    site: &str,
    format: &str,
    file: &std::path::Path,
    comments: usize,
) {
    let model = model();
    let report = succeeds(
        dir,
        &[
            "import",
            "--format",
            format,
            "--site",
            site,
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    let expected = format!("comments: imported 0 (none), {comments} already there");
    assert!(report.contains(&expected), "{format}: {report}");
}

/// Adds site `name` whose pages are at `origin` through the admin API.
fn add_site(server: &Server, name: &str, origin: &str) {
    let (status, body) = server.admin_api(
        "POST",
        "/api/v1/admin/sites",
        Some(&format!(r#"{{"name":"{name}","origins":["{origin}"]}}"#)),
    );
    assert_eq!(status, 201, "{body}");
}

/// Posts a comment through the Isso API from `site`'s pages, taken (published or waiting): the
/// answer's headers and comment.
fn isso_post(
    server: &Server,
    site: &str,
    uri: &str,
    body: &Value,
) -> (ureq::http::HeaderMap, Value) {
    let (status, headers, text) = call(
        server,
        "POST",
        &format!("/isso/new?uri={uri}"),
        site,
        Some(&body.to_string()),
        None,
    );
    assert!(status == 201 || status == 202, "{status} {text}");
    (headers, serde_json::from_str(&text).unwrap())
}

/// Posts a comment through the Isso API from `site`'s pages: its id and its edit cookie.
fn isso_new(server: &Server, site: &str, uri: &str, body: &Value) -> (i64, String) {
    let (headers, comment) = isso_post(server, site, uri, body);
    let id = comment["id"].as_i64().unwrap();
    (id, edit_cookie(&headers, id))
}

fn edit_cookie(headers: &ureq::http::HeaderMap, id: i64) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("isso-edit-{id}=")))
        .expect("the edit cookie")
}

/// An author's edit is checked as a new comment is (the site's rules and moderation mode, not
/// the model alone), its window runs from the comment's creation however often it is edited, and
/// what a moderator marked spam its author can neither edit nor delete.
#[test]
fn an_authors_edit_is_checked_like_a_new_comment_within_a_fixed_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--min-form-seconds", "0"],
    );
    let site = "http://edits.test:1313";
    let (status, body) = server.admin_api(
        "POST",
        "/api/v1/admin/sites",
        Some(&format!(
            r#"{{"name":"edits","origins":["{site}"],"settings":{{"edit-window-seconds":4}}}}"#
        )),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.admin_api(
        "PUT",
        "/api/v1/admin/rules?site=edits",
        Some(r#"{"disallowed_keys":["viagra"]}"#),
    );
    assert_eq!(status, 200, "{body}");
    let post = |text: &str| {
        let body = serde_json::json!({"text": text, "author": "Ana", "email": "ana@example.org", "title": "A"});
        isso_new(&server, site, "/a/", &body)
    };
    let status_of = |id: i64| {
        stored_comments(&server)
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["status"].as_str().map(str::to_string))
            .unwrap_or_default()
    };

    // Posted harmless and published by a moderator, then edited to carry a disallowed key: off
    // the page (the same text posted new would be rejected outright).
    let started = Instant::now();
    let (id, cookie) = post(HAM);
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{id}/approve"),
        None,
    );
    assert_eq!(status, 200);
    let edit = format!("/isso/id/{id}");
    let spam_edit = format!(r#"{{"text":"{HAM} viagra"}}"#);
    let (status, headers, body) =
        call(&server, "PUT", &edit, site, Some(&spam_edit), Some(&cookie));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        status_of(id),
        "held",
        "an edit into a disallowed key stays on the page"
    );

    // Each edit answers with a token that expires when the first did: edits keep it no longer.
    let renewed = edit_cookie(&headers, id);
    let expiry = |c: &str| {
        c.split_once('=')
            .unwrap()
            .1
            .split('.')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(
        expiry(&renewed),
        expiry(&cookie),
        "the window moved with the edit"
    );
    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    let (status, _, body) = call(
        &server,
        "PUT",
        &edit,
        site,
        Some(&format!(r#"{{"text":"{EDITED}"}}"#)),
        Some(&renewed),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("edit window is over"), "{body}");

    // A comment the moderator marked spam: its author cannot delete it (nor its spam label).
    let (id, cookie) = post(REPLY);
    let (status, _) = server.admin_api("POST", &format!("/api/v1/admin/comments/{id}/spam"), None);
    assert_eq!(status, 200);
    let (status, _, body) = call(
        &server,
        "DELETE",
        &format!("/isso/id/{id}"),
        site,
        None,
        Some(&cookie),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(status_of(id), "spam");
}

/// Isso's widget writes Markdown and Isso shows it rendered: a comment posted through the Isso
/// API is shown rendered (sanitized) wherever it appears, its author's edit gets it back as
/// typed, the preview renders it, and the Isso export hands Isso the text as written.
#[test]
fn markdown_written_in_issos_widget_is_shown_rendered_and_edited_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let site = "http://md.test:1313";
    add_site(&server, "md", site);
    let typed = "Thanks for the *clear* write-up, the `--release` flag was it.\n\n\
                 - first point\n- second point\n\n\
                 See [docs](https://example.org/docs) <script>alert(1)</script> [bad](javascript:alert(1))";
    let body = serde_json::json!({"text": typed, "author": "Ana", "email": "ana@example.org", "title": "A"});
    let (id, cookie) = isso_new(&server, site, "/a/", &body);
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{id}/approve"),
        None,
    );
    assert_eq!(status, 200);
    let rendered = |html: &str| {
        for part in [
            "<em>clear</em>",
            "<code>--release</code>",
            "<li>first point</li>",
            "href=\"https://example.org/docs\"",
            "rel=\"nofollow ugc noopener\"",
        ] {
            assert!(html.contains(part), "{part} missing in {html}");
        }
        for hostile in ["<script", "javascript:", "*clear*"] {
            assert!(!html.contains(hostile), "{hostile} in {html}");
        }
    };

    // The widget's thread, the no-JavaScript thread page and the feed show it rendered.
    let (status, _, body) = call(&server, "GET", "/isso/?uri=/a/", site, None, None);
    assert_eq!(status, 200, "{body}");
    let thread: Value = serde_json::from_str(&body).unwrap();
    rendered(thread["replies"][0]["text"].as_str().unwrap());
    let page = server.get_text("/sites/md/thread?uri=/a/");
    let (_, body) = page.split_once("class=\"comment-html\">").unwrap();
    rendered(body.split_once("</div>").unwrap().0);
    // The feed link Isso's widget shows names no site, and a feed reader sends no Origin: the
    // one site that has the page is the feed's.
    let feed = server.get_text("/isso/feed?uri=/a/");
    assert!(
        feed.contains(&format!("<id>{site}/a/#isso-feed</id>")) && feed.contains("&lt;em&gt;clear"),
        "{feed}"
    );

    // Its author's edit starts from the text as typed, and stays Markdown.
    let (status, _, body) = call(
        &server,
        "GET",
        &format!("/isso/id/{id}?plain=1"),
        site,
        None,
        Some(&cookie),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["text"], typed);
    let edited = serde_json::json!({"text": format!("{typed}\n\n**Edit:** works on 1.2 too.")});
    let (status, _, body) = call(
        &server,
        "PUT",
        &format!("/isso/id/{id}"),
        site,
        Some(&edited.to_string()),
        Some(&cookie),
    );
    assert_eq!(status, 200, "{body}");
    let text = serde_json::from_str::<Value>(&body).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    rendered(&text);
    assert!(text.contains("<strong>Edit:</strong>"), "{text}");

    // The preview renders what the widget would post.
    let (status, _, body) = call(
        &server,
        "POST",
        "/isso/preview",
        site,
        Some(r#"{"text":"**bold** and ~~gone~~"}"#),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let preview = serde_json::from_str::<Value>(&body).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        preview.contains("<strong>bold</strong>") && preview.contains("<del>gone</del>"),
        "{preview}"
    );

    // A comment that starts with a code block keeps its indentation.
    let code = serde_json::json!({"text": "    cargo build --release\n    ./target/release/app\n\nThat fixed it for me.",
        "author": "Ed", "email": "ed@example.org"});
    let (_, answer) = isso_post(&server, site, "/a/", &code);
    let shown = answer["text"].as_str().unwrap().to_string();
    assert!(
        shown.contains("<pre><code>cargo build --release\n./target/release/app"),
        "{shown}"
    );

    // A comment typed into replyguard's own form or JSON API stays plain text.
    let response = agent()
        .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
        .send_json(serde_json::json!({
            "comment_content": "Plain *stars* stay as typed here, thanks for the article.",
            "comment_author": "Bo",
            "comment_author_email": "bo@example.org",
        }))
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let plain = stored_comments(&server)
        .into_iter()
        .find(|c| c["author"] == "Bo")
        .unwrap();
    assert_eq!(plain["markdown"], false);

    // Isso gets the text as written, which it renders itself.
    let exported = export_site(dir.path(), &db, "md", "isso");
    let text: String = rusqlite::Connection::open(&exported)
        .unwrap()
        .query_row("SELECT text FROM comments", [], |r| r.get(0))
        .unwrap();
    assert!(
        text.starts_with(typed) && text.ends_with("**Edit:** works on 1.2 too."),
        "{text}"
    );
    // Imported back, as Isso's database or as WordPress's file, it is the comment already here.
    let wxr = export_site(dir.path(), &db, "md", "wxr");
    for (format, file) in [("isso", &exported), ("wxr", &wxr)] {
        imports_back(dir.path(), &db, "md", format, file, 2);
    }

    // Links count as they are rendered: an entity or a backslash in the address still makes an
    // http link, so two of them meet the default "hold at 2 links" rule.
    add_site(&server, "links", "http://links.test");
    let disguised = serde_json::json!({
        "text": "Thanks, this worked well for me. [one](http&#58;//a1.test/) [two](http:\\/\\/a2.test/)",
        "author": "Cy", "email": "cy@example.org", "title": "L"});
    let (id, _) = isso_new(&server, "http://links.test", "/l/", &disguised);
    let held = stored_comments(&server)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(held["clues"][0]["token"], "rule:links", "{held}");

    // An author's edit is read the same way: a key spelled with an entity takes the comment off
    // the page, as it would refuse a new one.
    let (status, body) = server.admin_api(
        "PUT",
        "/api/v1/admin/rules?site=links",
        Some(r#"{"disallowed_keys":["viagra"]}"#),
    );
    assert_eq!(status, 200, "{body}");
    let harmless = serde_json::json!({"text": HAM, "author": "Di", "email": "di@example.org"});
    let (id, cookie) = isso_new(&server, "http://links.test", "/l/", &harmless);
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{id}/approve"),
        None,
    );
    assert_eq!(status, 200);
    let (status, _, body) = call(
        &server,
        "PUT",
        &format!("/isso/id/{id}"),
        "http://links.test",
        Some(&serde_json::json!({"text": format!("{HAM} Buy v&#105;agra now.")}).to_string()),
        Some(&cookie),
    );
    assert_eq!(status, 200, "{body}");
    let edited = stored_comments(&server)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(edited["status"], "held", "{edited}");
    // Nor does a link inside the word, or a zero-width space, hide the key.
    for (author, hidden) in [
        ("Fe", "v[](http://x.example/)iagra"),
        ("Gu", "v\u{200B}iagra"),
    ] {
        let post = serde_json::json!({"text": format!("{HAM} Cheap {hidden} here."),
            "author": author, "email": format!("{author}@example.org")});
        let (id, _) = isso_new(&server, "http://links.test", "/l/", &post);
        let stored = stored_comments(&server)
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(stored["status"], "spam", "{hidden}: {stored}");
        assert_eq!(
            stored["clues"][0]["token"], "rule:disallowed-key",
            "{hidden}: {stored}"
        );
    }
}

/// Over HTTPS the edit cookies are `SameSite=None; Secure`, as Isso's: the widget's requests
/// come from the blog's pages, often another site than the comment server's, where a `Lax`
/// cookie is not sent. Over plain HTTP (where browsers refuse `None`) they stay `Lax`.
#[test]
fn edit_cookies_reach_a_comment_server_on_another_site_over_https() {
    let site = "http://blog.test:1313";
    for (public, attributes) in [
        (Some("https://comments.example"), "SameSite=None; Secure"),
        (None, "SameSite=Lax"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut flags = vec!["--min-form-seconds", "0"];
        if let Some(url) = public {
            flags.extend(["--public-url", url]);
        }
        let server = Server::start(&dir.path().join("db.sqlite"), &model(), &flags);
        add_site(&server, "blog", site);
        let body = serde_json::json!({"text": HAM, "author": "Ana", "email": "ana@example.org"});
        let (headers, _) = isso_post(&server, site, "/a/", &body);
        for name in ["set-cookie", "x-set-cookie"] {
            let cookie = headers[name].to_str().unwrap();
            assert!(cookie.contains(attributes), "{public:?} {name}: {cookie}");
        }
    }
}

/// Readers can make both `/x` and `/x/` through the Isso API (as in Isso, two pages); a site's
/// export names each, and imported back it finds each as it is: nothing added, nothing moved.
#[test]
fn a_page_with_and_without_its_slash_round_trips_as_two() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let site = "http://slash.test";
    add_site(&server, "slash", site);
    for (uri, author) in [("/x", "Ana"), ("/x/", "Bo")] {
        let body = serde_json::json!({"text": HAM, "author": author,
            "email": format!("{author}@example.org"), "title": "X"});
        isso_new(&server, site, uri, &body);
    }
    let wxr = export_site(dir.path(), &db, "slash", "wxr");
    imports_back(dir.path(), &db, "slash", "wxr", &wxr, 2);
}

/// An author's edit is a write like a new comment: refused on a page closed since (it could turn
/// a published comment into anything for the edit window), and it keeps the fields the site
/// requires; the edit window is capped, so no cookie outlives a week.
#[test]
fn edits_follow_the_rules_of_new_comments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let site = "https://blog.example";
    let (status, body) = server.admin_api(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"blog","origins":["https://blog.example"],"settings":{"require-author":true,"edit-window-seconds":18446744073709551615}}"#),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("edit-window-seconds is at most 604800"),
        "{body}"
    );
    let (status, body) = server.admin_api(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"blog","origins":["https://blog.example"],"settings":{"require-author":true,"edit-window-seconds":604800}}"#),
    );
    assert_eq!(status, 201, "{body}");
    let body = serde_json::json!({"text": HAM, "author": "Ana"});
    let (headers, comment) = isso_post(&server, site, "/p/", &body);
    let id = comment["id"].as_i64().unwrap();
    let cookie = edit_cookie(&headers, id);
    let max_age: u64 = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("isso-edit-{id}=")))
        .and_then(|v| v.split("Max-Age=").nth(1))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((604_000..=604_800).contains(&max_age), "{max_age}");
    let edit = format!("/isso/id/{id}");
    // A name the site requires cannot be edited away.
    let (status, _, answer) = call(
        &server,
        "PUT",
        &edit,
        site,
        Some(r#"{"text":"Fixed a typo.","author":""}"#),
        Some(&cookie),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("Please give your name."), "{answer}");
    // Closed since: no edit, the comment as it was.
    let out = common::run(
        &[
            "sites",
            "close",
            "blog",
            "/p/",
            "--db",
            db.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let (status, _, answer) = call(
        &server,
        "PUT",
        &edit,
        site,
        Some(r#"{"text":"Now with a link to my shop http://shop.example/"}"#),
        Some(&cookie),
    );
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("Comments are closed on this page."),
        "{answer}"
    );
    let stored = stored_comments(&server);
    assert_eq!(stored[0]["content"], HAM);
    // Nor votes.
    let like = format!("/isso/id/{id}/like");
    let (status, _, answer) = call(&server, "POST", &like, site, None, None);
    assert_eq!(status, 403, "{answer}");
}

/// The default site's articles exported to Isso (threads `/articles/SLUG`) and imported back
/// into the same database change nothing: their comments are found on their articles, not taken
/// for comments of pages at those paths.
#[test]
fn the_default_sites_isso_export_imports_back_as_its_articles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let api = server.url("/api/v1/articles/alibaba-olympic-partner/comments");
    for (text, who) in [
        (HAM, "Ana"),
        ("Which venues does the deal cover, do we know?", "Bo"),
    ] {
        let status = agent()
            .post(&api)
            .send_json(
                serde_json::json!({"comment_content": text, "comment_author": who,
                "comment_author_email": format!("{}@example.org", who.to_lowercase())}),
            )
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 201);
    }
    server.stop();
    // And posts imported from WordPress, which the export names by their old addresses
    // (`/2019/04/12/sourdough-at-altitude/`).
    let wxr = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/wordpress.wxr");
    let model = model();
    // (The fixture holds one record with a bad date on purpose: refused, the rest imported.)
    common::run(
        &[
            "import",
            wxr.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    let count = |sql: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let (comments, lessons) = (
        count("SELECT COUNT(*) FROM comments"),
        count("SELECT COUNT(*) FROM learning_log"),
    );
    assert!(comments > 2, "the WordPress comments are there");
    let file = export_site(dir.path(), &db, "default", "isso");
    let report = succeeds(
        dir.path(),
        &[
            "import",
            "--format",
            "isso",
            "--site",
            "default",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ],
    );
    assert!(report.contains("comments: imported 0 (none)"), "{report}");
    assert_eq!(count("SELECT COUNT(*) FROM comments"), comments);
    assert_eq!(
        count("SELECT COUNT(*) FROM learning_log"),
        lessons,
        "nothing taught twice"
    );
    assert_eq!(count("SELECT COUNT(*) FROM threads"), 0);
}

/// Threads as Isso keeps them, and a rejection its author cannot tell from a hold: a reply to a
/// reply hangs under the conversation's top-level comment (so deleting the middle one leaves no
/// stub); a reply to a comment that is not shown is a comment of its own, not an error; the
/// filter's rejection answers its author as a waiting comment they may read and delete, while
/// anyone else gets the same refusal whatever became of a comment; newest-first keeps replies
/// in the order written; an e-mail that is no address does not lose the comment; `/count` takes
/// an archive page's links at once.
#[test]
fn replies_thread_as_issos_and_a_rejection_looks_like_a_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--min-form-seconds", "0", "--flood-seconds", "0"],
    );
    let site = "http://threads.test:1313";
    add_site(&server, "threads", site);
    let (status, body) = server.admin_api(
        "PUT",
        "/api/v1/admin/rules?site=threads",
        Some(r#"{"disallowed_keys":["viagra"]}"#),
    );
    assert_eq!(status, 200, "{body}");
    let new = |text: &str, parent: Option<i64>, email: &str| {
        let body =
            serde_json::json!({"text": text, "author": "Ana", "email": email, "parent": parent});
        isso_post(&server, site, "/t/", &body)
    };
    let (_, top) = new(HAM, None, "ana@example.org");
    let top_id = top["id"].as_i64().unwrap();
    let (reply_headers, reply) = new(REPLY, Some(top_id), "bo@example.org");
    let reply_id = reply["id"].as_i64().unwrap();
    let (_, nested) = new(EDITED, Some(reply_id), "cy@example.org");
    let nested_id = nested["id"].as_i64().unwrap();
    assert_eq!(nested["parent"], top_id, "{nested}");
    let thread = |sort: &str| -> Value {
        let (status, _, body) = call(
            &server,
            "GET",
            &format!("/isso/?uri=/t/&sort={sort}"),
            site,
            None,
            None,
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let replies = |t: &Value| -> Vec<i64> {
        t["replies"][0]["replies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        replies(&thread("newest")),
        [reply_id, nested_id],
        "replies in the order written"
    );
    // Deleting the middle reply (its author's cookie) removes it outright: no stub, and the
    // later reply stays in its conversation.
    let cookie = edit_cookie(&reply_headers, reply_id);
    let (status, _, body) = call(
        &server,
        "DELETE",
        &format!("/isso/id/{reply_id}"),
        site,
        None,
        Some(&cookie),
    );
    assert_eq!((status, body.as_str()), (200, "null"));
    let after = thread("oldest");
    assert_eq!(after["replies"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(replies(&after), [nested_id], "{after}");

    // The filter rejects this one (the site's disallowed key): its author sees it waiting, and
    // may read it and delete it.
    let (headers, rejected) = new("Cheap viagra here", None, "dee@example.org");
    assert_eq!(rejected["mode"], 2, "{rejected}");
    let rejected_id = rejected["id"].as_i64().unwrap();
    let cookie = edit_cookie(&headers, rejected_id);
    let path = format!("/isso/id/{rejected_id}");
    let (status, _, body) = call(
        &server,
        "GET",
        &format!("{path}?plain=1"),
        site,
        None,
        Some(&cookie),
    );
    assert_eq!(status, 200, "{body}");
    let viewed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (viewed["mode"].as_i64(), viewed["text"].as_str()),
        (Some(2), Some("Cheap viagra here"))
    );
    // Anyone else: the same refusal as for a published comment.
    let (status_rejected, _, refused_rejected) = call(&server, "GET", &path, site, None, None);
    let (status_published, _, refused_published) = call(
        &server,
        "GET",
        &format!("/isso/id/{top_id}"),
        site,
        None,
        None,
    );
    assert_eq!(
        (status_rejected, &refused_rejected),
        (status_published, &refused_published)
    );
    // A reply to it is taken, as a comment of its own (it is not shown to hang under).
    let (_, orphan) = new(
        "Is this still on sale somewhere?",
        Some(rejected_id),
        "eve@example.org",
    );
    assert!(orphan["parent"].is_null(), "{orphan}");
    let (status, _, body) = call(&server, "DELETE", &path, site, None, Some(&cookie));
    assert_eq!((status, body.as_str()), (200, "null"));

    // An e-mail that is no address is left out, as Isso takes it, rather than losing the comment.
    let (_, odd) = new(
        "Which release changed the cache settings?",
        None,
        "not-an-email",
    );
    assert!(odd["id"].as_i64().is_some(), "{odd}");

    // /count with an archive page's 300 links.
    let uris: Vec<String> = (0..300)
        .map(|i| format!("/post/{i}/"))
        .chain(["/t/".to_string()])
        .collect();
    let (status, _, body) = call(
        &server,
        "POST",
        "/isso/count",
        site,
        Some(&serde_json::to_string(&uris).unwrap()),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let counts: Vec<u64> = serde_json::from_str(&body).unwrap();
    assert_eq!((counts.len(), counts[300]), (301, 4), "{body}");
}
