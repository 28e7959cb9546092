//! The model in service, swappable without a restart: readers take a cheap snapshot (`arc-swap`),
//! a reload replaces it atomically, and requests in flight finish on the model they started with.

use crate::engine::{EngineError, Model, model_file};
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// A loaded model and how to name it.
pub struct ServedModel {
    pub model: Model,
    /// First 12 hex digits of the model file's sha256.
    pub version: String,
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
    let mut model = model_file::decode(&bytes, path)?;
    let base = model.thresholds();
    let thresholds = crate::engine::Thresholds {
        hold: overrides.hold.unwrap_or(base.hold),
        reject: overrides.reject.unwrap_or(base.reject),
    };
    model
        .set_thresholds(thresholds)
        .map_err(|reason| EngineError::ModelFormat {
            path: path.clone(),
            reason: format!("threshold overrides do not fit this model: {reason}"),
        })?;
    let digest = Sha256::digest(&bytes);
    let version = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(ServedModel { model, version })
}

impl ModelHolder {
    /// Loads the model at `path`.
    pub fn open(path: PathBuf, overrides: ThresholdOverrides) -> Result<Self, EngineError> {
        let served = load(&path, overrides)?;
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
