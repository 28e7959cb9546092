//! README's deployment, as written: the `serve` flags and the Caddy example of "Deploy", run with
//! Debian's Caddy in front of the real server over TLS (Caddy's own local CA for `localhost`).
//! Pages and the API answer through the proxy, the admin's session cookie is `Secure`, and
//! absolute links (feeds) use the public https address.

mod common;

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

struct Caddy(Child);

impl Drop for Caddy {
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

#[test]
fn the_readme_caddy_example_serves_replyguard_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let https = free_port();
    let public = format!("https://localhost:{https}");
    // README's serve line, with this machine's addresses.
    let serve = readme_block("Put a TLS proxy in front");
    let flags: Vec<String> = serve
        .split_whitespace()
        .skip_while(|w| *w != "--trusted-proxy")
        .map(|w| w.replace("https://blog.example.com", &public))
        .collect();
    assert_eq!(flags[..2], ["--trusted-proxy", "127.0.0.1"], "{serve}");
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &flags);
    let upstream = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/');

    // README's Caddyfile, for this host and these ports, with Caddy kept to the test's folder.
    let site = readme_block("Caddy (certificates automatic")
        .replace("blog.example.com", &format!("localhost:{https}"))
        .replace("127.0.0.1:8080", upstream);
    let caddyfile = dir.path().join("Caddyfile");
    std::fs::write(
        &caddyfile,
        format!(
            "{{\n    admin off\n    skip_install_trust\n    auto_https disable_redirects\n    http_port {}\n    https_port {https}\n}}\n{site}",
            free_port()
        ),
    )
    .unwrap();
    let caddy = Caddy(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy (sh tests/setup.sh)"),
    );
    let started = Instant::now();
    let health = loop {
        let answer = curl(&[&format!("{public}/healthz")]);
        if answer.starts_with("HTTP/2 200") || answer.starts_with("HTTP/1.1 200") {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Caddy did not serve replyguard: {answer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(health.contains("\"status\""), "{health}");
    // Caddy answered (TLS and HTTP/2 are its: replyguard itself speaks plain HTTP/1.1).
    assert!(
        health.starts_with("HTTP/2 200") && health.to_ascii_lowercase().contains("server: caddy"),
        "{health}"
    );

    // A reader's comment through the proxy.
    let posted = curl(&[
        "-H",
        "Content-Type: application/json",
        "--data",
        r#"{"comment_content":"Which markets does the deal cover?","comment_author":"Ana","comment_author_email":"ana@example.org"}"#,
        &format!("{public}/api/v1/articles/alibaba-olympic-partner/comments"),
    ]);
    assert!(posted.contains(" 201"), "{posted}");

    // Signing in over TLS: the session cookie is Secure.
    let signed_in = curl(&[
        "--data",
        &format!("token={TOKEN}"),
        &format!("{public}/admin/login"),
    ]);
    let cookie = signed_in
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {signed_in}"));
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");

    // Absolute links use the public https address.
    let feed = curl(&[&format!("{public}/feed")]);
    assert!(feed.contains(&format!("{public}/")), "{feed}");
    drop(caddy);
}
