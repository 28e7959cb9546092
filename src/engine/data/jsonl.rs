//! replyguard JSONL: one object per line, `"label": "spam" | "ham"`, `"comment_content"`, and
//! optionally any Akismet field (`comment_author`, `comment_author_email`, `comment_author_url`,
//! `user_ip`, `user_agent`, `referrer`, `permalink`, `comment_type`). Unknown fields are ignored so
//! moderator exports and API logs load unchanged. Blank lines are skipped.

use super::LabeledComment;

/// One line's record; `None` for a blank line.
pub(super) fn record(line: &[u8]) -> Result<Option<LabeledComment>, String> {
    if line.trim_ascii().is_empty() {
        return Ok(None);
    }
    serde_json::from_slice::<LabeledComment>(line)
        .map(Some)
        .map_err(|e| format!("invalid record: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::data::{Format, Label, LoadOptions, parse_bytes};
    use std::path::Path;

    #[test]
    fn reads_akismet_fields_and_ignores_unknown_ones() {
        let text = r#"{"label":"spam","comment_content":"buy now","comment_author_url":"http://x.example","extra":1}

{"label":"ham","comment_content":"nice post"}
"#;
        let (rows, skipped) = parse_bytes(
            Path::new("f.jsonl"),
            text.as_bytes(),
            Format::Jsonl,
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
        let err = parse_bytes(
            Path::new("f.jsonl"),
            text.as_bytes(),
            Format::Jsonl,
            LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("f.jsonl:2"), "{err}");
        assert!(err.contains("label"), "{err}");
    }
}
