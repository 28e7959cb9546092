//! `replyguard train`: labeled files in, model file out.

use super::{LearningFlags, ModelFlags, ThresholdFlags, default_model};
use crate::data::{self, LoadOptions};
use crate::engine::model::{ModelMeta, TrainingFile, describe_weighting};
use crate::engine::online;
use crate::engine::train::{Corpus, train};
use crate::engine::{Model, model_file};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training files or directories (default: training-data/). Formats: YouTube-collection .csv,
    /// SMS `label<TAB>text`, replyguard .jsonl (e.g. moderator feedback).
    pub data: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, short, default_value_os_t = default_model())]
    pub out: PathBuf,
    /// Also learn what the default site's model learned in this replyguard database (moderator
    /// decisions, imported labels, comments that stayed published), as a server folds it.
    #[arg(long, value_name = "DB")]
    pub feedback: Option<crate::storage::Database>,
    /// With --feedback: also write the examples folded in to this JSONL file, as training records
    /// (never an Akismet key's: a partner's votes teach its own model only).
    #[arg(long, value_name = "FILE", requires = "feedback")]
    pub feedback_export: Option<PathBuf>,
    #[command(flatten)]
    pub learning: LearningFlags,
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(flatten)]
    pub thresholds: ThresholdFlags,
}

/// Rows above which a progress bar is worth showing.
const PROGRESS_MIN_ROWS: usize = 20_000;

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let params = args.model.params()?;
    let inputs = if args.data.is_empty() {
        vec![PathBuf::from("training-data")]
    } else {
        args.data.clone()
    };
    let files = data::load_all(
        &inputs,
        LoadOptions {
            lenient: args.model.lenient,
        },
    )?;
    let lessons = match &args.feedback {
        Some(db) => load_feedback(db, args.feedback_export.as_deref())?,
        None => Vec::new(),
    };
    let total_rows: usize = files.iter().map(|f| f.rows.len()).sum();

    let bar = if total_rows >= PROGRESS_MIN_ROWS {
        let bar = ProgressBar::new(total_rows as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("tokenizing");
        bar
    } else {
        ProgressBar::hidden()
    };
    let corpus = Corpus::from_files(&files, &params.tokenizer, |done| {
        if done % 4096 == 0 {
            bar.set_position(done as u64)
        }
    });
    bar.set_message("fitting");
    bar.set_position(0);
    let rows: Vec<usize> = (0..corpus.len()).collect();
    let trained = train(&corpus, &rows, &params, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();

    let mut training_files = Vec::new();
    for file in &files {
        let bytes = std::fs::read(&file.path)
            .with_context(|| format!("re-reading {}", file.path.display()))?;
        training_files.push(TrainingFile {
            path: file.path.display().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            format: format!("{:?}", file.format),
            ham: file.rows.iter().filter(|r| !r.label.is_spam()).count(),
            spam: file.rows.iter().filter(|r| r.label.is_spam()).count(),
            skipped: file.skipped,
        });
    }
    let ham = corpus.labels.iter().filter(|l| !l.is_spam()).count();
    let spam = corpus.len() - ham;
    let thresholds = args.thresholds.apply(trained.thresholds)?;
    let rule = params.rule;
    let model = Model {
        meta: ModelMeta {
            replyguard_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: creation_time(),
            training_files,
            ham,
            spam,
            hyperparameters: trained.hyperparameters.clone(),
            vocabulary_size: trained.core.vocab.len(),
            thresholds,
            threshold_rule: format!(
                "reject: lowest probability at which at most {:.2}% of cross-validated ham would be rejected, never below 0.5; \
                 hold: probability at or above which at least {:.1}% of cross-validated spam falls, never above 0.5",
                100.0 * rule.max_ham_rejected,
                100.0 * rule.min_spam_held
            ),
            calibration: trained.calibration,
            cross_validation: trained.figures.clone(),
            learned_through: None,
            site_weight: None,
            spam_share: Some(trained.spam_share),
        },
        core: trained.core,
    };
    // The site's own decisions are folded in exactly as a running server folds them, so this
    // model scores as the live one does.
    let learning = args.learning.params();
    let model = match lessons.last() {
        Some(last) => {
            let as_lessons: Vec<_> = lessons.iter().map(|e| e.lesson()).collect();
            let examples = online::examples(&model, &as_lessons, learning);
            let site: Vec<_> = examples.iter().collect();
            let round = online::learn_round(&model, &site, model.thresholds(), learning);
            let recalibrated = round.recalibrated;
            let mut folded = round.model;
            if recalibrated.raised(model.thresholds()) {
                outln!(
                    "reject threshold raised from {:.6} to {:.6}: {} of the site's {} ham examples scored as rejected",
                    model.thresholds().reject,
                    recalibrated.thresholds.reject,
                    recalibrated.rejected_at_base,
                    recalibrated.site_ham
                );
            }
            folded.meta.thresholds = recalibrated.thresholds;
            folded.meta.learned_through = Some(last.id);
            folded.meta.site_weight = Some(learning.site_weight);
            folded.meta.vocabulary_size = folded.core.vocab.len();
            folded
        }
        None => model,
    };
    model_file::save(&model, &args.out)?;
    if let Some(db) = &args.feedback {
        outln!(
            "folded {} learning-log entries from {} (site weight {})",
            lessons.len(),
            db,
            learning.site_weight
        );
    }

    let skipped: usize = files.iter().map(|f| f.skipped).sum();
    outln!(
        "trained {} on {} comments from {} files ({ham} ham, {spam} spam{})",
        args.out.display(),
        corpus.len(),
        files.len(),
        if skipped > 0 {
            format!(", {skipped} malformed rows skipped")
        } else {
            String::new()
        }
    );
    outln!(
        "vocabulary {} features ({}, alpha {}, min-df {})",
        model.core.vocab.len(),
        describe_weighting(&model.core.weighting),
        params.alpha,
        params.min_df
    );
    outln!(
        "thresholds: hold at p >= {:.4}, reject at p >= {:.4}",
        thresholds.hold,
        thresholds.reject
    );
    if let Some(f) = &model.meta.cross_validation {
        outln!(
            "{}-fold cross-validation on the training data: MCC {:.3}, AUC {:.4}, F1 {:.3}; ham rejected {:.2}%, spam held or rejected {:.1}%",
            f.folds,
            f.mcc,
            f.auc,
            f.f1,
            100.0 * f.ham_rejected,
            100.0 * f.spam_held_or_rejected
        );
    }
    outln!("took {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Reads the learning log (moderator decisions, Akismet submits) from a replyguard database,
/// optionally exporting the labeled comments it adds up to as JSONL.
fn load_feedback(
    database: &crate::storage::Database,
    export: Option<&std::path::Path>,
) -> anyhow::Result<Vec<crate::storage::LearnedExample>> {
    let rt = super::runtime()?;
    let store = rt
        .block_on(crate::storage::open_existing(database))
        .context("--feedback")?;
    let mut entries = Vec::new();
    loop {
        let after = entries
            .last()
            .map_or(0, |e: &crate::storage::LearnedExample| e.id);
        let page = rt.block_on(store.learning_log(after, 10_000))?;
        if page.is_empty() {
            break;
        }
        entries.extend(page);
    }
    // The model file is the default site's: an Akismet key's lessons teach that key's own model
    // in the server, never the file every site shares.
    let all = entries.len();
    entries.retain(|e| e.site == crate::domain::site_rules::DEFAULT_SITE);
    if entries.len() < all {
        eprintln!(
            "{} lesson(s) of other sites and Akismet keys are not folded into the model file \
             (each teaches its own model)",
            all - entries.len()
        );
    }
    if let Some(path) = export {
        let rows = net_examples(&entries)?;
        let mut out = String::new();
        for row in &rows {
            out.push_str(row);
            out.push('\n');
        }
        std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote the {} examples folded in (the default site's lessons, taken-back ones \
             left out) to {}",
            rows.len(),
            path.display()
        );
    }
    Ok(entries)
}

/// The lessons as training records (JSONL lines), each as often as it is learned net of its
/// taking-back (a decision changed from spam to ham is one ham record), in the order first
/// learned: what `--feedback` folds (a training file has no weights: a comment that stayed
/// published, which folding weighs `--implicit-weight`, is one record).
fn net_examples(entries: &[crate::storage::LearnedExample]) -> anyhow::Result<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    let mut net: HashMap<String, f64> = HashMap::new();
    for e in entries {
        let line = serde_json::to_string(&crate::data::LabeledComment {
            label: e.label,
            comment: e.comment.clone(),
        })?;
        let count = net.entry(line.clone()).or_insert_with(|| {
            order.push(line);
            0.0
        });
        *count += e.sign;
    }
    let mut rows = Vec::new();
    for line in order {
        let times = net.get(&line).copied().unwrap_or_default().round().max(0.0) as usize;
        rows.extend(std::iter::repeat_n(line, times));
    }
    Ok(rows)
}

/// Creation time in RFC 3339; honours `SOURCE_DATE_EPOCH` so builds can be byte-for-byte reproducible.
fn creation_time() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap_or_else(SystemTime::now);
    humantime::format_rfc3339_seconds(now).to_string()
}
