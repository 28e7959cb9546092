//! Learning-round benchmark (release, criterion): what one round of the server's learner costs
//! when 10 new moderator decisions arrive for a site that has already taught 0, 100, 1,000 or
//! 5,000, through [`ModelHolder::learn`], the call the learning task makes. Its cost decides how
//! far learning slows the verdicts served meanwhile (`benches/learning_load.py` measures that over
//! HTTP).
//!
//! `cargo bench --bench learning`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use replyguard::data::{self, Label, LoadOptions};
use replyguard::engine::online::LearningParams;
use replyguard::storage::LearnedExample;
use replyguard::web::model_holder::{ModelHolder, ThresholdOverrides};
use std::path::Path;

/// Real comments from the YouTube collection, as learning-log entries of the default site
/// (alternating sources: moderator decisions and comments that stayed published).
fn entries(n: usize) -> Vec<LearnedExample> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data/youtube-spam-collection");
    let files = data::load_all(&[dir], LoadOptions::default()).expect("training data");
    let rows: Vec<_> = files.into_iter().flat_map(|f| f.rows).collect();
    rows.iter()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, row)| LearnedExample {
            id: i as i64 + 1,
            label: row.label,
            sign: 1.0,
            source: if row.label == Label::Spam || i % 3 == 0 {
                "moderation".into()
            } else {
                "implicit".into()
            },
            arrival: None,
            comment: row.comment.clone(),
            site: "default".into(),
        })
        .collect()
}

fn bench_rounds(c: &mut Criterion) {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.rgm");
    let open = || {
        ModelHolder::open(
            model.clone(),
            ThresholdOverrides::default(),
            LearningParams::default(),
        )
        .expect("shipped model")
    };
    let all = entries(5_010);
    let mut group = c.benchmark_group("learning_round");
    group.sample_size(20);
    for before in [0usize, 100, 1_000, 5_000] {
        group.bench_function(format!("10_new_after_{before}"), |b| {
            b.iter_batched(
                || {
                    let holder = open();
                    holder.learn(&all[..before]);
                    holder
                },
                |holder| {
                    holder.learn(&all[before..before + 10]);
                    holder
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_rounds);
criterion_main!(benches);
