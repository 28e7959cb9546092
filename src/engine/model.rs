//! The trained model and its sparse scorer. Scoring walks only the tokens present in a comment:
//! `log P(spam|x) − log P(ham|x) = log π₁ − log π₀ + Σᵢ xᵢ (log θ₁ᵢ − log θ₀ᵢ)`, the same joint
//! log-likelihood linfa-bayes computes with a dense dot product.

use super::decision::{Calibration, Thresholds, Verdict};
use super::features::{TfTransform, Vocabulary, Weighting, token_hash};
use super::tokenize::{TokenKind, Tokenizer, TokenizerConfig};
use crate::data::CommentView;
use serde::{Deserialize, Serialize};

/// Fitted naive Bayes parameters over a vocabulary: what linfa-bayes produces, in sparse-friendly
/// form.
#[derive(Debug, Clone, PartialEq)]
pub struct NaiveBayesCore {
    pub tokenizer: TokenizerConfig,
    pub weighting: Weighting,
    pub vocab: Vocabulary,
    /// `ln P(class)` for ham (0) and spam (1).
    pub log_prior: [f64; 2],
    /// `ln P(feature | class)` per column, for ham (0) and spam (1).
    pub feature_log_prob: [Vec<f64>; 2],
    /// `feature_log_prob[1] − feature_log_prob[0]`, precomputed for scoring.
    llr: Vec<f64>,
}

impl NaiveBayesCore {
    pub fn new(
        tokenizer: TokenizerConfig,
        weighting: Weighting,
        vocab: Vocabulary,
        log_prior: [f64; 2],
        feature_log_prob: [Vec<f64>; 2],
    ) -> Self {
        let llr = feature_log_prob[1]
            .iter()
            .zip(&feature_log_prob[0])
            .map(|(s, h)| s - h)
            .collect();
        NaiveBayesCore {
            tokenizer,
            weighting,
            vocab,
            log_prior,
            feature_log_prob,
            llr,
        }
    }

    /// Joint log-likelihood `[ham, spam]` of a weighted sparse vector.
    pub fn joint_log_likelihood(&self, features: &[(u32, f64)]) -> [f64; 2] {
        let mut jll = self.log_prior;
        for &(col, w) in features {
            jll[0] += w * self.feature_log_prob[0][col as usize];
            jll[1] += w * self.feature_log_prob[1][col as usize];
        }
        jll
    }

    /// Log-odds of spam for a weighted sparse vector.
    #[inline]
    pub fn log_odds(&self, features: &[(u32, f64)]) -> f64 {
        let mut s = self.log_prior[1] - self.log_prior[0];
        for &(col, w) in features {
            s += w * self.llr[col as usize];
        }
        s
    }

    /// Per-column log-likelihood ratio.
    pub fn llr(&self, col: u32) -> f64 {
        self.llr[col as usize]
    }

    /// Weighted sparse vector of a comment, in `scratch.features`.
    pub fn vectorize<'s>(
        &self,
        comment: CommentView<'_>,
        scratch: &'s mut Scratch,
    ) -> &'s [(u32, f64)] {
        self.vectorize_inner(comment, scratch, false)
    }

    /// Like [`vectorize`](Self::vectorize); with `record_names` it also keeps each known token's
    /// family and text (in `scratch.names` / `scratch.arena`) so clues can be named afterwards.
    fn vectorize_inner<'s>(
        &self,
        comment: CommentView<'_>,
        scratch: &'s mut Scratch,
        record_names: bool,
    ) -> &'s [(u32, f64)] {
        let Scratch {
            tokenizer,
            columns,
            counts,
            features,
            names,
            arena,
            ..
        } = scratch;
        columns.clear();
        names.clear();
        arena.clear();
        let vocab = &self.vocab;
        tokenizer.tokenize(&self.tokenizer, comment, |kind, text| {
            if let Some(col) = vocab.column(token_hash(kind, text)) {
                columns.push(col);
                if record_names {
                    let start = arena.len();
                    arena.push_str(text);
                    names.push(TokenName {
                        col,
                        kind,
                        start,
                        end: arena.len(),
                    });
                }
            }
        });
        columns.sort_unstable();
        counts.clear();
        for &col in columns.iter() {
            match counts.last_mut() {
                Some((last, n)) if *last == col => *n += 1,
                _ => counts.push((col, 1)),
            }
        }
        self.vocab.weigh(&self.weighting, counts, features);
        features
    }
}

/// Where the text of a known token is kept while explaining a decision.
#[derive(Debug, Clone, Copy)]
struct TokenName {
    col: u32,
    kind: TokenKind,
    start: usize,
    end: usize,
}

/// Reusable per-thread buffers for scoring; keep one per worker and pass it to every call.
#[derive(Debug, Default)]
pub struct Scratch {
    tokenizer: Tokenizer,
    columns: Vec<u32>,
    counts: Vec<(u32, u32)>,
    features: Vec<(u32, f64)>,
    names: Vec<TokenName>,
    arena: String,
    top: Vec<(u32, f64)>,
}

/// Score and verdict of one comment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Classification {
    /// Calibrated probability that the comment is spam.
    pub spam_probability: f64,
    /// Raw naive Bayes log-odds (spam vs ham), before calibration.
    pub log_odds: f64,
    pub verdict: Verdict,
}

/// One token's share of a decision: its contribution to the log-odds (positive = spammy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clue {
    pub token: String,
    /// Serialized rounded to 4 decimals: it explains, it is not an exact figure.
    #[serde(serialize_with = "serialize_rounded")]
    pub weight: f64,
}

fn serialize_rounded<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((x * 1e4).round() / 1e4)
}

/// A file the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingFile {
    pub path: String,
    pub sha256: String,
    pub format: String,
    pub ham: usize,
    pub spam: usize,
    pub skipped: usize,
}

/// Hyper-parameters the model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    pub tokenizer: TokenizerConfig,
    pub weighting: Weighting,
    /// Additive (Lidstone) smoothing of linfa-bayes `MultinomialNb`.
    pub alpha: f64,
    /// Tokens seen in fewer training comments are dropped.
    pub min_df: u32,
    /// Folds of the internal cross-validation that calibrates probabilities and thresholds.
    pub calibration_folds: usize,
    pub seed: u64,
}

/// Figures measured by the internal cross-validation during training (out-of-fold scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingFigures {
    pub folds: usize,
    pub mcc: f64,
    pub auc: f64,
    pub f1: f64,
    /// Share of ham rejected at the calibrated thresholds.
    pub ham_rejected: f64,
    /// Share of spam held or rejected at the calibrated thresholds.
    pub spam_held_or_rejected: f64,
}

/// Everything recorded about how a model was made; stored as JSON in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub replyguard_version: String,
    pub created_at: String,
    pub training_files: Vec<TrainingFile>,
    pub ham: usize,
    pub spam: usize,
    pub hyperparameters: Hyperparameters,
    pub vocabulary_size: usize,
    pub thresholds: Thresholds,
    pub threshold_rule: String,
    pub calibration: Calibration,
    pub cross_validation: Option<TrainingFigures>,
}

/// A trained model ready to score comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub meta: ModelMeta,
    pub core: NaiveBayesCore,
}

impl Model {
    /// Thresholds currently in force.
    pub fn thresholds(&self) -> Thresholds {
        self.meta.thresholds
    }

    /// Replaces the thresholds (e.g. from command-line overrides).
    pub fn set_thresholds(&mut self, thresholds: Thresholds) -> Result<(), String> {
        self.meta.thresholds = thresholds.validate()?;
        Ok(())
    }

    /// Scores a comment.
    #[inline]
    pub fn classify(&self, comment: CommentView<'_>, scratch: &mut Scratch) -> Classification {
        let features = self.core.vectorize(comment, scratch);
        self.decide(self.core.log_odds(features))
    }

    fn decide(&self, log_odds: f64) -> Classification {
        let spam_probability = self.meta.calibration.probability(log_odds);
        Classification {
            spam_probability,
            log_odds,
            verdict: self.meta.thresholds.verdict(spam_probability),
        }
    }

    /// Scores a comment and returns the `top` tokens that moved the decision most, strongest first.
    pub fn explain(
        &self,
        comment: CommentView<'_>,
        scratch: &mut Scratch,
        top: usize,
    ) -> (Classification, Vec<Clue>) {
        let mut clues = Vec::with_capacity(top);
        let classification = self.explain_into(comment, scratch, top, &mut clues);
        (classification, clues)
    }

    /// [`explain`](Self::explain) into a caller-owned list, reusing its strings: for streams.
    pub fn explain_into(
        &self,
        comment: CommentView<'_>,
        scratch: &mut Scratch,
        top: usize,
        clues: &mut Vec<Clue>,
    ) -> Classification {
        let features = self.core.vectorize_inner(comment, scratch, true);
        let classification = self.decide(self.core.log_odds(features));
        // The `top` strongest contributions, strongest first (ties: lower column first).
        let Scratch {
            features,
            names,
            arena,
            top: best,
            ..
        } = scratch;
        best.clear();
        for &(col, w) in features.iter() {
            let weight = w * self.core.llr(col);
            if best.len() == top && best.last().is_some_and(|&(_, x)| weight.abs() < x.abs()) {
                continue; // cannot enter the top list
            }
            let at = best.partition_point(|&(c, x)| {
                x.abs() > weight.abs() || (x.abs() == weight.abs() && c < col)
            });
            if at < top {
                best.insert(at, (col, weight));
                best.truncate(top);
            }
        }
        // The first occurrence of a column names it; a scan per clue beats sorting all names.
        let mut used = 0;
        for &(col, weight) in best.iter() {
            let Some(name) = names.iter().find(|n| n.col == col) else {
                continue;
            };
            if used == clues.len() {
                clues.push(Clue {
                    token: String::new(),
                    weight: 0.0,
                });
            }
            let clue = &mut clues[used];
            clue.token.clear();
            clue.token.push_str(name.kind.name());
            clue.token.push(':');
            clue.token.push_str(&arena[name.start..name.end]);
            clue.weight = weight;
            used += 1;
        }
        clues.truncate(used);
        classification
    }
}

/// Human-readable description of a weighting, for summaries.
pub fn describe_weighting(w: &Weighting) -> String {
    let tf = match w.tf {
        TfTransform::Raw => "raw tf",
        TfTransform::Log => "log tf",
        TfTransform::Binary => "binary tf",
    };
    format!(
        "{tf}{}{}",
        if w.idf { " · idf" } else { "" },
        if w.l2_norm { " · l2" } else { "" }
    )
}
