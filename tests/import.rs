//! `replyguard import` through the real binary on a real database file, then `serve` on that file:
//! statuses, threads, labels, idempotence, resuming, dry runs, old links.

use crate::common;

use common::{Server, agent, model, repo, run, text};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/import").join(name)
}

fn import(db: &Path, files: &[PathBuf], extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "import".to_string(),
        "--db".into(),
        db.display().to_string(),
        "--model".into(),
        model().display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None, &repo());
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn all_fixtures() -> Vec<PathBuf> {
    vec![
        fixture("wordpress.wxr"),
        fixture("wp-comments.json"),
        fixture("disqus.xml"),
    ]
}

fn get(server: &Server, path: &str) -> (u16, String, Option<String>) {
    let mut resp = agent().get(&server.url(path)).call().unwrap();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap(), location)
}

fn json(server: &Server, path: &str) -> serde_json::Value {
    serde_json::from_str(&get(server, path).1).unwrap()
}

#[test]
fn a_site_history_is_imported_once_with_statuses_threads_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (code, out, err) = import(&db, &all_fixtures(), &[]);
    // Two records in the fixtures are malformed on purpose: both named, the rest imported.
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("comment 520: bad date"), "{err}");
    assert!(err.contains("record 5: comment 533"), "{err}");
    assert!(err.contains("orphan: comment disqus:8006"), "{err}");
    assert!(
        out.contains("comments: imported 15 (1 held, 8 published, 4 spam, 2 trash), 1 already there, 1 orphaned"),
        "{out}"
    );
    assert!(
        out.contains("learning: 4 spam and 8 ham examples added to the learning log"),
        "{out}"
    );
    // What the import converted or left out of a body is listed, with the post.
    for note in [
        "article sourdough-at-altitude: removed 1 × a script",
        "article sourdough-at-altitude: an embedded frame became a link to https://evil.example.net/x",
        "article sourdough-at-altitude: an [embed] became a link to https://www.youtube.com/watch?v=altitude",
        "article sourdough-at-altitude: a [gallery] became a list of its 2 image(s)",
    ] {
        assert!(out.contains(note), "{note}: {out}");
    }

    // The same files again change nothing.
    let (code, again, _) = import(&db, &all_fixtures(), &[]);
    assert_eq!(code, 3);
    assert!(again.contains("articles: imported 0"), "{again}");
    assert!(
        again.contains("comments: imported 0 (none), 16 already there"),
        "{again}"
    );
    assert!(again.contains("0 spam and 0 ham"), "{again}");

    let server = Server::start(&db, &model(), &[]);
    // The server learned the imported labels before serving.
    let health = json(&server, "/healthz");
    assert_eq!(health["model"]["learned"]["examples"], 12, "{health}");

    // Published posts and pages are listed; drafts, private and password-protected posts are not.
    let (_, home, _) = get(&server, "/");
    for shown in [
        "Sourdough at altitude – what changed",
        "About",
        "Ski wax in spring &amp; why it matters",
    ] {
        assert!(home.contains(shown), "{shown} missing from the list");
    }
    for hidden in [
        "Unfinished draft",
        "Members only",
        "Private thoughts",
        "wp-post-777",
    ] {
        assert!(!home.contains(hidden), "{hidden} is listed");
    }
    assert_eq!(get(&server, "/articles/members-only").0, 404);
    assert_eq!(get(&server, "/articles/unfinished-draft").0, 404);

    // The post's page: its published comments (WordPress and the Disqus thread that joined it),
    // the reply under its parent, the reply to a deleted comment kept; no script, no handler.
    let (status, page, _) = get(&server, "/articles/sourdough-at-altitude");
    assert_eq!(status, 200);
    assert!(page.contains("5 Comments"), "count");
    let parent = page
        .find("Mine went <strong>gummy</strong>")
        .expect("parent");
    let reply = page.find("I kept the same flour").expect("reply");
    let nested = page[parent..reply].contains("<ol>");
    assert!(
        parent < reply && nested,
        "the reply is not nested under its parent"
    );
    assert!(page.contains("the tip about water still helped"));
    assert!(
        page.contains("2,000 m in Bolivia"),
        "the Disqus thread joined the post"
    );
    assert!(
        page.contains("Baking Weekly » Altitude roundup"),
        "entities decoded"
    );
    // Shortcodes converted, a frame turned into a link; the report names what changed.
    assert!(
        page.contains("<figcaption>The crumb at 2,400 m</figcaption>"),
        "the caption"
    );
    assert!(page.contains("href=\"https://www.youtube.com/watch?v=altitude\""));
    assert!(page.contains("href=\"https://evil.example.net/x\""));
    assert!(!page.contains("[caption") && !page.contains("[gallery"));
    // The gallery's images come from the attachments that follow the post in the export.
    assert!(
        page.contains(
            "<img src=\"https://fieldnotes.example.org/wp-content/uploads/2019/05/crumb-1.jpg\""
        ) && page.contains("crumb-2.jpg"),
        "the gallery's images"
    );
    assert!(
        page.contains("María Souza"),
        "the byline is the display name"
    );
    for gone in [
        "alert(",
        "pwned",
        "onclick",
        "onerror",
        "<iframe",
        "javascript:",
        "I deleted this one myself",
        "would rye behave",
        "replica watches",
    ] {
        assert!(!page.contains(gone), "{gone} on the page");
    }
    assert!(!page.contains("jonas.aberg@example.se"), "e-mail shown");

    // The Disqus-only thread became an article with its thread.
    let (_, ski, _) = get(&server, "/articles/ski-wax-in-spring");
    assert!(ski.contains("2 Comments"));
    let first = ski.find("Graphite wax").unwrap();
    let answer = ski.find("Same here").unwrap();
    assert!(first < answer);
    assert!(!ski.contains("Buy cheap ski gear"));

    // Old WordPress addresses move permanently.
    for old in [
        "/?p=101",
        "/2019/04/12/sourdough-at-altitude/",
        "/2019/04/12/sourdough-at-altitude",
    ] {
        let (status, _, location) = get(&server, old);
        assert_eq!(status, 301, "{old}");
        assert_eq!(
            location.as_deref(),
            Some("/articles/sourdough-at-altitude?anchors=old"),
            "{old}"
        );
    }
    assert_eq!(
        get(&server, "/about/").2.as_deref(),
        Some("/articles/about?anchors=old")
    );
    // ... and an old link's `#comment-501` (the browser keeps it across the 301) lands on the
    // comment that was 501 on the old blog, on the page as readers get it and as old links do.
    for page in [
        "/articles/sourdough-at-altitude",
        "/articles/sourdough-at-altitude?anchors=old",
    ] {
        let (_, html, _) = get(&server, page);
        let anchor = html.find(r#"id="comment-501""#).expect(page);
        let text = html.find("Did you keep the same flour?").unwrap();
        let previous_comment = html[..text].rfind("<li class=\"comment\"").unwrap();
        assert!(previous_comment < anchor && anchor < text, "{page}: {html}");
    }
    // A page whose comments were closed on the old site: no form, and new comments refused.
    let (_, about, _) = get(&server, "/articles/about");
    assert!(
        about.contains("Comments are closed on this article."),
        "{about}"
    );
    assert!(!about.contains("Leave a Reply"), "{about}");
    let refused = agent()
        .post(&server.url("/api/v1/articles/about/comments"))
        .send_json(serde_json::json!({"comment_content": "Late to the party?",
            "comment_author": "Ana", "comment_author_email": "ana@example.org"}))
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let refused = agent()
        .post(&server.url("/articles/about/comments"))
        .send_form([
            ("comment", "Late to the party?"),
            ("author", "Ana"),
            ("email", "ana@example.org"),
        ])
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let (_, open, _) = get(&server, "/articles/sourdough-at-altitude");
    assert!(open.contains("Leave a Reply"));
    assert_eq!(
        get(&server, "/2019/05/01/members-only/").0,
        404,
        "hidden posts do not move"
    );
    assert_eq!(get(&server, "/no/such/post/").0, 404);

    // Moderators find the held and spam comments with their original statuses.
    let queue = server.admin_page("/admin?status=spam");
    assert!(
        queue.contains("replica watches") || queue.contains("cheap flights"),
        "{queue}"
    );
}

/// `--media-base`: the posts' links to the old site's uploads point to their new home, and the
/// report says so.
#[test]
fn uploads_can_move_to_a_new_base() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (_, out, err) = import(
        &db,
        &[fixture("wordpress.wxr")],
        &["--media-base", "https://cdn.example/media"],
    );
    assert!(
        out.contains(
            "article sourdough-at-altitude: 3 upload link(s) now point to https://cdn.example/media"
        ),
        "{out}\n{err}"
    );
    let server = Server::start(&db, &model(), &[]);
    let (_, page, _) = get(&server, "/articles/sourdough-at-altitude");
    assert!(
        page.contains("https://cdn.example/media/2019/04/crumb.jpg"),
        "{page}"
    );
    // The gallery's images moved with the rest.
    assert!(page.contains("https://cdn.example/media/2019/05/crumb-2.jpg"));
    assert!(!page.contains("fieldnotes.example.org/wp-content/uploads"));
}

#[test]
fn an_interrupted_import_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    // The first part of the file, cut in the middle of a comment: what came before is kept.
    let full = std::fs::read_to_string(fixture("wordpress.wxr")).unwrap();
    let cut = full.find("<wp:comment_id>504").unwrap();
    let partial = dir.path().join("partial.wxr");
    std::fs::write(&partial, &full[..cut]).unwrap();
    let (code, out, err) = import(&db, &[partial], &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("malformed XML") || err.contains("ends inside"),
        "{err}"
    );
    assert!(out.contains("comments: imported 3"), "{out}");

    let (_, out, _) = import(&db, &[fixture("wordpress.wxr")], &[]);
    assert!(out.contains("already there"), "{out}");
    assert!(out.contains("comments: imported 4 ("), "{out}");
    let server = Server::start(&db, &model(), &[]);
    let (_, page, _) = get(&server, "/articles/sourdough-at-altitude");
    assert_eq!(page.matches("Did you keep the same flour").count(), 1);
}

#[test]
fn dry_run_changes_nothing_and_no_learn_keeps_labels_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (_, out, _) = import(&db, &all_fixtures(), &["--dry-run"]);
    assert!(out.contains("comments: would import"), "{out}");
    assert!(out.contains("would be learned"), "{out}");
    assert!(!db.exists(), "a dry run created the database");
    // Nothing was stored: the real import after it imports everything.
    let (_, out, _) = import(&db, &all_fixtures(), &[]);
    assert!(
        out.contains("comments: imported 15"),
        "the dry run stored something: {out}"
    );
    let db = dir.path().join("other.db");

    let (_, out, _) = import(&db, &[fixture("disqus.xml")], &["--no-learn"]);
    assert!(out.contains("learning: off"), "{out}");
    let server = Server::start(&db, &model(), &[]);
    assert_eq!(json(&server, "/healthz")["model"]["learned"]["examples"], 0);
}

#[test]
fn files_that_are_not_exports_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<html><body>hi</body></html>").unwrap();
    let (code, _, err) = import(&db, &[html], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not an export replyguard reads"), "{err}");
    let (code, _, err) = import(&db, &[dir.path().join("missing.xml")], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("missing.xml"), "{err}");
    // Onto a site of a database that is not there (a mistyped --db): said, nothing created.
    let typo = dir.path().join("sitee.db");
    let (code, _, err) = import(&typo, &[fixture("disqus.xml")], &["--site", "blog"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("no site `blog`") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!typo.exists(), "the import created a database");
}

#[test]
fn a_dump_imported_before_its_posts_joins_them_when_they_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    let (_, out, _) = import(&db, &[fixture("wp-comments.json")], &[]);
    assert!(
        out.contains("comments: imported 4 (1 published, 3 spam)"),
        "{out}"
    );
    let (_, out, _) = import(&db, &[fixture("wordpress.wxr")], &[]);
    // Jonas's comment came with the dump; the WXR knows it by the same id.
    assert!(out.contains("1 already there"), "{out}");
    let server = Server::start(&db, &model(), &[]);
    let (_, page, _) = get(&server, "/articles/sourdough-at-altitude");
    assert!(
        page.contains("Did you keep the same flour?"),
        "the dump's comment moved to the post"
    );
    assert!(page.contains("4 Comments"), "{page}");
    let (_, home, _) = get(&server, "/");
    assert!(!home.contains("wp-post-"), "a placeholder is listed");
    let queue = server.admin_page("/admin?status=spam");
    assert!(queue.contains("cheap flights to lisbon"), "{queue}");
}

/// Articles and comments of a database, independent of its ids: (slug, title, public) and
/// (article, author, text, status, date, parent's author).
fn contents(db: &Path) -> (Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut articles: Vec<String> = conn
        .prepare("SELECT slug || '|' || title || '|' || public FROM articles WHERE title != ''")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    articles.sort();
    let mut comments: Vec<String> = conn
        .prepare(
            "SELECT c.article || '|' || c.author || '|' || c.content || '|' || c.status || '|' || \
             c.created_at || '|' || c.comment_type || '|' || coalesce(p.author, '-') \
             FROM comments c LEFT JOIN comments p ON p.id = c.parent_id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    comments.sort();
    (articles, comments)
}

/// `replyguard export --format FORMAT` of `db` into `file`, which must succeed.
fn export(db: &std::path::Path, format: &str, file: &std::path::Path) {
    let out = run(
        &[
            "export",
            "--format",
            format,
            "--db",
            db.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Posts a comment through the running server, as a reader types it (plain text, with characters
/// HTML escapes): exports must carry it like any imported one.
fn post_typed_here(db: &std::path::Path) {
    let server = Server::start(db, &model(), &[]);
    let resp = agent()
        .post(&server.url("/api/v1/articles/sourdough-at-altitude/comments"))
        .send_json(serde_json::json!({
            "comment_content": "Typed here: 5 < 6 & \"quotes\"\n\nSecond paragraph.",
            "comment_author": "Local Reader",
            "comment_author_email": "local@example.org",
        }))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    server.stop();
}

#[test]
fn export_then_import_reproduces_articles_comments_threads_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    import(&db, &all_fixtures(), &[]);
    // Comments typed here (plain text) travel too.
    post_typed_here(&db);
    let original = contents(&db);

    for format in ["wxr", "disqus"] {
        let file = dir.path().join(format!("export.{format}"));
        export(&db, format, &file);
        let copy = dir.path().join(format!("copy-{format}.db"));
        let (code, report, err) = import(&copy, &[file], &[]);
        assert_eq!(code, 0, "{report}{err}");
        let (articles, comments) = contents(&copy);
        assert_eq!(comments.len(), original.1.len(), "{format}");
        // Text typed here comes back as the same text, escaped into HTML.
        let typed = comments
            .iter()
            .find(|c| c.contains("Local Reader"))
            .unwrap();
        assert!(typed.contains("5 &lt; 6 &amp;"), "{typed}");
        let strip = |rows: &[String]| -> Vec<String> {
            rows.iter()
                .filter(|c| !c.contains("Local Reader"))
                .cloned()
                .collect()
        };
        let mut expected = strip(&original.1);
        if format == "disqus" {
            // Disqus has no pingbacks: they travel as comments.
            expected = expected
                .iter()
                .map(|c| c.replace("|pingback|", "|comment|"))
                .collect();
            expected.sort();
        }
        assert_eq!(strip(&comments), expected, "{format}: comments differ");
        if format == "wxr" {
            assert_eq!(articles, original.0, "articles differ");
        }
    }

    let out = run(
        &["export", "--format", "jsonl", "--db", db.to_str().unwrap()],
        None,
        &repo(),
    );
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let spam = rows.iter().filter(|r| r["label"] == "spam").count();
    let ham = rows.iter().filter(|r| r["label"] == "ham").count();
    assert_eq!((spam, ham), (4, 9), "published = ham, spam = spam");
    // The export is a training file replyguard reads.
    let file = dir.path().join("site.jsonl");
    std::fs::write(&file, text(&out.stdout)).unwrap();
    let out = run(
        &[
            "eval",
            "--model",
            model().to_str().unwrap(),
            "--test",
            file.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_moderator_signed_in_on_one_server_is_signed_in_on_another_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    import(&db, &[fixture("wordpress.wxr")], &[]);
    let a = Server::start(&db, &model(), &[]);
    let cookie = a.admin_session();
    let b = Server::start(&db, &model(), &[]);
    let page = |server: &Server| {
        let mut resp = agent()
            .get(&server.url("/admin"))
            .header("Cookie", &cookie)
            .call()
            .unwrap();
        resp.body_mut().read_to_string().unwrap()
    };
    // The held imported comment is in the queue on both servers; no sign-in form.
    for server in [&a, &b] {
        let queue = page(server);
        assert!(queue.contains("would rye behave the same?"), "{queue}");
        assert!(!queue.contains("Admin token"), "asked to sign in again");
    }
    // And after a restart.
    a.stop();
    let c = Server::start(&db, &model(), &[]);
    assert!(page(&c).contains("would rye behave the same?"));
}

#[test]
fn a_running_server_shows_what_an_import_adds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    import(&db, &[fixture("wordpress.wxr")], &[]);
    let server = Server::start(&db, &model(), &[]);
    let (_, before, _) = get(&server, "/articles/sourdough-at-altitude");
    assert!(!before.contains("Bolivia"));
    // The page is cached now; another process adds a comment to it and a new article.
    import(&db, &[fixture("disqus.xml")], &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, page, _) = get(&server, "/articles/sourdough-at-altitude");
        let (_, home, _) = get(&server, "/");
        if page.contains("2,000 m in Bolivia") && home.contains("Ski wax in spring") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the running server still shows the page and list from before the import"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn exports_parse_whatever_characters_visitors_typed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let nasty: String = (0u32..0x20)
        .filter_map(char::from_u32)
        .chain(['\u{FFFE}', '\u{FFFF}', '\u{7F}'])
        .collect();
    let resp = agent()
        .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
        .send_json(serde_json::json!({
            "comment_content": "A plain reply about the deal",
            "comment_author": "Reader",
            "comment_author_email": "odd@example.org",
        }))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    server.stop();
    // What the form refuses today may be stored already (older versions, imports, Akismet).
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE comments SET content = ?1, author = ?2",
        [
            format!("Odd{nasty}characters in a reply about the deal"),
            "Reader\u{1}\u{FFFE}X".to_string(),
        ],
    )
    .unwrap();
    let stored: String = conn
        .query_row("SELECT content FROM comments", [], |r| r.get(0))
        .unwrap();
    assert!(
        stored.contains('\u{FFFE}') || stored.contains('\u{1}'),
        "the test must store them"
    );
    for format in ["wxr", "disqus"] {
        let file = dir.path().join(format!("export.{format}"));
        export(&db, format, &file);
        // A real XML parser (Python's expat) reads it, and the text is still there.
        let parsed = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, xml.etree.ElementTree as ET; t = ET.parse(sys.argv[1]); \
                 print(sum('characters in a reply' in (e.text or '') for e in t.iter()))",
            ])
            .arg(&file)
            .output()
            .expect("python3 (tests/setup.sh)");
        assert!(
            parsed.status.success(),
            "{format}: {}",
            text(&parsed.stderr)
        );
        assert_eq!(text(&parsed.stdout).trim(), "1", "{format}");
    }
}

/// Rows of a table, for the tests that look into the database.
fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// What `replyguard export` wrote, imported into the same database, changes nothing (the
/// comments are known by their text, not by the ids of the database they came from; the articles
/// by remote id, link or slug), and the dry run says so too; into a fresh database it keeps
/// everything, and a second time nothing more.
#[test]
fn an_export_imported_into_its_own_database_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    // The dump holds a comment on a post no export has (kept under an empty placeholder
    // article, which the export writes as it is).
    import(
        &db,
        &[
            fixture("wordpress.wxr"),
            fixture("disqus.xml"),
            fixture("wp-comments.json"),
        ],
        &[],
    );
    // A comment typed here (plain text) is exported escaped into HTML: still the same comment.
    post_typed_here(&db);
    let before = contents(&db);
    let learned = "SELECT COUNT(*) FROM learning_log";
    let examples = count(&db, learned);
    let file = dir.path().join("export.xml");
    export(&db, "wxr", &file);
    let n = before.1.len();

    let (code, dry, err) = import(&db, std::slice::from_ref(&file), &["--dry-run"]);
    assert_eq!(code, 0, "{dry}{err}");
    assert!(
        dry.contains("articles: would import 0 (0 not public)"),
        "{dry}"
    );
    assert!(
        dry.contains(&format!(
            "comments: would import 0 (none), {n} already there"
        )),
        "{dry}"
    );
    for _ in 0..2 {
        let (code, out, err) = import(&db, std::slice::from_ref(&file), &[]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("articles: imported 0 (0 not public)"), "{out}");
        assert!(
            out.contains(&format!("comments: imported 0 (none), {n} already there")),
            "{out}"
        );
        assert!(out.contains("0 spam and 0 ham"), "{out}");
    }
    assert_eq!(contents(&db), before, "the import changed the database");
    assert_eq!(count(&db, learned), examples, "examples learned again");

    // Into a fresh database: everything, once.
    let fresh = dir.path().join("fresh.db");
    let (_, out, _) = import(&fresh, std::slice::from_ref(&file), &[]);
    assert!(out.contains(&format!("comments: imported {n} (")), "{out}");
    let (_, again, _) = import(&fresh, std::slice::from_ref(&file), &[]);
    assert!(
        again.contains(&format!("comments: imported 0 (none), {n} already there")),
        "{again}"
    );
    assert_eq!(contents(&fresh).1.len(), n);
}

/// Adds site `blog` at `origin` to the database `db` (created).
fn add_blog(db: &Path, origin: &str) {
    let out = run(
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            origin,
            "--db",
            db.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Imports the Isso database `isso` onto a new site `blog` (at http://blog.test) of `db`: the
/// report says `first`, and a second import finds all `count` comments there.
fn import_isso_onto_blog(db: &Path, isso: &Path, first: &str, count: usize) {
    add_blog(db, "http://blog.test");
    let args = ["--format", "isso", "--site", "blog"];
    let (code, out, err) = import(db, &[isso.to_path_buf()], &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(first), "{out}");
    let (_, again, _) = import(db, &[isso.to_path_buf()], &args);
    let all = format!("comments: imported 0 (none), {count} already there");
    assert!(again.contains(&all), "{again}");
}

/// Isso's own schema, and one thread `/a/`.
const ISSO_SCHEMA: &str =
    "CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
     CREATE TABLE comments (tid REFERENCES threads(id), id INTEGER PRIMARY KEY,
         parent INTEGER, created FLOAT NOT NULL, modified FLOAT, mode INTEGER,
         remote_addr VARCHAR, text VARCHAR, author VARCHAR, email VARCHAR,
         website VARCHAR, likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0,
         voters BLOB NOT NULL, notification INTEGER DEFAULT 0);
     INSERT INTO threads VALUES (1, '/a/', 'Post A');";

/// An Isso database as Isso leaves it (Isso's own schema): a deleted comment that has a reply is
/// kept blanked (mode 4, no text, no author), and likes and dislikes are counts.
fn isso_database(path: &Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(&format!(
            "{ISSO_SCHEMA}
             INSERT INTO comments VALUES (1, 1, NULL, 1700000000.5, NULL, 1, '192.0.2.0',
                 'The *second* section helped.', 'Ana', 'ana@example.org', NULL, 3, 1, x'00', 0);
             INSERT INTO comments VALUES (1, 4, NULL, 1700000100.0, NULL, 4, '192.0.2.0', '',
                 NULL, 'bo@example.org', NULL, 2, 0, x'00', 0);
             INSERT INTO comments VALUES (1, 5, 4, 1700000200.0, NULL, 1, '192.0.2.0',
                 'A reply to a comment since deleted.', 'Cy', NULL, NULL, 1, 0, x'00', 0);"
        ))
        .unwrap();
}

/// Two comments deleted in the same second, each under its own reply, are blank alike (Isso
/// keeps no text or name of them, and `export --format isso` writes them so): each reply keeps
/// its own parent, and a second import still finds every one stored — as does importing the
/// site's own WXR export back (which numbers the blanks by their ids here).
#[test]
fn blank_isso_placeholders_of_the_same_second_stay_two() {
    let dir = tempfile::tempdir().unwrap();
    let isso = dir.path().join("comments.db");
    rusqlite::Connection::open(&isso)
        .unwrap()
        .execute_batch(&format!(
            "{ISSO_SCHEMA}
             INSERT INTO comments VALUES (1, 1, NULL, 1700000100.0, NULL, 4, '', '', NULL,
                 NULL, NULL, 0, 0, x'00', 0);
             INSERT INTO comments VALUES (1, 2, NULL, 1700000100.0, NULL, 4, '', '', NULL,
                 NULL, NULL, 0, 0, x'00', 0);
             INSERT INTO comments VALUES (1, 3, 1, 1700000200.0, NULL, 1, '192.0.2.0',
                 'Under the first.', 'Ana', NULL, NULL, 0, 0, x'00', 0);
             INSERT INTO comments VALUES (1, 4, 2, 1700000300.0, NULL, 1, '192.0.2.0',
                 'Under the second.', 'Bo', NULL, NULL, 0, 0, x'00', 0);"
        ))
        .unwrap();
    let db = dir.path().join("rg.db");
    import_isso_onto_blog(&db, &isso, "comments: imported 4 (2 published, 2 trash)", 4);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let parent_of = |remote: &str| -> Option<String> {
        conn.query_row(
            "SELECT p.remote_id FROM comments c LEFT JOIN comments p ON p.id = c.parent_id \
             WHERE c.remote_id = ?1",
            [remote],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(parent_of("isso:3").as_deref(), Some("isso:1"));
    assert_eq!(parent_of("isso:4").as_deref(), Some("isso:2"));

    let wxr = dir.path().join("blog.wxr");
    let out = run(
        &[
            "export",
            "--format",
            "wxr",
            "--site",
            "blog",
            "--db",
            db.to_str().unwrap(),
            "--out",
            wxr.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    for _ in 0..2 {
        let (code, back, err) = import(&db, std::slice::from_ref(&wxr), &["--site", "blog"]);
        assert_eq!(code, 0, "{back}{err}");
        assert!(
            back.contains("comments: imported 0 (none), 4 already there"),
            "{back}"
        );
    }
}

#[test]
fn an_isso_comment_deleted_under_its_replies_keeps_them_and_likes_come_along() {
    let dir = tempfile::tempdir().unwrap();
    let isso = dir.path().join("comments.db");
    isso_database(&isso);
    let db = dir.path().join("rg.db");
    let origin = "http://blog.test";
    import_isso_onto_blog(&db, &isso, "comments: imported 3 (2 published, 1 trash)", 3);

    // The deleted comment is in the trash, its reply under it; votes stored once.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (status, parent, parent_status): (String, Option<String>, Option<String>) = conn
        .query_row(
            "SELECT c.status, p.remote_id, p.status FROM comments c \
             LEFT JOIN comments p ON p.id = c.parent_id WHERE c.remote_id = 'isso:5'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), parent.as_deref(), parent_status.as_deref()),
        ("published", Some("isso:4"), Some("trash"))
    );
    let votes = |remote: &str| -> (i64, i64) {
        conn.query_row(
            "SELECT COALESCE(SUM(v.value > 0), 0), COALESCE(SUM(v.value < 0), 0) \
             FROM comment_votes v JOIN comments c ON c.id = v.comment_id WHERE c.remote_id = ?1",
            [remote],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(votes("isso:1"), (3, 1));
    assert_eq!(votes("isso:4"), (2, 0));
    assert_eq!(votes("isso:5"), (1, 0));

    // Isso's widget gets the thread as Isso had it: the deleted comment blank (mode 4) with the
    // reply under it, and the likes.
    let server = Server::start(&db, &model(), &[]);
    let mut resp = agent()
        .get(&server.url("/isso/?uri=/a/&nested_limit=5"))
        .header("Origin", origin)
        .call()
        .unwrap();
    let body = resp.body_mut().read_to_string().unwrap();
    let thread: serde_json::Value = serde_json::from_str(&body).unwrap();
    let top = thread["replies"].as_array().expect("replies");
    assert_eq!(top.len(), 2, "{body}");
    assert_eq!(
        (top[0]["likes"].as_u64(), top[0]["dislikes"].as_u64()),
        (Some(3), Some(1)),
        "{body}"
    );
    assert_eq!(top[1]["mode"], 4, "{body}");
    // Never the empty hash Isso's widget takes for the page author's ("Author" on a deleted
    // comment), and not the hash of who wrote it.
    let hash = top[1]["hash"].as_str().unwrap_or_default();
    assert!(!hash.is_empty() && hash != top[0]["hash"], "{body}");
    // At the time it was written (Isso's widget shows its age), not 1970.
    assert!(top[1]["created"].as_f64().unwrap_or(0.0) > 1.6e9, "{body}");
    let reply = &top[1]["replies"][0];
    assert!(
        reply["text"]
            .as_str()
            .unwrap_or_default()
            .contains("since deleted"),
        "{body}"
    );
    assert_eq!(reply["likes"], 1, "{body}");
}

/// A blog that moved from WordPress (and Disqus) to pages of its own at the same address, which
/// embed the comments: imported onto its site, each public post is the thread at its path —
/// whatever order the files are named in, `http` or `https`, a trailing `/` or not — while
/// drafts, private and password-protected posts stay hidden articles (a thread shows its
/// comments to anyone) and a post named only by `?p=ID` names no page. Onto the default site,
/// the same files make articles, as they always did.
#[test]
fn a_blogs_posts_become_its_sites_threads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    add_blog(&db, "https://fieldnotes.example.org");
    // The dump first: its comments name posts by id only.
    let files = [
        fixture("wp-comments.json"),
        fixture("wordpress.wxr"),
        fixture("disqus.xml"),
    ];
    let (_, out, err) = import(&db, &files, &["--site", "blog"]);
    assert!(
        out.contains("threads (pages of site `blog`): 4"),
        "{out}{err}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let list = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let threads = list("SELECT uri FROM threads ORDER BY uri");
    assert_eq!(
        threads,
        [
            "/2019/04/12/sourdough-at-altitude/",
            "/2019/06/01/broken/",
            "/about/",
            "/notes/ski-wax-in-spring/",
        ]
    );
    // The page whose comments WordPress had closed stays closed: its thread page has no form,
    // and a new comment through the embed's API is refused.
    assert_eq!(
        list("SELECT uri FROM threads WHERE NOT comments_open"),
        ["/about/"]
    );
    {
        let server = Server::start(&db, &model(), &["--min-form-seconds", "0"]);
        let page = server.get_text("/sites/blog/thread?uri=/about/");
        assert!(
            page.contains("Comments are closed on this page.") && !page.contains("<form"),
            "{page}"
        );
        let answer = agent()
            .post(&server.url("/isso/new?uri=/about/"))
            .header("Origin", "https://fieldnotes.example.org")
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(r#"{"text":"Is the bakery still open on Sundays?","author":"Ana"}"#)
            .unwrap();
        assert_eq!(answer.status().as_u16(), 403);
        let open = server.get_text("/sites/blog/thread?uri=/2019/04/12/sourdough-at-altitude/");
        assert!(open.contains("<form"), "{open}");
        // A link in an old comment to another post of the blog (relative, as WordPress wrote
        // it) leads to that post from the thread page here and from the thread's feed, not to
        // this server; the embed shows it on the blog's own page, where it resolves.
        let moved = r#"href="https://fieldnotes.example.org/2019/03/02/hydration-notes/""#;
        assert!(open.contains(moved), "{open}");
        let feed = server.get_text("/isso/feed?uri=/2019/04/12/sourdough-at-altitude/&site=blog");
        assert!(
            feed.contains("https://fieldnotes.example.org/2019/03/02/hydration-notes/"),
            "{feed}"
        );
    }
    // Every comment of the altitude post — the WXR's, the dump's (named first) and Disqus's
    // (http, no trailing slash) — is in its one thread.
    let on_altitude =
        "SELECT COUNT(*) FROM comments WHERE article = '/2019/04/12/sourdough-at-altitude/'";
    let on_post_101 = list(
        "SELECT remote_id FROM comments WHERE remote_id IN \
         ('wordpress:530', 'wordpress:531', 'disqus:8005') ORDER BY remote_id",
    );
    assert_eq!(on_post_101.len(), 3, "{on_post_101:?}");
    assert_eq!(
        list(
            "SELECT DISTINCT article FROM comments WHERE remote_id IN \
             ('wordpress:530', 'wordpress:531', 'disqus:8005')"
        ),
        ["/2019/04/12/sourdough-at-altitude/"]
    );
    assert!(count(&db, on_altitude) >= 9);
    // The password-protected post's comment stays on its hidden article.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM comments c JOIN articles a ON a.slug = c.article \
             WHERE c.remote_id = 'wordpress:510' AND NOT a.public"
        ),
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM articles WHERE public"), 0);

    // In two runs, either way round: the dump's comments reach the thread too (a later dump
    // finds the post's thread by its id; an earlier one's placeholder hands its comments over).
    for (name, runs) in [
        (
            "wxr-then-dump.db",
            [fixture("wordpress.wxr"), fixture("wp-comments.json")],
        ),
        (
            "dump-then-wxr.db",
            [fixture("wp-comments.json"), fixture("wordpress.wxr")],
        ),
    ] {
        let split = dir.path().join(name);
        add_blog(&split, "https://fieldnotes.example.org");
        for file in &runs {
            import(&split, std::slice::from_ref(file), &["--site", "blog"]);
        }
        let dumped = "SELECT COUNT(*) FROM comments WHERE remote_id IN \
             ('wordpress:530', 'wordpress:531') \
             AND article = '/2019/04/12/sourdough-at-altitude/'";
        assert_eq!(count(&split, dumped), 2, "{name}");
        let placeholders =
            "SELECT COUNT(*) FROM articles WHERE remote_id = 'wordpress-post:101' AND title = ''";
        assert_eq!(count(&split, placeholders), 0, "{name}");
    }

    // The same files onto the default site: articles, no threads.
    let plain = dir.path().join("plain.db");
    let (_, out, _) = import(&plain, &files, &[]);
    assert!(!out.contains("threads (pages"), "{out}");
    assert_eq!(count(&plain, "SELECT COUNT(*) FROM threads"), 0);
}

/// A post imported as a site's page and later no longer public (its next export says
/// `private`) is a hidden article from then on: a new comment on it is not shown by the
/// site's thread. And the default site importing the same blog's posts puts nothing on the
/// other site's threads (a comment already imported stays the blog's).
#[test]
fn a_page_unpublished_later_hides_its_new_comments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    add_blog(&db, "https://fieldnotes.example.org");
    import(&db, &[fixture("wordpress.wxr")], &["--site", "blog"]);
    let wxr = std::fs::read_to_string(fixture("wordpress.wxr")).unwrap();
    let private = wxr
        .replacen(
            "<wp:status><![CDATA[publish]]></wp:status>",
            "<wp:status><![CDATA[private]]></wp:status>",
            1,
        )
        .replacen(
            "<wp:comment_id>501</wp:comment_id>",
            "<wp:comment_id>599</wp:comment_id>",
            1,
        )
        .replacen(
            "Did you keep the same flour?",
            "Written while the post was private.",
            1,
        );
    let file = dir.path().join("private.wxr");
    std::fs::write(&file, private).unwrap();
    import(&db, std::slice::from_ref(&file), &["--site", "blog"]);
    let hidden = "SELECT COUNT(*) FROM comments c JOIN articles a ON a.slug = c.article \
         WHERE c.remote_id = 'wordpress:599' AND NOT a.public";
    assert_eq!(count(&db, hidden), 1);

    // The same posts onto the default site: its own articles, the blog's threads untouched.
    import(&db, &[fixture("wordpress.wxr")], &[]);
    let default_on_threads = "SELECT COUNT(*) FROM comments WHERE site_id = 1 \
         AND article IN (SELECT uri FROM threads)";
    assert_eq!(count(&db, default_on_threads), 0);
    let blog_threads = "SELECT COUNT(*) FROM comments WHERE site_id != 1 \
         AND article IN (SELECT uri FROM threads)";
    assert!(count(&db, blog_threads) > 0);
}

/// Files as other exporters write them: a WordPress export in the blog's Latin-1 charset (as its
/// declaration says) keeps its accented names, and a Disqus file that names a thread after its
/// posts, with a numeric UTC offset on a date, loses no comment — the dry run says the same.
#[test]
fn a_latin1_export_and_a_disqus_file_out_of_order_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wxr = dir.path().join("latin1.xml");
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:wp=\"http://wordpress.org/export/1.2/\">\n\
<channel><title>Blog</title><link>https://old.example</link><wp:wxr_version>1.2</wp:wxr_version>\n\
<item><title>Caf\xE9 notes</title><link>https://old.example/cafe-notes/</link><dc:creator>admin</dc:creator>\
<content:encoded><![CDATA[<p>Notes</p>]]></content:encoded><wp:post_id>7</wp:post_id>\
<wp:post_date_gmt>2012-01-02 10:00:00</wp:post_date_gmt><wp:post_name>cafe-notes</wp:post_name>\
<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>\n"
        .to_vec();
    for (id, author) in [(1, &b"Car\xF3l"[..]), (2, &b"Ren\xE9e"[..])] {
        let field = |name: &str, value: &[u8]| {
            [
                format!("<wp:{name}>").as_bytes(),
                value,
                format!("</wp:{name}>").as_bytes(),
            ]
            .concat()
        };
        bytes.extend_from_slice(b"<wp:comment>");
        bytes.extend(field("comment_id", id.to_string().as_bytes()));
        bytes.extend(field("comment_author", author));
        bytes.extend(field(
            "comment_author_email",
            format!("r{id}@example.org").as_bytes(),
        ));
        bytes.extend(field(
            "comment_date_gmt",
            format!("2012-01-03 10:0{id}:00").as_bytes(),
        ));
        bytes.extend(field("comment_content", b"Tr\xE8s bien, merci"));
        bytes.extend(field("comment_approved", b"1"));
        bytes.extend_from_slice(b"</wp:comment>\n");
    }
    bytes.extend_from_slice(b"</item></channel></rss>\n");
    std::fs::write(&wxr, bytes).unwrap();
    let disqus = dir.path().join("disqus.xml");
    std::fs::write(
        &disqus,
        r#"<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<post dsq:id="1"><id/><message><![CDATA[<p>hello from before the thread</p>]]></message><createdAt>2015-06-01T10:20:30+02:00</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam><author><email>a@x.example</email><name>A</name><isAnonymous>false</isAnonymous></author><thread dsq:id="9"/></post>
<thread dsq:id="9"><id>t9</id><link>https://old.example/t9/</link><title>T9</title><createdAt>2015-05-30T08:00:00Z</createdAt><isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
</disqus>
"#,
    )
    .unwrap();
    let db = dir.path().join("rg.db");
    let (code, dry, err) = import(&db, &[wxr.clone(), disqus.clone()], &["--dry-run"]);
    assert_eq!(code, 0, "{dry}{err}");
    assert!(!dry.contains("1 orphaned"), "{dry}");
    let (code, out, err) = import(&db, &[wxr, disqus], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM comments WHERE author IN ('Caról', 'Renée') AND content LIKE 'Très bien%'"
        ),
        2,
        "{out}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM comments WHERE content LIKE '%before the thread%' AND created_at LIKE '2015-06-01T08:20:30%'"
        ),
        1,
        "{out}"
    );
}

/// A draft WordPress names only by `?p=ID` (it has no address of its own yet): what `export`
/// wrote of it, in either format, imported back into the same database is the same post, not a
/// new `draft-post-2` with a copy of each comment.
#[test]
fn a_post_known_by_its_id_alone_round_trips_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let wxr = dir.path().join("draft.xml");
    std::fs::write(
        &wxr,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Blog</title><link>https://blog.example.com</link><wp:wxr_version>1.2</wp:wxr_version>
<item><title>Draft post</title><link>https://blog.example.com/?p=7</link><dc:creator>admin</dc:creator>
<content:encoded><![CDATA[Body]]></content:encoded><wp:post_id>7</wp:post_id>
<wp:post_date>2024-02-01 00:00:00</wp:post_date><wp:post_date_gmt>0000-00-00 00:00:00</wp:post_date_gmt>
<wp:post_name></wp:post_name><wp:status>draft</wp:status><wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>3</wp:comment_id><wp:comment_author>Ana</wp:comment_author>
<wp:comment_author_email>ana@example.org</wp:comment_author_email><wp:comment_date_gmt>2024-02-02 10:00:00</wp:comment_date_gmt>
<wp:comment_content><![CDATA[An early note on the draft.]]></wp:comment_content><wp:comment_approved>1</wp:comment_approved></wp:comment>
</item></channel></rss>
"#,
    )
    .unwrap();
    let db = dir.path().join("rg.db");
    let (code, out, err) = import(&db, &[wxr], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let articles = || count(&db, "SELECT COUNT(*) FROM articles");
    let comments = || count(&db, "SELECT COUNT(*) FROM comments");
    let before = (articles(), comments());
    for format in ["disqus", "wxr"] {
        let file = dir.path().join(format!("export.{format}"));
        export(&db, format, &file);
        let (code, out, err) = import(&db, &[file], &[]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!((articles(), comments()), before, "{format}: {out}");
    }
}
