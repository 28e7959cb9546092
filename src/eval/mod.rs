//! Measuring the classifier: cross-validation protocols (leave one file out, stratified k-fold),
//! testing a trained model on labeled files, and the reports they print.

pub mod plot;
pub mod prequential;
pub mod report;
pub mod workload;

use crate::data::{LabeledComment, LoadedFile};
use crate::engine::folds::stratified_folds;
use crate::engine::site_prior;
use crate::engine::train::{Corpus, TrainParams, score_rows, train};
use crate::engine::{EngineError, Model, Scratch, Thresholds};
pub use report::{EvalReport, FoldReport};

/// Readers' comments after which a published comment nobody challenged counts as the site's
/// ham: `eval --implicit-after` and the server's `--learn-published-after-comments` alike.
pub const DEFAULT_IMPLICIT_AFTER: u64 = 20;

/// Scores of one test fold, kept for reports and plots.
#[derive(Debug, Clone)]
pub struct FoldScores {
    pub name: String,
    pub probabilities: Vec<f64>,
    /// The sender tokens' part of each comment's log-odds (the verdict needs it).
    pub sender: Vec<f64>,
    pub is_spam: Vec<bool>,
    pub thresholds: Thresholds,
    /// The share of spam the model's probabilities carry (where a site's own share starts).
    pub spam_share: f64,
}

/// Every fold's probabilities as the server gives them on a site whose traffic that fold is:
/// each comment's shifted by the share of spam learned from the comments before it
/// ([`site_prior::stream`]).
pub fn learn_site_priors(folds: &mut [FoldScores]) {
    for fold in folds {
        fold.probabilities = site_prior::stream(&fold.probabilities, fold.spam_share);
    }
}

/// Builds one corpus for all rows of `files`, remembering which file each row came from.
fn corpus_of(files: &[LoadedFile], params: &TrainParams) -> (Corpus, Vec<usize>) {
    corpus_of_refs(&files.iter().collect::<Vec<_>>(), params)
}

/// [`corpus_of`] for files gathered from several lists.
pub(crate) fn corpus_of_refs(files: &[&LoadedFile], params: &TrainParams) -> (Corpus, Vec<usize>) {
    let mut corpus = Corpus::build(
        files
            .iter()
            .flat_map(|f| f.rows.iter())
            .map(|r| (r.comment.view(), r.label)),
        &params.tokenizer,
        |_| {},
    );
    let file_of: Vec<usize> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| std::iter::repeat_n(f, file.rows.len()))
        .collect();
    // Each file is a training source (see `TrainParams::source_balance`).
    corpus.source = file_of.iter().map(|&f| f as u32).collect();
    (corpus, file_of)
}

fn run_fold(
    name: String,
    corpus: &Corpus,
    train_rows: &[usize],
    test_rows: &[usize],
    params: &TrainParams,
) -> Result<FoldScores, EngineError> {
    let trained = train(corpus, train_rows, params, |_, _| {})?;
    let scores = score_rows(&trained.core, corpus, test_rows);
    Ok(FoldScores {
        name,
        probabilities: scores
            .iter()
            .map(|s| trained.calibration.probability(s.log_odds))
            .collect(),
        sender: scores.iter().map(|s| s.sender).collect(),
        is_spam: test_rows
            .iter()
            .map(|&r| corpus.labels[r].is_spam())
            .collect(),
        thresholds: trained.thresholds,
        spam_share: trained.spam_share,
    })
}

/// Leave-one-file-out: for each file, train on all the others (with the full training pipeline,
/// calibration included) and test on it.
pub fn leave_one_file_out(
    files: &[LoadedFile],
    base: &[LoadedFile],
    params: &TrainParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<FoldScores>, EngineError> {
    if files.len() < 2 {
        return Err(EngineError::Training(
            "--leave-one-file-out needs at least two files".into(),
        ));
    }
    // `base` files are only ever trained on: they follow `files` in the corpus.
    let all: Vec<&LoadedFile> = files.iter().chain(base).collect();
    let (corpus, file_of) = corpus_of_refs(&all, params);
    let mut out = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let train_rows: Vec<usize> = (0..corpus.len()).filter(|&i| file_of[i] != f).collect();
        let test_rows: Vec<usize> = (0..corpus.len()).filter(|&i| file_of[i] == f).collect();
        out.push(run_fold(
            file_name(file),
            &corpus,
            &train_rows,
            &test_rows,
            params,
        )?);
        progress(f + 1, files.len());
    }
    Ok(out)
}

/// Stratified k-fold cross-validation over all rows of `files`, shuffled with `seed`.
pub fn k_fold(
    files: &[LoadedFile],
    k: usize,
    seed: u64,
    params: &TrainParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<FoldScores>, EngineError> {
    if k < 2 {
        return Err(EngineError::Training("--folds must be at least 2".into()));
    }
    let (corpus, _) = corpus_of(files, params);
    let is_spam: Vec<bool> = corpus.labels.iter().map(|l| l.is_spam()).collect();
    let fold_of = stratified_folds(&is_spam, k, seed);
    let mut out = Vec::new();
    for fold in 0..k {
        let train_rows: Vec<usize> = (0..corpus.len()).filter(|&i| fold_of[i] != fold).collect();
        let test_rows: Vec<usize> = (0..corpus.len()).filter(|&i| fold_of[i] == fold).collect();
        out.push(run_fold(
            format!("fold {}", fold + 1),
            &corpus,
            &train_rows,
            &test_rows,
            params,
        )?);
        progress(fold + 1, k);
    }
    Ok(out)
}

/// A time split, as a site lives it: train on what was written before `since`, test on what came
/// after, reported per file so each source's verdict mix stays visible.
///
/// Rows with a date (`comment_date_gmt`, ISO 8601, compared as text) go to the test side when
/// they are dated `since` or later. Undated rows (corpora without dates) are split at random per
/// file: a seeded shuffle puts `holdout` of each file's undated rows on the test side. Rows of
/// `probes` are only ever tested, never trained on.
pub fn date_split(
    files: &[LoadedFile],
    probes: &[LoadedFile],
    since: &str,
    holdout: f64,
    params: &TrainParams,
) -> Result<Vec<FoldScores>, EngineError> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let all: Vec<&LoadedFile> = files.iter().chain(probes).collect();
    let (corpus, _) = corpus_of_refs(&all, params);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(params.seed);
    let mut train_rows = Vec::new();
    let mut test_of_file: Vec<Vec<usize>> = Vec::new();
    let mut start = 0;
    for (f, file) in all.iter().enumerate() {
        let rows = start..start + file.rows.len();
        start = rows.end;
        let mut test = Vec::new();
        if f >= files.len() {
            test.extend(rows);
        } else {
            let mut undated = Vec::new();
            for (r, row) in rows.zip(&file.rows) {
                match row.comment.comment_date_gmt.as_deref() {
                    Some(date) if date >= since => test.push(r),
                    Some(_) => train_rows.push(r),
                    None => undated.push(r),
                }
            }
            undated.shuffle(&mut rng);
            let cut = (undated.len() as f64 * holdout.clamp(0.0, 1.0)).round() as usize;
            test.extend_from_slice(&undated[..cut]);
            train_rows.extend_from_slice(&undated[cut..]);
            test.sort_unstable();
        }
        test_of_file.push(test);
    }
    train_rows.sort_unstable();
    let trained = train(&corpus, &train_rows, params, |_, _| {})?;
    Ok(all
        .iter()
        .zip(&test_of_file)
        .filter(|(_, test)| !test.is_empty())
        .map(|(file, test)| {
            let scores = score_rows(&trained.core, &corpus, test);
            FoldScores {
                name: file_name(file),
                probabilities: scores
                    .iter()
                    .map(|s| trained.calibration.probability(s.log_odds))
                    .collect(),
                sender: scores.iter().map(|s| s.sender).collect(),
                is_spam: test.iter().map(|&r| corpus.labels[r].is_spam()).collect(),
                thresholds: trained.thresholds,
                spam_share: trained.spam_share,
            }
        })
        .collect())
}

pub(crate) fn file_name(file: &LoadedFile) -> String {
    file.path.file_name().map_or_else(
        || file.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Scores every labeled file with an already trained model, one fold per file.
pub fn test_model(model: &Model, files: &[LoadedFile]) -> Vec<FoldScores> {
    let mut scratch = Scratch::default();
    files
        .iter()
        .map(|file| {
            let classified: Vec<_> = file
                .rows
                .iter()
                .map(|row: &LabeledComment| model.classify(row.comment.view(), &mut scratch))
                .collect();
            FoldScores {
                name: file.path.display().to_string(),
                probabilities: classified.iter().map(|c| c.spam_probability).collect(),
                sender: classified.iter().map(|c| c.sender_log_odds).collect(),
                is_spam: file.rows.iter().map(|r| r.label.is_spam()).collect(),
                thresholds: model.thresholds(),
                spam_share: model.spam_share(),
            }
        })
        .collect()
}
