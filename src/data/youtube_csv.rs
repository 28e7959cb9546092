//! YouTube Spam Collection CSV: header `COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS`, RFC 4180 quoting with
//! multi-line fields, `CLASS` 1 = spam, 0 = ham. Columns are found by header name, so reordered or
//! extra columns are fine.

use super::{Comment, DataError, Label, LabeledComment, LoadOptions};
use std::path::Path;

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
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
            .ok_or_else(|| malformed(1, format!("CSV header has no {name} column")))
    };
    let content_col = column("CONTENT")?;
    let class_col = column("CLASS")?;
    let author_col = column("AUTHOR").ok();

    let mut rows = Vec::new();
    let mut skipped = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        let row = match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => parse_record(&record, content_col, class_col, author_col),
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

fn parse_record(
    record: &csv::ByteRecord,
    content_col: usize,
    class_col: usize,
    author_col: Option<usize>,
) -> Result<LabeledComment, String> {
    let field = |i: usize| -> Result<&str, String> {
        let raw = record.get(i).ok_or("missing column")?;
        std::str::from_utf8(raw).map_err(|_| "invalid UTF-8".to_string())
    };
    let label = match field(class_col)?.trim() {
        "1" => Label::Spam,
        "0" => Label::Ham,
        other => return Err(format!("CLASS must be 0 or 1, got {other:?}")),
    };
    let author = match author_col {
        Some(i) => Some(field(i)?.to_string()).filter(|a| !a.is_empty()),
        None => None,
    };
    Ok(LabeledComment {
        label,
        comment: Comment {
            comment_content: field(content_col)?.to_string(),
            comment_author: author,
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
        let err = load("ID,TEXT\n1,hi\n", false).unwrap_err().to_string();
        assert!(err.contains("CONTENT"), "{err}");
    }
}
