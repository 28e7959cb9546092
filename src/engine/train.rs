//! Training: tokenize once, build a vocabulary, sum each class's features (multinomial naive
//! Bayes's sufficient statistics), and calibrate probabilities and thresholds on out-of-fold
//! scores.

use super::decision::{Calibration, ThresholdRule, Thresholds};
use super::error::EngineError;
use super::features::{Vocabulary, Weighting, count_hashes, token_hash};
use super::folds::stratified_folds;
use super::metrics::{Confusion, auc};
use super::model::{Hyperparameters, NaiveBayesCore, Score, TrainingFigures, has_website};
use super::tokenize::{TokenKind, Tokenizer, TokenizerConfig};
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
    /// How far each training source (file) is brought to the same mass per class it has, from 0
    /// (every comment weighs 1) to 1 (each source's comments of a class together weigh the same
    /// as any other source's): a comment of a source with `n` comments of its class weighs
    /// `∝ n^-source_balance`, scaled so each class keeps its total. See [`row_weights`].
    pub source_balance: f64,
    /// Calibrate with the classes at equal weight instead of the training data's share of spam
    /// ([`Calibration::fit_with_share`] at 0.5).
    pub even_prior: bool,
    /// Calibrate with spam at [`source_prior`]'s share: each source (file) with both classes
    /// counts as one site, whatever its size (an experiment of the model card, not the default).
    pub source_prior: bool,
    /// Metadata weights ([`Weighting::meta_weight`]) the internal cross-validation chooses from,
    /// by the out-of-fold log loss of the calibrated probabilities; empty: `weighting`'s own.
    /// Ignored when metadata is weighed like text.
    pub meta_weight_choices: Vec<f64>,
}

/// Default of [`TrainParams::meta_weight_choices`]. How much a fact about a comment's shape
/// (length, links, capitals, who sent it) should weigh against its words depends on the data:
/// SMS texts are told apart by their words (10-fold MCC 0.959 at 1, 0.967 at 0.5), YouTube
/// comments lean on their shape (leave-one-video-out 0.872 at 1, 0.857 at 0.5), so `train`
/// measures it on the data it is given instead of fixing one value (model card). At most 1: a
/// metadata feature then weighs no more than the only word of a one-word comment (text is
/// normalized to unit length).
pub const META_WEIGHT_CHOICES: [f64; 3] = [0.5, 0.75, 1.0];

/// Default of [`TrainParams::source_balance`], chosen by measurement (training-data/README.md).
pub const DEFAULT_SOURCE_BALANCE: f64 = 1.0;

/// Default of [`TrainParams::min_df`], chosen by measurement (training-data/README.md).
pub const DEFAULT_MIN_DF: u32 = 3;

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            tokenizer: TokenizerConfig::default(),
            weighting: Weighting::default(),
            alpha: 0.1,
            min_df: DEFAULT_MIN_DF,
            calibration_folds: 5,
            seed: 0,
            rule: ThresholdRule::default(),
            source_balance: DEFAULT_SOURCE_BALANCE,
            even_prior: false,
            source_prior: false,
            meta_weight_choices: META_WEIGHT_CHOICES.to_vec(),
        }
    }
}

impl From<&TrainParams> for Hyperparameters {
    fn from(params: &TrainParams) -> Self {
        Hyperparameters {
            tokenizer: params.tokenizer,
            weighting: params.weighting,
            alpha: params.alpha,
            min_df: params.min_df,
            calibration_folds: params.calibration_folds,
            seed: params.seed,
            source_balance: params.source_balance,
            even_prior: params.even_prior,
            source_prior: params.source_prior,
            meta_weight_choices: params.meta_weight_choices.clone(),
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
    /// The source (training file) of each comment, for [`TrainParams::source_balance`]; empty
    /// when every comment comes from one source.
    pub source: Vec<u32>,
}

impl Corpus {
    /// Tokenizes comments once; folds and refits reuse the result.
    pub fn build<'a>(
        comments: impl Iterator<Item = (CommentView<'a>, Label)>,
        config: &TokenizerConfig,
        progress: impl FnMut(usize),
    ) -> Corpus {
        Corpus::build_keeping(comments, config, progress, |_, _, _| true)
    }

    /// [`build`](Self::build) keeping only the tokens `keep` accepts, asked with the comment
    /// each comes from.
    pub fn build_keeping<'a>(
        comments: impl Iterator<Item = (CommentView<'a>, Label)>,
        config: &TokenizerConfig,
        mut progress: impl FnMut(usize),
        mut keep: impl FnMut(&CommentView<'a>, TokenKind, &str) -> bool,
    ) -> Corpus {
        let mut tokenizer = Tokenizer::default();
        let mut hashes = Vec::new();
        let mut corpus = Corpus::default();
        for (i, (comment, label)) in comments.enumerate() {
            hashes.clear();
            tokenizer.tokenize(config, comment, |kind, text| {
                if keep(&comment, kind, text) {
                    hashes.push(token_hash(kind, text))
                }
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
        let mut corpus = Corpus::build(
            files
                .iter()
                .flat_map(|f| f.rows.iter())
                .map(|r| (r.comment.view(), r.label)),
            config,
            progress,
        );
        corpus.source = files
            .iter()
            .enumerate()
            .flat_map(|(f, file)| std::iter::repeat_n(f as u32, file.rows.len()))
            .collect();
        corpus
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// The weight of each of `rows` in a fit: `1` with one source; otherwise a comment of a source
/// that has `n` comments of its class among `rows` weighs `c · n^-p` (`p` =
/// [`TrainParams::source_balance`]), with `c` per class such that the class's weights still add up
/// to its number of comments (the class prior is unchanged). With `p = 1` every source brings the
/// same mass to each class it has, so a large single-class corpus (19,632 Wikipedia talk posts,
/// all ham) cannot make its topic vocabulary the evidence for a whole class.
pub fn row_weights(corpus: &Corpus, rows: &[usize], p: f64) -> Vec<f64> {
    let Some(n) = class_counts_by_source(corpus, rows).filter(|_| p != 0.0) else {
        return vec![1.0; rows.len()];
    };
    // Per class: Σ_sources n^(1-p) is the raw mass; scale it back to Σ n.
    let mut scale = [0.0f64; 2];
    for class in 0..2 {
        let total: f64 = n.iter().map(|g| g[class]).sum();
        let raw: f64 = n
            .iter()
            .filter(|g| g[class] > 0.0)
            .map(|g| g[class].powf(1.0 - p))
            .sum();
        scale[class] = if raw > 0.0 { total / raw } else { 1.0 };
    }
    rows.iter()
        .map(|&r| {
            let class = corpus.labels[r].index();
            scale[class] * n[corpus.source[r] as usize][class].powf(-p)
        })
        .collect()
}

/// How many of `rows` each source has, per class (indexed by [`Label::index`]); `None` when the
/// corpus records no sources (one source).
fn class_counts_by_source(corpus: &Corpus, rows: &[usize]) -> Option<Vec<[f64; 2]>> {
    if corpus.source.len() != corpus.len() {
        return None;
    }
    let sources = corpus.source.iter().max().map_or(0, |&m| m as usize + 1);
    let mut n = vec![[0.0f64; 2]; sources];
    for &r in rows {
        n[corpus.source[r] as usize][corpus.labels[r].index()] += 1.0;
    }
    Some(n)
}

/// The mean share of spam over the sources of `rows` that have both classes (one-class corpora
/// say nothing of a site's mix); `None` when no source has both, or the corpus records no sources.
pub fn source_prior(corpus: &Corpus, rows: &[usize]) -> Option<f64> {
    let n = class_counts_by_source(corpus, rows)?;
    let shares: Vec<f64> = n
        .iter()
        .filter(|g| g[0] > 0.0 && g[1] > 0.0)
        .map(|g| g[Label::Spam.index()] / (g[0] + g[1]))
        .collect();
    (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64)
}

/// Fits multinomial naive Bayes on the comments `rows` of `corpus`.
pub fn fit_core(
    corpus: &Corpus,
    rows: &[usize],
    params: &TrainParams,
) -> Result<NaiveBayesCore, EngineError> {
    Ok(class_sums(corpus, rows, params)?.core(params))
}

/// Multinomial naive Bayes's sufficient statistics for some rows: their vocabulary, each class's
/// weighted number of rows and per-feature totals.
struct ClassSums {
    vocab: Vocabulary,
    class_rows: [f64; 2],
    sums: [Vec<f64>; 2],
    /// The metadata weight the totals were summed at.
    meta_weight: Option<f64>,
}

impl ClassSums {
    /// The core these statistics give, at the metadata weight they were summed at.
    fn core(self, params: &TrainParams) -> NaiveBayesCore {
        NaiveBayesCore::from_counts(
            params.tokenizer,
            Weighting {
                meta_weight: self.meta_weight,
                ..params.weighting
            },
            self.vocab,
            params.alpha,
            self.class_rows,
            self.sums,
        )
    }

    /// The core the same rows give at another metadata weight, without summing them again: a
    /// metadata feature's value is the weight itself, outside the text's normalization, so its
    /// totals scale with it and nothing else moves.
    fn core_at_meta_weight(
        &self,
        params: &TrainParams,
        meta_weight: Option<f64>,
    ) -> NaiveBayesCore {
        let mut sums = self.sums.clone();
        if let (Some(fitted), Some(wanted)) = (self.meta_weight, meta_weight)
            && fitted != wanted
            && fitted > 0.0
        {
            let scale = wanted / fitted;
            for class in &mut sums {
                for (col, total) in class.iter_mut().enumerate() {
                    if self.vocab.is_meta(col as u32) {
                        *total *= scale;
                    }
                }
            }
        }
        ClassSums {
            vocab: self.vocab.clone(),
            class_rows: self.class_rows,
            sums,
            meta_weight,
        }
        .core(params)
    }
}

/// Sums [`ClassSums`] for the comments `rows` of `corpus`.
fn class_sums(
    corpus: &Corpus,
    rows: &[usize],
    params: &TrainParams,
) -> Result<ClassSums, EngineError> {
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
    let weights = row_weights(corpus, rows, params.source_balance);
    for (&r, &weight) in rows.iter().zip(&weights) {
        let class = corpus.labels[r].index();
        class_rows[class] += weight;
        vocab.known_counts(&corpus.docs[r], &mut counts);
        vocab.weigh(&params.weighting, &counts, &mut features);
        for &(col, w) in &features {
            sums[class][col as usize] += weight * w;
        }
    }
    Ok(ClassSums {
        vocab,
        class_rows,
        sums,
        meta_weight: params.weighting.meta_weight,
    })
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
    /// The share of spam the calibrated probabilities carry.
    pub spam_share: f64,
    /// The parameters the core was fitted with, as a model file records them (the metadata
    /// weight the cross-validation chose among [`TrainParams::meta_weight_choices`]).
    pub hyperparameters: Hyperparameters,
}

/// Trains on `rows`: chooses the metadata weight and calibrates on out-of-fold log-odds from an
/// internal stratified k-fold, then fits the final model on all rows. `progress(done, total)`
/// reports fits.
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
    let data_share = is_spam.iter().filter(|&&s| s).count() as f64 / is_spam.len().max(1) as f64;
    let mut chosen = params.clone();
    let (calibration, thresholds, figures, spam_share) = if calibrate {
        // Each candidate metadata weight's out-of-fold scores, from one pass over each fold.
        let candidates: Vec<f64> = match params.weighting.meta_weight {
            Some(_) if !params.meta_weight_choices.is_empty() => params.meta_weight_choices.clone(),
            given => given.into_iter().collect(),
        };
        let fold_of = stratified_folds(&is_spam, k, params.seed);
        let mut oof = vec![vec![0.0; rows.len()]; candidates.len().max(1)];
        for fold in 0..k {
            let train_rows: Vec<usize> = (0..rows.len())
                .filter(|&i| fold_of[i] != fold)
                .map(|i| rows[i])
                .collect();
            let test_idx: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] == fold).collect();
            let test_rows: Vec<usize> = test_idx.iter().map(|&i| rows[i]).collect();
            let mut fit_params = params.clone();
            if let Some(&last) = candidates.last() {
                fit_params.weighting.meta_weight = Some(last);
            }
            let sums = class_sums(corpus, &train_rows, &fit_params)?;
            for (c, scores) in oof.iter_mut().enumerate() {
                let meta_weight = candidates.get(c).copied().or(params.weighting.meta_weight);
                let core = sums.core_at_meta_weight(params, meta_weight);
                for (&i, s) in test_idx.iter().zip(score_rows(&core, corpus, &test_rows)) {
                    scores[i] = s.log_odds;
                }
            }
            progress(fold + 1, total_fits);
        }
        let share = if params.source_prior {
            source_prior(corpus, rows)
        } else {
            params.even_prior.then_some(0.5)
        };
        let weights = row_weights(corpus, rows, params.source_balance);
        let fits: Vec<Calibration> = oof
            .iter()
            .map(|scores| Calibration::fit_weighted(scores, &is_spam, share, &weights))
            .collect();
        let best = (0..oof.len())
            .min_by(|&x, &y| {
                let loss = |c: usize| fits[c].log_loss(&oof[c], &is_spam, &weights);
                loss(x).total_cmp(&loss(y))
            })
            .unwrap_or(0);
        if let Some(&w) = candidates.get(best) {
            chosen.weighting.meta_weight = Some(w);
        }
        let oof = &oof[best];
        let calibration = fits[best];
        let probabilities: Vec<f64> = oof.iter().map(|&s| calibration.probability(s)).collect();
        let thresholds = params.rule.calibrate(&probabilities, &is_spam);
        let confusion = Confusion::at(&probabilities, &is_spam, 0.5);
        let n_ham = is_spam.iter().filter(|&&s| !s).count().max(1) as f64;
        let n_spam = is_spam.iter().filter(|&&s| s).count().max(1) as f64;
        let figures = TrainingFigures {
            folds: k,
            mcc: confusion.mcc(),
            auc: auc(oof, &is_spam),
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
        (
            calibration,
            thresholds,
            Some(figures),
            share.unwrap_or(data_share),
        )
    } else {
        // Too few comments to cross-validate: the weight given is kept, and not recorded as chosen.
        chosen.meta_weight_choices.clear();
        (
            Calibration::default(),
            Thresholds {
                hold: 0.5,
                reject: 0.99,
            },
            None,
            data_share,
        )
    };
    let core = fit_core(corpus, rows, &chosen)?;
    progress(total_fits, total_fits);
    Ok(Trained {
        core,
        calibration,
        thresholds,
        figures,
        spam_share,
        hyperparameters: (&chosen).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(groups: &[(u32, Label, usize)]) -> Corpus {
        let mut corpus = Corpus::default();
        for &(source, label, n) in groups {
            for _ in 0..n {
                corpus.docs.push(vec![(1, 1)]);
                corpus.labels.push(label);
                corpus.website.push(false);
                corpus.source.push(source);
            }
        }
        corpus
    }

    /// 400 comments of four words and two metadata tokens each; `words_tell` / `meta_tells` say
    /// whether that family's tokens follow the label or are drawn regardless of it. Tokens are
    /// rare enough (each family has 100) that a family that says nothing adds noise.
    fn family_corpus(words_tell: bool, meta_tells: bool) -> Corpus {
        use super::super::tokenize::TokenKind;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let mut corpus = Corpus::default();
        for i in 0..400 {
            let spam = i % 2 == 0;
            let mut hashes = Vec::new();
            let families = [
                (TokenKind::Word, "w", 4, words_tell),
                (TokenKind::Meta, "m", 2, meta_tells),
            ];
            for (kind, prefix, per_comment, tells) in families {
                for _ in 0..per_comment {
                    // A telling family draws from its class's 50 tokens 9 times in 10.
                    let side = if tells && next(10) < 9 {
                        u64::from(spam)
                    } else {
                        next(2)
                    };
                    hashes.push(token_hash(kind, &format!("{prefix}{side}-{}", next(50))));
                }
            }
            let mut counts = Vec::new();
            count_hashes(&mut hashes, &mut counts);
            corpus.docs.push(counts);
            corpus
                .labels
                .push(if spam { Label::Spam } else { Label::Ham });
            corpus.website.push(false);
        }
        corpus
    }

    #[test]
    fn the_metadata_weight_is_the_one_the_held_out_comments_prefer() {
        let params = TrainParams {
            min_df: 1,
            ..TrainParams::default()
        };
        let chosen = |corpus: &Corpus, params: &TrainParams| {
            let rows: Vec<usize> = (0..corpus.len()).collect();
            let trained = train(corpus, &rows, params, |_, _| {}).unwrap();
            assert_eq!(
                trained.core.weighting, trained.hyperparameters.weighting,
                "the file records the weighting the core was fitted with"
            );
            trained.core.weighting.meta_weight
        };
        // Metadata that says nothing is weighed least, metadata that tells the most.
        assert_eq!(chosen(&family_corpus(true, false), &params), Some(0.5));
        assert_eq!(chosen(&family_corpus(false, true), &params), Some(1.0));
        // A fixed weight is kept, and metadata weighed like text stays so.
        let fixed = TrainParams {
            meta_weight_choices: Vec::new(),
            weighting: Weighting {
                meta_weight: Some(0.3),
                ..params.weighting
            },
            ..params.clone()
        };
        assert_eq!(chosen(&family_corpus(false, true), &fixed), Some(0.3));
        let as_text = TrainParams {
            weighting: Weighting {
                meta_weight: None,
                ..params.weighting
            },
            ..params.clone()
        };
        assert_eq!(chosen(&family_corpus(false, true), &as_text), None);
    }

    #[test]
    fn rescaling_the_metadata_totals_fits_what_summing_at_that_weight_fits() {
        let corpus = family_corpus(true, true);
        let rows: Vec<usize> = (0..corpus.len()).collect();
        let params = TrainParams {
            min_df: 1,
            ..TrainParams::default()
        };
        let sums = class_sums(&corpus, &rows, &params).unwrap();
        for w in [0.25, 0.5, 0.75] {
            let at = TrainParams {
                weighting: Weighting {
                    meta_weight: Some(w),
                    ..params.weighting
                },
                ..params.clone()
            };
            let direct = fit_core(&corpus, &rows, &at).unwrap();
            let scaled = sums.core_at_meta_weight(&params, Some(w));
            assert_eq!(scaled.weighting, direct.weighting);
            for (a, b) in score_rows(&direct, &corpus, &rows)
                .iter()
                .zip(score_rows(&scaled, &corpus, &rows))
            {
                assert!((a.log_odds - b.log_odds).abs() < 1e-9, "{w}: {a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_source_prior_is_the_mean_share_of_the_two_class_sources() {
        // Source 0: half spam; source 1: a tenth; source 2 (spam only) and 3 (ham only) say
        // nothing of a site's mix.
        let c = corpus(&[
            (0, Label::Ham, 10),
            (0, Label::Spam, 10),
            (1, Label::Ham, 90),
            (1, Label::Spam, 10),
            (2, Label::Spam, 500),
            (3, Label::Ham, 700),
        ]);
        let rows: Vec<usize> = (0..c.len()).collect();
        let share = source_prior(&c, &rows).unwrap();
        assert!((share - 0.3).abs() < 1e-12, "{share}");
        let only_one_class: Vec<usize> =
            rows.iter().copied().filter(|&r| c.source[r] >= 2).collect();
        assert_eq!(source_prior(&c, &only_one_class), None);
    }

    #[test]
    fn sources_are_balanced_per_class_and_class_totals_kept() {
        // Source 0: 10 ham, 2 spam; source 1: 90 ham; source 2: 6 spam.
        let c = corpus(&[
            (0, Label::Ham, 10),
            (0, Label::Spam, 2),
            (1, Label::Ham, 90),
            (2, Label::Spam, 6),
        ]);
        let rows: Vec<usize> = (0..c.len()).collect();
        let mass = |w: &[f64], source: u32, label: Label| -> f64 {
            rows.iter()
                .filter(|&&r| c.source[r] == source && c.labels[r] == label)
                .map(|&r| w[r])
                .sum()
        };
        assert_eq!(row_weights(&c, &rows, 0.0), vec![1.0; c.len()]);
        let full = row_weights(&c, &rows, 1.0);
        assert!((mass(&full, 0, Label::Ham) - 50.0).abs() < 1e-9);
        assert!((mass(&full, 1, Label::Ham) - 50.0).abs() < 1e-9);
        assert!((mass(&full, 0, Label::Spam) - 4.0).abs() < 1e-9);
        assert!((mass(&full, 2, Label::Spam) - 4.0).abs() < 1e-9);
        let half = row_weights(&c, &rows, 0.5);
        let ham = mass(&half, 0, Label::Ham) + mass(&half, 1, Label::Ham);
        assert!((ham - 100.0).abs() < 1e-9, "class total kept: {ham}");
        // sqrt: masses in the ratio √10 : √90 = 1 : 3.
        assert!((mass(&half, 1, Label::Ham) / mass(&half, 0, Label::Ham) - 3.0).abs() < 1e-9);
        // One source: nothing to balance.
        let one = corpus(&[(0, Label::Ham, 5), (0, Label::Spam, 3)]);
        let all: Vec<usize> = (0..one.len()).collect();
        for w in row_weights(&one, &all, 1.0) {
            assert!((w - 1.0).abs() < 1e-12);
        }
    }
}
