//! Regression tests for the findings of the attacker's review (issue #27), each through the real
//! binary on an ephemeral port: raw sockets, raw HTTP, the process's own resident memory.

use crate::common;

use common::{Server, TOKEN, agent, model};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.x), so a test can play
/// several clients.
fn connect_from(from: &str, addr: &str) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Sends `request` and reads the answer until the server closes or `wait` passes.
fn exchange(stream: &mut TcpStream, request: &[u8], wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// True when the server closed `stream` (EOF or reset) within `wait`.
fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Idle and slow (slowloris) connections, more than the process has file descriptors for: the
/// server keeps answering `/healthz` within 100 ms, refuses what is over the per-address limit
/// with a 429, and closes idle and half-sent connections after the header timeout.
#[test]
fn idle_and_slow_connections_do_not_starve_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_fd_limit(
        256,
        &dir.path().join("rg.db"),
        &model(),
        &["--header-timeout", "2"],
    );
    let addr = server.addr();
    // 300 idle connections from one address: more than the 256 descriptors the server has.
    let mut idle: Vec<TcpStream> = (0..300).map(|_| connect_from("127.0.0.1", &addr)).collect();
    // 30 slow ones from another, each sending its headers a byte at a time.
    let mut slow: Vec<TcpStream> = (0..30).map(|_| connect_from("127.0.0.3", &addr)).collect();
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        for s in &mut slow {
            let _ = s.write_all(
                &b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaa"[sent % 40..sent % 40 + 1],
            );
        }
        sent += 1;
        let t = Instant::now();
        let mut probe = connect_from("127.0.0.2", &addr);
        let answer = exchange(&mut probe, HEALTHZ, Duration::from_secs(2));
        let took = t.elapsed();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        worst = worst.max(took);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        worst < Duration::from_millis(100),
        "/healthz took {worst:?}"
    );
    // The connections over the per-address limit (64) were closed at once, answered 429 while
    // the server had room to write answers (the rest without one).
    let answers: Vec<String> = idle
        .iter_mut()
        .rev()
        .take(200)
        .map(|s| exchange(s, b"", Duration::from_millis(300)))
        .collect();
    let refused = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 429"))
        .count();
    assert!(refused > 0, "{answers:?}");
    for s in idle.iter_mut().rev().take(200) {
        assert!(closed_by_server(s, Duration::from_millis(300)));
    }
    // The header timeout closes idle and half-sent connections.
    for s in idle.iter_mut().take(64).chain(slow.iter_mut()) {
        assert!(closed_by_server(s, Duration::from_secs(4)), "still open");
    }
    // A kept-alive connection idle after its request is closed too.
    let mut kept = connect_from("127.0.0.4", &addr);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(closed_by_server(&mut kept, Duration::from_secs(4)));
}

/// Past `--max-connections` a connection is answered 503 at once, not left hanging.
#[test]
fn connections_over_the_cap_are_refused_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--max-connections", "20"],
    );
    let addr = server.addr();
    let _held: Vec<TcpStream> = (0..20)
        .map(|i| connect_from(&format!("127.0.1.{}", i + 1), &addr))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut over = connect_from("127.0.2.1", &addr);
    let t = Instant::now();
    let answer = exchange(&mut over, HEALTHZ, Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("\"error\""), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A body announced over the limit is refused from its `Content-Length` at once, without waiting
/// for 64 KiB to arrive; JSON for the API, Akismet's form for Akismet.
#[test]
fn oversized_content_length_is_refused_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let addr = server.addr();
    for (path, expect) in [
        (
            "/api/v1/articles/alibaba-olympic-partner/comments",
            "\"error\"",
        ),
        ("/1.1/comment-check", "x-akismet-debug-help"),
    ] {
        let mut s = connect_from("127.0.0.1", &addr);
        let t = Instant::now();
        let answer = exchange(
            &mut s,
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{{\"a\":").as_bytes(),
            Duration::from_secs(3),
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer:?}");
        assert!(answer.to_ascii_lowercase().contains(expect), "{answer}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}

fn raw_request(server: &Server, from: &str, request: &str) -> String {
    let mut s = connect_from(from, &server.addr());
    exchange(&mut s, request.as_bytes(), Duration::from_secs(5))
}

fn bearer(server: &Server, from: &str, authorization: &str) -> String {
    raw_request(
        server,
        from,
        &format!(
            "GET /api/v1/admin/comments HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn login(server: &Server, token: &str, extra_headers: &str) -> String {
    let body = format!("token={token}");
    raw_request(
        server,
        "127.0.0.1",
        &format!(
            "POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// A token shorter than 16 characters is refused at start with a clear error, before anything
/// is created.
#[test]
fn a_short_admin_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let out = common::bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("REPLYGUARD_ADMIN_TOKEN", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("at least 16"), "{stderr}");
    assert!(!db.exists(), "a refused start leaves no database behind");
    // So does any other flag refused at start.
    let out = common::bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--site-accent",
            "notacolor",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!db.exists(), "{}", common::text(&out.stderr));
}

/// A new admin token signs every session out, across a restart.
#[test]
fn a_new_admin_token_signs_everyone_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let cookie = server.admin_session();
    let page = |server: &Server| {
        raw_request(
            server,
            "127.0.0.1",
            &format!(
                "GET /admin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert!(page(&server).contains("Moderation"));
    server.stop();
    let same = Server::start(&db, &model(), &[]);
    assert!(
        page(&same).contains("Moderation"),
        "a restart alone keeps sessions"
    );
    same.stop();
    let changed = Server::start(
        &db,
        &model(),
        &["--admin-token", "another-admin-secret-0123"],
    );
    let answer = page(&changed);
    assert!(!answer.contains("<h1>Moderation"), "{answer}");
    assert!(answer.contains("Admin token"), "{answer}");
}

/// The admin secret is kept as a salted Argon2id hash only: the database holds neither the token
/// nor a fast hash of it. A database from an earlier version (an unsalted SHA-256) still signs
/// in, and loses that hash once the server starts with the token.
#[test]
fn the_admin_secret_is_kept_as_a_salted_slow_hash() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let settings = || -> Vec<(String, String)> {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut statement = conn.prepare("SELECT key, value FROM settings").unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let fast_hash = |token: &str| hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let server = Server::start(&db, &model(), &[]);
    assert!(
        bearer(&server, "127.0.0.1", &format!("Bearer {}", common::TOKEN))
            .starts_with("HTTP/1.1 200")
    );
    server.stop();
    let stored = settings();
    let kept = stored
        .iter()
        .find(|(k, _)| k == "admin_token_argon2")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(kept.starts_with("$argon2id$"), "{stored:?}");
    assert!(
        !stored
            .iter()
            .any(|(_, v)| v.contains(common::TOKEN) || v.contains(&fast_hash(common::TOKEN))),
        "{stored:?}"
    );

    // An earlier version's database: only the token's SHA-256.
    let old = "an-earlier-versions-token-0123";
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("DELETE FROM settings WHERE key = 'admin_token_argon2'", [])
            .unwrap();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('admin_token_sha256', ?1)",
            [fast_hash(old)],
        )
        .unwrap();
    }
    // No token given (an empty flag outweighs the test's environment): the stored hash decides,
    // and once its token is proven, a salted hash replaces it (a deployment on a generated token
    // never passes it at start).
    let server = Server::start(&db, &model(), &["--admin-token", ""]);
    assert!(bearer(&server, "127.0.0.1", &format!("Bearer {old}")).starts_with("HTTP/1.1 200"));
    let started = std::time::Instant::now();
    while settings().iter().any(|(_, v)| v.contains(&fast_hash(old))) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            settings()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(bearer(&server, "127.0.0.1", &format!("Bearer {old}")).starts_with("HTTP/1.1 200"));
    assert!(
        bearer(&server, "127.0.0.2", &format!("Bearer {}", common::TOKEN))
            .starts_with("HTTP/1.1 401")
    );
    server.stop();
    let server = Server::start(&db, &model(), &["--admin-token", old]);
    assert!(bearer(&server, "127.0.0.1", &format!("Bearer {old}")).starts_with("HTTP/1.1 200"));
    server.stop();
    let stored = settings();
    assert!(
        !stored.iter().any(|(_, v)| v.contains(&fast_hash(old))),
        "{stored:?}"
    );
    assert!(
        stored
            .iter()
            .any(|(k, v)| k == "admin_token_argon2" && v.starts_with("$argon2id$")),
        "{stored:?}"
    );
}

/// Two servers started at the same moment on a new SQLite file (a restart overlapping the old
/// process, a second process beside it): both start, each migration applies once, and they agree
/// on what each would make its own — the salted hash of the admin token (a session signed in on
/// one holds on the other) and the key of signed links.
#[test]
fn two_servers_starting_together_agree_on_one_database() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rg.db");
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| Server::start(&db, &model(), &[]));
            let b = s.spawn(|| Server::start(&db, &model(), &[]));
            (a.join().unwrap(), b.join().unwrap())
        });
        let cookie = a.admin_session();
        let page = raw_request(
            &b,
            "127.0.0.1",
            &format!(
                "GET /admin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ),
        );
        assert!(page.contains("Moderation"), "{page}");
        a.stop();
        b.stop();
    }
}

/// Wrong tokens from one address are throttled with a growing wait (the right token too, while
/// it lasts); another address is not; the scheme is case-insensitive.
#[test]
fn admin_sign_ins_are_throttled_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let right = format!("bearer {}", common::TOKEN);
    assert!(bearer(&server, "127.0.0.1", &right).starts_with("HTTP/1.1 200"));
    for _ in 0..4 {
        assert!(bearer(&server, "127.0.0.1", "Bearer wrong-token").starts_with("HTTP/1.1 401"));
    }
    assert!(login(&server, "wrong-token", "").starts_with("HTTP/1.1 401"));
    let throttled = bearer(&server, "127.0.0.1", &right);
    assert!(throttled.starts_with("HTTP/1.1 429"), "{throttled}");
    assert!(
        throttled.to_ascii_lowercase().contains("retry-after: "),
        "{throttled}"
    );
    assert!(throttled.contains("\"error\""), "{throttled}");
    assert!(login(&server, common::TOKEN, "").starts_with("HTTP/1.1 429"));
    assert!(
        bearer(&server, "127.0.0.2", &format!("BEARER {}", common::TOKEN))
            .starts_with("HTTP/1.1 200")
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert!(bearer(&server, "127.0.0.1", &right).starts_with("HTTP/1.1 200"));
}

/// The admin's first sign-in after a start is not queued behind a flood of wrong guesses from
/// many addresses (each under the per-address throttle): wrong tokens are checked one at a time
/// (Argon2), and a token waits 3 s for its turn before a 429; the token the server was started
/// with is recognised without that queue.
#[test]
fn the_admins_first_sign_in_is_not_queued_behind_a_flood_of_guesses() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let server = std::sync::Arc::new(Server::start(&dir.path().join("rg.db"), &model(), &[]));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    // 400 addresses guessing at once, up to 4 guesses each (the throttle lets 5 through): at
    // 10-20 ms an Argon2 run, a token arriving behind them would wait far past its 3 s.
    let flooders: Vec<_> = (0..400)
        .map(|i| {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                let from = format!("127.0.{}.{}", 1 + i / 200, 1 + i % 200);
                for guess in 0..4 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    bearer(&server, &from, &format!("Bearer wrong-guess-{i}-{guess}"));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let answer = bearer(&server, "127.0.9.9", &format!("Bearer {}", common::TOKEN));
    stop.store(true, Ordering::Relaxed);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for flooder in flooders {
        flooder.join().unwrap();
    }
}

/// The session cookie is `Secure` when the request came over TLS through a trusted proxy, or
/// when `--public-url` is https; not otherwise.
#[test]
fn session_cookies_are_secure_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let cookie_of = |answer: &str| {
        answer
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .unwrap_or_else(|| panic!("{answer}"))
            .to_string()
    };
    let proxied = Server::start(&db, &model(), &["--trusted-proxy", "127.0.0.1"]);
    let tls = cookie_of(&login(
        &proxied,
        common::TOKEN,
        "X-Forwarded-Proto: https\r\n",
    ));
    assert!(tls.contains("Secure"), "{tls}");
    let plain = cookie_of(&login(&proxied, common::TOKEN, ""));
    assert!(!plain.contains("Secure"), "{plain}");
    proxied.stop();
    let untrusted = Server::start(&db, &model(), &[]);
    let forged = cookie_of(&login(
        &untrusted,
        common::TOKEN,
        "X-Forwarded-Proto: https\r\n",
    ));
    assert!(!forged.contains("Secure"), "{forged}");
    untrusted.stop();
    let public = Server::start(
        &db,
        &model(),
        &["--public-url", "https://blog.example.com/"],
    );
    let cookie = cookie_of(&login(&public, common::TOKEN, ""));
    assert!(cookie.contains("Secure"), "{cookie}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Readers choosing page cursors cannot make the server keep a copy of a megabyte page per
/// cursor: a cursor that is not a comment id is a 400, a cursor past the end is not cached, and
/// the cache has a byte budget. Measured on the real process's resident memory.
#[test]
fn distinct_page_cursors_do_not_grow_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        // Learning the comments as implicit ham rebuilds the model meanwhile, whose transient
        // allocations are not what this test measures.
        &[
            "--hold-threshold",
            "1",
            "--reject-threshold",
            "1",
            "--learn-published-after-comments",
            "0",
        ],
    );
    let slug = "alibaba-olympic-partner";
    let api = server.url(&format!("/api/v1/articles/{slug}/comments"));
    let long =
        "I wonder how big the cloud contract with the IOC really is, and who pays. ".repeat(120);
    for i in 0..100 {
        let body = serde_json::json!({"comment_content": format!("{i} {long}"), "comment_author": "Ana", "comment_author_email": format!("ana{i}@example.org")});
        let resp = common::agent().post(&api).send_json(&body).unwrap();
        assert_eq!(resp.status().as_u16(), 201);
    }
    let get = |query: &str| {
        let mut resp = common::agent()
            .get(&server.url(&format!("/articles/{slug}?{query}")))
            .call()
            .unwrap();
        let status = resp.status().as_u16();
        let len = resp.body_mut().read_to_vec().map_or(0, |b| b.len());
        (status, len)
    };
    let (status, len) = get("after=1");
    assert_eq!(status, 200);
    assert!(len > 800_000, "a page of long comments ({len} bytes)");
    let before = rss_kib(server.pid());
    for i in 1..=600 {
        assert_eq!(get(&format!("after=-{i}")).0, 400);
    }
    for i in 1..=100 {
        assert_eq!(get(&format!("after={i}")).0, 200);
        assert_eq!(get(&format!("before={}", i + 1)).0, 200);
    }
    for i in 0..300 {
        assert_eq!(get(&format!("after={}", 1_000_000 + i)).0, 200);
    }
    let after = rss_kib(server.pid());
    assert!(
        after < before + 100 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

fn new_key(db: &std::path::Path, blog: &str) -> String {
    let out = common::bin()
        .args(["keys", "--db"])
        .arg(db)
        .args(["add", "--blog", blog])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    common::text(&out.stdout).trim().to_string()
}

fn akismet(server: &Server, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let mut resp = common::agent()
        .post(&server.url(path))
        .send_form(form.iter().copied())
        .unwrap();
    let help = resp
        .headers()
        .get("x-akismet-debug-help")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
        help,
    )
}

/// A key holder cannot publish on the site's pages (permalink, administrator role, another key's
/// guid), cannot retrain the shared model by submits, and does not consume the readers' flood
/// budget.
#[test]
fn akismet_keys_cannot_publish_retrain_or_lock_readers_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let mine = new_key(&db, "https://partner.example");
    let other = new_key(&db, "https://other.example");
    let server = Server::start(&db, &model(), &["--flood-seconds", "60"]);
    let slug = "alibaba-olympic-partner";
    let permalink = server.url(&format!("/articles/{slug}"));
    let text = "Pwned by a partner key: visit the landing page today";
    let check = |key: &str, blog: &str, extra: &[(&str, &str)]| {
        let mut form = vec![
            ("api_key", key),
            ("blog", blog),
            ("user_ip", "127.0.0.1"),
            ("comment_content", text),
            ("comment_author", "Partner"),
            ("permalink", permalink.as_str()),
        ];
        form.extend_from_slice(extra);
        let mut resp = common::agent()
            .post(&server.url("/1.1/comment-check"))
            .send_form(form)
            .unwrap();
        let guid = resp
            .headers()
            .get("x-akismet-guid")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        (resp.body_mut().read_to_string().unwrap(), guid)
    };
    // The administrator role answers `false` (Akismet's rule: the blog's own staff) and keeps
    // nothing: the page below stays without it.
    let (answer, _) = check(
        &mine,
        "https://partner.example",
        &[("user_role", "administrator")],
    );
    assert_eq!(answer, "false");
    let (_, guid) = check(&other, "https://other.example", &[]);
    // Another key's guid: nothing happens to that check.
    let (status, body, _) = akismet(
        &server,
        "/1.1/submit-ham",
        &[
            ("api_key", &mine),
            ("blog", "https://partner.example"),
            ("guid", &guid),
            ("comment_content", text),
        ],
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "Thanks for making the web a better place.")
    );
    // Its own guid: corrects its own check, in its own namespace.
    let (_, guid) = check(&mine, "https://partner.example", &[]);
    akismet(
        &server,
        "/1.1/submit-ham",
        &[
            ("api_key", &mine),
            ("blog", "https://partner.example"),
            ("guid", &guid),
            ("comment_content", text),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let page = common::agent()
        .get(&permalink)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        !page.contains("Pwned by a partner"),
        "a check landed on the site's page"
    );
    // A reader from the same address as the checks' user_ip is not flooded by them.
    let reader = serde_json::json!({"comment_content": "A reader's own remark on the deal.", "comment_author": "Ana", "comment_author_email": "ana@example.org"});
    let resp = common::agent()
        .post(&server.url(&format!("/api/v1/articles/{slug}/comments")))
        .send_json(&reader)
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "the reader was refused by the partner's checks"
    );
    // Submits without a guid: test ones acknowledged only; the rest rate-limited per key (429 with
    // a reason) and never learned by the shared model.
    let before: serde_json::Value = common::agent()
        .get(&server.url("/healthz"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let mut limited = None;
    for i in 0..100 {
        let content = format!("free gift cards number {i}");
        let (status, _, help) = akismet(
            &server,
            "/1.1/submit-spam",
            &[
                ("api_key", &mine),
                ("blog", "https://partner.example"),
                ("comment_content", &content),
            ],
        );
        if status == 429 {
            limited = Some((i, help));
            break;
        }
    }
    let (at, help) = limited.expect("submits are rate-limited");
    assert!(at >= 50 && help.contains("Too many submits"), "{at} {help}");
    std::thread::sleep(Duration::from_millis(600));
    let after: serde_json::Value = common::agent()
        .get(&server.url("/healthz"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(
        before["model"]["learned"]["examples"], after["model"]["learned"]["examples"],
        "submits taught the shared model"
    );
}

/// What a key holder teaches through `submit-spam` (with its checks' guids) changes that key's
/// own verdicts only: the site's model scores the same text exactly as before.
#[test]
fn a_keys_lessons_teach_only_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let key = new_key(&db, "https://partner.example");
    let server = Server::start(&db, &model(), &[]);
    let probe = "Has anyone tried the zorblax tonic they sell at the stadium gates?";
    let site_score = || site_score(&server, probe);
    let before = site_score();
    let check = |text: &str, n: usize| -> String {
        let ip = format!("198.51.100.{n}");
        let form = [
            ("api_key", key.as_str()),
            ("blog", "https://partner.example"),
            ("user_ip", ip.as_str()),
            ("comment_content", text),
            ("comment_author", "Someone"),
        ];
        let resp = common::agent()
            .post(&server.url("/1.1/comment-check"))
            .send_form(form)
            .unwrap();
        resp.headers()
            .get("x-akismet-guid")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    for n in 0..8 {
        let text = format!("zorblax tonic number {n} from the stadium gates, ask the tonic seller");
        let guid = check(&text, n);
        let (status, body, _) = akismet(
            &server,
            "/1.1/submit-spam",
            &[
                ("api_key", &key),
                ("blog", "https://partner.example"),
                ("guid", &guid),
                ("comment_content", &text),
            ],
        );
        assert_eq!(status, 200, "{body}");
    }
    std::thread::sleep(Duration::from_millis(800));
    check(probe, 99);
    let scores = stored_scores(&server, probe);
    assert_eq!(
        scores.len(),
        1,
        "the key's check of the probe is stored once"
    );
    let after = site_score();
    assert_eq!(
        after, before,
        "the site's model did not learn the key's lessons"
    );
    assert!(
        scores[0] > before + 0.05,
        "the key's own model learned them: {} vs site {before}",
        scores[0]
    );
}

/// The site's score for `text` (`/api/v1/classify`).
fn site_score(server: &Server, text: &str) -> f64 {
    let mut resp = common::agent()
        .post(&server.url("/api/v1/classify"))
        .send_json(serde_json::json!({"comment_content": text, "comment_author": "Ana"}))
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    body["spam_probability"].as_f64().unwrap()
}

/// The spam probabilities of the stored comments (Akismet checks included) whose text is
/// `content`.
fn stored_scores(server: &Server, content: &str) -> Vec<f64> {
    let mut scores = Vec::new();
    for status in ["published", "held", "spam"] {
        let body = admin_get(
            server,
            &format!("/api/v1/admin/comments?status={status}&limit=100"),
        );
        for c in body["comments"].as_array().cloned().unwrap_or_default() {
            if c["content"] == content {
                scores.push(c["spam_probability"].as_f64().unwrap());
            }
        }
    }
    scores
}

fn admin_get(server: &Server, path: &str) -> serde_json::Value {
    let mut resp = common::agent()
        .get(&server.url(path))
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .call()
        .unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn admin_post(server: &Server, path: &str) -> (u16, serde_json::Value) {
    let mut resp = common::agent()
        .post(&server.url(path))
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .send_empty()
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap_or_default())
}

/// A key's submits without a guid are its votes: one per text (a repeat, even shouted, changes
/// nothing), learned by the key's own model only, listed in the admin's lessons with their
/// source, and taken back there, once. A lesson that a comment's status stands for is not taken
/// back there: the answer names the comment to change instead.
#[test]
fn a_keys_votes_count_once_teach_only_it_and_can_be_taken_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let key = new_key(&db, "https://partner.example");
    let server = Server::start(&db, &model(), &[]);
    let probe = "Has anyone tried the zorblax tonic they sell at the stadium gates?";
    let site_score = || site_score(&server, probe);
    // The key's own score for the probe: a check of it, read back from the stored check.
    let key_score = |round: u8| -> (f64, String) {
        let text = format!("{probe} Round {}.", ["one", "two", "three"][round as usize]);
        let ip = format!("198.51.100.{round}");
        let resp = common::agent()
            .post(&server.url("/1.1/comment-check"))
            .send_form([
                ("api_key", key.as_str()),
                ("blog", "https://partner.example"),
                ("user_ip", ip.as_str()),
                ("comment_content", text.as_str()),
                ("comment_author", "Someone"),
            ])
            .unwrap();
        let guid = resp.headers()["x-akismet-guid"]
            .to_str()
            .unwrap()
            .to_string();
        let scores = stored_scores(&server, &text);
        assert_eq!(scores.len(), 1, "{text}");
        (scores[0], guid)
    };
    let site_before = site_score();
    let (key_before, _) = key_score(0);
    for n in 0..16 {
        let (text, endpoint) = if n < 8 {
            (
                format!("zorblax tonic number {n} from the stadium gates, ask the tonic seller"),
                "/1.1/submit-spam",
            )
        } else {
            (
                format!("The concert review number {n} was a pleasure to read, thank you."),
                "/1.1/submit-ham",
            )
        };
        for repeat in 0..3 {
            let sent = if repeat == 2 {
                text.to_uppercase()
            } else {
                text.clone()
            };
            let (status, body, _) = akismet(
                &server,
                endpoint,
                &[
                    ("api_key", &key),
                    ("blog", "https://partner.example"),
                    ("comment_content", &sent),
                ],
            );
            assert_eq!(
                (status, body.as_str()),
                (200, "Thanks for making the web a better place.")
            );
        }
    }
    let votes: Vec<serde_json::Value> = admin_get(&server, "/api/v1/admin/lessons")["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["source"] == "akismet-submit")
        .cloned()
        .collect();
    assert_eq!(votes.len(), 16, "one lesson per text: {votes:?}");
    assert!(votes.iter().all(
        |v| v["teaches"].as_str().unwrap().starts_with("akismet:") && v["comment_id"].is_null()
    ));
    std::thread::sleep(Duration::from_millis(800));
    let (key_taught, guid) = key_score(1);
    assert!(
        key_taught > key_before + 0.05,
        "the key's model learned its votes: {key_before} → {key_taught}"
    );
    assert_eq!(
        site_score(),
        site_before,
        "the site's model learned a key's votes"
    );

    // The moderator sees them in /admin/lessons and takes the first back with its button, the
    // rest over the API.
    let cookie = server.admin_session();
    let page = common::agent()
        .get(&server.url("/admin/lessons"))
        .header("Cookie", &cookie)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        page.contains("zorblax tonic number 7") && page.contains("Akismet client"),
        "{page}"
    );
    assert!(
        !page.contains("Older →"),
        "a page shorter than the limit links to no older one"
    );
    let csrf = common::csrf_of(&page);
    for (n, vote) in votes.iter().filter(|v| v["label"] == "spam").enumerate() {
        let id = vote["id"].as_i64().unwrap();
        if n == 0 {
            let resp = common::agent()
                .post(&server.url(&format!("/admin/lessons/{id}/take-back")))
                .header("Cookie", &cookie)
                .send_form([("csrf", csrf.as_str())])
                .unwrap();
            assert_eq!(resp.status().as_u16(), 303);
            let (again, body) =
                admin_post(&server, &format!("/api/v1/admin/lessons/{id}/take-back"));
            assert_eq!(again, 409, "{body}");
            continue;
        }
        let (status, body) = admin_post(&server, &format!("/api/v1/admin/lessons/{id}/take-back"));
        assert_eq!(status, 200, "{body}");
        let (again, body) = admin_post(&server, &format!("/api/v1/admin/lessons/{id}/take-back"));
        assert_eq!(again, 409, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("already taken back"),
            "{body}"
        );
    }
    std::thread::sleep(Duration::from_millis(800));
    let (key_after, _) = key_score(2);
    assert!(
        key_after - key_before < (key_taught - key_before) / 4.0,
        "taking the votes back undid them: {key_before} → {key_taught} → {key_after}"
    );

    // A correction by guid is that check's status: taken back by changing the status.
    let (status, _, _) = akismet(
        &server,
        "/1.1/submit-ham",
        &[
            ("api_key", &key),
            ("blog", "https://partner.example"),
            ("guid", &guid),
        ],
    );
    assert_eq!(status, 200);
    let lessons = admin_get(&server, "/api/v1/admin/lessons?limit=1");
    let newest = &lessons["lessons"][0];
    // Paging: a full page points at the next; the last, shorter one at none.
    assert_eq!(lessons["next_before"], newest["id"]);
    let all = admin_get(&server, "/api/v1/admin/lessons?limit=1000");
    let count = all["lessons"].as_array().unwrap().len();
    assert!((1..1000).contains(&count), "{all}");
    assert_eq!(all["next_before"], serde_json::Value::Null, "{all}");
    let comment = newest["comment_id"]
        .as_i64()
        .expect("the correction names its comment");
    let id = newest["id"].as_i64().unwrap();
    let (status, body) = admin_post(&server, &format!("/api/v1/admin/lessons/{id}/take-back"));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("comment {comment}")),
        "{body}"
    );
    let (status, _) = admin_post(&server, "/api/v1/admin/lessons/999999/take-back");
    assert_eq!(status, 404);
}

/// A key with a monthly quota is refused beyond it (429 with Akismet's alert headers, so the
/// blog's client holds the comment), and `usage-limit` says it is throttled; test checks and
/// refused checks do not count.
#[test]
fn a_key_beyond_its_quota_is_refused_with_akismets_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let out = common::bin()
        .args(["keys", "--db"])
        .arg(&db)
        .args(["add", "--blog", "https://partner.example", "--quota", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let key = common::text(&out.stdout).trim().to_string();
    let server = Server::start(&db, &model(), &[]);
    let check = |n: usize, test: bool| {
        let text = format!("Comment number {n} on the partner's blog.");
        let mut form = vec![
            ("api_key", key.as_str()),
            ("blog", "https://partner.example"),
            ("user_ip", "198.51.100.7"),
            ("comment_content", text.as_str()),
        ];
        if test {
            form.push(("is_test", "1"));
        }
        common::agent()
            .post(&server.url("/1.1/comment-check"))
            .send_form(form)
            .unwrap()
    };
    for n in 0..3 {
        assert_eq!(check(n, false).status().as_u16(), 200);
        assert_eq!(
            check(100 + n, true).status().as_u16(),
            200,
            "test checks are free"
        );
    }
    let resp = check(3, false);
    assert_eq!(resp.status().as_u16(), 429);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(!header("x-akismet-alert-code").is_empty());
    assert!(
        header("x-akismet-alert-msg").contains("quota of 3"),
        "{}",
        header("x-akismet-alert-msg")
    );
    let usage = || -> serde_json::Value {
        let mut resp = common::agent()
            .get(&server.url(&format!("/1.2/usage-limit?api_key={key}")))
            .call()
            .unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    };
    let first = usage();
    assert_eq!(first["limit"], 3);
    assert_eq!(first["throttled"], true, "{first}");
    // A refused call did nothing, so it is not usage (the blog's retries do not inflate it).
    assert_eq!(check(4, false).status().as_u16(), 429);
    assert_eq!(usage()["usage"], 3);
}

/// Every error of the JSON APIs is JSON, whoever made it: a handler, or the framework refusing a
/// path, a query or a method before any handler runs (README: "Hostile input").
#[test]
fn every_json_api_error_is_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("db.sqlite"), &model(), &[]);
    let probes: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/api/v1/articles/x/comments?page=abc", None),
        ("GET", "/api/v1/articles/x/comments?per_page=-1", None),
        ("POST", "/api/v1/admin/comments/abc/approve", None),
        ("DELETE", "/api/v1/classify", None),
        ("GET", "/api/v1/no-such-route", None),
        ("POST", "/api/v1/classify", Some("{\"x\":1")),
        ("POST", "/api/v1/classify", Some("[]")),
        ("GET", "/isso/id/abc", None),
        ("GET", "/isso/?uri=/a/&limit=x", None),
        ("PATCH", "/isso/new?uri=/a/", None),
        ("GET", "/isso/latest", None),
    ];
    for (method, path, body) in probes {
        let request = ureq::http::Request::builder()
            .method(*method)
            .uri(server.url(path))
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body(body.unwrap_or_default().to_string())
            .unwrap();
        let mut resp = agent().run(request).unwrap();
        let status = resp.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            kind.starts_with("application/json"),
            "{method} {path}: {status} {kind}"
        );
        let error: serde_json::Value = resp.body_mut().read_json().unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {error}"
        );
    }
}

/// Comment forms take posts from this server's own pages only: a form on another site would
/// make its visitors' browsers post comments here from real readers' addresses (past the flood
/// and rate limits). Refused by `Sec-Fetch-Site: cross-site`, or, from a browser too old to send
/// it, by an `Origin` of another host; nothing is stored. The server's own pages, and posts
/// that carry neither header (scripts), are taken.
#[test]
fn comment_forms_refuse_posts_from_another_sites_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &[
            "--min-form-seconds",
            "0",
            "--flood-seconds",
            "0",
            "--rate-limit",
            "0",
        ],
    );
    let own = server.base.clone();
    let forms = [
        "/articles/alibaba-olympic-partner/comments".to_string(),
        "/sites/default/thread?uri=%2Fposts%2Fa%2F".to_string(),
    ];
    for (n, form) in forms.iter().enumerate() {
        let post = |headers: &[(&str, &str)], text: &str| -> u16 {
            let mut request = agent()
                .post(&server.url(form))
                .config()
                .max_redirects(0)
                .http_status_as_error(false)
                .build();
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
                .send_form([
                    ("comment", text),
                    ("author", "Vi"),
                    ("email", "vi@example.org"),
                ])
                .unwrap()
                .status()
                .as_u16()
        };
        let text = |what: &str| format!("Form {n}, {what}: which venues does the deal cover?");
        for (headers, what) in [
            (vec![("Sec-Fetch-Site", "cross-site")], "cross-site"),
            (vec![("Origin", "http://evil.example")], "evil origin"),
            (vec![("Origin", "null")], "null origin"),
            (
                vec![
                    ("Origin", "https://shop.example.com"),
                    ("Sec-Fetch-Site", "same-site"),
                ],
                "sibling subdomain",
            ),
            (
                vec![
                    ("Origin", "http://evil.example"),
                    ("Sec-Fetch-Site", "cross-site"),
                ],
                "both",
            ),
        ] {
            assert_eq!(post(&headers, &text(what)), 403, "{form} {what}");
        }
        for (headers, what) in [
            (
                vec![("Sec-Fetch-Site", "same-origin"), ("Origin", own.as_str())],
                "own page",
            ),
            (vec![("Origin", own.as_str())], "own origin"),
            (vec![], "a script"),
        ] {
            assert_eq!(post(&headers, &text(what)), 303, "{form} {what}");
        }
    }
    // A page at one of a site's own origins may post to that site's thread (a static blog's own
    // form), even cross-site; another origin may not.
    let (status, body) = server.admin_api(
        "POST",
        "/api/v1/admin/sites",
        Some(r#"{"name":"blog","origins":["https://blog.example"]}"#),
    );
    assert_eq!(status, 201, "{body}");
    let blog_form = |origin: &str, text: &str| -> u16 {
        agent()
            .post(&server.url("/sites/blog/thread?uri=%2Fposts%2Fb%2F"))
            .config()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .header("Origin", origin)
            .header("Sec-Fetch-Site", "cross-site")
            .send_form([("comment", text), ("author", "Vi")])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        blog_form(
            "https://blog.example",
            "From the blog's own form: which venues?"
        ),
        303
    );
    assert_eq!(
        blog_form(
            "https://evil.example",
            "From an evil page: cross-site again?"
        ),
        403
    );
    let stored = common::stored_comments(&server);
    let contents: Vec<&str> = stored
        .iter()
        .filter_map(|c| c["content"].as_str())
        .collect();
    assert_eq!(contents.len(), 7, "{contents:?}");
    let refused = [
        "cross-site",
        "evil origin",
        "null origin",
        "both",
        "evil page",
    ];
    assert!(
        contents
            .iter()
            .all(|c| refused.iter().all(|r| !c.contains(r))),
        "{contents:?}"
    );
}
