//! Reply notifications: a reader who ticked "notify me of replies" (opt-in, never on by
//! default) is e-mailed when a reply to their comment is published — not while it is held, and
//! never when their own comment is held, spam or trashed — with a link that unsubscribes them
//! (`/unsubscribe/{token}`: the GET asks, since mail scanners open links; the POST acts).
//! Sent by the notification worker from the outbox, so a crash loses none.

use super::AppState;
use super::error::WebError;
use super::one_click::page;
use crate::domain::Site;
use crate::storage::{Status, StoredComment};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hmac::{Hmac, Mac};
use maud::html;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The unsubscribe token of comment `id`'s subscription: the id and an HMAC of it.
pub fn unsubscribe_token(key: &str, id: i64) -> String {
    format!("{id}.{}", hex::encode(tag(key, id)))
}

fn tag(key: &str, id: i64) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("unsubscribe:{id}").as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

/// The comment a genuine token names (the tag compared in constant time).
fn verify(key: &str, token: &str) -> Option<i64> {
    let (id, sig) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let sig = hex::decode(sig).ok()?;
    bool::from(tag(key, id).ct_eq(&sig)).then_some(id)
}

/// Where a comment is read: the article page on the default site, the thread page elsewhere.
fn comment_link(base: &str, site: &Site, comment: &StoredComment) -> String {
    if site.id == crate::domain::DEFAULT_SITE {
        format!("{base}/articles/{}#comment-{}", comment.article, comment.id)
    } else {
        format!(
            "{base}/sites/{}/thread?uri={}#comment-{}",
            site.name,
            url::form_urlencoded::byte_serialize(comment.article.as_bytes()).collect::<String>(),
            comment.id
        )
    }
}

/// Tells the author of the comment `reply` answers, if they asked to hear of replies, their
/// comment is published, and `reply` is published and not theirs; once per reply. `Ok(true)`
/// when a message went out.
pub async fn announce(
    state: &AppState,
    site: &Site,
    reply: &StoredComment,
) -> Result<bool, String> {
    let Some(parent) = reply.parent_id else {
        return Ok(false);
    };
    if reply.status != Status::Published {
        return Ok(false);
    }
    let Some(mailer) = &state.mailer else {
        return Ok(false);
    };
    let storage = |e: crate::storage::StorageError| e.to_string();
    let Some(reader) = state
        .outbox
        .reply_subscriber(parent)
        .await
        .map_err(storage)?
    else {
        return Ok(false);
    };
    if reader.status != Status::Published
        || reader.email.eq_ignore_ascii_case(&reply.author_email)
        || state
            .outbox
            .reply_announced(reply.id)
            .await
            .map_err(storage)?
    {
        return Ok(false);
    }
    let base = state.mail_base_url();
    // The replier's name and text are theirs to choose: the subject is the server's own words,
    // and the text comes quoted, after the links.
    let subject = format!("[{}] A reply to your comment", site.title);
    let body = format!(
        "Hello {},\n\nSomeone replied to your comment. Read it and answer: {}\n\n\
         You get this because you asked to hear of replies to this comment. To stop: {base}/unsubscribe/{}\n\n\
         The reply, signed \"{}\":\n\n{}",
        reader.author,
        comment_link(&base, site, reply),
        unsubscribe_token(&state.pending_key, parent),
        reply.author,
        super::notify::quoted(&reply.content),
    );
    mailer.send(&[reader.email], &subject, &body).await?;
    state
        .outbox
        .announce_reply(reply.id)
        .await
        .map_err(storage)?;
    Ok(true)
}

fn refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "This link does not work",
        html! { p { "It is not a link this server sent." } },
    )
}

/// `GET /unsubscribe/{token}`: asks, with the button that unsubscribes.
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if verify(&state.pending_key, &token).is_none() {
        return refused();
    }
    page(
        StatusCode::OK,
        "Stop e-mails about replies?",
        html! {
            p { "You asked to hear of replies to one of your comments. The button stops these e-mails for that comment." }
            form method="post" { button type="submit" { "Unsubscribe" } }
        },
    )
}

/// `POST /unsubscribe/{token}`: unsubscribes; a second click says it was done already.
pub async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(id) = verify(&state.pending_key, &token) else {
        return Ok(refused());
    };
    let changed = state.outbox.unsubscribe_replies(id).await?;
    Ok(page(
        StatusCode::OK,
        "Unsubscribed",
        html! { p { @if changed { "You will get no more e-mails about replies to this comment." } @else { "You were unsubscribed already: no more e-mails about replies to this comment." } } },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        let t = unsubscribe_token("k", 42);
        assert_eq!(verify("k", &t), Some(42));
        assert_eq!(verify("other", &t), None);
        assert_eq!(verify("k", &t.replacen("42", "43", 1)), None);
        assert_eq!(verify("k", "42.00"), None);
        assert_eq!(verify("k", "42"), None);
    }
}
