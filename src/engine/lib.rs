//! The classification engine: normalize → tokenize → features → naive Bayes → calibrated verdict;
//! and [`data`], the labeled comment record with the loaders of training files.
//!
//! The `replyguard` crate re-exports it as `replyguard::engine` (and `replyguard::data`).

// No unsafe code of our own, as in the server crate.
#![forbid(unsafe_code)]

pub mod data;

mod column_stats;
pub mod decision;
pub mod error;
pub mod features;
pub mod folds;
pub mod marked_spam;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod normalize;
pub mod online;
pub mod recalibrate;
pub mod site_counts;
pub mod site_layer;
pub mod site_prior;
pub mod tokenize;
pub mod train;

pub use decision::{Calibration, ThresholdRule, Thresholds, Verdict};
pub use error::EngineError;
pub use model::{Classification, Clue, Model, ModelMeta, Scratch};
