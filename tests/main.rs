//! Every integration test of replyguard in one test binary (`cargo test` runs it with the unit
//! tests): each file beside this one is a module, `common/` their shared helpers.
//!
//! One binary instead of one per file: each of the 23 binaries linked the whole crate and its
//! dependencies and compiled `common/` again, about 110 s of the test build's 411 s on a fresh
//! clone (2 cores); the one binary takes 35 s. Run one file's tests with
//! `cargo test --test integration server::`.

mod common;

mod accuracy;
mod akismet;
mod akismet_clients;
mod backup;
mod browser;
mod cli;
mod crash;
mod deploy;
mod embed;
mod faults;
mod feeds;
mod import;
mod isso;
mod learning;
mod linfa_equivalence;
mod notify;
mod properties;
mod replicas;
mod rules;
mod security;
mod server;
mod sites;
mod storage_conformance;
