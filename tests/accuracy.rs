//! Accuracy bars on the shipped corpora, through the real `eval` command and the protocols the
//! README states (fixed seeds, so the figures are exact and repeatable). Peers on the same protocols
//! (`python3 ../shared/tools/peers/cv.py`): best naive Bayes MCC 0.819 / AUC 0.956 on YouTube,
//! 0.955 / 0.986 on SMS.

use crate::common;

use common::{repo, run, text};
use serde_json::Value;

fn eval(args: &[&str]) -> Value {
    let mut all = vec!["eval", "--json"];
    all.extend_from_slice(args);
    let out = run(&all, None, &repo());
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The four YouTube videos of the training data.
fn videos() -> Vec<String> {
    let dir = "training-data/youtube-spam-collection";
    [
        "Youtube01-Psy.csv",
        "Youtube02-KatyPerry.csv",
        "Youtube03-LMFAO.csv",
        "Youtube04-Eminem.csv",
    ]
    .iter()
    .map(|f| format!("{dir}/{f}"))
    .collect()
}

#[test]
fn youtube_leave_one_video_out_beats_the_bar() {
    let files = videos();
    let mut args = vec!["--leave-one-file-out"];
    args.extend(files.iter().map(String::as_str));
    let report = eval(&args);
    let mcc = report["mean"]["mcc"].as_f64().unwrap();
    let auc = report["mean"]["auc"].as_f64().unwrap();
    assert!(mcc >= 0.84, "mean MCC {mcc}");
    assert!(auc >= 0.98, "mean AUC {auc}");
    // Outright rejection of legitimate comments stays rare.
    let ham_rejected = report["mean"]["ham_verdicts"]["rejected"].as_f64().unwrap();
    assert!(ham_rejected <= 0.01, "ham rejected {ham_rejected}");
}

/// Each YouTube video as a new site for a model of the full shipped mix (the other videos, SMS,
/// WordPress blog spam, Wikipedia talk ham): the protocol of `cv.py --mix-lovo`, where TF-IDF
/// LinearSVC, the best peer, reaches mean MCC 0.846 and AUC 0.979. Each video's share of spam
/// (about half, against the mix's 13%) is learned from its own traffic, as the server does.
#[test]
fn full_mix_leave_one_video_out_beats_the_linear_peer() {
    let videos = videos();
    let mut args = vec!["--leave-one-file-out"];
    args.extend(videos.iter().map(String::as_str));
    args.extend([
        "--base",
        "training-data/sms-spam-collection/SMSSpamCollection",
        "--base",
        "training-data/wordpress-blog-spam/",
        "--base",
        "training-data/wikipedia-talk-ham/",
    ]);
    let report = eval(&args);
    let mcc = report["mean"]["mcc"].as_f64().unwrap();
    let auc = report["mean"]["auc"].as_f64().unwrap();
    assert!(mcc > 0.846, "mean MCC {mcc}");
    assert!(auc > 0.979, "mean AUC {auc}");
    let ham_rejected = report["mean"]["ham_verdicts"]["rejected"].as_f64().unwrap();
    assert!(ham_rejected <= 0.005, "ham rejected {ham_rejected}");
}

#[test]
fn sms_ten_fold_beats_the_bar() {
    let report = eval(&[
        "--folds",
        "10",
        "--seed",
        "0",
        "training-data/sms-spam-collection/SMSSpamCollection",
    ]);
    let mcc = report["mean"]["mcc"].as_f64().unwrap();
    let auc = report["mean"]["auc"].as_f64().unwrap();
    // 0.961 was the figure before the model became the one that beats the linear peer on the
    // full mix; issue 23 asks to keep it.
    assert!(mcc >= 0.961, "mean MCC {mcc}");
    assert!(auc >= 0.985, "mean AUC {auc}");
}

/// Blog comment spam, split by date as a site lives it: train on everything before 2017-03
/// (undated corpora: 80%, seed 0), test on the blog's March spam, the held-out 20% of each ham
/// corpus, and the hand-written probes of `tests/fixtures/blog-probes/` (never trained on).
#[test]
fn blog_spam_from_a_later_month_is_caught_and_no_ham_set_is_rejected() {
    let report = eval(&[
        "training-data/",
        "--split-date",
        "2017-03-01",
        "--probe",
        "tests/fixtures/blog-probes/",
    ]);
    let folds = report["folds"].as_array().unwrap();
    let fold = |name: &str| {
        folds
            .iter()
            .find(|f| f["name"].as_str().unwrap().contains(name))
            .unwrap_or_else(|| panic!("no fold {name} in {folds:?}"))
    };
    let share = |f: &Value, class: &str, verdict: &str| {
        f[format!("{class}_verdicts")][verdict].as_f64().unwrap()
    };
    let blog = fold("wordpress-blog-spam");
    assert!(blog["spam"].as_u64().unwrap() >= 100, "{blog}");
    let rejected = share(blog, "spam", "rejected");
    let caught = rejected + share(blog, "spam", "held");
    assert!(caught >= 0.97, "blog spam held or rejected {caught}");
    assert!(rejected >= 0.80, "blog spam rejected {rejected}");
    for ham_set in [
        "SMSSpamCollection",
        "wikipedia-talk-ham",
        "article-comments",
        "generic-thanks-readers",
    ] {
        let r = share(fold(ham_set), "ham", "rejected");
        assert!(r <= 0.01, "{ham_set}: {r} of ham rejected");
    }
    // The same generic praise from a keyword author with a shop's website is caught.
    let commercial = fold("generic-thanks-commercial");
    let caught = share(commercial, "spam", "rejected") + share(commercial, "spam", "held");
    assert!(
        caught >= 0.8,
        "commercial generic thanks held or rejected {caught}"
    );
}

/// Test, then train, each YouTube video a new site: learning every comment right after scoring
/// it (a moderator's decision) must raise the second half's AUC over the base model's.
#[test]
fn prequential_feedback_beats_the_base_model_on_a_new_site() {
    let dir = "training-data/youtube-spam-collection";
    let files: Vec<String> = (1..=4)
        .map(|i| {
            let name = [
                "Youtube01-Psy.csv",
                "Youtube02-KatyPerry.csv",
                "Youtube03-LMFAO.csv",
                "Youtube04-Eminem.csv",
            ][i - 1];
            format!("{dir}/{name}")
        })
        .collect();
    let mut args = vec!["--prequential"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--base", "training-data/sms-spam-collection/"]);
    let report = eval(&args);
    let sites = report.as_array().unwrap();
    assert_eq!(sites.len(), 4);
    let mean = |key: &str| {
        sites
            .iter()
            .map(|s| s[key]["auc"].as_f64().unwrap())
            .sum::<f64>()
            / 4.0
    };
    let (without, with) = (mean("without_feedback"), mean("with_feedback"));
    // The ranking errors left (1 − AUC) shrink by at least 30%: a relative bar, since a better
    // base model leaves less to gain (0.951 → 0.976 before the training sources were balanced,
    // 0.980 → 0.989 after).
    assert!(
        1.0 - with <= 0.7 * (1.0 - without),
        "AUC {without} -> {with}"
    );
    // Learning moves the scores but not the calibration: rejected ham must stay rare anyway.
    for site in sites {
        let rejected = site["with_feedback"]["ham_verdicts"]["rejected"]
            .as_f64()
            .unwrap();
        assert!(
            rejected <= 0.01,
            "{}: ham rejected {rejected}",
            site["site"]
        );
    }
}
