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
// sat on whole 2 MiB pages it used a sliver of (84 MiB of its RSS at 1M comments) and page faults
// stalled on compaction. `benches/deep_pages.py 1000000 500`: RSS 123 -> 109 MiB (SQLite) and
// 125 -> 98 MiB (PostgreSQL), numbered-page p99 8.2 -> 3.0 ms and 17.5 -> 9.5 ms.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
