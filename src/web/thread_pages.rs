//! The server-rendered page of an embedding site's thread, `/sites/{site}/thread?uri=/path/`:
//! where the embed's `<noscript>` link takes a reader without JavaScript. It lists the thread's
//! published comments and has a reply form that works without script, through the same checks
//! and filter as every other comment.

use super::AppState;
use super::error::WebError;
use super::pages::{bare_refusal, fix_fields_form, reader_form, refused_form, rejected_form};
use super::render::{self, FormState};
use super::submit;
use crate::domain::Site;
use crate::domain::site::thread_uri;
use crate::storage::{Status, StoredComment, Window};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Most comments the page lists (a static site's page rarely has more).
const PAGE_LIMIT: u64 = 500;

#[derive(Debug, Deserialize)]
pub struct ThreadQuery {
    uri: String,
    replytocom: Option<i64>,
    unapproved: Option<i64>,
    #[serde(rename = "moderation-hash")]
    moderation_hash: Option<String>,
}

/// The site and thread path a request names, or 404 / 400.
fn site_and_uri(state: &AppState, name: &str, uri: &str) -> Result<(Arc<Site>, String), WebError> {
    let site = state
        .sites
        .by_name(name)
        .ok_or_else(|| WebError::NotFound(format!("no site `{name}`")))?;
    let uri = thread_uri(uri).map_err(WebError::BadRequest)?;
    Ok((site, uri))
}

/// This page's own address.
fn page_url(site: &Site, uri: &str) -> String {
    crate::domain::site::thread_page(&site.name, uri)
}

async fn render(
    state: &AppState,
    site: &Site,
    uri: &str,
    pending: Option<StoredComment>,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let comments = state
        .store
        .published(site.id, uri, Window::Offset(0), PAGE_LIMIT)
        .await?;
    let thread = state.site_store.thread(site.id, uri).await?;
    let open = thread.as_ref().is_none_or(|t| t.comments_open);
    let title = thread.map_or_else(|| uri.to_string(), |t| t.title);
    let origin_page = site.public_origin().map(|o| format!("{o}{uri}"));
    // Another site's thread is that site's page: its title and home, not this server's.
    let own = state.identity();
    let thread_feed = super::isso::feed_path(site, uri);
    let (identity, home) = if site.id == crate::domain::DEFAULT_SITE {
        let home = render::Home {
            feed: Some(&thread_feed),
            ..render::Home::OWN
        };
        (own, home)
    } else {
        // Its feed is this thread's (the site's own feed, if any, is the site's business), as
        // on the default site's thread pages.
        let home = render::Home {
            href: site.public_origin(),
            feed: Some(&thread_feed),
        };
        (std::sync::Arc::new(own.for_site(site)), home)
    };
    let page = render::thread_page(
        &title,
        origin_page.as_deref(),
        &page_url(site, uri),
        &comments,
        pending.as_ref(),
        open.then_some(&FormState {
            offer_reply_notices: state.mailer.is_some(),
            // As the site's embed asks: its settings say what a reader must give.
            author_optional: !site.settings.require_author,
            email_optional: !site.settings.require_email,
            ..form
        }),
        (&identity, home),
    );
    Ok((status, Html(page.into_string())).into_response())
}

/// `GET /sites/{site}/thread?uri=`.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> Result<Response, WebError> {
    let (site, uri) = site_and_uri(&state, &name, &q.uri)?;
    // The author of a held comment sees it through the signed link they were sent to.
    let pending = match (q.unapproved, q.moderation_hash.as_deref()) {
        (Some(id), Some(hash)) if state.pending_hash_matches(id, hash) => state
            .store
            .get(id)
            .await?
            .filter(|c| c.site_id == site.id && c.article == uri && c.status == Status::Held),
        _ => None,
    };
    let form = FormState {
        parent: super::pages::reply_target(&state, site.id, &uri, q.replytocom).await?,
        ..FormState::default()
    };
    render(&state, &site, &uri, pending, form, StatusCode::OK).await
}

/// `POST /sites/{site}/thread?uri=`: the reply form (WordPress's field names).
pub async fn post(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ThreadQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let (site, uri) = site_and_uri(&state, &name, &q.uri)?;
    let (kept, mut submission) = reader_form(&state, &site, &uri, peer, &headers, body)?;
    // The same fields as the site's embed asks for (its settings), not the built-in pages'.
    submission.anonymous_allowed = true;
    let missing = site.settings.missing_fields(
        &submission.raw.author,
        &submission.raw.email,
        ["comment_author", "comment_author_email"],
    );
    if !missing.is_empty() {
        let (form, status) = fix_fields_form(kept, missing);
        return render(&state, &site, &uri, None, form, status).await;
    }
    let title = state
        .site_store
        .thread(site.id, &uri)
        .await?
        .map_or_else(|| uri.clone(), |t| t.title);
    submission.site = site.id;
    submission.page_title = Some(title);
    let page = page_url(&site, &uri);
    match submit::submit(&state, submission, true)
        .await
        .and_then(|accepted| accepted.into_stored())
    {
        Ok(c) if c.status == Status::Published => {
            Ok(Redirect::to(&format!("{page}#comment-{}", c.id)).into_response())
        }
        Ok(c) if c.status == Status::Held => Ok(Redirect::to(&format!(
            "{page}&unapproved={}&moderation-hash={}#comment-{}",
            c.id,
            state.pending_hash(c.id),
            c.id
        ))
        .into_response()),
        Ok(_) => {
            let (form, status) = rejected_form(kept);
            render(&state, &site, &uri, None, form, status).await
        }
        Err(WebError::Validation(errors)) => {
            let (form, status) = fix_fields_form(kept, errors);
            render(&state, &site, &uri, None, form, status).await
        }
        // The page again with what stopped the comment (a closed page shows why instead of the
        // form); if the page cannot be read now, the reason and the text on a page of their own.
        Err(e) => match refused_form(kept, &e) {
            Some((form, status)) => {
                let fallback = bare_refusal(&form, status);
                Ok(render(&state, &site, &uri, None, form, status)
                    .await
                    .unwrap_or(fallback))
            }
            None => Err(e),
        },
    }
}
