//! The moderator's workload on a new site: the protocol a site owner lives.
//!
//! Each site starts from a base model trained without it. Its comments arrive in order; each is
//! scored and given a verdict by the thresholds in force, exactly as the server decides. A
//! simulated moderator then does what a real one does, one action each: decides every held
//! comment, marks published spam as spam, and rescues rejected ham. With `corrections`
//! feedback the model learns only what those actions teach ([`training_label`], the server's own
//! rule) plus the comments that stayed published unchallenged (implicit ham, once
//! [`WorkloadParams::implicit_after`] later comments have arrived); with `all` feedback it learns
//! every comment with its true label (the TREC immediate-feedback protocol). Learning goes
//! through [`learn_round`], the function the server's learner calls, so the figures are the
//! server's.
//!
//! The static model (never learning) runs on the same stream, and both are reported per half:
//! moderator actions per 100 comments, shares of ham held / rejected and of spam published /
//! held, AUC and MCC.

use super::corpus_of_refs;
use crate::data::{Label, LoadedFile};
use crate::domain::moderation::{Status, training_label};
use crate::engine::Classification;
use crate::engine::marked_spam::MarkedSpam;
use crate::engine::metrics::{Confusion, auc};
use crate::engine::model::{Example, Model, ModelMeta};
use crate::engine::online::{
    LearningParams, SiteLearning, with_marked_spam, with_site_evidence, with_site_layer,
    with_site_prior,
};
use crate::engine::site_layer::SiteLayer;
use crate::engine::site_prior::SitePrior;
use crate::engine::train::{Corpus, TrainParams, score_rows, train};
use crate::engine::{EngineError, Verdict};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// What the simulated moderator's decisions teach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Feedback {
    /// Only what the moderator touches (and, after a delay, what stayed published): the server.
    Corrections,
    /// Every comment with its true label, right after it is scored (TREC immediate feedback).
    All,
}

/// Settings of the protocol.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadParams {
    pub feedback: Feedback,
    pub learning: LearningParams,
    /// A published comment nobody challenged is learned as ham once this many later comments
    /// have arrived (the stream's stand-in for the server's delay).
    pub implicit_after: usize,
}

/// Figures over a part of a stream.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Workload {
    pub comments: usize,
    /// Moderator actions per 100 comments: held comments, published spam, rejected ham.
    pub actions_per_100: f64,
    pub ham_held_pct: f64,
    pub ham_rejected_pct: f64,
    pub spam_published_pct: f64,
    pub spam_held_pct: f64,
    pub auc: f64,
    pub mcc: f64,
}

/// The static and the learning model on one half of a stream.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Halves {
    pub first: Workload,
    pub second: Workload,
}

/// One site's result.
#[derive(Debug, Clone, Serialize)]
pub struct SiteWorkload {
    pub site: String,
    pub comments: usize,
    pub static_model: Halves,
    pub learning: Halves,
    /// Examples the learning model learned by the end of the stream (corrections, implicit ham).
    pub learned_corrections: usize,
    pub learned_implicit: usize,
    /// The reject threshold in force at the end of the stream, and the base one.
    pub reject_threshold: f64,
    pub base_reject_threshold: f64,
    /// Every comment's probability and verdict inputs under learning, for `--plot`.
    #[serde(skip)]
    pub stream: super::FoldScores,
}

/// One comment's fate in a run.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    log_odds: f64,
    sender: f64,
    probability: f64,
    verdict: Verdict,
    action: bool,
}

/// Runs the protocol with each of `sites` as the new site, from a base model trained on the
/// other sites plus `base`.
pub fn workload(
    sites: &[LoadedFile],
    base: &[LoadedFile],
    params: &TrainParams,
    protocol: WorkloadParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<SiteWorkload>, EngineError> {
    let all: Vec<&LoadedFile> = sites.iter().chain(base).collect();
    let (corpus, file_of) = corpus_of_refs(&all, params);
    let mut reports = Vec::new();
    for (s, site) in sites.iter().enumerate() {
        let base_rows: Vec<usize> = (0..corpus.len()).filter(|&r| file_of[r] != s).collect();
        let stream = super::prequential::stream_order(site, &corpus, &file_of, s);
        let trained = train(&corpus, &base_rows, params, |_, _| {})?;
        let model = Model {
            meta: ModelMeta {
                replyguard_version: String::new(),
                created_at: String::new(),
                training_files: Vec::new(),
                ham: 0,
                spam: 0,
                hyperparameters: trained.hyperparameters.clone(),
                vocabulary_size: trained.core.vocab.len(),
                thresholds: trained.thresholds,
                threshold_rule: String::new(),
                calibration: trained.calibration,
                cross_validation: None,
                learned_through: None,
                site_weight: None,
                spam_share: Some(trained.spam_share),
            },
            core: trained.core,
        };
        let is_spam: Vec<bool> = stream.iter().map(|&r| corpus.labels[r].is_spam()).collect();
        let fixed = run_static(&model, protocol.learning, &corpus, &stream);
        // The site's texts by corpus row, for what its moderators mark (the sites come first).
        let offset: usize = sites[..s].iter().map(|f| f.rows.len()).sum();
        let texts: HashMap<usize, &str> = site
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (offset + i, row.comment.comment_content.as_str()))
            .collect();
        let mut run = LearningRun::new(&model, protocol, texts);
        let learned: Vec<Outcome> = stream
            .iter()
            .enumerate()
            .map(|(i, &r)| run.step(i, r, &corpus))
            .collect();
        let half = stream.len() / 2;
        let halves = |o: &[Outcome]| Halves {
            first: figures(&o[..half], &is_spam[..half]),
            second: figures(&o[half..], &is_spam[half..]),
        };
        reports.push(SiteWorkload {
            site: super::file_name(site),
            comments: stream.len(),
            static_model: halves(&fixed),
            learning: halves(&learned),
            learned_corrections: run.corrections,
            learned_implicit: run.implicit,
            reject_threshold: run.current.meta.thresholds.reject,
            base_reject_threshold: model.meta.thresholds.reject,
            stream: super::FoldScores {
                name: format!("{} (learning from corrections)", super::file_name(site)),
                probabilities: learned.iter().map(|o| o.probability).collect(),
                sender: learned.iter().map(|o| o.sender).collect(),
                is_spam: is_spam.clone(),
                thresholds: model.meta.thresholds,
                spam_share: model.spam_share(),
            },
        });
        progress(s + 1, sites.len());
    }
    Ok(reports)
}

/// The moderator's action on a comment given its verdict and true label, and the status it ends
/// in: every held comment is decided; published spam is marked spam; rejected ham is rescued.
fn moderate(verdict: Verdict, label: Label) -> (bool, Status) {
    let end = if label.is_spam() {
        Status::Spam
    } else {
        Status::Published
    };
    let action = match verdict {
        Verdict::Held => true,
        Verdict::Published => label.is_spam(),
        Verdict::Rejected => !label.is_spam(),
    };
    (action, end)
}

/// What the learning run knows of its site besides its model: the model file, net spam lessons,
/// the comment's resemblance to marked spam, and the site layer.
type SiteState<'a> = (&'a Model, f64, f64, &'a SiteLayer);

fn outcome(
    model: &Model,
    base: Option<SiteState<'_>>,
    prior: Option<&mut SitePrior>,
    corpus: &Corpus,
    r: usize,
) -> Outcome {
    let score = score_rows(&model.core, corpus, &[r])[0];
    let mut probability = model.meta.calibration.probability(score.log_odds);
    let mut log_odds = score.log_odds;
    let mut verdict = model.meta.thresholds.verdict(probability, score.sender);
    let mut classification = Classification {
        spam_probability: probability,
        log_odds: score.log_odds,
        sender_log_odds: score.sender,
        verdict,
    };
    // The server's rules (`online::with_site_layer`, `with_site_prior`, `with_site_evidence`,
    // `with_marked_spam`), on pre-tokenized rows.
    if let Some((_, _, _, layer)) = base {
        (classification, _) = with_site_layer(model, layer, classification, || {
            corpus.docs[r].iter().map(|&(h, _)| h).collect()
        });
        log_odds = classification.log_odds;
    }
    let shift = prior.map_or(0.0, |prior| prior.hear(classification.spam_probability));
    classification = with_site_prior(model, shift, classification);
    (probability, verdict) = (classification.spam_probability, classification.verdict);
    if let Some((base, site_spam_lessons, resemblance, _)) = base {
        let (classification, _) =
            with_site_evidence(model, site_spam_lessons, shift, classification, || {
                score_rows(&base.core, corpus, &[r])[0]
            });
        verdict = with_marked_spam(classification, resemblance).0.verdict;
    }
    let (action, _) = moderate(verdict, corpus.labels[r]);
    Outcome {
        log_odds,
        sender: score.sender,
        probability,
        verdict,
        action,
    }
}

fn run_static(
    model: &Model,
    learning: LearningParams,
    corpus: &Corpus,
    stream: &[usize],
) -> Vec<Outcome> {
    let mut prior = learning
        .site_prior
        .then(|| SitePrior::new(model.spam_share()));
    stream
        .iter()
        .map(|&r| outcome(model, None, prior.as_mut(), corpus, r))
        .collect()
}

/// The learning model along a stream: what the server's learner holds for one site.
struct LearningRun<'m> {
    base: &'m Model,
    /// The site's texts by corpus row, and what its moderators marked of them.
    texts: HashMap<usize, &'m str>,
    marked: MarkedSpam,
    current: Model,
    site: SiteLearning,
    pending_implicit: VecDeque<(usize, usize)>,
    protocol: WorkloadParams,
    corrections: usize,
    implicit: usize,
    site_spam_lessons: f64,
    layer: SiteLayer,
    /// The site's share of spam, learned from its traffic as the server learns it.
    prior: Option<SitePrior>,
}

impl<'m> LearningRun<'m> {
    fn new(base: &'m Model, protocol: WorkloadParams, texts: HashMap<usize, &'m str>) -> Self {
        LearningRun {
            base,
            texts,
            marked: MarkedSpam::default(),
            current: base.clone(),
            site: SiteLearning::default(),
            pending_implicit: VecDeque::new(),
            protocol,
            corrections: 0,
            implicit: 0,
            site_spam_lessons: 0.0,
            layer: SiteLayer::default(),
            prior: protocol
                .learning
                .site_prior
                .then(|| SitePrior::new(base.spam_share())),
        }
    }

    /// Scores comment `r` (the `i`-th of the stream), lets the moderator act, and learns what
    /// that teaches.
    fn step(&mut self, i: usize, r: usize, corpus: &Corpus) -> Outcome {
        let text = self.texts.get(&r).copied().unwrap_or_default();
        let o = outcome(
            &self.current,
            Some((
                self.base,
                self.site_spam_lessons,
                self.marked.resemblance(text),
                &self.layer,
            )),
            self.prior.as_mut(),
            corpus,
            r,
        );
        let label = corpus.labels[r];
        let mut new = Vec::new();
        // Implicit ham whose delay has passed.
        while let Some(&(due, row)) = self.pending_implicit.front() {
            if due > i {
                break;
            }
            self.pending_implicit.pop_front();
            new.push(lesson(
                corpus,
                row,
                Label::Ham,
                self.protocol.learning.implicit_weight,
                Verdict::Published,
            ));
            self.implicit += 1;
        }
        match self.protocol.feedback {
            Feedback::All => new.push(lesson(
                corpus,
                r,
                label,
                self.protocol.learning.site_weight,
                o.verdict,
            )),
            Feedback::Corrections => {
                let (_, end) = moderate(o.verdict, label);
                if let Some(taught) = training_label(o.verdict, end) {
                    if self.protocol.learning.site_weight > 0.0 {
                        self.marked.mark(text, taught.is_spam(), 1.0);
                    }
                    new.push(lesson(
                        corpus,
                        r,
                        taught,
                        self.protocol.learning.site_weight,
                        o.verdict,
                    ));
                    self.corrections += 1;
                } else if o.verdict == Verdict::Published
                    && end == Status::Published
                    && self.protocol.learning.implicit_weight > 0.0
                {
                    self.pending_implicit
                        .push_back((i + self.protocol.implicit_after, r));
                }
            }
        }
        // The layer learns each lesson once, as the server's does (`ModelHolder::remember_marks`).
        for example in &new {
            self.layer.learn(example);
        }
        if !new.is_empty() {
            for example in &new {
                self.site.push(self.base, example);
            }
            let round =
                self.site
                    .round(self.base, self.base.meta.thresholds, self.protocol.learning);
            self.current = round.model;
            self.site_spam_lessons = round.site_spam_lessons;
        }
        o
    }
}

/// Corpus row `row` as a lesson: its tokens with `label`, `weight`, and its arrival verdict.
fn lesson(corpus: &Corpus, row: usize, label: Label, weight: f64, arrival: Verdict) -> Example {
    Example {
        tokens: corpus.docs[row].clone(),
        label,
        weight,
        website: corpus.website.get(row).copied().unwrap_or(false),
        arrival: Some(arrival),
    }
}

fn figures(outcomes: &[Outcome], is_spam: &[bool]) -> Workload {
    let n = outcomes.len().max(1) as f64;
    let (mut ham, mut spam) = (0.0_f64, 0.0_f64);
    let (mut ham_held, mut ham_rejected, mut spam_published, mut spam_held) = (0.0, 0.0, 0.0, 0.0);
    let mut actions = 0.0;
    for (o, &y) in outcomes.iter().zip(is_spam) {
        actions += f64::from(u8::from(o.action));
        if y {
            spam += 1.0;
            spam_published += f64::from(u8::from(o.verdict == Verdict::Published));
            spam_held += f64::from(u8::from(o.verdict == Verdict::Held));
        } else {
            ham += 1.0;
            ham_held += f64::from(u8::from(o.verdict == Verdict::Held));
            ham_rejected += f64::from(u8::from(o.verdict == Verdict::Rejected));
        }
    }
    let pct = |x: f64, of: f64| if of > 0.0 { 100.0 * x / of } else { 0.0 };
    let log_odds: Vec<f64> = outcomes.iter().map(|o| o.log_odds).collect();
    let p: Vec<f64> = outcomes.iter().map(|o| o.probability).collect();
    Workload {
        comments: outcomes.len(),
        actions_per_100: 100.0 * actions / n,
        ham_held_pct: pct(ham_held, ham),
        ham_rejected_pct: pct(ham_rejected, ham),
        spam_published_pct: pct(spam_published, spam),
        spam_held_pct: pct(spam_held, spam),
        auc: auc(&log_odds, is_spam),
        mcc: Confusion::at(&p, is_spam, 0.5).mcc(),
    }
}

/// Means of the figures over sites (each site counts once).
pub fn mean(parts: &[Workload]) -> Workload {
    let n = parts.len().max(1) as f64;
    let sum = |f: fn(&Workload) -> f64| parts.iter().map(f).sum::<f64>() / n;
    Workload {
        comments: parts.iter().map(|w| w.comments).sum(),
        actions_per_100: sum(|w| w.actions_per_100),
        ham_held_pct: sum(|w| w.ham_held_pct),
        ham_rejected_pct: sum(|w| w.ham_rejected_pct),
        spam_published_pct: sum(|w| w.spam_published_pct),
        spam_held_pct: sum(|w| w.spam_held_pct),
        auc: sum(|w| w.auc),
        mcc: sum(|w| w.mcc),
    }
}
