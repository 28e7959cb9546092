//! `replyguard export`: the site's articles and comments as WXR, Disqus XML or training JSONL.

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
    /// Database (a SQLite path or sqlite://PATH), the one `serve` uses.
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
    /// With --format isso: the site whose threads to export (`replyguard sites list`).
    #[arg(long, default_value = "default")]
    pub site: String,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let files = match &args.articles {
        Some(dir) => crate::articles::load_dir(dir)?,
        None => vec![crate::articles::default_article()],
    };
    let rt = super::runtime()?;
    let store = rt.block_on(storage::open(&args.db))?;
    let source = export::Source {
        store: &*store,
        rt: rt.handle(),
    };
    let counts = match (&args.out, args.format) {
        (None, Format::Isso) => return Err(export::ExportError::NeedsFile.into()),
        (Some(path), Format::Isso) => replace_file(path, |tmp| {
            export::isso::write(
                &source,
                &*store,
                &files,
                &args.site,
                &args.site_url,
                tmp.path(),
            )
        })?,
        (Some(path), _) => replace_file(path, |tmp| {
            let mut out = std::io::BufWriter::new(tmp.as_file_mut());
            let counts = export::write(args.format, &source, &files, &args.site_url, &mut out)?;
            out.flush()?;
            Ok(counts)
        })?,
        (None, _) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let counts = export::write(args.format, &source, &files, &args.site_url, &mut out)?;
            out.flush()?;
            counts
        }
    };
    eprintln!(
        "exported {} article(s) and {} comment(s)",
        counts.articles, counts.comments
    );
    Ok(())
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
