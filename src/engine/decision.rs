//! From a naive Bayes log-odds to a decision: Platt calibration into a probability, and the two
//! thresholds that split comments into published, held for moderation, and rejected.

use serde::{Deserialize, Serialize};

/// What happens to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Shown immediately.
    Published,
    /// Queued for a moderator.
    Held,
    /// Blatant spam: refused.
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Published => "published",
            Verdict::Held => "held",
            Verdict::Rejected => "rejected",
        }
    }

    /// The verdict named by [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "published" => Some(Verdict::Published),
            "held" => Some(Verdict::Held),
            "rejected" => Some(Verdict::Rejected),
            _ => None,
        }
    }
}

/// Probability thresholds: `p >= reject` → rejected, else `p >= hold` → held, else published.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub hold: f64,
    pub reject: f64,
}

impl Thresholds {
    /// Checks that `0 <= hold <= reject <= 1`.
    pub fn validate(self) -> Result<Self, String> {
        let ok = |x: f64| (0.0..=1.0).contains(&x);
        if !ok(self.hold) || !ok(self.reject) {
            return Err(format!(
                "thresholds must lie in [0, 1] (hold {}, reject {})",
                self.hold, self.reject
            ));
        }
        if self.hold > self.reject {
            return Err(format!(
                "hold threshold {} is above reject threshold {}",
                self.hold, self.reject
            ));
        }
        Ok(self)
    }

    /// The verdict for a calibrated probability and the sender tokens' share of the log-odds.
    ///
    /// Rejecting outright also needs `sender_log_odds > 0`: the comment's links, e-mail address,
    /// Website or e-mail field must themselves point to spam. Wording alone is held at most. Generic
    /// praise reads the same from a reader and from a bot ("Great post, bookmarked!"), no corpus of
    /// a blog's own readers exists to tell them apart by text, and a rejected comment is lost while
    /// a held one costs a moderator one click. Spam sends its readers somewhere; that is where the
    /// evidence for rejecting it must come from.
    #[inline]
    pub fn verdict(&self, spam_probability: f64, sender_log_odds: f64) -> Verdict {
        if spam_probability >= self.reject && sender_log_odds > 0.0 {
            Verdict::Rejected
        } else if spam_probability >= self.hold {
            Verdict::Held
        } else {
            Verdict::Published
        }
    }
}

/// Platt scaling `p = 1 / (1 + exp(-(a·s + b)))` of the naive Bayes log-odds `s`. Naive Bayes
/// log-odds are far too extreme (the independence assumption double-counts correlated tokens);
/// a and b are fitted on cross-validated scores so that probabilities mean what they say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub a: f64,
    pub b: f64,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration { a: 1.0, b: 0.0 }
    }
}

impl Calibration {
    #[inline]
    pub fn probability(&self, log_odds: f64) -> f64 {
        sigmoid(self.a * log_odds + self.b)
    }

    /// The mean log loss of these probabilities for `scores`, each weighing `weights[i]`
    /// (probabilities clamped away from 0 and 1, so one confident error costs a bounded amount).
    pub fn log_loss(&self, scores: &[f64], is_spam: &[bool], weights: &[f64]) -> f64 {
        let (mut loss, mut mass) = (0.0, 0.0);
        for ((&score, &spam), &weight) in scores.iter().zip(is_spam).zip(weights) {
            let p = self.probability(score).clamp(1e-12, 1.0 - 1e-12);
            loss -= weight * if spam { p.ln() } else { (1.0 - p).ln() };
            mass += weight;
        }
        if mass > 0.0 { loss / mass } else { 0.0 }
    }

    /// Fits a and b by Newton's method on the log-loss with Platt's smoothed targets
    /// (`(n₊ + 1) / (n₊ + 2)` and `1 / (n₋ + 2)`), which keeps the fit finite on separable data.
    /// The probabilities then carry the training data's share of spam.
    pub fn fit(scores: &[f64], is_spam: &[bool]) -> Calibration {
        Calibration::fit_with_share(scores, is_spam, None)
    }

    /// [`fit`](Self::fit) with the classes weighted so that spam makes up `share` of the fit
    /// (`None`: the data's own share). At 0.5 a probability of 0.5 means a likelihood ratio of 1
    /// whatever share of spam the training corpora happen to have (`train --even-prior`;
    /// `--source-prior` takes the training files' mean share; both measured in the model card,
    /// neither the default).
    pub fn fit_with_share(scores: &[f64], is_spam: &[bool], share: Option<f64>) -> Calibration {
        Calibration::fit_weighted(scores, is_spam, share, &vec![1.0; scores.len()])
    }

    /// [`fit_with_share`](Self::fit_with_share) with each score weighing `row_weights[i]`, the
    /// weight its comment had in training (`train::row_weights`). The slope then fits how far
    /// apart the classes lie in a typical training source rather than in the largest one: on the
    /// shipped mix, 19,632 Wikipedia talk posts against blog spam (the easiest pair) otherwise
    /// set it, and a new site's comments are never that easy (model card). The row weights keep
    /// each class's total, so the share of spam the probabilities carry is unchanged.
    pub fn fit_weighted(
        scores: &[f64],
        is_spam: &[bool],
        share: Option<f64>,
        row_weights: &[f64],
    ) -> Calibration {
        let mass = |spam: bool| -> f64 {
            is_spam
                .iter()
                .zip(row_weights)
                .filter(|&(&s, _)| s == spam)
                .map(|(_, &w)| w)
                .sum()
        };
        let (n_pos, n_neg) = (mass(true), mass(false));
        if n_pos <= 0.0 || n_neg <= 0.0 {
            return Calibration::default();
        }
        let n = n_pos + n_neg;
        let class_weight = |spam: bool| match (share, spam) {
            (None, _) => 1.0,
            (Some(q), true) => q * n / n_pos,
            (Some(q), false) => (1.0 - q) * n / n_neg,
        };
        let weights: Vec<f64> = is_spam
            .iter()
            .zip(row_weights)
            .map(|(&s, &w)| class_weight(s) * w)
            .collect();
        let hi = (n_pos + 1.0) / (n_pos + 2.0);
        let lo = 1.0 / (n_neg + 2.0);
        let targets: Vec<f64> = is_spam.iter().map(|&s| if s { hi } else { lo }).collect();
        let (mut a, mut b) = (1.0, 0.0);
        let loss = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(&targets)
                .zip(&weights)
                .map(|((&s, &t), &w)| {
                    let z = a * s + b;
                    // log(1 + e^z) - t z, computed stably
                    w * (softplus(z) - t * z)
                })
                .sum()
        };
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut g_a, mut g_b, mut h_aa, mut h_ab, mut h_bb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for ((&s, &t), &c) in scores.iter().zip(&targets).zip(&weights) {
                let p = sigmoid(a * s + b);
                let d = c * (p - t);
                let w = c * (p * (1.0 - p)).max(1e-12);
                g_a += d * s;
                g_b += d;
                h_aa += w * s * s;
                h_ab += w * s;
                h_bb += w;
            }
            // A little ridge keeps the Hessian invertible.
            h_aa += 1e-9;
            h_bb += 1e-9;
            let det = h_aa * h_bb - h_ab * h_ab;
            if det.abs() < 1e-300 {
                break;
            }
            let step_a = (h_bb * g_a - h_ab * g_b) / det;
            let step_b = (h_aa * g_b - h_ab * g_a) / det;
            let mut scale = 1.0;
            let mut improved = false;
            while scale > 1e-10 {
                let (na, nb) = (a - scale * step_a, b - scale * step_b);
                let next = loss(na, nb);
                if next <= current {
                    a = na;
                    b = nb;
                    improved = current - next > 1e-12 * current.abs().max(1.0);
                    current = next;
                    break;
                }
                scale *= 0.5;
            }
            if !improved {
                break;
            }
        }
        Calibration { a, b }
    }
}

/// The logistic function, stable at both ends.
#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[inline]
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Target error rates the thresholds are calibrated for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRule {
    /// At most this share of ham may be rejected outright (0.001 = 0.1%).
    pub max_ham_rejected: f64,
    /// At least this share of spam must be held or rejected (0.95 = 95%).
    pub min_spam_held: f64,
}

impl Default for ThresholdRule {
    fn default() -> Self {
        ThresholdRule {
            // Stricter than the 0.5% the project's bar allows: the shipped model serves blog
            // articles, whose comments differ from the corpora it is calibrated on, and a
            // rejected comment is lost to its author while held spam costs a moderator one click.
            max_ham_rejected: 0.001,
            min_spam_held: 0.95,
        }
    }
}

impl ThresholdRule {
    /// Calibrates thresholds from cross-validated spam probabilities.
    ///
    /// - reject = the lowest probability at which at most ⌊max_ham_rejected · n_ham⌋ ham comments
    ///   score at or above it, and never below 0.5;
    /// - hold = the ⌊(1 − min_spam_held) · n_spam⌋-th lowest spam probability (so at least that
    ///   share of spam scores at or above it), and never above 0.5, so that nothing the model
    ///   considers more likely spam than not is published without a moderator.
    pub fn calibrate(&self, probabilities: &[f64], is_spam: &[bool]) -> Thresholds {
        let mut ham: Vec<f64> = Vec::new();
        let mut spam: Vec<f64> = Vec::new();
        for (&p, &s) in probabilities.iter().zip(is_spam) {
            if s { spam.push(p) } else { ham.push(p) }
        }
        ham.sort_by(|a, b| b.total_cmp(a)); // descending
        spam.sort_by(|a, b| a.total_cmp(b)); // ascending
        let reject = if ham.is_empty() {
            0.5
        } else {
            let allowed = (self.max_ham_rejected * ham.len() as f64).floor() as usize;
            // Just above the (allowed+1)-th highest ham score: only `allowed` ham reach it.
            ham.get(allowed).map_or(0.5, |&p| p.next_up())
        };
        let hold = if spam.is_empty() {
            0.5
        } else {
            let missed = ((1.0 - self.min_spam_held) * spam.len() as f64).floor() as usize;
            spam[missed.min(spam.len() - 1)]
        };
        let reject = reject.clamp(0.5, 1.0);
        let hold = hold.min(0.5).min(reject);
        Thresholds { hold, reject }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_thresholds() {
        let t = Thresholds {
            hold: 0.3,
            reject: 0.9,
        };
        assert_eq!(t.verdict(0.1, 1.0), Verdict::Published);
        assert_eq!(t.verdict(0.3, 1.0), Verdict::Held);
        assert_eq!(t.verdict(0.9, 1.0), Verdict::Rejected);
        // Wording alone is held at most: rejecting needs the sender tokens to point to spam.
        assert_eq!(t.verdict(0.99, 0.0), Verdict::Held);
        assert_eq!(t.verdict(0.99, -2.0), Verdict::Held);
        assert!(
            Thresholds {
                hold: 0.9,
                reject: 0.3
            }
            .validate()
            .is_err()
        );
        assert!(
            Thresholds {
                hold: -0.1,
                reject: 0.3
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn platt_fit_recovers_a_known_slope() {
        // Scores whose true probability is sigmoid(0.5 s - 1): sample deterministically.
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for i in 0..2000 {
            let s = -10.0 + 20.0 * (i as f64) / 2000.0;
            let p = sigmoid(0.5 * s - 1.0);
            for j in 0..10 {
                scores.push(s);
                labels.push((j as f64 + 0.5) / 10.0 < p);
            }
        }
        let c = Calibration::fit(&scores, &labels);
        assert!((c.a - 0.5).abs() < 0.05, "{c:?}");
        assert!((c.b + 1.0).abs() < 0.1, "{c:?}");
    }

    #[test]
    fn an_even_prior_takes_the_training_share_of_spam_out_of_the_probability() {
        // Scores whose true probability is sigmoid(s - 2): far fewer spam than ham. Weighing the
        // classes equally moves the intercept by the log of their ratio (the prior's log-odds)
        // and leaves the slope.
        let (mut scores, mut labels) = (Vec::new(), Vec::new());
        for i in 0..2000 {
            let s = -8.0 + 16.0 * (i as f64) / 2000.0;
            let p = sigmoid(s - 2.0);
            for j in 0..10 {
                scores.push(s);
                labels.push((j as f64 + 0.5) / 10.0 < p);
            }
        }
        let spam = labels.iter().filter(|&&l| l).count() as f64;
        let ham = labels.len() as f64 - spam;
        let data = Calibration::fit(&scores, &labels);
        let even = Calibration::fit_with_share(&scores, &labels, Some(0.5));
        assert!((even.a - data.a).abs() < 0.05, "{even:?} {data:?}");
        assert!(
            (even.b - data.b - (ham / spam).ln()).abs() < 0.1,
            "{even:?} {data:?}, ham/spam {}",
            ham / spam
        );
        assert_eq!(Calibration::fit_with_share(&scores, &labels, None), data);
    }

    #[test]
    fn thresholds_meet_the_rule() {
        // 1000 ham spread over [0, 0.99], 1000 spam over [0.2, 1.0).
        let mut p = Vec::new();
        let mut s = Vec::new();
        for i in 0..1000 {
            p.push(i as f64 / 1000.0 * 0.99);
            s.push(false);
            p.push(0.2 + 0.8 * i as f64 / 1000.0);
            s.push(true);
        }
        let rule = ThresholdRule::default();
        let t = rule.calibrate(&p, &s);
        let ham_rejected = p
            .iter()
            .zip(&s)
            .filter(|&(&p, &s)| !s && p >= t.reject)
            .count();
        let spam_held = p
            .iter()
            .zip(&s)
            .filter(|&(&p, &s)| s && p >= t.hold)
            .count();
        assert!(ham_rejected <= 5, "{ham_rejected} {t:?}");
        assert!(spam_held >= 950, "{spam_held} {t:?}");
        assert!(t.hold <= 0.5 && t.reject >= 0.5);
    }
}
