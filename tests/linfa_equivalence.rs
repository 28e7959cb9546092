//! The sparse scorer must compute exactly what linfa-bayes computes: fit `MultinomialNb` once on the
//! whole dense matrix with linfa, and compare its `joint_log_likelihood` and `predict_log_proba`
//! with replyguard's chunked fit and sparse scoring, on training comments and on comments full of
//! tokens the model has never seen.

use crate::common;

use linfa::DatasetView;
use linfa::traits::Fit;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::{Array1, Array2};
use replyguard::data::{Comment, CommentView, Label};
use replyguard::engine::Scratch;
use replyguard::engine::features::Vocabulary;
use replyguard::engine::model::{Example, has_website};
use replyguard::engine::train::{Corpus, TrainParams, fit_core, score_rows};

fn assert_close(a: f64, b: f64, what: &str) {
    let tol = 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

/// The reference: every row of `corpus` weighed over `vocab` into one dense matrix, and one
/// linfa-bayes fit on it.
fn linfa_fit(
    corpus: &Corpus,
    vocab: &Vocabulary,
    params: &TrainParams,
) -> (Array2<f64>, MultinomialNb<f64, usize>) {
    let mut x = Array2::<f64>::zeros((corpus.len(), vocab.len()));
    let (mut counts, mut features) = (Vec::new(), Vec::new());
    for (i, doc) in corpus.docs.iter().enumerate() {
        vocab.known_counts(doc, &mut counts);
        vocab.weigh(&params.weighting, &counts, &mut features);
        for &(col, w) in &features {
            x[[i, col as usize]] = w;
        }
    }
    let y: Array1<usize> = corpus.labels.iter().map(|l| l.index()).collect();
    let reference = MultinomialNb::params()
        .alpha(params.alpha)
        .fit(&DatasetView::new(x.view(), y.view()))
        .unwrap();
    (x, reference)
}

/// The shared spam and ham fixture texts, labeled.
fn labeled_fixtures() -> impl Iterator<Item = (Comment, Label)> {
    let spam = common::SPAM
        .iter()
        .map(|t| (Comment::from_text(*t), Label::Spam));
    let ham = common::HAM
        .iter()
        .map(|t| (Comment::from_text(*t), Label::Ham));
    spam.chain(ham)
}

#[test]
fn sparse_scorer_equals_linfa_bayes() {
    let comments: Vec<(Comment, Label)> = labeled_fixtures()
        .chain(common::HAM.iter().map(|t| {
            let mut c = Comment::from_text(format!("{t} and more"));
            c.comment_author_url = Some("http://blog.example.org".into());
            (c, Label::Ham)
        }))
        .collect();
    let params = TrainParams {
        min_df: 1,
        alpha: 0.5,
        ..TrainParams::default()
    };
    let corpus = Corpus::build(
        comments.iter().map(|(c, l)| (c.view(), *l)),
        &params.tokenizer,
        |_| {},
    );
    let rows: Vec<usize> = (0..corpus.len()).collect();
    let core = fit_core(&corpus, &rows, &params).unwrap();

    // Reference: the same vocabulary and weighting, one dense matrix, one linfa fit.
    let vocab = Vocabulary::from_documents(
        corpus.docs.iter().map(Vec::as_slice),
        params.min_df,
        params.weighting.idf,
    );
    assert_eq!(vocab, core.vocab);
    let (_, reference) = linfa_fit(&corpus, &vocab, &params);

    // Score training comments and unseen ones (unknown words, hosts, numbers, metadata).
    let mut probes: Vec<Comment> = comments.iter().map(|(c, _)| c.clone()).collect();
    probes.push(Comment::from_text(
        "zyxxy quorble unseenword 1234567 www.never-seen.example",
    ));
    probes.push(Comment::from_text(""));
    probes.push(Comment {
        comment_content: "subscribe zzzunknown channel".into(),
        comment_author: Some("Nobody Knownbefore".into()),
        comment_author_email: Some("x@nowhere.example".into()),
        ..Comment::default()
    });
    let mut scratch = Scratch::default();
    let mut dense = Array2::<f64>::zeros((probes.len(), vocab.len()));
    let mut sparse = Vec::new();
    for (i, probe) in probes.iter().enumerate() {
        let view: CommentView = probe.view();
        let v = core.vectorize(view, &mut scratch).to_vec();
        for &(col, w) in &v {
            dense[[i, col as usize]] = w;
        }
        sparse.push(v);
    }
    let jll = reference.joint_log_likelihood(dense.view());
    let (log_proba, classes) = reference.predict_log_proba(dense.view());
    for (i, v) in sparse.iter().enumerate() {
        let ours = core.joint_log_likelihood(v);
        assert_close(ours[0], jll[&0][i], "ham joint log-likelihood");
        assert_close(ours[1], jll[&1][i], "spam joint log-likelihood");
        // log P(class | x) = jll − logsumexp(jll)
        let m = ours[0].max(ours[1]);
        let lse = m + ((ours[0] - m).exp() + (ours[1] - m).exp()).ln();
        for (k, class) in classes.iter().enumerate() {
            assert_close(ours[**class] - lse, log_proba[[i, k]], "log posterior");
        }
        assert_close(core.log_odds(v), jll[&1][i] - jll[&0][i], "log-odds");
        // The scoring path verdicts take (no feature vector under binary TF) agrees too, plus
        // the Website prior, which is not a learned feature.
        let scored = core.score(probes[i].view(), &mut scratch);
        let prior = if has_website(probes[i].view()) {
            core.weighting.website_log_odds
        } else {
            0.0
        };
        assert_close(scored, jll[&1][i] - jll[&0][i] + prior, "score");
    }
}

/// Learning while serving adds one example's counts to the model; the result must be what
/// linfa-bayes fits on the old examples plus the new ones, over the grown vocabulary. Also: a
/// taken-back example leaves the model as it was, and the memory bound evicts the rarest tokens.
#[test]
fn learning_one_example_at_a_time_equals_a_linfa_bayes_fit_on_all_of_them() {
    let first: Vec<(Comment, Label)> = labeled_fixtures().collect();
    // New examples bring tokens the first fit never saw.
    let later: Vec<(Comment, Label)> = vec![
        (
            Comment {
                comment_content: "I like the valuable info you provide, I'll bookmark your blog"
                    .into(),
                comment_author: Some("cheap airline flights".into()),
                comment_author_url: Some("http://flights.example.com/cheap-flights".into()),
                ..Comment::default()
            },
            Label::Spam,
        ),
        (
            Comment::from_text("Which data centres does the deal use? zyxxyquorble"),
            Label::Ham,
        ),
        (
            Comment::from_text("Great tutorial, thanks! Bookmarked."),
            Label::Ham,
        ),
    ];
    let params = TrainParams {
        min_df: 1,
        alpha: 0.5,
        ..TrainParams::default()
    };
    let all: Vec<&(Comment, Label)> = first.iter().chain(&later).collect();
    let corpus = Corpus::build(
        all.iter().map(|(c, l)| (c.view(), *l)),
        &params.tokenizer,
        |_| {},
    );
    let first_rows: Vec<usize> = (0..first.len()).collect();
    let mut core = fit_core(&corpus, &first_rows, &params).unwrap();
    for r in first.len()..corpus.len() {
        let example = Example {
            tokens: corpus.docs[r].clone(),
            label: corpus.labels[r],
            weight: 1.0,
            website: false,
            arrival: None,
        };
        core = core.learn(std::slice::from_ref(&example), usize::MAX);
    }

    // Reference: linfa-bayes on the dense matrix of every example over the union vocabulary.
    let vocab = Vocabulary::from_documents(corpus.docs.iter().map(Vec::as_slice), 1, false);
    assert_eq!(vocab.sorted_hashes(), core.vocab.sorted_hashes());
    let (x, reference) = linfa_fit(&corpus, &vocab, &params);
    let jll = reference.joint_log_likelihood(x.view());
    let mut scratch = Scratch::default();
    for (i, (comment, _)) in all.iter().enumerate() {
        let v = core.vectorize(comment.view(), &mut scratch).to_vec();
        let ours = core.joint_log_likelihood(&v);
        assert_close(
            ours[0],
            jll[&0][i],
            "ham joint log-likelihood after learning",
        );
        assert_close(
            ours[1],
            jll[&1][i],
            "spam joint log-likelihood after learning",
        );
    }

    // Taking the last example back restores the model before it (to rounding).
    let last = corpus.len() - 1;
    let back = core.learn(
        &[Example {
            tokens: corpus.docs[last].clone(),
            label: corpus.labels[last],
            weight: -1.0,
            website: false,
            arrival: None,
        }],
        usize::MAX,
    );
    let before = {
        let mut c = fit_core(&corpus, &first_rows, &params).unwrap();
        for r in first.len()..last {
            c = c.learn(
                &[Example {
                    tokens: corpus.docs[r].clone(),
                    label: corpus.labels[r],
                    weight: 1.0,
                    website: false,
                    arrival: None,
                }],
                usize::MAX,
            );
        }
        c
    };
    assert_close(back.class_docs[0], before.class_docs[0], "ham documents");
    for (col, &h) in before.vocab.sorted_hashes().iter().enumerate() {
        let b = back.vocab.column(h).expect("no column lost");
        for class in 0..2 {
            assert_close(
                back.feature_count(class, b),
                before.feature_count(class, col as u32),
                "count after taking an example back",
            );
        }
    }

    // Held out (leave-one-out) equals scoring after taking the example back, for every example
    // and either label, and a weight of 0 is the plain score.
    for r in 0..corpus.len() {
        let website = corpus.website[r];
        let example = Example {
            tokens: corpus.docs[r].clone(),
            label: corpus.labels[r],
            weight: 3.0,
            website,
            arrival: None,
        };
        let taught = core.learn(std::slice::from_ref(&example), usize::MAX);
        let held_out = taught.held_out_score(&example, example.weight);
        let taken_back = taught.learn(
            &[Example {
                weight: -3.0,
                ..example.clone()
            }],
            usize::MAX,
        );
        let reference = score_rows(&taken_back, &corpus, &[r])[0];
        assert_close(held_out.log_odds, reference.log_odds, "held-out log-odds");
        assert_close(held_out.sender, reference.sender, "held-out sender part");
        let plain = core.held_out_score(&example, 0.0);
        let scored = score_rows(&core, &corpus, &[r])[0];
        assert_close(
            plain.log_odds,
            scored.log_odds,
            "weight 0 is the plain score",
        );
    }

    // The memory bound keeps the most frequent columns.
    let bounded = core.learn(&[], 10);
    assert_eq!(bounded.vocab.len(), 10);
    let total = |c: &replyguard::engine::model::NaiveBayesCore, col: usize| {
        c.feature_count(0, col as u32) + c.feature_count(1, col as u32)
    };
    let kept_min = (0..10)
        .map(|col| total(&bounded, col))
        .fold(f64::INFINITY, f64::min);
    let dropped_max = core
        .vocab
        .sorted_hashes()
        .iter()
        .enumerate()
        .filter(|(_, h)| bounded.vocab.column(**h).is_none())
        .map(|(col, _)| total(&core, col))
        .fold(0.0, f64::max);
    assert!(kept_min >= dropped_max, "{kept_min} < {dropped_max}");
}
