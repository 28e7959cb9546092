//! Labeled training data: the comment record shared by every layer, and loaders for the formats
//! replyguard accepts (CSV tables: YouTube collection, WordPress spam queue, talk-page ham; SMS TSV;
//! replyguard JSONL).

mod comment;
mod csv_table;
mod error;
mod jsonl;
mod lines;
mod sms_tsv;

pub use comment::{Comment, CommentView, Label, LabeledComment};
pub use error::DataError;

use std::io::Read;
use std::path::{Path, PathBuf};

/// The on-disk formats a training file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YouTube Spam Collection CSV: `COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS` (RFC 4180).
    YoutubeCsv,
    /// A blog's spam queue as CSV: `Author,Website,…,Comment` (every row spam).
    SpamQueueCsv,
    /// Legitimate discussion comments as CSV: `id,text[,source]` (every row ham).
    TalkHamCsv,
    /// SMS Spam Collection: `label<TAB>text`, one per line, no quoting.
    SmsTsv,
    /// replyguard's own format: one JSON object per line with Akismet field names and `label`.
    Jsonl,
}

/// One loaded file: its rows plus how many malformed rows were skipped in lenient mode.
#[derive(Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub format: Format,
    pub rows: Vec<LabeledComment>,
    pub skipped: usize,
}

/// How to treat malformed rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Skip malformed rows (and count them) instead of failing on the first one.
    pub lenient: bool,
}

/// Detects the format of `path` from its extension, or failing that by sniffing its first line.
pub fn detect_format(path: &Path) -> Result<Format, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jsonl") | Some("ndjson") => return Ok(Format::Jsonl),
        Some("tsv") => return Ok(Format::SmsTsv),
        _ => {}
    }
    let mut head = [0u8; 1024];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    sniff(&head[..n]).ok_or_else(|| DataError::UnknownFormat {
        path: path.to_path_buf(),
    })
}

/// Guesses a format from the first bytes of a file.
fn sniff(head: &[u8]) -> Option<Format> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let trimmed = first_line.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return Some(Format::Jsonl);
    }
    if first_line.starts_with(b"ham\t") || first_line.starts_with(b"spam\t") {
        return Some(Format::SmsTsv);
    }
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    if first_line.contains(&b',') {
        return csv_table::sniff_header(first_line);
    }
    None
}

/// Parses the bytes of a file in the given format (`path` names it in errors).
pub fn parse_bytes(
    path: &Path,
    bytes: &[u8],
    format: Format,
    opts: LoadOptions,
) -> Result<(Vec<LabeledComment>, usize), DataError> {
    match format {
        Format::YoutubeCsv | Format::SpamQueueCsv | Format::TalkHamCsv => {
            csv_table::parse(path, bytes, opts)
        }
        Format::SmsTsv => lines::parse(path, bytes, opts, sms_tsv::record),
        Format::Jsonl => lines::parse(path, bytes, opts, jsonl::record),
    }
}

/// Loads one file in the given format.
pub fn load_file(path: &Path, format: Format, opts: LoadOptions) -> Result<LoadedFile, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (rows, skipped) = parse_bytes(path, &bytes, format, opts)?;
    Ok(LoadedFile {
        path: path.to_path_buf(),
        format,
        rows,
        skipped,
    })
}

/// Expands command-line arguments into training files: files are taken as given (their format must
/// be recognisable); directories are walked recursively, in sorted order, keeping only files whose
/// format is recognised (so README and licence files beside the data are skipped).
pub fn expand_paths(args: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>, DataError> {
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|source| DataError::Io {
            path: arg.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(arg, &mut found)?;
            found.sort();
            for path in found {
                if let Ok(format) = detect_format(&path) {
                    out.push((path, format));
                }
            }
        } else {
            let format = detect_format(arg)?;
            out.push((arg.clone(), format));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let io_err = |source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_err)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if file_type.is_dir() {
            walk(&path, out)?;
        } else if file_type.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads every file named by `args` (files or directories).
pub fn load_all(args: &[PathBuf], opts: LoadOptions) -> Result<Vec<LoadedFile>, DataError> {
    let files = expand_paths(args)?;
    if files.is_empty() {
        return Err(DataError::NoData {
            paths: args.to_vec(),
        });
    }
    files
        .iter()
        .map(|(path, format)| load_file(path, *format, opts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(
            sniff(b"COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n"),
            Some(Format::YoutubeCsv)
        );
        assert_eq!(sniff(b"ham\thello\n"), Some(Format::SmsTsv));
        assert_eq!(
            sniff(b"{\"label\":\"spam\",\"comment_content\":\"x\"}\n"),
            Some(Format::Jsonl)
        );
        assert_eq!(
            sniff(b"Comment Number,Author,Website,Submit Year,Submit Month,Submit Day,Submit Time,Post,Comment\r\n"),
            Some(Format::SpamQueueCsv)
        );
        assert_eq!(sniff(b"id,text,source\n"), Some(Format::TalkHamCsv));
        assert_eq!(sniff(b"# README\n"), None);
        assert_eq!(sniff(b"a,b,c\n"), None);
    }
}
