//! End-to-end tests of the real `replyguard` binary: train → eval → classify on generated
//! fixtures, determinism, and clear errors for bad data and broken model files.

use crate::common;

use common::{repo, run, text, write_fixtures};
use serde_json::Value;

fn train_fixture_model(dir: &std::path::Path) -> std::path::PathBuf {
    let files = write_fixtures(dir);
    let model = dir.join("m.rgm");
    let mut args = vec![
        "train",
        "--out",
        model.to_str().unwrap(),
        "--calibration-folds",
        "3",
    ];
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let out = run(&args, None, dir);
    assert!(out.status.success(), "train failed: {}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("48 comments from 3 files (24 ham, 24 spam)"),
        "{summary}"
    );
    assert!(summary.contains("thresholds: hold at p >="), "{summary}");
    model
}

#[test]
fn train_then_classify_text_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    let model = model.to_str().unwrap();

    let out = run(
        &[
            "classify",
            "--model",
            model,
            "--json",
            "check out my channel and subscribe!!! http://spam.example.com/x",
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spam_p = v["spam_probability"].as_f64().unwrap();
    assert_ne!(v["verdict"], "published", "{v}");
    assert!(!v["clues"].as_array().unwrap().is_empty());

    // JSONL: output in input order, one line per record, a bad record reported in place.
    let input = b"{\"comment_content\":\"thanks for the helpful article about the deal\"}\n\
                  not json\n\
                  {\"comment_content\":\"subscribe to my channel free gift cards\",\"comment_author_url\":\"http://promo.example.biz\"}\n";
    let out = run(
        &["classify", "--model", model, "--jsonl"],
        Some(input),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "bad lines make exit status 3");
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let ham_p = lines[0]["spam_probability"].as_f64().unwrap();
    assert!(ham_p < 0.5, "{:?}", lines[0]);
    assert_eq!(lines[1]["line"], 2);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("invalid record")
    );
    assert!(lines[2]["spam_probability"].as_f64().unwrap() > ham_p);
    assert!(spam_p > ham_p);
}

#[test]
fn eval_protocols_print_figures() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_fixtures(dir.path());
    let f: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();

    let mut args = vec![
        "eval",
        "--folds",
        "4",
        "--seed",
        "3",
        "--calibration-folds",
        "2",
        "--json",
    ];
    args.extend(f.iter().map(String::as_str));
    let out = run(&args, None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["folds"].as_array().unwrap().len(), 4);
    for key in ["mcc", "f1", "auc", "accuracy", "spam_caught", "ham_blocked"] {
        assert!(report["mean"][key].is_number(), "missing {key}");
    }
    assert_eq!(report["mean"]["ham"], 24);

    let svg = dir.path().join("roc.svg");
    let mut args = vec![
        "eval",
        "--leave-one-file-out",
        "--calibration-folds",
        "2",
        "--plot",
        svg.to_str().unwrap(),
    ];
    args.extend(f.iter().map(String::as_str));
    let out = run(&args, None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("videos.csv") && table.contains("mean"),
        "{table}"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    let model = train_fixture_model(dir.path());
    let mut args = vec![
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--test",
        "--json",
    ];
    args.extend(f.iter().map(String::as_str));
    let out = run(&args, None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["mean"]["auc"].as_f64().unwrap() > 0.9, "{report}");
}

/// `train` picks the metadata weight on the data it is given, says which in its summary, and
/// records it in the model file; a fixed `--meta-weight` is kept; a bad one is refused clearly.
#[test]
fn train_chooses_the_metadata_weight_for_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let sms = repo().join("training-data/sms-spam-collection/SMSSpamCollection");
    let sms = sms.to_str().unwrap();
    let train = |extra: &[&str]| {
        let model = dir.path().join("sms.rgm");
        let mut args = vec!["train", "--out", model.to_str().unwrap(), sms];
        args.extend(extra);
        let out = run(&args, None, dir.path());
        (out, model)
    };
    // SMS texts are told apart by their words: the lightest metadata weight wins.
    let (out, model) = train(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.contains("metadata weight 0.5,"), "{summary}");
    let loaded = replyguard::engine::model_file::load(&model).unwrap();
    assert_eq!(loaded.core.weighting.meta_weight, Some(0.5));
    assert_eq!(loaded.meta.hyperparameters.weighting, loaded.core.weighting);
    assert_eq!(
        loaded.meta.hyperparameters.meta_weight_choices,
        replyguard::engine::train::META_WEIGHT_CHOICES
    );

    let (out, model) = train(&["--meta-weight", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("metadata weight 1,"));
    let loaded = replyguard::engine::model_file::load(&model).unwrap();
    assert_eq!(loaded.core.weighting.meta_weight, Some(1.0));
    assert!(loaded.meta.hyperparameters.meta_weight_choices.is_empty());

    for bad in ["-1", "heavy", "NaN"] {
        let (out, _) = train(&[&format!("--meta-weight={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains("neither `auto` nor a non-negative number"),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn training_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let a = std::fs::read(train_fixture_model(dir.path())).unwrap();
    let b = std::fs::read(train_fixture_model(dir.path())).unwrap();
    assert_eq!(a, b, "same data and flags must give a byte-identical model");
}

#[test]
fn malformed_training_rows_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = write_fixtures(dir.path());
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"label\":\"spam\",\"comment_content\":\"x\"}\n{\"label\":\"maybe\",\"comment_content\":\"y\"}\n").unwrap();
    files.push(broken);
    let f: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let out_model = dir.path().join("m.rgm");

    let mut args = vec!["train", "--out", out_model.to_str().unwrap()];
    args.extend(f.iter().map(String::as_str));
    let out = run(&args, None, dir.path());
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("broken.jsonl:2"), "{err}");
    assert!(!out_model.exists(), "no model is written on error");

    args.push("--lenient");
    let out = run(&args, None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 malformed rows skipped"));
}

#[test]
fn broken_model_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    let good = std::fs::read(&model).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.rgm",
            good[..good.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "flipped.rgm",
            {
                let mut b = good.clone();
                let at = b.len() - 100;
                b[at] ^= 0x40;
                b
            },
            "checksum mismatch",
        ),
        (
            "version.rgm",
            {
                let mut b = good.clone();
                b[8] = 99;
                b
            },
            "version 99 is not supported",
        ),
        (
            "notamodel.rgm",
            b"hello world, not a model".to_vec(),
            "bad magic",
        ),
        ("empty.rgm", Vec::new(), "bad magic"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run(
            &["classify", "--model", path.to_str().unwrap(), "hello"],
            None,
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(4), "{name}");
        let err = text(&out.stderr);
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = run(
        &["classify", "--model", "does-not-exist.rgm", "hi"],
        None,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("does-not-exist.rgm"));
}

#[test]
fn threshold_overrides_are_validated_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_fixture_model(dir.path());
    let m = model.to_str().unwrap();
    let out = run(
        &[
            "classify",
            "--model",
            m,
            "--hold-threshold",
            "0.9",
            "--reject-threshold",
            "0.2",
            "x",
        ],
        None,
        dir.path(),
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("above reject threshold"));
    let out = run(
        &[
            "classify",
            "--model",
            m,
            "--json",
            "--hold-threshold",
            "0",
            "--reject-threshold",
            "1",
            "nice post",
        ],
        None,
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["verdict"], "held",
        "hold threshold 0 holds everything below 1: {v}"
    );
}

/// The shipped model loads and separates an obvious spam comment from an ordinary one.
#[test]
fn shipped_model_classifies_comments() {
    let model = repo().join("models/default.rgm");
    let spam = run(
        &[
            "classify",
            "--model",
            model.to_str().unwrap(),
            "--json",
            "CHECK OUT MY CHANNEL!!! subscribe for free gift cards http://bit.ly/xyz",
        ],
        None,
        &repo(),
    );
    assert!(spam.status.success(), "{}", text(&spam.stderr));
    let spam: Value = serde_json::from_slice(&spam.stdout).unwrap();
    let ham = run(
        &[
            "classify",
            "--model",
            model.to_str().unwrap(),
            "--json",
            "Interesting to see Alibaba join the Olympic partners, I wonder what the cloud deal is worth.",
        ],
        None,
        &repo(),
    );
    let ham: Value = serde_json::from_slice(&ham.stdout).unwrap();
    assert_eq!(spam["verdict"], "rejected", "{spam}");
    assert_eq!(ham["verdict"], "published", "{ham}");
}

/// `replyguard classify … | head -1` must end quietly: a reader that goes away is not an error
/// and certainly not a panic. The pipe's read end is closed before the command starts, so every
/// write it makes fails with EPIPE.
#[test]
fn closed_stdout_ends_quietly() {
    for args in [
        vec![
            "classify",
            "--clues",
            "10",
            "Check out my channel http://bit.ly/x",
        ],
        vec!["classify", "--json", "Thanks for the article"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = common::bin()
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert!(
            output.status.success(),
            "{args:?}: {:?} {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// A 1 MB single-token comment and a NUL byte in a `classify --jsonl` stream: scored like any
/// other line, in order, exit 0.
#[test]
fn huge_token_and_nul_lines_are_scored() {
    let dir = tempfile::tempdir().unwrap();
    let huge = serde_json::json!({"comment_content": "z".repeat(1 << 20)}).to_string();
    let input = format!(
        "{huge}\n{{\"comment_content\":\"nul\\u0000byte\"}}\n{{\"comment_content\":\"ok\"}}\n"
    );
    let out = run(
        &[
            "classify",
            "--model",
            repo().join("models/default.rgm").to_str().unwrap(),
            "--jsonl",
        ],
        Some(input.as_bytes()),
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["spam_probability"].is_number()));
}

/// Thousands of records spread over many chunks and both workers come back in input order: each
/// result equals the one for the same record classified alone, blank lines are skipped and bad
/// lines are reported at their own line numbers.
#[test]
fn jsonl_stream_keeps_input_order_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("models/default.rgm");
    let model = model.to_str().unwrap();
    let texts = [
        "Check out my channel and subscribe!!! http://promo.example.biz/win free gift cards",
        "Thanks for the clear write-up, the second example finally made it click for me.",
        "ok",
        "CALL NOW to claim your prize 08712460324",
    ];
    let alone: Vec<String> = texts
        .iter()
        .map(|t| {
            let record = serde_json::json!({ "comment_content": t }).to_string() + "\n";
            let out = run(
                &["classify", "--model", model, "--jsonl"],
                Some(record.as_bytes()),
                dir.path(),
            );
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).trim_end().to_string()
        })
        .collect();
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..5_000usize {
        let line_no = expected.len() + 1 + input.matches("\n\n").count();
        if i % 997 == 0 {
            input.push_str("{not json\n");
            expected.push(format!("error@{line_no}"));
        } else if i % 1_499 == 0 {
            input.push('\n'); // blank: skipped, but counted in line numbers
            input.push_str(&serde_json::json!({ "comment_content": texts[i % 4] }).to_string());
            input.push('\n');
            expected.push(alone[i % 4].clone());
        } else {
            input.push_str(&serde_json::json!({ "comment_content": texts[i % 4] }).to_string());
            input.push('\n');
            expected.push(alone[i % 4].clone());
        }
    }
    let out = run(
        &["classify", "--model", model, "--jsonl"],
        Some(input.as_bytes()),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "bad lines make exit status 3");
    let got: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(got.len(), expected.len());
    for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
        if let Some(line_no) = want.strip_prefix("error@") {
            let v: Value = serde_json::from_str(got).unwrap();
            assert_eq!(v["line"].to_string(), line_no, "result {i}: {got}");
        } else {
            assert_eq!(got, want, "result {i}");
        }
    }
}

/// `--db` takes a path, `sqlite://PATH` or `postgres://…`; a URL is never taken for a file name
/// (it once created a directory named `postgres:`), and an unknown scheme is refused.
#[test]
fn db_urls_are_parsed_and_missing_files_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["keys", "--db", "postgres://rg@127.0.0.1:1/rg", "list"],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(!dir.path().join("postgres:").exists());
    let out = run(&["keys", "--db", "mysql://x/y", "list"], None, dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown database scheme"));
    let db = dir.path().join("rg.db");
    let url = format!("sqlite://{}", db.display());
    // A command that only reads or changes what is stored says a missing file is missing (a
    // mistyped --db), and creates nothing.
    for args in [
        &["keys", "--db", &url, "list"][..],
        &["sites", "list", "--db", &url],
        &["rules", "--db", &url, "show"],
        &["export", "--format", "wxr", "--db", &url],
        &["erase", "--email", "a@example.org", "--db", &url],
        &[
            "rules",
            "--db",
            &url,
            "--site",
            "blog",
            "set",
            "--hold-links-at",
            "3",
        ],
    ] {
        let out = run(args, None, dir.path());
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("rg.db: does not exist (check the path"),
            "{args:?}: {err}"
        );
        assert!(!db.exists(), "{args:?} created the database");
    }
    // Those that set a database up create it.
    let out = run(
        &[
            "keys",
            "--db",
            &url,
            "add",
            "--blog",
            "https://blog.example",
        ],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db.is_file());
    let out = run(&["keys", "--db", &url, "list"], None, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `eval --prequential --feedback corrections`: the moderator's workload, static against
/// learning, through the CLI binary on two real YouTube videos as new sites (base: SMS). On the
/// site owner's protocol, learning from the moderator's corrections must lower their work, not
/// raise it (issue #23), and lose no more readers.
#[test]
fn eval_reports_the_moderators_workload_and_learning_lowers_it() {
    let yt = |f: &str| format!("training-data/youtube-spam-collection/{f}");
    let out = run(
        &[
            "eval",
            "--prequential",
            "--feedback",
            "corrections",
            &yt("Youtube01-Psy.csv"),
            &yt("Youtube04-Eminem.csv"),
            "--base",
            "training-data/sms-spam-collection/SMSSpamCollection",
            "--json",
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["sites"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    let mean = &report["mean_second_half"];
    let figure = |model: &str, name: &str| mean[model][name].as_f64().unwrap();
    assert!(
        figure("learning", "actions_per_100") <= 0.8 * figure("static", "actions_per_100"),
        "{mean}"
    );
    assert!(
        figure("learning", "spam_published_pct") <= figure("static", "spam_published_pct"),
        "{mean}"
    );
    assert!(figure("learning", "ham_rejected_pct") <= 0.5, "{mean}");
    for site in report["sites"].as_array().unwrap() {
        assert!(site["learned_implicit"].as_u64() > Some(0), "{site}");
        assert!(site["learned_corrections"].as_u64() > Some(0), "{site}");
    }
    // The table names the protocol and both models; --plot draws the learning run.
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("workload.svg");
    let out = run(
        &[
            "eval",
            "--prequential",
            "--feedback",
            "corrections",
            &yt("Youtube01-Psy.csv"),
            "--base",
            "training-data/sms-spam-collection/SMSSpamCollection",
            "--plot",
            plot.to_str().unwrap(),
        ],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("learning from corrections"),
        "{svg:.200}"
    );
    let table = text(&out.stdout);
    assert!(table.contains("corrections only"), "{table}");
    assert!(table.contains("learning/static actions"), "{table}");
}

/// `replyguard erase --email`: a commenter's name, address, website, IP and user agent leave
/// every comment of theirs and every copy the learning log keeps; the text stays in its thread.
#[test]
fn erase_removes_a_commenters_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let server = common::Server::start(&db, &common::model(), &["--min-form-seconds", "0"]);
    let post = |text: &str, name: &str, email: &str| -> i64 {
        let mut resp = common::agent()
            .post(&server.url("/api/v1/articles/alibaba-olympic-partner/comments"))
            .send_json(serde_json::json!({
                "comment_content": text, "comment_author": name,
                "comment_author_email": email, "comment_author_url": "https://ana.example"}))
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let body: serde_json::Value = resp.body_mut().read_json().unwrap();
        body["id"].as_i64().unwrap()
    };
    let first = post(
        "The section about sponsorship deals was very clear, thanks.",
        "Ana Lopez",
        "Ana@Example.org",
    );
    post(
        "Another thought on the cloud contract and what it costs the IOC.",
        "Ana Lopez",
        "ana@example.org",
    );
    let other = post(
        "A different reader with a view on the sponsorship.",
        "Bo",
        "bo@example.org",
    );
    // A moderator decision puts a copy of the comment in the learning log.
    let resp = common::agent()
        .post(&server.url(&format!("/api/v1/admin/comments/{first}/spam")))
        .header("Authorization", &format!("Bearer {}", common::TOKEN))
        .send_empty()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let out = common::run(
        &[
            "erase",
            "--email",
            "ANA@example.org",
            "--db",
            db.to_str().unwrap(),
        ],
        None,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let erased: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(erased["comments"], 2, "{erased}");
    assert!(
        erased["learning_records"].as_u64().unwrap() >= 1,
        "{erased}"
    );
    drop(server);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM comments WHERE lower(author_email) = 'ana@example.org'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM comments WHERE author = 'Ana Lopez'"),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM comments WHERE author = 'Anonymous' AND user_ip IS NULL AND author_url IS NULL"
        ),
        2
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM learning_log WHERE lower(record) LIKE '%ana@example.org%' OR record LIKE '%Ana Lopez%'"
        ),
        0
    );
    // The text stays, and other readers are untouched.
    assert_eq!(
        count("SELECT count(*) FROM comments WHERE content LIKE 'The section about sponsorship%'"),
        1
    );
    let bo: String = conn
        .query_row(
            "SELECT author_email FROM comments WHERE id = ?1",
            [other],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bo, "bo@example.org");

    // A wrong argument is explained.
    let out = common::run(
        &["erase", "--email", "nobody", "--db", db.to_str().unwrap()],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("e-mail address"));
}

/// README's quick start shows `classify` on one comment and what it prints: with the shipped
/// model, the binary must print exactly that (an example that drifted from the model misleads).
#[test]
fn the_readme_classify_example_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let command = "cargo run --release -- classify \"";
    let at = readme.find(command).expect("README's classify example");
    let after = &readme[at + command.len()..];
    let comment = &after[..after.find("\"\n").expect("the example's closing quote")];
    let shown = &after[after.find("```\n").unwrap() + 4..];
    let shown = &shown[shown.find("```\n").unwrap() + 4..];
    let shown = &shown[..shown.find("```").unwrap()];
    let model = repo().join("models/default.rgm");
    let out = run(
        &["classify", comment, "--model", model.to_str().unwrap()],
        None,
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        shown,
        "README's classify example is stale"
    );
}

/// Arguments a command cannot use exit 2, as clap's own usage errors do (README: `2` usage
/// error), and change nothing.
#[test]
fn unusable_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let db = db.to_str().unwrap();
    for args in [
        vec![
            "eval",
            "training-data/youtube-spam-collection/Youtube01-Psy.csv",
        ],
        vec!["sites", "add", "Bad!", "--db", db],
        vec!["sites", "add", "blog", "--moderation", "bogus", "--db", db],
        vec![
            "sites",
            "add",
            "blog",
            "--origin",
            "not an origin",
            "--db",
            db,
        ],
    ] {
        let out = run(&args, None, &repo());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        !std::path::Path::new(db).exists(),
        "a refused command made the database"
    );
}

/// `serve` on an address another program holds says which address and what to change, and
/// creates nothing: before, the database and a one-time admin token (printed, then lost) were
/// made first, and the next start printed none.
#[test]
fn serve_on_a_busy_port_names_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let db = dir.path().join("data").join("rg.db");
    let out = run(
        &["serve", "--listen", &addr, "--db", db.to_str().unwrap()],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(
        said.contains(&addr) && said.contains("--listen") && !said.contains("admin token"),
        "{said}"
    );
    assert!(!db.exists(), "no database was created");
}
