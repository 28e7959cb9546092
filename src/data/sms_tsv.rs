//! SMS Spam Collection: `label<TAB>text` per line, label `ham` or `spam`, no quoting (a leading `"`
//! is part of the text), split on the first TAB only.

use super::{Comment, DataError, Label, LabeledComment, LoadOptions};
use std::path::Path;

pub(super) fn parse(
    path: &Path,
    bytes: &[u8],
    opts: LoadOptions,
) -> Result<(Vec<LabeledComment>, usize), DataError> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        if raw.is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok(row) => rows.push(row),
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

fn parse_line(raw: &[u8]) -> Result<LabeledComment, String> {
    let line = std::str::from_utf8(raw).map_err(|_| "invalid UTF-8".to_string())?;
    let (label, text) = line
        .split_once('\t')
        .ok_or("expected `ham<TAB>text` or `spam<TAB>text`")?;
    let label = match label {
        "ham" => Label::Ham,
        "spam" => Label::Spam,
        other => return Err(format!("label must be ham or spam, got {other:?}")),
    };
    Ok(LabeledComment {
        label,
        comment: Comment::from_text(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_first_tab_without_quoting() {
        let text = "ham\t\"quoted start\tand a tab\nspam\tWIN £1000 now\n";
        let (rows, _) = parse(Path::new("sms"), text.as_bytes(), LoadOptions::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].comment.comment_content, "\"quoted start\tand a tab");
        assert_eq!(rows[1].label, Label::Spam);
    }

    #[test]
    fn malformed_line_is_named_or_skipped() {
        let text = b"ham\tok\nno tab here\nspam\t\xff\xfe\n";
        let err = parse(Path::new("sms"), text, LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("sms:2"), "{err}");
        let (rows, skipped) = parse(Path::new("sms"), text, LoadOptions { lenient: true }).unwrap();
        assert_eq!((rows.len(), skipped), (1, 2));
    }
}
