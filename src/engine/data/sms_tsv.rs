//! SMS Spam Collection: `label<TAB>text` per line, label `ham` or `spam`, no quoting (a leading `"`
//! is part of the text), split on the first TAB only.

use super::{Comment, Label, LabeledComment};

/// One line's record; `None` for a blank line.
pub(super) fn record(line: &[u8]) -> Result<Option<LabeledComment>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Ok(None);
    }
    parse_line(line).map(Some)
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
    use crate::data::{Format, Label, LoadOptions, parse_bytes};
    use std::path::Path;

    #[test]
    fn splits_on_first_tab_without_quoting() {
        let text = "ham\t\"quoted start\tand a tab\nspam\tWIN £1000 now\n";
        let (rows, _) = parse_bytes(
            Path::new("sms"),
            text.as_bytes(),
            Format::SmsTsv,
            LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].comment.comment_content, "\"quoted start\tand a tab");
        assert_eq!(rows[1].label, Label::Spam);
    }

    #[test]
    fn malformed_line_is_named_or_skipped() {
        let text = b"ham\tok\nno tab here\nspam\t\xff\xfe\n";
        let err = parse_bytes(
            Path::new("sms"),
            text,
            Format::SmsTsv,
            LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sms:2"), "{err}");
        let (rows, skipped) = parse_bytes(
            Path::new("sms"),
            text,
            Format::SmsTsv,
            LoadOptions { lenient: true },
        )
        .unwrap();
        assert_eq!((rows.len(), skipped), (1, 2));
    }
}
