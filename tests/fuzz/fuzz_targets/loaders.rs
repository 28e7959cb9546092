//! The three training-data loaders (YouTube CSV, SMS TSV, JSONL), strict and lenient.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replyguard::data::{Format, LoadOptions, parse_bytes};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = match selector % 3 {
        0 => Format::YoutubeCsv,
        1 => Format::SmsTsv,
        _ => Format::Jsonl,
    };
    let path = Path::new("fuzz-input");
    for lenient in [false, true] {
        let _ = parse_bytes(path, bytes, format, LoadOptions { lenient });
    }
});
