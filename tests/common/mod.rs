//! Shared helpers: generated fixtures, running the real binary, a private PostgreSQL cluster.
#![allow(dead_code)]

pub mod browser;
pub mod postgres;
pub mod static_site;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Admin token of test servers.
pub const TOKEN: &str = "test-admin-secret";

/// The shipped model.
pub fn model() -> PathBuf {
    repo().join("models/default.rgm")
}

/// An HTTP client that returns every status (no errors for 4xx/5xx) and does not follow redirects.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

pub const SPAM: &[&str] = &[
    "Check out my channel and subscribe please!!! http://spam.example.com/user/promo",
    "FREE iPhone winner!!! Call 09061701461 now to claim your prize",
    "subscribe to my channel for free gift cards www.giftz.example.net",
    "Make money fast from home, visit cheap-pills.example.biz today",
    "Hey guys check out my new video and please subscribe and like",
    "Win a free trip! Text WIN to 87121 now, only 150p per msg",
    "please check out my channel i make music videos subscribe!!",
    "Earn $500 per day working from home http://earn.example.org/signup",
];

pub const HAM: &[&str] = &[
    "Great article, the point about the Olympic channel is interesting.",
    "I love this song, it reminds me of summer 2012.",
    "Are we still meeting for lunch tomorrow?",
    "The cloud growth numbers look impressive but I'd like sources.",
    "This video is so funny, I watched it three times",
    "Thanks for the detailed write-up, it was helpful.",
    "Who is watching this in 2015? Still a classic.",
    "I disagree with the conclusion, the deal seems expensive.",
];

/// Writes a small labeled corpus in all three formats into `dir`; returns the file paths.
pub fn write_fixtures(dir: &Path) -> Vec<PathBuf> {
    let csv = dir.join("videos.csv");
    let mut text = String::from("COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n");
    for (i, c) in SPAM.iter().enumerate() {
        text.push_str(&format!(
            "s{i},Spammer {i},2013-11-07,\"{}\",1\n",
            c.replace('"', "\"\"")
        ));
    }
    for (i, c) in HAM.iter().enumerate() {
        text.push_str(&format!(
            "h{i},Reader {i},2013-11-07,\"{}\",0\n",
            c.replace('"', "\"\"")
        ));
    }
    std::fs::write(&csv, text).unwrap();

    let tsv = dir.join("messages.tsv");
    let mut text = String::new();
    for c in SPAM.iter().rev() {
        text.push_str(&format!("spam\t{c} again\n"));
    }
    for c in HAM.iter().rev() {
        text.push_str(&format!("ham\t{c} indeed\n"));
    }
    std::fs::write(&tsv, text).unwrap();

    let jsonl = dir.join("feedback.jsonl");
    let mut text = String::new();
    for c in SPAM {
        let row = serde_json::json!({"label": "spam", "comment_content": c, "comment_author_url": "http://promo.example.biz"});
        text.push_str(&format!("{row}\n"));
    }
    for c in HAM {
        let row =
            serde_json::json!({"label": "ham", "comment_content": c, "comment_author": "Alice"});
        text.push_str(&format!("{row}\n"));
    }
    std::fs::write(&jsonl, text).unwrap();
    vec![csv, tsv, jsonl]
}

/// The `replyguard` binary built by Cargo for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_replyguard"))
}

/// Runs the binary with `args` and optional stdin.
pub fn run(args: &[&str], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    let mut cmd = bin();
    cmd.args(args)
        .current_dir(cwd)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn replyguard");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.unwrap_or_default().to_vec();
    // Fed from a thread while the output is read, like a shell pipeline: a streaming command
    // writes results before it has read all its input, and both pipes would fill up otherwise.
    let feeder = std::thread::spawn(move || {
        // The command may stop reading early (that is for the test to judge).
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for replyguard");
    feeder.join().expect("stdin feeder");
    output
}

/// Runs the CLI with `args` and checks that it succeeds; its standard output.
pub fn succeeds(dir: &std::path::Path, args: &[&str]) -> String {
    let out = run(args, None, dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the CLI with `args` and checks that it fails saying `message`.
pub fn refused(dir: &std::path::Path, args: &[&str], message: &str) {
    let out = run(args, None, dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
}

/// The CSRF token of the first form of an `/admin` page.
pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no form with a CSRF token: {page}"))
        .to_string()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Path of the repository root (where `training-data/` and `models/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `replyguard serve` on an ephemeral port; killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db: &Path, model: &Path, extra: &[&str]) -> Server {
        Self::start_with(
            Command::new(env!("CARGO_BIN_EXE_replyguard")),
            db,
            model,
            extra,
        )
    }

    /// [`start`](Self::start) with at most `files` open file descriptors (`ulimit -n`).
    pub fn start_with_fd_limit(files: u32, db: &Path, model: &Path, extra: &[&str]) -> Server {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_replyguard"));
        Self::start_with(cmd, db, model, extra)
    }

    fn start_with(mut cmd: Command, db: &Path, model: &Path, extra: &[&str]) -> Server {
        // Per-IP checks off by default (every test client is 127.0.0.1); flags override.
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .env("REPLYGUARD_FLOOD_SECONDS", "0")
            .env("REPLYGUARD_RATE_LIMIT", "0")
            .arg("--db")
            .arg(db)
            .arg("--model")
            .arg(model)
            .args(extra)
            .env("REPLYGUARD_ADMIN_TOKEN", TOKEN)
            .env("REPLYGUARD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start replyguard serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("replyguard listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, base }
    }

    /// Process id of the server (for its resident memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's `host:port`.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin API call with the test token (JSON body, if any): status and body text.
    pub fn admin_api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .body(body.unwrap_or_default().to_string())
            .unwrap();
        let mut resp = agent().run(request).unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// The body of a GET, whatever its status.
    pub fn get_text(&self, path: &str) -> String {
        agent()
            .get(&self.url(path))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap_or_default()
    }

    /// Signs in to `/admin` with the admin token and returns the session cookie (`name=value`).
    pub fn admin_session(&self) -> String {
        let resp = agent()
            .post(&self.url("/admin/login"))
            .send_form([("token", TOKEN)])
            .unwrap();
        let cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// A page of `/admin` as a signed-in moderator sees it.
    pub fn admin_page(&self, path: &str) -> String {
        let cookie = self.admin_session();
        let mut resp = agent()
            .get(&self.url(path))
            .header("Cookie", &cookie)
            .call()
            .unwrap();
        resp.body_mut().read_to_string().unwrap()
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server as systemd and Ctrl-C do (SIGTERM) and waits until it has exited.
    pub fn terminate(mut self) {
        signal(self.child.id(), "TERM");
        let started = std::time::Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "not stopped by SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Sends process `pid` the signal `name` (`TERM`, `HUP`, …) as systemd or an operator would.
pub fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} {pid}");
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every held, spam and published comment the admin API lists (at most its page of each).
pub fn stored_comments(server: &Server) -> Vec<serde_json::Value> {
    ["held", "spam", "published"]
        .iter()
        .flat_map(|status| {
            let body: serde_json::Value = agent()
                .get(&server.url(&format!("/api/v1/admin/comments?status={status}")))
                .header("Authorization", &format!("Bearer {TOKEN}"))
                .call()
                .unwrap()
                .into_body()
                .read_json()
                .unwrap();
            body["comments"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}
