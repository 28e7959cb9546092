//! The reply form's body decoder and field validation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = replyguard::web::fuzz::comment_form(data);
});
