//! Property tests: hostile input never panics the parsers and the scorer. Each property runs a few
//! hundred generated cases in `cargo test` (fixed seed by proptest's defaults, failures persisted).

use proptest::prelude::*;
use replyguard::data::{self, CommentView, Format, LoadOptions};
use replyguard::engine::tokenize::{Tokenizer, TokenizerConfig};
use replyguard::engine::{Scratch, model_file};
use std::path::Path;
use std::sync::OnceLock;

fn model() -> &'static replyguard::engine::Model {
    static MODEL: OnceLock<replyguard::engine::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        model_file::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.rgm")).unwrap()
    })
}

/// Text rich in the things that break tokenizers: tags, entities, URLs, e-mails, digits, emoji,
/// invisible and combining characters, long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        Just("<a href=\"http://x.example/p?q=1\">".to_string()),
        Just("</b><br />".to_string()),
        Just("&amp;&#39;&#x1F600;&bogus;&".to_string()),
        Just("https://www.example.co.uk/watch?v=1".to_string()),
        Just("me@mail.example.org".to_string()),
        Just("\u{FEFF}\u{200B}\u{0092}\u{0301}".to_string()),
        Just("😀🙂█░".to_string()),
        Just("!!!???$$$".to_string()),
        Just("ǅÜBERß İ".to_string()),
        "\\PC{0,8}",
        "[<>&;#./@:'\\-_+]{1,6}",
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn tokenizer_never_panics_and_emits_nonempty_tokens(text in hostile_text(), author in hostile_text(), url in hostile_text()) {
        let config = TokenizerConfig { char_ngrams: 4, ..TokenizerConfig::default() };
        let view = CommentView { content: &text, author: Some(&author), author_email: Some(&url), author_url: Some(&url), user_agent: None, comment_type: Some(&author) };
        let mut tokenizer = Tokenizer::default();
        tokenizer.tokenize(&config, view, |_, token| assert!(!token.is_empty()));
    }

    #[test]
    fn scoring_is_a_probability(text in hostile_text()) {
        let mut scratch = Scratch::default();
        let (result, clues) = model().explain(CommentView::text(&text), &mut scratch, 5);
        prop_assert!((0.0..=1.0).contains(&result.spam_probability));
        prop_assert!(clues.len() <= 5);
        let again = model().classify(CommentView::text(&text), &mut scratch);
        prop_assert_eq!(again.spam_probability, result.spam_probability);
    }

    #[test]
    fn loaders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for format in [Format::YoutubeCsv, Format::SmsTsv, Format::Jsonl] {
            for lenient in [false, true] {
                let _ = data::parse_bytes(Path::new("fuzz"), &bytes, format, LoadOptions { lenient });
            }
        }
    }

    #[test]
    fn form_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(pairs) = replyguard::web::form::parse(&bytes) {
            for (k, v) in pairs {
                prop_assert!(!k.contains('&') || bytes.windows(3).any(|w| w == b"%26"));
                let _ = v;
            }
        }
    }

    #[test]
    fn damaged_model_files_are_refused_not_panicked_on(cut in 0usize..2000, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let good = model_file::encode(model());
        let mut bytes = good.clone();
        for (at, xor) in flips {
            let at = at % bytes.len();
            bytes[at] ^= xor | 1;
        }
        prop_assert!(model_file::decode(&bytes, Path::new("fuzz.rgm")).is_err());
        let cut = cut.min(good.len() - 1);
        prop_assert!(model_file::decode(&good[..cut], Path::new("fuzz.rgm")).is_err());
        prop_assert!(model_file::decode(&good[good.len() - cut.min(64)..], Path::new("fuzz.rgm")).is_err());
    }
}
