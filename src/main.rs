#![forbid(unsafe_code)]

use clap::Parser;
use replyguard::cli;

fn main() {
    let parsed = cli::Cli::parse();
    if let Err(err) = cli::run(parsed) {
        if cli::is_broken_pipe(&err) {
            return;
        }
        eprintln!("error: {}", cli::describe(&err));
        std::process::exit(cli::exit_code(&err));
    }
}

// mimalloc keeps freed pages for reuse instead of unmapping them: training hands linfa-bayes large
// dense chunks that it copies into freshly allocated arrays on every call, and with the system
// allocator each of those copies paid for its page faults again.
// Built with `no_thp`: otherwise mimalloc asks for transparent huge pages on its eagerly committed
// arena, and where the kernel grants them on request (THP `madvise`, Debian's default) the server
// sat on whole 2 MiB pages it used a sliver of (1M comments: RSS 123-130 MiB, 84 MiB of it huge
// pages, against 98 MiB without) and page faults stalled on compaction (page p99 3.7-10.6 ms vs 2.4-2.8 ms).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
