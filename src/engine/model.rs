//! The trained model and its sparse scorer. Scoring walks only the tokens present in a comment:
//! `log P(spam|x) − log P(ham|x) = log π₁ − log π₀ + Σᵢ xᵢ (log θ₁ᵢ − log θ₀ᵢ)`, the same joint
//! log-likelihood linfa-bayes computes with a dense dot product.

use super::column_stats::{Column, ColumnStats, DenseStats, SiteStats};
use super::decision::{Calibration, Thresholds, Verdict};
use super::features::{TfTransform, Vocabulary, Weighting, is_sender_hash, token_hash};
use super::tokenize::{TokenKind, Tokenizer, TokenizerConfig};
use crate::data::CommentView;
use foldhash::HashMap as FastMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// Multinomial naive Bayes over a vocabulary, kept as what it learns from: per-class feature
/// counts (sums of weighted feature values) and document counts, the sufficient statistics of
/// linfa-bayes's `MultinomialNb`. The log-probabilities are derived from them with linfa-bayes's
/// own formula, so learning one more example is adding its counts ([`learn`](Self::learn)).
#[derive(Debug, Clone, PartialEq)]
pub struct NaiveBayesCore {
    pub tokenizer: TokenizerConfig,
    pub weighting: Weighting,
    pub vocab: Vocabulary,
    /// Additive (Laplace/Lidstone) smoothing.
    pub alpha: f64,
    /// Documents seen per class, ham (0) and spam (1); weighted, so not always whole.
    pub class_docs: [f64; 2],
    /// `ln P(class)` for ham (0) and spam (1).
    pub log_prior: [f64; 2],
    /// Per column and class: the summed feature values (counts), `ln P(feature | class)`, and
    /// their log-likelihood ratio.
    stats: ColumnStats,
    /// `Σ(count + α)` per class: the denominator of the log-probabilities, kept for
    /// [`held_out_score`](Self::held_out_score).
    smoothed_sum: [f64; 2],
    /// Scoring shortcut for binary term frequency.
    binary_terms: Option<BinaryTerms>,
}

/// A core's counts and log-probabilities, before what derives from them: the vocabulary, the
/// document counts, the per-column statistics and `Σ(count + α)` per class.
struct Counts(Vocabulary, [f64; 2], ColumnStats, [f64; 2]);

/// One labeled example for [`NaiveBayesCore::learn`]: sorted `(token hash, count)` pairs, its
/// label, and its weight (how many examples it counts as; negative takes one back).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub tokens: Vec<(u64, u32)>,
    pub label: crate::data::Label,
    pub weight: f64,
    /// Whether the Website prior applies to the comment ([`has_website`]). Learning ignores it;
    /// scoring the example again ([`NaiveBayesCore::held_out_score`]) needs it.
    pub website: bool,
    /// The verdict the filter gave the comment when it arrived, when it was scored by this
    /// filter (not for imported history or API submits): recalibration only reads rescued
    /// rejections as evidence that rejecting is too eager.
    pub arrival: Option<Verdict>,
}

impl NaiveBayesCore {
    /// Builds a core from its counts, deriving the log-probabilities as linfa-bayes 0.8.1 does
    /// (`ClassHistogram::update_with_smoothing`): `ln(count + α) − ln Σ(count + α)`, and priors
    /// from the document counts.
    pub fn from_counts(
        tokenizer: TokenizerConfig,
        weighting: Weighting,
        vocab: Vocabulary,
        alpha: f64,
        class_docs: [f64; 2],
        feature_count: [Vec<f64>; 2],
    ) -> Self {
        let sums = [0, 1].map(|c| feature_count[c].iter().map(|n| n + alpha).sum::<f64>());
        let ln_probs = |counts: &[f64], smoothed_sum: f64| {
            let ln_sum = smoothed_sum.ln();
            counts
                .iter()
                .map(|c| (c + alpha).ln() - ln_sum)
                .collect::<Vec<_>>()
        };
        let log_prob = [
            ln_probs(&feature_count[0], sums[0]),
            ln_probs(&feature_count[1], sums[1]),
        ];
        let stats = Arc::new(DenseStats::new(feature_count, log_prob));
        let terms = BinaryTerms::new(&weighting, &vocab, &stats.llr);
        let counts = Counts(vocab, class_docs, ColumnStats::Dense(stats), sums);
        Self::assemble(tokenizer, weighting, alpha, counts, terms)
    }

    /// A core from its counts, their log-probabilities and its scoring terms: the priors follow.
    fn assemble(
        tokenizer: TokenizerConfig,
        weighting: Weighting,
        alpha: f64,
        counts: Counts,
        binary_terms: Option<BinaryTerms>,
    ) -> Self {
        let Counts(vocab, class_docs, stats, smoothed_sum) = counts;
        let total_docs = class_docs[0] + class_docs[1];
        let log_prior = class_docs.map(|d| (d / total_docs).ln());
        NaiveBayesCore {
            tokenizer,
            weighting,
            vocab,
            alpha,
            class_docs,
            log_prior,
            stats,
            smoothed_sum,
            binary_terms,
        }
    }

    /// Column `col`'s summed feature values for `class` (0 beyond the last column).
    pub fn feature_count(&self, class: usize, col: u32) -> f64 {
        self.stats.column(col).map_or(0.0, |c| c.count[class])
    }

    /// Every column's summed feature values for `class`, in column order.
    pub fn feature_counts(&self, class: usize) -> Cow<'_, [f64]> {
        self.stats.counts(class)
    }

    /// `ln P(feature col | class)` (0 beyond the last column).
    pub fn feature_log_prob(&self, class: usize, col: u32) -> f64 {
        self.stats.column(col).map_or(0.0, |c| c.log_prob[class])
    }

    /// Whether the core has a model file's layout: columns in hash order, kept in arrays (a
    /// site's learned model is not, [`compacted`](Self::compacted) makes it so).
    pub fn is_compact(&self) -> bool {
        self.vocab.is_sorted() && self.stats.dense().is_some()
    }

    /// The score of an example this model has learned `weight` times (its own `weight` is not
    /// read: recalibration passes the net weight of repeated decisions), as if it had not:
    /// leave-one-out, exact for naive Bayes, because taking the example back only changes its own
    /// class's counts for its own tokens, that class's count total and its document count.
    /// O(tokens of the example), so a site's whole history can be scored held out on every
    /// recalibration. Equals [`score`](Self::score) under `self.learn(&[example with −weight])`
    /// (the vocabulary kept); a weight of 0 gives the plain score.
    pub fn held_out_score(&self, example: &Example, weight: f64) -> Score {
        let mut counts = Vec::new();
        let mut features = Vec::new();
        self.vocab.known_counts(&example.tokens, &mut counts);
        self.vocab.weigh(&self.weighting, &counts, &mut features);
        let own = example.label.index();
        let other = 1 - own;
        let weight = weight.max(0.0);
        let mut docs = self.class_docs;
        // Same clamp as `learn`: a class never has fewer than no documents.
        docs[own] = (docs[own] - weight).max(0.0);
        let total_docs = docs[0] + docs[1];
        let prior = (docs[1] / total_docs).ln() - (docs[0] / total_docs).ln();
        let removed: f64 = features.iter().map(|&(_, v)| weight * v).sum();
        let ln_sum = (self.smoothed_sum[own] - removed).ln();
        let (mut log_odds, mut sender) = (prior, 0.0);
        for &(col, v) in &features {
            let Some(column) = self.stats.column(col) else {
                continue;
            };
            let own_log_prob =
                ((column.count[own] - weight * v).max(0.0) + self.alpha).ln() - ln_sum;
            let other_log_prob = column.log_prob[other];
            let llr = if own == 1 {
                own_log_prob - other_log_prob
            } else {
                other_log_prob - own_log_prob
            };
            log_odds += v * llr;
            if self.is_sender_column(col) {
                sender += v * llr;
            }
        }
        self.with_website(Score { log_odds, sender }, example.website)
    }

    /// This model after also learning `examples`: their weighted feature values are added to the
    /// counts of their class, and tokens the vocabulary lacks join it (with IDF 1). When the
    /// vocabulary would outgrow `max_features`, the rarest columns (smallest total count; ties: the
    /// larger hash) are evicted. The result equals a fit on the old data plus `examples`
    /// over the same vocabulary (`tests/linfa_equivalence.rs`).
    pub fn learn(&self, examples: &[Example], max_features: usize) -> NaiveBayesCore {
        let Some(dense) = self.stats.dense().filter(|_| self.vocab.is_sorted()) else {
            return self.compacted().learn(examples, max_features);
        };
        // Tokens the vocabulary lacks, sorted and distinct.
        let mut fresh: Vec<u64> = examples
            .iter()
            .flat_map(|e| e.tokens.iter().map(|&(h, _)| h))
            .filter(|&h| self.vocab.column(h).is_none())
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        let (union, mut counts) = if fresh.is_empty() {
            // The common case once a site's words are known: same columns, counts copied.
            (self.vocab.clone(), dense.count.clone())
        } else {
            // Merge the new tokens into the sorted columns, in one pass.
            let old = self.vocab.sorted_hashes();
            let n = old.len() + fresh.len();
            let (mut hashes, mut idf) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let mut counts = [Vec::with_capacity(n), Vec::with_capacity(n)];
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < fresh.len() {
                if j == fresh.len() || (i < old.len() && old[i] < fresh[j]) {
                    hashes.push(old[i]);
                    idf.push(self.vocab.idf(i as u32));
                    counts[0].push(dense.count[0][i]);
                    counts[1].push(dense.count[1][i]);
                    i += 1;
                } else {
                    hashes.push(fresh[j]);
                    idf.push(1.0);
                    counts[0].push(0.0);
                    counts[1].push(0.0);
                    j += 1;
                }
            }
            (Vocabulary::new(hashes, idf), counts)
        };
        let mut class_docs = self.class_docs;
        let (mut known, mut features) = (Vec::new(), Vec::new());
        for example in examples {
            let class = example.label.index();
            class_docs[class] = (class_docs[class] + example.weight).max(0.0);
            union.known_counts(&example.tokens, &mut known);
            union.weigh(&self.weighting, &known, &mut features);
            for &(col, w) in &features {
                let c = &mut counts[class][col as usize];
                // A taken-back example cannot leave a negative count behind (rounding).
                *c = (*c + example.weight * w).max(0.0);
            }
        }
        // A token only taken-back lessons brought is unknown again, as before them: a known
        // column, even one weighing nothing, counts in a comment's norm and would dilute the rest
        // of its evidence.
        let (union, counts) = if fresh.is_empty() {
            (union, counts)
        } else {
            let kept: Vec<usize> = (0..union.len())
                .filter(|&col| {
                    counts[0][col] > 0.0
                        || counts[1][col] > 0.0
                        || self.vocab.column(union.sorted_hashes()[col]).is_some()
                })
                .collect();
            if kept.len() == union.len() {
                (union, counts)
            } else {
                keep_columns(&union, &counts, &kept)
            }
        };
        let (vocab, counts) = if union.len() > max_features {
            evict_rarest(&union, counts, max_features)
        } else {
            (union, counts)
        };
        NaiveBayesCore::from_counts(
            self.tokenizer,
            self.weighting,
            vocab,
            self.alpha,
            class_docs,
            counts,
        )
    }

    /// This model (a model file's) with a site's learned counts in place, in time proportional
    /// to the columns the site changed: `changed` gives new counts to some of this model's
    /// columns (ascending, distinct), `extra` appends columns for tokens it lacks (distinct
    /// hashes; IDF 1), and `class_docs` replaces its document counts. The file's arrays are
    /// shared, not copied ([`ColumnStats::Site`]): a column the site left alone keeps its count,
    /// so its log-probability moves only by the change of its class's total, one number per
    /// class, added as it is read. The result scores as `from_counts` over the same counts, but
    /// for the order of the sums.
    pub fn with_site_columns(
        &self,
        class_docs: [f64; 2],
        changed: &[(u32, [f64; 2])],
        extra: &[(u64, [f64; 2])],
    ) -> NaiveBayesCore {
        let Some(file) = self.stats.dense() else {
            // A site's model as the base (not what the server does): its columns in arrays first.
            return self
                .in_arrays()
                .with_site_columns(class_docs, changed, extra);
        };
        let vocab = self
            .vocab
            .with_extra(extra.iter().map(|&(h, _)| h).collect());
        let mut sums = self.smoothed_sum;
        let changed: Vec<(u32, [f64; 2])> = changed
            .iter()
            .filter(|&&(col, _)| (col as usize) < file.llr.len())
            .copied()
            .collect();
        for &(col, counts) in &changed {
            for class in 0..2 {
                sums[class] += counts[class] - file.count[class][col as usize];
            }
        }
        for &(_, counts) in extra {
            for class in 0..2 {
                sums[class] += counts[class] + self.alpha;
            }
        }
        let ln_sum = sums.map(f64::ln);
        let shift = [0, 1].map(|class| self.smoothed_sum[class].ln() - ln_sum[class]);
        let column = |count: [f64; 2]| Column {
            count,
            log_prob: [0, 1].map(|class| (count[class] + self.alpha).ln() - ln_sum[class]),
        };
        let site = SiteStats {
            file: file.clone(),
            shift,
            changed: changed
                .iter()
                .map(|&(col, counts)| (col, column(counts)))
                .collect(),
            extra: extra.iter().map(|&(_, counts)| column(counts)).collect(),
        };
        let terms = self
            .binary_terms
            .as_ref()
            .map(|terms| terms.for_site(shift[1] - shift[0], &self.weighting, &vocab, &site));
        let stats = ColumnStats::Site(Arc::new(site));
        let counts = Counts(vocab, class_docs, stats, sums);
        Self::assemble(self.tokenizer, self.weighting, self.alpha, counts, terms)
    }

    /// The same model, its columns in the same order, every one of them in arrays.
    fn in_arrays(&self) -> NaiveBayesCore {
        NaiveBayesCore::from_counts(
            self.tokenizer,
            self.weighting,
            self.vocab.clone(),
            self.alpha,
            self.class_docs,
            [0, 1].map(|class| self.feature_counts(class).into_owned()),
        )
    }

    /// The same model with every column in hash order, the layout of a model file: a site's
    /// learned model keeps the tokens its lessons brought as extra columns after the file's.
    pub fn compacted(&self) -> NaiveBayesCore {
        if self.is_compact() {
            return self.clone();
        }
        if self.vocab.is_sorted() {
            return self.in_arrays();
        }
        let mut order: Vec<(u64, usize)> = self.vocab.hashes().zip(0..).collect();
        order.sort_unstable();
        let hashes = order.iter().map(|&(h, _)| h).collect();
        let idf = order
            .iter()
            .map(|&(_, c)| self.vocab.idf(c as u32))
            .collect();
        let counts = [0, 1].map(|k| {
            let column = self.feature_counts(k);
            order.iter().map(|&(_, c)| column[c]).collect()
        });
        NaiveBayesCore::from_counts(
            self.tokenizer,
            self.weighting,
            Vocabulary::new(hashes, idf),
            self.alpha,
            self.class_docs,
            counts,
        )
    }

    /// `Σ(count + α)` per class, ham (0) and spam (1).
    pub fn smoothed_sum(&self) -> [f64; 2] {
        self.smoothed_sum
    }

    /// Joint log-likelihood `[ham, spam]` of a weighted sparse vector.
    pub fn joint_log_likelihood(&self, features: &[(u32, f64)]) -> [f64; 2] {
        let mut jll = self.log_prior;
        for &(col, w) in features {
            jll[0] += w * self.feature_log_prob(0, col);
            jll[1] += w * self.feature_log_prob(1, col);
        }
        jll
    }

    /// Log-odds of spam for a weighted sparse vector.
    #[inline]
    pub fn log_odds(&self, features: &[(u32, f64)]) -> f64 {
        let mut s = self.log_prior[1] - self.log_prior[0];
        for &(col, w) in features {
            s += w * self.stats.llr(col);
        }
        s
    }

    /// Per-column log-likelihood ratio.
    pub fn llr(&self, col: u32) -> f64 {
        self.stats.llr(col)
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
        self.score_detailed(comment, scratch).log_odds
    }

    /// [`score`](Self::score), plus the share of the log-odds that comes from sender tokens.
    #[inline]
    pub fn score_detailed(&self, comment: CommentView<'_>, scratch: &mut Scratch) -> Score {
        let score = match &self.binary_terms {
            Some(terms) => self.score_binary(terms, comment, scratch),
            None => {
                let features = self.vectorize_with::<false>(comment, scratch, false);
                Score {
                    log_odds: self.log_odds(features),
                    sender: self.sender_part(features),
                }
            }
        };
        self.with_website(score, has_website(comment))
    }

    /// Adds the Website prior ([`Weighting::website_log_odds`]) to a score when the field is set.
    #[inline]
    pub fn with_website(&self, score: Score, website: bool) -> Score {
        let prior = if website {
            self.weighting.website_log_odds
        } else {
            0.0
        };
        Score {
            log_odds: score.log_odds + prior,
            sender: score.sender + prior,
        }
    }

    /// The sum of the sender columns' contributions (weight × log-likelihood ratio).
    pub fn sender_part(&self, features: &[(u32, f64)]) -> f64 {
        features
            .iter()
            .filter(|&&(col, _)| self.is_sender_column(col))
            .map(|&(col, w)| w * self.stats.llr(col))
            .sum()
    }

    /// Whether a column holds a sender token ([`TokenKind::is_sender`]).
    #[inline]
    pub fn is_sender_column(&self, col: u32) -> bool {
        self.vocab.hash(col).is_some_and(is_sender_hash)
    }

    /// Log-odds of a comment's known columns with their counts (distinct columns, in any order),
    /// computed as [`score`](Self::score) does. Leaves each column's contribution to it
    /// (weight × log-likelihood ratio) in `contributions`, in the same order.
    fn score_counts(&self, counts: &[(u32, u32)], contributions: &mut Vec<(u32, f64)>) -> Score {
        let prior = self.log_prior[1] - self.log_prior[0];
        match &self.binary_terms {
            // The layout is chosen once per comment, as in `score_binary`.
            Some(terms) => match &terms.site {
                None => terms.score_columns(prior, counts, contributions, |col| {
                    terms.columns.get(col as usize).copied().unwrap_or_default()
                }),
                Some(site) => terms.score_columns(prior, counts, contributions, |col| {
                    site.column(&terms.columns, col, &self.vocab)
                }),
            },
            None => {
                self.vocab.weigh(&self.weighting, counts, contributions);
                let log_odds = self.log_odds(contributions);
                let sender = self.sender_part(contributions);
                for (col, w) in contributions.iter_mut() {
                    *w *= self.llr(*col);
                }
                Score { log_odds, sender }
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
    ) -> Score {
        self.hash_tokens::<false>(comment, scratch);
        let Scratch {
            columns,
            seen,
            hashes,
            ..
        } = scratch;
        let mut sums = TermSums::default();
        // The layout is chosen once per comment, not per column: a model file's columns are one
        // array read (the common verdict), a site's are looked up through its layer.
        match &terms.site {
            None => self.first_occurrences(hashes, seen, columns, |_, col| {
                sums.add(terms.columns.get(col as usize).copied().unwrap_or_default())
            }),
            Some(site) => self.first_occurrences(hashes, seen, columns, |_, col| {
                sums.add(site.column(&terms.columns, col, &self.vocab))
            }),
        }
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

/// Keeps the `keep` columns with the largest total count (ties: the smaller hash), in hash order.
fn evict_rarest(
    vocab: &Vocabulary,
    counts: [Vec<f64>; 2],
    keep: usize,
) -> (Vocabulary, [Vec<f64>; 2]) {
    let total = |col: usize| counts[0][col] + counts[1][col];
    let mut order: Vec<usize> = (0..vocab.len()).collect();
    order.sort_by(|&a, &b| total(b).total_cmp(&total(a)).then(a.cmp(&b)));
    order.truncate(keep);
    order.sort_unstable();
    keep_columns(vocab, &counts, &order)
}

/// The columns `kept` of `vocab` and `counts`, in that order (which must be ascending hashes).
fn keep_columns(
    vocab: &Vocabulary,
    counts: &[Vec<f64>; 2],
    kept: &[usize],
) -> (Vocabulary, [Vec<f64>; 2]) {
    let hashes = kept
        .iter()
        .map(|&c| vocab.hash(c as u32).unwrap_or_default())
        .collect();
    let idf = kept.iter().map(|&c| vocab.idf(c as u32)).collect();
    let counts = [
        kept.iter().map(|&c| counts[0][c]).collect(),
        kept.iter().map(|&c| counts[1][c]).collect(),
    ];
    (Vocabulary::new(hashes, idf), counts)
}

/// Per-column terms of the log-odds under binary term frequency, precomputed so that a verdict
/// needs no feature vector. With `wᵢ = idfᵢ / ‖idf‖` for the text columns present and a fixed
/// weight `m` for metadata columns,
/// `log-odds = log π₁/π₀ + (Σ_text idfᵢ·llrᵢ) / sqrt(Σ_text idfᵢ²) + Σ_meta m·llrⱼ`:
/// the same value as weighing and then summing, in fewer steps.
#[derive(Debug, Clone, PartialEq)]
struct BinaryTerms {
    /// Each column's terms, side by side: a comment's columns are scattered over the vocabulary,
    /// so one cache line per column met instead of one per array. A site's model shares its
    /// file's.
    columns: Arc<Vec<ColumnTerms>>,
    l2_norm: bool,
    /// A site's learned model: what differs from the file's terms.
    site: Option<Arc<SiteTerms>>,
}

/// A site's terms over its model file's ([`BinaryTerms::for_site`]): the columns the site changed
/// or added, and for every other column the move of its log-likelihood ratio.
#[derive(Debug, PartialEq)]
struct SiteTerms {
    /// The file's columns: the first extra column.
    file_len: u32,
    /// How far every column the site left alone has its log-likelihood ratio moved.
    delta: f64,
    /// The metadata columns' fixed weight (0 when there is none).
    meta: f64,
    /// One bit per file column, set for those in `changed`: most columns a comment meets are not,
    /// and a bit test is cheaper than a lookup.
    touched: Vec<u64>,
    changed: FastMap<u32, ColumnTerms>,
    /// Columns `file_len..`, in order.
    extra: Vec<ColumnTerms>,
}

impl SiteTerms {
    /// Column `col`'s terms, `file` being the model file's.
    #[inline]
    fn column(&self, file: &[ColumnTerms], col: u32, vocab: &Vocabulary) -> ColumnTerms {
        if col >= self.file_len {
            return self
                .extra
                .get((col - self.file_len) as usize)
                .copied()
                .unwrap_or_default();
        }
        let touched = self
            .touched
            .get((col / 64) as usize)
            .is_some_and(|word| word & (1u64 << (col % 64)) != 0);
        if touched {
            return self.changed.get(&col).copied().unwrap_or_default();
        }
        let c = file.get(col as usize).copied().unwrap_or_default();
        // Text columns, and only they, add to the norm (idf² ≥ 1).
        let text = f64::from(u8::from(c.norm_sq > 0.0));
        ColumnTerms {
            text: c.text + text * vocab.idf(col) * self.delta,
            fixed: c.fixed + (1.0 - text) * self.meta * self.delta,
            ..c
        }
    }
}

/// One column's part of [`BinaryTerms`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[repr(C, align(32))]
struct ColumnTerms {
    /// `idf·llr` for a text column, 0 for a fixed-weight (metadata) one.
    text: f64,
    /// `meta_weight·llr` for a fixed-weight column, 0 for a text one.
    fixed: f64,
    /// What the column adds to the squared norm: `idf²` for text columns, 0 for fixed ones.
    /// Zeros rather than a test keep the summing loop free of a data-dependent branch.
    norm_sq: f64,
    /// 1 for sender columns, 0 for the others: multiplies each term into the sender sums.
    sender: f64,
}

impl ColumnTerms {
    /// The column's contribution to the log-odds, given the comment's
    /// [`scale`](BinaryTerms::scale).
    #[inline]
    fn contribution(&self, scale: f64) -> f64 {
        self.text * scale + self.fixed
    }

    /// Column `col`'s terms, its log-likelihood ratio being `llr`.
    fn of(weighting: &Weighting, vocab: &Vocabulary, col: u32, llr: f64) -> ColumnTerms {
        let sender = f64::from(u8::from(vocab.hash(col).is_some_and(is_sender_hash)));
        // As in `Vocabulary::weigh`: the stored IDF is all ones when IDF is off.
        match weighting.meta_weight.filter(|_| vocab.is_meta(col)) {
            Some(m) => ColumnTerms {
                fixed: m * llr,
                sender,
                ..ColumnTerms::default()
            },
            None => {
                let idf = vocab.idf(col);
                ColumnTerms {
                    text: idf * llr,
                    fixed: 0.0,
                    norm_sq: idf * idf,
                    sender,
                }
            }
        }
    }
}

impl BinaryTerms {
    /// The terms for `weighting`, or `None` unless its term frequency is binary.
    fn new(weighting: &Weighting, vocab: &Vocabulary, llr: &[f64]) -> Option<Self> {
        if weighting.tf != TfTransform::Binary {
            return None;
        }
        let columns = llr
            .iter()
            .zip(0..)
            .map(|(&l, col)| ColumnTerms::of(weighting, vocab, col, l))
            .collect();
        Some(BinaryTerms {
            columns: Arc::new(columns),
            l2_norm: weighting.l2_norm,
            site: None,
        })
    }

    /// A site's terms over these (a model file's): every column's log-likelihood ratio moved by
    /// `delta`, except the columns `site` changed or added, which take theirs from `site`. Costs
    /// what the site changed; the file's terms are shared.
    fn for_site(
        &self,
        delta: f64,
        weighting: &Weighting,
        vocab: &Vocabulary,
        site: &SiteStats,
    ) -> BinaryTerms {
        let file_len = self.columns.len() as u32;
        let mut touched = vec![0u64; self.columns.len().div_ceil(64)];
        let changed = site
            .changed
            .iter()
            .map(|(&col, column)| {
                if let Some(word) = touched.get_mut((col / 64) as usize) {
                    *word |= 1u64 << (col % 64);
                }
                (col, ColumnTerms::of(weighting, vocab, col, column.llr()))
            })
            .collect();
        let extra = site
            .extra
            .iter()
            .zip(file_len..)
            .map(|(column, col)| ColumnTerms::of(weighting, vocab, col, column.llr()))
            .collect();
        BinaryTerms {
            columns: self.columns.clone(),
            l2_norm: self.l2_norm,
            site: Some(Arc::new(SiteTerms {
                file_len,
                delta,
                meta: weighting.meta_weight.unwrap_or(0.0),
                touched,
                changed,
                extra,
            })),
        }
    }

    /// The log-odds of a comment's known columns (`counts`, distinct), each column's terms read
    /// through `column`; leaves each column's contribution in `contributions`, in order.
    #[inline]
    fn score_columns(
        &self,
        prior: f64,
        counts: &[(u32, u32)],
        contributions: &mut Vec<(u32, f64)>,
        column: impl Fn(u32) -> ColumnTerms,
    ) -> Score {
        let mut sums = TermSums::default();
        for &(col, _) in counts {
            sums.add(column(col));
        }
        let scale = self.scale(&sums);
        contributions.clear();
        contributions.extend(
            counts
                .iter()
                .map(|&(col, _)| (col, column(col).contribution(scale))),
        );
        self.finish(prior, sums)
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

    /// The log-odds (and its sender part) from the sums of all columns present.
    #[inline]
    fn finish(&self, prior: f64, sums: TermSums) -> Score {
        let scale = self.scale(&sums);
        Score {
            log_odds: prior + sums.text * scale + sums.fixed,
            sender: sums.sender_text * scale + sums.sender_fixed,
        }
    }
}

impl TermSums {
    /// Adds one column's terms (present in the comment).
    #[inline]
    fn add(&mut self, c: ColumnTerms) {
        // Both sums take a term, one of them zero, so there is no branch. Adding +0.0 leaves a
        // sum unchanged, so the sums are exact as before.
        self.text += c.text;
        self.fixed += c.fixed;
        self.sender_text += c.text * c.sender;
        self.sender_fixed += c.fixed * c.sender;
        self.norm_sq += c.norm_sq;
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
    /// The sender columns' share of `text` and of `fixed`.
    sender_text: f64,
    sender_fixed: f64,
}

/// A comment's naive Bayes log-odds, and how much of it its sender tokens contribute.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    /// Log-odds of spam against ham.
    pub log_odds: f64,
    /// The part of `log_odds` that comes from sender tokens (links, e-mail addresses, the Website
    /// and e-mail fields); positive when they point to spam.
    pub sender: f64,
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

/// Whether the Website prior ([`Weighting::website_log_odds`]) applies to a comment: its Website
/// field is filled in and is not the author's own site. A site is the author's own when a label
/// of its host or its first path segment is the author's name, one of its words or all of them
/// run together: `Tom Becker` at `tombecker.dev`, `Ana` at `ana.example.org`, `dev_mike` at
/// `github.com/devmike`. Keyword authors rarely pass (`cheap airline flights` at
/// `cheapflights-deals.example.com`, `portable blu ray player` at `ebay.com/bhp/…`), and one that
/// does only loses the prior, not the rest of the evidence.
pub fn has_website(comment: CommentView<'_>) -> bool {
    let Some(url) = comment.author_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return false;
    };
    !comment
        .author
        .is_some_and(|author| site_names_author(url, author))
}

fn site_names_author(url: &str, author: &str) -> bool {
    let lower = url.to_lowercase();
    let (host, rest) = super::tokenize::split_url(&lower);
    let first_segment = rest.split(['/', '?', '#']).nth(1).unwrap_or("");
    let words: Vec<String> = author
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let joined: String = words.concat();
    let is_name = |label: &str| {
        label.chars().count() >= 3 && (label == joined || words.iter().any(|w| w.as_str() == label))
    };
    host.split('.').any(is_name) || is_name(first_segment)
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
    /// The sender tokens' part of `log_odds` (see [`Score::sender`]).
    #[serde(skip)]
    pub sender_log_odds: f64,
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
    /// [`TrainParams::source_balance`](super::train::TrainParams::source_balance); 0 in files
    /// written before it existed.
    #[serde(default)]
    pub source_balance: f64,
    /// [`TrainParams::even_prior`](super::train::TrainParams::even_prior); left out of files
    /// when off, so they stay as before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub even_prior: bool,
    /// [`TrainParams::source_prior`](super::train::TrainParams::source_prior); left out of files
    /// when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_prior: bool,
    /// [`TrainParams::meta_weight_choices`](super::train::TrainParams::meta_weight_choices), the
    /// candidates `weighting.meta_weight` was chosen from; left out of files when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_weight_choices: Vec<f64>,
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
    /// Id of the last learning-log entry folded into this model (`train --feedback`); a server
    /// folds only the entries after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned_through: Option<i64>,
    /// Site weight those entries were folded with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_weight: Option<f64>,
    /// The share of spam the calibrated probabilities carry (the training data's, unless
    /// calibrated at another); `None` in older files: `spam / (ham + spam)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spam_share: Option<f64>,
}

/// A trained model ready to score comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub meta: ModelMeta,
    pub core: NaiveBayesCore,
}

impl Model {
    /// The share of spam this model's probabilities carry, where a site's own share starts
    /// ([`SitePrior`](super::site_prior::SitePrior)).
    pub fn spam_share(&self) -> f64 {
        let counted = self.meta.ham + self.meta.spam;
        self.meta.spam_share.unwrap_or(if counted > 0 {
            self.meta.spam as f64 / counted as f64
        } else {
            0.5
        })
    }

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
        self.decide(self.core.score_detailed(comment, scratch))
    }

    fn decide(&self, score: Score) -> Classification {
        let spam_probability = self.meta.calibration.probability(score.log_odds);
        Classification {
            spam_probability,
            log_odds: score.log_odds,
            sender_log_odds: score.sender,
            verdict: self.meta.thresholds.verdict(spam_probability, score.sender),
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
        let score = self
            .core
            .score_counts(&scratch.counts, &mut scratch.features);
        let classification = self.decide(self.core.with_website(score, has_website(comment)));
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
        "{tf}{}{}{}",
        if w.idf { " · idf" } else { "" },
        if w.l2_norm { " · l2" } else { "" },
        match w.meta_weight {
            Some(m) => format!(" · metadata weight {m}"),
            None => " · metadata as text".to_string(),
        }
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
        let ham = (0..n).map(|i| 1.0 + (i % 7) as f64 * 0.3).collect();
        let spam = (0..n).map(|i| 0.5 + (i % 5) as f64 * 0.4).collect();
        NaiveBayesCore::from_counts(config, weighting, vocab, 0.1, [30.0, 20.0], [ham, spam])
    }

    /// A site's model shares its file's columns and keeps apart only what the site changed or
    /// added, yet scores, explains and saves as a core built from the same counts in arrays.
    #[test]
    fn a_site_model_shares_the_files_columns_and_scores_as_if_built_afresh() {
        let texts = [
            "Cheap pills online, visit http://pills.example.com now",
            "Thanks for the write-up, the part about the data centres was new to me.",
        ];
        for weighting in [
            Weighting::default(),
            Weighting {
                idf: true,
                ..Weighting::default()
            },
        ] {
            let file = core_weighted(&texts, weighting);
            let changed = [(1, [4.0, 0.5]), (3, [0.0, 9.0])];
            let extra_hash = token_hash(TokenKind::Word, "zorblax");
            let extra = [(extra_hash, [0.2, 3.0])];
            let site = file.with_site_columns([31.0, 24.0], &changed, &extra);
            let (Some(file_terms), Some(site_terms)) = (&file.binary_terms, &site.binary_terms)
            else {
                panic!("binary term frequency has terms");
            };
            assert!(Arc::ptr_eq(&file_terms.columns, &site_terms.columns));
            assert!(!site.is_compact());

            // The same counts, in arrays.
            let mut counts = [0, 1].map(|c| file.feature_counts(c).into_owned());
            for &(col, [h, sp]) in &changed {
                counts[0][col as usize] = h;
                counts[1][col as usize] = sp;
            }
            counts[0].push(0.2);
            counts[1].push(3.0);
            let afresh = NaiveBayesCore::from_counts(
                file.tokenizer,
                file.weighting,
                file.vocab.with_extra(vec![extra_hash]),
                file.alpha,
                [31.0, 24.0],
                counts,
            );
            let model = |core: NaiveBayesCore| Model {
                meta: serde_json::from_str(META_FIXTURE).expect("fixture"),
                core,
            };
            let (site, afresh) = (model(site), model(afresh));
            let mut scratch = Scratch::default();
            for text in texts
                .iter()
                .copied()
                .chain(["zorblax pills, the data centres"])
            {
                let view = CommentView::text(text);
                let a = site.core.score_detailed(view, &mut scratch);
                let b = afresh.core.score_detailed(view, &mut scratch);
                assert!(
                    (a.log_odds - b.log_odds).abs() < 1e-9,
                    "{text}: {a:?} vs {b:?}"
                );
                assert!((a.sender - b.sender).abs() < 1e-9, "{text}");
                let (_, clues_a) = site.explain(view, &mut scratch, 5);
                let (_, clues_b) = afresh.explain(view, &mut scratch, 5);
                let names =
                    |clues: &[Clue]| clues.iter().map(|c| c.token.clone()).collect::<Vec<_>>();
                assert_eq!(names(&clues_a), names(&clues_b), "{text}");
            }
            for col in 0..afresh.core.vocab.len() as u32 {
                for class in 0..2 {
                    let (a, b) = (
                        site.core.feature_log_prob(class, col),
                        afresh.core.feature_log_prob(class, col),
                    );
                    assert!((a - b).abs() < 1e-12, "column {col}");
                }
            }
            // Saved, a site's model takes a model file's layout.
            let compact = site.core.compacted();
            assert!(compact.is_compact());
            let view = CommentView::text(texts[0]);
            let a = compact.score(view, &mut scratch);
            let b = afresh.core.score(view, &mut scratch);
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn a_website_named_after_its_author_is_the_author_s_own() {
        let view = |author: &'static str, url: &'static str| CommentView {
            content: "Great post",
            author: Some(author),
            author_url: Some(url),
            ..CommentView::default()
        };
        for (author, url) in [
            ("Tom Becker", "https://tombecker.dev"),
            ("Ana", "https://ana.example.org/"),
            ("dev_mike", "https://github.com/devmike"),
            ("Lars", "https://lars.example.se/blog"),
        ] {
            assert!(!has_website(view(author, url)), "{author} {url}");
        }
        for (author, url) in [
            (
                "cheap airline flights",
                "http://cheapflights-deals.example.com/",
            ),
            (
                "portable blu ray player",
                "http://www.ebay.com/bhp/portable-blu-ray-player",
            ),
            (
                "Cory Tattershall",
                "http://www.perfeitaismo.com.br/?option=com_k2",
            ),
            ("Al", "https://al.example.com"),
        ] {
            assert!(has_website(view(author, url)), "{author} {url}");
        }
        assert!(!has_website(CommentView::text("no website")));
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
                website_log_odds: 1.0,
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
                let explained = core
                    .score_counts(&scratch.counts, &mut scratch.features)
                    .log_odds;
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
