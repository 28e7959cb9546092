//! `replyguard rules`: a site's rules from the command line — show them, or set them, e.g. from
//! the lists WordPress keeps (`wp option get moderation_keys > moderation.txt`, the same for
//! `disallowed_keys`, one key per line). A running server applies a change within 2 seconds.

use crate::domain::site_rules::{DEFAULT_SITE, SiteRules, keys_from_lines, setting_key};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub db: super::DbArg,
    /// The site whose rules these are.
    #[arg(long, default_value = DEFAULT_SITE, global = true)]
    pub site: String,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the site's stored rules as JSON (the defaults when it has none).
    Show,
    /// Change some of the site's rules; what is not given stays as it is.
    Set {
        /// Moderation keys, one per line (replaces the list); `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        moderation_keys: Option<PathBuf>,
        /// Disallowed keys, one per line (replaces the list); `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        disallowed_keys: Option<PathBuf>,
        /// Hold a comment with this many links or more (0: off).
        #[arg(long, value_name = "N")]
        hold_links_at: Option<u32>,
        /// Hold a form posted sooner than this many seconds after its page was served (0: off).
        #[arg(long, value_name = "SECONDS")]
        min_form_seconds: Option<u32>,
        /// Trust readers whose earlier comment is published.
        #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
        trust_returning_authors: Option<bool>,
        /// ... unless the filter's spam probability is at least this (0-1).
        #[arg(long, value_name = "P")]
        trusted_publish_below: Option<f64>,
        /// Days a moderator's spam decision counts against its sender (0: off).
        #[arg(long, value_name = "DAYS")]
        spam_history_days: Option<u32>,
    },
}

pub fn run(args: RulesArgs) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    // Setting the default site's rules may create the database (before its first `serve`);
    // showing them, or another site's (added first), reads one that is there.
    let store = match args.command {
        RulesCommand::Set { .. } if args.site == crate::domain::DEFAULT_SITE_NAME => {
            rt.block_on(crate::storage::open(&args.db.db))?
        }
        RulesCommand::Set { .. } => rt
            .block_on(crate::storage::open_existing(&args.db.db))
            .with_context(|| {
                format!(
                    "site `{0}` must be added first (`replyguard sites add {0} --origin URL`)",
                    args.site
                )
            })?,
        RulesCommand::Show => rt.block_on(crate::storage::open_existing(&args.db.db))?,
    };
    super::site_named(&*store, &rt, &args.site)?;
    let key = setting_key(&args.site);
    let stored = match rt.block_on(store.setting(&key))? {
        None => SiteRules::default(),
        Some(json) => serde_json::from_str(&json)
            .with_context(|| format!("the stored rules of site `{}` are unreadable", args.site))?,
    };
    match args.command {
        RulesCommand::Show => {}
        RulesCommand::Set {
            moderation_keys,
            disallowed_keys,
            hold_links_at,
            min_form_seconds,
            trust_returning_authors,
            trusted_publish_below,
            spam_history_days,
        } => {
            let mut rules = stored.clone();
            if let Some(path) = moderation_keys {
                rules.moderation_keys = keys_from_lines(&read_list(&path)?);
            }
            if let Some(path) = disallowed_keys {
                rules.disallowed_keys = keys_from_lines(&read_list(&path)?);
            }
            rules.hold_links_at = hold_links_at.unwrap_or(rules.hold_links_at);
            rules.min_form_seconds = min_form_seconds.unwrap_or(rules.min_form_seconds);
            rules.trust_returning_authors =
                trust_returning_authors.unwrap_or(rules.trust_returning_authors);
            rules.spam_history_days = spam_history_days.unwrap_or(rules.spam_history_days);
            rules.trusted_publish_below =
                trusted_publish_below.unwrap_or(rules.trusted_publish_below);
            let rules = rules.validated().map_err(|errors| {
                let lines: Vec<String> =
                    errors.iter().map(|(f, e)| format!("  {f}: {e}")).collect();
                anyhow::anyhow!("nothing was changed:\n{}", lines.join("\n"))
            })?;
            rt.block_on(store.set_setting(&key, &serde_json::to_string(&rules)?))?;
            eprintln!(
                "saved the rules of site `{}` ({} moderation keys, {} disallowed keys)",
                args.site,
                rules.moderation_keys.len(),
                rules.disallowed_keys.len()
            );
            println!("{}", serde_json::to_string_pretty(&rules)?);
            return Ok(());
        }
    }
    println!("{}", serde_json::to_string_pretty(&stored)?);
    Ok(())
}

fn read_list(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading the keys from stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
