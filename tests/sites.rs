//! Several sites on one server, over the real CLI and HTTP: `replyguard sites`, the admin API,
//! and the server-rendered page of an embedding site's thread (where a reader without
//! JavaScript lands), whose form works without script.

use crate::common;

use common::{Server, TOKEN, agent, model, run, succeeds};
use serde_json::Value;

const HAM: &str = "Thanks for the write-up, the part about the build cache saved me an afternoon.";
const SPAM: &str = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz";

/// Adds site `blog` at https://blog.example to the database `db` (created).
fn add_blog(db: &std::path::Path) {
    let db = db.to_str().unwrap();
    let dir = std::path::Path::new(db).parent().unwrap();
    succeeds(
        dir,
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            "https://blog.example",
            "--db",
            db,
        ],
    );
}

#[test]
fn sites_are_managed_from_the_cli_and_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let db = db.to_str().unwrap();
    let added = succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            "https://Blog.Example:443/",
            "--db",
            db,
        ],
    );
    let site: Value = serde_json::from_str(&added).unwrap();
    // Origins are kept as browsers send them: lowercase, default port left out.
    assert_eq!(site["origins"], serde_json::json!(["https://blog.example"]));
    // A wrong origin is explained, and nothing changes.
    let out = run(
        &[
            "sites",
            "add",
            "docs",
            "--origin",
            "blog.example/path",
            "--db",
            db,
        ],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme://host[:port]"));
    let listed = succeeds(dir.path(), &["sites", "list", "--db", db]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains("docs"));
    // The default site has one title, its pages': lists show it, and giving the default site a
    // title gives it to the pages.
    assert!(listed.contains("\"title\":\"My blog\""), "{listed}");
    let retitled = succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "default",
            "--title",
            "Anna's Slow Blog",
            "--db",
            db,
        ],
    );
    assert!(
        retitled.contains("\"title\":\"Anna's Slow Blog\""),
        "{retitled}"
    );

    let server = Server::start(dir.path().join("db.sqlite").as_path(), &model(), &[]);
    let admin = |method: &str, path: &str, body: Option<&str>| server.admin_api(method, path, body);
    let (status, body) = admin(
        "POST",
        "/api/v1/admin/sites",
        Some(
            r#"{"name":"docs","origins":["http://localhost:1313"],"settings":{"moderation":"all"}}"#,
        ),
    );
    assert_eq!(status, 201, "{body}");
    // An origin of another site is a conflict.
    let (status, body) = admin(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"x","origins":["https://blog.example"]}"#),
    );
    assert_eq!(status, 409, "{body}");
    let (status, body) = admin(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"Bad Name"}"#),
    );
    assert_eq!(status, 422, "{body}");
    let (_, body) = admin("GET", "/api/v1/admin/sites", None);
    assert!(
        body.contains("\"docs\"") && body.contains("\"blog\""),
        "{body}"
    );
    assert!(body.contains("\"title\":\"Anna's Slow Blog\""), "{body}");
    assert!(
        server.get_text("/").contains("Anna&#39;s Slow Blog")
            || server.get_text("/").contains("Anna's Slow Blog"),
        "the pages show the site's title"
    );
    let (status, body) = admin(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"default","title":"Anna Writes"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"title\":\"Anna Writes\""), "{body}");
    assert!(server.get_text("/").contains("Anna Writes"));
    // The server sees the new site's origin at once.
    let preflight = agent()
        .run(
            ureq::http::Request::builder()
                .method("OPTIONS")
                .uri(server.url("/isso/new?uri=/a/"))
                .header("Origin", "http://localhost:1313")
                .body(String::new())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:1313"
    );
    let (status, _) = admin("DELETE", "/api/v1/admin/sites/docs", None);
    assert_eq!(status, 200);
    let (status, _) = admin("DELETE", "/api/v1/admin/sites/nowhere", None);
    assert_eq!(status, 404);
    // Without the token, nothing.
    let resp = agent()
        .get(&server.url("/api/v1/admin/sites"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[test]
fn the_thread_page_works_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    add_blog(&db);
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let thread = "/sites/blog/thread?uri=%2Fposts%2Fcaches%2F";
    let page = server.url(thread);
    let resp = agent().get(&page).call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.into_body().read_to_string().unwrap();
    assert!(
        html.contains("0 Comments") && html.contains("Post Comment"),
        "{html}"
    );
    assert!(
        html.contains("https://blog.example/posts/caches/"),
        "a link back to the page"
    );
    // The blog's page, not the default site's: its title and home, no feed of the default site.
    assert!(html.contains("· blog</title>"), "{html}");
    assert!(!html.contains("My blog"), "{html}");
    assert!(
        html.contains(r#"class="site-title" href="https://blog.example""#),
        "{html}"
    );
    assert!(!html.contains(r#"href="/feed""#), "{html}");
    // The fields the site's embed asks for: this site requires neither name nor e-mail.
    assert!(
        html.contains(r#"<label for="author">Name</label><input id="author" name="author" type="text" maxlength"#),
        "{html}"
    );

    let post = |text: &str, parent: &str| {
        agent()
            .post(&page)
            .send_form([
                ("comment", text),
                ("author", "Ana <b>"),
                ("email", "ana@example.org"),
                ("url", ""),
                ("comment_parent", parent),
            ])
            .unwrap()
    };
    let resp = post(HAM, "0");
    assert_eq!(resp.status().as_u16(), 303);
    // The same again: the page says so, with the text kept, not a JSON error.
    let mut again = agent()
        .post(&page)
        .config()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .send_form([
            ("comment", HAM),
            ("author", "Ana <b>"),
            ("email", "ana@example.org"),
            ("url", ""),
            ("comment_parent", "0"),
        ])
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let again = again.body_mut().read_to_string().unwrap();
    assert!(
        again.contains("Duplicate comment detected")
            && again.contains(&format!(">{HAM}</textarea>")),
        "{again}"
    );
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/sites/blog/thread?uri=%2Fposts%2Fcaches%2F"),
        "{location}"
    );
    let html = agent()
        .get(&server.url(&location))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(html.contains(HAM), "{html}");
    assert!(html.contains("Ana &lt;b&gt;"), "names are escaped");
    // A reader may stay anonymous here, as through the embed, and is shown as such.
    let resp = agent()
        .post(&page)
        .send_form([
            (
                "comment",
                "Same question as Ana: does the cache survive a restart of the runner?",
            ),
            ("author", ""),
            ("email", ""),
        ])
        .unwrap();
    assert!(
        matches!(resp.status().as_u16(), 303 | 403),
        "{}",
        resp.status()
    );
    assert!(
        !html.contains("ana@example.org"),
        "e-mail addresses are never shown"
    );

    // Spam: refused with the form kept, not shown.
    let resp = post(SPAM, "0");
    assert!(
        matches!(resp.status().as_u16(), 303 | 403),
        "{}",
        resp.status()
    );
    let html = server.get_text(thread);
    assert!(!html.contains("CHECK OUT MY CHANNEL"));
    // The comment is the blog site's, on its own thread.
    let held: Value = agent()
        .get(&server.url("/api/v1/admin/comments?status=published"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .into_body()
        .read_json()
        .unwrap();
    let mine = held["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["content"] == HAM)
        .unwrap();
    assert_eq!(mine["article"], "/posts/caches/");
    assert_ne!(mine["site_id"], 1);

    // Closed by the owner (`sites close`): the comments stay, with no form and no Reply link;
    // the Isso API says so and refuses a new comment.
    let fetch = || -> Value {
        agent()
            .get(&server.url("/isso/?uri=/posts/caches/"))
            .header("Origin", "https://blog.example")
            .call()
            .unwrap()
            .into_body()
            .read_json()
            .unwrap()
    };
    assert!(
        fetch().get("closed").is_none(),
        "an open page's answer is Isso's"
    );
    assert!(html.contains("replytocom="), "{html}");
    let cli = |args: &[&str]| run(args, None, dir.path());
    let db_arg = db.to_str().unwrap();
    succeeds(
        dir.path(),
        &["sites", "close", "blog", "/posts/caches/", "--db", db_arg],
    );
    let html = server.get_text(thread);
    assert!(html.contains("Comments are closed on this page."), "{html}");
    assert!(html.contains(HAM), "{html}");
    assert!(
        !html.contains("<form") && !html.contains("replytocom="),
        "{html}"
    );
    assert_eq!(fetch()["closed"], true);
    let refused = agent()
        .post(&server.url("/isso/new?uri=/posts/caches/"))
        .header("Origin", "https://blog.example")
        .header("Content-Type", "application/json")
        .config()
        .http_status_as_error(false)
        .build()
        .send(r#"{"text":"Does this still work with the new runners?","author":"Bo"}"#)
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    // The page's own form (no JavaScript) answers with the page, not JSON.
    let mut refused = agent()
        .post(&page)
        .config()
        .http_status_as_error(false)
        .build()
        .send_form([("comment", "Still taking comments?"), ("author", "Bo")])
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let kind = refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let html = refused.body_mut().read_to_string().unwrap();
    assert!(kind.starts_with("text/html"), "{kind}: {html}");
    assert!(html.contains("Comments are closed on this page."), "{html}");
    // Mistakes are named, and change nothing.
    let out = cli(&["sites", "close", "nowhere", "/a/", "--db", db_arg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no site `nowhere`"));
    let out = cli(&[
        "sites",
        "open",
        "blog",
        "/posts/caches/",
        "nopath",
        "--db",
        db_arg,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a path"));
    assert_eq!(fetch()["closed"], true);
    succeeds(
        dir.path(),
        &["sites", "open", "blog", "/posts/caches/", "--db", db_arg],
    );
    let after = fetch();
    assert!(after.get("closed").is_none(), "{after}");
    let html = server.get_text(thread);
    assert!(
        html.contains("<form") && html.contains("replytocom="),
        "{html}"
    );

    // An unknown site or a thread that is not a path: clear errors.
    assert_eq!(
        agent()
            .get(&server.url("/sites/nowhere/thread?uri=/a/"))
            .call()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        agent()
            .get(&server.url("/sites/blog/thread?uri=nopath"))
            .call()
            .unwrap()
            .status()
            .as_u16(),
        400
    );
}

/// One site's history goes out on its own: `export --site` writes the site's threads (pages that
/// embed the comments) as posts at their own addresses, with that site's comments only, and
/// WordPress's importer format reads back into a new database.
#[test]
fn a_sites_threads_export_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let db_arg = db.to_str().unwrap();
    add_blog(&db);
    // A site without an address of its own: its threads are this server's thread pages.
    succeeds(dir.path(), &["sites", "add", "notes", "--db", db_arg]);
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let thread = "/sites/blog/thread?uri=%2Fposts%2Fcaches%2F";
    let page = server.url(thread);
    let post = |text: &str, parent: &str| {
        let resp = agent()
            .post(&page)
            .send_form([
                ("comment", text),
                ("author", "Ana"),
                ("email", "ana@example.org"),
                ("url", ""),
                ("comment_parent", parent),
            ])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303);
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        let id = location.rsplit("comment-").next().unwrap().to_string();
        assert!(id.parse::<i64>().is_ok(), "{location}");
        id
    };
    let first = post(HAM, "0");
    const REPLY: &str = "Same here, and the cache key trick works for the CI runners as well.";
    post(REPLY, &first);
    let resp = agent()
        .post(&server.url("/sites/notes/thread?uri=%2Fn%2F"))
        .send_form([
            (
                "comment",
                "A note on the notes site, where no page of its own shows it.",
            ),
            ("author", "Ana"),
            ("email", "ana@example.org"),
            ("url", ""),
            ("comment_parent", "0"),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    const ELSEWHERE: &str = "A reader of the built-in article, on the default site.";
    let resp = agent()
        .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
        .send_json(serde_json::json!({
            "comment_content": ELSEWHERE,
            "comment_author": "Bo",
            "comment_author_email": "bo@example.org",
        }))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    server.stop();

    let export = |format: &str, site: Option<&str>| {
        let file = dir
            .path()
            .join(format!("{format}-{}", site.unwrap_or("all")));
        let mut args = vec!["export", "--format", format, "--db", db_arg];
        args.extend(site.map(|s| ["--site", s]).into_iter().flatten());
        args.extend(["--out", file.to_str().unwrap()]);
        let out = run(&args, None, dir.path());
        assert!(out.status.success(), "{}", common::text(&out.stderr));
        (
            std::fs::read_to_string(&file).unwrap(),
            common::text(&out.stderr),
        )
    };
    let (wxr, _) = export("wxr", Some("blog"));
    assert!(
        wxr.contains("<link>https://blog.example/posts/caches/</link>"),
        "{wxr}"
    );
    assert!(wxr.contains("<wp:post_name>posts-caches</wp:post_name>"));
    assert!(wxr.contains("<wp:base_site_url>https://blog.example</wp:base_site_url>"));
    assert!(wxr.contains(HAM) && wxr.contains(REPLY), "{wxr}");
    assert!(wxr.contains(&format!("<wp:comment_parent>{first}</wp:comment_parent>")));
    assert!(
        !wxr.contains(ELSEWHERE) && !wxr.contains("alibaba-olympic-partner"),
        "another site's article and comments stay out: {wxr}"
    );
    // WordPress's format reads back onto the site: a post at one of the site's origins is its
    // page, so the comments land in the thread the embed asks for, threaded, not in an article
    // of this server's; into the database it came from, it changes nothing.
    let wxr_file = dir.path().join("wxr-blog");
    let model = model();
    let import = |db: &std::path::Path| {
        let out = run(
            &[
                "import",
                "--site",
                "blog",
                "--db",
                db.to_str().unwrap(),
                "--model",
                model.to_str().unwrap(),
                wxr_file.to_str().unwrap(),
            ],
            None,
            dir.path(),
        );
        let report = common::text(&out.stdout);
        assert!(
            out.status.success(),
            "{report}{}",
            common::text(&out.stderr)
        );
        report
    };
    let copy = dir.path().join("copy.sqlite");
    add_blog(&copy);
    let report = import(&copy);
    assert!(
        report.contains("threads (pages of site `blog`): 1"),
        "{report}"
    );
    assert!(report.contains("comments: imported 2"), "{report}");
    assert!(report.contains("articles: imported 0"), "{report}");
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let placed: Vec<(String, String, bool)> = conn
        .prepare(
            "SELECT c.article, s.name, c.parent_id IS NOT NULL FROM comments c \
             JOIN sites s ON s.id = c.site_id ORDER BY c.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let thread = |reply: bool| ("/posts/caches/".to_string(), "blog".to_string(), reply);
    assert_eq!(placed, [thread(false), thread(true)]);
    let again = import(&db);
    assert!(
        again.contains("comments: imported 0 (none), 2 already there"),
        "{again}"
    );

    let (notes, _) = export("wxr", Some("notes"));
    assert!(
        notes.contains("<link>http://127.0.0.1:8080/sites/notes/thread?uri=%2Fn%2F</link>"),
        "{notes}"
    );
    // That link names the thread too: imported onto a site of that name, it is its thread.
    let notes_copy = dir.path().join("notes-copy.sqlite");
    succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "notes",
            "--db",
            notes_copy.to_str().unwrap(),
        ],
    );
    let out = run(
        &[
            "import",
            "--site",
            "notes",
            "--db",
            notes_copy.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            dir.path().join("wxr-notes").to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let article: String = rusqlite::Connection::open(&notes_copy)
        .unwrap()
        .query_row(
            "SELECT c.article FROM comments c JOIN sites s ON s.id = c.site_id \
             WHERE s.name = 'notes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(article, "/n/");

    let (disqus, _) = export("disqus", Some("blog"));
    assert!(disqus.contains("<id>/posts/caches/</id>"), "{disqus}");
    assert!(disqus.contains(&format!("<parent dsq:id=\"{first}\"/>")));
    assert!(!disqus.contains(ELSEWHERE));

    let (jsonl, _) = export("jsonl", Some("blog"));
    assert_eq!(jsonl.lines().count(), 2, "{jsonl}");
    let (jsonl, _) = export("jsonl", None);
    assert_eq!(jsonl.lines().count(), 4, "every site's: {jsonl}");

    // Without --site: the articles, as before, and a word on what is not in it.
    let (wxr, said) = export("wxr", None);
    assert!(wxr.contains(ELSEWHERE) && !wxr.contains(HAM), "{wxr}");
    assert!(said.contains("--site blog"), "{said}");

    let out = run(
        &[
            "export", "--format", "wxr", "--site", "nowhere", "--db", db_arg,
        ],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        common::text(&out.stderr).contains("there is no site `nowhere`"),
        "{}",
        common::text(&out.stderr)
    );
}

/// What the site's pages show of it follows a change made elsewhere (the CLI here; another
/// replica's `/admin` → Settings alike) within a couple of seconds, without a restart.
#[test]
fn a_title_set_from_the_cli_reaches_the_running_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&db, &model(), &[]);
    let home = || server.get_text("/");
    assert!(home().contains("My blog"));
    succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "default",
            "--title",
            "Zed Notes",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !home().contains("Zed Notes") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let page = home();
    assert!(
        page.contains("Zed Notes") && !page.contains("My blog"),
        "{page}"
    );
    server.stop();

    // A title flag kept in the service's environment applies once: restarted with the same
    // flag, the title changed since stays; a changed flag applies again.
    let title_at_start = |flag: &str| {
        let server = Server::start(&db, &model(), &["--site-title", flag]);
        let page = server.get_text("/");
        server.stop();
        page
    };
    assert!(title_at_start("Env Title").contains("Env Title"));
    succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "default",
            "--title",
            "Saved Since",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    let page = title_at_start("Env Title");
    assert!(
        page.contains("Saved Since") && !page.contains("Env Title"),
        "{page}"
    );
    assert!(title_at_start("New Env Title").contains("New Env Title"));
}

/// Each site's rules are edited in `/admin/rules?site=NAME` (the moderation page's "rules" link
/// carries the site shown): saving the blog's changes the blog's rules only; an unknown site is
/// a 404.
#[test]
fn a_sites_rules_are_edited_in_admin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    add_blog(&db);
    let server = Server::start(&db, &model(), &[]);
    let cookie = server.admin_session();
    let get = |path: &str| {
        agent()
            .get(&server.url(path))
            .header("Cookie", &cookie)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
    };
    let queue = get("/admin?site=blog")
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        queue.contains(r#"href="/admin/rules?site=blog""#),
        "{queue}"
    );
    let page = get("/admin/rules?site=blog")
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(page.contains("Rules of blog"), "{page}");
    let csrf = common::csrf_of(&page);
    let saved = agent()
        .post(&server.url("/admin/rules?site=blog"))
        .header("Cookie", &cookie)
        .send_form([
            ("csrf", csrf.as_str()),
            ("moderation_keys", "casino"),
            ("disallowed_keys", ""),
            ("hold_links_at", "1"),
            ("min_form_seconds", "3"),
            ("trusted_publish_below", "1"),
            ("spam_history_days", "90"),
        ])
        .unwrap();
    assert_eq!(saved.status().as_u16(), 303);
    let (_, blog) = server.admin_api("GET", "/api/v1/admin/rules?site=blog", None);
    let blog: Value = serde_json::from_str(&blog).unwrap();
    assert_eq!(blog["moderation_keys"], serde_json::json!(["casino"]));
    assert_eq!(blog["hold_links_at"], 1);
    let (_, default) = server.admin_api("GET", "/api/v1/admin/rules", None);
    let default: Value = serde_json::from_str(&default).unwrap();
    assert_eq!(
        default["moderation_keys"],
        serde_json::json!([]),
        "{default}"
    );
    assert_eq!(get("/admin/rules?site=nosuch").status().as_u16(), 404);
    server.stop();
}

/// `sites close` names pages as the embed does: a path with non-ASCII letters is the one the
/// browser sent (percent-encoded); a page without comments, or with the other spelling of its
/// trailing slash, is refused with what it has; on the default site `/articles/SLUG` closes an
/// article, whose page then offers no form and no Reply links, and takes no comment.
#[test]
fn pages_are_closed_by_the_name_the_embed_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    add_blog(&db);
    let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
    let db_arg = db.to_str().unwrap();
    let isso = |method: &str, path: &str, body: &str| -> (u16, String) {
        let mut resp = agent()
            .run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(server.url(path))
                    .header("Origin", "https://blog.example")
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .unwrap(),
            )
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    };
    let posted = isso(
        "POST",
        "/isso/new?uri=%2Fr%25C3%25A9sum%25C3%25A9%2F",
        &serde_json::json!({"text": HAM, "author": "Ana"}).to_string(),
    );
    assert!(matches!(posted.0, 201 | 202), "{posted:?}");
    succeeds(
        dir.path(),
        &["sites", "close", "blog", "/résumé/", "--db", db_arg],
    );
    let (_, listing) = isso("GET", "/isso/?uri=%2Fr%25C3%25A9sum%25C3%25A9%2F", "");
    assert!(listing.contains(r#""closed":true"#), "{listing}");
    // The admin API's thread filter takes any spelling too.
    let mut resp = agent()
        .get(&server.url("/api/v1/admin/comments?status=published&site=blog&article=%2Fx%2F..%2Fr%C3%A9sum%C3%A9%2F"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let listed: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let held: Value = {
        let mut resp =
            agent()
                .get(&server.url(
                    "/api/v1/admin/comments?status=held&site=blog&article=%2Fr%C3%A9sum%C3%A9%2F",
                ))
                .header("Authorization", &format!("Bearer {TOKEN}"))
                .call()
                .unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    };
    let found =
        listed["comments"].as_array().unwrap().len() + held["comments"].as_array().unwrap().len();
    assert_eq!(found, 1, "{listed} {held}");
    // With every site shown, the moderation list's Thread filter offers the other sites' pages
    // too, named with their site.
    let page = server.admin_page("/admin?status=published");
    assert!(
        page.contains(r#"<option value="/r%C3%A9sum%C3%A9/">blog · "#),
        "{page}"
    );
    // Every spelling of the path is that page: its comments, and closed.
    for spelling in [
        "%2Fr%25c3%25a9sum%25c3%25a9%2F",
        "%2Fr%C3%A9sum%C3%A9%2F",
        "%2Fold%2F..%2Fr%25C3%25A9sum%25C3%25A9%2F",
    ] {
        let (_, listing) = isso("GET", &format!("/isso/?uri={spelling}"), "");
        assert!(
            listing.contains(r#""closed":true"#) && listing.contains("total_replies\":1"),
            "{spelling}: {listing}"
        );
        let (status, answer) = isso(
            "POST",
            &format!("/isso/new?uri={spelling}"),
            &serde_json::json!({"text": "Another spelling, same page?", "author": "Bo"})
                .to_string(),
        );
        assert_eq!(status, 403, "{spelling}: {answer}");
    }
    for (page, said) in [
        ("/r%C3%A9sum%C3%A9", "(it has `/r%C3%A9sum%C3%A9/`)"),
        (
            "/never-commented/",
            "has no comments on `/never-commented/`",
        ),
        ("//r%C3%A9sum%C3%A9/", "is not a page's path"),
    ] {
        let out = run(
            &["sites", "close", "blog", page, "--db", db_arg],
            None,
            dir.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(said), "{page}: {err}");
    }

    // The default site's article.
    let article = "/articles/alibaba-olympic-partner";
    let form = server.url("/articles/alibaba-olympic-partner/comments");
    let post_form = |text: &str| {
        agent()
            .post(&form)
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .send_form([
                ("comment", text),
                ("author", "Lu"),
                ("email", "lu@example.org"),
            ])
            .unwrap()
    };
    assert_eq!(post_form(HAM).status().as_u16(), 303);
    let close = |verb: &str| {
        succeeds(
            dir.path(),
            &[
                "sites",
                verb,
                "default",
                "/articles/alibaba-olympic-partner",
                "--db",
                db_arg,
            ],
        )
    };
    close("close");
    // A running server sees another process's change within its watch interval (20 ms): ask
    // until it has, as a reader reloading would.
    let page_once = |wanted: &str| {
        let started = std::time::Instant::now();
        loop {
            let page = server.get_text(article);
            if page.contains(wanted) || started.elapsed() > std::time::Duration::from_secs(2) {
                return page;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let page = page_once("Comments are closed on this article.");
    assert!(
        page.contains("Comments are closed on this article."),
        "{page}"
    );
    assert!(
        page.contains(HAM) && !page.contains("replytocom="),
        "{page}"
    );
    let mut refused = post_form("Late to the party: which venues?");
    assert_eq!(refused.status().as_u16(), 403);
    let answer = refused.body_mut().read_to_string().unwrap();
    assert!(
        answer.contains("Comments are closed on this article."),
        "{answer}"
    );
    let out = run(
        &[
            "sites",
            "close",
            "default",
            "/articles/no-such-post",
            "--db",
            db_arg,
        ],
        None,
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no article `no-such-post`"));
    close("open");
    let page = page_once("Leave a Reply");
    assert!(
        page.contains("Leave a Reply") && page.contains("replytocom="),
        "{page}"
    );
}
