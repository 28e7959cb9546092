//! The model in service, swappable without a restart: readers take a cheap snapshot (`arc-swap`),
//! a reload replaces it atomically, and requests in flight finish on the model they started with.
//!
//! When the configured file cannot be loaded at start (missing, truncated, corrupt), the server
//! still starts, scoring with the model shipped inside the binary, and says so: an error in the
//! log, `"model": {"source": "shipped", "problem": …}` on `/healthz`. Reloading once the file is
//! fixed switches to it. A comment section that stops taking comments because of a model file is
//! worse than one filtered by the shipped model for a while.

use crate::engine::{EngineError, Model, model_file};
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The model file shipped with replyguard, compiled in as the fallback.
pub const SHIPPED_MODEL: &[u8] = include_bytes!("../../models/default.rgm");

/// A loaded model and how to name it.
pub struct ServedModel {
    pub model: Model,
    /// First 12 hex digits of the model file's sha256.
    pub version: String,
    /// Why the configured file is not the one serving (the shipped model stands in), if so.
    pub problem: Option<String>,
}

/// Operator overrides of the model's thresholds, applied to every model loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThresholdOverrides {
    pub hold: Option<f64>,
    pub reject: Option<f64>,
}

/// Holds the current model and the path it is reloaded from.
pub struct ModelHolder {
    path: PathBuf,
    overrides: ThresholdOverrides,
    current: ArcSwap<ServedModel>,
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
    let digest = Sha256::digest(bytes);
    let version = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(ServedModel {
        model,
        version,
        problem: None,
    })
}

impl ModelHolder {
    /// Loads the model at `path`, or the shipped one if that file cannot be loaded (see the
    /// module comment). Fails only if the threshold overrides do not fit the shipped model.
    pub fn open(path: PathBuf, overrides: ThresholdOverrides) -> Result<Self, EngineError> {
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
            current: ArcSwap::from_pointee(served),
        })
    }

    /// The model to use for one request.
    pub fn current(&self) -> Arc<ServedModel> {
        self.current.load_full()
    }

    /// Loads the file again; on success swaps it in and returns the new version. On failure the
    /// old model keeps serving and the error says what is wrong with the file.
    pub fn reload(&self) -> Result<String, EngineError> {
        let served = load(&self.path, self.overrides)?;
        let version = served.version.clone();
        self.current.store(Arc::new(served));
        Ok(version)
    }
}
