//! Normalizer, tokenizer, scorer and explanation on arbitrary comment text and metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyguard::data::CommentView;
use replyguard::engine::{Model, Scratch, model_file};
use std::path::Path;
use std::sync::OnceLock;

static SHIPPED: &[u8] = include_bytes!("../../../models/default.rgm");

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        model_file::decode(SHIPPED, Path::new("models/default.rgm")).expect("shipped model loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line doubles as the author URL and e-mail, so the metadata tokens are fuzzed too.
    let first = text.lines().next().unwrap_or("");
    let mut view = CommentView::text(&text);
    view.author_url = Some(first);
    view.author_email = Some(first);
    view.author = Some(first);
    view.user_agent = Some(first);
    let mut scratch = Scratch::default();
    let (classification, clues) = model().explain(view, &mut scratch, 5);
    assert!((0.0..=1.0).contains(&classification.spam_probability));
    assert!(clues.len() <= 5);
});
