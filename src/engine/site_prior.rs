//! A site's own share of spam, learned from its traffic without any label.
//!
//! A model's probabilities carry the spam share of its training corpora (13.5% on the shipped
//! mix, an accident of which corpora exist). A site's traffic has its own: a quiet blog sees a
//! few percent, a popular video's comment section half. Bayes' rule says how a probability
//! changes with the prior: its log-odds move by `logit(site share) − logit(model share)`, the
//! likelihood ratio itself unchanged (Saerens, Latinne & Decaestecker, "Adjusting the outputs of
//! a classifier to new a priori probabilities", 2002). The site's share is estimated with their
//! EM, run online (Titterington 1984): each comment's posterior at the current estimate moves
//! the estimate a step `1 / (n + STRENGTH)`, so a new site starts at the model's share and its
//! own traffic takes over within a few dozen comments; the step never falls below
//! `1 / WINDOW`, so the estimate follows a site whose mix changes.
//!
//! The move is bounded ([`MAX_DISTANCE`], [`DEAD_ZONE`]): a flood of spam makes the site's next borderline comment
//! more suspect, never a certain reject (rejecting still needs sender evidence,
//! [`Thresholds::verdict`](super::decision::Thresholds::verdict)), and a clean stretch never
//! waves spam through.

use super::decision::sigmoid;
use std::collections::HashMap;
use std::sync::Mutex;

/// Pseudo-comments at the model's share a new site's estimate starts with.
pub const STRENGTH: f64 = 20.0;

/// The estimate weighs about the last this many comments (the smallest step is `1 / WINDOW`).
pub const WINDOW: f64 = 500.0;

/// Farthest the site's share may lie from the model's, in log-odds.
pub const MAX_DISTANCE: f64 = 2.0;

/// How far (in log-odds) a site's estimated share must lie from the model's before it moves any
/// comment, and by how much less it moves them. The estimate reads the model's own
/// probabilities, so a model that errs on a new site makes its errors look like a change of mix:
/// on `eval --leave-one-file-out` of the YouTube videos (model and videos all about half spam)
/// the estimates wandered up to 0.7 log-odds from the truth. Without this margin the mean MCC
/// there fell 0.878 → 0.847; at 0.5, 0.865; at 0.75, 0.872; at 1, 0.878 — while the full mix's
/// new videos (1.9 log-odds from the training share; 0.812 unshifted) reached 0.853, 0.851,
/// 0.851 and 0.839 (model card).
pub const DEAD_ZONE: f64 = 0.75;

/// One site's running estimate of its share of spam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SitePrior {
    /// The share of spam the model's probabilities carry.
    model_share: f64,
    /// The site's estimated share of spam.
    share: f64,
    /// Comments observed.
    seen: f64,
}

impl SitePrior {
    /// A site that has seen nothing yet: its share is the model's (`model_share`, clamped into
    /// (0, 1)).
    pub fn new(model_share: f64) -> Self {
        let model_share = usable_share(model_share);
        SitePrior {
            model_share,
            share: model_share,
            seen: 0.0,
        }
    }

    /// The site's estimated share of spam.
    pub fn share(&self) -> f64 {
        self.share
    }

    /// Comments observed so far.
    pub fn seen(&self) -> u64 {
        self.seen as u64
    }

    /// Log-odds the site's share adds to a comment's calibrated log-odds (negative on a site with
    /// less spam than the training corpora): the distance between the site's share and the
    /// model's in log-odds, less [`DEAD_ZONE`]; at most `MAX_DISTANCE − DEAD_ZONE` either way.
    pub fn shift(&self) -> f64 {
        let distance = logit(self.share) - logit(self.model_share);
        distance.signum() * (distance.abs() - DEAD_ZONE).max(0.0)
    }

    /// The shift in force for one new comment of the site, which it then learns from
    /// (`probability`: the model's, before the shift). What the server does with each comment.
    pub fn hear(&mut self, probability: f64) -> f64 {
        let shift = self.shift();
        self.observe(probability);
        shift
    }

    /// Learns from one comment of the site: `probability` is the model's spam probability for
    /// it at the model's share (before [`shift`](Self::shift)). Non-finite input is ignored.
    pub fn observe(&mut self, probability: f64) {
        if !probability.is_finite() {
            return;
        }
        // EM's E-step: the comment's posterior at the current estimate (all of it, not the
        // served shift).
        let distance = logit(self.share) - logit(self.model_share);
        let posterior = shifted(probability.clamp(0.0, 1.0), distance);
        let step = 1.0 / (self.seen + 1.0 + STRENGTH).min(WINDOW);
        self.share += step * (posterior - self.share);
        // Kept within reach, so a long one-sided stretch is undone as quickly as it came.
        let (low, high) = (
            sigmoid(logit(self.model_share) - MAX_DISTANCE),
            sigmoid(logit(self.model_share) + MAX_DISTANCE),
        );
        self.share = self.share.clamp(low, high);
        self.seen += 1.0;
    }
}

/// Every site's [`SitePrior`], shared by the server's request threads. Kept in memory: after a
/// restart a site starts again at the model's share and its traffic takes over within a few dozen
/// comments ([`STRENGTH`]); each replica learns from the comments it scores.
#[derive(Debug, Default)]
pub struct SitePriors {
    sites: Mutex<HashMap<String, SitePrior>>,
}

impl SitePriors {
    /// The shift in force for `site`, whose model's probabilities carry `model_share` (0 for a
    /// site not heard yet, or heard under a model of another share).
    pub fn shift(&self, site: &str, model_share: f64) -> f64 {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites
            .get(site)
            .filter(|prior| prior.model_share == usable_share(model_share))
            .map_or(0.0, SitePrior::shift)
    }

    /// The shift in force for `site`, then learns from one new comment of it (`probability`:
    /// the model's, before the shift).
    pub fn hear(&self, site: &str, model_share: f64, probability: f64) -> f64 {
        let fresh = SitePrior::new(model_share);
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        // Looked up by `&str` first: the key is copied once per site, not once per comment.
        let prior = match sites.get_mut(site) {
            Some(prior) => prior,
            None => sites.entry(site.to_owned()).or_insert(fresh),
        };
        if prior.model_share != fresh.model_share {
            *prior = fresh;
        }
        prior.hear(probability)
    }

    /// `site`'s estimate, if it has heard any comment.
    pub fn get(&self, site: &str) -> Option<SitePrior> {
        let sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        sites.get(site).copied()
    }
}

/// `probability` with `shift` added to its log-odds.
pub fn shifted(probability: f64, shift: f64) -> f64 {
    if shift == 0.0 || probability <= 0.0 || probability >= 1.0 {
        return probability;
    }
    sigmoid(logit(probability) + shift)
}

/// The probabilities of one site's comments, in the order they arrived, as the server gives
/// them: each shifted by the site's share learned from the comments before it. What `eval`'s
/// per-file protocols report (every test file is a site).
pub fn stream(probabilities: &[f64], model_share: f64) -> Vec<f64> {
    let mut prior = SitePrior::new(model_share);
    probabilities
        .iter()
        .map(|&p| shifted(p, prior.hear(p)))
        .collect()
}

/// `model_share` kept inside (0, 1), where its log-odds are finite.
fn usable_share(model_share: f64) -> f64 {
    if model_share.is_finite() {
        model_share.clamp(1e-3, 1.0 - 1e-3)
    } else {
        0.5
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` comments of a site with `spam_share` spam, evenly interleaved, as a model calibrated at
    /// share `model` scores them: a spam comment's likelihood ratio is `e^s`, a ham's `e^-s`.
    fn traffic(spam_share: f64, n: usize, model: f64, s: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let spam = ((i + 1) as f64 * spam_share).floor() > (i as f64 * spam_share).floor();
                let ratio = if spam { s } else { -s };
                shifted(0.5, ratio + logit(model))
            })
            .collect()
    }

    #[test]
    fn a_new_site_starts_at_the_models_share() {
        let prior = SitePrior::new(0.135);
        assert_eq!(prior.shift(), 0.0);
        assert_eq!(stream(&[0.3], 0.135), vec![0.3]);
    }

    #[test]
    fn the_estimate_finds_the_sites_share_from_unlabeled_traffic() {
        for (real, model) in [(0.5, 0.135), (0.05, 0.135), (0.3, 0.3), (0.2, 0.6)] {
            let mut prior = SitePrior::new(model);
            for p in traffic(real, 600, model, 3.0) {
                prior.observe(p);
            }
            assert!(
                (prior.share() - real).abs() < 0.05,
                "real {real}, model {model}: estimated {}",
                prior.share()
            );
        }
    }

    #[test]
    fn a_new_sites_traffic_takes_over_within_a_few_dozen_comments() {
        let mut prior = SitePrior::new(0.135);
        for p in traffic(0.5, 50, 0.135, 3.0) {
            prior.observe(p);
        }
        assert!(prior.share() > 0.35, "{}", prior.share());
        assert!(prior.shift() > 0.5, "{}", prior.shift());
    }

    #[test]
    fn the_shift_is_bounded_whatever_the_traffic() {
        let mut prior = SitePrior::new(0.135);
        for _ in 0..5_000 {
            prior.observe(1.0);
        }
        let most = MAX_DISTANCE - DEAD_ZONE;
        assert!((prior.shift() - most).abs() < 1e-9, "{}", prior.shift());
        // ... and a clean stretch brings it back within a window.
        for _ in 0..2_000 {
            prior.observe(0.001);
        }
        assert!((prior.shift() + most).abs() < 1e-9, "{}", prior.shift());
        prior.observe(f64::NAN);
        assert!(prior.shift().is_finite());
    }

    #[test]
    fn a_site_near_the_models_share_is_not_moved() {
        let mut prior = SitePrior::new(0.5);
        for p in traffic(0.6, 600, 0.5, 3.0) {
            prior.observe(p);
        }
        assert!((prior.share() - 0.6).abs() < 0.05, "{}", prior.share());
        assert_eq!(prior.shift(), 0.0);
    }

    #[test]
    fn each_site_learns_apart_and_a_new_model_starts_it_again() {
        let priors = SitePriors::default();
        assert_eq!(priors.shift("blog", 0.135), 0.0);
        let mut last = 0.0;
        for _ in 0..100 {
            last = priors.hear("blog", 0.135, 0.99);
        }
        assert!(last > 0.0 && priors.shift("blog", 0.135) >= last);
        assert_eq!(priors.get("blog").map(|p| p.seen()), Some(100));
        assert_eq!(
            priors.shift("shop", 0.135),
            0.0,
            "another site is not moved"
        );
        assert_eq!(
            priors.shift("blog", 0.3),
            0.0,
            "under a model of another share"
        );
        assert_eq!(priors.hear("blog", 0.3, 0.99), 0.0);
        assert_eq!(priors.get("blog").map(|p| p.seen()), Some(1));
    }

    #[test]
    fn a_shift_moves_the_log_odds_by_exactly_that_much() {
        let p = 0.2;
        let q = shifted(p, 1.5);
        assert!((logit(q) - logit(p) - 1.5).abs() < 1e-12);
        assert_eq!(shifted(0.0, 1.0), 0.0);
        assert_eq!(shifted(1.0, -1.0), 1.0);
    }
}
