//! A site's own evidence, kept apart from the model file: per token, how many of the site's
//! learned spam and ham comments carry it. Its log-odds are added to the model file's.
//!
//! Why apart: learned into the model file's counts, a site's few lessons are a drop in a corpus
//! of hundreds of thousands of tokens, and every lesson also changes the comment's l2 norm and the
//! class totals, so one spam lesson could even lower the same text's score. Here each class is
//! read as the share of the site's comments of that class that carry a token — the ratio of
//! shares, not of counts, so a site whose corrections are mostly spam does not turn what every
//! comment carries (its comment type, a common word) into spam evidence: a token carried by all
//! comments of both classes weighs nothing, whatever their numbers.

use crate::data::Label;
use foldhash::HashMap as FastMap;

/// Per-token document counts of a site's learned comments, by class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteLayer {
    /// Token hash → weighted number of the site's ham (0) and spam (1) comments carrying it.
    carried: FastMap<u64, [f64; 2]>,
    /// Weighted number of the site's ham (0) and spam (1) comments.
    docs: [f64; 2],
}

/// Pseudo-comments of the prior on each class's share of a token: before a class has comments of
/// its own, a token is taken to be in it as often as in all the site's learned comments
/// (`(k + PRIOR·pooled) / (n + PRIOR)`), so it says nothing until the classes differ.
///
/// Not half and half (`(k + 1) / (n + 2)`, the prior before): that takes a token never seen in a
/// class to be in `1 / (n + 2)` of it, so on a site with many ham lessons (comments that stayed
/// published) and a few spam marks, every token seen once in the ham read as spam evidence, the
/// more the longer the comment — enough to reject the long comment a moderator had just approved.
/// 2 to 20 give the same moderator workloads within 0.1 action per 100; 50 and more lose on the
/// YouTube videos.
pub const PRIOR: f64 = 2.0;

/// Most log-odds one token may add or take away: a site's vocabulary is small, so a single
/// word must not decide a comment alone. On the moderator workload (four YouTube videos as new
/// sites, [`WEIGHT`] 0.5, site-evidence margin 1.0), 2.5 gave 8.6 actions per 100 but rejected 0.5% of ham; 1.5 gave 9.6
/// and 0.3%.
pub const TOKEN_CAP: f64 = 1.5;

/// Comments of each class the site must have taught before its layer is heard in full
/// ([`SiteLayer::confidence`]).
pub const FULL_FROM: f64 = 5.0;

/// How much of the layer's log-odds is added to the model file's. On the same protocol (cap
/// 1.5, margin 1.0): 0.5 → 9.6 actions per 100, ham rejected 0.3%; 0.7 → 8.5 and 0.6%; 1 → 7.9 and 1.8%.
pub const WEIGHT: f64 = 0.5;

impl SiteLayer {
    /// Learns one example of the site's (or takes it back): it counts once, whatever weight it
    /// carries in the model file's counts (an example of weight 0 teaches nothing).
    pub fn learn(&mut self, example: &crate::model::Example) {
        let tokens = example.tokens.iter().map(|&(h, _)| h);
        self.add(tokens, example.label, example.weight.signum());
    }

    /// Learns (weight > 0) or takes back (weight < 0) one comment's distinct tokens.
    pub fn add(&mut self, tokens: impl IntoIterator<Item = u64>, label: Label, weight: f64) {
        let class = label.index();
        self.docs[class] = (self.docs[class] + weight).max(0.0);
        for token in tokens {
            let entry = self.carried.entry(token).or_default();
            entry[class] = (entry[class] + weight).max(0.0);
            if entry[0] <= 0.0 && entry[1] <= 0.0 {
                self.carried.remove(&token);
            }
        }
    }

    /// Weighted number of the site's learned comments per class, ham (0) and spam (1).
    pub fn docs(&self) -> [f64; 2] {
        self.docs
    }

    /// Tokens the layer knows.
    pub fn len(&self) -> usize {
        self.carried.len()
    }

    /// Whether the layer has learned nothing.
    pub fn is_empty(&self) -> bool {
        self.carried.is_empty()
    }

    /// One token's log-odds of spam: the log-ratio of its smoothed shares of the site's spam and
    /// ham comments, capped at ±[`TOKEN_CAP`]; 0 for a token the site has not learned.
    pub fn token_log_odds(&self, token: u64) -> f64 {
        let Some(&[ham, spam]) = self.carried.get(&token) else {
            return 0.0;
        };
        // The token's share of all the site's learned comments, whatever their class.
        let pooled = (ham + spam) / (self.docs[0] + self.docs[1]).max(ham + spam);
        let share = |n: f64, of: f64| (n + PRIOR * pooled) / (of + PRIOR);
        let llr = share(spam, self.docs[1]).ln() - share(ham, self.docs[0]).ln();
        llr.clamp(-TOKEN_CAP, TOKEN_CAP)
    }

    /// A comment's log-odds from the site's evidence: the tokens' log-odds summed and divided by
    /// the square root of how many distinct tokens the comment has, as the model file's l2
    /// norm does, so a long comment is not more certain for its length.
    pub fn log_odds(&self, tokens: impl IntoIterator<Item = u64>) -> f64 {
        let confidence = self.confidence();
        if confidence <= 0.0 {
            return 0.0;
        }
        let (mut sum, mut n) = (0.0, 0usize);
        for token in tokens {
            sum += self.token_log_odds(token);
            n += 1;
        }
        if n == 0 {
            0.0
        } else {
            confidence * sum / (n as f64).sqrt()
        }
    }

    /// How far the layer is heard, from 0 to 1: the smaller class's comments over
    /// [`FULL_FROM`]. One class alone says nothing of what tells the two apart — a single
    /// approval would otherwise make every token of that comment (its length, its comment type)
    /// ham evidence against the next link spam.
    pub fn confidence(&self) -> f64 {
        (self.docs[0].min(self.docs[1]) / FULL_FROM).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site whose comments mostly stay published: what its ham carries, even once, is never
    /// spam evidence for lack of spam lessons; what only its few marked spam carry still is.
    #[test]
    fn many_ham_lessons_do_not_make_rare_words_spam() {
        let mut layer = SiteLayer::default();
        for i in 0..6 {
            layer.add([1, 100 + i], Label::Spam, 1.0);
        }
        for i in 0..80 {
            layer.add([1, 1000 + i], Label::Ham, 1.0);
        }
        assert!(
            layer.token_log_odds(1000) < 0.0,
            "{}",
            layer.token_log_odds(1000)
        );
        assert!(
            layer.token_log_odds(100) > 1.0,
            "{}",
            layer.token_log_odds(100)
        );
        let approved: Vec<u64> = (1000..1080).collect();
        assert!(layer.log_odds(approved) < 0.0);
    }

    /// What every comment of the site carries weighs little, however lopsided the classes;
    /// what only the marked spam carries weighs towards spam, and a take-back undoes a lesson.
    #[test]
    fn shares_not_counts_decide() {
        let mut layer = SiteLayer::default();
        for _ in 0..9 {
            layer.add([1, 2], Label::Spam, 1.0);
        }
        for _ in 0..3 {
            layer.add([1, 3], Label::Ham, 1.0);
        }
        assert!(
            layer.token_log_odds(1).abs() < 0.2,
            "{}",
            layer.token_log_odds(1)
        );
        assert!(layer.token_log_odds(2) > 1.0);
        assert!(layer.token_log_odds(3) < -1.0);
        assert!(layer.token_log_odds(2) <= TOKEN_CAP);
        assert_eq!(layer.token_log_odds(4), 0.0);
        for _ in 0..3 {
            layer.add([1, 3], Label::Ham, -1.0);
        }
        assert_eq!(layer.token_log_odds(3), 0.0);
        assert_eq!(layer.docs(), [0.0, 9.0]);
    }
}
