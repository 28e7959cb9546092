//! Files of one record per line (SMS TSV, JSONL): the walk over the lines both formats share —
//! the byte-order mark of the first line dropped, blank lines passed over, a malformed line
//! named by its number or, in lenient mode, counted and skipped.

use super::{DataError, LabeledComment, LoadOptions};
use std::path::Path;

/// Every record of `bytes`, one per `\n`-separated line, through the format's `parse_line`
/// (`jsonl::record`, `sms_tsv::record`), which gets the line without its byte-order mark (the
/// first line's) and answers `Ok(None)` for a line that holds no record (blank), or the reason
/// a line is malformed. Returns the records and how many malformed lines were skipped (only in
/// lenient mode; otherwise the first one is an error).
pub(super) fn parse(
    path: &Path,
    bytes: &[u8],
    opts: LoadOptions,
    parse_line: impl Fn(&[u8]) -> Result<Option<LabeledComment>, String>,
) -> Result<(Vec<LabeledComment>, usize), DataError> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        match parse_line(raw) {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => {}
            Err(_) if opts.lenient => skipped += 1,
            Err(reason) => {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    line: index as u64 + 1,
                    reason,
                });
            }
        }
    }
    Ok((rows, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Comment;

    /// A line is a record when it is not blank, and malformed when it says `bad`.
    fn line(raw: &[u8]) -> Result<Option<LabeledComment>, String> {
        match raw {
            b"" => Ok(None),
            b"bad" => Err("bad line".into()),
            text => Ok(Some(LabeledComment {
                label: crate::data::Label::Ham,
                comment: Comment::from_text(String::from_utf8_lossy(text)),
            })),
        }
    }

    #[test]
    fn the_first_lines_byte_order_mark_is_dropped_and_blank_lines_still_count() {
        let text = b"\xEF\xBB\xBFone\n\n\xEF\xBB\xBFtwo\nbad\n";
        let err = parse(Path::new("f"), text, LoadOptions::default(), line)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f:4"), "{err}");
        let (rows, skipped) =
            parse(Path::new("f"), text, LoadOptions { lenient: true }, line).unwrap();
        let texts: Vec<_> = rows
            .iter()
            .map(|r| r.comment.comment_content.as_str())
            .collect();
        assert_eq!(texts, ["one", "\u{FEFF}two"]);
        assert_eq!(skipped, 1);
    }
}
