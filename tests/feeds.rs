//! Atom feeds of recent comments, read by a real feed parser (PyPI `feedparser`, installed by
//! tests/setup.sh): well-formed Atom 1.0, the published comments only, newest first, names and
//! websites but never an e-mail, text escaped; linked from the pages.

use crate::common;

use common::{Server, agent, model};
use serde_json::{Value, json};
use std::process::Command;

const ARTICLE: &str = "alibaba-olympic-partner";

fn parse(url: &str) -> Value {
    let out = Command::new("python3")
        .arg(common::repo().join("tests/clients/feed_check.py"))
        .arg(url)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "feedparser failed (pip install -r tests/clients/requirements.txt, as tests/setup.sh does):\n{}",
        common::text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn article_and_site_feeds_parse_and_show_only_published_comments() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let api = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let post = |text: &str, who: &str, email: &str| -> Value {
        let mut resp = agent()
            .post(&api)
            .send_json(json!({"comment_content": text, "comment_author": who,
                              "comment_author_email": email, "comment_author_url": "https://ana.example/"}))
            .unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    };
    let first = post(
        "Which venues does the deal cover? <script>alert(1)</script> & more",
        "Ana & Bo",
        "ana@private.example",
    );
    assert_eq!(first["status"], "published", "{first}");
    let second = post(
        "Interesting deal, I wonder how big the contract with the IOC is.",
        "Cy",
        "cy@private.example",
    );
    assert_eq!(second["status"], "published", "{second}");
    let spam = post(
        "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz",
        "Spammer",
        "s@private.example",
    );
    assert_ne!(spam["status"], "published", "{spam}");

    let url = server.url(&format!("/articles/{ARTICLE}/feed"));
    let mut resp = agent().get(&url).call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let kind = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    let raw = resp.body_mut().read_to_string().unwrap();
    assert!(!raw.contains("private.example"), "no e-mail in the feed");
    assert!(!raw.contains("<script>"), "text escaped: {raw}");

    let feed = parse(&url);
    assert_eq!(feed["bozo"], false, "{feed}");
    assert_eq!(feed["version"], "atom10", "{feed}");
    let entries = feed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "published only: {feed}");
    assert_eq!(entries[0]["author"], "Cy", "newest first: {feed}");
    assert_eq!(entries[1]["author"], "Ana & Bo");
    assert!(
        entries[1]["content"]
            .as_str()
            .unwrap()
            .contains("<script>alert(1)</script> & more"),
        "the text as written, as text: {feed}"
    );
    assert_eq!(entries[1]["content_type"], "text/plain");
    let link = entries[0]["link"].as_str().unwrap();
    assert!(
        link.ends_with(&format!("/articles/{ARTICLE}#comment-{}", second["id"])),
        "{link}"
    );

    let site = parse(&server.url("/feed"));
    assert_eq!(site["bozo"], false, "{site}");
    assert_eq!(site["entries"].as_array().unwrap().len(), 2, "{site}");

    // A character XML forbids: refused where readers type it; stored anyway (an older build, an
    // import), it never reaches a feed, which stays well-formed.
    let mut refused = agent()
        .post(&api)
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(
            json!({"comment_content": "Interesting deal \u{FFFE}, nice.",
                          "comment_author": "Nora", "comment_author_email": "n@example.org"}),
        )
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert!(
        refused
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains("control characters")
    );
    rusqlite::Connection::open(dir.path().join("rg.db"))
        .unwrap()
        .execute(
            "UPDATE comments SET content = content || char(65535), author = author || char(65534) \
             WHERE id = ?1",
            [first["id"].as_i64().unwrap()],
        )
        .unwrap();
    for feed in [parse(&url), parse(&server.url("/feed"))] {
        assert_eq!(feed["bozo"], false, "{feed}");
        assert_eq!(feed["entries"][1]["author"], "Ana & Bo", "{feed}");
    }

    // The pages say where their feeds are.
    let mut page = agent()
        .get(&server.url(&format!("/articles/{ARTICLE}")))
        .call()
        .unwrap();
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains(&format!("href=\"/articles/{ARTICLE}/feed\"")));
    assert!(html.contains("type=\"application/atom+xml\""));
    let missing = agent()
        .get(&server.url("/articles/nope/feed"))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
