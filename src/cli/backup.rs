//! `replyguard backup` and `replyguard restore`: a consistent copy of the live database, and
//! putting one back (see [`crate::storage::backup`]).

use crate::storage::Database;
use crate::storage::backup;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Database to back up (a SQLite file or a postgres:// URL); servers may keep running.
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub db: Database,
    /// Where to write the backup (replaced atomically when complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Database to restore into (stop its servers first).
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub db: Database,
    /// A backup written by `replyguard backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace a database that already holds comments.
    #[arg(long)]
    pub force: bool,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    match &args.db {
        Database::Sqlite(path) => {
            let s = backup::backup_sqlite(path, &args.out)?;
            eprintln!(
                "backed up {} comments (schema {}, {} bytes) to {}",
                s.comments,
                s.schema_version,
                s.bytes,
                args.out.display()
            );
        }
        Database::Postgres(url) => {
            let bytes = backup::backup_postgres(url, &args.out)?;
            eprintln!(
                "backed up the PostgreSQL database ({bytes} bytes, pg_dump custom format) to {}",
                args.out.display()
            );
        }
    }
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    match &args.db {
        Database::Sqlite(path) => {
            let s = backup::restore_sqlite(&args.from, path, args.force)?;
            eprintln!(
                "restored {} comments (schema {}) into {}; start the server on it",
                s.comments,
                s.schema_version,
                path.display()
            );
        }
        Database::Postgres(url) => {
            let rt = super::runtime()?;
            // Held until the restore is done: no replica counts the database as its own meanwhile.
            let _alone = rt.block_on(crate::storage::postgres_exclusive_use(url, args.force))?;
            backup::restore_postgres(&args.from, url)?;
            eprintln!(
                "restored {} into the PostgreSQL database",
                args.from.display()
            );
        }
    }
    Ok(())
}
