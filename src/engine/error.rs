use std::path::PathBuf;

/// Errors of the classification engine: training and model files. Model-file errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read model {}: {source}", path.display())]
    ModelRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write model {}: {source}", path.display())]
    ModelWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a usable replyguard model: {reason}", path.display())]
    ModelFormat { path: PathBuf, reason: String },
    #[error("training failed: {0}")]
    Training(String),
}
