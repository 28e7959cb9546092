//! The `replyguard` command line. `anyhow` lives here, at the edge; the layers below return their
//! own error types, which [`exit_code`] maps to documented exit codes.

/// `println!` that returns the write error instead of panicking, so `replyguard … | head` ends
/// quietly (see [`is_broken_pipe`]) rather than with a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod backup;
mod classify;
mod erase;
mod eval;
mod export;
mod import;
mod keys;
mod migrate;
mod rules;
mod serve;
mod sites;
mod train;

use crate::data::DataError;
use crate::engine::features::{TfTransform, Weighting};
use crate::engine::tokenize::TokenizerConfig;
use crate::engine::train::TrainParams;
use crate::engine::{EngineError, ThresholdRule, Thresholds};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Exit codes: 0 success, 1 other failure, 2 usage error (clap), 3 bad input data, 4 model file problem.
pub mod exit {
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const DATA: i32 = 3;
    pub const MODEL: i32 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "replyguard",
    version,
    about = "Self-hosted comment spam filter (naive Bayes)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model from labeled comments (CSV, TSV, JSONL) and write it to a model file.
    Train(train::TrainArgs),
    /// Measure accuracy: cross-validation, or a trained model on labeled files.
    Eval(eval::EvalArgs),
    /// Classify comments: one TEXT argument, or JSONL records on stdin with --jsonl.
    Classify(classify::ClassifyArgs),
    /// Run the comment server: article page, reply form, JSON API, moderation, Akismet API.
    Serve(Box<serve::ServeArgs>),
    /// Manage Akismet API keys.
    Keys(keys::KeysArgs),
    /// Show or set a site's rules (moderation and disallowed keys, link limit, time trap, ...).
    Rules(rules::RulesArgs),
    /// Erase a commenter's personal data (name, e-mail, website, IP) from every comment of theirs.
    Erase(erase::EraseArgs),
    /// Manage the sites this server hosts: their names and the origins their pages come from.
    Sites(sites::SitesArgs),
    /// Import a site's history: WordPress WXR, `wp comment list` dumps, Disqus XML.
    Import(import::ImportArgs),
    /// Export articles and comments: WordPress WXR, Disqus XML, or labeled training JSONL.
    Export(export::ExportArgs),
    /// Copy a SQLite database (comments, moderation history, learning log, keys, articles,
    /// sessions, settings) into an empty PostgreSQL database, to run several replicas on it.
    Migrate(migrate::MigrateArgs),
    /// Write a consistent backup of the live database (servers keep running).
    Backup(backup::BackupArgs),
    /// Put a backup back in place of a database (stop its servers first).
    Restore(backup::RestoreArgs),
}

/// Model hyper-parameters shared by `train` and `eval`.
#[derive(Debug, Clone, Args)]
pub struct ModelFlags {
    /// Additive smoothing of MultinomialNb.
    #[arg(long, default_value_t = 0.1, env = "REPLYGUARD_ALPHA")]
    pub alpha: f64,
    /// Drop tokens seen in fewer training comments.
    #[arg(long, default_value_t = crate::engine::train::DEFAULT_MIN_DF)]
    pub min_df: u32,
    /// Term-frequency transform.
    #[arg(long, value_enum, default_value_t = TfArg::Binary)]
    pub tf: TfArg,
    /// Weight tokens by inverse document frequency.
    #[arg(long)]
    pub idf: bool,
    /// Fixed value of each metadata feature, outside length normalization: a number, or `auto`
    /// to let the internal cross-validation choose among 0.5, 0.75 and 1 for this data.
    #[arg(long, default_value = "auto", value_name = "W|auto")]
    pub meta_weight: MetaWeightArg,
    /// Log-odds added when the Website field is filled in (a prior: no ham corpus has the field).
    #[arg(long, default_value_t = crate::engine::features::DEFAULT_WEBSITE_LOG_ODDS, value_name = "LLR")]
    pub website_log_odds: f64,
    /// Weigh metadata features like text instead (normalized together).
    #[arg(long)]
    pub meta_as_text: bool,
    /// Do not normalize comment vectors to unit length.
    #[arg(long)]
    pub no_l2: bool,
    /// Do not use word bigrams.
    #[arg(long)]
    pub no_bigrams: bool,
    /// Character n-gram length inside words (0 = off).
    #[arg(long, default_value_t = 0)]
    pub char_ngrams: u8,
    /// Length of the prefix token emitted for longer words (0 = off).
    #[arg(long, default_value_t = 5)]
    pub prefix: u8,
    /// Do not use metadata tokens (length, links, capitals, author fields).
    #[arg(long)]
    pub no_metadata: bool,
    /// Folds of the internal cross-validation that calibrates probabilities and thresholds.
    #[arg(long, default_value_t = 5)]
    pub calibration_folds: usize,
    /// Seed for every shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Highest share of ham the reject threshold may reject (cross-validated).
    #[arg(long, default_value_t = 0.001)]
    pub max_ham_rejected: f64,
    /// Lowest share of spam the hold threshold must hold or reject (cross-validated).
    #[arg(long, default_value_t = 0.95)]
    pub min_spam_held: f64,
    /// How far each training file is brought to the same mass per class (0: every comment
    /// weighs 1; 1: every file weighs the same in each class it has).
    #[arg(long, default_value_t = crate::engine::train::DEFAULT_SOURCE_BALANCE, value_name = "P")]
    pub source_balance: f64,
    /// Calibrate probabilities with spam and ham at equal weight instead of the training data's
    /// share of spam (an experiment of the model card: higher MCC at p = 0.5 on new sites, more
    /// ham held).
    #[arg(long)]
    pub even_prior: bool,
    /// Calibrate probabilities with spam at the mean share of the training files that have both
    /// classes (each counts as one site; an experiment of the model card).
    #[arg(long, conflicts_with = "even_prior")]
    pub source_prior: bool,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
}

/// How the site's own labeled examples (moderator decisions, Akismet submits) are learned, by
/// `serve` as they happen and by `train --feedback`.
#[derive(Debug, Clone, Copy, Args)]
pub struct LearningFlags {
    /// How many training comments one of the site's own examples counts as (0: the server
    /// learns nothing from its moderators, not even the spam texts they marked).
    #[arg(long, env = "REPLYGUARD_SITE_WEIGHT", default_value_t = crate::engine::online::DEFAULT_SITE_WEIGHT, value_name = "W")]
    pub site_weight: f64,
    /// Most vocabulary columns learning may grow the model to (the rarest are evicted beyond).
    #[arg(long, env = "REPLYGUARD_MAX_FEATURES", default_value_t = crate::engine::online::DEFAULT_MAX_FEATURES, value_name = "N")]
    pub max_features: usize,
    /// How many training comments a comment that stayed published unchallenged counts as, once
    /// learned as the site's ham (0: never learn them).
    #[arg(long, env = "REPLYGUARD_IMPLICIT_WEIGHT", default_value_t = crate::engine::online::DEFAULT_IMPLICIT_WEIGHT, value_name = "W")]
    pub implicit_weight: f64,
    /// Learn the site's ham and spam examples at their full weight even when one class has far
    /// more of them (by default the larger class is scaled down to the smaller one's mass).
    #[arg(long, env = "REPLYGUARD_UNBALANCED")]
    pub unbalanced: bool,
    /// Keep every site at the model's share of spam instead of learning each site's own from its
    /// traffic (by default a site's comments are scored at its estimated share).
    #[arg(long, env = "REPLYGUARD_NO_SITE_PRIOR")]
    pub no_site_prior: bool,
}

impl LearningFlags {
    pub fn params(&self) -> crate::engine::online::LearningParams {
        crate::engine::online::LearningParams {
            site_weight: if self.site_weight.is_finite() && self.site_weight >= 0.0 {
                self.site_weight
            } else {
                crate::engine::online::DEFAULT_SITE_WEIGHT
            },
            max_features: self.max_features.max(1),
            implicit_weight: if self.implicit_weight.is_finite() && self.implicit_weight >= 0.0 {
                self.implicit_weight
            } else {
                crate::engine::online::DEFAULT_IMPLICIT_WEIGHT
            },
            balance: !self.unbalanced,
            site_prior: !self.no_site_prior,
        }
    }
}

/// `--meta-weight`: a fixed value, or chosen by the internal cross-validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetaWeightArg {
    Auto,
    Fixed(f64),
}

impl std::str::FromStr for MetaWeightArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(MetaWeightArg::Auto);
        }
        match s.parse::<f64>() {
            Ok(w) if w.is_finite() && w >= 0.0 => Ok(MetaWeightArg::Fixed(w)),
            _ => Err(format!("{s:?} is neither `auto` nor a non-negative number")),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TfArg {
    Raw,
    Log,
    Binary,
}

impl ModelFlags {
    pub fn params(&self) -> anyhow::Result<TrainParams> {
        anyhow::ensure!(
            self.alpha > 0.0 && self.alpha.is_finite(),
            "--alpha must be positive"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.max_ham_rejected),
            "--max-ham-rejected must be in [0, 1)"
        );
        anyhow::ensure!(
            self.min_spam_held > 0.0 && self.min_spam_held <= 1.0,
            "--min-spam-held must be in (0, 1]"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.source_balance),
            "--source-balance must be in [0, 1]"
        );
        Ok(TrainParams {
            tokenizer: TokenizerConfig {
                bigrams: !self.no_bigrams,
                char_ngrams: self.char_ngrams,
                metadata: !self.no_metadata,
                prefix: self.prefix,
            },
            weighting: Weighting {
                tf: match self.tf {
                    TfArg::Raw => TfTransform::Raw,
                    TfArg::Log => TfTransform::Log,
                    TfArg::Binary => TfTransform::Binary,
                },
                idf: self.idf,
                l2_norm: !self.no_l2,
                meta_weight: (!self.meta_as_text).then_some(match self.meta_weight {
                    MetaWeightArg::Fixed(w) => w,
                    MetaWeightArg::Auto => crate::engine::features::DEFAULT_META_WEIGHT,
                }),
                website_log_odds: self.website_log_odds,
            },
            alpha: self.alpha,
            min_df: self.min_df,
            calibration_folds: self.calibration_folds,
            seed: self.seed,
            rule: ThresholdRule {
                max_ham_rejected: self.max_ham_rejected,
                min_spam_held: self.min_spam_held,
            },
            source_balance: self.source_balance,
            even_prior: self.even_prior,
            source_prior: self.source_prior,
            meta_weight_choices: match self.meta_weight {
                MetaWeightArg::Auto => crate::engine::train::META_WEIGHT_CHOICES.to_vec(),
                MetaWeightArg::Fixed(_) => Vec::new(),
            },
        })
    }
}

/// Threshold overrides.
#[derive(Debug, Clone, Args)]
pub struct ThresholdFlags {
    /// Spam probability at or above which a comment is held for moderation (overrides the model).
    #[arg(long, env = "REPLYGUARD_HOLD_THRESHOLD")]
    pub hold_threshold: Option<f64>,
    /// Spam probability at or above which a comment is rejected (overrides the model).
    #[arg(long, env = "REPLYGUARD_REJECT_THRESHOLD")]
    pub reject_threshold: Option<f64>,
}

impl ThresholdFlags {
    /// The model's thresholds with any overrides applied.
    pub fn apply(&self, base: Thresholds) -> anyhow::Result<Thresholds> {
        let t = Thresholds {
            hold: self.hold_threshold.unwrap_or(base.hold),
            reject: self.reject_threshold.unwrap_or(base.reject),
        };
        t.validate().map_err(anyhow::Error::msg)
    }
}

/// Default model path.
pub fn default_model() -> PathBuf {
    PathBuf::from("models/default.rgm")
}

/// The runtime a command other than `serve` talks to the database on: two worker threads, so
/// that a synchronous caller can wait on it with `block_on` while PostgreSQL's background tasks
/// (group commit, change listener) keep running.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// The site `--site` names, or an error that says how to add it (or bring a removed one back):
/// the one look-up of `import`, `export` and `rules`.
pub fn site_named(
    store: &dyn crate::storage::Store,
    rt: &tokio::runtime::Runtime,
    name: &str,
) -> anyhow::Result<crate::domain::Site> {
    rt.block_on(store.sites())?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "there is no site `{name}` (`replyguard sites list` shows them; add it, or bring \
                 a removed one back with its comments, with `replyguard sites add {name} \
                 --origin URL`)"
            )
        })
}

/// Arguments the command cannot use as given (exit code 2, as clap's own usage errors): a value
/// clap's parser cannot check, such as a site's name or a page's path.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The server's database, for the commands that manage what it stores (`keys`, `rules`).
#[derive(Debug, clap::Args)]
pub struct DbArg {
    /// Database of the server (a SQLite file or a postgres:// URL).
    #[arg(
        long,
        env = "REPLYGUARD_DB",
        default_value = "data/replyguard.db",
        global = true
    )]
    pub db: crate::storage::Database,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Keys(args) => keys::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Sites(args) => sites::run(args),
        Command::Erase(args) => erase::run(args),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
    }
}

/// Maps an error to the process exit code.
/// The error and its causes on one line, each cause once: the layers' messages often already
/// include their source's text, which `{:#}` would print a second time.
pub fn describe(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

/// Whether the command failed only because its reader went away (`replyguard eval | head`): the
/// user got what they asked for, so `main` exits quietly with success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return exit::USAGE;
        }
        if cause.downcast_ref::<DataError>().is_some()
            || cause.downcast_ref::<import::RecordsRefused>().is_some()
            || cause
                .downcast_ref::<crate::import::ImportError>()
                .is_some_and(|e| !matches!(e, crate::import::ImportError::Storage(_)))
        {
            return exit::DATA;
        }
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e {
                EngineError::ModelRead { .. }
                | EngineError::ModelFormat { .. }
                | EngineError::ModelWrite { .. } => exit::MODEL,
                _ => exit::FAILURE,
            };
        }
    }
    exit::FAILURE
}
