//! Classification metrics: confusion matrix at a threshold, MCC, F1, accuracy, ROC AUC.

use serde::Serialize;

/// Confusion matrix with spam as the positive class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub true_spam: usize,
    pub false_spam: usize,
    pub true_ham: usize,
    pub false_ham: usize,
}

impl Confusion {
    /// Counts predictions `p >= threshold` → spam.
    pub fn at(probabilities: &[f64], is_spam: &[bool], threshold: f64) -> Self {
        let mut c = Confusion::default();
        for (&p, &s) in probabilities.iter().zip(is_spam) {
            match (p >= threshold, s) {
                (true, true) => c.true_spam += 1,
                (true, false) => c.false_spam += 1,
                (false, false) => c.true_ham += 1,
                (false, true) => c.false_ham += 1,
            }
        }
        c
    }

    /// Matthews correlation coefficient (0 when undefined).
    pub fn mcc(&self) -> f64 {
        let (tp, fp, tn, fn_) = (
            self.true_spam as f64,
            self.false_spam as f64,
            self.true_ham as f64,
            self.false_ham as f64,
        );
        let denom = ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
        if denom == 0.0 {
            0.0
        } else {
            (tp * tn - fp * fn_) / denom
        }
    }

    pub fn f1(&self) -> f64 {
        let tp = self.true_spam as f64;
        let denom = 2.0 * tp + self.false_spam as f64 + self.false_ham as f64;
        if denom == 0.0 { 0.0 } else { 2.0 * tp / denom }
    }

    pub fn accuracy(&self) -> f64 {
        let total = self.true_spam + self.false_spam + self.true_ham + self.false_ham;
        if total == 0 {
            0.0
        } else {
            (self.true_spam + self.true_ham) as f64 / total as f64
        }
    }

    /// Share of spam classified as spam (recall).
    pub fn spam_caught(&self) -> f64 {
        ratio(self.true_spam, self.true_spam + self.false_ham)
    }

    /// Share of ham classified as spam (false-positive rate).
    pub fn ham_blocked(&self) -> f64 {
        ratio(self.false_spam, self.false_spam + self.true_ham)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Area under the ROC curve (Mann–Whitney U; ties count one half). NaN with a single class.
pub fn auc(scores: &[f64], is_spam: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let n_pos = is_spam.iter().filter(|&&s| s).count();
    let n_neg = is_spam.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    // Sum of (average) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if is_spam[k] {
                rank_sum += avg_rank;
            }
        }
        i = j + 1;
    }
    let n_pos = n_pos as f64;
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg as f64)
}

/// ROC curve points `(false-positive rate, true-positive rate)`, from (0,0) to (1,1).
pub fn roc_points(scores: &[f64], is_spam: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n_pos = is_spam.iter().filter(|&&s| s).count().max(1) as f64;
    let n_neg = (is_spam.len() - is_spam.iter().filter(|&&s| s).count()).max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![(0.0, 0.0)];
    let mut i = 0;
    while i < order.len() {
        let score = scores[order[i]];
        while i < order.len() && scores[order[i]] == score {
            if is_spam[order[i]] {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        points.push((fp / n_neg, tp / n_pos));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_derived_metrics() {
        let p = [0.9, 0.8, 0.2, 0.6, 0.1];
        let y = [true, true, true, false, false];
        let c = Confusion::at(&p, &y, 0.5);
        assert_eq!(
            c,
            Confusion {
                true_spam: 2,
                false_spam: 1,
                true_ham: 1,
                false_ham: 1
            }
        );
        assert!((c.f1() - 4.0 / 6.0).abs() < 1e-12);
        assert!((c.mcc() - (2.0 - 1.0) / (3.0f64 * 3.0 * 2.0 * 2.0).sqrt()).abs() < 1e-12);
        assert!((c.accuracy() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn auc_matches_pairwise_definition_with_ties() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.4];
        let y = [false, false, true, true, true];
        // pairs (pos, neg): (0.35,0.1)=1 (0.35,0.4)=0 (0.8,*)=1,1 (0.4,0.1)=1 (0.4,0.4)=0.5
        assert!((auc(&s, &y) - 4.5 / 6.0).abs() < 1e-12);
        assert!(auc(&s, &[true; 5]).is_nan());
        let roc = roc_points(&s, &y);
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
    }
}
