//! Training: tokenize once, build a vocabulary, fit linfa-bayes `MultinomialNb` over dense chunks
//! of bounded size, export its parameters, and calibrate probabilities and thresholds on
//! out-of-fold scores.

use super::decision::{Calibration, ThresholdRule, Thresholds};
use super::error::EngineError;
use super::features::{Vocabulary, Weighting, count_hashes, token_hash};
use super::folds::stratified_folds;
use super::metrics::{Confusion, auc};
use super::model::{NaiveBayesCore, TrainingFigures};
use super::tokenize::{Tokenizer, TokenizerConfig};
use crate::data::{CommentView, Label, LoadedFile};
use linfa::DatasetView;
use linfa::ParamGuard;
use linfa::traits::FitWith;
use linfa_bayes::MultinomialNb;
use ndarray::{Array1, Array2};
use serde::Deserialize;
use std::collections::HashMap;

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    pub tokenizer: TokenizerConfig,
    pub weighting: Weighting,
    pub alpha: f64,
    pub min_df: u32,
    /// Folds of the internal cross-validation used for calibration (0 or 1 disables it).
    pub calibration_folds: usize,
    pub seed: u64,
    pub rule: ThresholdRule,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            tokenizer: TokenizerConfig::default(),
            weighting: Weighting::default(),
            alpha: 0.1,
            min_df: 2,
            calibration_folds: 5,
            seed: 0,
            rule: ThresholdRule::default(),
        }
    }
}

/// Tokenized training comments: per comment, sorted `(token hash, count)` pairs and the label.
#[derive(Debug, Default, Clone)]
pub struct Corpus {
    pub docs: Vec<Vec<(u64, u32)>>,
    pub labels: Vec<Label>,
}

impl Corpus {
    /// Tokenizes comments once; folds and refits reuse the result.
    pub fn build<'a>(
        comments: impl Iterator<Item = (CommentView<'a>, Label)>,
        config: &TokenizerConfig,
        mut progress: impl FnMut(usize),
    ) -> Corpus {
        let mut tokenizer = Tokenizer::default();
        let mut hashes = Vec::new();
        let mut corpus = Corpus::default();
        for (i, (comment, label)) in comments.enumerate() {
            hashes.clear();
            tokenizer.tokenize(config, comment, |kind, text| {
                hashes.push(token_hash(kind, text))
            });
            let mut counts = Vec::new();
            count_hashes(&mut hashes, &mut counts);
            corpus.docs.push(counts);
            corpus.labels.push(label);
            progress(i + 1);
        }
        corpus
    }

    /// Tokenizes every row of `files`, in order.
    pub fn from_files(
        files: &[LoadedFile],
        config: &TokenizerConfig,
        progress: impl FnMut(usize),
    ) -> Corpus {
        Corpus::build(
            files
                .iter()
                .flat_map(|f| f.rows.iter())
                .map(|r| (r.comment.view(), r.label)),
            config,
            progress,
        )
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// The exported shape of linfa-bayes's `MultinomialNb` (its fields are private; its `serde`
/// feature is the supported way to read them).
#[derive(Deserialize)]
struct ExportedNb {
    class_info: HashMap<usize, ExportedClass>,
}

#[derive(Deserialize)]
struct ExportedClass {
    feature_log_prob: Array1<f64>,
}

/// Fits naive Bayes on the comments `rows` of `corpus` with linfa-bayes.
pub fn fit_core(
    corpus: &Corpus,
    rows: &[usize],
    params: &TrainParams,
) -> Result<NaiveBayesCore, EngineError> {
    for label in [Label::Ham, Label::Spam] {
        if !rows.iter().any(|&r| corpus.labels[r] == label) {
            return Err(EngineError::Training(format!(
                "the training data has no {} examples; both spam and ham are needed",
                if label.is_spam() { "spam" } else { "ham" }
            )));
        }
    }
    let vocab = Vocabulary::from_documents(
        rows.iter().map(|&r| corpus.docs[r].as_slice()),
        params.min_df,
        params.weighting.idf,
    );
    if vocab.is_empty() {
        return Err(EngineError::Training(format!(
            "no token occurs in at least {} comments (--min-df); add data or lower it",
            params.min_df
        )));
    }
    let nb_params = MultinomialNb::<f64, usize>::params()
        .alpha(params.alpha)
        .check()
        .map_err(|e| EngineError::Training(format!("invalid --alpha {}: {e}", params.alpha)))?;

    // Multinomial naive Bayes learns from sufficient statistics: linfa-bayes's `fit_with` adds
    // each class's rows into a per-feature total (`feature_count += Σ rows`), and the smoothed
    // log-probabilities depend on those totals and alpha alone (linfa-bayes 0.8.1, `lib.rs`,
    // `update_with_smoothing`). So the weighted sparse rows are summed here, streaming, into one
    // dense row per class, and linfa fits on those two rows. Memory is two rows of the
    // vocabulary whatever the corpus size. Handing linfa the dense rows themselves, 32 MiB at a
    // time, moved 1.2 GB per fit: `replyguard train` took 3.2 s then, 0.40 s now (README). The
    // class priors linfa would take from row counts (`class_count / total`) are computed from the
    // true counts below, since linfa sees one row per class. `tests/linfa_equivalence.rs` checks
    // the result against one plain linfa fit on the full dense matrix.
    let n_features = vocab.len();
    let mut sums = Array2::<f64>::zeros((2, n_features));
    let mut class_rows = [0usize; 2];
    let mut counts = Vec::new();
    let mut features = Vec::new();
    for &r in rows {
        let class = corpus.labels[r].index();
        class_rows[class] += 1;
        vocab.known_counts(&corpus.docs[r], &mut counts);
        vocab.weigh(&params.weighting, &counts, &mut features);
        let mut row = sums.row_mut(class);
        for &(col, w) in &features {
            row[col as usize] += w;
        }
    }
    let y = Array1::from_iter([Label::Ham.index(), Label::Spam.index()]);
    let dataset = DatasetView::new(sums.view(), y.view());
    // linfa-bayes 0.8.1 leaves a `dbg!` in MultinomialNb::fit_with (removed upstream after the
    // release) that pretty-prints the whole fitted arrays to stderr on every call. Point file
    // descriptor 2 at /dev/null for the duration of the call only (the `gag` crate); if that is
    // impossible (another gag active), the output is cosmetic, so go on.
    let silence = gag::Gag::stderr().ok();
    let fitted = nb_params.fit_with(None, &dataset);
    drop(silence);
    let model = fitted?;
    let exported: ExportedNb = serde_json::to_value(&model)
        .and_then(serde_json::from_value)
        .map_err(|e| EngineError::Training(format!("cannot export linfa-bayes parameters: {e}")))?;
    let class = |label: Label| {
        exported.class_info.get(&label.index()).ok_or_else(|| {
            EngineError::Training("linfa-bayes returned no parameters for a class".into())
        })
    };
    let (ham, spam) = (class(Label::Ham)?, class(Label::Spam)?);
    let total = (class_rows[0] + class_rows[1]) as f64;
    let log_prior = |label: Label| (class_rows[label.index()] as f64 / total).ln();
    Ok(NaiveBayesCore::new(
        params.tokenizer,
        params.weighting,
        vocab,
        [log_prior(Label::Ham), log_prior(Label::Spam)],
        [
            ham.feature_log_prob.to_vec(),
            spam.feature_log_prob.to_vec(),
        ],
    ))
}

/// Scores already-tokenized comments with a fitted core.
pub fn score_rows(core: &NaiveBayesCore, corpus: &Corpus, rows: &[usize]) -> Vec<f64> {
    let mut counts = Vec::new();
    let mut features = Vec::new();
    rows.iter()
        .map(|&r| {
            core.vocab.known_counts(&corpus.docs[r], &mut counts);
            core.vocab.weigh(&core.weighting, &counts, &mut features);
            core.log_odds(&features)
        })
        .collect()
}

/// Result of [`train`].
#[derive(Debug, Clone)]
pub struct Trained {
    pub core: NaiveBayesCore,
    pub calibration: Calibration,
    pub thresholds: Thresholds,
    pub figures: Option<TrainingFigures>,
}

/// Trains on `rows`: calibrates on out-of-fold log-odds from an internal stratified k-fold, then
/// fits the final model on all rows. `progress(done, total)` reports fits.
pub fn train(
    corpus: &Corpus,
    rows: &[usize],
    params: &TrainParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Trained, EngineError> {
    let is_spam: Vec<bool> = rows.iter().map(|&r| corpus.labels[r].is_spam()).collect();
    let k = params.calibration_folds;
    let smallest_class = is_spam
        .iter()
        .filter(|&&s| s)
        .count()
        .min(is_spam.iter().filter(|&&s| !s).count());
    let calibrate = k >= 2 && smallest_class >= k;
    let total_fits = if calibrate { k + 1 } else { 1 };
    let (calibration, thresholds, figures) = if calibrate {
        let fold_of = stratified_folds(&is_spam, k, params.seed);
        let mut oof = vec![0.0; rows.len()];
        for fold in 0..k {
            let train_rows: Vec<usize> = (0..rows.len())
                .filter(|&i| fold_of[i] != fold)
                .map(|i| rows[i])
                .collect();
            let test_idx: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] == fold).collect();
            let core = fit_core(corpus, &train_rows, params)?;
            let test_rows: Vec<usize> = test_idx.iter().map(|&i| rows[i]).collect();
            for (&i, s) in test_idx.iter().zip(score_rows(&core, corpus, &test_rows)) {
                oof[i] = s;
            }
            progress(fold + 1, total_fits);
        }
        let calibration = Calibration::fit(&oof, &is_spam);
        let probabilities: Vec<f64> = oof.iter().map(|&s| calibration.probability(s)).collect();
        let thresholds = params.rule.calibrate(&probabilities, &is_spam);
        let confusion = Confusion::at(&probabilities, &is_spam, 0.5);
        let n_ham = is_spam.iter().filter(|&&s| !s).count().max(1) as f64;
        let n_spam = is_spam.iter().filter(|&&s| s).count().max(1) as f64;
        let figures = TrainingFigures {
            folds: k,
            mcc: confusion.mcc(),
            auc: auc(&oof, &is_spam),
            f1: confusion.f1(),
            ham_rejected: probabilities
                .iter()
                .zip(&is_spam)
                .filter(|&(&p, &s)| !s && p >= thresholds.reject)
                .count() as f64
                / n_ham,
            spam_held_or_rejected: probabilities
                .iter()
                .zip(&is_spam)
                .filter(|&(&p, &s)| s && p >= thresholds.hold)
                .count() as f64
                / n_spam,
        };
        (calibration, thresholds, Some(figures))
    } else {
        (
            Calibration::default(),
            Thresholds {
                hold: 0.5,
                reject: 0.99,
            },
            None,
        )
    };
    let core = fit_core(corpus, rows, params)?;
    progress(total_fits, total_fits);
    Ok(Trained {
        core,
        calibration,
        thresholds,
        figures,
    })
}
