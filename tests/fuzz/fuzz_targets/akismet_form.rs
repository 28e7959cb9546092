//! The Akismet endpoints' form decoder and the comment built from its parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = replyguard::web::fuzz::akismet_form(data);
});
