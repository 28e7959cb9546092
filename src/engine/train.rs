//! Training: tokenize once, build a vocabulary, sum each class's features (multinomial naive
//! Bayes's sufficient statistics), and calibrate probabilities and thresholds on out-of-fold
//! scores.

use super::decision::{Calibration, ThresholdRule, Thresholds};
use super::error::EngineError;
use super::features::{Vocabulary, Weighting, count_hashes, token_hash};
use super::folds::stratified_folds;
use super::metrics::{Confusion, auc};
use super::model::{NaiveBayesCore, Score, TrainingFigures, has_website};
use super::tokenize::{Tokenizer, TokenizerConfig};
use crate::data::{CommentView, Label, LoadedFile};

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

impl From<&TrainParams> for super::model::Hyperparameters {
    fn from(params: &TrainParams) -> Self {
        super::model::Hyperparameters {
            tokenizer: params.tokenizer,
            weighting: params.weighting,
            alpha: params.alpha,
            min_df: params.min_df,
            calibration_folds: params.calibration_folds,
            seed: params.seed,
        }
    }
}

/// Tokenized training comments: per comment, sorted `(token hash, count)` pairs and the label.
#[derive(Debug, Default, Clone)]
pub struct Corpus {
    pub docs: Vec<Vec<(u64, u32)>>,
    pub labels: Vec<Label>,
    /// Whether each comment's Website field is filled in (see `Weighting::website_log_odds`).
    pub website: Vec<bool>,
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
            corpus.website.push(has_website(comment));
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

/// Fits multinomial naive Bayes on the comments `rows` of `corpus`.
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
    if !(params.alpha.is_finite() && params.alpha > 0.0) {
        return Err(EngineError::Training(format!(
            "invalid --alpha {}: smoothing must be a positive number",
            params.alpha
        )));
    }

    // Multinomial naive Bayes learns from sufficient statistics: each class's per-feature total
    // of the weighted rows, and its number of rows. They are summed here, streaming, from the
    // sparse rows (memory: two rows of the vocabulary, whatever the corpus size), and the
    // log-probabilities follow with linfa-bayes's formula (`NaiveBayesCore::from_counts`).
    // linfa-bayes 0.8.1 itself is not called here: its `MultinomialNb::fit_with` leaves a `dbg!`
    // that writes every fitted array to stderr (32 MB per `replyguard train` on the shipped data,
    // measured when commit b1a1172 removed the `gag` redirect), and there is no way around it
    // short of silencing the process's stderr.
    // `tests/linfa_equivalence.rs` proves the result equal to linfa-bayes's own fit on the full
    // dense matrix, to 1e-9, for batch training and for learning one example at a time.
    let n_features = vocab.len();
    let mut sums = [vec![0.0; n_features], vec![0.0; n_features]];
    let mut class_rows = [0.0f64; 2];
    let mut counts = Vec::new();
    let mut features = Vec::new();
    for &r in rows {
        let class = corpus.labels[r].index();
        class_rows[class] += 1.0;
        vocab.known_counts(&corpus.docs[r], &mut counts);
        vocab.weigh(&params.weighting, &counts, &mut features);
        for &(col, w) in &features {
            sums[class][col as usize] += w;
        }
    }
    Ok(NaiveBayesCore::from_counts(
        params.tokenizer,
        params.weighting,
        vocab,
        params.alpha,
        class_rows,
        sums,
    ))
}

/// Scores already-tokenized comments with a fitted core: log-odds and their sender part.
pub fn score_rows(core: &NaiveBayesCore, corpus: &Corpus, rows: &[usize]) -> Vec<Score> {
    let mut counts = Vec::new();
    let mut features = Vec::new();
    rows.iter()
        .map(|&r| {
            core.vocab.known_counts(&corpus.docs[r], &mut counts);
            core.vocab.weigh(&core.weighting, &counts, &mut features);
            let score = Score {
                log_odds: core.log_odds(&features),
                sender: core.sender_part(&features),
            };
            core.with_website(score, corpus.website.get(r).copied().unwrap_or(false))
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
                oof[i] = s.log_odds;
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
