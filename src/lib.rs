//! replyguard: a self-hosted comment spam filter.
//!
//! - [`data`]: the comment record and loaders for labeled training files;
//! - [`domain`]: validated comments, origins, moderation status and its rules;
//! - [`engine`]: tokenizer, naive Bayes model (linfa-bayes's estimator), model file, decisions;
//! - [`eval`]: cross-validation protocols and reports;
//! - [`cli`]: the `replyguard` command line.

// No unsafe code of our own: memory safety is the compiler's to prove, and the fuzz smoke runs
// rely on it (tests/fuzz/run.sh runs them without AddressSanitizer).
#![forbid(unsafe_code)]

pub mod akismet;
pub mod articles;
pub mod cli;
/// The labeled comment record and training-file loaders (crate `replyguard-engine`).
pub use replyguard_engine::data;
pub mod domain;
/// The classification engine: its own crate, `replyguard-engine` (in `src/engine/`).
pub use replyguard_engine as engine;
pub mod eval;
pub mod export;
pub mod import;
pub mod storage;
pub mod web;
