//! replyguard JSONL: one object per line, `"label": "spam" | "ham"`, `"comment_content"`, and
//! optionally any Akismet field (`comment_author`, `comment_author_email`, `comment_author_url`,
//! `user_ip`, `user_agent`, `referrer`, `permalink`, `comment_type`). Unknown fields are ignored so
//! moderator exports and API logs load unchanged. Blank lines are skipped.

use super::{DataError, LabeledComment, LoadOptions};
use std::path::Path;

pub(super) fn parse(
    path: &Path,
    bytes: &[u8],
    opts: LoadOptions,
) -> Result<(Vec<LabeledComment>, usize), DataError> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = if index == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        if raw.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<LabeledComment>(raw) {
            Ok(row) => rows.push(row),
            Err(_) if opts.lenient => skipped += 1,
            Err(e) => {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    line: index as u64 + 1,
                    reason: format!("invalid record: {e}"),
                });
            }
        }
    }
    Ok((rows, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Label;

    #[test]
    fn reads_akismet_fields_and_ignores_unknown_ones() {
        let text = r#"{"label":"spam","comment_content":"buy now","comment_author_url":"http://x.example","extra":1}

{"label":"ham","comment_content":"nice post"}
"#;
        let (rows, skipped) = parse(
            Path::new("f.jsonl"),
            text.as_bytes(),
            LoadOptions::default(),
        )
        .unwrap();
        assert_eq!((rows.len(), skipped), (2, 0));
        assert_eq!(rows[0].label, Label::Spam);
        assert_eq!(
            rows[0].comment.comment_author_url.as_deref(),
            Some("http://x.example")
        );
    }

    #[test]
    fn missing_label_names_the_line() {
        let text = "{\"label\":\"ham\",\"comment_content\":\"a\"}\n{\"comment_content\":\"b\"}\n";
        let err = parse(
            Path::new("f.jsonl"),
            text.as_bytes(),
            LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("f.jsonl:2"), "{err}");
        assert!(err.contains("label"), "{err}");
    }
}
