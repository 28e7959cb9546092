//! Measuring the classifier: cross-validation protocols (leave one file out, stratified k-fold),
//! testing a trained model on labeled files, and the reports they print.

pub mod plot;
pub mod report;

use crate::data::{LabeledComment, LoadedFile};
use crate::engine::folds::stratified_folds;
use crate::engine::train::{Corpus, TrainParams, score_rows, train};
use crate::engine::{EngineError, Model, Scratch, Thresholds};
pub use report::{EvalReport, FoldReport};

/// Scores of one test fold, kept for reports and plots.
#[derive(Debug, Clone)]
pub struct FoldScores {
    pub name: String,
    pub probabilities: Vec<f64>,
    pub is_spam: Vec<bool>,
    pub thresholds: Thresholds,
}

/// Builds one corpus for all rows of `files`, remembering which file each row came from.
fn corpus_of(files: &[LoadedFile], params: &TrainParams) -> (Corpus, Vec<usize>) {
    let file_of = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| std::iter::repeat_n(f, file.rows.len()))
        .collect();
    (
        Corpus::from_files(files, &params.tokenizer, |_| {}),
        file_of,
    )
}

fn run_fold(
    name: String,
    corpus: &Corpus,
    train_rows: &[usize],
    test_rows: &[usize],
    params: &TrainParams,
) -> Result<FoldScores, EngineError> {
    let trained = train(corpus, train_rows, params, |_, _| {})?;
    let probabilities = score_rows(&trained.core, corpus, test_rows)
        .into_iter()
        .map(|s| trained.calibration.probability(s))
        .collect();
    Ok(FoldScores {
        name,
        probabilities,
        is_spam: test_rows
            .iter()
            .map(|&r| corpus.labels[r].is_spam())
            .collect(),
        thresholds: trained.thresholds,
    })
}

/// Leave-one-file-out: for each file, train on all the others (with the full training pipeline,
/// calibration included) and test on it.
pub fn leave_one_file_out(
    files: &[LoadedFile],
    params: &TrainParams,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<FoldScores>, EngineError> {
    if files.len() < 2 {
        return Err(EngineError::Training(
            "--leave-one-file-out needs at least two files".into(),
        ));
    }
    let (corpus, file_of) = corpus_of(files, params);
    let mut out = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let train_rows: Vec<usize> = (0..corpus.len()).filter(|&i| file_of[i] != f).collect();
        let test_rows: Vec<usize> = (0..corpus.len()).filter(|&i| file_of[i] == f).collect();
        let name = file.path.file_name().map_or_else(
            || file.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        out.push(run_fold(name, &corpus, &train_rows, &test_rows, params)?);
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

/// Scores every labeled file with an already trained model, one fold per file.
pub fn test_model(model: &Model, files: &[LoadedFile]) -> Vec<FoldScores> {
    let mut scratch = Scratch::default();
    files
        .iter()
        .map(|file| {
            let score = |row: &LabeledComment| {
                model
                    .classify(row.comment.view(), &mut scratch)
                    .spam_probability
            };
            FoldScores {
                name: file.path.display().to_string(),
                probabilities: file.rows.iter().map(score).collect(),
                is_spam: file.rows.iter().map(|r| r.label.is_spam()).collect(),
                thresholds: model.thresholds(),
            }
        })
        .collect()
}
