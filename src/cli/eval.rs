//! `replyguard eval`: cross-validation with fixed seeds, or a trained model on labeled files.

use super::ModelFlags;
use crate::data::{self, LoadOptions};
use crate::engine::model_file;
use crate::eval::{self, EvalReport, plot};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labeled files (CSV, TSV, JSONL).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Train on all files but one, test on that one, for each file.
    #[arg(long, conflicts_with_all = ["folds", "test", "split_date"])]
    pub leave_one_file_out: bool,
    /// Time split: train on rows dated before DATE (YYYY-MM-DD), test on the rest; undated rows
    /// are split at random per file (--holdout, seeded by --seed). Reported per file.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["folds", "test"])]
    pub split_date: Option<String>,
    /// Test, then train (TREC immediate feedback): each file in turn is a new site that starts
    /// from a model of the other files plus --base, and every comment is scored before it is
    /// learned. Reports AUC and MCC over each stream's second half, without and with feedback.
    #[arg(long, conflicts_with_all = ["folds", "test", "split_date", "leave_one_file_out"])]
    pub prequential: bool,
    /// With --prequential: files only ever in the base model, never a site. With
    /// --leave-one-file-out: files only ever trained on, never held out (e.g. the rest of the
    /// training mix while each YouTube video is held out in turn).
    #[arg(long, value_name = "FILE")]
    pub base: Vec<PathBuf>,
    /// With --prequential: what the site's model learns. `all`: every comment with its true label
    /// (TREC immediate feedback). `corrections`: what a moderator's actions teach (deciding held
    /// comments, marking published spam, rescuing rejected ham) plus, after --implicit-after
    /// comments, what stayed published unchallenged; reports the moderator's workload.
    #[arg(long, value_enum, default_value = "all", requires = "prequential")]
    pub feedback: eval::workload::Feedback,
    /// With --feedback corrections: a published comment nobody challenged is learned as ham once
    /// this many later comments have arrived.
    #[arg(long, value_name = "N", default_value_t = eval::DEFAULT_IMPLICIT_AFTER as usize, requires = "prequential")]
    pub implicit_after: usize,
    #[command(flatten)]
    pub learning: super::LearningFlags,
    /// With --split-date: share of each file's undated rows held out for testing.
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = 0.2,
        requires = "split_date"
    )]
    pub holdout: f64,
    /// With --split-date: labeled files that are only tested, never trained on (probe sets).
    #[arg(long, value_name = "FILE", requires = "split_date")]
    pub probe: Vec<PathBuf>,
    /// Stratified K-fold cross-validation over all rows of the files (shuffled with --seed).
    #[arg(long, value_name = "K", conflicts_with = "test")]
    pub folds: Option<usize>,
    /// Measure the trained model given by --model on the files (no training).
    #[arg(long, requires = "model_path")]
    pub test: bool,
    /// Model for --test.
    #[arg(long = "model", id = "model_path", value_name = "PATH")]
    pub model_path: Option<PathBuf>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write ROC curves and score histograms to this SVG file.
    #[arg(long, value_name = "SVG")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelFlags,
}

/// Loads an optional list of files (none given: none loaded).
fn load_optional(paths: &[PathBuf], lenient: bool) -> anyhow::Result<Vec<data::LoadedFile>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    Ok(data::load_all(paths, LoadOptions { lenient })?)
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let params = args.model.params()?;
    let files = data::load_all(
        &args.files,
        LoadOptions {
            lenient: args.model.lenient,
        },
    )?;
    let progress = |done: usize, total: usize| {
        if !args.json {
            eprintln!("  fold {done}/{total} done");
        }
    };
    if !(args.base.is_empty() || args.prequential || args.leave_one_file_out) {
        return Err(super::UsageError(
            "--base goes with --prequential or --leave-one-file-out".into(),
        )
        .into());
    }
    if args.prequential && args.feedback == eval::workload::Feedback::Corrections {
        let base = load_optional(&args.base, args.model.lenient)?;
        return workload_report(&args, &files, &base, &params);
    }
    if args.prequential {
        let site_weight = args.learning.params().site_weight;
        let base = load_optional(&args.base, args.model.lenient)?;
        let reports =
            eval::prequential::prequential(&files, &base, site_weight, &params, progress)?;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&reports)?);
        } else {
            outln!(
                "prequential (test, then train), each file a new site, site weight {}, seed {}; second half of each stream",
                site_weight,
                params.seed
            );
            outln!(
                "{:<28} {:>6}   {:>19}   {:>19}   {:>25}   {:>25}   {:>25}",
                "site",
                "n",
                "no feedback AUC/MCC",
                "feedback AUC/MCC",
                "no feedback ham rej/spam held+rej %",
                "feedback ham rej/spam held+rej %",
                "recalibrated ham rej/spam held+rej %"
            );
            let mix = |ham: &eval::report::VerdictShares, spam: &eval::report::VerdictShares| {
                format!(
                    "{:5.1} / {:5.1}",
                    100.0 * ham.rejected,
                    100.0 * (spam.held + spam.rejected)
                )
            };
            for r in &reports {
                let (without, with) = (&r.without_feedback, &r.with_feedback);
                outln!(
                    "{:<28} {:>6}   {:>9.3} {:>9.3}   {:>9.3} {:>9.3}   {:>25}   {:>25}   {:>25}",
                    r.site,
                    r.comments,
                    without.auc,
                    without.mcc,
                    with.auc,
                    with.mcc,
                    mix(&without.ham_verdicts, &without.spam_verdicts),
                    mix(&with.ham_verdicts, &with.spam_verdicts),
                    with.recalibrated
                        .map_or_else(String::new, |v| mix(&v.ham, &v.spam))
                );
            }
        }
        if let Some(svg) = &args.plot {
            let streams: Vec<_> = reports.iter().map(|r| r.stream.clone()).collect();
            plot::write_svg(svg, "prequential, with feedback", &streams)
                .map_err(anyhow::Error::msg)?;
        }
        return Ok(());
    }
    let (protocol, folds) = if args.test {
        let path = args.model_path.clone().context("--test needs --model")?;
        let model = model_file::load(&path)?;
        (
            format!("model {} on {} file(s)", path.display(), files.len()),
            eval::test_model(&model, &files),
        )
    } else if args.leave_one_file_out {
        (
            format!(
                "leave-one-file-out over {} files (seed {}){}",
                files.len(),
                params.seed,
                if args.base.is_empty() {
                    String::new()
                } else {
                    format!(", {} base file(s) always trained on", args.base.len())
                }
            ),
            eval::leave_one_file_out(
                &files,
                &load_optional(&args.base, args.model.lenient)?,
                &params,
                progress,
            )?,
        )
    } else if let Some(since) = &args.split_date {
        let probes = load_optional(&args.probe, args.model.lenient)?;
        (
            format!(
                "date split: train before {since} (+{:.0}% of undated rows held out, seed {}), test per file{}",
                100.0 * args.holdout,
                params.seed,
                if probes.is_empty() {
                    String::new()
                } else {
                    format!(", {} probe file(s) never trained on", probes.len())
                }
            ),
            eval::date_split(&files, &probes, since, args.holdout, &params)?,
        )
    } else if let Some(k) = args.folds {
        (
            format!(
                "stratified {k}-fold cross-validation (seed {})",
                params.seed
            ),
            eval::k_fold(&files, k, params.seed, &params, progress)?,
        )
    } else {
        return Err(super::UsageError(
            "choose a protocol: --leave-one-file-out, --folds K, --split-date DATE, or --model PATH --test"
                .into(),
        )
        .into());
    };
    let (protocol, folds) = if args.learning.params().site_prior {
        let mut folds = folds;
        eval::learn_site_priors(&mut folds);
        (
            format!("{protocol}; each test file's share of spam learned from its traffic"),
            folds,
        )
    } else {
        (protocol, folds)
    };
    let report = EvalReport::new(protocol, &folds);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.to_table());
    }
    if let Some(svg) = &args.plot {
        plot::write_svg(svg, &report.protocol, &folds).map_err(anyhow::Error::msg)?;
        if !args.json {
            outln!("plot written to {}", svg.display());
        }
    }
    Ok(())
}

/// `eval --prequential --feedback corrections`: the moderator's workload, static against learning.
fn workload_report(
    args: &EvalArgs,
    files: &[data::LoadedFile],
    base: &[data::LoadedFile],
    params: &crate::engine::train::TrainParams,
) -> anyhow::Result<()> {
    use eval::workload::{self, Workload, WorkloadParams};
    let protocol = WorkloadParams {
        feedback: args.feedback,
        learning: args.learning.params(),
        implicit_after: args.implicit_after,
    };
    let json = args.json;
    let reports = workload::workload(files, base, params, protocol, |done, total| {
        if !json {
            eprintln!("  site {done}/{total} done");
        }
    })?;
    let second = |learning: bool| -> Vec<Workload> {
        reports
            .iter()
            .map(|r| {
                if learning {
                    r.learning.second
                } else {
                    r.static_model.second
                }
            })
            .collect()
    };
    let (fixed, learned) = (
        workload::mean(&second(false)),
        workload::mean(&second(true)),
    );
    if json {
        let out = serde_json::json!({
            "protocol": "prequential, corrections only",
            "site_weight": protocol.learning.site_weight,
            "implicit_weight": protocol.learning.implicit_weight,
            "implicit_after": protocol.implicit_after,
            "balanced": protocol.learning.balance,
            "seed": params.seed,
            "sites": reports,
            "mean_second_half": {"static": fixed, "learning": learned},
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "moderator workload (prequential, corrections only), each file a new site; site weight {}, implicit ham weight {} after {} comments, {}, seed {}",
            protocol.learning.site_weight,
            protocol.learning.implicit_weight,
            protocol.implicit_after,
            if protocol.learning.balance {
                "classes balanced"
            } else {
                "unbalanced"
            },
            params.seed
        );
        outln!(
            "{:<28} {:>5} {:>6}  {:>15}  {:>13}  {:>13}  {:>15}  {:>13}  {:>13}",
            "site (second half)",
            "half",
            "model",
            "actions/100",
            "ham held %",
            "ham rej %",
            "spam publ %",
            "spam held %",
            "AUC"
        );
        let row = |site: &str, half: &str, model: &str, w: &Workload| -> std::io::Result<()> {
            outln!(
                "{:<28} {:>5} {:>6}  {:>15.1}  {:>13.1}  {:>13.1}  {:>15.1}  {:>13.1}  {:>13.3}",
                site,
                half,
                model,
                w.actions_per_100,
                w.ham_held_pct,
                w.ham_rejected_pct,
                w.spam_published_pct,
                w.spam_held_pct,
                w.auc
            );
            Ok(())
        };
        for r in &reports {
            row(&r.site, "1st", "static", &r.static_model.first)?;
            row(&r.site, "1st", "learn", &r.learning.first)?;
            row(&r.site, "2nd", "static", &r.static_model.second)?;
            row(&r.site, "2nd", "learn", &r.learning.second)?;
        }
        row("mean", "2nd", "static", &fixed)?;
        row("mean", "2nd", "learn", &learned)?;
        outln!(
            "learning/static actions (mean, second half): {:.2}",
            learned.actions_per_100 / fixed.actions_per_100.max(1e-9)
        );
    }
    if let Some(svg) = &args.plot {
        let streams: Vec<_> = reports.iter().map(|r| r.stream.clone()).collect();
        plot::write_svg(svg, "prequential, learning from corrections", &streams)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
