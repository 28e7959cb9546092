//! Prequential evaluation (test, then train), the TREC Spam Track's immediate-feedback protocol:
//! a new site starts from a base model, and each of its comments, in the order they arrived, is
//! scored before the model learns it. With feedback the model learns every comment right after
//! scoring it (as a moderator's decision would teach it); without, it stays the base model.

use super::FoldScores;
use crate::data::LoadedFile;
use crate::engine::EngineError;
use crate::engine::Thresholds;
use crate::engine::metrics::{Confusion, auc};
use crate::engine::model::Example;
use crate::engine::recalibrate::recalibrate;
use crate::engine::train::{TrainParams, score_rows, train};
use serde::Serialize;

/// Figures of one site's stream, over its second half (the first half is the warm-up).
#[derive(Debug, Clone, Serialize)]
pub struct StreamFigures {
    pub auc: f64,
    pub mcc: f64,
    /// Verdicts of the ham and of the spam at the base model's thresholds: while the model
    /// learns, its calibration and thresholds stay those of the base model, and these show
    /// whether they still hold (rejected ham above all).
    pub ham_verdicts: super::report::VerdictShares,
    pub spam_verdicts: super::report::VerdictShares,
    /// With feedback: the verdicts at the thresholds recalibrated from the site's examples
    /// learned so far ([`crate::engine::recalibrate`]), as a server applies them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recalibrated: Option<Verdicts>,
}

/// Verdict shares of the ham and of the spam.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Verdicts {
    pub ham: super::report::VerdictShares,
    pub spam: super::report::VerdictShares,
}

/// One site's result: without and with feedback, plus each comment's scores with feedback.
#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub site: String,
    pub comments: usize,
    pub without_feedback: StreamFigures,
    pub with_feedback: StreamFigures,
    #[serde(skip)]
    pub stream: FoldScores,
}

/// The corpus rows of site `s` (file `site`) in the order they arrived: by date when every one
/// has a date, else in file order.
pub(crate) fn stream_order(
    site: &LoadedFile,
    corpus: &crate::engine::train::Corpus,
    file_of: &[usize],
    s: usize,
) -> Vec<usize> {
    let mut stream: Vec<usize> = (0..corpus.len()).filter(|&r| file_of[r] == s).collect();
    let first = stream.first().copied().unwrap_or(0);
    if site
        .rows
        .iter()
        .all(|r| r.comment.comment_date_gmt.is_some())
    {
        stream.sort_by(|&a, &b| {
            site.rows[a - first]
                .comment
                .comment_date_gmt
                .cmp(&site.rows[b - first].comment.comment_date_gmt)
                .then(a.cmp(&b))
        });
    }
    stream
}

/// Runs the protocol with each of `sites` as the new site; the base model is trained on the
/// other sites plus `base`. The site's examples count `site_weight` times (a site's own
/// decisions are the best evidence it has).
pub fn prequential(
    sites: &[LoadedFile],
    base: &[LoadedFile],
    site_weight: f64,
    params: &TrainParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<SiteReport>, EngineError> {
    let all: Vec<&LoadedFile> = sites.iter().chain(base).collect();
    let (corpus, file_of) = super::corpus_of_refs(&all, params);
    let mut reports = Vec::new();
    for (s, site) in sites.iter().enumerate() {
        let base_rows: Vec<usize> = (0..corpus.len()).filter(|&r| file_of[r] != s).collect();
        let stream = stream_order(site, &corpus, &file_of, s);
        let trained = train(&corpus, &base_rows, params, |_, _| {})?;
        let is_spam: Vec<bool> = stream.iter().map(|&r| corpus.labels[r].is_spam()).collect();
        // A server recalibrates after every learning round; a long stream here every
        // `every` examples, which keeps the replay linear in practice.
        let every = (stream.len() / 1000).max(1);
        let run = |feedback: bool| {
            let mut core = trained.core.clone();
            let mut log_odds = Vec::with_capacity(stream.len());
            let mut sender = Vec::with_capacity(stream.len());
            let mut thresholds = Vec::with_capacity(stream.len());
            let mut in_force = trained.thresholds;
            let mut site: Vec<Example> = Vec::new();
            for &r in &stream {
                let score = score_rows(&core, &corpus, &[r])[0];
                log_odds.push(score.log_odds);
                sender.push(score.sender);
                thresholds.push(in_force);
                if feedback {
                    let example = Example {
                        tokens: corpus.docs[r].clone(),
                        label: corpus.labels[r],
                        weight: site_weight,
                        website: corpus.website.get(r).copied().unwrap_or(false),
                        arrival: None,
                    };
                    core = core.learn(std::slice::from_ref(&example), usize::MAX);
                    site.push(example);
                    if site.len().is_multiple_of(every) {
                        let refs: Vec<&Example> = site.iter().collect();
                        in_force =
                            recalibrate(&core, trained.calibration, trained.thresholds, &refs)
                                .thresholds;
                    }
                }
            }
            (log_odds, sender, thresholds)
        };
        let half = stream.len() / 2;
        let figures = |log_odds: &[f64], sender: &[f64], recalibrated: Option<&[Thresholds]>| {
            let p: Vec<f64> = log_odds
                .iter()
                .map(|&s| trained.calibration.probability(s))
                .collect();
            let second_half = FoldScores {
                name: String::new(),
                probabilities: p[half..].to_vec(),
                sender: sender[half..].to_vec(),
                is_spam: is_spam[half..].to_vec(),
                thresholds: trained.thresholds,
                spam_share: trained.spam_share,
            };
            StreamFigures {
                auc: auc(&log_odds[half..], &is_spam[half..]),
                mcc: Confusion::at(&p[half..], &is_spam[half..], 0.5).mcc(),
                ham_verdicts: super::report::shares(&second_half, false),
                spam_verdicts: super::report::shares(&second_half, true),
                recalibrated: recalibrated.map(|t| {
                    let t = &t[half..];
                    let at = |spam| {
                        super::report::shares_at(
                            &p[half..],
                            &sender[half..],
                            &is_spam[half..],
                            |i| t[i],
                            spam,
                        )
                    };
                    Verdicts {
                        ham: at(false),
                        spam: at(true),
                    }
                }),
            }
        };
        let (plain, plain_sender, _) = run(false);
        let (learned, sender, in_force) = run(true);
        reports.push(SiteReport {
            site: super::file_name(site),
            comments: stream.len(),
            without_feedback: figures(&plain, &plain_sender, None),
            with_feedback: figures(&learned, &sender, Some(&in_force)),
            stream: FoldScores {
                name: format!("{} (with feedback)", super::file_name(site)),
                probabilities: learned
                    .iter()
                    .map(|&s| trained.calibration.probability(s))
                    .collect(),
                sender,
                is_spam,
                thresholds: trained.thresholds,
                spam_share: trained.spam_share,
            },
        });
        progress(s + 1, sites.len());
    }
    Ok(reports)
}
