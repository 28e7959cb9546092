//! The Akismet-compatible API over a real socket: every endpoint, both key placements, and every
//! documented error answered as Akismet does (`invalid` + `X-akismet-debug-help`), never a 500.

use crate::common;

use common::{Server, TOKEN, agent, model, run, text};
use serde_json::Value;
use std::path::Path;

const BLOG: &str = "https://blog.example.com";
const HAM: &str = "Thanks for the write-up, the part about the data centres was new to me.";
const SPAM: &str = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz";

fn add_key(db: &Path, extra: &[&str]) -> String {
    let mut args = vec!["keys", "--db", db.to_str().unwrap(), "add", "--blog", BLOG];
    args.extend_from_slice(extra);
    let out = run(&args, None, db.parent().unwrap());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the key is alone on stdout: {stdout:?}");
    assert!(text(&out.stderr).contains("only its hash is kept"));
    lines[0].to_string()
}

/// A fresh database with one key for `BLOG`, and a server on it started with `extra`.
fn server_with_key(extra: &[&str]) -> (tempfile::TempDir, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let key = add_key(&db, &[]);
    let server = Server::start(&db, &model(), extra);
    (dir, key, server)
}

struct Answer {
    status: u16,
    body: String,
    guid: Option<String>,
    pro_tip: Option<String>,
    debug: Option<String>,
}

fn post(server: &Server, path: &str, host: Option<&str>, form: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(&server.url(path));
    if let Some(host) = host {
        req = req.header("Host", host);
    }
    let mut resp = req.send_form(form.iter().copied()).unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (guid, pro_tip, debug) = (
        header("x-akismet-guid"),
        header("x-akismet-pro-tip"),
        header("x-akismet-debug-help"),
    );
    Answer {
        status: resp.status().as_u16(),
        body: resp.body_mut().read_to_string().unwrap(),
        guid,
        pro_tip,
        debug,
    }
}

fn check<'a>(
    key: &'a str,
    content: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("api_key", key),
        ("blog", BLOG),
        ("user_ip", "203.0.113.7"),
        ("user_agent", "Mozilla/5.0"),
        ("referrer", "https://blog.example.com/post"),
        ("permalink", "https://blog.example.com/post"),
        ("comment_type", "comment"),
        ("comment_author", "Reader"),
        ("comment_author_email", "reader@example.org"),
        ("comment_content", content),
        ("blog_lang", "en"),
        ("comment_context[]", "olympics"),
        ("some_future_param", "ignored"),
    ];
    // A field given in `extra` replaces the default one.
    form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    form.extend_from_slice(extra);
    form
}

#[test]
fn akismet_endpoints_answer_like_akismet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let key = add_key(&db, &["--quota", "1000"]);
    let server = Server::start(&db, &model(), &[]);

    // verify-key
    let a = post(
        &server,
        "/1.1/verify-key",
        None,
        &[("key", &key), ("blog", BLOG)],
    );
    assert_eq!((a.status, a.body.as_str()), (200, "valid"));
    let a = post(
        &server,
        "/1.1/verify-key",
        None,
        &[("key", &key), ("blog", "https://other.example.net")],
    );
    assert_eq!(a.body, "invalid");
    assert!(a.debug.unwrap().contains("not valid for the blog"));
    // The same blog under www., another scheme or with a trailing slash is the key's blog.
    let www = BLOG
        .replacen("://", "://www.", 1)
        .replacen("https:", "http:", 1)
        + "/";
    let a = post(
        &server,
        "/1.1/verify-key",
        None,
        &[("key", &key), ("blog", &www)],
    );
    assert_eq!((a.status, a.body.as_str()), (200, "valid"), "{www}");
    let a = post(
        &server,
        "/1.1/verify-key",
        None,
        &[("key", "0123456789abcdef01234567"), ("blog", BLOG)],
    );
    assert_eq!(a.body, "invalid");
    assert!(a.debug.is_some());

    // comment-check: ham, spam with the discard tip
    let a = post(&server, "/1.1/comment-check", None, &check(&key, HAM, &[]));
    assert_eq!((a.status, a.body.as_str()), (200, "false"));
    assert!(a.guid.is_some() && a.pro_tip.is_none());
    // Stored and published in the key's namespace, it is shown nowhere on the site: not in the
    // Isso-compatible API's latest comments either.
    let latest = server.get_text("/isso/latest?limit=20");
    assert!(
        !latest.contains("akismet:") && !latest.contains(&HAM[..20]),
        "{latest}"
    );
    let spam = post(&server, "/1.1/comment-check", None, &check(&key, SPAM, &[]));
    assert_eq!(spam.body, "true");
    assert_eq!(spam.pro_tip.as_deref(), Some("discard"));

    // `user_role=administrator` is never spam, as Akismet answers (the blog's own staff; the
    // check is neither kept nor learned, so a key's role reaches nothing of the site); a filled
    // honeypot is always spam
    let a = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(&key, SPAM, &[("user_role", "administrator")]),
    );
    assert_eq!(a.body, "false");
    let a = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(
            &key,
            HAM,
            &[("honeypot_field_name", "hp"), ("hp", "filled")],
        ),
    );
    assert_eq!(a.body, "true");

    // The same comment again from the same reader is held ("true" without the discard tip), as
    // the form would refuse it; a recheck of it is not a duplicate.
    let again = post(&server, "/1.1/comment-check", None, &check(&key, HAM, &[]));
    assert_eq!((again.body.as_str(), again.pro_tip), ("true", None));
    let recheck = check(
        &key,
        HAM,
        &[("recheck_reason", "edit"), ("user_ip", "198.51.100.9")],
    );
    let a = post(&server, "/1.1/comment-check", None, &recheck);
    assert_eq!(a.body, "false");

    // key as subdomain (legacy clients): KEY.host
    let host = format!("{key}.localhost");
    let mut form = check(
        &key,
        "A different remark about the opening ceremony.",
        &[("user_ip", "198.51.100.10")],
    );
    form.retain(|(k, _)| *k != "api_key");
    let a = post(&server, "/1.1/comment-check", Some(&host), &form);
    assert_eq!(a.body, "false", "{:?}", a.debug);

    // errors: each is `invalid` with a reason, never a 500
    let mut no_ip = check(&key, HAM, &[]);
    no_ip.retain(|(k, _)| *k != "user_ip");
    let a = post(&server, "/1.1/comment-check", None, &no_ip);
    assert_eq!((a.status, a.body.as_str()), (200, "invalid"));
    assert!(a.debug.unwrap().contains("user_ip"));
    let mut no_blog = check(&key, HAM, &[]);
    no_blog.retain(|(k, _)| *k != "blog");
    let a = post(&server, "/1.1/comment-check", None, &no_blog);
    assert!(a.body == "invalid" && a.debug.unwrap().contains("blog"));
    let a = post(
        &server,
        "/1.1/comment-check",
        Some("127.0.0.1"),
        &[("blog", BLOG), ("user_ip", "1.2.3.4")],
    );
    assert!(a.body == "invalid" && a.debug.unwrap().contains("api_key"));
    let mut resp = agent()
        .post(&server.url("/1.1/comment-check"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(&b"api_key=x&comment_content=%FF%FE"[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()
            .get("x-akismet-debug-help")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("UTF-8")
    );
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "invalid");
    // A blog whose charset is Latin-1 sends its accented letters as single bytes, and says so in
    // `blog_charset`: the check is read in that charset and stored as the reader wrote it.
    let latin1 = format!(
        "api_key={key}&blog={}&user_ip=203.0.113.9&comment_type=comment&comment_author=Ren%E9e\
         &comment_author_email=renee%40mail.example&blog_charset=ISO-8859-1\
         &comment_content=Tr%E8s+bon+article%2C+merci+pour+les+d%E9tails+sur+les+sites+olympiques.",
        BLOG.replace(':', "%3A").replace('/', "%2F")
    );
    let mut resp = agent()
        .post(&server.url("/1.1/comment-check"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(latin1.as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer = resp.body_mut().read_to_string().unwrap();
    assert!(answer == "false" || answer == "true", "{answer}");
    let status = if answer == "false" {
        "published"
    } else {
        "held"
    };
    let (_, stored) = server.admin_api(
        "GET",
        &format!("/api/v1/admin/comments?status={status}"),
        None,
    );
    assert!(
        stored.contains("Très bon article, merci pour les détails") && stored.contains("Renée"),
        "{stored}"
    );
    // A charset that does not write ASCII as ASCII would misread the field names: refused.
    let mut resp = agent()
        .post(&server.url("/1.1/comment-check"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(&b"api_key=x&blog_charset=UTF-16&comment_content=%FF%FE"[..])
        .unwrap();
    let help = resp
        .headers()
        .get("x-akismet-debug-help")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(help.contains("blog_charset"), "{help}");
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "invalid");
    // A body that is no form is named as what it is, not as a form missing its key.
    for (kind, encoding, says) in [
        ("application/json", None, "application/json"),
        (
            "multipart/form-data; boundary=x",
            None,
            "multipart/form-data",
        ),
        (
            "application/x-www-form-urlencoded",
            Some("gzip"),
            "Content-Encoding: gzip",
        ),
    ] {
        let mut req = agent()
            .post(&server.url("/1.1/comment-check"))
            .header("content-type", kind);
        if let Some(encoding) = encoding {
            req = req.header("content-encoding", encoding);
        }
        let mut resp = req
            .send(format!("{{\"api_key\":\"{key}\",\"blog\":\"{BLOG}\"}}").as_bytes())
            .unwrap();
        let help = resp.headers()["x-akismet-debug-help"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(help.contains(says), "{kind}: {help}");
        assert_eq!(resp.body_mut().read_to_string().unwrap(), "invalid");
    }
    // WordPress sends a comment's text three times, percent-encoded: a long comment in Cyrillic
    // (5,000 characters, about 90 KB on the wire) is answered, not refused.
    let long = "Спасибо за подробный разбор, очень полезно для новичков. ".repeat(90);
    let wordpress = check(
        &key,
        &long,
        &[
            ("comment_as_submitted_comment_content", &long),
            ("POST_comment", &long),
        ],
    );
    let a = post(&server, "/1.1/comment-check", None, &wordpress);
    assert_eq!(a.status, 200, "{:?}", a.debug);
    assert!(
        a.body == "false" || a.body == "true",
        "{} {:?}",
        a.body,
        a.debug
    );
    // A lesson's text may not be that large: a submit beyond WordPress's longest comment is
    // refused with the reason, and nothing is learned.
    let too_long = "word ".repeat(14_000);
    let a = post(
        &server,
        "/1.1/submit-spam",
        None,
        &check(&key, &too_long, &[]),
    );
    assert_eq!(a.body, "invalid");
    assert!(a.debug.unwrap().contains("longer than 65525"));
    // Past the limit (1 MiB) it is refused from its announced length, before the body is read.
    let answer = {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
        tcp.write_all(
            b"POST /1.1/comment-check HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048577\r\nConnection: close\r\n\r\napi_key=",
        )
        .unwrap();
        let mut answer = String::new();
        let _ = tcp.read_to_string(&mut answer);
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 1048576 bytes"), "{answer}");

    // is_test: scored, not stored or counted
    let mut resp = agent()
        .get(&server.url(&format!("/1.2/usage-limit?api_key={key}")))
        .call()
        .unwrap();
    let before: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let a = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(&key, SPAM, &[("is_test", "1")]),
    );
    assert_eq!(a.body, "true");
    let mut resp = agent()
        .get(&server.url(&format!("/1.2/usage-limit?api_key={key}")))
        .call()
        .unwrap();
    let after: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(before["usage"], after["usage"]);
    assert_eq!(after["limit"], 1000);
    assert_eq!(after["usage"], 9, "nine stored checks so far");
    assert_eq!(after["throttled"], false);
    assert!(after["percentage"].is_string());

    // Calls are counted in memory and added to the database in batches, within a couple of
    // seconds: there other replicas and the next start find them.
    let in_database = || -> i64 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("SELECT COALESCE(SUM(calls), 0) FROM api_usage", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while in_database() != 9 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(in_database(), 9);

    // stored checks appear in the moderation queue with their source
    let mut resp = agent()
        .get(&server.url("/api/v1/admin/comments?status=spam"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let queue: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let sources: Vec<&str> = queue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert!(
        !sources.is_empty() && sources.iter().all(|s| *s == "akismet"),
        "{queue}"
    );

    // submit-spam / submit-ham: thanks, and a labeled example for the next training run
    let guid = spam.guid.unwrap();
    let a = post(
        &server,
        "/1.1/submit-ham",
        None,
        &check(&key, SPAM, &[("guid", &guid)]),
    );
    assert_eq!(a.body, "Thanks for making the web a better place.");
    let a = post(
        &server,
        "/1.1/submit-spam",
        None,
        &check(&key, "Cheap watches at www.replica.example", &[]),
    );
    assert_eq!(a.body, "Thanks for making the web a better place.");
    let a = post(
        &server,
        "/1.1/submit-spam",
        None,
        &[("api_key", "wrong"), ("blog", BLOG)],
    );
    assert_eq!(a.body, "invalid");
    // A moderator's decision on the site's own page: the site's model learns it.
    let mut resp = agent()
        .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
        .send_json(serde_json::json!({
            "comment_content": "Visit my page for the best replica handbags and watches, cheap!",
            "comment_author": "Seller",
            "comment_author_email": "seller@example.net",
        }))
        .unwrap();
    let posted: Value = resp.body_mut().read_json().unwrap();
    let (status, _) = server.admin_api(
        "POST",
        &format!("/api/v1/admin/comments/{}/spam", posted["id"]),
        None,
    );
    assert_eq!(status, 200);
    server.stop();

    let export = dir.path().join("fb.jsonl");
    let fixtures = common::write_fixtures(dir.path());
    let mut args: Vec<String> = ["train", "--calibration-folds", "2", "--out"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.path().join("m.rgm").display().to_string());
    args.extend([
        "--feedback".to_string(),
        db.display().to_string(),
        "--feedback-export".into(),
        export.display().to_string(),
    ]);
    args.extend(fixtures.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // What the model file learned from the database, as training records: the site's own
    // moderation, never a key's corrections or votes (a partner teaches its own model only).
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["label"], "spam");
    assert_eq!(
        rows[0]["comment_content"],
        "Visit my page for the best replica handbags and watches, cheap!"
    );
    assert!(
        !rows.iter().any(|r| r["comment_content"] == SPAM
            || r["comment_content"] == "Cheap watches at www.replica.example"),
        "{rows:?}"
    );

    // keys list / revoke
    let out = run(
        &["keys", "--db", db.to_str().unwrap(), "list"],
        None,
        dir.path(),
    );
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&key[..6]) && !listing.contains(&key),
        "{listing}"
    );
    // A lost key is revoked by the prefix the listing shows (as shown, with its ellipsis); a
    // prefix no active key has is said.
    let shown = format!("{}…", &key[..6]);
    let out = run(
        &["keys", "--db", db.to_str().unwrap(), "revoke", &shown],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &["keys", "--db", db.to_str().unwrap(), "revoke", &key[..6]],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no active key matches"));
    let listing = text(
        &run(
            &["keys", "--db", db.to_str().unwrap(), "list"],
            None,
            dir.path(),
        )
        .stdout,
    );
    assert!(listing.contains("revoked"), "{listing}");
    let server = Server::start(&db, &model(), &[]);
    let a = post(
        &server,
        "/1.1/verify-key",
        None,
        &[("key", &key), ("blog", BLOG)],
    );
    assert_eq!(a.body, "invalid");
}

#[test]
fn held_comments_are_spam_without_the_discard_tip() {
    let (_dir, key, server) =
        server_with_key(&["--hold-threshold", "0", "--reject-threshold", "1"]);
    let a = post(&server, "/1.1/comment-check", None, &check(&key, HAM, &[]));
    assert_eq!(a.body, "true");
    assert!(a.pro_tip.is_none());
    let mut resp = agent()
        .get(&server.url(&format!("/1.2/usage-limit?api_key={key}")))
        .call()
        .unwrap();
    let usage: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(usage["limit"], "none");
}

/// A blog on a key meets what replyguard knows of its senders from that key's own checks, as the
/// site's readers do: a returning reader of the blog is published where a stranger with the same
/// words is held (`true`), and a sender the blog reported with `submit-spam` is held however
/// harmless the next words. Neither history crosses over: the key's report does not hold the
/// site's own reader with that address. Before, no sender rule ran on a check.
#[test]
fn a_keys_own_history_decides_before_the_words() {
    let (_dir, key, server) = server_with_key(&[]);
    let from = |who: &'static str, ip: &'static str, text: &'static str| {
        let email: &'static str = Box::leak(format!("{who}@mail.example").into_boxed_str());
        check(
            &key,
            text,
            &[
                ("comment_author", who),
                ("comment_author_email", email),
                ("user_ip", ip),
            ],
        )
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<Vec<_>>()
    };
    let ask = |form: &[(String, String)]| {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post(&server, "/1.1/comment-check", None, &form)
    };
    // A wording the model holds from a stranger (the generic praise of link spam).
    let praise = "Great post, I will check back again.";
    assert_eq!(ask(&from("Stranger", "198.51.100.20", praise)).body, "true");
    assert_eq!(ask(&from("Ana", "198.51.100.21", HAM)).body, "false");
    assert_eq!(
        ask(&from("Ana", "198.51.100.22", praise)).body,
        "false",
        "a returning reader of the blog"
    );

    // The blog reports a check as spam, quoting its guid: the sender's next check is held,
    // though its words are harmless.
    let first = ask(&from(
        "Seller",
        "198.51.100.30",
        "The part about the data centres was new to me, thanks.",
    ));
    assert_eq!(first.body, "false");
    let guid = first.guid.unwrap();
    let report = post(
        &server,
        "/1.1/submit-spam",
        None,
        &check(
            &key,
            "The part about the data centres was new to me, thanks.",
            &[("guid", &guid)],
        ),
    );
    assert_eq!(report.status, 200);
    let next = ask(&from(
        "Seller",
        "198.51.100.31",
        "I read it twice; the section on the contract was clear.",
    ));
    assert_eq!(next.body, "true", "a sender the blog marked spam");

    // The key's report is no evidence about the site's own reader with that address.
    let mut resp = agent()
        .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
        .send_json(serde_json::json!({
            "comment_content": "I read it twice; the section on the contract was clear.",
            "comment_author": "Seller",
            "comment_author_email": "Seller@mail.example",
        }))
        .unwrap();
    let site: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(site["verdict"], "published", "{site}");
}

/// What WordPress sends besides ordinary comments is taken as it is: a pingback's "author" is the
/// linking post's title and its Website that post's deep address (scored on its excerpt, not on
/// those spam-like shapes); two readers behind one address are not a flood; an administrator is
/// never spam and Akismet's test sender always is; a long comment the blog
/// accepted is kept, so its later correction lands; and a bulk correction by guid is not cut by
/// the submit budget, which is for votes without one.
#[test]
fn wordpress_linkbacks_rechecks_long_comments_and_bulk_corrections() {
    let (dir, key, server) = server_with_key(&["--flood-seconds", "60"]);
    let pingback = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(
            &key,
            "[&#8230;] Maria's weekend sourdough roundup links the crumb shots from this post [&#8230;]",
            &[
                ("comment_type", "pingback"),
                (
                    "comment_author",
                    "Weekend sourdough roundup | Maria's Kitchen",
                ),
                ("comment_author_email", ""),
                (
                    "comment_author_url",
                    "https://mariaskitchen.example/2017/02/14/weekend-sourdough-roundup/",
                ),
                ("user_ip", "198.51.100.40"),
            ],
        ),
    );
    assert_eq!(pingback.body, "false");

    // Two comments from one address inside the flood window, from two readers (a blog behind a
    // proxy, an office's contact form): both answered `false` — the blog applied its own flood
    // check before asking, so the site's is not applied again.
    let reader = |text: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut form = check(
            &key,
            text,
            &[
                ("user_ip", "198.51.100.41"),
                ("comment_author", "Lena"),
                ("comment_author_email", "lena@mail.example"),
            ],
        );
        form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        form.extend_from_slice(extra);
        post(&server, "/1.1/comment-check", None, &form)
    };
    assert_eq!(reader(HAM, &[]).body, "false");
    let second = "I tried the overnight proof you describe and the crumb came out open.";
    let other_reader = [
        ("comment_author", "Raj"),
        ("comment_author_email", "raj@mail.example"),
    ];
    assert_eq!(reader(second, &other_reader).body, "false");
    let recheck = reader(second, &[("recheck_reason", "recheck_queue")]);
    assert_eq!(recheck.body, "false", "a recheck");

    // Akismet's fixed answers: the blog's administrator is never spam, whatever the words (and
    // the check is not kept: it is no reader's comment to learn from); its test sender always is.
    let shop = "Reminder: the shop is open, buy now and get 20% off cheap at https://blog.example.com/shop click here!!!";
    let admin = reader(shop, &[("user_role", "administrator")]);
    assert_eq!((admin.body.as_str(), admin.pro_tip), ("false", None));
    assert_eq!(
        reader(shop, &[]).body,
        "true",
        "the same words from a reader"
    );
    let test_sender = reader(HAM, &[("comment_author", "viagra-test-123")]);
    assert_eq!(test_sender.body, "true");
    let test_address = reader(
        HAM,
        &[(
            "comment_author_email",
            "akismet-guaranteed-spam@example.com",
        )],
    );
    assert_eq!(test_address.body, "true");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stored = |like: &str| -> i64 {
        rusqlite::Connection::open(dir.path().join("rg.db"))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM comments WHERE content LIKE ?1 OR author LIKE ?1",
                [like],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(stored("%the shop is open%"), 1, "the reader's check only");
    assert_eq!(stored("viagra-test-123"), 0);

    // A 12,000-character comment the blog accepted is kept: its guid corrects it.
    let long = format!("{} ", HAM).repeat(12_000 / (HAM.len() + 1) + 1);
    let checked = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(&key, &long, &[("user_ip", "198.51.100.42")]),
    );
    let guid = checked.guid.unwrap();
    post(
        &server,
        "/1.1/submit-spam",
        None,
        &check(&key, &long, &[("guid", &guid)]),
    );
    let stored = common::stored_comments(&server);
    assert!(
        stored
            .iter()
            .any(|c| c["content"].as_str().is_some_and(|t| t.len() > 12_000)
                && c["status"] == "spam"),
        "the long comment was kept and corrected"
    );

    // 70 corrections by guid in a row (a bulk "Not spam"): every one accepted.
    let mut guids = Vec::new();
    for i in 0..70 {
        let ip = format!("198.51.{}.{}", 101 + i / 200, 1 + i % 200);
        let text = format!("Comment number {i} of the bulk: a reader's thought on the recipe.");
        let a = post(
            &server,
            "/1.1/comment-check",
            None,
            &check(&key, &text, &[("user_ip", &ip), ("is_test", "0")]),
        );
        guids.push((a.guid.unwrap(), text));
    }
    for (guid, text) in &guids {
        let a = post(
            &server,
            "/1.1/submit-ham",
            None,
            &check(&key, text, &[("guid", guid)]),
        );
        assert_eq!(a.status, 200, "{:?}", a.debug);
    }
    // One check corrected back and forth: three corrections count, later ones change nothing
    // (each was a copy of its text in the learning log).
    let text = "The crumb shots convinced me to try a longer cold proof this weekend.";
    let fresh = post(
        &server,
        "/1.1/comment-check",
        None,
        &check(
            &key,
            text,
            &[
                ("user_ip", "198.51.100.77"),
                ("comment_author", "Noor"),
                ("comment_author_email", "noor@mail.example"),
            ],
        ),
    );
    assert_eq!(fresh.body, "false");
    let guid = fresh.guid.unwrap();
    for path in [
        "/1.1/submit-spam",
        "/1.1/submit-ham",
        "/1.1/submit-spam",
        "/1.1/submit-ham",
    ] {
        let a = post(&server, path, None, &check(&key, text, &[("guid", &guid)]));
        assert_eq!(a.status, 200);
    }
    let flipped = common::stored_comments(&server)
        .into_iter()
        .find(|c| c["content"] == text)
        .unwrap();
    assert_eq!(flipped["status"], "spam", "the fourth flip changed nothing");
}

/// A blog's traffic is mostly spam; its key's share of spam must not push its readers into the
/// blog's spam folder (a relayed check's hold), which few owners read: a reader's comment the
/// key answered `false` before forty spam checks is still `false` after them (`true` on the
/// build before, where the key's share of spam moved every check towards spam).
#[test]
fn a_spam_heavy_blog_does_not_send_its_readers_to_the_spam_folder() {
    let (_dir, key, server) = server_with_key(&["--flood-seconds", "0"]);
    let reader = "Wonderful work on Tommy Flanagan. Amazing accompanist, respected player in his own right, what a great man. Thank you.";
    let ask = |content: &str, n: usize, test: bool| {
        let (ip, email) = (
            format!("198.51.100.{}", n % 250 + 1),
            format!("r{n}@mail.example"),
        );
        let mut extra = vec![
            ("user_ip", ip.as_str()),
            ("comment_author_email", email.as_str()),
        ];
        if test {
            extra.push(("is_test", "1"));
        }
        post(
            &server,
            "/1.1/comment-check",
            None,
            &check(&key, content, &extra),
        )
        .body
    };
    assert_eq!(ask(reader, 1000, true), "false");
    for n in 0..40 {
        assert_eq!(ask(&format!("{SPAM} {n}"), n, false), "true");
    }
    assert_eq!(ask(reader, 1000, true), "false");
}

/// A key's checks answered `false` that its blog leaves alone are the blog's readers: learned as
/// the key's ham once its delay has passed (here 0 s), as a site's comments that stay published
/// are, so the blog's spam reports have something to be told apart from (a layer with one class
/// only says nothing). The blog's `submit-spam` quoting a check's guid takes its ham back.
#[test]
fn a_keys_checks_that_stay_ham_are_its_readers() {
    let (_dir, key, server) =
        server_with_key(&["--flood-seconds", "0", "--learn-published-after", "2s"]);
    let ask = |path: &str, text: &str, n: usize, extra: &[(&str, &str)]| {
        let (ip, email) = (format!("198.51.100.{n}"), format!("r{n}@mail.example"));
        let mut fields = vec![
            ("user_ip", ip.as_str()),
            ("comment_author_email", email.as_str()),
        ];
        fields.extend_from_slice(extra);
        post(&server, path, None, &check(&key, text, &fields))
    };
    // Within the delay, as a blog's owner does: a report without a guid (an older client) of
    // one check; a recheck of another, reported by the recheck's guid; a third checked twice and
    // left alone.
    let voted = "Is the sponsorship deal public, and who signed it for the committee?";
    assert_eq!(ask("/1.1/comment-check", voted, 10, &[]).body, "false");
    let thanks = ask("/1.1/submit-spam", voted, 10, &[]);
    assert_eq!(thanks.body, "Thanks for making the web a better place.");
    let rechecked = "Which cities bid for the games after this one, and when is the vote?";
    assert_eq!(ask("/1.1/comment-check", rechecked, 11, &[]).body, "false");
    // The recheck's text as the blog sends it after an edit of case and spacing only.
    let recheck_text = rechecked.to_lowercase().replace(", ", ",  ");
    let again = ask(
        "/1.1/comment-check",
        &recheck_text,
        11,
        &[("recheck_reason", "edit")],
    );
    assert_eq!(again.body, "false");
    let guid = again.guid.unwrap();
    ask("/1.1/submit-spam", &recheck_text, 11, &[("guid", &guid)]);
    let twice = "Good summary of the broadcasting rights, thanks for writing it up.";
    assert_eq!(ask("/1.1/comment-check", twice, 12, &[]).body, "false");
    let again = ask(
        "/1.1/comment-check",
        twice,
        12,
        &[("recheck_reason", "edit")],
    );
    assert_eq!(again.body, "false");
    let mut guids = Vec::new();
    for (n, text) in [
        "Thanks for the write-up, the part about the data centres was new to me.",
        "Which venues will host the rowing events next year?",
        "I tried the recipe with less sugar and it still worked, thank you.",
    ]
    .into_iter()
    .enumerate()
    {
        let (ip, email) = (
            format!("198.51.100.{}", n + 1),
            format!("r{n}@mail.example"),
        );
        let a = post(
            &server,
            "/1.1/comment-check",
            None,
            &check(
                &key,
                text,
                &[("user_ip", &ip), ("comment_author_email", &email)],
            ),
        );
        assert_eq!(a.body, "false", "{text}");
        guids.push((a.guid.unwrap(), text, ip, email));
    }
    let lessons = |source: &str| -> Vec<Value> {
        let (status, body) =
            server.admin_api("GET", "/api/v1/admin/lessons?teaches=akismet:1", None);
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        body["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["source"] == source)
            .cloned()
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while lessons("implicit").len() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Passes after the last check find nothing more to learn.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let implicit = lessons("implicit");
    assert_eq!(implicit.len(), 4, "{implicit:?}");
    assert_eq!(
        implicit.iter().filter(|l| l["text"] == twice).count(),
        1,
        "{implicit:?}"
    );
    assert!(
        !implicit
            .iter()
            .any(|l| l["text"] == voted || l["text"] == rechecked),
        "{implicit:?}"
    );
    assert!(
        implicit
            .iter()
            .all(|l| l["label"] == "ham" && l["sign"] == 1)
    );
    // The site's own model learned none of them.
    let (_, site) = server.admin_api("GET", "/api/v1/admin/lessons?teaches=default", None);
    assert!(!site.contains("implicit"), "{site}");
    let (guid, text, ip, email) = &guids[0];
    let a = post(
        &server,
        "/1.1/submit-spam",
        None,
        &check(
            &key,
            text,
            &[
                ("guid", guid),
                ("user_ip", ip),
                ("comment_author_email", email),
            ],
        ),
    );
    assert_eq!(a.body, "Thanks for making the web a better place.");
    let implicit = lessons("implicit");
    assert!(
        implicit
            .iter()
            .any(|l| l["sign"] == -1 && l["text"] == *text),
        "taken back: {implicit:?}"
    );
}

/// A key's checks are learned by time only: the readers' comments that let a busy site learn
/// sooner are the site's own, and say nothing of whether the blog has looked at its checks; the
/// site's comments learned sooner do not make the learner pass a check not yet old enough.
#[test]
fn a_keys_checks_wait_for_the_delay_not_for_the_sites_readers() {
    let (_dir, key, server) = server_with_key(&[
        "--flood-seconds",
        "0",
        "--learn-published-after",
        "8s",
        "--learn-published-after-comments",
        "2",
    ]);
    let a = post(&server, "/1.1/comment-check", None, &check(&key, HAM, &[]));
    assert_eq!(a.body, "false");
    for n in 0..4 {
        let mut resp = agent()
            .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
            .send_json(serde_json::json!({
                "comment_content": format!("Question {n}: which venues does the cloud deal cover, and from which year?"),
                "comment_author": format!("Reader {n}"),
                "comment_author_email": format!("reader{n}@example.org"),
            }))
            .unwrap();
        let posted: Value = resp.body_mut().read_json().unwrap();
        assert_eq!(posted["status"], "published", "{posted}");
    }
    let learned = |teaches: &str| -> usize {
        let (_, body) = server.admin_api(
            "GET",
            &format!("/api/v1/admin/lessons?teaches={teaches}"),
            None,
        );
        body.matches("\"implicit\"").count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while learned("default") < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        learned("default") >= 2,
        "the site's readers are learned by count"
    );
    assert_eq!(
        learned("akismet:1"),
        0,
        "the key's check waits for its delay"
    );
    // ... and is learned once it has passed (the site's comments learned meanwhile must not
    // have carried the pass beyond it).
    while learned("akismet:1") < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        learned("akismet:1"),
        1,
        "the key's check is learned after its delay"
    );
}
