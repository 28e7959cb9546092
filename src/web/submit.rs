//! One path for every new comment, from the form or the API: validate → check flood and
//! duplicates → classify → decide the status → store durably.

use super::AppState;
use super::error::{FieldErrors, WebError};
use crate::data::CommentView;
use crate::engine::{Classification, Clue, Scratch, Verdict};
use crate::storage::{NewComment, Status, StoredComment};
use std::cell::RefCell;
use std::net::IpAddr;

/// Longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_URL_CHARS: usize = 500;
const CLUES: usize = 5;

thread_local! {
    /// Scoring buffers, one set per worker thread.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A submitted comment, before validation.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub article: String,
    pub parent: Option<i64>,
    pub content: String,
    pub author: String,
    pub email: String,
    pub url: String,
    /// The invisible field humans never fill.
    pub honeypot: bool,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub source: &'static str,
}

/// What happened to an accepted submission.
pub struct Accepted {
    pub comment: StoredComment,
    pub classification: Classification,
    pub clues: Vec<Clue>,
}

/// Validates the fields; returns normalized (trimmed) values or per-field errors.
pub fn validate(s: &Submission) -> Result<Submission, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut clean = s.clone();
    clean.content = s.content.trim().to_string();
    clean.author = s.author.trim().to_string();
    clean.email = s.email.trim().to_string();
    clean.url = s.url.trim().to_string();
    if clean.content.is_empty() {
        errors.insert("comment_content", "Please type your comment.".into());
    } else if has_control_chars(&clean.content) {
        errors.insert(
            "comment_content",
            "Your comment contains invisible control characters (such as NUL); please remove them."
                .into(),
        );
    } else if clean.content.chars().count() > MAX_COMMENT_CHARS {
        errors.insert(
            "comment_content",
            format!("Your comment is too long: at most {MAX_COMMENT_CHARS} characters."),
        );
    }
    if clean.author.is_empty() {
        errors.insert("comment_author", "Please enter your name.".into());
    } else if has_control_chars(&clean.author) || clean.author.contains(['\n', '\r', '\t']) {
        errors.insert(
            "comment_author",
            "Your name contains control characters or line breaks; please remove them.".into(),
        );
    } else if clean.author.chars().count() > MAX_NAME_CHARS {
        errors.insert(
            "comment_author",
            format!("Your name is too long: at most {MAX_NAME_CHARS} characters."),
        );
    }
    if clean.email.is_empty() {
        errors.insert(
            "comment_author_email",
            "Please enter your email address.".into(),
        );
    } else if !looks_like_email(&clean.email) || clean.email.len() > MAX_EMAIL_CHARS {
        errors.insert(
            "comment_author_email",
            "Please enter a valid email address.".into(),
        );
    }
    if !clean.url.is_empty() {
        match normalize_url(&clean.url) {
            Some(url) if url.len() <= MAX_URL_CHARS => clean.url = url,
            _ => {
                errors.insert(
                    "comment_author_url",
                    "Please enter a web address starting with http:// or https://.".into(),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(errors)
    }
}

/// Control characters other than line breaks and tabs (NUL, escape, C1 codes): never part of a
/// comment someone typed, and NUL in particular breaks tools downstream of the database.
fn has_control_chars(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// Accepts `http(s)://…` or a bare host (made `http://`); refuses any other scheme, such as
/// `javascript:`, so the link on the page can only go to a web page.
fn normalize_url(url: &str) -> Option<String> {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        url.to_string()
    } else {
        // Any other scheme (`javascript:`, `data:`, `ftp://`…) is refused; a bare host gets http://.
        let other_scheme = url.contains("://")
            || lower.contains("script:")
            || (url.contains(':') && !url.contains('.'));
        if other_scheme {
            return None;
        }
        format!("http://{url}")
    };
    let host = with_scheme
        .split("://")
        .nth(1)?
        .split(['/', '?', '#'])
        .next()?;
    (!host.is_empty()).then_some(with_scheme)
}

/// Runs a validated submission through the checks and the classifier and stores it.
pub async fn submit(state: &AppState, s: Submission) -> Result<Accepted, WebError> {
    if state.article(&s.article).is_none() {
        return Err(WebError::NotFound(format!("no article `{}`", s.article)));
    }
    let s = validate(&s).map_err(WebError::Validation)?;
    let store = state.store.clone();
    if let Some(parent) = s.parent {
        let article = s.article.clone();
        let found = blocking(move || store.get(parent)).await?;
        if !found.is_some_and(|p| p.article == article && p.status == Status::Published) {
            return Err(WebError::NotFound(format!(
                "no comment {parent} to reply to in this article"
            )));
        }
    }
    let (article, email, content) = (s.article.clone(), s.email.clone(), s.content.clone());
    let store = state.store.clone();
    if blocking(move || store.is_duplicate(&article, &email, &content)).await? {
        return Err(WebError::Duplicate);
    }
    if let Some(ip) = s.ip {
        state.guard.admit(ip)?;
    }

    let served = state.models.current();
    let view = CommentView {
        content: &s.content,
        author: Some(&s.author),
        author_email: Some(&s.email),
        author_url: Some(&s.url).filter(|u| !u.is_empty()).map(String::as_str),
        user_agent: s.user_agent.as_deref(),
        comment_type: Some("comment"),
    };
    let (mut classification, clues) = classify(&served.model, view);
    if s.honeypot {
        // A filled invisible field is a bot, whatever the text says.
        classification.verdict = Verdict::Rejected;
    }
    let status = match classification.verdict {
        Verdict::Published => Status::Published,
        Verdict::Held => Status::Held,
        Verdict::Rejected => Status::Spam,
    };
    let new = NewComment {
        article: s.article,
        parent_id: s.parent,
        author: s.author,
        author_email: s.email,
        author_url: Some(s.url).filter(|u| !u.is_empty()),
        content: s.content,
        user_ip: s.ip.map(|ip| ip.to_string()),
        user_agent: s.user_agent,
        referrer: s.referrer,
        status,
        verdict: classification.verdict.as_str().to_string(),
        spam_probability: classification.spam_probability,
        clues: serde_json::to_string(&clues).unwrap_or_else(|_| "[]".into()),
        model_version: served.version.clone(),
        source: s.source.to_string(),
        akismet_guid: None,
        api_key_id: None,
    };
    let comment = stored(state, new).await?;
    state.metrics.comment(classification.verdict);
    Ok(Accepted {
        comment,
        classification,
        clues,
    })
}

/// Scores a comment with this thread's scratch buffers; returns the verdict and its clues.
pub fn classify(
    model: &crate::engine::Model,
    view: CommentView<'_>,
) -> (Classification, Vec<Clue>) {
    SCRATCH.with(|scratch| model.explain(view, &mut scratch.borrow_mut(), CLUES))
}

/// Stores a comment and waits (without holding a thread) until its group commit is durable.
pub async fn stored(state: &AppState, comment: NewComment) -> Result<StoredComment, WebError> {
    let pending = state.store.enqueue(comment)?;
    pending
        .await
        .map_err(|_| WebError::Internal("the database writer stopped".into()))?
        .map_err(WebError::from)
}

/// Scores a comment without explaining it.
pub fn verdict_only(model: &crate::engine::Model, view: CommentView<'_>) -> Classification {
    SCRATCH.with(|scratch| model.classify(view, &mut scratch.borrow_mut()))
}

/// Runs a blocking storage call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::storage::StorageError> + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(format!("storage task failed: {e}")))?
        .map_err(WebError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(content: &str, author: &str, email: &str, url: &str) -> Submission {
        Submission {
            content: content.into(),
            author: author.into(),
            email: email.into(),
            url: url.into(),
            ..Submission::default()
        }
    }

    #[test]
    fn control_characters_are_refused_line_breaks_kept() {
        let errors = validate(&sub("nul\0here", "Ana\u{1b}", "a@b.org", "")).unwrap_err();
        assert!(errors["comment_content"].contains("NUL"));
        assert!(errors.contains_key("comment_author"));
        let errors = validate(&sub("ok", "Ana\nBen", "a@b.org", "")).unwrap_err();
        assert!(errors.contains_key("comment_author"));
        assert!(validate(&sub("line one\r\n\tline two", "Ana", "a@b.org", "")).is_ok());
        assert!(validate(&sub("C1 \u{85} code", "Ana", "a@b.org", "")).is_err());
    }

    #[test]
    fn validation_names_each_bad_field() {
        let errors = validate(&sub("  ", "", "nope", "javascript:alert(1)")).unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            [
                "comment_author",
                "comment_author_email",
                "comment_author_url",
                "comment_content"
            ]
        );
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert!(
            validate(&sub(&long, "a", "a@b.co", ""))
                .unwrap_err()
                .contains_key("comment_content")
        );
    }

    #[test]
    fn urls_are_normalized_or_refused() {
        let ok = validate(&sub("hi", "Ana", "ana@example.org", "example.org/blog")).unwrap();
        assert_eq!(ok.url, "http://example.org/blog");
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "http://",
            "ftp://x.org",
            "http://a b",
        ] {
            assert!(
                validate(&sub("hi", "Ana", "ana@example.org", bad)).is_err(),
                "{bad}"
            );
        }
    }
}
