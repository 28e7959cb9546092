//! One-click moderation from an e-mail: `/moderate/{token}`, where the token names a comment and
//! an action (approve, spam, trash), expires after a week and is signed with the server's key.
//! Opening the link shows what it will do with a button (mail scanners open links; a GET never
//! changes anything); the button decides, and the model learns from it as from `/admin`. A link
//! works once: it acts only on a comment that still waits.

use super::AppState;
use super::error::WebError;
use crate::storage::{Status, StoredComment};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// How long a link works.
pub const VALID_FOR: Duration = Duration::from_secs(7 * 86_400);
/// The actions a link may carry.
pub const ACTIONS: [&str; 3] = ["approve", "spam", "trash"];

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn signature(key: &str, id: i64, action: &str, expires: u64) -> String {
    let digest = Sha256::digest(format!("{key}:one-click:{id}:{action}:{expires}").as_bytes());
    hex::encode(&digest[..16])
}

/// The token of a link that applies `action` to comment `id`.
pub fn token(key: &str, id: i64, action: &str) -> String {
    let expires = now_unix() + VALID_FOR.as_secs();
    format!(
        "{id}.{action}.{expires}.{}",
        signature(key, id, action, expires)
    )
}

/// The comment and action a genuine, unexpired token names.
fn verify(key: &str, token: &str) -> Option<(i64, &'static str)> {
    let mut parts = token.split('.');
    let id: i64 = parts.next()?.parse().ok()?;
    let action = parts.next()?;
    let action = ACTIONS.iter().find(|a| **a == action)?;
    let expires: u64 = parts.next()?.parse().ok()?;
    let sig = parts.next()?;
    let genuine: bool = signature(key, id, action, expires)
        .as_bytes()
        .ct_eq(sig.as_bytes())
        .into();
    (genuine && expires >= now_unix()).then_some((id, *action))
}

pub(super) fn page(status: StatusCode, title: &str, body: maud::Markup) -> Response {
    let html = html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { (title) } link rel="stylesheet" href=(super::assets::ADMIN_CSS_PATH); }
        body { main { h1 { (title) } (body) } } }
    };
    (status, Html(html.into_string())).into_response()
}

fn refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "This link does not work",
        html! { p { "It has expired or is not a link this server sent. Decide in " a href="/admin" { "/admin" } "." } },
    )
}

/// The comment a link decides and its action, while the comment waits; otherwise the page
/// that says why not.
async fn waiting(
    state: &AppState,
    token: &str,
) -> Result<Result<(StoredComment, &'static str), Response>, WebError> {
    let Some((id, action)) = verify(&state.pending_key, token) else {
        return Ok(Err(refused()));
    };
    let Some(comment) = state.store.get(id).await? else {
        return Ok(Err(refused()));
    };
    if comment.status != Status::Held {
        return Ok(Err(already(comment.status)));
    }
    Ok(Ok((comment, action)))
}

/// `GET /moderate/{token}`: what the link will do, with the button that does it.
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (comment, action) = match waiting(&state, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    Ok(page(
        StatusCode::OK,
        &format!("{} this comment?", verb(action)),
        html! {
            blockquote { (comment.content) }
            p { "by " (comment.author) " on " (comment.article) }
            form method="post" { button type="submit" { (verb(action)) } }
        },
    ))
}

/// `POST /moderate/{token}`: decides the comment, once.
pub async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (comment, action) = match waiting(&state, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let decided = super::admin::apply(&state, comment.id, action).await?;
    Ok(page(
        StatusCode::OK,
        "Done",
        html! { p { "The comment is now " strong { (decided.status.as_str()) } ". " a href="/admin" { "Open the queue" } } },
    ))
}

fn already(status: Status) -> Response {
    page(
        StatusCode::CONFLICT,
        "Already decided",
        html! { p { "This comment is " strong { (status.as_str()) } " already; the link works once. " a href="/admin" { "Open the queue" } } },
    )
}

fn verb(action: &str) -> &'static str {
    match action {
        "approve" => "Approve",
        "spam" => "Mark as spam",
        _ => "Trash",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        let t = token("k", 42, "approve");
        assert_eq!(verify("k", &t), Some((42, "approve")));
        assert_eq!(verify("other", &t), None);
        assert_eq!(verify("k", &t.replace("approve", "spam")), None);
        assert_eq!(verify("k", "42.approve.1.00"), None);
        let expired = format!("7.trash.1.{}", signature("k", 7, "trash", 1));
        assert_eq!(verify("k", &expired), None);
    }
}
