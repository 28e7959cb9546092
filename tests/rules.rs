//! The site's own rules over the real server: keys, links, the time trap and spam history fire
//! before the text model, name themselves in the clues, count on `/metrics`, are edited over the
//! admin API with every wrong field refused, and hold on both backends (a second replica on the
//! same PostgreSQL database applies an edit made on the first).

use crate::common;

use common::postgres::PgCluster;
use common::{Server, TOKEN, agent, model};
use serde_json::{Value, json};
use std::path::Path;

const ARTICLE: &str = "alibaba-olympic-partner";

fn post(server: &Server, body: &Value) -> Value {
    post_from(server, body, None)
}

/// Posts through a `--trusted-proxy` that names `ip` as the reader.
fn post_from(server: &Server, body: &Value, ip: Option<&str>) -> Value {
    let mut request = agent().post(&server.url(&format!("/api/v1/articles/{ARTICLE}/comments")));
    if let Some(ip) = ip {
        request = request.header("X-Forwarded-For", ip);
    }
    let mut resp = request.send_json(body).unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn reader(text: &str, who: &str) -> Value {
    json!({"comment_content": text, "comment_author": who,
           "comment_author_email": format!("{}@mail.example", who.to_lowercase().replace(' ', "."))})
}

fn rules(server: &Server) -> Value {
    let mut resp = agent()
        .get(&server.url("/api/v1/admin/rules"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn put_rules(server: &Server, body: &Value) -> (u16, Value) {
    let mut resp = agent()
        .put(&server.url("/api/v1/admin/rules"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .send(serde_json::to_vec(body).unwrap().as_slice())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn moderate(server: &Server, id: &Value, action: &str) {
    let id = id.as_i64().unwrap();
    let resp = agent()
        .post(&server.url(&format!("/api/v1/admin/comments/{id}/{action}")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{action} {id}");
}

fn first_clue(posted: &Value) -> &str {
    posted["clues"][0]["token"].as_str().unwrap_or_default()
}

fn metric(server: &Server, rule: &str) -> u64 {
    let mut resp = agent().get(&server.url("/metrics")).call().unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    let line = format!("replyguard_rule_verdicts_total{{rule=\"{rule}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line} in {text}"))
}

const QUIET: &str = "Which region does the deal cover? The press release is vague about it.";

/// Everything a site's rules do, on the database `db` (a SQLite file or a PostgreSQL URL).
fn rules_act_before_the_model(db: &Path, second_replica: bool) {
    let args = ["--trusted-proxy", "127.0.0.1/32"];
    let server = Server::start(db, &model(), &args);
    let replica = second_replica.then(|| Server::start(db, &model(), &args));

    // Defaults: WordPress's two links, a three-second time trap, no keys.
    let shown = rules(&server);
    assert_eq!(shown["hold_links_at"], 2, "{shown}");
    assert_eq!(shown["moderation_keys"], json!([]), "{shown}");

    // Wrong input is refused field by field and changes nothing.
    for (bad, field) in [
        (
            json!({"disallowed_keys": ["10.0.0.0/33"]}),
            "disallowed_keys",
        ),
        (
            json!({"moderation_keys": ["fine", "  "]}),
            "moderation_keys",
        ),
        (
            json!({"moderation_keys": vec!["k"; 10_000]}),
            "moderation_keys",
        ),
        (json!({"hold_links_at": -1}), ""),
        (json!({"hold_linkz": 3}), ""),
    ] {
        let (status, answer) = put_rules(&server, &bad);
        assert_eq!(status, 422, "{field}: {answer}");
        if !field.is_empty() {
            assert!(answer["fields"][field].is_string(), "{answer}");
        }
        assert_eq!(rules(&server), shown, "a refused edit changes nothing");
    }

    let (status, saved) = put_rules(
        &server,
        &json!({
            "moderation_keys": ["Casino"],
            "disallowed_keys": ["replica watches", "198.51.100.0/24"],
            "hold_links_at": 2,
        }),
    );
    assert_eq!(status, 200, "{saved}");

    // A disallowed key rejects an ordinary comment; a disallowed range rejects its reader.
    let disallowed = post(
        &server,
        &reader(
            "Where can I buy replica watches like the ones in the ad?",
            "Lee",
        ),
    );
    assert_eq!(disallowed["status"], "spam", "{disallowed}");
    assert_eq!(
        first_clue(&disallowed),
        "rule:disallowed-key",
        "{disallowed}"
    );
    let from_range = post_from(&server, &reader(QUIET, "Kim"), Some("198.51.100.7"));
    assert_eq!(from_range["status"], "spam", "{from_range}");

    // A moderation key holds, case-insensitively, even in the name.
    let keyed = post(&server, &reader(QUIET, "CASINO Fan"));
    assert_eq!(keyed["status"], "held", "{keyed}");
    assert_eq!(first_clue(&keyed), "rule:moderation-key", "{keyed}");

    // Two links hold; one does not.
    let two = post(
        &server,
        &reader(
            "Sources: https://olympics.example/deal and https://news.example/cloud",
            "Ada",
        ),
    );
    assert_eq!(two["status"], "held", "{two}");
    assert_eq!(first_clue(&two), "rule:links", "{two}");

    // Spam history: a website and a linked domain a moderator marked spam.
    let seller = post(
        &server,
        &json!({"comment_content": "Which sponsor pays for the broadcast in Europe this year?",
                "comment_author": "Rob", "comment_author_email": "rob@mail.example",
                "comment_author_url": "https://shop-deals.example/"}),
    );
    assert_eq!(seller["status"], "published", "{seller}");
    moderate(&server, &seller["id"], "spam");
    let same_site = post(
        &server,
        &json!({"comment_content": "Does the contract also cover the winter games this time?",
                "comment_author": "Bo", "comment_author_email": "bo@other.example",
                "comment_author_url": "http://www.shop-deals.example/about"}),
    );
    assert_ne!(same_site["status"], "published", "{same_site}");
    assert_eq!(
        first_clue(&same_site),
        "rule:spam-history:website",
        "{same_site}"
    );
    let linker = post(
        &server,
        &reader(
            "More on the sponsors here: https://pill-news.example/ioc",
            "Cy",
        ),
    );
    assert_ne!(linker["verdict"], "rejected", "{linker}");
    moderate(&server, &linker["id"], "spam");
    let linked_again = post(
        &server,
        &reader(
            "See www.pill-news.example for the full list of partners.",
            "Di",
        ),
    );
    assert_eq!(linked_again["status"], "held", "{linked_again}");
    assert_eq!(
        first_clue(&linked_again),
        "rule:spam-history:link-domain",
        "{linked_again}"
    );

    // An address a moderator marked spam holds its next reader for a while; a private one
    // (what an unconfigured proxy shows for everyone) never does.
    let from = post_from(&server, &reader(QUIET, "Eve"), Some("203.0.113.50"));
    moderate(&server, &from["id"], "spam");
    let neighbour = post_from(
        &server,
        &reader("Does the contract cover the winter games?", "Fay"),
        Some("203.0.113.50"),
    );
    assert_eq!(neighbour["status"], "held", "{neighbour}");
    assert_eq!(
        first_clue(&neighbour),
        "rule:spam-history:ip",
        "{neighbour}"
    );
    let private = post_from(&server, &reader(QUIET, "Gus"), Some("10.1.2.3"));
    moderate(&server, &private["id"], "spam");
    let office = post_from(
        &server,
        &reader("Does the contract cover the winter games?", "Hal"),
        Some("10.1.2.3"),
    );
    assert_eq!(office["status"], "published", "{office}");

    // A near-copy of a text the moderators marked spam is that campaign again: one step towards
    // rejection, on this server and (through the learning log) on a replica, while an
    // ordinary comment sharing a few of its words is not touched.
    let campaign = "Hey everyone, come and see my new music channel and subscribe for daily covers";
    let first = post(&server, &reader(campaign, "Jo Lee"));
    assert_ne!(first["verdict"], "rejected", "{first}");
    moderate(&server, &first["id"], "spam");
    std::thread::sleep(std::time::Duration::from_millis(600));
    let copy = "hey everyone, come and see my new music channel and subscribe for weekly covers!";
    let servers: Vec<&Server> = std::iter::once(&server).chain(replica.as_ref()).collect();
    for (n, on) in servers.iter().enumerate() {
        let again = post(on, &reader(copy, &format!("Kim Park {n}")));
        assert_ne!(again["status"], "published", "{again}");
        assert!(
            again["clues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["token"] == "rule:copy-of-marked-spam"),
            "{again}"
        );
    }
    let ordinary = post(
        &server,
        &reader(
            "Is there a music channel covering the games? I would subscribe.",
            "Lu",
        ),
    );
    assert!(
        !ordinary["clues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["token"] == "rule:copy-of-marked-spam"),
        "{ordinary}"
    );
    assert!(metric(&server, "copy-of-marked-spam") >= 1);

    // A rule leaves the model's score in place: it is still the text's.
    assert!(keyed["spam_probability"].as_f64().unwrap() < 0.5, "{keyed}");
    for rule in [
        "disallowed-key",
        "moderation-key",
        "links",
        "spam-history:website",
    ] {
        assert!(metric(&server, rule) >= 1, "{rule}");
    }

    // A replica on the same database applies the edit (within its cache's two seconds).
    if let Some(replica) = replica {
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert_eq!(rules(&replica)["moderation_keys"], json!(["Casino"]));
        let there = post(&replica, &reader("casino night at the stadium?", "Ivy"));
        assert_eq!(first_clue(&there), "rule:moderation-key", "{there}");
        // And what the moderators marked spam on the other server.
        let seller_again = post(
            &replica,
            &json!({"comment_content": "Is the broadcast deal signed for the next four years?",
                    "comment_author": "Rob", "comment_author_email": "rob@mail.example"}),
        );
        assert_ne!(seller_again["status"], "published", "{seller_again}");
        assert_eq!(
            first_clue(&seller_again),
            "rule:spam-history",
            "{seller_again}"
        );
        replica.stop();
    }
    server.stop();

    // The rules outlive a restart.
    let again = Server::start(db, &model(), &args);
    assert_eq!(rules(&again)["disallowed_keys"], saved["disallowed_keys"]);
    again.stop();
}

#[test]
fn site_rules_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    rules_act_before_the_model(&dir.path().join("rg.db"), false);
}

#[test]
fn site_rules_on_postgres_replicas() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    rules_act_before_the_model(Path::new(&url), true);
}

/// The time trap: a reply form sent back within the site's minimum after its page was served
/// is held (the page's signed note comes back as a cookie); a form without the note, or with a
/// forged one, is not timed.
#[test]
fn a_form_posted_too_soon_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let page = agent()
        .get(&server.url(&format!("/articles/{ARTICLE}")))
        .call()
        .unwrap();
    let note = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("replyguard_form="))
        .and_then(|c| c.split(';').next())
        .expect("the page sets its note")
        .to_string();
    let form = |cookie: Option<&str>, who: &str| {
        let mut request = agent().post(&server.url(&format!("/articles/{ARTICLE}/comments")));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        let body = format!(
            "comment=Does+the+contract+cover+the+winter+games%3F&author={who}&email={who}%40mail.example&url=&website="
        );
        let resp = request
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .unwrap();
        resp.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let fast = form(Some(&note), "Jo");
    assert!(fast.contains("unapproved="), "held: {fast}");
    let forged = note.replace("replyguard_form=", "replyguard_form=1");
    let untimed = form(Some(&forged), "Ky");
    assert!(!untimed.contains("unapproved="), "not timed: {untimed}");
    let without = form(None, "Lu");
    assert!(!without.contains("unapproved="), "not timed: {without}");
    let mut resp = agent().get(&server.url("/metrics")).call().unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("replyguard_rule_verdicts_total{rule=\"time-trap\"} 1"),
        "{text}"
    );
}

/// `replyguard rules set` takes WordPress's key lists as `wp option get` prints them (one per
/// line), refuses a wrong one with the reason and changes nothing, and a running server applies
/// a change within its cache's two seconds.
#[test]
fn wordpress_key_lists_set_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let db_arg = db.to_str().unwrap();
    let server = Server::start(&db, &model(), &[]);
    std::fs::write(
        dir.path().join("moderation.txt"),
        "casino\n\nfree spins\r\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.txt"), "192.0.2.0/99\n").unwrap();
    let out = common::run(
        &[
            "rules",
            "--db",
            db_arg,
            "set",
            "--moderation-keys",
            "moderation.txt",
            "--hold-links-at",
            "3",
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["moderation_keys"], json!(["casino", "free spins"]));
    assert_eq!(shown["hold_links_at"], 3);
    let refused = common::run(
        &[
            "rules",
            "--db",
            db_arg,
            "set",
            "--disallowed-keys",
            "bad.txt",
        ],
        None,
        dir.path(),
    );
    assert!(!refused.status.success());
    let why = common::text(&refused.stderr);
    assert!(
        why.contains("nothing was changed") && why.contains("disallowed_keys"),
        "{why}"
    );
    let out = common::run(&["rules", "--db", db_arg, "show"], None, dir.path());
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["disallowed_keys"], json!([]), "{shown}");

    // A mistyped site is said, from the CLI and the API, and no rules are stored for it.
    for args in [
        &["rules", "--db", db_arg, "--site", "blgo", "show"][..],
        &[
            "rules",
            "--db",
            db_arg,
            "--site",
            "blgo",
            "set",
            "--hold-links-at",
            "1",
        ],
    ] {
        let out = common::run(args, None, dir.path());
        assert!(!out.status.success(), "{args:?}");
        assert!(
            common::text(&out.stderr).contains("there is no site `blgo`"),
            "{}",
            common::text(&out.stderr)
        );
    }
    let (status, body) = server.admin_api("GET", "/api/v1/admin/rules?site=blgo", None);
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.admin_api(
        "PUT",
        "/api/v1/admin/rules?site=blgo",
        Some(r#"{"hold_links_at": 1}"#),
    );
    assert_eq!(status, 404, "{body}");
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM settings WHERE key = 'rules:blgo'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0);

    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let posted = post(
        &server,
        &reader("Any free spins for the opening ceremony?", "Mo"),
    );
    assert_eq!(first_clue(&posted), "rule:moderation-key", "{posted}");
    server.stop();
}

/// A returning author is published where the model would hold, unless the model is surer than
/// the site's `trusted_publish_below`: then the comment is held (an account can be taken over).
#[test]
fn a_returning_author_is_trusted_up_to_the_sites_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("rg.db"), &model(), &[]);
    let ana = |text: &str| {
        post(
            &server,
            &json!({"comment_content": text, "comment_author": "Ana",
                    "comment_author_email": "ana@mail.example"}),
        )
    };
    assert_eq!(ana(QUIET)["status"], "published");
    let praise = "Really useful post. Bookmarked!";
    let trusted = ana(praise);
    assert_eq!(trusted["status"], "published", "{trusted}");
    assert_eq!(first_clue(&trusted), "rule:trusted-author", "{trusted}");
    let p = trusted["spam_probability"].as_f64().unwrap();
    let (status, _) = put_rules(&server, &json!({"trusted_publish_below": p / 2.0}));
    assert_eq!(status, 200);
    let (status, refused) = put_rules(&server, &json!({"trusted_publish_below": 1.5}));
    assert_eq!(status, 422, "{refused}");
    let held = ana("Really useful post. Bookmarked! Thanks again.");
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(first_clue(&held), "rule:trusted-author", "{held}");
}

/// Readers who give a profile page as their Website (their name in its path, a page deep inside
/// a platform) are never rejected for it: held at worst, with the rule named. A moderator's spam
/// mark on one profile of a shared host counts against that profile, not every reader's there.
#[test]
fn a_readers_profile_link_is_not_a_reason_to_reject() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--flood-seconds", "0"],
    );
    let text = "I enjoyed this, the part about longer proofs matches what I see at 1,800 m.";
    let alice = |url: &str, n: u32| {
        post(
            &server,
            &json!({"comment_content": format!("{text} ({n})"), "comment_author": "Alice Martin",
                    "comment_author_email": format!("alice{n}@mail.example"),
                    "comment_author_url": url}),
        )
    };
    for (n, url) in [
        "https://github.com/alice-martin",
        "https://www.linkedin.com/in/alice-martin-12345",
        "https://medium.com/@alice.martin",
    ]
    .into_iter()
    .enumerate()
    {
        let posted = alice(url, n as u32);
        assert_ne!(posted["verdict"], "rejected", "{url}: {posted}");
    }
    assert!(metric(&server, "website-path") >= 1, "the rule is counted");
    // One spammer's profile on a platform, marked spam, stands for that profile only.
    let promo = post(
        &server,
        &json!({"comment_content": "Which venues will host the sailing events next year?",
                "comment_author": "Trina", "comment_author_email": "trina@mail.example",
                "comment_author_url": "https://vimeo.com/trinapromo"}),
    );
    moderate(&server, &promo["id"], "spam");
    let rosa = post(
        &server,
        &json!({"comment_content": "Does the contract also cover the winter games this time?",
                "comment_author": "Rosa", "comment_author_email": "rosa@mail.example",
                "comment_author_url": "https://vimeo.com/rosabakes"}),
    );
    assert_ne!(rosa["verdict"], "rejected", "{rosa}");
    // The mark taught nothing about the platform itself: no clue names its host.
    assert!(!rosa.to_string().contains("author_url_host"), "{rosa}");
    // Once a moderator approves a reader there, the platform's history holds no one else.
    assert_eq!(first_clue(&rosa), "rule:spam-history:website", "{rosa}");
    moderate(&server, &rosa["id"], "approve");
    let ben = post(
        &server,
        &json!({"comment_content": "Lovely footage of the regatta, which harbour was it filmed in?",
                "comment_author": "Ben", "comment_author_email": "ben@mail.example",
                "comment_author_url": "https://vimeo.com/benfilms"}),
    );
    assert_eq!(ben["status"], "published", "{ben}");
    // A returning author whose spam reads as spam is not published through the path rule: the
    // model's rejection is held by the trust rule, at most.
    let first = post(
        &server,
        &json!({"comment_content": "Thanks for the write-up on the venues, very clear.",
                "comment_author": "Max Power", "comment_author_email": "max@mail.example"}),
    );
    assert_eq!(first["status"], "published", "{first}");
    let spam = post(
        &server,
        &json!({"comment_content": "Buy cheap viagra online, best pharmacy prices, free shipping worldwide",
                "comment_author": "max power", "comment_author_email": "MAX@mail.example",
                "comment_author_url": "https://example.net/buy-cheap-viagra-online-pharmacy"}),
    );
    assert_ne!(spam["status"], "published", "{spam}");
    // A moderator's spam mark on a returning author's address outweighs their trust.
    moderate(&server, &first["id"], "spam");
    let after_mark = post(
        &server,
        &json!({"comment_content": "Thanks again for the venue list, very useful.",
                "comment_author": "Max Power", "comment_author_email": "max@mail.example"}),
    );
    assert_ne!(after_mark["status"], "published", "{after_mark}");
    // A sender a moderator marked spam is rejected even behind a profile link.
    let marta = post(
        &server,
        &json!({"comment_content": "Which venues will host the rowing events?",
                "comment_author": "Marta", "comment_author_email": "marta@mail.example"}),
    );
    moderate(&server, &marta["id"], "spam");
    let back = post(
        &server,
        &json!({"comment_content": "I enjoyed this, the part about longer proofs matches what I see at 1,800 m.",
                "comment_author": "Marta Lopez", "comment_author_email": "Marta@Mail.Example",
                "comment_author_url": "https://www.linkedin.com/in/marta-lopez-4b2a1"}),
    );
    assert_eq!(back["verdict"], "rejected", "{back}");
    assert_eq!(first_clue(&back), "rule:spam-history", "{back}");
    // A stranger's spam whose words alone do not reach the reject threshold, its path full of
    // spam words: held for one click, never shown.
    let stranger = post(
        &server,
        &json!({"comment_content": "Buy cheap viagra online, best pharmacy prices, free shipping to your door",
                "comment_author": "Pharma Deals", "comment_author_email": "deals@pharma-deals.example",
                "comment_author_url": "https://pharma-deals.example/buy-cheap-viagra-online"}),
    );
    assert_eq!(stranger["status"], "held", "{stranger}");
    // A platform spammers also used (Pinterest weighs +4.2 in the shipped model) is no reason
    // to reject its readers either.
    let pinned = post(
        &server,
        &json!({"comment_content": "I pinned this!! Going to try it this weekend",
                "comment_author": "Lindsay", "comment_author_email": "lindsay.p@mail.example",
                "comment_author_url": "https://www.pinterest.com/lindsaypins/"}),
    );
    assert_ne!(pinned["verdict"], "rejected", "{pinned}");
}

/// A reader whose Website is their profile on a platform is held once (the model reads such
/// Websites like spam), not for ever: once a moderator has published them with it, their next
/// ordinary comment with the same Website is published. Another Website of theirs, never
/// published, is held again.
#[test]
fn a_profile_link_a_moderator_published_is_held_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--flood-seconds", "0"],
    );
    let jakob = |text: &str, url: &str| {
        post(
            &server,
            &json!({"comment_content": text, "comment_author": "Jakob Weber",
                    "comment_author_email": "jakob@mail.example", "comment_author_url": url}),
        )
    };
    let profile = "https://github.com/jakob7";
    let first = jakob(
        "Nice write-up. I hit the same borrow checker error last week, the fix with an owned copy worked for me too.",
        profile,
    );
    assert_eq!(first["status"], "held", "{first}");
    assert_eq!(first_clue(&first), "rule:website-path", "{first}");
    moderate(&server, &first["id"], "approve");
    let again = jakob(
        "Thanks for the follow-up post, the benchmark numbers are interesting.",
        profile,
    );
    assert_eq!(again["status"], "published", "{again}");
    assert_eq!(first_clue(&again), "rule:trusted-author", "{again}");
    let elsewhere = jakob(
        "Nice write-up again. I hit the same borrow checker error with async closures, the owned copy worked there too.",
        "https://github.com/jakob-weber-dev",
    );
    assert_eq!(elsewhere["status"], "held", "{elsewhere}");
    assert_eq!(first_clue(&elsewhere), "rule:website-path", "{elsewhere}");
    // Only a moderator's approval vouches for a Website: a comment the returning-author rule
    // published on arrival with it does not.
    let pins = "https://www.pinterest.com/janedoe/";
    let jane = |text: &str, url: Option<&str>| {
        post(
            &server,
            &json!({"comment_content": text, "comment_author": "Jane Doe",
                    "comment_author_email": "jane@mail.example", "comment_author_url": url}),
        )
    };
    let plain = jane("Good points about the venue contracts.", None);
    assert_eq!(plain["status"], "published", "{plain}");
    let unvouched = jane(
        "Thanks. Please see the talk page, I reverted the edit because the source does not support it.",
        Some(pins),
    );
    assert_eq!(unvouched["status"], "published", "{unvouched}");
    assert_ne!(first_clue(&unvouched), "rule:website-path", "{unvouched}");
    let after = jane("Nice article, I agree with most of it!", Some(pins));
    assert_eq!(after["status"], "held", "{after}");
    assert_eq!(first_clue(&after), "rule:website-path", "{after}");
    // A moderator's spam mark on a comment with that Website (written in other case, with a
    // trailing slash) withdraws the approval, whatever becomes of that comment later.
    let copycat = post(
        &server,
        &json!({"comment_content": "Nice write-up. I hit the same borrow checker error, the owned copy worked for me.",
                "comment_author": "Bob", "comment_author_email": "bob@spam.example",
                "comment_author_url": "https://GitHub.com/Jakob7/"}),
    );
    moderate(&server, &copycat["id"], "spam");
    moderate(&server, &copycat["id"], "trash");
    let marked = jakob(
        "Thanks for the follow-up post, the benchmark numbers are interesting again.",
        profile,
    );
    assert_eq!(marked["status"], "held", "{marked}");
}
