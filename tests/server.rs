//! The comment server over a real socket: the real binary on an ephemeral port, a fresh database
//! per test, driven with an HTTP client.

use crate::common;

use common::{Server, agent, model};
use serde_json::{Value, json};

const ARTICLE: &str = "alibaba-olympic-partner";
use common::TOKEN;
const HAM: &str = "Interesting deal, I wonder how big the cloud contract with the IOC really is.";
const HAM_TWO: &str = "Does anyone know when the contract with the IOC runs out?";
const SPAM: &str = "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz";

fn get(url: &str) -> (u16, String) {
    let mut resp = agent().get(url).call().unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let mut resp = agent().post(url).send_json(body).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `post_json` with the admin secret: what a moderator's tool sees (scores and clues).
fn post_json_admin(url: &str, body: &Value) -> (u16, Value) {
    let mut resp = agent()
        .post(url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_json(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn admin(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = agent().post(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.send_empty().unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn comment(content: &str, author: &str) -> Value {
    json!({"comment_content": content, "comment_author": author, "comment_author_email": format!("{}@example.org", author.to_lowercase().replace(' ', ""))})
}

#[test]
fn ham_is_published_spam_is_rejected_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));

    let (status, ham) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 201, "{ham}");
    assert_eq!(ham["status"], "published");
    assert!(ham["clues"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(ham["spam_probability"].is_number(), "{ham}");
    let (status, spam) = post_json(&api, &comment(SPAM, "Promo King"));
    assert_eq!(status, 201, "{spam}");
    assert_eq!(spam["status"], "spam", "{spam}");
    assert_eq!(spam["verdict"], "rejected");

    let (status, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert_eq!(status, 200);
    assert!(page.contains("Leave a Reply") && page.contains("Post Comment"));
    assert!(page.contains("I wonder how big the cloud contract"));
    assert!(!page.contains("gift cards"));
    assert!(!page.contains("ana@example.org"), "e-mails are never shown");
    let (_, list) = get(&api);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains("@example.org") && !list.to_string().contains("127.0.0.1"));

    let (_, articles) = get(&server.url("/api/v1/articles"));
    let articles: Value = serde_json::from_str(&articles).unwrap();
    assert_eq!(articles[0]["slug"], ARTICLE);
    assert_eq!(articles[0]["comments"], 1);

    let (status, health) = get(&server.url("/healthz"));
    assert_eq!(status, 200, "{health}");
    assert!(health.contains("\"database\":\"ok\""));
    // The model is named in /healthz, not on the public pages (#26: the site is the blogger's).
    assert!(
        !page.contains("trained "),
        "the public footer names the model"
    );
    assert!(health.contains("\"model\""), "{health}");

    let (status, metrics) = get(&server.url("/metrics"));
    assert_eq!(status, 200);
    assert!(
        metrics.contains("replyguard_comments_total{verdict=\"published\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("replyguard_comments_total{verdict=\"rejected\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("replyguard_http_responses_total{class=\"2xx\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("replyguard_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("replyguard_stored_comments{status=\"published\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("replyguard_stored_comments{status=\"spam\"} 1"),
        "{metrics}"
    );
}

/// A JSON body that starts with a UTF-8 byte order mark (Windows tools write one; RFC 8259 lets a
/// parser ignore it) is read like any other, on the JSON API and the Isso API alike.
#[test]
fn a_json_body_with_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--site-origin", "https://blog.example"],
    );
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(comment(HAM, "Ana").to_string().as_bytes());
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .header("Content-Type", "application/json; charset=utf-8")
        .send(&body[..])
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(status, 201, "{text}");
    assert!(text.contains("\"published\""), "{text}");
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(br#"["/posts/a/", "/posts/b/"]"#);
    let mut resp = agent()
        .post(&server.url("/isso/count"))
        .header("Origin", "https://blog.example")
        .header("Content-Type", "application/json")
        .send(&body[..])
        .unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(text, "[0,0]");
}

/// `--private-scores`: a reader learns the outcome, not the score or its clues (an oracle for
/// wording that passes); the moderator's tools, with the secret, get both, and
/// `/api/v1/classify` answers only them.
#[test]
fn private_scores_are_told_only_to_the_admin() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &["--private-scores"]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, ham) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 201, "{ham}");
    assert_eq!(ham["status"], "published", "{ham}");
    assert!(
        ham.get("clues").is_none() && ham.get("spam_probability").is_none(),
        "{ham}"
    );
    let (status, mine) = post_json_admin(&api, &comment(HAM_TWO, "Ana"));
    assert_eq!(status, 201, "{mine}");
    assert!(
        mine["clues"].as_array().is_some_and(|c| !c.is_empty()),
        "{mine}"
    );
    assert!(mine["spam_probability"].is_number(), "{mine}");
    let classify = server.url("/api/v1/classify");
    assert_eq!(post_json(&classify, &comment(HAM, "Ana")).0, 401);
    let (status, scored) = post_json_admin(&classify, &comment(HAM, "Ana"));
    assert_eq!(status, 200, "{scored}");
    assert!(scored["spam_probability"].is_number(), "{scored}");
    // A front end's own bearer token (not the secret) posts as a reader: no scores.
    let mut other = agent()
        .post(&api)
        .header("Authorization", "Bearer a-jwt-of-the-site")
        .send_json(comment("Which stadiums are covered by the deal?", "Bo"))
        .unwrap();
    assert_eq!(other.status().as_u16(), 201);
    let other: Value = other.body_mut().read_json().unwrap();
    assert!(other.get("clues").is_none(), "{other}");
    let (status, _) = post_json(&classify, &comment(HAM, "Ana"));
    assert_eq!(status, 401);
    let (_, list) = get(&api);
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["total"], 3, "{list}");
}

#[test]
fn held_comment_is_seen_by_its_author_and_admin_until_approved() {
    let dir = tempfile::tempdir().unwrap();
    // Thresholds that hold everything the model does not reject outright.
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "0"],
    );
    let form_url = server.url(&format!("/articles/{ARTICLE}/comments"));
    let mut resp = agent()
        .post(&form_url)
        .send_form([
            ("comment", HAM),
            ("author", "Ana"),
            ("email", "ana@example.org"),
            ("url", ""),
            ("website", ""),
        ])
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        303,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.contains("unapproved=") && location.contains("moderation-hash="),
        "{location}"
    );

    let (_, own_view) = get(&server.url(&location));
    assert!(own_view.contains("Your comment is awaiting moderation."));
    assert!(own_view.contains("I wonder how big"));
    let (_, public) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(
        !public.contains("I wonder how big"),
        "others do not see a held comment"
    );
    let forged = location.replace("moderation-hash=", "moderation-hash=00");
    let (_, forged_view) = get(&server.url(&forged));
    assert!(!forged_view.contains("I wonder how big"));

    let queue_url = server.url("/api/v1/admin/comments?status=held");
    let mut resp = agent()
        .get(&queue_url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let queue: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let id = queue["comments"][0]["id"].as_i64().unwrap();
    assert_eq!(
        queue["comments"][0]["author_email"], "ana@example.org",
        "moderators see the e-mail"
    );

    let approve = server.url(&format!("/api/v1/admin/comments/{id}/approve"));
    assert_eq!(admin(&approve, None).0, 401);
    assert_eq!(admin(&approve, Some("wrong")).0, 401);
    let (status, approved) = admin(&approve, Some(TOKEN));
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "published");
    let (_, public) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(public.contains("I wonder how big"));

    let (status, _) = admin(
        &server.url(&format!("/api/v1/admin/comments/{id}/trash")),
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    let (_, restored) = admin(
        &server.url(&format!("/api/v1/admin/comments/{id}/restore")),
        Some(TOKEN),
    );
    assert_eq!(
        restored["status"], "published",
        "restore returns to the status before the trash"
    );
}

#[test]
fn replies_nest_under_their_parent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (_, parent) = post_json(&api, &comment(HAM, "Ana"));
    let parent_id = parent["id"].as_i64().unwrap();
    let mut reply = comment(
        "Good question, the article says no figures were disclosed.",
        "Ben",
    );
    reply["comment_parent"] = json!(parent_id);
    let (status, reply) = post_json(&api, &reply);
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["status"], "published", "{reply}");
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    let parent_at = page.find(&format!("id=\"comment-{parent_id}\"")).unwrap();
    let reply_at = page
        .find(&format!("id=\"comment-{}\"", reply["id"]))
        .unwrap();
    let parent_end = page[parent_at..].find("</li>").unwrap() + parent_at;
    assert!(
        reply_at > parent_at && reply_at < parent_end,
        "the reply is inside the parent's item"
    );

    // A Reply link's form names its comment; a link to one that takes no replies (unknown,
    // held, trashed) offers a plain comment, not a reply that posting would refuse.
    let (_, page) = get(&server.url(&format!(
        "/articles/{ARTICLE}?replytocom={parent_id}#respond"
    )));
    assert!(
        page.contains(&format!("comment #{parent_id}")),
        "reply form"
    );
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}?replytocom=9999")));
    assert!(
        !page.contains("comment #9999") && page.contains("id=\"reply-to\" hidden"),
        "no reply form for comment 9999"
    );

    let mut orphan = comment("Replying to nothing", "Cy");
    orphan["comment_parent"] = json!(9999);
    assert_eq!(post_json(&api, &orphan).0, 404);
    assert_eq!(
        post_json(
            &server.url("/api/v1/articles/nope/comments"),
            &comment(HAM, "Ana")
        )
        .0,
        404
    );
}

#[test]
fn bad_input_gets_clear_errors_and_keeps_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": "", "comment_author_email": "nope"}),
    );
    assert_eq!(status, 422);
    for field in ["comment_content", "comment_author", "comment_author_email"] {
        assert!(body["fields"][field].is_string(), "{body}");
    }
    // Fields that show nothing are refused per field; bidi controls are dropped (issue #27).
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": "\u{200B}\u{200D} \u{FEFF}", "comment_author": "\u{2060}",
                "comment_author_email": "ana@example.org"}),
    );
    assert_eq!(status, 422, "{body}");
    for field in ["comment_content", "comment_author"] {
        assert!(
            body["fields"][field]
                .as_str()
                .is_some_and(|m| m.contains("invisible")),
            "{body}"
        );
    }
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": "Thanks, the \u{202E}second\u{202C} table helped.",
                "comment_author": "Ana\u{2067} Lopes\u{2069}", "comment_author_email": "ana@example.org"}),
    );
    assert_eq!(status, 201, "{body}");
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(page.contains("the second table helped") && page.contains("Ana Lopes"));
    assert!(!page.contains('\u{202E}') && !page.contains('\u{2067}'));
    let mut resp = agent()
        .post(&api)
        .header("content-type", "application/json")
        .send("{not json")
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.body_mut().read_to_string().unwrap().contains("error"));
    let big = "x".repeat(70 * 1024);
    let resp = agent()
        .post(&api)
        .header("content-type", "application/json")
        .send(big.as_str())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);

    // The form keeps every field when one is wrong.
    let form_url = server.url(&format!("/articles/{ARTICLE}/comments"));
    let mut resp = agent()
        .post(&form_url)
        .send_form([
            ("comment", "My carefully typed thoughts"),
            ("author", "Ana"),
            ("email", "not-an-email"),
            ("url", "example.org"),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(
        page.contains("My carefully typed thoughts")
            && page.contains("value=\"Ana\"")
            && page.contains("value=\"example.org\"")
    );
    assert!(page.contains("Please enter a valid email address."));

    let resp = agent()
        .post(&form_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .send(&b"comment=%FF%FE&author=a"[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[test]
fn flood_duplicate_and_honeypot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &["--flood-seconds", "15"]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    assert_eq!(post_json(&api, &comment(HAM, "Ana")).0, 201);
    let (status, body) = post_json(&api, &comment("A second thought right away", "Ana"));
    assert_eq!(status, 429);
    assert_eq!(
        body["error"],
        "You are posting comments too quickly. Slow down."
    );
    // A refusal is a rule firing, counted as every rule is.
    let rule_count = |server: &Server, rule: &str| {
        let (_, text) = get(&server.url("/metrics"));
        let line = format!("replyguard_rule_verdicts_total{{rule=\"{rule}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {line} in {text}"))
    };
    assert_eq!(rule_count(&server, "flood"), 1);
    server.stop();

    let server = Server::start(&db, &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, body) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate comment detected")
    );
    assert_eq!(rule_count(&server, "duplicate"), 1);

    let form_url = server.url(&format!("/articles/{ARTICLE}/comments"));
    let mut resp = agent()
        .post(&form_url)
        .send_form([
            ("comment", "What a lovely article about the Games"),
            ("author", "Bot"),
            ("email", "bot@example.org"),
            ("website", "http://spam.example"),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(
        page.contains("identified as spam")
            && page.contains("What a lovely article about the Games")
    );
    // The notice never coaches a spammer on what scored (issue #26).
    assert!(page.contains("contact the site owner") && !page.contains("rephrase"));
}

#[test]
fn user_text_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "0", "--reject-threshold", "1"],
    );
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": format!("Nice {payload}"), "comment_author": format!("Eve {payload}"), "comment_author_email": "eve@example.org", "comment_author_url": "javascript:alert(3)"}),
    );
    assert_eq!(status, 422, "javascript: URLs are refused: {body}");
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": format!("Nice {payload}"), "comment_author": format!("Eve {payload}"), "comment_author_email": "eve@example.org", "comment_author_url": "http://x.example/\"onmouseover=alert(4)"}),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = post_json(
        &api,
        &json!({"comment_content": format!("Nice {payload}"), "comment_author": format!("Eve {payload}"), "comment_author_email": "eve@example.org"}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    admin(
        &server.url(&format!("/api/v1/admin/comments/{id}/approve")),
        Some(TOKEN),
    );
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(
        !page.contains("<script>alert(1)"),
        "script tag must be escaped"
    );
    assert!(!page.contains("<img src=x"), "img tag must be escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn restart_keeps_comments_and_reload_refuses_a_corrupt_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let model_copy = dir.path().join("model.rgm");
    std::fs::copy(model(), &model_copy).unwrap();
    let server = Server::start(&db, &model_copy, &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let mut ids = Vec::new();
    for (i, text) in [
        "First sensible remark about the sponsorship.",
        "Second remark: the deal runs to 2028.",
        "Third: Tokyo 2020 was in Asia too.",
    ]
    .iter()
    .enumerate()
    {
        // Published comments are what the page lists; the names carry no digits, which the model
        // reads as a (weak) spam sign.
        let (status, body) = post_json(&api, &comment(text, ["Ana", "Ben", "Chloe"][i]));
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "published", "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    server.stop();

    let server = Server::start(&db, &model_copy, &[]);
    let (_, list) = get(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")));
    let list: Value = serde_json::from_str(&list).unwrap();
    let got: Vec<i64> = list["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids);

    let reload = server.url("/api/v1/admin/model/reload");
    let (_, health) = get(&server.url("/healthz"));
    let good = std::fs::read(&model_copy).unwrap();
    std::fs::write(&model_copy, &good[..good.len() / 3]).unwrap();
    let (status, body) = admin(&reload, Some(TOKEN));
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("truncated"),
        "{body}"
    );
    let (_, health_after) = get(&server.url("/healthz"));
    assert_eq!(health, health_after, "the old model keeps serving");
    let (status, _) = post_json(
        &server.url("/api/v1/classify"),
        &json!({"comment_content": HAM}),
    );
    assert_eq!(status, 200);

    std::fs::write(&model_copy, &good).unwrap();
    let (status, body) = admin(&reload, Some(TOKEN));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn admin_page_needs_sign_in_and_csrf() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "0", "--reject-threshold", "1"],
    );
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let text = "Held for review <script>alert('admin')</script>";
    let (status, body) = post_json(&api, &comment(text, "Ana"));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "held");
    let id = body["id"].as_i64().unwrap();

    let (status, login) = get(&server.url("/admin"));
    assert_eq!(status, 200);
    assert!(login.contains("Admin token") && !login.contains("Held for review"));
    let resp = agent()
        .post(&server.url("/admin/login"))
        .send_form([("token", "wrong")])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = agent()
        .post(&server.url("/admin/login"))
        .send_form([("token", TOKEN)])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();

    let mut resp = agent()
        .get(&server.url("/admin"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(
        page.contains("Held for review &lt;script&gt;"),
        "moderation page escapes user text"
    );
    assert!(
        page.contains("ana@example.org"),
        "moderators see the e-mail"
    );
    let csrf_at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = &page[csrf_at..csrf_at + 32];

    let approve = server.url(&format!("/admin/comments/{id}/approve"));
    let resp = agent()
        .post(&approve)
        .header("Cookie", &cookie)
        .send_form([("csrf", "forged")])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = agent().post(&approve).send_form([("csrf", csrf)]).unwrap();
    assert_eq!(resp.status().as_u16(), 401, "no session, no action");
    let resp = agent()
        .post(&approve)
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf)])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let (_, public) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(public.contains("Held for review &lt;script&gt;"));
}

#[test]
fn operator_articles_are_listed_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(articles.join("a.md"), "---\ntitle: First <post>\nslug: first\ndate: 2024-01-01\nauthor: Op\n---\nHello **world**.\n").unwrap();
    std::fs::write(
        articles.join("b.md"),
        "---\ntitle: Second post\nslug: second\ndate: 2024-02-01\n---\nMore.\n",
    )
    .unwrap();
    // README's example article, as README shows it.
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let example = &readme[readme
        .find("```markdown\n")
        .expect("README's article example")
        + 12..];
    std::fs::write(
        articles.join("sourdough.md"),
        &example[..example.find("```").unwrap()],
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--articles", articles.to_str().unwrap()],
    );
    let (status, home) = get(&server.url("/"));
    assert_eq!(status, 200);
    assert!(home.contains("/articles/first") && home.contains("/articles/second"));
    assert!(home.contains("First &lt;post&gt;"), "titles are escaped");
    assert!(
        home.find("Second post").unwrap() < home.find("First").unwrap(),
        "newest first"
    );
    let (status, page) = get(&server.url("/articles/first"));
    assert_eq!(status, 200);
    assert!(page.contains("<strong>world</strong>") && page.contains("0 Comments"));
    let (status, page) = get(&server.url("/articles/sourdough-at-altitude"));
    assert_eq!(status, 200, "README's example article");
    assert!(page.contains("Sourdough at altitude") && page.contains("<em>longer</em>"));
    assert!(page.contains("María Souza"));
    assert_eq!(get(&server.url("/articles/missing")).0, 404);
    assert_eq!(get(&server.url("/no/such/route")).0, 404);
}

#[test]
fn a_trickling_request_times_out_with_408() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--request-timeout", "1"],
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /api/v1/articles/{ARTICLE}/comments HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"comment_content\":"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The server keeps serving.
    assert_eq!(get(&server.url("/healthz")).0, 200);
}

/// The rows of README's hostile-input table that are not proven elsewhere.
#[test]
fn hostile_bodies_get_clear_answers_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let send = |url: &str, content_type: &str, body: Vec<u8>| {
        let mut resp = agent()
            .post(url)
            .header("Content-Type", content_type)
            .send(&body[..])
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    };

    // Deeply nested JSON (30,000 levels, under the body limit) in an unknown field, at the top
    // and as a field's value: a clear answer each time, never a stack overflow (serde_json skips
    // unknown values without recursing and stops typed ones at its depth limit).
    let depth = 30_000;
    let nested = format!(
        "{{\"extra\":{}{},\"comment_content\":\"hi\"}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (status, body) = send(&api, "application/json", nested.clone().into_bytes());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Please enter your name"), "{body}");
    let classify = server.url("/api/v1/classify");
    let (status, body) = send(&classify, "application/json", nested.into_bytes());
    assert_eq!(status, 200, "{body}");
    let top = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let (status, body) = send(&api, "application/json", top.into_bytes());
    assert_eq!(status, 422, "{body}");
    let objects = format!(
        "{{\"comment_content\":{}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let (status, body) = send(&api, "application/json", objects.into_bytes());
    assert!(status == 400 || status == 422, "{status} {body}");

    // NUL bytes: refused with a field message through the API and the form (text kept).
    let (status, body) = post_json(&api, &comment("hello\u{0}world", "Ana"));
    assert_eq!(status, 422, "{body}");
    assert!(
        body["fields"]["comment_content"]
            .as_str()
            .unwrap()
            .contains("NUL")
    );
    let form_url = server.url(&format!("/articles/{ARTICLE}/comments"));
    let (status, page) = send(
        &form_url,
        "application/x-www-form-urlencoded",
        b"comment=keep+this%00text&author=Ana&email=ana%40example.org".to_vec(),
    );
    assert_eq!(status, 422);
    assert!(page.contains("control characters"), "{page}");
    assert!(page.contains("keep this"), "the text is shown back");

    // A 1 MB single token: over the body limit, refused from its Content-Length before it is
    // read (the server may close while the client is still sending, so this is raw TCP).
    let body = format!(
        "{{\"comment_content\":\"{}\",\"comment_author\":\"Ana\",\"comment_author_email\":\"a@b.org\"}}",
        "a".repeat(1 << 20)
    );
    let status_line = {
        use std::io::{Read, Write};
        let addr = server.base.trim_start_matches("http://").to_string();
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /api/v1/articles/{ARTICLE}/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).unwrap();
        let _ = tcp.write_all(body.as_bytes());
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert!(status_line.contains(" 413 "), "{status_line}");
    // Under the limit, a 60,000-byte single token is scored normally by /api/v1/classify.
    let (status, body) = post_json(&classify, &json!({"comment_content": "x".repeat(60_000)}));
    assert_eq!(status, 200, "{body}");
    assert!(body["spam_probability"].as_f64().is_some());

    // Still serving.
    let (status, body) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn long_threads_are_split_into_pages() {
    let dir = tempfile::tempdir().unwrap();
    // Publish everything: this test is about pages, not scores.
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "1", "--reject-threshold", "1"],
    );
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    for i in 1..=105 {
        let text = format!("Reader comment number {i} about the cloud contract.");
        let (status, body) = post_json(&api, &comment(&text, &format!("Reader {i}")));
        assert_eq!(status, 201, "{body}");
    }
    let (status, first) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert_eq!(status, 200);
    assert!(first.contains("105 Comments"));
    assert!(first.contains("Reader comment number 1 about"));
    assert!(first.contains("Reader comment number 100 about"));
    assert!(!first.contains("Reader comment number 101 about"));
    assert!(first.contains("Page 1 of 2"));
    // The links carry keyset cursors (the next page starts after the last comment shown).
    let href = |page: &str, rel: &str| {
        let at = page
            .find(&format!("rel=\"{rel}\" href=\""))
            .unwrap_or_else(|| panic!("no {rel} link"));
        let rest = &page[at + rel.len() + 13..];
        rest[..rest.find('"').unwrap()].replace("&amp;", "&")
    };
    let next = href(&first, "next");
    assert!(next.contains("cpage=2&after="), "{next}");
    let (_, second) = get(&server.url(&next));
    assert!(second.contains("Reader comment number 105 about"));
    assert!(!second.contains("Reader comment number 100 about"));
    assert!(second.contains("Older comments") && second.contains("Page 2 of 2"));
    let (_, by_number) = get(&server.url(&format!("/articles/{ARTICLE}?cpage=2")));
    assert!(by_number.contains("Reader comment number 105 about"));
    assert!(!by_number.contains("Reader comment number 100 about"));
    let prev = href(&second, "prev");
    assert!(prev.contains("cpage=1&before="), "{prev}");
    let (_, back) = get(&server.url(&prev));
    assert!(back.contains("Reader comment number 1 about"));
    assert!(back.contains("Reader comment number 100 about"));
    assert!(!back.contains("Reader comment number 101 about"));
    // The API pages by cursor too.
    let (_, listed) = get(&format!("{api}?per_page=100"));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let after = listed["next_after"].as_i64().unwrap();
    let (_, rest) = get(&format!("{api}?per_page=100&after={after}"));
    let rest: Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(rest["comments"].as_array().unwrap().len(), 5);
    assert!(rest["next_after"].is_null());
    let (_, beyond) = get(&server.url(&format!("/articles/{ARTICLE}?cpage=99")));
    assert!(
        beyond.contains("Page 2 of 2"),
        "out-of-range pages clamp to the last"
    );

    // A new comment through the form lands on the last page, where it is shown.
    let mut resp = agent()
        .post(&server.url(&format!("/articles/{ARTICLE}/comments")))
        .send_form([
            ("comment", HAM),
            ("author", "Ana"),
            ("email", "ana@example.org"),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("cpage=2"), "{location}");
    let _ = resp.body_mut().read_to_string();
    let (_, page) = get(&server.url(&location));
    assert!(page.contains("I wonder how big"));
}

#[test]
fn pages_carry_a_strict_content_security_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    for path in [format!("/articles/{ARTICLE}"), "/admin".to_string()] {
        let resp = agent().get(&server.url(&path)).call().unwrap();
        let headers = resp.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
    }
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(
        !page.contains("<style") && !page.contains("<script>"),
        "nothing inline"
    );
    for (path, kind) in [
        ("/static/comments.js", "text/javascript"),
        ("/static/site.css", "text/css"),
        ("/static/admin.css", "text/css"),
    ] {
        let resp = agent().get(&server.url(path)).call().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
    }
}

/// Article pages are cached between changes: a page seen before a comment is posted, approved or
/// trashed must never be served stale afterwards.
#[test]
fn cached_pages_follow_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "0", "--reject-threshold", "1"],
    );
    let page_url = server.url(&format!("/articles/{ARTICLE}"));
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let (_, before) = get(&page_url);
    assert!(before.contains("0 Comments"));
    let (status, body) = post_json(&api, &comment(HAM, "Ana"));
    assert_eq!(status, 201);
    assert_eq!(body["status"], "held");
    let id = body["id"].as_i64().unwrap();
    let (_, held) = get(&page_url);
    assert!(
        !held.contains("I wonder how big"),
        "held comments stay hidden"
    );
    let act = |action: &str| {
        admin(
            &server.url(&format!("/api/v1/admin/comments/{id}/{action}")),
            Some(TOKEN),
        )
    };
    assert_eq!(act("approve").0, 200);
    let (_, approved) = get(&page_url);
    assert!(approved.contains("I wonder how big") && approved.contains("1 Comment"));
    let (_, again) = get(&page_url);
    assert_eq!(approved, again, "the cached page is the page");
    assert_eq!(act("trash").0, 200);
    let (_, trashed) = get(&page_url);
    assert!(!trashed.contains("I wonder how big"));
}

/// Behind a load balancer the flood limit must see readers, not the balancer: X-Forwarded-For
/// names the client only when the peer is a `--trusted-proxy`; otherwise it is ignored (anyone can
/// send it).
#[test]
fn flood_limit_reads_x_forwarded_for_only_from_a_trusted_proxy() {
    let post_from = |server: &Server, forwarded: &str, n: usize| {
        agent()
            .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
            .header("X-Forwarded-For", forwarded)
            .send_json(comment(
                &format!("Remark number {n} about the deal."),
                "Ana",
            ))
            .unwrap()
            .status()
            .as_u16()
    };
    let dir = tempfile::tempdir().unwrap();
    let flood = ["--flood-seconds", "15"];
    let behind = Server::start(
        &dir.path().join("a.db"),
        &model(),
        &[flood[0], flood[1], "--trusted-proxy", "127.0.0.1"],
    );
    assert_eq!(post_from(&behind, "203.0.113.1", 1), 201);
    assert_eq!(post_from(&behind, "203.0.113.2", 2), 201, "another reader");
    assert_eq!(
        post_from(&behind, "198.51.100.7, 203.0.113.1", 3),
        429,
        "the first reader again"
    );
    // An IPv6 reader is their /64: another address of it is the same reader, another /64 not.
    assert_eq!(post_from(&behind, "2001:db8:1:2::1", 6), 201);
    assert_eq!(
        post_from(&behind, "2001:db8:1:2::99", 7),
        429,
        "the same /64 again"
    );
    assert_eq!(post_from(&behind, "2001:db8:1:3::1", 8), 201, "another /64");
    behind.stop();

    let direct = Server::start(&dir.path().join("b.db"), &model(), &flood);
    assert_eq!(post_from(&direct, "203.0.113.1", 4), 201);
    assert_eq!(
        post_from(&direct, "203.0.113.2", 5),
        429,
        "the header is not believed"
    );
}

/// Errors come in the client's kind: JSON for API clients, a page for browsers (same status and
/// headers), for the fallback and the admin API alike.
#[test]
fn browsers_get_error_pages_api_clients_get_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let fetch = |path: &str, accept: &str, post: bool| {
        let url = server.url(path);
        let mut resp = if post {
            agent().post(&url).header("Accept", accept).send_empty()
        } else {
            agent().get(&url).header("Accept", accept).call()
        }
        .unwrap();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let status = resp.status().as_u16();
        (status, kind, resp.body_mut().read_to_string().unwrap())
    };
    let (status, kind, body) = fetch("/no/such/page", browser, false);
    assert_eq!(status, 404);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        body.contains("<h1>Not Found</h1>") && body.contains("no such page"),
        "{body}"
    );
    let (status, kind, body) = fetch("/no/such/page", "application/json", false);
    assert_eq!(status, 404);
    assert!(kind.starts_with("application/json"), "{kind}");
    assert!(body.contains("\"error\""));
    let (status, kind, body) = fetch("/api/v1/admin/comments/1/approve", browser, true);
    assert_eq!(status, 401);
    assert!(
        kind.starts_with("text/html") && body.contains("admin token"),
        "{body}"
    );
    let (status, kind, _) = fetch("/api/v1/admin/comments/1/approve", "*/*", true);
    assert_eq!(status, 401);
    assert!(kind.starts_with("application/json"));
}

/// Signs in to `/admin`; returns the session cookie and the page's CSRF token.
fn admin_session(server: &Server) -> (String, String) {
    let resp = agent()
        .post(&server.url("/admin/login"))
        .send_form([("token", TOKEN)])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = admin_get(server, &cookie, "/admin");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = page[at..at + 32].to_string();
    (cookie, csrf)
}

fn admin_get(server: &Server, cookie: &str, path: &str) -> String {
    let mut resp = agent()
        .get(&server.url(path))
        .header("Cookie", cookie)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.body_mut().read_to_string().unwrap()
}

/// A queue longer than one page: the moderator pages through every comment (the page says how
/// many the tab has, of the site chosen), an action on a later page of one site's list returns to
/// that page of that list, and the admin API pages by cursor with a total.
#[test]
fn long_queues_page_through_and_actions_keep_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    common::succeeds(
        dir.path(),
        &[
            "sites",
            "add",
            "blog",
            "--origin",
            "https://blog.example",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    let server = Server::start(
        &db,
        &model(),
        &[
            "--hold-threshold",
            "0",
            "--reject-threshold",
            "1",
            "--flood-seconds",
            "0",
            "--rate-limit",
            "0",
        ],
    );
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    for i in 0..205 {
        let (status, body) = post_json(
            &api,
            &comment(
                &format!("Question number {i} about the deal."),
                &format!("Reader {i}"),
            ),
        );
        assert_eq!(status, 201, "{body}");
    }
    let (cookie, csrf) = admin_session(&server);
    let first = admin_get(&server, &cookie, "/admin?status=held&site=default");
    assert!(first.contains("200 comment(s) Waiting of 205"), "{first}");
    let at =
        first.find("rel=\"next\" href=\"").expect("an older page") + "rel=\"next\" href=\"".len();
    let older = first[at..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(
        older.contains("site=default") && older.contains("before="),
        "{older}"
    );
    let second = admin_get(&server, &cookie, &older);
    assert!(
        second.contains("5 comment(s) Waiting (older ones) of 205"),
        "{second}"
    );
    assert!(
        second.contains("Question number 0 about") && !second.contains("Question number 5 about")
    );
    // Another site's tab counts its own comments, and its dashboard its own days and model.
    let blog = admin_get(&server, &cookie, "/admin?status=held&site=blog");
    assert!(blog.contains("Waiting (0)"), "{blog}");
    let held_today = "<td>0</td><td>205</td><td>0</td>";
    assert!(first.contains(held_today), "{first}");
    assert!(
        !blog.contains(held_today) && blog.contains("Learned by the model of site blog: "),
        "{blog}"
    );
    // Trash one on the second page: back to that page of the default site's list.
    let at = second.find("name=\"back\" value=\"").unwrap() + "name=\"back\" value=\"".len();
    let back = second[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let id = second
        .split("id=\"c")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let resp = agent()
        .post(&server.url(&format!("/admin/comments/{id}/trash")))
        .header("Cookie", &cookie)
        .config()
        .max_redirects(0)
        .build()
        .send_form([("csrf", csrf.as_str()), ("back", back.as_str())])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers().get("location").unwrap().to_str().unwrap();
    assert!(
        location.starts_with("/admin?status=held&site=default&before=")
            && location.ends_with("&done=trash&n=1"),
        "{location}"
    );
    // A `back` naming anything but the list is not followed.
    let resp = agent()
        .post(&server.url(&format!("/admin/comments/{id}/restore")))
        .header("Cookie", &cookie)
        .config()
        .max_redirects(0)
        .build()
        .send_form([
            ("csrf", csrf.as_str()),
            ("back", "x=1&status=held&next=//evil.example/"),
        ])
        .unwrap();
    let location = resp.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(location, "/admin?status=held&done=restore&n=1");
    // The admin API: pages by cursor, with the tab's total.
    let mut seen = std::collections::BTreeSet::new();
    let mut before = String::new();
    loop {
        let mut resp = agent()
            .get(&server.url(&format!(
                "/api/v1/admin/comments?status=held&limit=100{before}"
            )))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap();
        let page: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(page["total"], 205);
        for c in page["comments"].as_array().unwrap() {
            assert!(seen.insert(c["id"].as_i64().unwrap()), "each comment once");
        }
        match page["next_before"].as_i64() {
            Some(id) => before = format!("&before={id}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 205);
    // A session that expired: the sign-in leads back to the list the moderator was on.
    let mut resp = agent().get(&server.url(&older)).call().unwrap();
    let signin = resp.body_mut().read_to_string().unwrap();
    assert!(signin.contains("Sign in to moderate"), "{signin}");
    let at = signin
        .find("name=\"next\" value=\"")
        .expect("where to go back")
        + "name=\"next\" value=\"".len();
    let next = signin[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert_eq!(next, older);
    let resp = agent()
        .post(&server.url("/admin/login"))
        .config()
        .max_redirects(0)
        .build()
        .send_form([("token", TOKEN), ("next", next.as_str())])
        .unwrap();
    assert_eq!(
        resp.headers().get("location").unwrap().to_str().unwrap(),
        older
    );
    // An unknown site is a page that says so, not the API's JSON.
    let resp = agent()
        .get(&server.url("/admin?site=nope"))
        .header("Cookie", &cookie)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(
        resp.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[test]
fn admin_page_explains_counts_searches_and_acts_in_bulk() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--hold-threshold", "0", "--reject-threshold", "1"],
    );
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let mut ids = Vec::new();
    for (text, who) in [
        ("Thanks for your blog post, very clear.", "Ana"),
        (
            "I disagree with the conclusion about the cloud deal.",
            "Bruno",
        ),
        ("Who else is reading this in the evening?", "Carla"),
    ] {
        let (status, body) = post_json(&api, &comment(text, who));
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "held");
        ids.push(body["id"].as_i64().unwrap());
    }
    let (cookie, csrf) = admin_session(&server);

    let page = admin_get(&server, &cookie, "/admin");
    assert!(
        page.contains("Waiting (3)") && page.contains("Published (0)"),
        "tab counts"
    );
    assert!(page.contains("held: "), "the verdict is explained in words");
    assert!(
        !page.contains("bigram:") && !page.contains("word:"),
        "clues are shown in words, not as raw tokens"
    );
    assert!(
        page.contains("the words “") || page.contains("the word “"),
        "clue words shown"
    );
    assert!(
        page.contains("<line") && page.contains("class=\"tick\""),
        "the chart has axes"
    );
    assert!(page.contains("j / k"), "keyboard shortcuts are documented");

    let found = admin_get(&server, &cookie, "/admin?status=held&q=bruno");
    assert!(
        found.contains("I disagree with the conclusion") && !found.contains("Thanks for your blog")
    );
    let by_mail = admin_get(&server, &cookie, "/admin?status=held&q=carla%40example.org");
    assert!(by_mail.contains("Who else is reading") && !by_mail.contains("I disagree"));
    let by_text = admin_get(&server, &cookie, "/admin?status=held&q=CLOUD+DEAL");
    assert!(by_text.contains("1 comment(s) Waiting matching"));

    // Bulk approve two of the three: forged token refused, then done with a banner.
    let bulk = server.url("/admin/bulk");
    let forged = agent()
        .post(&bulk)
        .header("Cookie", &cookie)
        .send_form([("csrf", "forged"), ("action", "approve"), ("id", "1")])
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    // Approving the first two, `confirmed` or not.
    let approve_two = |confirmed: &str| {
        agent()
            .post(&bulk)
            .header("Cookie", &cookie)
            .send_form([
                ("csrf", csrf.as_str()),
                ("back", "held"),
                ("action", "approve"),
                ("confirmed", confirmed),
                ("id", a.as_str()),
                ("id", b.as_str()),
            ])
            .unwrap()
    };
    // First a page that asks, naming what it will do, and nothing is done yet.
    let mut asked = approve_two("");
    assert_eq!(asked.status().as_u16(), 200);
    let asked = asked.body_mut().read_to_string().unwrap();
    assert!(asked.contains("Approve 2 comment(s)?"), "{asked}");
    assert!(asked.contains("I disagree with the conclusion"), "{asked}");
    let unchanged = admin_get(&server, &cookie, "/admin?status=held");
    assert!(unchanged.contains("Waiting (3)"), "acted before the yes");
    let resp = approve_two("1");
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let after = admin_get(&server, &cookie, &location);
    assert!(
        after.contains("2 comment(s) approved (published)."),
        "confirmation banner"
    );
    assert!(after.contains("Waiting (1)") && after.contains("Published (2)"));

    let published = admin_get(&server, &cookie, "/admin?status=published");
    let link = format!("/articles/{ARTICLE}#comment-{}", ids[0]);
    assert!(published.contains(&link), "link to the comment in place");
    let (_, public) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(
        public.contains(&format!("id=\"comment-{}\"", ids[0])),
        "the anchor exists"
    );

    // Reply as the site owner to the comment still waiting: it is approved, the reply published.
    let resp = agent()
        .post(&server.url(&format!("/admin/comments/{}/reply", ids[2])))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str()), ("text", "Thanks <b>Carla</b>!")])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(admin_get(&server, &cookie, &location).contains("Your reply is published."));
    let (_, public) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(
        public.contains("Who else is reading"),
        "the replied-to comment is approved"
    );
    assert!(public.contains("Thanks &lt;b&gt;Carla&lt;/b&gt;!") && public.contains("(site owner)"));
}

#[test]
fn admin_sign_in_page_is_styled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let (status, page) = get(&server.url("/admin"));
    assert_eq!(status, 200);
    assert!(page.contains("class=\"signin\"") && page.contains("/static/admin.css"));
    let (_, css) = get(&server.url("/static/admin.css"));
    assert!(css.contains("main.signin"));
}

#[test]
fn site_identity_comes_from_flags_and_admin_settings() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &[
            "--site-title",
            "Ana's <notes>",
            "--site-tagline",
            "On cloud deals",
            "--site-nav",
            "Home=/,About=https://example.org/about",
            "--site-accent",
            "#aa3300",
        ],
    );
    let (status, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert_eq!(status, 200);
    assert!(
        page.contains("Ana&apos;s &lt;notes&gt;") || page.contains("Ana's &lt;notes&gt;"),
        "title escaped"
    );
    assert!(page.contains("On cloud deals") && page.contains("href=\"https://example.org/about\""));
    assert!(!page.contains("replyguard blog"), "no hard-coded header");
    let (_, health) = get(&server.url("/healthz"));
    let health: Value = serde_json::from_str(&health).unwrap();
    let version = health["model"]["version"].as_str().unwrap().to_string();
    assert!(
        !page.contains(&version),
        "the model hash left the public footer"
    );
    let at = page
        .find("/static/theme.css?v=")
        .expect("theme stylesheet linked");
    let theme = &page[at..at + page[at..].find('"').unwrap()];
    let (_, css) = get(&server.url(theme));
    assert!(css.contains("#aa3300"));

    let (cookie, csrf) = admin_session(&server);
    let settings = admin_get(&server, &cookie, "/admin/settings");
    assert!(settings.contains("value=\"#aa3300\""));
    let form = |accent: &str| {
        agent()
            .post(&server.url("/admin/settings"))
            .header("Cookie", &cookie)
            .send_form([
                ("csrf", csrf.as_str()),
                ("site.title", "Renamed blog"),
                ("site.tagline", ""),
                ("site.url", "https://blog.example.com"),
                ("site.nav", "Home=/"),
                ("site.accent", accent),
                ("site.logo", ""),
            ])
            .unwrap()
    };
    assert_eq!(
        form("red;}body{").status().as_u16(),
        422,
        "a bad colour is refused"
    );
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(page.contains("Ana"), "nothing stored from a refused form");
    assert_eq!(form("").status().as_u16(), 303);
    let (_, page) = get(&server.url(&format!("/articles/{ARTICLE}")));
    assert!(page.contains("Renamed blog") && !page.contains("On cloud deals"));
    assert!(!page.contains("/static/theme.css"));

    // The public address saved there is the server's from its next start (without
    // `--public-url`): the feed's links use it.
    server.stop();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let (_, feed) = get(&server.url("/feed"));
    assert!(
        feed.contains("<id>https://blog.example.com/feed</id>"),
        "{feed}"
    );
}
