//! README's deployment, as written: the `serve` flags and the Caddy and nginx examples of
//! "Deploy", each run with Debian's package in front of the real server over TLS (Caddy's own
//! local CA for `localhost`; a self-signed certificate for nginx). Pages and the API answer through
//! the proxy, the reader's address passes through it, the admin's session cookie is `Secure`, and
//! absolute links (feeds) use the public https address.

use crate::common;

use common::{Server, TOKEN, model};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first fenced block after the line of README.md that starts with `heading`.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let after = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading}"))..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A proxy process of the test's own, stopped when the test ends.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `curl` through the proxy (`-k`: the certificate is Caddy's local CA's); status line, headers
/// and body.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl (sh tests/setup.sh)");
    common::text(&out.stdout)
}

/// The server as README's serve line starts it, with `public` for the public address; and the
/// upstream address a proxy's configuration names.
fn readme_server(dir: &std::path::Path, public: &str) -> (Server, String) {
    let serve = readme_block("Put a TLS proxy in front");
    let flags: Vec<String> = serve
        .split_whitespace()
        .skip_while(|w| *w != "--trusted-proxy")
        .map(|w| w.replace("https://blog.example.com", public))
        .collect();
    assert_eq!(flags[..2], ["--trusted-proxy", "127.0.0.1"], "{serve}");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(&dir.join("rg.db"), &model(), &flags);
    let upstream = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    (server, upstream)
}

/// `base`'s `/healthz` once it answers 200 (status line, headers, body); `why` says what went
/// wrong after 30 s.
fn healthy(base: &str, why: impl Fn(&str) -> String) -> String {
    healthy_behind(base, None).unwrap_or_else(|answer| panic!("{}", why(&answer)))
}

/// Posts a reader's comment through `base` (with `headers`, e.g. a forwarded address): 201.
fn post_comment(base: &str, text: &str, headers: &[&str]) {
    let body = format!(
        r#"{{"comment_content":"{text}","comment_author":"Ana","comment_author_email":"ana@example.org"}}"#
    );
    let mut args = vec!["-H", "Content-Type: application/json"];
    for header in headers {
        args.extend(["-H", header]);
    }
    let url = format!("{base}/api/v1/articles/alibaba-olympic-partner/comments");
    args.extend(["--data", &body, &url]);
    let posted = curl(&args);
    assert!(posted.contains(" 201"), "{posted}");
}

/// The addresses of the published and held comments, read through `base`'s admin API.
fn stored_addresses(base: &str) -> Vec<String> {
    ["published", "held"]
        .iter()
        .flat_map(|status| {
            let answer = curl(&[
                "-H",
                &format!("Authorization: Bearer {TOKEN}"),
                &format!("{base}/api/v1/admin/comments?status={status}"),
            ]);
            let body = &answer[answer.find("\r\n\r\n").map_or(0, |i| i + 4)..];
            let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            json["comments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c["user_ip"].as_str().map(str::to_string))
        })
        .collect()
}

/// Signing in over TLS gives a `Secure`, `HttpOnly` session cookie, and feeds link to the public
/// https address.
fn assert_secure_session_and_public_links(public: &str) {
    let signed_in = curl(&[
        "--data",
        &format!("token={TOKEN}"),
        &format!("{public}/admin/login"),
    ]);
    let cookie = signed_in
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {signed_in}"));
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let feed = curl(&[&format!("{public}/feed")]);
    assert!(feed.contains(&format!("{public}/")), "{feed}");
}

#[test]
fn the_readme_caddy_example_serves_replyguard_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    // A port picked free can be taken by a parallel test before Caddy binds it: then Caddy
    // exits, and the test starts over on other ports (its log says why, if it ever fails).
    let mut attempt = 0;
    let (public, _server, caddy, health) = loop {
        attempt += 1;
        let https = free_port();
        let public = format!("https://localhost:{https}");
        let (server, upstream) = readme_server(dir.path(), &public);
        // README's Caddyfile, for this host and these ports, with Caddy kept to the test's folder.
        let site = readme_block("Caddy (certificates automatic")
            .replace("blog.example.com", &format!("localhost:{https}"))
            .replace("127.0.0.1:8080", &upstream);
        let caddyfile = dir.path().join("Caddyfile");
        std::fs::write(
            &caddyfile,
            format!(
                "{{\n    admin off\n    skip_install_trust\n    auto_https disable_redirects\n    http_port {}\n    https_port {https}\n}}\n{site}",
                free_port()
            ),
        )
        .unwrap();
        let log = dir.path().join(format!("caddy-{attempt}.log"));
        let mut caddy = Proxy(
            Command::new("caddy")
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(&caddyfile)
                .env("HOME", dir.path())
                .env("XDG_DATA_HOME", dir.path().join("data"))
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("caddy (sh tests/setup.sh)"),
        );
        match healthy_behind(&public, Some(&mut caddy)) {
            Ok(health) => break (public, server, caddy, health),
            Err(why) if why.starts_with("exited") && attempt < 3 => continue,
            Err(why) => panic!(
                "Caddy did not serve replyguard: {why}\ncaddy's log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    };
    assert!(health.contains("\"status\""), "{health}");
    // Caddy answered (TLS and HTTP/2 are its: replyguard itself speaks plain HTTP/1.1).
    assert!(
        health.starts_with("HTTP/2 200") && health.to_ascii_lowercase().contains("server: caddy"),
        "{health}"
    );
    post_comment(&public, "Which markets does the deal cover?", &[]);
    assert_secure_session_and_public_links(&public);
    drop(caddy);
}

/// `base`'s `/healthz` (through `proxy`, if any) once it answers 200; otherwise `exited …` if
/// the proxy exits first, or the last answer after 30 s.
fn healthy_behind(base: &str, mut proxy: Option<&mut Proxy>) -> Result<String, String> {
    let started = Instant::now();
    loop {
        if let Some(Ok(Some(status))) = proxy.as_mut().map(|p| p.0.try_wait()) {
            return Err(format!("exited ({status})"));
        }
        let answer = curl(&[&format!("{base}/healthz")]);
        if answer.starts_with("HTTP/2 200") || answer.starts_with("HTTP/1.1 200") {
            return Ok(answer);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(answer);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A self-signed certificate and key for `localhost` in `dir`, made with `openssl`.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (sh tests/setup.sh)");
    assert!(made.success(), "openssl could not make a certificate");
    (cert, key)
}

#[test]
fn the_readme_nginx_example_serves_replyguard_over_tls_and_passes_the_readers_address() {
    let dir = tempfile::tempdir().unwrap();
    let https = free_port();
    let public = format!("https://localhost:{https}");
    let (_server, upstream) = readme_server(dir.path(), &public);

    // README's server block, for this host, port, certificate and upstream, in a configuration
    // that keeps nginx to the test's folder.
    let (cert, key) = self_signed(dir.path());
    let site = readme_block("\nnginx (")
        .replace("listen 443 ssl", &format!("listen 127.0.0.1:{https} ssl"))
        .replace("blog.example.com", "localhost")
        .replace(
            "/etc/letsencrypt/live/localhost/fullchain.pem",
            cert.to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/localhost/privkey.pem",
            key.to_str().unwrap(),
        )
        .replace("127.0.0.1:8080", &upstream);
    assert!(
        site.contains(&upstream) && site.contains("fullchain.pem"),
        "{site}"
    );
    let prefix = dir.path().join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let conf = prefix.join("nginx.conf");
    let temp = |name: &str| format!("{name}_temp_path {};", prefix.join(name).display());
    std::fs::write(
        &conf,
        format!(
            "pid {pid};\nerror_log {log};\nevents {{}}\nhttp {{\n    access_log off;\n    {} {} {} {} {}\n{site}}}\n",
            temp("client_body"),
            temp("proxy"),
            temp("fastcgi"),
            temp("uwsgi"),
            temp("scgi"),
            pid = prefix.join("nginx.pid").display(),
            log = prefix.join("logs/error.log").display(),
        ),
    )
    .unwrap();
    // Debian puts it in /usr/sbin, which not every PATH holds.
    let binary = ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .find(|b| std::path::Path::new(b).exists())
        .unwrap_or("nginx");
    // One process, in the foreground: the test's own, stopped when it ends.
    let nginx = Proxy(
        Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off; master_process off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (sh tests/setup.sh)"),
    );
    let health = healthy(&public, |answer| {
        format!(
            "nginx did not serve replyguard: {answer}\n{}",
            std::fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default()
        )
    });
    assert!(
        health.to_ascii_lowercase().contains("server: nginx"),
        "{health}"
    );

    // A reader behind the proxy is known by the address nginx passes on, not by the proxy's.
    post_comment(
        &public,
        "Does the contract cover the cloud services too?",
        &["X-Forwarded-For: 198.51.100.7"],
    );
    assert_eq!(stored_addresses(&public), ["198.51.100.7"]);
    assert_secure_session_and_public_links(&public);
    drop(nginx);
}

/// The `[Service]` settings of `deploy/replyguard.service` that say how the server is run, with
/// the machine's paths replaced by `replace`'s.
struct Unit {
    text: String,
    environment: Vec<(String, String)>,
    environment_file: String,
    working_directory: String,
    exec_start: Vec<String>,
}

impl Unit {
    fn read(replace: &[(&str, String)]) -> Unit {
        let mut text = std::fs::read_to_string(common::repo().join("deploy/replyguard.service"))
            .expect("deploy/replyguard.service");
        for (from, to) in replace {
            text = text.replace(from, to);
        }
        let setting = |key: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
                .collect()
        };
        let environment = setting("Environment")
            .iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("Environment=KEY=VALUE");
                (k.to_string(), v.to_string())
            })
            .collect();
        let one = |key: &str| setting(key).pop().unwrap_or_else(|| panic!("no {key}="));
        Unit {
            environment,
            environment_file: one("EnvironmentFile").trim_start_matches('-').to_string(),
            working_directory: one("WorkingDirectory"),
            exec_start: one("ExecStart")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            text,
        }
    }
}

/// The systemd unit as shipped: `systemd-analyze verify` accepts it, and what systemd would run —
/// its `ExecStart` in its working directory with its environment and environment file — serves on
/// the unit's address with the unit's database, believes the unit's proxies, reloads the model on
/// `SIGHUP` (its `ExecReload`) and stops cleanly on `SIGTERM` (its `KillSignal`) within its
/// `TimeoutStopSec`, leaving every acknowledged comment in the database file and no WAL behind.
#[test]
fn the_systemd_unit_verifies_and_runs_the_server_as_systemd_would() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let port = free_port();
    let env_file = dir.path().join("replyguard.env");
    std::fs::write(&env_file, format!("REPLYGUARD_ADMIN_TOKEN={TOKEN}\n")).unwrap();
    let unit = Unit::read(&[
        ("/var/lib/replyguard", state.display().to_string()),
        (
            "/usr/local/share/replyguard/default.rgm",
            model().display().to_string(),
        ),
        (
            "/usr/local/bin/replyguard",
            env!("CARGO_BIN_EXE_replyguard").to_string(),
        ),
        ("/etc/replyguard.env", env_file.display().to_string()),
        ("127.0.0.1:8080", format!("127.0.0.1:{port}")),
    ]);
    assert!(unit.text.contains("KillSignal=SIGTERM") && unit.text.contains("kill -HUP"));

    // systemd's own check of the file (syntax, known keys' values, an executable ExecStart).
    let unit_path = dir.path().join("replyguard.service");
    std::fs::write(&unit_path, &unit.text).unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_path)
        .output()
        .expect("systemd-analyze (sh tests/setup.sh)");
    assert!(
        verified.status.success(),
        "systemd-analyze verify: {}",
        common::text(&verified.stderr)
    );

    // What systemd would start.
    let mut environment = unit.environment.clone();
    for line in std::fs::read_to_string(&unit.environment_file)
        .unwrap()
        .lines()
    {
        if let Some((k, v)) = line.split_once('=') {
            environment.push((k.to_string(), v.to_string()));
        }
    }
    let mut child = Proxy(
        Command::new(&unit.exec_start[0])
            .args(&unit.exec_start[1..])
            .current_dir(&unit.working_directory)
            .envs(environment)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the unit's ExecStart"),
    );
    let base = format!("http://127.0.0.1:{port}");
    healthy(&base, |answer| {
        format!("the unit's server did not answer on the unit's address: {answer}")
    });
    assert!(state.join("replyguard.db").exists(), "the unit's database");

    // The admin token comes from the environment file, and the unit trusts the local proxy: a
    // reader's address comes from X-Forwarded-For.
    post_comment(
        &base,
        "How long does the partnership run?",
        &["X-Forwarded-For: 203.0.113.9"],
    );
    assert_eq!(stored_addresses(&base), ["203.0.113.9"]);

    // ExecReload: SIGHUP reloads the model; the server keeps serving.
    common::signal(child.0.id(), "HUP");
    std::thread::sleep(Duration::from_millis(300));
    healthy(&base, |answer| {
        format!("the server stopped answering after SIGHUP: {answer}")
    });

    // A reader views the article (its comment count asks the database's change counter on a
    // connection of its own, which then kept the write-ahead log from being merged at stop).
    let page = common::agent()
        .get(&format!("{base}/articles/alibaba-olympic-partner"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(page.contains("How long does the partnership run?"));

    // KillSignal: SIGTERM stops it cleanly, well within TimeoutStopSec.
    common::signal(child.0.id(), "TERM");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not stopped within TimeoutStopSec"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "SIGTERM exit: {status}");
    let wal = state.join("replyguard.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL was not checkpointed at stop"
    );
    let out = common::run(
        &[
            "export",
            "--format",
            "jsonl",
            "--db",
            state.join("replyguard.db").to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(
        common::text(&out.stdout).contains("How long does the partnership run?"),
        "the acknowledged comment is in the database file"
    );
}
