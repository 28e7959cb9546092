//! Per-fold and mean figures, printed as a table or JSON.

use super::FoldScores;
use crate::engine::Verdict;
use crate::engine::metrics::{Confusion, auc};
use serde::Serialize;
use std::fmt::Write;

/// Shares (0–1) of a class that were published, held and rejected.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct VerdictShares {
    pub published: f64,
    pub held: f64,
    pub rejected: f64,
}

/// Figures for one fold.
#[derive(Debug, Clone, Serialize)]
pub struct FoldReport {
    pub name: String,
    pub ham: usize,
    pub spam: usize,
    pub mcc: f64,
    pub f1: f64,
    pub auc: f64,
    pub accuracy: f64,
    /// Share of spam at p ≥ 0.5.
    pub spam_caught: f64,
    /// Share of ham at p ≥ 0.5.
    pub ham_blocked: f64,
    /// Confusion matrix at p ≥ 0.5.
    pub confusion: Confusion,
    pub hold_threshold: f64,
    pub reject_threshold: f64,
    pub ham_verdicts: VerdictShares,
    pub spam_verdicts: VerdictShares,
}

/// All folds and their means.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub protocol: String,
    pub folds: Vec<FoldReport>,
    pub mean: FoldReport,
}

pub(crate) fn shares(scores: &FoldScores, spam: bool) -> VerdictShares {
    shares_at(
        &scores.probabilities,
        &scores.sender,
        &scores.is_spam,
        |_| scores.thresholds,
        spam,
    )
}

/// The verdict shares of the ham (`spam == false`) or of the spam, comment `i` judged at
/// `thresholds(i)` (thresholds that change along a stream, as recalibration makes them).
pub(crate) fn shares_at(
    probabilities: &[f64],
    sender: &[f64],
    is_spam: &[bool],
    thresholds: impl Fn(usize) -> crate::engine::Thresholds,
    spam: bool,
) -> VerdictShares {
    let mut s = VerdictShares::default();
    let mut n = 0.0;
    for (i, ((&p, &y), &sender)) in probabilities.iter().zip(is_spam).zip(sender).enumerate() {
        if y != spam {
            continue;
        }
        n += 1.0;
        match thresholds(i).verdict(p, sender) {
            Verdict::Published => s.published += 1.0,
            Verdict::Held => s.held += 1.0,
            Verdict::Rejected => s.rejected += 1.0,
        }
    }
    if n > 0.0 {
        s.published /= n;
        s.held /= n;
        s.rejected /= n;
    }
    s
}

impl FoldReport {
    pub fn from_scores(scores: &FoldScores) -> Self {
        let c = Confusion::at(&scores.probabilities, &scores.is_spam, 0.5);
        FoldReport {
            name: scores.name.clone(),
            ham: scores.is_spam.iter().filter(|&&s| !s).count(),
            spam: scores.is_spam.iter().filter(|&&s| s).count(),
            mcc: c.mcc(),
            f1: c.f1(),
            auc: auc(&scores.probabilities, &scores.is_spam),
            accuracy: c.accuracy(),
            spam_caught: c.spam_caught(),
            ham_blocked: c.ham_blocked(),
            confusion: c,
            hold_threshold: scores.thresholds.hold,
            reject_threshold: scores.thresholds.reject,
            ham_verdicts: shares(scores, false),
            spam_verdicts: shares(scores, true),
        }
    }
}

impl EvalReport {
    pub fn new(protocol: String, folds: &[FoldScores]) -> Self {
        let folds: Vec<FoldReport> = folds.iter().map(FoldReport::from_scores).collect();
        let n = folds.len().max(1) as f64;
        let mean_of = |f: &dyn Fn(&FoldReport) -> f64| folds.iter().map(f).sum::<f64>() / n;
        let mean_shares = |f: &dyn Fn(&FoldReport) -> VerdictShares| VerdictShares {
            published: mean_of(&|r| f(r).published),
            held: mean_of(&|r| f(r).held),
            rejected: mean_of(&|r| f(r).rejected),
        };
        let sum_confusion = folds.iter().fold(Confusion::default(), |a, r| Confusion {
            true_spam: a.true_spam + r.confusion.true_spam,
            false_spam: a.false_spam + r.confusion.false_spam,
            true_ham: a.true_ham + r.confusion.true_ham,
            false_ham: a.false_ham + r.confusion.false_ham,
        });
        let mean = FoldReport {
            name: "mean".into(),
            ham: folds.iter().map(|r| r.ham).sum(),
            spam: folds.iter().map(|r| r.spam).sum(),
            mcc: mean_of(&|r| r.mcc),
            f1: mean_of(&|r| r.f1),
            auc: mean_of(&|r| r.auc),
            accuracy: mean_of(&|r| r.accuracy),
            spam_caught: mean_of(&|r| r.spam_caught),
            ham_blocked: mean_of(&|r| r.ham_blocked),
            confusion: sum_confusion,
            hold_threshold: mean_of(&|r| r.hold_threshold),
            reject_threshold: mean_of(&|r| r.reject_threshold),
            ham_verdicts: mean_shares(&|r| r.ham_verdicts),
            spam_verdicts: mean_shares(&|r| r.spam_verdicts),
        };
        EvalReport {
            protocol,
            folds,
            mean,
        }
    }

    /// A plain-text table for the terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.protocol);
        let _ = writeln!(
            out,
            "{:<28} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7}   {:>17}   ham: pub/held/rej %   spam: pub/held/rej %",
            "fold", "ham", "spam", "MCC", "F1", "AUC", "acc", "caught", "blocked", "TP FP TN FN"
        );
        for r in self.folds.iter().chain(std::iter::once(&self.mean)) {
            let c = r.confusion;
            let pct = |s: VerdictShares| {
                format!(
                    "{:5.1} {:5.1} {:5.1}",
                    100.0 * s.published,
                    100.0 * s.held,
                    100.0 * s.rejected
                )
            };
            let _ = writeln!(
                out,
                "{:<28} {:>5} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.1}% {:>6.1}%   {:>4} {:>3} {:>4} {:>3}   {}     {}",
                truncate(&r.name, 28),
                r.ham,
                r.spam,
                r.mcc,
                r.f1,
                r.auc,
                r.accuracy,
                100.0 * r.spam_caught,
                100.0 * r.ham_blocked,
                c.true_spam,
                c.false_spam,
                c.true_ham,
                c.false_ham,
                pct(r.ham_verdicts),
                pct(r.spam_verdicts),
            );
        }
        let _ = writeln!(
            out,
            "confusion matrix at p >= 0.5 (spam positive); verdicts at each fold's calibrated thresholds (mean hold {:.3}, reject {:.3})",
            self.mean.hold_threshold, self.mean.reject_threshold
        );
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}
