//! Learning while serving, over the real interfaces: a moderator's decision through the admin
//! API changes the next verdict on the same text within a second; a reversed decision nets to
//! one example and a repeated one counts once; the learned state survives `kill -9`; and
//! `replyguard train --feedback DB` rebuilds the very model the server learned.

use crate::common;

use common::{Server, TOKEN, agent, model, repo, run, text};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ARTICLE: &str = "alibaba-olympic-partner";
/// Generic praise from a reader without a website: the shipped model holds it (it reads like
/// blog spam), which is what a moderator is there to correct.
const PRAISE: &str = "Really useful post. Bookmarked!";

fn post(url: &str, body: &Value) -> Value {
    let mut resp = agent().post(url).send_json(body).unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn moderate(server: &Server, id: i64, action: &str) {
    let mut resp = agent()
        .post(&server.url(&format!("/api/v1/admin/comments/{id}/{action}")))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{action}: {}",
        resp.body_mut().read_to_string().unwrap()
    );
}

/// Posts the praise as a reader; the shipped model holds it. Returns the comment's id.
fn post_held_praise(server: &Server) -> i64 {
    let posted = post(
        &server.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        &json!({"comment_content": PRAISE, "comment_author": "maria.k",
                "comment_author_email": "maria@example.org"}),
    );
    assert_eq!(posted["status"], "held", "{posted}");
    posted["id"].as_i64().unwrap()
}

/// The spam probability the server gives the praise from another reader.
fn score(server: &Server) -> f64 {
    let body = post(
        &server.url("/api/v1/classify"),
        &json!({"comment_content": PRAISE, "comment_author": "Tomasz"}),
    );
    body["spam_probability"].as_f64().unwrap()
}

/// Polls until `done(score)` or a second has passed; returns the last score and the wait.
fn wait_for(server: &Server, done: impl Fn(f64) -> bool) -> (f64, Duration) {
    let start = Instant::now();
    loop {
        let p = score(server);
        if done(p) || start.elapsed() > Duration::from_secs(1) {
            return (p, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `replyguard train --feedback DB --out MODEL`, which must succeed.
fn train_feedback(db: &std::path::Path, out_model: &std::path::Path) -> std::process::Output {
    let out = run(
        &[
            "train",
            "--feedback",
            db.to_str().unwrap(),
            "--out",
            out_model.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

#[test]
fn decisions_teach_the_serving_model_durably_and_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let id = post_held_praise(&server);
    let before = score(&server);

    // Approved: the same words from another reader now score lower, within a second.
    moderate(&server, id, "approve");
    let (approved, waited) = wait_for(&server, |p| p < before);
    assert!(approved < before, "{before} -> {approved}");
    assert!(waited <= Duration::from_secs(1), "took {waited:?}");

    // Reversed: approve then spam nets to one spam example, so it scores above the start.
    moderate(&server, id, "spam");
    let (reversed, _) = wait_for(&server, |p| p > before);
    assert!(reversed > before, "{before} -> {approved} -> {reversed}");
    // Approved again, twice: the model is where the first approval left it (the spam example
    // taken back, the ham one added once).
    moderate(&server, id, "approve");
    let (again, _) = wait_for(&server, |p| (p - approved).abs() < 1e-9);
    moderate(&server, id, "approve");
    std::thread::sleep(Duration::from_millis(400));
    let twice = score(&server);
    assert!((again - approved).abs() < 1e-9, "{approved} vs {again}");
    assert!((twice - approved).abs() < 1e-9, "{approved} vs {twice}");

    // /admin shows what the filter is doing: the day's verdicts, the correction, what it learned.
    let page = server.admin_page("/admin");
    // The chart is drawn without script; the page's only script is the static file (keyboard
    // shortcuts), never inline.
    assert!(
        page.contains("<svg")
            && page.matches("<script").count() == page.matches("<script src=\"/static/").count(),
        "{page}"
    );
    // One comment held today; a moderator published it, marked it spam, and published it again:
    // two corrections of "ham held or rejected" (the repeated approval changed nothing).
    assert!(
        page.contains("<td>0</td><td>1</td><td>0</td><td>0</td><td>2</td></tr>"),
        "{page}"
    );
    assert!(
        page.contains("Learned by the model of site default (the default site"),
        "{page}"
    );

    // kill -9 and restart: the learned state is still there.
    server.stop();
    let server = Server::start(&db, &model(), &[]);
    let restarted = score(&server);
    assert!(
        (restarted - approved).abs() < 1e-9,
        "{approved} vs {restarted}"
    );
    server.stop();

    // `train --feedback` folds the same log into the same training: the same scores.
    let out_model = dir.path().join("feedback.rgm");
    train_feedback(&db, &out_model);
    let record = json!({"comment_content": PRAISE, "comment_author": "Tomasz"}).to_string();
    let out = run(
        &[
            "classify",
            "--jsonl",
            "--model",
            out_model.to_str().unwrap(),
        ],
        Some(record.as_bytes()),
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let offline = line["spam_probability"].as_f64().unwrap();
    assert!(
        (offline - approved).abs() < 1e-9,
        "live {approved} vs train --feedback {offline}"
    );

    // A server started on that model does not learn the same decisions twice.
    let server = Server::start(&db, &out_model, &[]);
    let served = score(&server);
    assert!((served - approved).abs() < 1e-9, "{approved} vs {served}");
}

/// Two servers on one database file stand for two replicas: a decision taken on one reaches the
/// other's model through the shared learning log (polled every 250 ms), with no nudge between
/// them.
#[test]
fn a_decision_on_one_process_teaches_another_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let a = Server::start(&db, &model(), &[]);
    let b = Server::start(&db, &model(), &[]);
    let id = post_held_praise(&a);
    let before = score(&b);
    moderate(&a, id, "approve");
    let (after, _) = wait_for(&b, |p| p < before);
    assert!(
        after < before,
        "the other process still scores {after} (was {before})"
    );
    let (on_a, _) = wait_for(&a, |p| (p - after).abs() < 1e-9);
    assert!(
        (on_a - after).abs() < 1e-9,
        "{on_a} vs {after}: the two models differ"
    );
}

/// A reader's comment the filter rejected, published by a moderator: the site's own ham now shows
/// the reject threshold is too eager for this site, so it rises above that comment's held-out
/// score (live, within a second, and the same in `train --feedback`), and comes back down when
/// the decision is taken back.
#[test]
fn a_rejected_reader_restored_by_a_moderator_raises_the_reject_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let posted = post(
        &server.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        &json!({"comment_content": "I like the valuable info you provide in your articles. I'll bookmark your blog and check again here regularly.",
                "comment_author": "cheap airline flights",
                "comment_author_email": "deals@cheap-flights-deals.example.com",
                "comment_author_url": "http://cheap-flights-deals.example.com/"}),
    );
    assert_eq!(posted["verdict"], "rejected", "{posted}");
    let id = posted["id"].as_i64().unwrap();
    let thresholds = |server: &Server| -> Value {
        let body = agent()
            .get(&server.url("/healthz"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str::<Value>(&body).unwrap()["model"]["thresholds"].clone()
    };
    let file_reject = thresholds(&server)["file_reject"].as_f64().unwrap();
    assert_eq!(thresholds(&server)["reject"].as_f64(), Some(file_reject));

    moderate(&server, id, "approve");
    let start = Instant::now();
    let raised = loop {
        let t = thresholds(&server);
        if t["reject"].as_f64().unwrap() > file_reject || start.elapsed() > Duration::from_secs(1) {
            break t;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(raised["reject"].as_f64().unwrap() > file_reject, "{raised}");
    assert_eq!(raised["site_ham_examples"], 1, "{raised}");
    assert_eq!(
        raised["site_ham_rejected_at_file_thresholds"], 1,
        "{raised}"
    );
    let page = server.admin_page("/admin");
    assert!(page.contains("raised from the model file"), "{page}");
    server.stop();

    // The same log folded offline gives the same thresholds.
    let out_model = dir.path().join("feedback.rgm");
    let out = train_feedback(&db, &out_model);
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("to {:.6}", raised["reject"].as_f64().unwrap())),
        "{said}"
    );

    // Taken back (spam after all): the file's threshold again.
    let server = Server::start(&db, &model(), &[]);
    moderate(&server, id, "spam");
    let start = Instant::now();
    while thresholds(&server)["reject"].as_f64() != Some(file_reject)
        && start.elapsed() < Duration::from_secs(1)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(thresholds(&server)["reject"].as_f64(), Some(file_reject));
}

fn healthz(server: &Server) -> Value {
    let mut resp = agent().get(&server.url("/healthz")).call().unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

/// Polls `/healthz` until the model has learned `n` log entries, for at most 10 s.
fn wait_for_learned(server: &Server, n: i64) -> Value {
    let start = Instant::now();
    loop {
        let health = healthz(server);
        if health["model"]["learned"]["examples"].as_i64() >= Some(n)
            || start.elapsed() > Duration::from_secs(10)
        {
            return health;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A comment published on arrival that nobody challenges is learned as the site's ham once the
/// site's delay has passed (here 0 s), once; a moderator marking it spam later takes that ham
/// back and teaches spam instead. The comments a moderator corrects are mostly spam: without the
/// ones that stay published, the site's examples would be all spam (issue #23).
#[test]
fn a_comment_that_stays_published_teaches_ham_until_a_moderator_marks_it_spam() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &["--learn-published-after", "0s"]);
    let posted = post(
        &server.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        &json!({"comment_content": "Which data centres does the deal actually use? The press release only names 'cloud services'.",
                "comment_author": "Ana Lopes", "comment_author_email": "ana@example.org"}),
    );
    assert_eq!(posted["status"], "published", "{posted}");
    let id = posted["id"].as_i64().unwrap();
    let health = wait_for_learned(&server, 1);
    assert_eq!(health["model"]["learned"]["examples"], 1, "{health}");
    // Learned once: later passes add nothing.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(healthz(&server)["model"]["learned"]["examples"], 1);

    // Marked spam: the implicit ham is taken back (-1) and the spam example added (+1).
    moderate(&server, id, "spam");
    let health = wait_for_learned(&server, 3);
    assert_eq!(health["model"]["learned"]["examples"], 3, "{health}");
    // A held comment the moderator approves is no implicit ham, and is not learned twice.
    let held = post_held_praise(&server);
    moderate(&server, held, "approve");
    let health = wait_for_learned(&server, 4);
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(
        healthz(&server)["model"]["learned"]["examples"],
        4,
        "{health}"
    );
}

/// On a busy site nobody waits a day: a comment published on arrival that twenty readers'
/// comments have followed, unchallenged, is learned as the site's ham (the same rule as
/// `eval --implicit-after 20`), so a fast stream of corrections is balanced by the comments that
/// stayed up.
#[test]
fn a_busy_site_learns_what_stayed_published_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    for n in 0..22 {
        let posted = post(
            &url,
            &json!({"comment_content": format!("Question {n}: which venues does the cloud deal cover, and from which year?"),
                    "comment_author": format!("Reader {n}"),
                    "comment_author_email": format!("reader{n}@example.org")}),
        );
        assert_eq!(posted["status"], "published", "{posted}");
    }
    // 22 comments: the first two have 20 readers' comments after them.
    let health = wait_for_learned(&server, 2);
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        healthz(&server)["model"]["learned"]["examples"],
        2,
        "{health}"
    );
}

/// The reproduction: approving one generic comment that was *held* (not rejected) must
/// not lift the reject threshold, and obvious link spam is still rejected afterwards.
#[test]
fn approving_one_held_comment_leaves_rejecting_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let before = healthz(&server)["model"]["thresholds"]["reject"]
        .as_f64()
        .unwrap();
    let link_spam = json!({"comment_content": "Cheap replica watches, best prices online http://replica-best.top/watches buy now",
            "comment_author": "replica watches", "comment_author_email": "sales@replica-best.top",
            "comment_author_url": "http://replica-best.top/"});
    let spam_before = post(&server.url("/api/v1/classify"), &link_spam);
    let held = post(
        &server.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        &json!({"comment_content": "Great post, thanks! Bookmarked your blog for later.",
                "comment_author": "Jo", "comment_author_email": "jo@example.org"}),
    );
    assert_eq!(held["status"], "held", "{held}");
    moderate(&server, held["id"].as_i64().unwrap(), "approve");
    let health = wait_for_learned(&server, 1);
    let after = health["model"]["thresholds"]["reject"].as_f64().unwrap();
    assert_eq!(before, after, "{health}");
    // One lesson moves an unrelated comment's score a little, and not its verdict.
    let spam_after = post(&server.url("/api/v1/classify"), &link_spam);
    assert_eq!(
        spam_after["verdict"], spam_before["verdict"],
        "{spam_after}"
    );
    let moved = spam_after["spam_probability"].as_f64().unwrap()
        - spam_before["spam_probability"].as_f64().unwrap();
    assert!(moved.abs() < 0.05, "{spam_before} -> {spam_after}");
}

/// The site's reputation acts before the text model: a reader whose earlier comment a moderator
/// approved (same e-mail address and name, in any case) is published where a stranger with the
/// same words is held, with the rule named in the clues and counted on `/metrics`; the same address under
/// another name is a stranger.
#[test]
fn a_returning_reader_is_published_where_a_stranger_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let id = post_held_praise(&server);
    moderate(&server, id, "approve");
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let words = "Great post, thanks! Bookmarked your blog for later.";
    let again = post(
        &url,
        // Known however the reader capitalizes their name and address this time.
        &json!({"comment_content": words, "comment_author": "Maria.K",
                "comment_author_email": "Maria@Example.ORG"}),
    );
    assert_eq!(again["status"], "published", "{again}");
    assert_eq!(again["clues"][0]["token"], "rule:trusted-author", "{again}");
    let stranger = post(
        &url,
        &json!({"comment_content": "Great post, thank you! Bookmarked your blog for later.",
                "comment_author": "Maria K. (not her)",
                "comment_author_email": "maria@example.org"}),
    );
    assert_eq!(stranger["status"], "held", "{stranger}");
    let mut resp = agent().get(&server.url("/metrics")).call().unwrap();
    let metrics = resp.body_mut().read_to_string().unwrap();
    assert!(
        metrics.contains("replyguard_rule_verdicts_total{rule=\"trusted-author\"} 1"),
        "{metrics}"
    );
}

/// Spam history acts before the text model: once a moderator marks a published comment spam,
/// the next comment from the same e-mail address is held where the model would publish it, with
/// the rule named in the clues and counted on `/metrics`; another address is unaffected.
#[test]
fn an_address_marked_spam_is_held_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let server = Server::start(&db, &model(), &[]);
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let comment = |text: &str, email: &str| {
        post(
            &url,
            &json!({"comment_content": text, "comment_author": "Sam Reed",
                    "comment_author_email": email}),
        )
    };
    let first = comment(
        "Which region does the deal cover? The press release is vague about it.",
        "sam@reed.example",
    );
    assert_eq!(first["status"], "published", "{first}");
    moderate(&server, first["id"].as_i64().unwrap(), "spam");
    // The same address however it is capitalized (a spammer's easiest way round the rule).
    let next = comment(
        "Does the contract also cover the winter games, or only the summer ones?",
        "Sam@REED.example",
    );
    assert_eq!(next["status"], "held", "{next}");
    assert_eq!(next["clues"][0]["token"], "rule:spam-history", "{next}");
    let other = comment(
        "Does the contract also cover the winter games, or only the summer ones?",
        "sam.reed@other.example",
    );
    assert_eq!(other["status"], "published", "{other}");
    let mut resp = agent().get(&server.url("/metrics")).call().unwrap();
    let metrics = resp.body_mut().read_to_string().unwrap();
    assert!(
        metrics.contains("replyguard_rule_verdicts_total{rule=\"spam-history\"} 1"),
        "{metrics}"
    );
}

/// A site's moderators teach its own layer ([`SiteLayer`](replyguard::engine::site_layer)):
/// after a local shop's plugs marked spam and readers' comments that stayed published or were
/// approved, the next plug scores higher and the layer is named among its clues. The layer is
/// kept beside the model file, so `train --feedback`, which folds the same lessons into a new
/// file, does not empty it.
#[test]
fn a_sites_lessons_teach_its_own_layer_which_outlives_a_retrain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let args = ["--learn-published-after", "0s"];
    let server = Server::start(&db, &model(), &args);
    let probe = json!({"comment_content": "Ask Tilda for the lavender soap bar at the Saturday market stall.",
                       "comment_author": "Dana"});
    let classify = |server: &Server| post(&server.url("/api/v1/classify"), &probe);
    let before = classify(&server);
    let topics = [
        "the supply chain",
        "the sponsorship fee",
        "the cloud contract",
        "the broadcast rights",
        "the ticketing system",
        "the press release",
    ];
    let comments = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    // Posts a comment and, unless the server already gave it `right`, corrects it with `action`.
    let teach = |body: Value, right: &str, action: &str| {
        let posted = post(&comments, &body);
        if posted["status"] != right {
            moderate(&server, posted["id"].as_i64().unwrap(), action);
        }
    };
    for (i, topic) in topics.iter().enumerate() {
        teach(
            json!({"comment_content": format!("I read the part about {topic} twice; the figures there look right to me."),
                   "comment_author": format!("Reader {i}"), "comment_author_email": format!("r{i}@example.org")}),
            "published",
            "approve",
        );
        teach(
            json!({"comment_content": format!("Tilda's handmade soaps are back at the Saturday market stall {i}, ask for the lavender bar."),
                   "comment_author": format!("Tilda {i}"), "comment_author_email": format!("t{i}@example.net")}),
            "rejected",
            "spam",
        );
    }
    let health = wait_for_learned(&server, 12);
    let named = |body: &Value| {
        body["clues"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["token"] == "site:learned-from-moderators")
        })
    };
    let after = classify(&server);
    let p = |body: &Value| body["spam_probability"].as_f64().unwrap();
    assert!(
        p(&after) > p(&before) + 0.05,
        "{before} → {after}; {health}"
    );
    assert!(named(&after), "{after}");
    assert!(!named(&before), "{before}");
    server.stop();

    let out_model = dir.path().join("feedback.rgm");
    train_feedback(&db, &out_model);
    let server = Server::start(&db, &out_model, &args);
    let retrained = classify(&server);
    assert!(named(&retrained), "{retrained}");
    assert!(p(&retrained) > p(&before) + 0.05, "{before} → {retrained}");
    server.stop();
}

/// Posts `comment` as a reader of the default site's article through the JSON API.
fn post_comment(server: &Server, comment: &Value) -> Value {
    post(
        &server.url(&format!("/api/v1/articles/{ARTICLE}/comments")),
        comment,
    )
}

/// Forty link spam comments from forty shops: what a site flooded by a campaign receives.
fn post_spam_run(server: &Server) {
    for i in 0..40 {
        let posted = post_comment(
            server,
            &json!({
                "comment_content": format!("Buy cheap viagra online without prescription, fast shipping {i}: http://pills-cheap{i}.ru/order"),
                "comment_author": format!("Cheap Pills {i}"),
                "comment_author_email": format!("sales@pills-cheap{i}.ru"),
                "comment_author_url": format!("http://pills-cheap{i}.ru/"),
            }),
        );
        assert_ne!(posted["status"], "published", "{posted}");
    }
}

/// A site learns its own share of spam from its traffic, with no moderator: after a run of link
/// spam `/healthz` shows the default site's share risen from the model's, and a borderline
/// comment the model alone publishes is held, the share leading its clues. The shift is bounded
/// and never rejects by itself. With `--no-site-prior` the same traffic moves nothing.
#[test]
fn a_site_learns_its_share_of_spam_from_its_traffic() {
    // Short thanks the shipped model scores between 0.2 and 0.5: published at the model's share.
    let candidates = [
        "Great post, thanks!",
        "Check this out, thanks",
        "Thanks, bookmarked for later",
        "Great info, thanks",
    ];
    let comment = |text: &str| {
        json!({"comment_content": text, "comment_author": "Jana",
               "comment_author_email": "jana@example.org"})
    };
    for site_prior in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let extra: &[&str] = if site_prior {
            &[]
        } else {
            &["--no-site-prior"]
        };
        let server = Server::start(&dir.path().join("c.db"), &model(), extra);
        let borderline = candidates
            .iter()
            .copied()
            .find(|text| {
                let scored = post(&server.url("/api/v1/classify"), &comment(text));
                let p = scored["spam_probability"].as_f64().unwrap();
                (0.25..0.5).contains(&p) && scored["verdict"] == "published"
            })
            .expect("a candidate the shipped model scores between 0.25 and 0.5");
        assert!(healthz(&server)["model"]["site_prior"].is_null());
        post_spam_run(&server);
        let prior = &healthz(&server)["model"]["site_prior"];
        let posted = post_comment(&server, &comment(borderline));
        if site_prior {
            let share = prior["share"].as_f64().unwrap();
            let model_share = prior["model_share"].as_f64().unwrap();
            let shift = prior["log_odds_shift"].as_f64().unwrap();
            assert_eq!(prior["comments"], 40, "{prior}");
            assert!(share > 2.0 * model_share, "{prior}");
            assert!(shift > 0.5 && shift <= 1.25 + 1e-9, "{prior}");
            assert_eq!(posted["status"], "held", "{posted}");
            assert_eq!(
                posted["clues"][0]["token"], "site:share-of-spam",
                "{posted}"
            );
        } else {
            assert!(prior.is_null(), "{prior}");
            assert_eq!(posted["status"], "published", "{posted}");
        }
        server.stop();
    }
}

/// A long reader's comment, of a kind none of the training corpora holds.
const LONG_READER: &str = "I ran into the same migration problem last spring when we moved \
our inventory service from a single Postgres box to two replicas behind pgbouncer. The part \
about advisory locks matches what we saw: the lock is held per session, so with transaction \
pooling the second statement ran on another backend and the lock silently did nothing. We \
ended up pinning the migration runner to session pooling and adding a canary row that each \
replica reads before it starts serving. Two more things bit us. First, the default statement \
timeout on the managed instance was thirty seconds, and the index build on the orders table \
took eleven minutes, so it failed halfway and left an invalid index behind that the planner \
still considered. Second, our rollback script assumed the enum type could be altered inside a \
transaction, which is only true on newer versions. My advice for anyone reading this: run the \
whole sequence against a restored copy of production first, time every step, and write down \
which steps are reversible. Thanks for writing this up so carefully, the diagrams of the lock \
order were the clearest explanation I have found.";

/// A site whose readers' comments mostly stay published (learned as its ham) and whose
/// moderators marked a few spam: what its ham carries is never turned into spam evidence for
/// want of spam lessons. The long comment a moderator approved, and others like it, stay
/// published however many ordinary comments follow (a review saw the approved one rejected).
#[test]
fn many_published_comments_do_not_teach_a_site_to_reject_long_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("rg.db"),
        &model(),
        &["--learn-published-after", "0s"],
    );
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    let praise = [
        "Great article, very informative. Keep it up!",
        "Thanks for sharing this valuable information, I will come back for more.",
        "Very well written post. I learned a lot from it. Looking forward to more.",
        "Nice post, extremely useful info, I'm impressed!",
        "I appreciate the effort you put into this. Very helpful for beginners.",
        "Really useful content. I have shared it with my friends.",
    ];
    for (i, text) in praise.iter().enumerate() {
        let posted = post(
            &url,
            &json!({"comment_content": text, "comment_author": format!("Shop {i}"),
                    "comment_author_email": format!("seo{i}@shop{i}.example"),
                    "comment_author_url": format!("https://shop{i}.example/")}),
        );
        if posted["verdict"] != "rejected" {
            moderate(&server, posted["id"].as_i64().unwrap(), "spam");
        }
    }
    let long = post(
        &url,
        &json!({"comment_content": LONG_READER, "comment_author": "Daniel Okafor",
                "comment_author_email": "daniel@example.org"}),
    );
    if long["status"] != "published" {
        moderate(&server, long["id"].as_i64().unwrap(), "approve");
    }
    let topics = [
        "the venues",
        "the contract",
        "the cloud deal",
        "the press release",
    ];
    for n in 0..48 {
        let posted = post(
            &url,
            &json!({"comment_content": format!("Reader {n} here: what does {} say about year {}?", topics[n % 4], 2000 + n),
                    "comment_author": format!("Reader {n}"),
                    "comment_author_email": format!("reader{n}@example.org")}),
        );
        assert_ne!(posted["verdict"], "rejected", "{posted}");
    }
    let health = wait_for_learned(&server, 40);
    assert!(
        health["model"]["learned"]["examples"].as_i64() >= Some(40),
        "{health}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let again = post(
        &server.url("/api/v1/classify"),
        &json!({"comment_content": LONG_READER, "comment_author": "Zed",
                "comment_author_email": "zed@example.org"}),
    );
    assert_eq!(again["verdict"], "published", "{again}");
}
