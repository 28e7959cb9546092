//! `replyguard import`: a site's history from WordPress or Disqus exports, or an Isso database.

use super::default_model;
use crate::import::run::{Importer, Options, Report};
use crate::import::{self, ImportError};
use crate::storage::{self, Database};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Export files, imported in the order given: WordPress WXR (Tools → Export), `wp comment list
    /// --format=json|csv` dumps (they carry spam, which WXR leaves out), Disqus XML, or an Isso
    /// database (`comments.db`; detected from its content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Database (a SQLite path, sqlite://PATH or a postgres:// URL), the one `serve` uses.
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub db: Database,
    /// Model that scores imported comments for the moderation queues (their status is kept).
    #[arg(long, env = "REPLYGUARD_MODEL", default_value_os_t = default_model())]
    pub model: PathBuf,
    /// The Markdown articles `serve` shows: a Disqus thread whose link ends in one's slug joins it.
    #[arg(long, env = "REPLYGUARD_ARTICLES")]
    pub articles: Option<PathBuf>,
    /// The site the comments belong to (`replyguard sites list`); an Isso database usually goes
    /// to the site whose pages embed it.
    #[arg(long, default_value = crate::domain::DEFAULT_SITE_NAME, value_name = "NAME")]
    pub site: String,
    /// The files' format; detected from their content when not given (a file of another format
    /// is then refused, naming what it is).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not teach the filter the imported spam and approved comments.
    #[arg(long)]
    pub no_learn: bool,
    /// Refused records listed in full (the rest are counted).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub show_refused: usize,
    /// Where the old site's uploads live now: every `http(s)://…/wp-content/uploads/PATH` in the
    /// imported posts becomes `URL/PATH` (copy the folder there first).
    #[arg(long, value_name = "URL")]
    pub media_base: Option<String>,
}

/// The formats `--format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// WordPress WXR (Tools → Export).
    Wxr,
    /// `wp comment list --format=json`.
    WpJson,
    /// `wp comment list --format=csv`.
    WpCsv,
    /// Disqus XML export.
    Disqus,
    /// An Isso database (`comments.db`).
    Isso,
}

impl FormatArg {
    fn format(self) -> import::Format {
        match self {
            FormatArg::Wxr => import::Format::Wxr,
            FormatArg::WpJson => import::Format::WpJson,
            FormatArg::WpCsv => import::Format::WpCsv,
            FormatArg::Disqus => import::Format::Disqus,
            FormatArg::Isso => import::Format::Isso,
        }
    }
}

/// Some records were refused; the rest were imported (or, in a dry run, would be).
#[derive(Debug, thiserror::Error)]
#[error("{0} record(s) refused (listed above); everything else {1}")]
pub struct RecordsRefused(pub usize, &'static str);

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read the model {}", args.model.display()))?;
    let model = crate::engine::model_file::decode(&bytes, &args.model)?;
    let version = crate::engine::model_file::version_of(&bytes);
    let taken: Vec<String> = match &args.articles {
        Some(dir) => crate::articles::load_dir(dir)?
            .into_iter()
            .map(|a| a.slug)
            .collect(),
        None => vec![crate::articles::default_article().slug],
    };
    let rt = super::runtime()?;
    // A dry run writes nothing, not even a new database: into one that is not there yet, it
    // runs against an empty one in a temporary directory, removed after.
    let scratch = match &args.db {
        storage::Database::Sqlite(path) if args.dry_run && !path.exists() => {
            Some(tempfile::tempdir().context("cannot make a temporary directory")?)
        }
        _ => None,
    };
    let db = match &scratch {
        Some(dir) => storage::Database::Sqlite(dir.path().join("dry-run.db")),
        None => args.db.clone(),
    };
    // A new database holds only the default site: importing onto another one into a file that
    // is not there (a mistyped --db, or the site not added yet) is said before anything is made.
    if let storage::Database::Sqlite(path) = &args.db
        && args.site != crate::domain::DEFAULT_SITE_NAME
        && !path.exists()
    {
        anyhow::bail!(
            "there is no site `{}`: the database {} does not exist (check --db, or add the site \
             first with `replyguard sites add {} --origin URL`)",
            args.site,
            path.display(),
            args.site
        );
    }
    let store = rt.block_on(storage::open(&db))?;
    let site = super::site_named(&*store, &rt, &args.site)?;
    let mut importer = Importer::new(
        &*store,
        rt.handle(),
        Options {
            model: &model,
            model_version: &version,
            learn: !args.no_learn,
            dry_run: args.dry_run,
            taken_slugs: &taken,
            site: site.id,
            site_name: &site.name,
            site_origins: &site.origins,
            media_base: args.media_base.as_deref(),
        },
    );
    // WordPress's posts first, then other systems' threads, then the comment dumps that name
    // posts by id only (otherwise in the order given): a dump's comments then find their post,
    // as an article or as a site's thread, and a site's page takes the path WordPress gave it
    // (a Disqus link may lack its trailing `/`), whichever file was named first.
    let mut files: Vec<(u8, &std::path::PathBuf)> = args
        .files
        .iter()
        .map(|path| {
            let rank = match import::open(path, |file| file).map(|(format, _)| format) {
                Ok(import::Format::Wxr) | Err(_) => 0,
                Ok(import::Format::Disqus | import::Format::Isso) => 1,
                Ok(import::Format::WpJson | import::Format::WpCsv) => 2,
            };
            (rank, path)
        })
        .collect();
    files.sort_by_key(|(rank, _)| *rank);
    for (_, path) in files {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bar = indicatif::ProgressBar::new(size).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(path.display().to_string());
        let (format, input) = import::open(path, |file| bar.wrap_read(file))?;
        if let Some(wanted) = args.format
            && wanted.format() != format
        {
            anyhow::bail!(
                "{} is not a {} file: it reads as {} (leave --format out to import it as that)",
                path.display(),
                wanted.format().name(),
                format.name()
            );
        }
        let refused_before = importer.report.refused.len();
        let outcome = match format {
            import::Format::Isso => {
                drop(input);
                import::read_file(format, path, &mut |item| importer.take(item))
            }
            _ => import::read_media(format, path).and_then(|media| {
                import::read(format, input, &media, &mut |item| importer.take(item))
            }),
        }
        .and_then(|()| importer.flush());
        bar.finish_and_clear();
        match outcome {
            Ok(()) => {}
            // Malformed XML or JSON stops this file: what came before it is imported.
            Err(e @ (ImportError::Syntax { .. } | ImportError::Malformed(_))) => {
                importer.flush()?;
                importer.report.refused.push(import::Refused {
                    position: path.display().to_string(),
                    reason: format!("{e}; the records before it were imported"),
                });
            }
            Err(e) => return Err(e.into()),
        }
        eprintln!(
            "{}: {} ({} refused)",
            path.display(),
            format.name(),
            importer.report.refused.len() - refused_before
        );
    }
    importer.finish()?;
    // Servers' cached pages must not outlive what this import changed (on PostgreSQL they hear
    // of it from an announcement this process would otherwise send after it exits).
    if !args.dry_run {
        rt.block_on(store.announce_changes())?;
    }
    let report = importer.report;
    print_report(&report, &args)?;
    if report.refused.is_empty() {
        Ok(())
    } else {
        let rest = if args.dry_run {
            "would be imported (a dry run: nothing was written)"
        } else {
            "was imported"
        };
        Err(RecordsRefused(report.refused.len(), rest).into())
    }
}

fn print_report(r: &Report, args: &ImportArgs) -> anyhow::Result<()> {
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    outln!(
        "articles: {verb} {} ({} not public), {} already there",
        r.articles_created,
        r.articles_hidden,
        r.articles_existing
    );
    if r.threads > 0 {
        outln!("threads (pages of site `{}`): {}", args.site, r.threads);
    }
    let by_status = r
        .comments
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    outln!(
        "comments: {verb} {} ({}), {} already there, {} orphaned",
        r.comments_created(),
        if by_status.is_empty() {
            "none"
        } else {
            &by_status
        },
        r.comments_existing,
        r.orphans.len()
    );
    if args.no_learn {
        outln!("learning: off (--no-learn)");
    } else {
        outln!(
            "learning: {} spam and {} ham examples {}",
            r.learned_spam,
            r.learned_ham,
            if args.dry_run {
                "would be learned"
            } else {
                "added to the learning log"
            }
        );
    }
    if r.replies_linked > 0 {
        outln!(
            "threads: {} replies linked to their parents",
            r.replies_linked
        );
    }
    for note in &r.notes {
        outln!("article {note}");
    }
    for orphan in r.orphans.iter().take(args.show_refused) {
        eprintln!("orphan: comment {orphan}: its thread is not in the file or the database");
    }
    for refused in r.refused.iter().take(args.show_refused) {
        eprintln!("refused: {}: {}", refused.position, refused.reason);
    }
    if r.refused.len() > args.show_refused {
        eprintln!("… and {} more refused", r.refused.len() - args.show_refused);
    }
    Ok(())
}
