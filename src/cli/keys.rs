//! `replyguard keys`: Akismet API keys for the blogs that use this server.

use crate::akismet::{PREFIX_LEN, generate_key, key_hash, normalize_blog};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub db: super::DbArg,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key bound to one or more blogs; prints the key alone on stdout (shown once).
    Add {
        /// Blog URL the key is valid for (repeat for several).
        #[arg(long, required = true)]
        blog: Vec<String>,
        /// Free-text note.
        #[arg(long)]
        note: Option<String>,
        /// Monthly call quota reported by /1.2/usage-limit (default: none).
        #[arg(long)]
        quota: Option<i64>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key: the key, or the prefix `keys list` shows (a lost key).
    Revoke {
        /// The key, or its listed prefix (e.g. `e1d3eb`).
        key: String,
    },
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    // Adding a key may create the database; listing or revoking reads one that is there.
    let store = match args.command {
        KeysCommand::Add { .. } => rt.block_on(crate::storage::open(&args.db.db))?,
        _ => rt.block_on(crate::storage::open_existing(&args.db.db))?,
    };
    match args.command {
        KeysCommand::Add { blog, note, quota } => {
            let blogs: Vec<String> = blog.iter().map(|b| normalize_blog(b)).collect();
            anyhow::ensure!(
                blogs.iter().all(|b| !b.is_empty()),
                "--blog must be a URL such as https://blog.example.com"
            );
            let key = generate_key();
            let stored = rt.block_on(store.add_key(
                &key_hash(&key),
                &key[..PREFIX_LEN],
                &blogs,
                note.as_deref(),
                quota,
            ))?;
            eprintln!(
                "created key {}… for {} (store it now: only its hash is kept)",
                stored.prefix,
                stored.blogs.join(", ")
            );
            outln!("{key}");
        }
        KeysCommand::List => {
            for k in rt.block_on(store.keys())? {
                outln!(
                    "{}…  {}  blogs: {}  quota: {}  created {}{}{}",
                    k.prefix,
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    k.blogs.join(", "),
                    k.quota.map_or("none".to_string(), |q| q.to_string()),
                    k.created_at,
                    k.revoked_at
                        .map(|r| format!(", revoked {r}"))
                        .unwrap_or_default(),
                    k.note.map(|n| format!("  note: {n}")).unwrap_or_default(),
                );
            }
        }
        KeysCommand::Revoke { key } => {
            let key = key.trim().trim_end_matches('…');
            let revoked = if key.chars().count() == PREFIX_LEN {
                // The prefix a listing shows: the one active key that starts so.
                let matching: Vec<_> = rt
                    .block_on(store.keys())?
                    .into_iter()
                    .filter(|k| k.revoked_at.is_none() && k.prefix == key)
                    .collect();
                match matching.as_slice() {
                    [one] => rt.block_on(store.revoke_key_id(one.id))?,
                    [] => false,
                    _ => anyhow::bail!(
                        "{} active keys start with `{key}`: give the whole key",
                        matching.len()
                    ),
                }
            } else {
                rt.block_on(store.revoke_key(&key_hash(key)))?
            };
            anyhow::ensure!(
                revoked,
                "no active key matches (give the key, or the prefix `keys list` shows)"
            );
            eprintln!("revoked; servers stop accepting it within 30 seconds");
        }
    }
    Ok(())
}
