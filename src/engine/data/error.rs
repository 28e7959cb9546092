use std::path::PathBuf;

/// Errors raised while reading labeled data. Every variant names the file (and line) to fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: unknown training-data format (expected CSV with a YouTube-collection, WordPress spam-queue or talk-page header, .tsv/SMS `label<TAB>text`, or .jsonl)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("{}:{line}: {reason} (use --lenient to skip malformed rows)", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("no training data found in {paths:?}")]
    NoData { paths: Vec<PathBuf> },
}
