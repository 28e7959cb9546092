//! The model file decoder: any bytes give a model or a clear error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyguard::engine::model_file;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = model_file::decode(data, Path::new("fuzz.rgm"));
});
