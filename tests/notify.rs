//! Webhook notifications over the real interfaces: a receiver on a local socket verifies every
//! delivery's signature as README documents it; a held comment and its moderation arrive, signed
//! and without the reader's e-mail; the secret is never shown back; a failing receiver gets
//! retries recorded in the delivery log; and after `kill -9` the outbox still delivers, once.

use crate::common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Server, TOKEN, agent, model};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "webhook-secret-0123456789";
const ARTICLE: &str = "alibaba-olympic-partner";
/// Scored between the shipped model's hold and reject thresholds.
const BORDERLINE: &str = "nice post, visit my site for more";
const HAM: &str = "Interesting deal, I wonder how big the cloud contract with the IOC really is.";

/// What the receiver got, already verified.
#[derive(Default)]
struct Received {
    events: Mutex<Vec<Value>>,
    /// Answer 503 while set.
    failing: AtomicBool,
    refused: Mutex<u32>,
}

/// Verifies `X-Replyguard-Signature: t=UNIX,v1=HEX` as a receiver would.
fn verified(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(value) = headers
        .get("x-replyguard-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in value.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<u64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(t) > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

async fn receiver(received: Arc<Received>) -> String {
    async fn hook(
        State(received): State<Arc<Received>>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        if received.failing.load(Ordering::SeqCst) {
            *received.refused.lock().unwrap() += 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        if !verified(&headers, &body) {
            return StatusCode::UNAUTHORIZED;
        }
        received
            .events
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap());
        StatusCode::NO_CONTENT
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn admin(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(server.url(path))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut resp = agent().run(request).unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn post(server: &Server, text: &str, email: &str) -> Value {
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .send_json(json!({"comment_content": text, "comment_author": "Reader",
            "comment_author_email": email}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.body_mut().read_json().unwrap()
}

/// How many events about comment `id` the receiver got.
fn delivered(received: &Received, id: i64) -> usize {
    received
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["comment"]["id"] == id)
        .count()
}

async fn wait_for(received: &Received, what: &str, check: impl Fn(&[Value]) -> bool) {
    let started = Instant::now();
    loop {
        if check(&received.events.lock().unwrap()) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waited for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The settings' test button sends a signed test on each channel at once and says how it went:
/// a wrong address is found before a comment waits on it.
#[tokio::test(flavor = "multi_thread")]
async fn the_test_button_tries_each_channel_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Received::default());
    let url = receiver(received.clone()).await;
    let server = Server::start(&dir.path().join("db.sqlite"), &model(), &[]);
    let (_, nothing) = admin(&server, "POST", "/api/v1/admin/notifications/test", None);
    assert_eq!(nothing["ok"], false, "{nothing}");
    let (status, _) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": url, "webhook_secret": SECRET})),
    );
    assert_eq!(status, 200);
    let (status, tested) = admin(&server, "POST", "/api/v1/admin/notifications/test", None);
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["ok"], true, "{tested}");
    wait_for(&received, "the signed test event", |events| {
        events.iter().any(|e| e["event"] == "test")
    })
    .await;
    // A receiver that is not there: named, with the reason.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let (status, _) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": dead})),
    );
    assert_eq!(status, 200);
    let (_, tested) = admin(&server, "POST", "/api/v1/admin/notifications/test", None);
    assert_eq!(tested["ok"], false, "{tested}");
    assert!(
        tested["channels"]["webhook"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{tested}"
    );
    // The page's button says the same.
    let cookie = server.admin_session();
    let page = agent()
        .get(&server.url("/admin/notifications"))
        .header("Cookie", &cookie)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let csrf = common::csrf_of(&page);
    let shown = agent()
        .post(&server.url("/admin/notifications/test?site=default"))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str())])
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(shown.contains("webhook: failed"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_comment_and_its_moderation_reach_a_signed_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let received = Arc::new(Received::default());
    let url = receiver(received.clone()).await;
    let server = Server::start(
        &dir.path().join("db.sqlite"),
        &model(),
        &["--flood-seconds", "0"],
    );

    // Bad settings are named field by field and change nothing.
    let (status, body) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": "ftp://x", "webhook_secret": "short", "events": ["nope"]})),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": url, "webhook_secret": SECRET,
            "events": ["comment.held", "comment.moderated"]})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, shown) = admin(&server, "GET", "/api/v1/admin/notifications", None);
    assert_eq!(shown["webhook_secret_set"], true);
    assert!(
        !shown.to_string().contains(SECRET),
        "the secret is shown back: {shown}"
    );

    let ham = post(&server, HAM, "ana@example.org");
    assert_eq!(ham["status"], "published");
    let held = post(&server, BORDERLINE, "promo@example.org");
    assert_eq!(held["status"], "held", "{held}");
    let id = held["id"].as_i64().unwrap();
    wait_for(&received, "the held event", |events| {
        events
            .iter()
            .any(|e| e["event"] == "comment.held" && e["comment"]["id"] == id)
    })
    .await;
    {
        let events = received.events.lock().unwrap();
        // Only the events the site asked for; nothing that names the reader beyond the page.
        assert!(
            events.iter().all(|e| e["comment"]["id"] != ham["id"]),
            "{events:?}"
        );
        assert!(!format!("{events:?}").contains("promo@example.org"));
    }
    let (status, _) = admin(
        &server,
        "POST",
        &format!("/api/v1/admin/comments/{id}/approve"),
        None,
    );
    assert_eq!(status, 200);
    wait_for(&received, "the moderation event", |events| {
        events.iter().any(|e| {
            e["event"] == "comment.moderated"
                && e["comment"]["id"] == id
                && e["comment"]["status"] == "published"
        })
    })
    .await;
    let (_, log) = admin(&server, "GET", "/api/v1/admin/notifications/log", None);
    let deliveries = log["deliveries"].as_array().unwrap();
    assert!(deliveries.iter().any(|d| d["state"] == "sent"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_receiver_is_retried_and_kill_9_loses_no_notification() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let received = Arc::new(Received::default());
    received.failing.store(true, Ordering::SeqCst);
    let url = receiver(received.clone()).await;
    let server = Server::start(&db, &model(), &["--flood-seconds", "0"]);
    let (status, _) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": url, "webhook_secret": SECRET})),
    );
    assert_eq!(status, 200);
    // A failing receiver does not slow posting down: the post only writes the outbox.
    let started = Instant::now();
    let held = post(&server, BORDERLINE, "promo@example.org");
    assert_eq!(held["status"], "held");
    assert!(started.elapsed() < Duration::from_secs(2));
    let id = held["id"].as_i64().unwrap();
    // The first try fails and is recorded.
    let started = Instant::now();
    loop {
        let (_, log) = admin(&server, "GET", "/api/v1/admin/notifications/log", None);
        let failed_once = log["deliveries"].as_array().unwrap().iter().any(|d| {
            d["comment_id"] == id
                && d["state"] == "pending"
                && d["attempts"].as_i64() >= Some(1)
                && d["last_error"].as_str().is_some_and(|e| e.contains("503"))
        });
        if failed_once {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no failed attempt recorded: {log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server dies; the receiver recovers; a new server delivers the event, once.
    server.stop();
    received.failing.store(false, Ordering::SeqCst);
    let server = Server::start(&db, &model(), &["--flood-seconds", "0"]);
    wait_for(&received, "the event after the restart", |events| {
        events.iter().any(|e| e["comment"]["id"] == id)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let times = delivered(&received, id);
    assert_eq!(times, 1, "delivered {times} times");
    assert!(*received.refused.lock().unwrap() >= 1);
    drop(server);
}

/// Two replicas on one PostgreSQL database: each event is sent by exactly one of them, and one
/// killed with `kill -9` while its events wait loses none — the other sends them, once.
#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_send_each_notification_once_even_when_one_is_killed() {
    let mut cluster = common::postgres::PgCluster::start();
    let url = cluster.database();
    let db = std::path::Path::new(&url);
    let received = Arc::new(Received::default());
    received.failing.store(true, Ordering::SeqCst);
    let hook = receiver(received.clone()).await;
    let args = ["--flood-seconds", "0"];
    let first = Server::start(db, &model(), &args);
    let second = Server::start(db, &model(), &args);
    let (status, _) = admin(
        &first,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"webhook_url": hook, "webhook_secret": SECRET})),
    );
    assert_eq!(status, 200);
    // Held comments on both replicas, while the receiver fails.
    let mut ids = Vec::new();
    for n in 0..6 {
        let on = if n % 2 == 0 { &first } else { &second };
        let held = post(on, &format!("{BORDERLINE} number {n}"), "promo@example.org");
        assert_eq!(held["status"], "held", "{held}");
        ids.push(held["id"].as_i64().unwrap());
    }
    let started = Instant::now();
    while *received.refused.lock().unwrap() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the events were not tried"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One replica dies; the receiver recovers; the other delivers every event, once.
    first.stop();
    received.failing.store(false, Ordering::SeqCst);
    wait_for(
        &received,
        "every event from the surviving replica",
        |events| {
            ids.iter()
                .all(|id| events.iter().any(|e| e["comment"]["id"] == *id))
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &ids {
        let times = delivered(&received, *id);
        assert_eq!(times, 1, "comment {id}: delivered {times} times");
    }
    drop(second);
}

/// A real SMTP server from PyPI (`aiosmtpd`) writing what it receives to a Maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl SmtpServer {
    fn start(dir: &std::path::Path) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (sh tests/setup.sh)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    /// The messages received so far, as text.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server in `dir` that sends its mail through `smtp`.
fn mailing_server(dir: &std::path::Path, smtp: &SmtpServer) -> Server {
    Server::start(
        &dir.join("db.sqlite"),
        &model(),
        &[
            "--flood-seconds",
            "0",
            "--smtp-url",
            &format!("smtp://127.0.0.1:{}", smtp.port),
            "--smtp-from",
            "replyguard@example.org",
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_comment_is_mailed_with_links_that_decide_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let server = mailing_server(dir.path(), &smtp);
    let (status, body) = admin(
        &server,
        "PUT",
        "/api/v1/admin/notifications",
        Some(json!({"email_to": ["moderator@example.org"]})),
    );
    assert_eq!(status, 200, "{body}");
    let held = post(&server, BORDERLINE, "promo@example.org");
    assert_eq!(held["status"], "held");
    let id = held["id"].as_i64().unwrap();
    let started = Instant::now();
    let message = loop {
        if let Some(m) = smtp.messages().into_iter().next() {
            break m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no e-mail arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(message.contains("waiting for your approval"), "{message}");
    assert!(message.contains("moderator@example.org"));
    assert!(
        !message.contains("promo@example.org"),
        "the reader's address is in the mail"
    );
    // The approve link, read from the message (quoted-printable may wrap long lines).
    let unwrapped = message.replace("=\r\n", "").replace("=\n", "");
    // The server's lines first, the reader's text last and quoted (it cannot pose as a link).
    let quoted_at = unwrapped
        .find("as its author wrote it")
        .expect("the quoted comment");
    assert!(unwrapped.find("approve: ").is_some_and(|at| at < quoted_at));
    // The reader's name is theirs to choose too: quoted after the links, never above them; the
    // page is this server's link to it.
    let name_at = unwrapped.find("> Name: Reader").expect("the quoted name");
    assert!(name_at > quoted_at, "{unwrapped}");
    let page = format!("/articles/{ARTICLE}#comment-{id}");
    assert!(
        unwrapped
            .lines()
            .any(|l| l.starts_with("On: http") && l.trim_end().ends_with(&page)),
        "{unwrapped}"
    );
    let start = unwrapped.find("approve: ").expect("an approve link") + "approve: ".len();
    let link = unwrapped[start..].split_whitespace().next().unwrap();
    let path = &link[link.find("/moderate/").expect("a /moderate/ link")..];
    // Opening it changes nothing (mail scanners open links); the button decides.
    let page = agent().get(&server.url(path)).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (_, queue) = admin(&server, "GET", "/api/v1/admin/comments?status=held", None);
    assert!(
        queue.to_string().contains(BORDERLINE),
        "opening the link decided: {queue}"
    );
    let done = agent().post(&server.url(path)).send_empty().unwrap();
    assert_eq!(done.status().as_u16(), 200);
    let (_, published) = admin(
        &server,
        "GET",
        "/api/v1/admin/comments?status=published",
        None,
    );
    assert!(
        published["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id),
        "{published}"
    );
    // Once only; and a forged link does nothing.
    let again = agent().post(&server.url(path)).send_empty().unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let forged = path.replace("approve", "spam");
    let refused = agent().post(&server.url(&forged)).send_empty().unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

fn reply(server: &Server, parent: &Value, text: &str, who: &str, notify: bool) -> Value {
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .send_json(json!({"comment_content": text, "comment_author": who,
            "comment_author_email": format!("{}@example.org", who.to_lowercase()),
            "comment_parent": parent["id"], "notify_replies": notify}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.body_mut().read_json().unwrap()
}

/// The messages to `address` so far.
fn mail_to(smtp: &SmtpServer, address: &str) -> Vec<String> {
    smtp.messages()
        .into_iter()
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
        .filter(|m| {
            m.lines().any(|l| {
                l.strip_prefix("To: ").is_some_and(|to| {
                    to.split(',')
                        .any(|a| a.trim().trim_start_matches('<').trim_end_matches('>') == address)
                })
            })
        })
        .collect()
}

/// Waits until `address` has `n` messages; the outbox is delivered in order, so what was due
/// before has been decided by then.
async fn wait_for_mail(smtp: &SmtpServer, address: &str, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let got = mail_to(smtp, address);
        if got.len() >= n {
            return got;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{address} got {} messages, not {n}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first path in `mail` that starts with `prefix` (a link the server sent).
fn link_in(mail: &str, prefix: &str) -> String {
    let start = mail.find(prefix).expect("a link");
    mail[start..].split_whitespace().next().unwrap().to_string()
}

/// The messages to `address` whose subject contains `subject`.
fn mail_about(smtp: &SmtpServer, address: &str, subject: &str) -> Vec<String> {
    mail_to(smtp, address)
        .into_iter()
        .filter(|m| {
            m.lines()
                .any(|l| l.starts_with("Subject:") && l.contains(subject))
        })
        .collect()
}

/// The page a POST to `path` answers (a button of a page a link opened).
fn press(server: &Server, path: &str) -> String {
    agent()
        .post(&server.url(path))
        .send_empty()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// Follows a confirmation link as a reader would: the GET asks and changes nothing, the POST
/// confirms.
fn confirm(server: &Server, mail: &str) {
    let path = link_in(mail, "/confirm-replies/");
    let asked = server.get_text(&path);
    assert!(asked.contains("<form method=\"post\">"), "{asked}");
    let done = press(server, &path);
    assert!(done.contains("Confirmed"), "{done}");
}

/// Reply notifications: opt-in only, and only to an address that confirmed it (double opt-in:
/// anyone can type anyone's address); sent when a reply is published (a held one when it is
/// approved, not before), never for the reader's own reply, never to the author of a comment that
/// is not published; the unsubscribe link asks on GET, acts on POST, and stops them.
#[tokio::test(flavor = "multi_thread")]
async fn a_reader_who_asked_hears_of_published_replies_until_unsubscribing() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path());
    let server = mailing_server(dir.path(), &smtp);
    // The form offers the box, unticked.
    let page = server.get_text(&format!("/articles/{ARTICLE}"));
    assert!(
        page.contains(r#"name="notify_replies" type="checkbox" value="on">"#),
        "{page}"
    );
    let top = |who: &str, notify: bool, n: u32| {
        let mut resp = agent()
            .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
            .send_json(json!({"comment_content": format!("Which markets does the deal cover, {who} wonders ({n})?"),
                "comment_author": who, "comment_author_email": format!("{}@example.org", who.to_lowercase()),
                "notify_replies": notify}))
            .unwrap();
        let body: Value = resp.body_mut().read_json().unwrap();
        assert_eq!(body["status"], "published", "{body}");
        body
    };
    let ana = top("Ana", true, 1);
    let bo = top("Bo", false, 1);
    let hana = top("Hana", true, 1);
    let uma = top("Uma", true, 1);

    // Each address that asked is asked to confirm, once, with the server's words only; a second
    // comment asking again within the day sends no second request.
    let asking = wait_for_mail(&smtp, "ana@example.org", 1).await;
    assert!(
        asking[0].contains("Subject: [My blog] Confirm e-mails about replies"),
        "the site's title as its pages show it: {}",
        asking[0]
    );
    assert!(
        !asking[0].contains("Which markets"),
        "the comment's text was mailed to an address that did not say yes"
    );
    let ana_again = top("Ana", true, 2);
    // An address written so that mail would go to another spelling of a mailbox (quoted) gets
    // no mail at all: it would be a way past the once-a-day request.
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .send_json(
            json!({"comment_content": "Which markets, asks Zed?", "comment_author": "Zed",
            "comment_author_email": "\"zed\"@example.org", "notify_replies": true}),
        )
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );
    wait_for_mail(&smtp, "uma@example.org", 1).await;
    wait_for_mail(&smtp, "hana@example.org", 1).await;
    // Uma never confirms: a reply to her is not announced.
    reply(&server, &uma, "Europe, Uma, as far as I know.", "Cy", false);
    confirm(&server, &asking[0]);

    // Bo did not ask; Ana answering herself is not news.
    reply(
        &server,
        &bo,
        "Europe and Asia, as far as I know.",
        "Cy",
        false,
    );
    reply(
        &server,
        &ana,
        "Adding to my own question: and Africa?",
        "Ana",
        false,
    );
    // A held reply is not announced while it waits.
    let held = reply(&server, &ana, BORDERLINE, "Promo", false);
    assert_eq!(held["status"], "held", "{held}");
    // Hana's comment is marked spam before a reply to it is approved: she hears nothing more.
    let to_hana = reply(&server, &hana, BORDERLINE, "Ivo", false);
    assert_eq!(to_hana["status"], "held", "{to_hana}");
    let hana_asked = mail_to(&smtp, "hana@example.org");
    confirm(&server, &hana_asked[0]);
    let (status, _) = admin(
        &server,
        "POST",
        &format!("/api/v1/admin/comments/{}/spam", hana["id"]),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = admin(
        &server,
        "POST",
        &format!("/api/v1/admin/comments/{}/approve", to_hana["id"]),
        None,
    );
    assert_eq!(status, 200);
    // A published reply from someone else: the one reply Ana hears of so far.
    reply(
        &server,
        &ana,
        "Europe only for now, per the annex.",
        "Dee",
        false,
    );
    let mail = wait_for_mail(&smtp, "ana@example.org", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail_to(&smtp, "ana@example.org").len(), 2, "{mail:?}");
    let mail = mail_about(&smtp, "ana@example.org", "A reply to your comment");
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        mail[0].contains("> Europe only for now, per the annex."),
        "the reply, quoted: {}",
        mail[0]
    );
    // The replier's name is quoted with the reply, never in the server's own lines.
    assert!(
        mail[0].contains("> From: Dee") && !mail[0].contains("signed"),
        "the replier's name, quoted: {}",
        mail[0]
    );
    let subject = mail[0]
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_default();
    assert!(
        !subject.contains("Dee"),
        "the replier's name is not the server's subject: {subject}"
    );
    assert!(
        !mail[0].contains("dee@example.org"),
        "a replier's address was sent"
    );
    assert!(mail_to(&smtp, "bo@example.org").is_empty());
    assert_eq!(
        mail_to(&smtp, "hana@example.org").len(),
        1,
        "only the request"
    );
    assert_eq!(
        mail_to(&smtp, "uma@example.org").len(),
        1,
        "only the request"
    );

    // The held reply, approved: now it is news.
    let (status, _) = admin(
        &server,
        "POST",
        &format!("/api/v1/admin/comments/{}/approve", held["id"]),
        None,
    );
    assert_eq!(status, 200);
    wait_for_mail(&smtp, "ana@example.org", 3).await;
    let mail = mail_about(&smtp, "ana@example.org", "A reply to your comment");
    assert!(mail.iter().any(|m| m.contains(BORDERLINE)));
    // The address said yes once: Ana's other comment, which asked before she confirmed, is
    // heard of too.
    reply(
        &server,
        &ana_again,
        "Asia too, from next year.",
        "Flo",
        false,
    );
    wait_for_mail(&smtp, "ana@example.org", 4).await;

    // Unsubscribing: the GET asks and changes nothing, the POST acts, a second POST says so.
    let mail = mail_about(&smtp, "ana@example.org", "A reply to your comment");
    let path = link_in(
        mail.iter()
            .find(|m| m.contains("per the annex"))
            .expect("the first reply's mail"),
        "/unsubscribe/",
    );
    let asked = agent().get(&server.url(&path)).call().unwrap();
    assert_eq!(asked.status().as_u16(), 200);
    let done = press(&server, &path);
    assert!(done.contains("no more e-mails"), "{done}");
    let again = press(&server, &path);
    assert!(again.contains("unsubscribed already"), "{again}");
    let forged = agent()
        .post(&server.url(&path.replace(&ana["id"].to_string(), &bo["id"].to_string())))
        .send_empty()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    // An unsubscribe link does not confirm, nor the other way round.
    let crossed = agent()
        .post(&server.url(&path.replace("/unsubscribe/", "/confirm-replies/")))
        .send_empty()
        .unwrap();
    assert_eq!(crossed.status().as_u16(), 403);
    // After it, replies to Ana's first comment reach no one; a later subscriber still hears of
    // theirs once confirmed.
    reply(
        &server,
        &ana,
        "The annex names Europe only, yes.",
        "Eve",
        false,
    );
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .send_json(json!({"comment_content": "Has the sponsor said anything about the Paris games?",
            "comment_author": "Jo", "comment_author_email": "jo@example.org", "notify_replies": true}))
        .unwrap();
    let jo: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(jo["status"], "published", "{jo}");
    let asking = wait_for_mail(&smtp, "jo@example.org", 1).await;
    confirm(&server, &asking[0]);
    reply(&server, &jo, "Good question, Jo.", "Kim", false);
    wait_for_mail(&smtp, "jo@example.org", 2).await;
    assert_eq!(mail_to(&smtp, "ana@example.org").len(), 4);
    assert_eq!(mail_to(&smtp, "uma@example.org").len(), 1);
    assert!(mail_to(&smtp, "zed@example.org").is_empty());
    assert!(mail_to(&smtp, "\"zed\"@example.org").is_empty());

    // A move to Isso carries the consent as Isso's `notification`: confirmed and still
    // subscribed only (Isso asks no confirmation of its own).
    let isso = dir.path().join("isso.db");
    let db = dir.path().join("db.sqlite");
    let out = common::run(
        &[
            "export",
            "--format",
            "isso",
            "--db",
            db.to_str().unwrap(),
            "--out",
            isso.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let exported = rusqlite::Connection::open(&isso).unwrap();
    let notification = |comment: &Value| -> i64 {
        exported
            .query_row(
                "SELECT notification FROM comments WHERE id = ?1",
                [comment["id"].as_i64().unwrap()],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(notification(&ana_again), 1, "confirmed, subscribed");
    assert_eq!(notification(&jo), 1, "confirmed, subscribed");
    assert_eq!(notification(&ana), 0, "unsubscribed");
    assert_eq!(notification(&bo), 0, "never asked");
    assert_eq!(notification(&uma), 0, "never confirmed");
}

/// `/admin/notifications`: a moderator sets the webhook in a form; a wrong field is shown back
/// and nothing is saved; the secret is never put back in the page.
#[test]
fn notifications_are_set_in_admin() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("db.sqlite"), &model(), &[]);
    let cookie = server.admin_session();
    let page = agent()
        .get(&server.url("/admin/notifications"))
        .header("Cookie", &cookie)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a form") + "name=\"csrf\" value=\"".len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let post = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        agent()
            .post(&server.url("/admin/notifications"))
            .header("Cookie", &cookie)
            .send_form(all)
            .unwrap()
    };
    let mut bad = post(&[("webhook_url", "not a url"), ("webhook_secret", SECRET)]);
    assert_eq!(bad.status().as_u16(), 422);
    let text = bad.body_mut().read_to_string().unwrap();
    assert!(text.contains("is not an http(s) address"), "{text}");
    let (_, shown) = admin(&server, "GET", "/api/v1/admin/notifications", None);
    assert_eq!(
        shown["webhook_url"],
        Value::Null,
        "a refused form saved something"
    );
    let good = post(&[
        ("webhook_url", "https://hooks.example.com/x"),
        ("webhook_secret", SECRET),
        ("comment.held", "on"),
        ("comment.moderated", "on"),
    ]);
    assert_eq!(good.status().as_u16(), 303);
    let (_, shown) = admin(&server, "GET", "/api/v1/admin/notifications", None);
    assert_eq!(shown["webhook_url"], "https://hooks.example.com/x");
    assert_eq!(shown["webhook_secret_set"], true);
    assert_eq!(
        shown["events"],
        json!(["comment.held", "comment.moderated"])
    );
    let page = agent()
        .get(&server.url("/admin/notifications"))
        .header("Cookie", &cookie)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(!page.contains(SECRET), "the secret is in the page");
}
