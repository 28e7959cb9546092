//! An article as another comment system's export describes it: what the import reads and the
//! storage port takes. It lives here, not in `import/`, so that storage does not depend on the
//! readers (the import depends on storage, never the other way round).

/// An article as the export describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleRecord {
    /// `wordpress-post:ID` or `disqus-thread:ID`.
    pub remote_id: String,
    /// The slug it would like (WordPress `post_name`); storage makes it unique.
    pub slug: String,
    pub title: String,
    /// RFC 3339, or empty when unknown.
    pub date: String,
    pub author: String,
    /// Body, already sanitized by the import (`import::sanitize::article_html`).
    pub html: String,
    /// The address it had on the old site.
    pub link: Option<String>,
    pub wp_post_id: Option<i64>,
    /// Published: not a draft, scheduled, private or password-protected post.
    pub public: bool,
    /// What the import converted or left out of the body, for its report.
    pub notes: Vec<String>,
    /// The old site still took comments on it (WordPress `comment_status` not `closed`).
    pub comments_open: bool,
}
