//! Entry points for the fuzz targets in `tests/fuzz/`: each request parser run on raw bytes, as
//! the handlers run it, without a socket or a database. Not an API; kept public only for them.

use super::{akismet, api, pages};
use crate::data::Comment;
use crate::domain::{CommentDraft, Strictness};

/// The reply form: decode the body, then validate the fields.
pub fn comment_form(body: &[u8]) -> bool {
    match pages::form_submission("fuzz", body) {
        Ok((_, submission)) => CommentDraft::parse(&submission.raw, Strictness::Reader).is_ok(),
        Err(_) => false,
    }
}

/// The JSON comments API: decode the body as axum's `Json` does, then validate the fields.
pub fn api_json(body: &[u8]) -> bool {
    match serde_json::from_slice::<api::NewCommentBody>(body) {
        Ok(parsed) => {
            let submission = parsed.into_submission("fuzz".into());
            CommentDraft::parse(&submission.raw, Strictness::Reader).is_ok()
        }
        Err(_) => false,
    }
}

/// The Akismet form: decode the parameters and build the comment they describe.
pub fn akismet_form(body: &[u8]) -> Option<Comment> {
    akismet::parse_params(body)
        .ok()
        .map(|params| akismet::comment_of(&params))
}
