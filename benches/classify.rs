//! Classification benchmarks (release, criterion): one ~100-byte comment through
//! normalize → tokenize → score → verdict; the same with clues; tokenizing alone; a batch of real
//! comments, and the same batch through the verdict's first steps only (tokenize, then also hash,
//! then also look up), to show each step's share; the batch with each comment repeated, to show
//! what meeting a new comment costs, and the batch with one token family switched off at a time;
//! loading the shipped model; training on all of `training-data/`.
//!
//! `cargo bench --bench classify` — the figures in README come from here. `BENCH_MODEL=path`
//! benchmarks another model file instead of the shipped one.

use criterion::{BatchSize, Criterion, Throughput, black_box, criterion_group, criterion_main};
use replyguard::data::{self, Comment, CommentView, LoadOptions};
use replyguard::engine::features::token_hash;
use replyguard::engine::tokenize::{Tokenizer, TokenizerConfig};
use replyguard::engine::train::{Corpus, TrainParams, train};
use replyguard::engine::{Model, Scratch, model_file};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const COMMENT: &str =
    "Hey everyone, check out my new channel for daily music covers!! Please subscribe :) thanks";

/// The shipped model, or the model file named by `BENCH_MODEL` (e.g. one trained with a higher
/// `--min-df`, to see how the vocabulary's size affects the figures).
fn model_path() -> PathBuf {
    match std::env::var_os("BENCH_MODEL") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.rgm"),
    }
}

fn bench_classify(c: &mut Criterion) {
    let model = model_file::load(&model_path()).expect("shipped model");
    let mut scratch = Scratch::default();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_comment_verdict", |b| {
        b.iter(|| model.classify(black_box(CommentView::text(COMMENT)), &mut scratch))
    });
    group.bench_function("one_comment_with_clues", |b| {
        b.iter(|| model.explain(black_box(CommentView::text(COMMENT)), &mut scratch, 5))
    });
    let mut tokenizer = Tokenizer::default();
    let config = model.core.tokenizer;
    group.bench_function("tokenize_only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            tokenizer.tokenize(&config, black_box(CommentView::text(COMMENT)), |_, t| {
                n += t.len()
            });
            n
        })
    });
    group.finish();

    let files = data::load_all(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data")],
        LoadOptions::default(),
    )
    .expect("training data");
    let comments: Vec<_> = files
        .iter()
        .flat_map(|f| f.rows.iter().map(|r| r.comment.clone()))
        .collect();
    // The steps of a verdict, added one at a time: tokenize; + hash every token; + look every
    // hash up in the vocabulary. The differences are each step's share (README).
    let vocab = &model.core.vocab;
    print_token_mix(&mut tokenizer, &config, &comments);
    let mut hashes = Vec::new();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(comments.len() as u64));
    group.bench_function("training_data_tokenize_only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for comment in &comments {
                tokenizer.tokenize(&config, comment.view(), |_, t| n += t.len());
            }
            n
        })
    });
    group.bench_function("training_data_tokenize_hash", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for comment in &comments {
                hash_tokens(&mut tokenizer, &config, comment, &mut hashes);
                n += hashes.len();
            }
            n
        })
    });
    group.bench_function("training_data_tokenize_hash_lookup", |b| {
        b.iter(|| {
            let mut known = 0usize;
            for comment in &comments {
                hash_tokens(&mut tokenizer, &config, comment, &mut hashes);
                known += hashes
                    .iter()
                    .filter(|&&h| vocab.column(h).is_some())
                    .count();
            }
            known
        })
    });
    group.bench_function("training_data_verdicts", |b| {
        b.iter(|| count_spam(&model, &comments, 1, &mut scratch))
    });

    // The same verdicts with one token family switched off at a time (same model, so the
    // remaining tokens are looked up and summed as usual): what each family costs.
    for (name, reduced_config) in [
        (
            "training_data_verdicts_without_bigrams",
            TokenizerConfig {
                bigrams: false,
                ..config
            },
        ),
        (
            "training_data_verdicts_without_prefixes",
            TokenizerConfig {
                prefix: 0,
                ..config
            },
        ),
        (
            "training_data_verdicts_without_metadata",
            TokenizerConfig {
                metadata: false,
                ..config
            },
        ),
    ] {
        let mut reduced = model.clone();
        reduced.core.tokenizer = reduced_config;
        group.bench_function(name, |b| {
            b.iter(|| count_spam(&reduced, &comments, 1, &mut scratch))
        });
    }

    // The same verdicts with each comment taken REPEATS times in a row: the work is identical,
    // but from the second time on the CPU has seen the comment. The gap to
    // `training_data_verdicts` is the price of meeting a new comment (README, "where the time
    // goes", which also shows that the vocabulary's size, hence the cache, does not explain it).
    const REPEATS: usize = 8;
    group.throughput(Throughput::Elements((comments.len() * REPEATS) as u64));
    group.bench_function("training_data_verdicts_each_8x", |b| {
        b.iter(|| count_spam(&model, &comments, REPEATS, &mut scratch))
    });
    group.finish();
}

/// Every token hash of `comment`, in order, into `hashes` (as a verdict computes them).
fn hash_tokens(
    tokenizer: &mut Tokenizer,
    config: &TokenizerConfig,
    comment: &Comment,
    hashes: &mut Vec<u64>,
) {
    hashes.clear();
    tokenizer.tokenize(config, comment.view(), |kind, t| {
        hashes.push(token_hash(kind, t))
    });
}

/// Classifies each comment `repeats` times in a row; returns how many verdicts said spam.
fn count_spam(model: &Model, comments: &[Comment], repeats: usize, scratch: &mut Scratch) -> usize {
    let mut spam = 0;
    for comment in comments {
        for _ in 0..repeats {
            let verdict = model.classify(black_box(comment.view()), scratch);
            spam += usize::from(verdict.spam_probability >= 0.5);
        }
    }
    spam
}

/// Prints the average size and token mix of the batch's comments (the README quotes it).
fn print_token_mix(tokenizer: &mut Tokenizer, config: &TokenizerConfig, comments: &[Comment]) {
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut bytes = 0;
    for comment in comments {
        bytes += comment.view().content.len();
        tokenizer.tokenize(config, comment.view(), |kind, _| {
            *per_kind.entry(kind.name()).or_default() += 1
        });
    }
    let n = comments.len().max(1) as f64;
    let total: usize = per_kind.values().sum();
    let mix: Vec<String> = per_kind
        .iter()
        .map(|(kind, count)| format!("{kind} {:.1}", *count as f64 / n))
        .collect();
    eprintln!(
        "batch: {} comments, {:.1} bytes and {:.1} tokens each on average ({})",
        comments.len(),
        bytes as f64 / n,
        total as f64 / n,
        mix.join(", ")
    );
}

fn bench_model_io(c: &mut Criterion) {
    c.bench_function("model_load", |b| {
        b.iter(|| model_file::load(&model_path()).expect("load"))
    });
    let files = data::load_all(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data")],
        LoadOptions::default(),
    )
    .expect("training data");
    let params = TrainParams::default();
    let mut group = c.benchmark_group("train");
    group.sample_size(10);
    group.bench_function("all_training_data", |b| {
        b.iter_batched(
            || (),
            |_| {
                let corpus = Corpus::from_files(&files, &params.tokenizer, |_| {});
                let rows: Vec<usize> = (0..corpus.len()).collect();
                train(&corpus, &rows, &params, |_, _| {}).expect("train")
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_classify, bench_model_io);
criterion_main!(benches);
