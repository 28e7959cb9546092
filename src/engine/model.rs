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
    /// Scoring shortcut for binary term frequency.
    binary_terms: Option<BinaryTerms>,
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
            .collect::<Vec<_>>();
        let binary_terms = BinaryTerms::new(&weighting, &vocab, &llr);
        NaiveBayesCore {
            tokenizer,
            weighting,
            vocab,
            log_prior,
            feature_log_prob,
            llr,
            binary_terms,
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
        self.vectorize_with::<false>(comment, scratch, self.binary_terms.is_some())
    }

    /// Log-odds of spam for a comment. Under binary term frequency (the default) it is summed
    /// straight from the distinct known columns with [`BinaryTerms`]: no feature vector is built.
    #[inline]
    pub fn score(&self, comment: CommentView<'_>, scratch: &mut Scratch) -> f64 {
        match &self.binary_terms {
            Some(terms) => self.score_binary(terms, comment, scratch),
            None => {
                let features = self.vectorize_with::<false>(comment, scratch, false);
                self.log_odds(features)
            }
        }
    }

    /// Log-odds of a comment's known columns with their counts (distinct columns, in any order),
    /// computed as [`score`](Self::score) does. Leaves each column's contribution to it
    /// (weight × log-likelihood ratio) in `contributions`, in the same order.
    fn score_counts(&self, counts: &[(u32, u32)], contributions: &mut Vec<(u32, f64)>) -> f64 {
        let prior = self.log_prior[1] - self.log_prior[0];
        match &self.binary_terms {
            Some(terms) => {
                let mut sums = TermSums::default();
                for &(col, _) in counts {
                    terms.add(&mut sums, col);
                }
                let scale = terms.scale(&sums);
                contributions.clear();
                contributions.extend(
                    counts
                        .iter()
                        .map(|&(col, _)| (col, terms.contribution(col, scale))),
                );
                terms.finish(prior, sums)
            }
            None => {
                self.vocab.weigh(&self.weighting, counts, contributions);
                let log_odds = self.log_odds(contributions);
                for (col, w) in contributions.iter_mut() {
                    *w *= self.llr(*col);
                }
                log_odds
            }
        }
    }

    /// Like [`vectorize`](Self::vectorize); with `NAMES` it also keeps each known token's
    /// family and text (in `scratch.names` / `scratch.arena`) so clues can be named afterwards.
    /// `drop_repeats` is right only for binary term frequency (a test runs both ways on it).
    fn vectorize_with<'s, const NAMES: bool>(
        &self,
        comment: CommentView<'_>,
        scratch: &'s mut Scratch,
        drop_repeats: bool,
    ) -> &'s [(u32, f64)] {
        self.known_columns::<NAMES>(comment, scratch, drop_repeats);
        self.vocab
            .weigh(&self.weighting, &scratch.counts, &mut scratch.features);
        &scratch.features
    }

    /// Hashes every token of `comment` into `scratch.hashes`, in order; with `NAMES` also names
    /// each one (`scratch.token_names`, text in `scratch.arena`).
    ///
    /// Callers look the hashes up afterwards, in a loop of their own: kept apart, each loop is
    /// tight and the lookups' cache misses overlap instead of waiting behind tokenizer code
    /// (commit 11cba4e, which split them, has the before/after figures).
    fn hash_tokens<const NAMES: bool>(&self, comment: CommentView<'_>, scratch: &mut Scratch) {
        let Scratch {
            tokenizer,
            arena,
            hashes,
            token_names,
            ..
        } = scratch;
        hashes.clear();
        token_names.clear();
        arena.clear();
        // A huge comment must not pin its buffers in a long-lived per-thread scratch.
        if hashes.capacity() > KEEP_TOKENS {
            hashes.shrink_to(KEEP_TOKENS);
            token_names.shrink_to(KEEP_TOKENS);
            arena.shrink_to(KEEP_TOKENS * 8);
        }
        tokenizer.tokenize(
            &self.tokenizer,
            comment,
            // Every token passes through here; out of line, its call overhead was about 4% of a
            // verdict's instructions (callgrind).
            #[inline(always)]
            |kind, text| {
                hashes.push(token_hash(kind, text));
                if NAMES {
                    // Every token is named here; only the known ones are kept later.
                    let start = arena.len();
                    arena.push_str(text);
                    token_names.push(TokenName {
                        col: 0,
                        kind,
                        start,
                        end: arena.len(),
                    });
                }
            },
        );
    }

    /// [`score`](Self::score) under binary term frequency, in one pass over the token hashes:
    /// look up, drop repeats, add up. Columns are met in the same order as in
    /// [`known_columns`](Self::known_columns), so the sum is the same to the last bit.
    fn score_binary(
        &self,
        terms: &BinaryTerms,
        comment: CommentView<'_>,
        scratch: &mut Scratch,
    ) -> f64 {
        self.hash_tokens::<false>(comment, scratch);
        let Scratch {
            columns,
            seen,
            hashes,
            ..
        } = scratch;
        let mut sums = TermSums::default();
        self.first_occurrences(hashes, seen, columns, |_, col| terms.add(&mut sums, col));
        terms.finish(self.log_prior[1] - self.log_prior[0], sums)
    }

    /// Calls `on_first(i, col)` for each known token of `hashes` (`i` its position) that is the
    /// first occurrence of its column, in order, and leaves those columns in `columns`.
    ///
    /// Repeats are dropped as they arrive with a bitset over the vocabulary (a few KiB, stays in
    /// L1) instead of sorting every column afterwards; the bits are cleared again before return.
    fn first_occurrences(
        &self,
        hashes: &[u64],
        seen: &mut Vec<u64>,
        columns: &mut Vec<u32>,
        mut on_first: impl FnMut(usize, u32),
    ) {
        let words = self.vocab.len().div_ceil(64);
        if seen.len() < words {
            seen.resize(words, 0);
        }
        columns.clear();
        for (i, &hash) in hashes.iter().enumerate() {
            let Some(col) = self.vocab.column(hash) else {
                continue;
            };
            // `col < vocab.len()`, so the word exists; `get_mut` keeps it panic-free anyway.
            let Some(word) = seen.get_mut((col / 64) as usize) else {
                continue;
            };
            let bit = 1u64 << (col % 64);
            if *word & bit != 0 {
                continue;
            }
            *word |= bit;
            columns.push(col);
            on_first(i, col);
        }
        for &col in columns.iter() {
            if let Some(word) = seen.get_mut((col / 64) as usize) {
                *word = 0;
            }
        }
    }

    /// The known columns of a comment with their counts, in `scratch.counts`.
    fn known_columns<const NAMES: bool>(
        &self,
        comment: CommentView<'_>,
        scratch: &mut Scratch,
        drop_repeats: bool,
    ) {
        self.hash_tokens::<NAMES>(comment, scratch);
        let Scratch {
            columns,
            counts,
            names,
            seen,
            hashes,
            token_names,
            ..
        } = scratch;
        names.clear();
        counts.clear();
        if drop_repeats {
            // Only which tokens occur matters. Columns come out in first-occurrence order, and
            // `names[i]` names `counts[i]`.
            self.first_occurrences(hashes, seen, columns, |i, col| {
                if NAMES && let Some(&name) = token_names.get(i) {
                    names.push(TokenName { col, ..name });
                }
            });
            counts.extend(columns.iter().map(|&col| (col, 1)));
        } else {
            // Counts matter: collect every known column, then sort and count.
            columns.clear();
            let vocab = &self.vocab;
            for (i, &hash) in hashes.iter().enumerate() {
                let Some(col) = vocab.column(hash) else {
                    continue;
                };
                columns.push(col);
                if NAMES && let Some(&name) = token_names.get(i) {
                    names.push(TokenName { col, ..name });
                }
            }
            columns.sort_unstable();
            for &col in columns.iter() {
                match counts.last_mut() {
                    Some((last, n)) if *last == col => *n += 1,
                    _ => counts.push((col, 1)),
                }
            }
        }
    }
}

/// Per-column terms of the log-odds under binary term frequency, precomputed so that a verdict
/// needs no feature vector. With `wᵢ = idfᵢ / ‖idf‖` for the text columns present and a fixed
/// weight `m` for metadata columns,
/// `log-odds = log π₁/π₀ + (Σ_text idfᵢ·llrᵢ) / sqrt(Σ_text idfᵢ²) + Σ_meta m·llrⱼ`:
/// the same value as weighing and then summing, in fewer steps.
#[derive(Debug, Clone, PartialEq)]
struct BinaryTerms {
    /// First column with a fixed (metadata) weight; `u32::MAX` when metadata is weighed like text.
    fixed_start: u32,
    /// `idf·llr` for text columns, `meta_weight·llr` for fixed ones.
    llr: Vec<f64>,
    /// What each column adds to the squared norm: `idf²` for text columns, 0 for fixed ones.
    /// Zeros rather than a test keep the summing loop free of a data-dependent branch.
    norm_sq: Vec<f64>,
    l2_norm: bool,
}

impl BinaryTerms {
    /// The terms for `weighting`, or `None` unless its term frequency is binary.
    fn new(weighting: &Weighting, vocab: &Vocabulary, llr: &[f64]) -> Option<Self> {
        if weighting.tf != TfTransform::Binary {
            return None;
        }
        let fixed_start = match weighting.meta_weight {
            Some(_) => vocab.meta_start(),
            None => u32::MAX,
        };
        // As in `Vocabulary::weigh`: the stored IDF is all ones when IDF is off.
        let idf = |col: usize| vocab.idf().get(col).copied().unwrap_or(1.0);
        let llr = llr
            .iter()
            .enumerate()
            .map(|(col, &l)| match weighting.meta_weight {
                Some(m) if col as u32 >= fixed_start => m * l,
                _ => idf(col) * l,
            })
            .collect();
        let norm_sq = (0..vocab.len())
            .map(|col| {
                if col as u32 >= fixed_start {
                    0.0
                } else {
                    idf(col) * idf(col)
                }
            })
            .collect();
        Some(BinaryTerms {
            fixed_start,
            llr,
            norm_sq,
            l2_norm: weighting.l2_norm,
        })
    }

    /// Adds column `col` (present in the comment) to the running sums.
    #[inline]
    fn add(&self, sums: &mut TermSums, col: u32) {
        // Both sums take the term, one of them times zero, so there is no branch and no indexed
        // store. Adding +0.0 or -0.0 leaves a sum unchanged, so the sums are exact as before.
        let term = self.llr.get(col as usize).copied().unwrap_or(0.0);
        let fixed = f64::from(u8::from(col >= self.fixed_start));
        sums.text += term * (1.0 - fixed);
        sums.fixed += term * fixed;
        sums.norm_sq += self.norm_sq.get(col as usize).copied().unwrap_or(0.0);
    }

    /// What the text terms are multiplied by: `1 / ‖idf‖` over the text columns present.
    #[inline]
    fn scale(&self, sums: &TermSums) -> f64 {
        if self.l2_norm && sums.norm_sq > 0.0 {
            1.0 / sums.norm_sq.sqrt()
        } else {
            1.0
        }
    }

    /// Column `col`'s contribution to the log-odds, given the comment's [`scale`](Self::scale).
    #[inline]
    fn contribution(&self, col: u32, scale: f64) -> f64 {
        let term = self.llr.get(col as usize).copied().unwrap_or(0.0);
        if col >= self.fixed_start {
            term
        } else {
            term * scale
        }
    }

    /// The log-odds from the sums of all columns present.
    #[inline]
    fn finish(&self, prior: f64, sums: TermSums) -> f64 {
        prior + sums.text * self.scale(&sums) + sums.fixed
    }
}

/// Running sums of [`BinaryTerms`] over a comment's columns.
#[derive(Debug, Clone, Copy, Default)]
struct TermSums {
    /// Sum of the text columns' terms.
    text: f64,
    /// Sum of the fixed-weight (metadata) columns' terms.
    fixed: f64,
    /// Squared L2 norm of the text part.
    norm_sq: f64,
}

/// Where the text of a known token is kept while explaining a decision.
#[derive(Debug, Clone, Copy)]
struct TokenName {
    col: u32,
    kind: TokenKind,
    start: usize,
    end: usize,
}

/// Per-token buffers of a [`Scratch`] are cut back to this many tokens after a larger comment.
const KEEP_TOKENS: usize = 1 << 14;

/// Clue lists up to this long are ranked by insertion into a short list; longer ones by a sort.
const SMALL_TOP: usize = 16;

/// A key that orders features by strength of contribution (descending), then column (ascending):
/// the bits of `|weight|` (monotone for non-negative floats), then the complement of the column,
/// then `index + 1`, so that 0 means "no feature".
#[inline]
fn rank_key(weight: f64, col: u32, index: usize) -> u128 {
    (u128::from(weight.abs().to_bits()) << 64)
        | (u128::from(u32::MAX - col) << 32)
        | u128::from((index as u32).wrapping_add(1))
}

/// The feature index of a [`rank_key`], `None` for an empty slot.
#[inline]
fn rank_key_index(key: u128) -> Option<usize> {
    (key as u32).checked_sub(1).map(|i| i as usize)
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
    top: Vec<u128>,
    /// One bit per vocabulary column: seen in the current comment. All clear between calls.
    seen: Vec<u64>,
    /// Hash of every token of the current comment, in order.
    hashes: Vec<u64>,
    /// Name of every token of the current comment, when explaining.
    token_names: Vec<TokenName>,
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
        self.decide(self.core.score(comment, scratch))
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
        let binary = self.core.binary_terms.is_some();
        self.core.known_columns::<true>(comment, scratch, binary);
        let classification = self.decide(
            self.core
                .score_counts(&scratch.counts, &mut scratch.features),
        );
        let Scratch {
            features,
            names,
            arena,
            top: best,
            ..
        } = scratch;
        // The `top` strongest contributions, strongest first (ties: lower column first). Each
        // feature becomes one integer key ordered that way, so ranking is integer compares:
        // insertion into a short list for the usual handful of clues (most features fail the
        // first compare), a sort for long lists.
        best.clear();
        if let Some(last) = top.checked_sub(1).filter(|_| top <= SMALL_TOP) {
            best.resize(top, 0);
            for (index, &(col, contribution)) in features.iter().enumerate() {
                let key = rank_key(contribution, col, index);
                if key <= best[last] {
                    continue; // weaker than the current top list: the common case
                }
                let mut at = last;
                while at > 0 && best[at - 1] < key {
                    best[at] = best[at - 1];
                    at -= 1;
                }
                best[at] = key;
            }
        } else if top > 0 {
            best.extend(
                features
                    .iter()
                    .enumerate()
                    .map(|(index, &(col, contribution))| rank_key(contribution, col, index)),
            );
            best.sort_unstable_by(|a, b| b.cmp(a));
            best.truncate(top);
        }
        let mut used = 0;
        for &key in best.iter() {
            let Some(index) = rank_key_index(key) else {
                break; // fewer features than clues asked for
            };
            let Some(&(col, contribution)) = features.get(index) else {
                continue;
            };
            // With binary term frequency `names[i]` names `features[i]`; otherwise the first
            // occurrence of the column names it.
            let name = names
                .get(index)
                .filter(|n| n.col == col)
                .or_else(|| names.iter().find(|n| n.col == col));
            let Some(name) = name else {
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
            clue.weight = contribution;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A core whose vocabulary is every token of `texts`, with made-up probabilities.
    fn core_for(texts: &[&str]) -> NaiveBayesCore {
        core_weighted(texts, Weighting::default())
    }

    /// [`core_for`] with a chosen weighting; IDF values are made up too.
    fn core_weighted(texts: &[&str], weighting: Weighting) -> NaiveBayesCore {
        let config = TokenizerConfig::default();
        let mut tokenizer = Tokenizer::default();
        let mut hashes = Vec::new();
        for text in texts {
            tokenizer.tokenize(&config, CommentView::text(text), |kind, t| {
                hashes.push(token_hash(kind, t))
            });
        }
        hashes.sort_unstable();
        hashes.dedup();
        let n = hashes.len();
        let idf = (0..n).map(|i| 1.0 + (i % 3) as f64 * 0.25).collect();
        let vocab = Vocabulary::new(hashes, idf);
        let ham = (0..n).map(|i| -1.0 - (i % 7) as f64 * 0.3).collect();
        let spam = (0..n).map(|i| -1.0 - (i % 5) as f64 * 0.4).collect();
        NaiveBayesCore::new(config, weighting, vocab, [-0.7, -0.6], [ham, spam])
    }

    #[test]
    fn distinct_path_equals_sort_and_count_path() {
        let known = "Check out my channel!!! check OUT my channel http://spam.example.com/x";
        let core = core_for(&[known, "plain words only here"]);
        let mut scratch = Scratch::default();
        for text in [known, "check check check unseen words channel", "", "!!!"] {
            let mut distinct = core
                .vectorize_with::<true>(CommentView::text(text), &mut scratch, true)
                .to_vec();
            assert_eq!(scratch.names.len(), distinct.len(), "one name per feature");
            for (name, &(col, _)) in scratch.names.iter().zip(&distinct) {
                assert_eq!(name.col, col);
            }
            let counted = core
                .vectorize_with::<false>(CommentView::text(text), &mut scratch, false)
                .to_vec();
            distinct.sort_by_key(|&(col, _)| col);
            assert_eq!(distinct.len(), counted.len(), "{text}");
            for (a, b) in distinct.iter().zip(&counted) {
                assert_eq!(a.0, b.0);
                assert!((a.1 - b.1).abs() < 1e-12, "{text}: {a:?} vs {b:?}");
            }
            assert!(scratch.seen.iter().all(|&w| w == 0), "bitset left clear");
        }
    }

    #[test]
    fn binary_shortcut_scores_like_weighing_then_summing() {
        let known = "FREE prize!!! call 08712460324 now http://win.example.com/claim free prize";
        let mut scratch = Scratch::default();
        for (idf, l2_norm, meta_weight) in [
            (false, true, Some(0.75)),
            (true, true, Some(0.75)),
            (false, false, Some(0.5)),
            (true, true, None),
        ] {
            let weighting = Weighting {
                tf: TfTransform::Binary,
                idf,
                l2_norm,
                meta_weight,
            };
            let core = core_weighted(&[known, "see you at lunch"], weighting);
            assert!(core.binary_terms.is_some());
            for text in [
                known,
                "lunch lunch at noon, free?",
                "",
                "unknown words only",
            ] {
                let fused = core.score(CommentView::text(text), &mut scratch);
                // The explain path sums the same columns in the same order: the very same value.
                core.known_columns::<true>(CommentView::text(text), &mut scratch, true);
                let explained = core.score_counts(&scratch.counts, &mut scratch.features);
                assert_eq!(fused.to_bits(), explained.to_bits());
                let features = core
                    .vectorize(CommentView::text(text), &mut scratch)
                    .to_vec();
                let summed = core.log_odds(&features);
                assert!(
                    (fused - summed).abs() < 1e-12,
                    "{weighting:?} {text:?}: {fused} vs {summed}"
                );
            }
        }
        let counted = core_weighted(
            &[known],
            Weighting {
                tf: TfTransform::Log,
                ..Weighting::default()
            },
        );
        assert!(
            counted.binary_terms.is_none(),
            "only binary tf has the shortcut"
        );
    }

    #[test]
    fn clues_are_strongest_first_and_named() {
        let core = core_for(&["free prize call now", "see you at lunch"]);
        let model = Model {
            meta: serde_json::from_str(META_FIXTURE).expect("fixture"),
            core,
        };
        let mut scratch = Scratch::default();
        let (_, clues) = model.explain(CommentView::text("free prize call now"), &mut scratch, 3);
        assert_eq!(clues.len(), 3);
        for pair in clues.windows(2) {
            assert!(pair[0].weight.abs() >= pair[1].weight.abs());
        }
        // With every clue asked for, the contributions add up to the log-odds.
        let (all, every) = model.explain(CommentView::text("free prize call"), &mut scratch, 99);
        let prior = model.core.log_prior[1] - model.core.log_prior[0];
        let total: f64 = every.iter().map(|c| c.weight).sum();
        assert!(every.len() > 3);
        assert!((prior + total - all.log_odds).abs() < 1e-9, "{every:?}");
        let (_, none) = model.explain(CommentView::text("free prize"), &mut scratch, 0);
        assert!(none.is_empty());
    }

    const META_FIXTURE: &str = r#"{"replyguard_version":"test","created_at":"","training_files":[],
        "ham":1,"spam":1,"hyperparameters":{"tokenizer":{"bigrams":true,"char_ngrams":0,
        "metadata":true,"prefix":5},"weighting":{"tf":"binary","idf":false,"l2_norm":true,
        "meta_weight":0.75},"alpha":1.0,"min_df":1,"calibration_folds":5,"seed":0},
        "vocabulary_size":0,"thresholds":{"hold":0.5,"reject":0.9},"threshold_rule":"",
        "calibration":{"a":1.0,"b":0.0},"cross_validation":null}"#;
}
