//! replyguard: a self-hosted comment spam filter.
//!
//! - [`data`]: the comment record and loaders for labeled training files;
//! - [`engine`]: tokenizer, naive Bayes model (fitted with linfa-bayes), model file, decisions;
//! - [`eval`]: cross-validation protocols and reports;
//! - [`cli`]: the `replyguard` command line.

pub mod akismet;
pub mod articles;
pub mod cli;
pub mod data;
pub mod engine;
pub mod eval;
pub mod storage;
pub mod web;
