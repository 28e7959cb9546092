//! Reply notifications: a reader who ticked "notify me of replies" (opt-in, never on by
//! default) is e-mailed when a reply to their comment is published — not while it is held, and
//! never when their own comment is held, spam or trashed — with a link that unsubscribes them
//! (`/unsubscribe/{token}`: the GET asks, since mail scanners open links; the POST acts).
//!
//! Anyone can type anyone's address, so an address hears of replies only after it said yes
//! (double opt-in): when a subscribed comment is published, its address — unless confirmed on
//! that site already — gets one mail asking to confirm (`/confirm-replies/{token}`, GET asks,
//! POST acts), at most one a day per address and site whatever is posted under it, and never
//! for a comment that is held, rejected or spam. Sent by the notification worker from the
//! outbox, so a crash loses none.

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

/// How often an unconfirmed address may be asked to confirm, at most.
const ASK_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What a signed link does to comment `id`'s subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Unsubscribe,
    Confirm,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::Confirm => "confirm-replies",
        }
    }
}

/// The unsubscribe token of comment `id`'s subscription: the id and an HMAC of it.
pub fn unsubscribe_token(key: &str, id: i64) -> String {
    token(key, Purpose::Unsubscribe, id)
}

fn token(key: &str, purpose: Purpose, id: i64) -> String {
    format!("{id}.{}", hex::encode(tag(key, purpose, id)))
}

fn tag(key: &str, purpose: Purpose, id: i64) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{}:{id}", purpose.as_str()).as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

/// The comment a genuine token for `purpose` names (the tag compared in constant time).
fn verify(key: &str, purpose: Purpose, token: &str) -> Option<i64> {
    let (id, sig) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let sig = hex::decode(sig).ok()?;
    bool::from(tag(key, purpose, id).ct_eq(&sig)).then_some(id)
}

/// Where a comment is read: the article page for an article of the default site, the thread
/// page for a page of any site (a thread is keyed by its path; the default site's embedding
/// pages too).
pub(super) fn comment_link(base: &str, site: &Site, comment: &StoredComment) -> String {
    if site.id == crate::domain::DEFAULT_SITE && !comment.article.starts_with('/') {
        format!("{base}/articles/{}#comment-{}", comment.article, comment.id)
    } else {
        let page = crate::domain::site::thread_page(&site.name, &comment.article);
        format!("{base}{page}#comment-{}", comment.id)
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
        || !reader.confirmed
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
    let subject = format!("[{}] A reply to your comment", state.site_title(site));
    let body = format!(
        "Hello,\n\nSomeone replied to your comment. Read it and answer: {}\n\n\
         You get this because you asked to hear of replies to this comment. To stop: {base}/unsubscribe/{}\n\n\
         The reply:\n\n{}",
        comment_link(&base, site, reply),
        unsubscribe_token(&state.pending_key, parent),
        super::notify::quoted(&format!("From: {}\n\n{}", reply.author, reply.content)),
    );
    mailer.send(&[reader.email], &subject, &body).await?;
    state
        .outbox
        .announce_reply(reply.id)
        .await
        .map_err(storage)?;
    Ok(true)
}

/// Asks the author of `comment`, just published, to confirm they want e-mails about replies to
/// it, if they asked for them, their address is not confirmed on this site, and it was not asked
/// within [`ASK_EVERY`]. `Ok(true)` when a message went out.
pub async fn ask_to_confirm(
    state: &AppState,
    site: &Site,
    comment: &StoredComment,
) -> Result<bool, String> {
    if comment.status != Status::Published {
        return Ok(false);
    }
    let Some(mailer) = &state.mailer else {
        return Ok(false);
    };
    let storage = |e: crate::storage::StorageError| e.to_string();
    let Some(reader) = state
        .outbox
        .reply_subscriber(comment.id)
        .await
        .map_err(storage)?
    else {
        return Ok(false);
    };
    if reader.confirmed || reader.status != Status::Published {
        return Ok(false);
    }
    // Asked recently: the link sent then still works. Recorded after sending, so a failed send
    // is tried again with the event; the outbox's lease keeps one event on one worker.
    let not_since = crate::storage::rfc3339_ago(ASK_EVERY);
    if reader
        .asked_at
        .as_deref()
        .is_some_and(|at| at >= not_since.as_str())
    {
        return Ok(false);
    }
    let base = state.mail_base_url();
    // Whoever typed the address chose the comment's name and text, and the address has not said
    // yes: the mail carries the server's words and links only.
    let subject = format!("[{}] Confirm e-mails about replies", state.site_title(site));
    let body = format!(
        "Hello,\n\nA comment signed with this address asked to be e-mailed when someone replies: {}\n\n\
         To get these e-mails, confirm: {base}/confirm-replies/{}\n\n\
         If it was not you, ignore this message: nothing is sent to this address about replies \
         unless someone follows that link, and {} asks it at most once a day.",
        comment_link(&base, site, comment),
        token(&state.pending_key, Purpose::Confirm, comment.id),
        state.site_title(site),
    );
    mailer
        .send(std::slice::from_ref(&reader.email), &subject, &body)
        .await?;
    state
        .outbox
        .ask_reply_address(reader.site_id, &reader.email)
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

/// The page a signed link opens: what its button will do. Mail scanners open links, so the GET
/// changes nothing; the button's POST acts.
fn ask(
    state: &AppState,
    purpose: Purpose,
    token: &str,
    title: &str,
    text: &str,
    button: &str,
) -> Response {
    if verify(&state.pending_key, purpose, token).is_none() {
        return refused();
    }
    page(
        StatusCode::OK,
        title,
        html! {
            p { (text) }
            form method="post" { button type="submit" { (button) } }
        },
    )
}

/// `GET /confirm-replies/{token}`: asks, with the button that confirms.
pub async fn show_confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    ask(
        &state,
        Purpose::Confirm,
        &token,
        "E-mails about replies?",
        "A comment signed with your address asked to be e-mailed when someone replies. The button \
         says yes: you will hear of replies to your comments on this site that ask for it, each \
         e-mail with a link that stops it.",
        "Yes, e-mail me about replies",
    )
}

/// `POST /confirm-replies/{token}`: confirms the address of the token's comment on its site.
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(id) = verify(&state.pending_key, Purpose::Confirm, &token) else {
        return Ok(refused());
    };
    let Some(reader) = state.outbox.reply_subscriber(id).await? else {
        // Unsubscribed, or the address erased since.
        return Ok(page(
            StatusCode::OK,
            "Nothing to confirm",
            html! { p { "This comment no longer asks for e-mails about replies." } },
        ));
    };
    state
        .outbox
        .confirm_reply_address(reader.site_id, &reader.email)
        .await?;
    Ok(page(
        StatusCode::OK,
        "Confirmed",
        html! { p { "You will be e-mailed when someone replies to your comment." } },
    ))
}

/// `GET /unsubscribe/{token}`: asks, with the button that unsubscribes.
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    ask(
        &state,
        Purpose::Unsubscribe,
        &token,
        "Stop e-mails about replies?",
        "You asked to hear of replies to one of your comments. The button stops these e-mails \
         for that comment.",
        "Unsubscribe",
    )
}

/// `POST /unsubscribe/{token}`: unsubscribes; a second click says it was done already.
pub async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(id) = verify(&state.pending_key, Purpose::Unsubscribe, &token) else {
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
        let u = Purpose::Unsubscribe;
        assert_eq!(verify("k", u, &t), Some(42));
        assert_eq!(verify("other", u, &t), None);
        assert_eq!(verify("k", u, &t.replacen("42", "43", 1)), None);
        assert_eq!(verify("k", u, "42.00"), None);
        assert_eq!(verify("k", u, "42"), None);
        // A link made for one purpose does nothing for the other.
        assert_eq!(verify("k", Purpose::Confirm, &t), None);
        let c = token("k", Purpose::Confirm, 42);
        assert_eq!(verify("k", Purpose::Confirm, &c), Some(42));
        assert_eq!(verify("k", u, &c), None);
    }

    /// An article's comment links its article page; a page's (any site's, the default one's
    /// embedding pages too) its thread page, with the path encoded.
    #[test]
    fn comments_link_where_they_are_read() {
        let site = |id: i64, name: &str| Site {
            id,
            name: name.into(),
            title: String::new(),
            origins: Vec::new(),
            settings: Default::default(),
            created_at: String::new(),
        };
        let comment = |article: &str| StoredComment {
            id: 7,
            article: article.into(),
            ..crate::web::admin_words::tests::stored(
                "api",
                Status::Held,
                "held",
                0.5,
                serde_json::Value::Null,
            )
        };
        let default = site(crate::domain::DEFAULT_SITE, "default");
        assert_eq!(
            comment_link("https://c.example", &default, &comment("a-post")),
            "https://c.example/articles/a-post#comment-7"
        );
        let page = comment_link("https://c.example", &default, &comment("/p q/ approve: x"));
        assert!(
            page.starts_with("https://c.example/sites/default/thread?uri=") && !page.contains(' '),
            "{page}"
        );
        let blog = comment_link("https://c.example", &site(2, "blog"), &comment("/p/"));
        assert!(
            blog.starts_with("https://c.example/sites/blog/thread?uri="),
            "{blog}"
        );
    }
}
