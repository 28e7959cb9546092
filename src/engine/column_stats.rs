//! Per-column statistics of a [`NaiveBayesCore`](super::model::NaiveBayesCore): counts and
//! log-probabilities per class, and the log-likelihood ratio the scorer reads.
//!
//! A model file's columns are kept in arrays ([`ColumnStats::Dense`]). A site's learned model
//! ([`ColumnStats::Site`]) shares the file's arrays and keeps apart only the columns the site's
//! lessons changed or added: every other column keeps its counts, so its log-probability moves
//! by the change of its class's `ln Σ(count + α)` alone, one number per class. A learning round
//! then costs what the site taught, not the size of the vocabulary.

use foldhash::HashMap as FastMap;
use std::borrow::Cow;
use std::sync::Arc;

/// One column's counts and log-probabilities, ham (0) and spam (1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Column {
    pub count: [f64; 2],
    pub log_prob: [f64; 2],
}

impl Column {
    /// The column's log-likelihood ratio, `log_prob[1] − log_prob[0]`.
    #[inline]
    pub fn llr(&self) -> f64 {
        self.log_prob[1] - self.log_prob[0]
    }
}

/// Every column's statistics in arrays.
#[derive(Debug, PartialEq)]
pub(super) struct DenseStats {
    pub count: [Vec<f64>; 2],
    pub log_prob: [Vec<f64>; 2],
    /// `log_prob[1] − log_prob[0]`, precomputed for scoring.
    pub llr: Vec<f64>,
}

impl DenseStats {
    /// The statistics from counts and log-probabilities (the ratios follow).
    pub fn new(count: [Vec<f64>; 2], log_prob: [Vec<f64>; 2]) -> DenseStats {
        let llr = log_prob[1]
            .iter()
            .zip(&log_prob[0])
            .map(|(s, h)| s - h)
            .collect();
        DenseStats {
            count,
            log_prob,
            llr,
        }
    }

    fn len(&self) -> usize {
        self.llr.len()
    }
}

/// A site's columns over a model file's ([`ColumnStats::Site`]).
#[derive(Debug, PartialEq)]
pub(super) struct SiteStats {
    pub file: Arc<DenseStats>,
    /// What a column the site left alone adds to its log-probability, per class: the file's
    /// `ln Σ(count + α)` minus the site model's.
    pub shift: [f64; 2],
    /// The file's columns the site's lessons changed.
    pub changed: FastMap<u32, Column>,
    /// Columns for tokens the file lacks, in column order after the file's.
    pub extra: Vec<Column>,
}

/// The per-column statistics of a core.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ColumnStats {
    /// A model file's, or any core built from counts.
    Dense(Arc<DenseStats>),
    /// A site's learned model: the file's arrays shared, what the site changed apart.
    Site(Arc<SiteStats>),
}

impl ColumnStats {
    /// Column `col`'s statistics; `None` beyond the last column.
    #[inline]
    pub fn column(&self, col: u32) -> Option<Column> {
        let c = col as usize;
        match self {
            ColumnStats::Dense(d) => Some(Column {
                count: [*d.count[0].get(c)?, *d.count[1].get(c)?],
                log_prob: [*d.log_prob[0].get(c)?, *d.log_prob[1].get(c)?],
            }),
            ColumnStats::Site(s) => {
                if c >= s.file.len() {
                    return s.extra.get(c - s.file.len()).copied();
                }
                if let Some(&changed) = s.changed.get(&col) {
                    return Some(changed);
                }
                // A column the site left alone: same counts, its class totals moved.
                Some(Column {
                    count: [s.file.count[0][c], s.file.count[1][c]],
                    log_prob: [
                        s.file.log_prob[0][c] + s.shift[0],
                        s.file.log_prob[1][c] + s.shift[1],
                    ],
                })
            }
        }
    }

    /// Column `col`'s log-likelihood ratio (0 beyond the last column).
    #[inline]
    pub fn llr(&self, col: u32) -> f64 {
        match self {
            ColumnStats::Dense(d) => d.llr.get(col as usize).copied().unwrap_or_default(),
            ColumnStats::Site(_) => self.column(col).map_or(0.0, |c| c.llr()),
        }
    }

    /// Every column's count for `class`, in column order.
    pub fn counts(&self, class: usize) -> Cow<'_, [f64]> {
        match self {
            ColumnStats::Dense(d) => Cow::Borrowed(&d.count[class]),
            ColumnStats::Site(s) => {
                let n = s.file.len() + s.extra.len();
                Cow::Owned(
                    (0..n as u32)
                        .map(|col| self.column(col).map_or(0.0, |c| c.count[class]))
                        .collect(),
                )
            }
        }
    }

    /// The arrays, when the statistics are [`Dense`](ColumnStats::Dense).
    pub fn dense(&self) -> Option<&Arc<DenseStats>> {
        match self {
            ColumnStats::Dense(d) => Some(d),
            ColumnStats::Site(_) => None,
        }
    }
}
