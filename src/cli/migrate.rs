//! `replyguard migrate`: a SQLite database copied into PostgreSQL.

use crate::storage::{Database, copy};
use clap::Args;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy (a path or sqlite://PATH); it is only read.
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub from: Database,
    /// The PostgreSQL database to copy into (postgres://USER[:PASSWORD]@HOST[:PORT]/DB); it must
    /// hold no comments, keys or articles yet. The schema is created if needed.
    #[arg(long)]
    pub to: Database,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let Database::Sqlite(from) = &args.from else {
        anyhow::bail!("--from must be a SQLite database (a path or sqlite://PATH)");
    };
    let Database::Postgres(to) = &args.to else {
        anyhow::bail!("--to must be a PostgreSQL URL (postgres://USER@HOST/DB)");
    };
    let rt = super::runtime()?;
    let report = |table: &str, rows: u64| eprint!("\r{table}: {rows} rows          ");
    let copied = rt.block_on(copy::sqlite_to_postgres(from, to, &report))?;
    eprintln!("\r{:40}", "");
    for (table, rows) in &copied {
        eprintln!("{table:20} {rows:>10} rows");
    }
    eprintln!(
        "copied {} into {}; point every replica's --db at it",
        args.from, args.to
    );
    Ok(())
}
