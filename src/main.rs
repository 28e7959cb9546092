use clap::Parser;
use replyguard::cli;

fn main() {
    let parsed = cli::Cli::parse();
    if let Err(err) = cli::run(parsed) {
        eprintln!("error: {err:#}");
        std::process::exit(cli::exit_code(&err));
    }
}
