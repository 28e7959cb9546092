//! Markdown comments (the Isso API's) rendered and read on arbitrary text: no panic, no hang, and
//! nothing executable or embedded left in what pages show.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyguard::domain::comment_text::{markdown_reading, markdown_to_html};

/// Whether `html` has an attribute `on…="` (an event handler). A quote inside an attribute's
/// value is written `&quot;`, so `="` right after a name can only start a real attribute.
fn has_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let rest = &html[at + 3..];
        let name = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        rest[name..].starts_with("=\"")
    })
}

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let html = markdown_to_html(&source).to_ascii_lowercase();
    // Text escapes `<` (typed HTML shows as `&lt;script`), so every `<` opens a live tag.
    for piece in html.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        for embedded in ["script", "style", "img", "iframe", "svg", "math", "object"] {
            assert!(!tag.starts_with(embedded), "<{tag}> survived: {html}");
        }
        assert!(!tag.contains("href=\"javascript:"), "<{tag}>: {html}");
        assert!(!has_handler(tag), "an event handler survived in <{tag}>: {html}");
    }
    let _ = markdown_reading(&source);
});
