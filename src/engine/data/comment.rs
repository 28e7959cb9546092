use serde::{Deserialize, Serialize};

/// The class of a labeled comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Ham,
    Spam,
}

impl Label {
    /// Index used for per-class arrays: ham = 0, spam = 1.
    pub fn index(self) -> usize {
        match self {
            Label::Ham => 0,
            Label::Spam => 1,
        }
    }

    /// The other label.
    pub fn other(self) -> Label {
        match self {
            Label::Ham => Label::Spam,
            Label::Spam => Label::Ham,
        }
    }

    pub fn is_spam(self) -> bool {
        self == Label::Spam
    }

    /// The label's name as stored and serialized: `ham` or `spam`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Ham => "ham",
            Label::Spam => "spam",
        }
    }
}

/// A comment with Akismet's field names, so API traffic, moderator feedback and training rows share
/// one shape. Only `comment_content` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub comment_content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_author_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_author_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_type: Option<String>,
    /// When the comment was written (ISO 8601, UTC), if known: orders a stream for prequential
    /// evaluation and splits a corpus by date. Not read by the classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_date_gmt: Option<String>,
}

impl Comment {
    /// A comment with only its text.
    pub fn from_text(text: impl Into<String>) -> Self {
        Comment {
            comment_content: text.into(),
            ..Comment::default()
        }
    }

    /// A borrowed view for scoring.
    pub fn view(&self) -> CommentView<'_> {
        CommentView {
            content: &self.comment_content,
            author: self.comment_author.as_deref(),
            author_email: self.comment_author_email.as_deref(),
            author_url: self.comment_author_url.as_deref(),
            user_agent: self.user_agent.as_deref(),
            comment_type: self.comment_type.as_deref(),
        }
    }
}

/// The parts of a comment the classifier reads, borrowed so callers never copy a request to score it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommentView<'a> {
    pub content: &'a str,
    pub author: Option<&'a str>,
    pub author_email: Option<&'a str>,
    pub author_url: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub comment_type: Option<&'a str>,
}

impl<'a> CommentView<'a> {
    /// A view of bare text with no metadata.
    pub fn text(content: &'a str) -> Self {
        CommentView {
            content,
            ..CommentView::default()
        }
    }
}

/// A training row: a comment and its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledComment {
    pub label: Label,
    #[serde(flatten)]
    pub comment: Comment,
}
