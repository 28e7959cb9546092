//! `replyguard export`: articles and comments as WXR, Disqus XML, an Isso database or training
//! JSONL; of one site, or every site's comments on the articles.

use crate::domain::DEFAULT_SITE_NAME;
use crate::export::{self, Format};
use crate::storage::{self, Database};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// `wxr` (WordPress's importer and `replyguard import` read it), `disqus`, `isso` (an Isso
    /// database of one site, written to --out), or `jsonl` (training records labeled by the
    /// moderation: published = ham, spam = spam).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Database (a SQLite path, sqlite://PATH or a postgres:// URL), the one `serve` uses.
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub db: Database,
    /// Write here (replaced only once the export is complete) instead of stdout; required by
    /// `isso`, which writes a database.
    #[arg(long, short, required_if_eq("format", "isso"))]
    pub out: Option<PathBuf>,
    /// The Markdown articles `serve` shows (default: the built-in one).
    #[arg(long, env = "REPLYGUARD_ARTICLES")]
    pub articles: Option<PathBuf>,
    /// Address the site is served under, for article links.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub site_url: String,
    /// Only this site's comments, with its threads (`replyguard sites list`); without it, every
    /// site's comments on the articles (`isso`: the default site's).
    #[arg(long)]
    pub site: Option<String>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let files = match &args.articles {
        Some(dir) => crate::articles::load_dir(dir)?,
        None => vec![crate::articles::default_article()],
    };
    let rt = super::runtime()?;
    let store = rt.block_on(storage::open_existing(&args.db))?;
    // Isso's database is one site's; the other formats cover every site's comments on the
    // articles unless a site is named.
    let site = match args.format {
        Format::Isso => Some(args.site.as_deref().unwrap_or(DEFAULT_SITE_NAME)),
        _ => args.site.as_deref(),
    };
    // The default site goes by its pages' title (`--site-title`), not its row's placeholder.
    let named = match site {
        Some(name) => {
            let found = super::site_named(&*store, &rt, name)?;
            Some(rt.block_on(crate::web::identity::titled(&*store, found))?)
        }
        None => None,
    };
    let source = export::Source {
        store: &*store,
        rt: rt.handle(),
        site: named,
    };
    // A stream format written to a file or to stdout, buffered.
    let stream = |out: &mut dyn Write| -> Result<export::Counts, export::ExportError> {
        let mut out = std::io::BufWriter::new(out);
        let counts = export::write(args.format, &source, &files, &args.site_url, &mut out)?;
        out.flush()?;
        Ok(counts)
    };
    let counts = match (&args.out, args.format) {
        (None, Format::Isso) => return Err(export::ExportError::NeedsFile.into()),
        (Some(path), Format::Isso) => replace_file(path, |tmp| {
            export::isso::write(&source, &files, &args.site_url, tmp.path())
        })?,
        (Some(path), _) => replace_file(path, |tmp| stream(tmp.as_file_mut()))?,
        (None, _) => stream(&mut std::io::stdout().lock())?,
    };
    eprintln!(
        "exported {} article(s) and {} comment(s)",
        counts.articles, counts.comments
    );
    if site.is_none() && args.format != Format::Jsonl {
        let left_out = sites_with_threads(&*store, rt.handle())?;
        if !left_out.is_empty() {
            eprintln!(
                "the comments embedding sites took on their own pages are exported per site: \
                 add --site {}",
                left_out.join(" / --site ")
            );
        }
    }
    Ok(())
}

/// The sites that have threads of their own (pages that embed the comments, the default site's
/// thread pages included), which an export without `--site` does not cover.
fn sites_with_threads(
    store: &dyn storage::Store,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for site in rt.block_on(store.sites())? {
        if !rt.block_on(store.threads(site.id, 1))?.is_empty() {
            names.push(site.name);
        }
    }
    Ok(names)
}

/// Writes `path` through `write` into a temporary file beside it, then renames that over it: a
/// failed export leaves no half file, and a replaced one keeps its owner and mode.
fn replace_file(
    path: &std::path::Path,
    write: impl FnOnce(&mut tempfile::NamedTempFile) -> Result<export::Counts, export::ExportError>,
) -> anyhow::Result<export::Counts> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let counts = write(&mut tmp)?;
    tmp.as_file().sync_all()?;
    keep_owner_and_mode(tmp.path(), path);
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(counts)
}

/// Gives the export about to replace `target` the replaced file's mode and owner: a file a
/// service reads (Isso's database, as its own user) stays readable by it. A new file keeps the
/// temporary file's owner-only mode: exports hold e-mail and IP addresses. Best effort: changing
/// the owner needs the right to.
fn keep_owner_and_mode(tmp: &std::path::Path, target: &std::path::Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(old) = std::fs::metadata(target) else {
        return;
    };
    let _ = std::os::unix::fs::chown(tmp, Some(old.uid()), Some(old.gid()));
    let _ = std::fs::set_permissions(tmp, old.permissions());
}
