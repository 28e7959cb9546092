//! A site's lessons summed per token, so that a learning round builds the site's model from the
//! model file's in time proportional to the columns the site's lessons touch, plus one pass of
//! additions over the file's columns ([`NaiveBayesCore::with_site_columns`]), instead of
//! learning every lesson of the site again into a copy of the file's counts.
//!
//! Each lesson's feature values do not depend on the other lessons (every token of a lesson is
//! a column of the model that learns it, new ones with IDF 1), so the counts of a round are the
//! file's plus each class's scale times the sums kept here: the same counts
//! [`NaiveBayesCore::learn`] reaches by adding the scaled lessons one at a time.

use super::model::{Example, NaiveBayesCore};
use foldhash::HashMap as FastMap;

/// Per token, the sums of a site's lessons; per class, their net weight.
#[derive(Debug, Clone, Default)]
pub struct SiteCounts {
    tokens: FastMap<u64, TokenSums>,
    /// Net weight of the site's lessons, ham (0) and spam (1).
    mass: [f64; 2],
    /// Reused buffer of one lesson's feature values.
    values: Vec<(u64, f64)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct TokenSums {
    /// Σ weight × feature value of the lessons carrying the token, per class.
    value: [f64; 2],
    /// Net number of those lessons per class (a taken-back lesson counts −1): at 0 the token's
    /// sum is exactly 0 again, whatever the rounding of the additions left behind.
    carriers: [f64; 2],
}

impl SiteCounts {
    /// Adds one lesson (a negative weight takes one back), its feature values weighed as `base`
    /// weighs them.
    pub fn add(&mut self, base: &NaiveBayesCore, example: &Example) {
        let class = example.label.index();
        self.mass[class] += example.weight;
        let carried = match example.weight {
            w if w > 0.0 => 1.0,
            w if w < 0.0 => -1.0,
            _ => 0.0,
        };
        base.vocab
            .weigh_tokens(&base.weighting, &example.tokens, &mut self.values);
        for &(hash, value) in &self.values {
            let sums = self.tokens.entry(hash).or_default();
            sums.value[class] += example.weight * value;
            sums.carriers[class] += carried;
            if sums.carriers[class] == 0.0 {
                sums.value[class] = 0.0;
                if sums.carriers[1 - class] == 0.0 {
                    self.tokens.remove(&hash);
                }
            }
        }
    }

    /// Net weight of the site's lessons, ham (0) and spam (1), never below 0.
    pub fn mass(&self) -> [f64; 2] {
        self.mass.map(|m| m.max(0.0))
    }

    /// `base` after learning the site's lessons with each class's weights multiplied by
    /// `scale`, every token new to `base` starting at `new_token_prior` counts (per class), and
    /// at most `max_features` columns: beyond, the site's rarest new tokens (smallest total
    /// count; ties: the larger hash) are left out — the model file's own columns stay.
    pub fn core(
        &self,
        base: &NaiveBayesCore,
        scale: [f64; 2],
        new_token_prior: [f64; 2],
        max_features: usize,
    ) -> NaiveBayesCore {
        let class_docs = [0, 1].map(|c| (base.class_docs[c] + scale[c] * self.mass[c]).max(0.0));
        let mut changed = Vec::new();
        let mut extra = Vec::new();
        for (&hash, sums) in &self.tokens {
            let learned = |c: usize| scale[c] * sums.value[c];
            match base.vocab.column(hash) {
                Some(col) => changed.push((
                    col,
                    [0, 1].map(|c| (base.feature_count(c, col) + learned(c)).max(0.0)),
                )),
                // A token only taken-back lessons brought is unknown again, as before them.
                None if sums.value.iter().any(|&v| v > 0.0) => extra.push((
                    hash,
                    [0, 1].map(|c| learned(c).max(0.0) + new_token_prior[c]),
                )),
                None => {}
            }
        }
        changed.sort_unstable_by_key(|&(col, _)| col);
        let room = max_features.saturating_sub(base.vocab.len());
        if extra.len() > room {
            let total = |counts: &[f64; 2]| counts[0] + counts[1];
            extra.sort_unstable_by(|(ha, a), (hb, b)| {
                total(b).total_cmp(&total(a)).then(ha.cmp(hb))
            });
            extra.truncate(room);
        }
        extra.sort_unstable_by_key(|&(hash, _)| hash);
        base.with_site_columns(class_docs, &changed, &extra)
    }
}
