//! The model in service, swappable without a restart: readers take a cheap snapshot (`arc-swap`),
//! a reload replaces it atomically, and requests in flight finish on the model they started with.
//!
//! When the configured file cannot be loaded at start (missing, truncated, corrupt), the server
//! still starts, scoring with the model shipped inside the binary, and says so: an error in the
//! log, `"model": {"source": "shipped", "problem": …}` on `/healthz`. Reloading once the file is
//! fixed switches to it. A comment section that stops taking comments because of a model file is
//! worse than one filtered by the shipped model for a while.

use super::site_rules::DEFAULT_SITE;
use crate::engine::marked_spam::MarkedSpam;
use crate::engine::model::Example;
use crate::engine::online::{self, LearningParams, SiteLearning};
use crate::engine::recalibrate::Recalibrated;
use crate::engine::site_layer::SiteLayer;
use crate::engine::site_prior::{SitePrior, SitePriors};
use crate::engine::{EngineError, Model, model_file};
use crate::storage::LearnedExample;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The model file shipped with replyguard, compiled in as the fallback.
pub const SHIPPED_MODEL: &[u8] = include_bytes!("../../models/default.rgm");

/// A loaded model and how to name it.
pub struct ServedModel {
    pub model: Model,
    /// The model file (with the operator's overrides) before anything the site taught it: each
    /// learning round rebuilds from it, and the verdict reads the site's own evidence against it.
    pub base: Arc<Model>,
    /// First 12 hex digits of the model file's sha256.
    pub version: String,
    /// Why the configured file is not the one serving (the shipped model stands in), if so.
    pub problem: Option<String>,
    /// Id of the last learning-log entry this model has learned (0: none).
    pub learned_through: i64,
    /// Examples learned on top of the model file.
    pub learned: usize,
    /// When the last example was learned (RFC 3339), if any.
    pub learned_at: Option<String>,
    /// The thresholds of the model file (with the operator's overrides), before recalibration.
    pub base_thresholds: crate::engine::Thresholds,
    /// The last recalibration from the site's own examples, once any were learned.
    pub recalibrated: Option<Recalibrated>,
    /// Net spam lessons the site has taught ([`online::Round::site_spam_lessons`]).
    pub site_spam_lessons: f64,
}

/// Operator overrides of the model's thresholds, applied to every model loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThresholdOverrides {
    pub hold: Option<f64>,
    pub reject: Option<f64>,
}

/// Holds the current model and the path it is reloaded from.
///
/// The model file is shared by every site; each site's lessons teach that site's own model
/// only (a site here is the built-in pages' default site, or one Akismet key's checks), so one
/// site's moderators, or one API key holder, cannot move another site's verdicts. A site that
/// has taught nothing is served the file's model itself.
pub struct ModelHolder {
    path: PathBuf,
    overrides: ThresholdOverrides,
    current: ArcSwap<Served>,
    learning: LearningParams,
    /// Every example learned since start, with its log id and site, in order: a reloaded model
    /// file learns them again (those after the file's own `learned_through`).
    learned: Mutex<Vec<(i64, String, Example)>>,
    /// What each site's moderators marked spam or approved, as texts
    /// ([`MarkedSpam`]): kept apart from the model, since a model file reload does not change it.
    marked: Mutex<HashMap<String, Arc<MarkedSpam>>>,
    /// Each site's layer of its own evidence ([`SiteLayer`]), from every lesson of its log,
    /// those a model file holds included: like the marks, kept apart from the model file, so
    /// `train --feedback` and a reload do not empty it.
    layers: Mutex<HashMap<String, Arc<SiteLayer>>>,
    /// Each site's examples on top of the model file, kept so that a learning round costs what
    /// the new examples touch ([`SiteLearning`]). Only the learning task writes it.
    sites: Mutex<HashMap<String, SiteLearning>>,
    /// Each site's share of spam learned from its traffic ([`SitePriors`]).
    priors: SitePriors,
}

/// What is serving now: the file's model and each site's.
struct Served {
    file: Arc<ServedModel>,
    sites: HashMap<String, Arc<ServedModel>>,
    /// Id of the last learning-log entry learned, whichever site it taught.
    learned_through: i64,
}

impl Served {
    fn of(file: ServedModel) -> Served {
        Served {
            learned_through: file.learned_through,
            file: Arc::new(file),
            sites: HashMap::new(),
        }
    }

    fn site(&self, site: &str) -> Arc<ServedModel> {
        self.sites
            .get(site)
            .cloned()
            .unwrap_or_else(|| self.file.clone())
    }
}

fn load(path: &PathBuf, overrides: ThresholdOverrides) -> Result<ServedModel, EngineError> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::ModelRead {
        path: path.clone(),
        source,
    })?;
    decode(&bytes, path, overrides)
}

fn decode(
    bytes: &[u8],
    path: &Path,
    overrides: ThresholdOverrides,
) -> Result<ServedModel, EngineError> {
    let mut model = model_file::decode(bytes, path)?;
    let base = model.thresholds();
    let thresholds = crate::engine::Thresholds {
        hold: overrides.hold.unwrap_or(base.hold),
        reject: overrides.reject.unwrap_or(base.reject),
    };
    model
        .set_thresholds(thresholds)
        .map_err(|reason| EngineError::ModelFormat {
            path: path.to_path_buf(),
            reason: format!("threshold overrides do not fit this model: {reason}"),
        })?;
    let version = model_file::version_of(bytes);
    let learned_through = model.meta.learned_through.unwrap_or(0);
    Ok(ServedModel {
        base_thresholds: model.thresholds(),
        base: Arc::new(model.clone()),
        model,
        version,
        problem: None,
        learned_through,
        learned: 0,
        learned_at: None,
        recalibrated: None,
        site_spam_lessons: 0.0,
    })
}

impl ModelHolder {
    /// Loads the model at `path`, or the shipped one if that file cannot be loaded (see the
    /// module comment). Fails only if the threshold overrides do not fit the shipped model.
    pub fn open(
        path: PathBuf,
        overrides: ThresholdOverrides,
        learning: LearningParams,
    ) -> Result<Self, EngineError> {
        let served = match load(&path, overrides) {
            Ok(served) => served,
            Err(problem) => {
                tracing::error!(error = %problem, "the model file cannot be loaded; scoring with the shipped model until it is fixed and reloaded");
                let mut shipped = decode(SHIPPED_MODEL, Path::new("<shipped model>"), overrides)?;
                shipped.problem = Some(problem.to_string());
                shipped
            }
        };
        Ok(ModelHolder {
            path,
            overrides,
            current: ArcSwap::from_pointee(Served::of(served)),
            learning,
            learned: Mutex::new(Vec::new()),
            marked: Mutex::new(HashMap::new()),
            layers: Mutex::new(HashMap::new()),
            sites: Mutex::new(HashMap::new()),
            priors: SitePriors::default(),
        })
    }

    /// The log-odds `site`'s own share of spam adds to its comments now (0 when
    /// `--no-site-prior`).
    pub fn site_prior_shift(&self, site: &str, served: &ServedModel) -> f64 {
        if !self.learning.site_prior {
            return 0.0;
        }
        self.priors.shift(site, served.model.spam_share())
    }

    /// [`site_prior_shift`](Self::site_prior_shift), then learns from one new comment of `site`
    /// whose spam probability before the shift is `probability`.
    pub fn hear_site_prior(&self, site: &str, served: &ServedModel, probability: f64) -> f64 {
        if !self.learning.site_prior {
            return 0.0;
        }
        self.priors
            .hear(site, served.model.spam_share(), probability)
    }

    /// `site`'s estimated share of spam and the comments it was learned from, once it has heard
    /// any.
    pub fn site_prior(&self, site: &str) -> Option<SitePrior> {
        self.priors.get(site)
    }

    /// The default site's model, for one request (and for `/healthz`).
    pub fn current(&self) -> Arc<ServedModel> {
        self.for_site(DEFAULT_SITE)
    }

    /// The model `site` is served: the file's with what that site taught.
    pub fn for_site(&self, site: &str) -> Arc<ServedModel> {
        self.current.load().site(site)
    }

    /// What `site`'s moderators marked, if they marked anything.
    pub fn marked_spam(&self, site: &str) -> Option<Arc<MarkedSpam>> {
        let marked = self.marked.lock().unwrap_or_else(|e| e.into_inner());
        marked.get(site).cloned()
    }

    /// `site`'s layer of its own evidence, once it has learned anything.
    pub fn layer(&self, site: &str) -> Option<Arc<SiteLayer>> {
        let layers = self.layers.lock().unwrap_or_else(|e| e.into_inner());
        layers.get(site).cloned()
    }

    /// Remembers the texts of the moderators' marks among `entries` (every source but implicit
    /// ham: a comment nobody challenged is no one's mark), and adds every entry to its site's
    /// layer. Called at start for the entries a model file already holds; [`learn`](Self::learn)
    /// does the same for each new entry with the examples it has already tokenized.
    pub fn remember_marks<'e>(&self, entries: impl IntoIterator<Item = &'e LearnedExample>) {
        let entries: Vec<&LearnedExample> = entries.into_iter().collect();
        let file = self.current.load().file.clone();
        let lessons: Vec<_> = entries.iter().map(|e| e.lesson()).collect();
        let examples = online::examples(&file.model, &lessons, self.learning);
        self.remember(&entries, &examples);
    }

    /// [`remember_marks`](Self::remember_marks) for `entries` tokenized as `examples` (one each,
    /// in order).
    fn remember(&self, entries: &[&LearnedExample], examples: &[Example]) {
        // A site weight of 0 is a server that learns nothing from its moderators.
        if self.learning.site_weight <= 0.0 {
            return;
        }
        {
            let mut layers = self.layers.lock().unwrap_or_else(|e| e.into_inner());
            for (e, example) in entries.iter().zip(examples) {
                Arc::make_mut(layers.entry(e.site.clone()).or_default()).learn(example);
            }
        }
        let mut marked = self.marked.lock().unwrap_or_else(|e| e.into_inner());
        for e in entries {
            if e.source == crate::storage::IMPLICIT_SOURCE {
                continue;
            }
            let site = marked.entry(e.site.clone()).or_default();
            Arc::make_mut(site).mark(&e.comment.comment_content, e.label.is_spam(), e.sign);
        }
    }

    /// Loads the file again; on success swaps it in and returns the new version. On failure the
    /// old model keeps serving and the error says what is wrong with the file.
    pub fn reload(&self) -> Result<String, EngineError> {
        let file = load(&self.path, self.overrides)?;
        let version = file.version.clone();
        // Learning holds this lock while it swaps, so no example slips between file and swap.
        let learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let through = learned
            .last()
            .map_or(file.learned_through, |(id, _, _)| *id)
            .max(file.learned_through);
        let file = Arc::new(file);
        // Every site learns its examples again on top of the new file.
        let mut states: HashMap<String, (SiteLearning, i64, usize)> = HashMap::new();
        for (id, site, example) in learned.iter() {
            if *id > file_through(&file, site) {
                let (state, last, count) = states.entry(site.clone()).or_default();
                state.push(&file.base, example);
                (*last, *count) = (*id, *count + 1);
            }
        }
        let mut sites = HashMap::new();
        for (site, (state, last, count)) in &states {
            let served = self.after_round(&file, state, *last, *count);
            sites.insert(site.clone(), Arc::new(served));
        }
        *self.sites.lock().unwrap_or_else(|e| e.into_inner()) = states
            .into_iter()
            .map(|(site, (state, _, _))| (site, state))
            .collect();
        self.current.store(Arc::new(Served {
            file,
            sites,
            learned_through: through,
        }));
        Ok(version)
    }

    /// Id of the last learning-log entry the serving models have learned.
    pub fn learned_through(&self) -> i64 {
        self.current.load().learned_through
    }

    /// Learns the log entries after the last one learned, in order, each into its own site's
    /// model, and swaps the result in. Returns how many were learned.
    pub fn learn(&self, entries: &[LearnedExample]) -> usize {
        let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let fresh: Vec<&LearnedExample> = entries
            .iter()
            .filter(|e| e.id > current.learned_through)
            .collect();
        let Some(last) = fresh.last().map(|e| e.id) else {
            return 0;
        };
        // Every site's model tokenizes as the file's does.
        let lessons: Vec<_> = fresh.iter().map(|e| e.lesson()).collect();
        let examples = online::examples(&current.file.model, &lessons, self.learning);
        self.remember(&fresh, &examples);
        let mut states = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        // Per site taught: its last new entry and how many.
        let mut taught: Vec<(String, i64, usize)> = Vec::new();
        for (entry, example) in fresh.iter().zip(&examples) {
            states
                .entry(entry.site.clone())
                .or_default()
                .push(&current.file.base, example);
            match taught.iter_mut().find(|(site, _, _)| *site == entry.site) {
                Some((_, last, count)) => (*last, *count) = (entry.id, *count + 1),
                None => taught.push((entry.site.clone(), entry.id, 1)),
            }
        }
        learned.extend(
            fresh
                .iter()
                .zip(examples)
                .map(|(e, example)| (e.id, e.site.clone(), example)),
        );
        let mut sites = current.sites.clone();
        for (site, last, count) in taught {
            let Some(state) = states.get(&site) else {
                continue;
            };
            let served = self.after_round(&current.site(&site), state, last, count);
            sites.insert(site, Arc::new(served));
        }
        self.current.store(Arc::new(Served {
            file: current.file.clone(),
            sites,
            learned_through: last,
        }));
        fresh.len()
    }

    /// `served` after one learning round over `site` (every example the site learned on top of
    /// the model file, the `new` newest through log id `last` included): [`SiteLearning::round`],
    /// the round `train --feedback` and `eval --prequential` run too.
    fn after_round(
        &self,
        served: &ServedModel,
        site: &SiteLearning,
        last: i64,
        new: usize,
    ) -> ServedModel {
        let round = site.round(&served.base, served.base_thresholds, self.learning);
        ServedModel {
            model: round.model,
            base: served.base.clone(),
            version: served.version.clone(),
            problem: served.problem.clone(),
            learned_through: last,
            learned: served.learned + new,
            learned_at: Some(crate::storage::now_rfc3339()),
            base_thresholds: served.base_thresholds,
            recalibrated: Some(round.recalibrated),
            site_spam_lessons: round.site_spam_lessons,
        }
    }
}

/// The site's examples on top of the model file are those after this log position: the file's
/// own, for the default site (`train --feedback` folds that site's lessons into the file, and
/// only that site's); none for the others.
fn file_through(file: &ServedModel, site: &str) -> i64 {
    if site == DEFAULT_SITE {
        file.model.meta.learned_through.unwrap_or(0)
    } else {
        0
    }
}
