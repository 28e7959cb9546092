//! Near-copies of the spam a site's moderators marked. Spam comes in campaigns: the same
//! message, lightly varied, again and again on the same site. A text model, even after learning
//! a marked copy, keeps scoring the next copy by the words it shares with all spam and ham;
//! what the moderators marked is sharper evidence. Mail filters keep it as fuzzy hashes of
//! reported spam (rspamd's fuzzy storage, Razor, DCC); this is that idea for comments: each
//! marked text is kept as its set of word pairs, and a new comment whose word pairs are at least
//! [`RESEMBLANCE`] alike (Jaccard) with one marked text — and not as alike with a text the
//! moderators approved — is that campaign again.
//!
//! How often that happens, on the four YouTube videos in date order, second half of each stream
//! against all the spam before it (`K=2 python3 benches/near_duplicates.py`, word pairs,
//! Jaccard ≥ 0.5, ≥ 3 pairs): spam 6.6% / 1.3% / 44.1% / 0.0% (Psy, KatyPerry, LMFAO, Eminem),
//! ham 0.0% / 0.0% / 1.1% / 0.5%. So ham does meet a near-copy of earlier spam now and then
//! (a reader quoting a spammer, a short shared phrase): the rule moves a verdict one step only,
//! and an approved text as alike cancels it.

use foldhash::HashMap as FastMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// How alike (Jaccard of word pairs) a comment and a marked text must be to count as a copy.
pub const RESEMBLANCE: f64 = 0.5;

/// Fewest word pairs a text needs to be compared at all: "great song" resembles everything.
pub const MIN_PAIRS: usize = 3;

/// Most texts one site keeps per class; marks beyond are not kept (a site marking more than this
/// has a campaign the text model and the other rules see by then).
pub const MAX_TEXTS: usize = 20_000;

/// The word pairs of `text`, hashed, sorted and distinct: lower-case runs of letters and digits.
pub fn word_pairs(text: &str) -> Vec<u64> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut pairs: Vec<u64> = words
        .windows(2)
        .map(|pair| {
            // `DefaultHasher::new()` has fixed keys: the same hash in every process and replica.
            let mut h = DefaultHasher::new();
            pair.hash(&mut h);
            h.finish()
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Marked texts of one class, as word-pair sets with an inverted index.
#[derive(Debug, Clone, Default)]
struct Texts {
    /// Each distinct set (keyed by its hash) and how many net marks it has.
    sets: FastMap<u64, (Arc<[u64]>, i32)>,
    /// Word pair → keys of the sets holding it.
    index: FastMap<u64, Vec<u64>>,
}

impl Texts {
    fn mark(&mut self, pairs: &[u64], sign: f64) {
        if pairs.len() < MIN_PAIRS {
            return;
        }
        let key = {
            let mut h = DefaultHasher::new();
            pairs.hash(&mut h);
            h.finish()
        };
        if sign > 0.0 {
            if let Some((_, n)) = self.sets.get_mut(&key) {
                *n += 1;
                return;
            }
            if self.sets.len() >= MAX_TEXTS {
                return;
            }
            self.sets.insert(key, (pairs.into(), 1));
            for pair in pairs {
                self.index.entry(*pair).or_default().push(key);
            }
        } else if let Some((_, n)) = self.sets.get_mut(&key) {
            *n -= 1;
            if *n <= 0 {
                self.sets.remove(&key);
                for pair in pairs {
                    if let Some(keys) = self.index.get_mut(pair) {
                        keys.retain(|k| *k != key);
                        if keys.is_empty() {
                            self.index.remove(pair);
                        }
                    }
                }
            }
        }
    }

    /// The highest Jaccard between `pairs` and one kept set.
    fn resemblance(&self, pairs: &[u64]) -> f64 {
        let mut shared: FastMap<u64, usize> = FastMap::default();
        for pair in pairs {
            for key in self.index.get(pair).into_iter().flatten() {
                *shared.entry(*key).or_default() += 1;
            }
        }
        shared
            .into_iter()
            .filter_map(|(key, n)| {
                let (set, _) = self.sets.get(&key)?;
                Some(n as f64 / (pairs.len() + set.len() - n) as f64)
            })
            .fold(0.0, f64::max)
    }
}

/// What a site's moderators marked spam, and what they approved, as word-pair sets.
#[derive(Debug, Clone, Default)]
pub struct MarkedSpam {
    spam: Texts,
    ham: Texts,
}

impl MarkedSpam {
    /// Learns a moderator's mark: `spam` or not, +1 to add it or −1 to take it back.
    pub fn mark(&mut self, text: &str, spam: bool, sign: f64) {
        let pairs = word_pairs(text);
        if spam {
            self.spam.mark(&pairs, sign);
        } else {
            self.ham.mark(&pairs, sign);
        }
    }

    /// Texts kept as spam.
    pub fn spam_texts(&self) -> usize {
        self.spam.sets.len()
    }

    /// How much `text` is a copy of marked spam: its highest Jaccard with one marked spam text,
    /// or 0 when it has fewer than [`MIN_PAIRS`] word pairs or is at least as alike with a text
    /// the moderators approved.
    pub fn resemblance(&self, text: &str) -> f64 {
        if self.spam.sets.is_empty() {
            return 0.0;
        }
        let pairs = word_pairs(text);
        if pairs.len() < MIN_PAIRS {
            return 0.0;
        }
        let spam = self.spam.resemblance(&pairs);
        if spam < RESEMBLANCE || self.ham.resemblance(&pairs) >= spam {
            return 0.0;
        }
        spam
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaigns_next_copy_resembles_its_marked_one_and_ordinary_comments_do_not() {
        let mut marked = MarkedSpam::default();
        marked.mark(
            "Hey guys check out my new channel and please subscribe, thanks!",
            true,
            1.0,
        );
        let copy = "hey GUYS, check out my new channel and please subscribe!!";
        assert!(marked.resemblance(copy) >= RESEMBLANCE);
        assert_eq!(marked.resemblance("I love this song, check it out"), 0.0);
        assert_eq!(
            marked.resemblance("check out my"),
            0.0,
            "too short to compare"
        );
        // Approved by a moderator as alike: no longer a campaign.
        marked.mark(copy, false, 1.0);
        assert_eq!(marked.resemblance(copy), 0.0);
        marked.mark(copy, false, -1.0);
        assert!(marked.resemblance(copy) >= RESEMBLANCE);
        // Taken back: forgotten.
        marked.mark(
            "Hey guys check out my new channel and please subscribe, thanks!",
            true,
            -1.0,
        );
        assert_eq!(marked.resemblance(copy), 0.0);
        assert_eq!(marked.spam_texts(), 0);
    }
}
