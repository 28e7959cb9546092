//! Where a comment came from.

/// The origin of a comment: the reply form, the JSON API, an Akismet `comment-check` (with the
/// check's guid and the key that sent it), or an import of a site's history (which keeps the
/// original date, status and id and gets no classifier verdict forced on it).
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Form,
    Api,
    Akismet {
        guid: String,
        key_id: i64,
    },
    Import {
        remote_id: String,
        /// The original date, RFC 3339.
        date: String,
        status: super::Status,
    },
}

impl Origin {
    /// The status a new comment from this origin gets: an import keeps the status the old site
    /// gave it; every other comment gets the classifier's verdict's ([`Status::for_verdict`]).
    ///
    /// [`Status::for_verdict`]: super::Status::for_verdict
    pub fn status(&self, verdict: crate::engine::Verdict) -> super::Status {
        match self {
            Origin::Import { status, .. } => *status,
            _ => super::Status::for_verdict(verdict),
        }
    }

    /// The name stored with the comment and shown in the moderation queues.
    pub fn name(&self) -> &'static str {
        match self {
            Origin::Form => "form",
            Origin::Api => "api",
            Origin::Akismet { .. } => "akismet",
            Origin::Import { .. } => "import",
        }
    }
}
