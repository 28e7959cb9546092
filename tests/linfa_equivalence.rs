//! The sparse scorer must compute exactly what linfa-bayes computes: fit `MultinomialNb` once on the
//! whole dense matrix with linfa, and compare its `joint_log_likelihood` and `predict_log_proba`
//! with replyguard's chunked fit and sparse scoring, on training comments and on comments full of
//! tokens the model has never seen.

mod common;

use linfa::DatasetView;
use linfa::traits::Fit;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::{Array1, Array2};
use replyguard::data::{Comment, CommentView, Label};
use replyguard::engine::Scratch;
use replyguard::engine::features::Vocabulary;
use replyguard::engine::train::{Corpus, TrainParams, fit_core};

fn assert_close(a: f64, b: f64, what: &str) {
    let tol = 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn sparse_scorer_equals_linfa_bayes() {
    let comments: Vec<(Comment, Label)> = common::SPAM
        .iter()
        .map(|t| (Comment::from_text(*t), Label::Spam))
        .chain(
            common::HAM
                .iter()
                .map(|t| (Comment::from_text(*t), Label::Ham)),
        )
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
        // The scoring path verdicts take (no feature vector under binary TF) agrees too.
        let scored = core.score(probes[i].view(), &mut scratch);
        assert_close(scored, jll[&1][i] - jll[&0][i], "score");
    }
}
