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
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
