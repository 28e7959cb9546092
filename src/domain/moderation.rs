//! Moderation status, the verdict → status policy, and the rule that turns moderation decisions
//! into labeled examples.

use crate::data::Label;
use crate::engine::Verdict;
use serde::{Deserialize, Serialize};

/// Moderation status of a stored comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Published,
    Held,
    Spam,
    Trash,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Held => "held",
            Status::Spam => "spam",
            Status::Trash => "trash",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "published" => Some(Status::Published),
            "held" => Some(Status::Held),
            "spam" => Some(Status::Spam),
            "trash" => Some(Status::Trash),
            _ => None,
        }
    }

    /// The status a new comment gets from the classifier's verdict: published, held for a
    /// moderator, or kept as spam (rejected comments are stored so a moderator can rescue them).
    pub fn for_verdict(verdict: Verdict) -> Status {
        match verdict {
            Verdict::Published => Status::Published,
            Verdict::Held => Status::Held,
            Verdict::Rejected => Status::Spam,
        }
    }
}

/// The labeled example a comment stands for once a moderator has put it in `status`, given the
/// classifier's verdict when it arrived; `None` when it teaches nothing.
///
/// A comment a moderator publishes is ham and one marked spam is spam, except when the moderator
/// only left the classifier's own outright decision in place (published → published, rejected →
/// spam): those were never decisions. Held and trashed comments are no label (trash is deletion,
/// not a judgement of spam). Because the label depends only on the current status, a reversed
/// decision (approve, then spam) replaces the earlier label instead of adding to it, and repeating
/// a decision changes nothing.
pub fn training_label(verdict: Verdict, status: Status) -> Option<Label> {
    match (status, verdict) {
        (Status::Published, Verdict::Published) | (Status::Spam, Verdict::Rejected) => None,
        (Status::Published, _) => Some(Label::Ham),
        (Status::Spam, _) => Some(Label::Spam),
        (Status::Held | Status::Trash, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_training_rule() {
        assert_eq!(Status::for_verdict(Verdict::Rejected), Status::Spam);
        assert_eq!(
            training_label(Verdict::Held, Status::Published),
            Some(Label::Ham)
        );
        assert_eq!(
            training_label(Verdict::Published, Status::Spam),
            Some(Label::Spam)
        );
        assert_eq!(training_label(Verdict::Rejected, Status::Spam), None);
        assert_eq!(training_label(Verdict::Published, Status::Published), None);
        assert_eq!(training_label(Verdict::Held, Status::Trash), None);
        for s in ["published", "held", "spam", "trash"] {
            assert_eq!(Status::parse(s).map(Status::as_str), Some(s));
        }
    }
}
