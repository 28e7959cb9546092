//! Labeled comments in CSV tables (RFC 4180 quoting, multi-line fields), columns found by header
//! name so reordered or extra columns are fine. Three layouts are recognised:
//!
//! - **YouTube Spam Collection**: `COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS`, `CLASS` 1 = spam, 0 = ham.
//! - **WordPress spam queue**: `Comment Number,Author,Website,Submit Year,Submit Month,Submit Day,
//!   Submit Time,Post,Comment`, a blog's moderation queue scraped as it was: every row is spam.
//!   `Author` → `comment_author`, `Website` → `comment_author_url`, the date from its three columns.
//! - **Talk-page ham**: `id,text[,source]`, legitimate discussion comments: every row is ham.

use super::{Comment, DataError, Format, Label, LabeledComment, LoadOptions};
use std::path::Path;

/// Which columns of a header hold what, and the label of rows without a label column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    content: usize,
    label: LabelSource,
    author: Option<usize>,
    url: Option<usize>,
    date: DateColumns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelSource {
    /// `CLASS`: 1 = spam, 0 = ham.
    Class(usize),
    /// Every row of the file has this label.
    Fixed(Label),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateColumns {
    None,
    /// One column with an ISO 8601 date or date-time.
    Iso(usize),
    /// Year, month and day in three columns.
    Split(usize, usize, usize),
}

fn position(headers: &[&[u8]], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
}

impl Layout {
    /// The layout of a header row, or `None` when it is none of the recognised ones.
    pub(super) fn of(headers: &[&[u8]]) -> Option<(Format, Layout)> {
        let col = |name: &str| position(headers, name);
        if let (Some(content), Some(class)) = (col("CONTENT"), col("CLASS")) {
            return Some((
                Format::YoutubeCsv,
                Layout {
                    content,
                    label: LabelSource::Class(class),
                    author: col("AUTHOR"),
                    url: None,
                    date: col("DATE").map_or(DateColumns::None, DateColumns::Iso),
                },
            ));
        }
        if let (Some(content), Some(author), Some(url)) =
            (col("Comment"), col("Author"), col("Website"))
        {
            let date = match (col("Submit Year"), col("Submit Month"), col("Submit Day")) {
                (Some(y), Some(m), Some(d)) => DateColumns::Split(y, m, d),
                _ => DateColumns::None,
            };
            return Some((
                Format::SpamQueueCsv,
                Layout {
                    content,
                    label: LabelSource::Fixed(Label::Spam),
                    author: Some(author),
                    url: Some(url),
                    date,
                },
            ));
        }
        if let (Some(_), Some(content)) = (col("id"), col("text")) {
            return Some((
                Format::TalkHamCsv,
                Layout {
                    content,
                    label: LabelSource::Fixed(Label::Ham),
                    author: None,
                    url: None,
                    date: DateColumns::None,
                },
            ));
        }
        None
    }
}

/// Splits a CSV header line into its (unquoted) names; good enough to recognise a layout.
pub(super) fn sniff_header(first_line: &[u8]) -> Option<Format> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first_line);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {
            let names: Vec<&[u8]> = record.iter().collect();
            Layout::of(&names).map(|(format, _)| format)
        }
        _ => None,
    }
}

pub(super) fn parse(
    path: &Path,
    bytes: &[u8],
    opts: LoadOptions,
) -> Result<(Vec<LabeledComment>, usize), DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let malformed = |line: u64, reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let headers = reader
        .byte_headers()
        .map_err(|e| malformed(1, format!("unreadable CSV header: {e}")))?
        .clone();
    let names: Vec<&[u8]> = headers.iter().collect();
    let (_, layout) = Layout::of(&names).ok_or_else(|| {
        malformed(
            1,
            "CSV header has no CONTENT and CLASS columns (YouTube collection), no Author, \
             Website and Comment columns (WordPress spam queue), and no id and text columns \
             (talk-page ham)"
                .to_string(),
        )
    })?;

    let mut rows = Vec::new();
    let mut skipped = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        let row = match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => parse_record(&record, &layout),
            Err(e) => Err(format!("malformed CSV record: {e}")),
        };
        let line = record.position().map_or(line, |p| p.line());
        match row {
            Ok(row) => rows.push(row),
            Err(_) if opts.lenient => skipped += 1,
            Err(reason) => return Err(malformed(line, reason)),
        }
    }
    Ok((rows, skipped))
}

fn parse_record(record: &csv::ByteRecord, layout: &Layout) -> Result<LabeledComment, String> {
    let field = |i: usize| -> Result<&str, String> {
        let raw = record.get(i).ok_or("missing column")?;
        std::str::from_utf8(raw).map_err(|_| "invalid UTF-8".to_string())
    };
    let optional = |col: Option<usize>| -> Result<Option<String>, String> {
        match col {
            Some(i) => Ok(Some(field(i)?.trim().to_string()).filter(|v| !v.is_empty())),
            None => Ok(None),
        }
    };
    let label = match layout.label {
        LabelSource::Class(i) => match field(i)?.trim() {
            "1" => Label::Spam,
            "0" => Label::Ham,
            other => return Err(format!("CLASS must be 0 or 1, got {other:?}")),
        },
        LabelSource::Fixed(label) => label,
    };
    let date = match layout.date {
        DateColumns::None => None,
        DateColumns::Iso(i) => Some(field(i)?.trim().to_string()).filter(|d| !d.is_empty()),
        DateColumns::Split(y, m, d) => {
            let part = |i: usize, name: &str, max: u32| -> Result<u32, String> {
                let v = field(i)?.trim();
                v.parse::<u32>()
                    .ok()
                    .filter(|&n| n <= max)
                    .ok_or_else(|| format!("{name} must be a number, got {v:?}"))
            };
            Some(format!(
                "{:04}-{:02}-{:02}",
                part(y, "Submit Year", 9999)?,
                part(m, "Submit Month", 12)?,
                part(d, "Submit Day", 31)?
            ))
        }
    };
    Ok(LabeledComment {
        label,
        comment: Comment {
            comment_content: field(layout.content)?.to_string(),
            comment_author: optional(layout.author)?,
            comment_author_url: optional(layout.url)?,
            comment_date_gmt: date,
            ..Comment::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, lenient: bool) -> Result<(Vec<LabeledComment>, usize), DataError> {
        parse(Path::new("t.csv"), text.as_bytes(), LoadOptions { lenient })
    }

    #[test]
    fn reads_quoted_multiline_fields() {
        let text = "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n\
                    a,Bob,2013,\"hello, \"\"world\"\"\nsecond line\",0\n\
                    b,Eve,2013,check my channel,1\n";
        let (rows, skipped) = load(text, false).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].comment.comment_content,
            "hello, \"world\"\nsecond line"
        );
        assert_eq!(rows[0].label, Label::Ham);
        assert_eq!(rows[1].label, Label::Spam);
        assert_eq!(rows[1].comment.comment_author.as_deref(), Some("Eve"));
    }

    #[test]
    fn bad_class_names_file_and_line() {
        let text = "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\na,b,c,ok,0\nx,y,z,text,maybe\n";
        let err = load(text, false).unwrap_err().to_string();
        assert!(err.contains("t.csv:3"), "{err}");
        assert!(err.contains("CLASS"), "{err}");
        let (rows, skipped) = load(text, true).unwrap();
        assert_eq!((rows.len(), skipped), (1, 1));
    }

    #[test]
    fn missing_column_is_an_error() {
        let err = load("ID,BODY\n1,hi\n", false).unwrap_err().to_string();
        assert!(err.contains("CONTENT"), "{err}");
    }

    #[test]
    fn reads_a_wordpress_spam_queue() {
        let text = "Comment Number,Author,Website,Submit Year,Submit Month,Submit Day,Submit Time,Post,Comment\n\
                    7, cheap flights ,http://flights.example/deals,2017,3,26,8:31 pm,Fin,\"Great\n post!\"\n";
        let (rows, _) = load(text, false).unwrap();
        assert_eq!(rows.len(), 1);
        let c = &rows[0].comment;
        assert_eq!(rows[0].label, Label::Spam);
        assert_eq!(c.comment_author.as_deref(), Some("cheap flights"));
        assert_eq!(
            c.comment_author_url.as_deref(),
            Some("http://flights.example/deals")
        );
        assert_eq!(c.comment_date_gmt.as_deref(), Some("2017-03-26"));
        assert_eq!(c.comment_content, "Great\n post!");
        let bad = text.replace(",3,26,", ",x,26,");
        assert!(
            load(&bad, false)
                .unwrap_err()
                .to_string()
                .contains("Submit Month")
        );
    }

    #[test]
    fn reads_talk_page_ham() {
        let (rows, _) = load(
            "id,text,source\n1.2,\"Which source says so?\",gn.csv\n",
            false,
        )
        .unwrap();
        assert_eq!(rows[0].label, Label::Ham);
        assert_eq!(rows[0].comment.comment_content, "Which source says so?");
    }
}
