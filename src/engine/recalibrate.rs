//! Keeping the reject threshold sound while the model learns a site.
//!
//! Learning moves scores, but the calibration and thresholds are the model file's, fitted on the
//! training corpus. The examples a site teaches are exactly the comments at risk: ham the filter
//! held or rejected and a moderator published. So after every learning round the site's own ham
//! examples are scored **held out** (each as if the model had not learned it, exact for naive
//! Bayes: [`NaiveBayesCore::held_out_score`](super::model::NaiveBayesCore::held_out_score)), and
//! when more than [`SITE_MAX_HAM_REJECTED`] of them would be rejected outright, the reject
//! threshold rises just above them. It never falls below the model file's: a site's labeled
//! examples are the borderline comments moderators looked at, not a sample of its traffic, so they
//! can show that rejecting is too eager but not that it is safe to reject more. The hold
//! threshold and the Platt calibration stay the file's for the same reason (a held comment is
//! one click for a moderator; a rejected one is lost to its author).
//!
//! Recalibration is a function of the base thresholds and the learned examples only, so every
//! replica, a restart and `replyguard train --feedback` reach the same thresholds from the same
//! log.

use super::decision::Verdict;
use super::decision::{Calibration, Thresholds};
use super::features::is_sender_hash;
use super::model::{Example, NaiveBayesCore};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Most of a site's own ham examples that may score as rejected at the thresholds in force
/// (0.5%, half the project's 1% bar): with fewer than 200 ham examples, none may.
pub const SITE_MAX_HAM_REJECTED: f64 = 0.005;

/// The most recent site ham examples recalibration scores (bounds its cost per round).
pub const WINDOW: usize = 10_000;

/// How much of the distance from the base reject threshold to 1 recalibration may take away at
/// most: 0.9 leaves rejection in force for the comments the model is most sure of, however few
/// or however strange the site's rescued comments are. One rescued reader must not turn off
/// rejecting for a whole site.
pub const MAX_RAISE: f64 = 0.9;

/// The thresholds in force after recalibration, and what they were derived from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recalibrated {
    pub thresholds: Thresholds,
    /// Site ham examples scored (net of reversed decisions, at most [`WINDOW`]).
    pub site_ham: usize,
    /// Of those, how many the base thresholds would reject outright.
    pub rejected_at_base: usize,
}

impl Recalibrated {
    /// Whether the reject threshold had to rise above the base one.
    pub fn raised(&self, base: Thresholds) -> bool {
        self.thresholds.reject > base.reject
    }
}

/// Thresholds for `core` (which has learned `site`, in order) that reject at most
/// [`SITE_MAX_HAM_REJECTED`] of the site's own ham held out, and never less strictly than `base`.
///
/// `site` is every learned example in log order, reversals included (negative weights): an
/// example's net weight is what counts, so a decision taken back no longer holds the threshold up.
pub fn recalibrate(
    core: &NaiveBayesCore,
    calibration: Calibration,
    base: Thresholds,
    site: &[&Example],
) -> Recalibrated {
    let mut lessons = SiteLessons::default();
    for example in site {
        lessons.push(example);
    }
    lessons.recalibrate(core, calibration, base, [1.0, 1.0])
}

/// A site's learned examples as recalibration reads them, kept up to date one example at a
/// time: the net weight of each distinct (label, tokens), its last position in the log, and, for
/// ham the filter rejected and a moderator rescued, the example itself.
#[derive(Debug, Clone, Default)]
pub struct SiteLessons {
    net: HashMap<(usize, u64), NetLesson>,
    next: usize,
}

#[derive(Debug, Clone)]
struct NetLesson {
    weight: f64,
    position: usize,
    /// The last example with these tokens, if it is ham that arrived rejected.
    rescued: Option<Example>,
    /// Ham a moderator published (it arrived held or rejected, or came another way), not a
    /// comment that merely stayed published: only the comments moderators looked at are the
    /// site's ham here, and thousands of unremarkable ones must not dilute the 0.5% allowance
    /// back to the file's threshold.
    looked_at: bool,
}

impl SiteLessons {
    /// Adds the next example of the site's log.
    pub fn push(&mut self, example: &Example) {
        let position = self.next;
        self.next += 1;
        let entry = self
            .net
            .entry((example.label.index(), tokens_key(&example.tokens)))
            .or_insert(NetLesson {
                weight: 0.0,
                position,
                rescued: None,
                looked_at: false,
            });
        entry.weight += example.weight;
        entry.position = position;
        // Only a comment the filter rejected and a moderator rescued shows that rejecting is too
        // eager; one the filter held was already judged by the rule that keeps readers safe. And
        // only one with sender evidence (a link, an address, a website) can be rejected at any
        // threshold: without, its held-out sender part is 0 whatever the model learns.
        let has_sender = example.website || example.tokens.iter().any(|&(h, _)| is_sender_hash(h));
        entry.looked_at = example.arrival != Some(Verdict::Published);
        entry.rescued = (example.label == crate::data::Label::Ham
            && example.arrival == Some(Verdict::Rejected)
            && has_sender)
            .then(|| example.clone());
    }

    /// [`recalibrate`] for `core`, which learned these examples with each class's weights
    /// multiplied by `scale`.
    pub fn recalibrate(
        &self,
        core: &NaiveBayesCore,
        calibration: Calibration,
        base: Thresholds,
        scale: [f64; 2],
    ) -> Recalibrated {
        let mut ham: Vec<(usize, f64, Option<&Example>)> = self
            .net
            .iter()
            .filter(|&(&(label, _), lesson)| label == 0 && lesson.looked_at)
            .map(|(_, lesson)| {
                (
                    lesson.position,
                    lesson.weight * scale[0],
                    lesson.rescued.as_ref(),
                )
            })
            .filter(|&(_, weight, _)| weight > 1e-9)
            .collect();
        // The most recent first; the position also makes the order independent of the map's.
        ham.sort_unstable_by_key(|&(position, _, _)| std::cmp::Reverse(position));
        ham.truncate(WINDOW);

        let mut rejectable: Vec<f64> = Vec::new();
        let mut rejected_at_base = 0;
        for &(_, weight, rescued) in &ham {
            let Some(example) = rescued else {
                continue;
            };
            let held_out = core.held_out_score(example, weight);
            // Only comments whose sender tokens point to spam can be rejected at any threshold.
            if held_out.sender > 0.0 {
                let p = calibration.probability(held_out.log_odds);
                if p >= base.reject {
                    rejected_at_base += 1;
                }
                rejectable.push(p);
            }
        }
        let allowed = (SITE_MAX_HAM_REJECTED * ham.len() as f64).floor() as usize;
        rejectable.sort_unstable_by(|a, b| b.total_cmp(a));
        let ceiling = base.reject + MAX_RAISE * (1.0 - base.reject);
        let reject = match rejectable.get(allowed) {
            // Just above the (allowed+1)-th highest: only `allowed` of the site's ham reach it.
            Some(&p) if p >= base.reject => p.next_up().min(ceiling).max(base.reject),
            _ => base.reject,
        };
        Recalibrated {
            thresholds: Thresholds {
                hold: base.hold.min(reject),
                reject,
            },
            site_ham: ham.len(),
            rejected_at_base,
        }
    }
}

fn tokens_key(tokens: &[(u64, u32)]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    tokens.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Comment, Label};
    use crate::train::{Corpus, TrainParams, fit_core};

    fn site_example(corpus: &Corpus, r: usize, label: Label, weight: f64) -> Example {
        Example {
            tokens: corpus.docs[r].clone(),
            label,
            weight,
            website: corpus.website[r],
            arrival: None,
        }
    }

    #[test]
    fn site_ham_that_would_be_rejected_raises_the_reject_threshold_until_taken_back() {
        let rows: Vec<(Comment, Label)> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    (
                        Comment {
                            comment_content: format!("cheap pills discount {i} buy now"),
                            comment_author_url: Some(format!("http://pills{i}.example/buy")),
                            ..Comment::default()
                        },
                        Label::Spam,
                    )
                } else {
                    (
                        Comment::from_text(format!("interesting point about chapter {i}")),
                        Label::Ham,
                    )
                }
            })
            .chain([(
                // A reader who sells things and writes like spam: the site's ham.
                Comment {
                    comment_content: "buy now cheap discount, see my shop".into(),
                    comment_author_url: Some("http://shop.example/buy".into()),
                    ..Comment::default()
                },
                Label::Ham,
            )])
            .collect();
        let params = TrainParams {
            min_df: 1,
            ..TrainParams::default()
        };
        let corpus = Corpus::build(
            rows.iter().map(|(c, l)| (c.view(), *l)),
            &params.tokenizer,
            |_| {},
        );
        let base_rows: Vec<usize> = (0..40).collect();
        let base = fit_core(&corpus, &base_rows, &params).expect("fit");
        let calibration = Calibration::default();
        let thresholds = Thresholds {
            hold: 0.5,
            reject: 0.9,
        };
        let reader = Example {
            arrival: Some(Verdict::Rejected),
            ..site_example(&corpus, 40, Label::Ham, 3.0)
        };
        let learned = base.learn(std::slice::from_ref(&reader), usize::MAX);
        let held_out = learned.held_out_score(&reader, reader.weight);
        assert!(held_out.sender > 0.0 && calibration.probability(held_out.log_odds) >= 0.9);

        // One held-out ham at the reject level, fewer than 200 ham: the threshold rises above it.
        let r = recalibrate(&learned, calibration, thresholds, &[&reader]);
        assert_eq!((r.site_ham, r.rejected_at_base), (1, 1));
        assert!(r.raised(thresholds));
        let ceiling = thresholds.reject + MAX_RAISE * (1.0 - thresholds.reject);
        assert!(r.thresholds.reject <= ceiling, "{r:?}");
        let p = calibration.probability(held_out.log_odds);
        assert_eq!(thresholds_reject(&r, calibration, held_out), p >= ceiling);

        // Comments that merely stayed published are not ham a moderator looked at: hundreds of
        // them do not dilute the allowance back to the file's threshold.
        let stayed: Vec<Example> = (0..400u64)
            .map(|i| Example {
                tokens: vec![(1_000_003 + i, 1)],
                label: Label::Ham,
                weight: 1.0,
                website: false,
                arrival: Some(Verdict::Published),
            })
            .collect();
        let mut site: Vec<&Example> = stayed.iter().collect();
        site.push(&reader);
        let r = recalibrate(&learned, calibration, thresholds, &site);
        assert_eq!(r.site_ham, 1, "{r:?}");
        assert!(r.raised(thresholds));

        // The same reader, held on arrival (not rejected): no evidence that rejecting is too eager.
        let held = Example {
            arrival: Some(Verdict::Held),
            ..reader.clone()
        };
        let r = recalibrate(&learned, calibration, thresholds, &[&held]);
        assert_eq!(r.thresholds, thresholds);

        // The decision taken back (the reader was spam after all): the base thresholds return.
        let back = Example {
            weight: -3.0,
            ..reader.clone()
        };
        let unlearned = learned.learn(std::slice::from_ref(&back), usize::MAX);
        let r = recalibrate(&unlearned, calibration, thresholds, &[&reader, &back]);
        assert_eq!(r.site_ham, 0);
        assert_eq!(r.thresholds, thresholds);

        // Ham well below the reject level changes nothing.
        let quiet = site_example(&corpus, 1, Label::Ham, 3.0);
        let r = recalibrate(&base, calibration, thresholds, &[&quiet]);
        assert_eq!(r.thresholds, thresholds);
    }

    fn thresholds_reject(
        r: &Recalibrated,
        calibration: Calibration,
        score: crate::model::Score,
    ) -> bool {
        r.thresholds
            .verdict(calibration.probability(score.log_odds), score.sender)
            == crate::Verdict::Rejected
    }
}
