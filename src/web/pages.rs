//! The HTML side: the article page with its comments and the reply form (works without
//! JavaScript: plain POST, then Post/Redirect/Get to the new comment).

use super::AppState;
use super::error::WebError;
use super::render::{self, FormState};
use super::submit::{self, Submission};
use super::{form_timer, page_cache};
use crate::domain::{DEFAULT_SITE, Origin, RawComment};
use crate::storage::Window;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

/// Comments on one page of an article, oldest first; longer threads get "Older/Newer comments"
/// links (`?cpage=N`), so a page stays small however many comments an article collects.
pub const COMMENTS_PER_PAGE: u64 = 100;

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    replytocom: Option<i64>,
    cpage: Option<u64>,
    /// Cursor of a "Newer comments" link: the comments after this id.
    after: Option<i64>,
    /// Cursor of an "Older comments" link: the comments before this id.
    before: Option<i64>,
    unapproved: Option<i64>,
    #[serde(rename = "moderation-hash")]
    moderation_hash: Option<String>,
    /// `old` when the reader came by an old site's link ([`moved_to`]): its `#comment-N` then
    /// names the imported comment's old id.
    anchors: Option<String>,
}

impl PageQuery {
    fn old_links(&self) -> bool {
        self.anchors.as_deref() == Some("old")
    }
}

/// Pages of comments an article with `total` published comments has (at least one).
fn page_count(total: u64) -> u64 {
    total.div_ceil(COMMENTS_PER_PAGE).max(1)
}

/// Where page `page` of `pages` starts: by cursor when the link gave one (an index seek), else
/// by skipping from whichever end is nearer, so the first and last pages (where readers land)
/// cost nothing to find.
fn window_of(query: &PageQuery, page: u64, pages: u64, total: u64) -> (Window, u64) {
    if let Some(id) = query.after {
        return (Window::After(id), COMMENTS_PER_PAGE);
    }
    if let Some(id) = query.before {
        return (Window::Before(id), COMMENTS_PER_PAGE);
    }
    let from_start = (page - 1) * COMMENTS_PER_PAGE;
    if page * 2 <= pages {
        return (Window::Offset(from_start), COMMENTS_PER_PAGE);
    }
    let on_page = total.saturating_sub(from_start).min(COMMENTS_PER_PAGE);
    (
        Window::FromEnd(total.saturating_sub(from_start + on_page)),
        on_page.max(1),
    )
}

/// `GET /`: the article, or the list when there are several. `/?p=ID` (a WordPress post link)
/// moves to the imported article.
pub async fn home(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, WebError> {
    if let Some(id) = old_post_id(&uri)
        && let Some(slug) = state.imports.moved_article("/", Some(id)).await?
    {
        return Ok(moved_to(&slug));
    }
    let articles = state.articles();
    if articles.len() == 1 {
        let slug = articles[0].slug.clone();
        return render_article(
            &state,
            &slug,
            PageQuery::default(),
            FormState::default(),
            StatusCode::OK,
        )
        .await;
    }
    let by_article = article_counts(&state).await?;
    let counts: Vec<u64> = articles
        .iter()
        .map(|a| by_article.get(&a.slug).copied().unwrap_or(0))
        .collect();
    Ok(
        Html(render::article_list(&articles, &counts, &state.identity()).into_string())
            .into_response(),
    )
}

/// The built-in articles' published comment counts, by slug (one query for them all; an article
/// without comments is absent).
pub(super) async fn article_counts(
    state: &AppState,
) -> Result<std::collections::HashMap<String, u64>, WebError> {
    Ok(state
        .store
        .published_counts(DEFAULT_SITE)
        .await?
        .into_iter()
        .collect())
}

/// Any other address: an old WordPress permalink of an imported post (`/?p=12`,
/// `/2019/04/12/slug/`, `/slug/`) moves permanently to its article; anything else is not found.
pub async fn moved_or_missing(
    State(state): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Result<Response, WebError> {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        let post_id = old_post_id(&uri);
        let path = uri.path().to_string();
        if (post_id.is_some() || path.len() > 1)
            && let Some(slug) = state.imports.moved_article(&path, post_id).await?
        {
            return Ok(moved_to(&slug));
        }
    }
    Err(WebError::NotFound("no such page".into()))
}

/// 301 to an article: what the old site's links (and search engines) expect of a moved page.
/// The browser keeps the old link's `#comment-N` across the redirect; `?anchors=old` tells the
/// page that N is the old site's comment id.
fn moved_to(slug: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, format!("/articles/{slug}?anchors=old"))],
    )
        .into_response()
}

/// The WordPress post id of an old `?p=ID` / `?page_id=ID` link.
fn old_post_id(uri: &axum::http::Uri) -> Option<i64> {
    uri.query()
        .and_then(crate::storage::rules::wordpress_post_id)
}

/// The comment a `?replytocom=ID` link asks to reply to, if it can take replies: published, in
/// this thread. Any other id (held, trashed, elsewhere, unknown) is ignored, as WordPress does,
/// so the form offers a plain comment instead of a reply that posting would refuse.
pub(super) async fn reply_target(
    state: &AppState,
    site: i64,
    thread: &str,
    id: Option<i64>,
) -> Result<Option<i64>, WebError> {
    let Some(id) = id else {
        return Ok(None);
    };
    let found = state.store.get(id).await?;
    Ok(found
        .filter(|c| {
            c.site_id == site
                && c.article == thread
                && c.status == crate::storage::Status::Published
        })
        .map(|c| c.id))
}

/// `GET /articles/{slug}`.
pub async fn article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let form = FormState {
        parent: reply_target(&state, crate::domain::DEFAULT_SITE, &slug, query.replytocom).await?,
        ..FormState::default()
    };
    let mut response = render_article(&state, &slug, query, form, StatusCode::OK).await?;
    // The time trap's note of when this page was served (see `form_timer`).
    if let Ok(cookie) = HeaderValue::from_str(&form_timer::cookie(
        &state.pending_key,
        std::time::SystemTime::now(),
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn render_article(
    state: &AppState,
    slug: &str,
    query: PageQuery,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    // Cursors are comment ids: anything else is refused rather than rendered (and cached) as
    // another copy of the last page.
    if query.after.is_some_and(|id| id <= 0) || query.before.is_some_and(|id| id <= 0) {
        return Err(WebError::BadRequest(
            "after and before must be comment ids (positive numbers)".into(),
        ));
    }
    let site = state.identity();
    // Cached pages are stale when the model or the site's identity changes.
    let version = format!("{} {}", state.model_label(), site.revision());
    let Some(article) = state.article(slug) else {
        let page = render::message_page("Not found", "There is no article at this address.", &site);
        return Ok((StatusCode::NOT_FOUND, Html(page.into_string())).into_response());
    };
    // The plain view of a page (no form state, no held comment to show) is the same for every
    // reader until the comments change: serve it from the cache.
    let cacheable = status == StatusCode::OK
        && !query.old_links()
        && query.unapproved.is_none()
        && query.replytocom.is_none()
        && form.parent.is_none();
    let key = page_cache::PageKey {
        slug: slug.to_string(),
        page: query.cpage.unwrap_or(1).max(1),
        after: query.after,
        before: query.before,
    };
    // Read before the database, so a change committed meanwhile makes this rendering stale.
    let fresh = page_cache::Freshness {
        generation: state.store.generation(),
        model_version: version.clone(),
    };
    if cacheable && let Some(html) = state.page_cache.get(&key, &fresh) {
        return Ok(html_response(StatusCode::OK, html));
    }
    let loaded = async {
        let total = state.store.count_published(DEFAULT_SITE, slug).await?;
        let pages = page_count(total);
        let page = query.cpage.unwrap_or(1).clamp(1, pages);
        let (window, limit) = window_of(&query, page, pages, total);
        let mut comments = state
            .store
            .published(DEFAULT_SITE, slug, window, limit)
            .await?;
        let mut moved = false;
        if comments.is_empty() && matches!(window, Window::After(_) | Window::Before(_)) {
            moved = true;
            // A cursor past either end (comments removed since the link was made).
            let (window, limit) = window_of(&PageQuery::default(), pages, pages, total);
            comments = state
                .store
                .published(DEFAULT_SITE, slug, window, limit)
                .await?;
        }
        let paging = render::Paging {
            page,
            pages,
            total,
            first_id: comments.first().map(|c| c.id),
            last_id: comments.last().map(|c| c.id),
        };
        let closed = state.thread_closed(DEFAULT_SITE, slug).await?;
        Ok::<_, crate::storage::StorageError>((paging, comments, moved, closed))
    }
    .await;
    let (paging, comments, moved, closed) = match loaded {
        Ok(loaded) => loaded,
        // The database is down or restarting: the last rendering of the page still serves.
        Err(e) if cacheable && e.unavailable_reason().is_some() => {
            match state.page_cache.stale(&key) {
                Some(html) => {
                    tracing::warn!(error = %e, slug, "database unavailable; serving the last rendering");
                    return Ok(html_response(StatusCode::OK, html));
                }
                None => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    // The author of a held comment sees it (marked) through the signed link they were sent to.
    let old_links = query.old_links();
    let pending = match (query.unapproved, query.moderation_hash) {
        (Some(id), Some(hash)) if state.pending_hash_matches(id, &hash) => state
            .store
            .get(id)
            .await?
            .filter(|c| c.article == slug && c.status == crate::storage::Status::Held),
        _ => None,
    };
    let form = FormState {
        offer_reply_notices: state.mailer.is_some(),
        ..form
    };
    let article = crate::articles::Article {
        comments_open: article.comments_open && !closed,
        ..(*article).clone()
    };
    let page = render::article_page(
        &article,
        &comments,
        pending.as_ref(),
        &form,
        &site,
        paging,
        old_links,
    );
    let html: std::sync::Arc<str> = page.into_string().into();
    // Pages past the last are clamped to it; cache them under the page actually shown.
    // Nor is a cursor past either end: it shows the last page, which is cached under its own key.
    if cacheable && key.page == paging.page && !moved {
        state.page_cache.put(key, fresh, html.clone());
    }
    Ok(html_response(status, html))
}

/// The reply form's fields (WordPress's names).
#[derive(Debug, Default)]
pub struct CommentForm {
    comment: String,
    author: String,
    email: String,
    url: String,
    website: String,
    comment_parent: Option<String>,
    notify_replies: bool,
}

impl CommentForm {
    fn from_body(body: &[u8]) -> Result<Self, WebError> {
        let mut form = CommentForm::default();
        for (name, value) in super::form::parse(body).map_err(WebError::BadRequest)? {
            match name.as_str() {
                "comment" => form.comment = value,
                "author" => form.author = value,
                "email" => form.email = value,
                "url" => form.url = value,
                "website" => form.website = value,
                "comment_parent" => form.comment_parent = Some(value),
                "notify_replies" => form.notify_replies = !value.is_empty(),
                _ => {}
            }
        }
        Ok(form)
    }
}

/// Decodes the reply form's body into what the form shows back (every field as typed) and the
/// submission to validate. Pure, so the fuzzer can drive it.
pub fn form_submission(slug: &str, body: &[u8]) -> Result<(FormState, Submission), WebError> {
    let form = CommentForm::from_body(body)?;
    let parent = match form
        .comment_parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "0")
    {
        Some(p) => Some(
            p.parse::<i64>()
                .map_err(|_| WebError::BadRequest("comment_parent must be a number".into()))?,
        ),
        None => None,
    };
    let kept = FormState {
        content: form.comment.clone(),
        author: form.author.clone(),
        email: form.email.clone(),
        url: form.url.clone(),
        parent,
        ..FormState::default()
    };
    let honeypot = !form.website.trim().is_empty();
    let mut submission = Submission::reader(
        slug.to_string(),
        parent,
        RawComment {
            content: form.comment,
            author: form.author,
            email: form.email,
            url: form.url,
        },
        Origin::Form,
    );
    submission.honeypot = honeypot;
    submission.notify_replies = form.notify_replies;
    Ok((kept, submission))
}

/// What a reader's form post says: the fields to show back and the submission to `thread`, with
/// what the request tells of its sender.
pub(super) fn reader_form(
    state: &AppState,
    site: &crate::domain::Site,
    thread: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(FormState, Submission), WebError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge
        } else {
            WebError::BadRequest(e.body_text())
        }
    })?;
    if posted_from_another_site(state, site, headers) {
        return Err(WebError::Forbidden(
            "Comments are posted from this site's own pages; a form on another site cannot post \
             here."
                .into(),
        ));
    }
    let (kept, mut submission) = form_submission(thread, &body)?;
    submission.ip = Some(state.proxies.client_ip(peer.ip(), headers));
    submission.user_agent = header_text(headers, header::USER_AGENT);
    submission.referrer = header_text(headers, header::REFERER);
    Ok((kept, submission))
}

/// Whether a reader's form post comes from a page of another site than `site` and this server:
/// any page on the web could otherwise make its visitors' browsers post comments here, each
/// from a real reader's address (past the flood and rate limits, the address keys and the
/// address's history).
///
/// - A page at one of the site's own origins may post (a static blog's own form).
/// - The browser's `Sec-Fetch-Site: same-origin` (or `none`, typed by the user) is this server's
///   own page; `same-site` (a sibling subdomain, another tenant) and `cross-site` are judged by
///   `Origin` as a browser without fetch metadata is.
/// - `Origin` must then be this server's: exactly `--public-url`'s origin when one is set
///   (scheme and port too; the `Host` a request names is the client's to choose), else the host
///   the request reached (behind a proxy the scheme and port are not known here).
///   `Origin: null` (a sandboxed page, one served with `Referrer-Policy: no-referrer`) is not.
/// - A post with neither header (a script, a very old browser) is taken, as WordPress takes it.
///
/// The Isso and JSON APIs have their own rule (JSON bodies and the sites' origins).
fn posted_from_another_site(
    state: &AppState,
    site: &crate::domain::Site,
    headers: &HeaderMap,
) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text("origin");
    if origin.is_some_and(|o| site.origins.iter().any(|own| own == o)) {
        return false;
    }
    let fetch_site = text("sec-fetch-site").map(str::to_ascii_lowercase);
    if matches!(fetch_site.as_deref(), Some("same-origin" | "none")) {
        return false;
    }
    let Some(origin) = origin else {
        // Fetch metadata without an Origin: a browser says where it comes from.
        return fetch_site.is_some();
    };
    let Ok(from) = url::Url::parse(origin) else {
        return true; // `null` or nonsense: not this site's page
    };
    if let Some(public) = &state.public_url {
        return from.origin() != public.origin();
    }
    let host = text("host")
        .and_then(|h| url::Url::parse(&format!("http://{h}")).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    from.host_str().is_none() || host.as_deref() != from.host_str()
}

/// What the form says of a comment the filter rejected.
const REJECTED_NOTICE: &str = "Your comment was identified as spam and was not posted. \
    It is kept for the site's moderators, who can still publish it; if this is a mistake, please \
    contact the site owner.";

/// What the form says of fields to correct.
const FIX_FIELDS_NOTICE: &str = "Please correct the marked fields; nothing you typed was lost.";

/// The reader's form shown back, and the page's status, when the filter rejected their comment
/// (an article's page and an embedding site's thread page answer alike).
pub(super) fn rejected_form(kept: FormState) -> (FormState, StatusCode) {
    let form = FormState {
        notice: Some(REJECTED_NOTICE.into()),
        ..kept
    };
    (form, StatusCode::FORBIDDEN)
}

/// The reader's form shown back, and the page's status, when fields must be corrected.
pub(super) fn fix_fields_form(
    kept: FormState,
    errors: super::error::FieldErrors,
) -> (FormState, StatusCode) {
    let form = FormState {
        errors,
        notice: Some(FIX_FIELDS_NOTICE.into()),
        ..kept
    };
    (form, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `POST /articles/{slug}/comments`.
pub async fn post_comment(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let default_site = state.sites.default_site();
    let (kept, mut submission) = reader_form(&state, &default_site, &slug, peer, &headers, body)?;
    submission.form_age = form_timer::form_age(
        &state.pending_key,
        headers.get(header::COOKIE).and_then(|v| v.to_str().ok()),
        std::time::SystemTime::now(),
    );
    match submit::submit(&state, submission, true)
        .await
        .and_then(|accepted| accepted.into_stored())
    {
        Ok(c) => {
            // The newest comment is on the last page.
            let last_page = page_count(state.store.count_published(DEFAULT_SITE, &slug).await?);
            let location = match c.status {
                crate::storage::Status::Published => {
                    format!("/articles/{slug}?cpage={last_page}#comment-{}", c.id)
                }
                crate::storage::Status::Held => format!(
                    "/articles/{slug}?cpage={last_page}&unapproved={}&moderation-hash={}#comment-{}",
                    c.id,
                    state.pending_hash(c.id),
                    c.id
                ),
                _ => {
                    let (form, status) = rejected_form(kept);
                    return render_article(&state, &slug, PageQuery::default(), form, status).await;
                }
            };
            Ok(Redirect::to(&location).into_response())
        }
        Err(WebError::Validation(errors)) => {
            let (form, status) = fix_fields_form(kept, errors);
            render_article(&state, &slug, PageQuery::default(), form, status).await
        }
        Err(e) => {
            let Some((form, status)) = state.article(&slug).and(refused_form(kept, &e)) else {
                return Err(e);
            };
            let fallback = bare_refusal(&form, status);
            // If the page itself cannot be read now, the reason and the text on a page of
            // their own.
            Ok(
                render_article(&state, &slug, PageQuery::default(), form, status)
                    .await
                    .unwrap_or(fallback),
            )
        }
    }
}

/// The reader's form shown back with what stopped their comment, everything typed kept, and the
/// page's status: posting too fast, a duplicate, a closed page, an unknown parent, a database
/// that cannot take comments just now (disk full, read-only). `None` for errors that are not a
/// reader's to see on a form.
pub(super) fn refused_form(kept: FormState, e: &WebError) -> Option<(FormState, StatusCode)> {
    let notice = match e {
        WebError::Flood
        | WebError::RateLimited
        | WebError::Duplicate
        | WebError::NotFound(_)
        | WebError::Forbidden(_) => e.to_string(),
        WebError::Storage(_) | WebError::Internal(_) => e.user_message(),
        _ => return None,
    };
    let form = FormState {
        notice: Some(notice),
        ..kept
    };
    Some((form, e.status()))
}

/// What a reader sees of a refused form post when the page it came from cannot be read either
/// (the database is down): why, and what they typed, to copy and send again later — never the
/// JSON an API client gets.
pub(super) fn bare_refusal(form: &FormState, status: StatusCode) -> Response {
    super::one_click::page(
        status,
        "Your comment was not posted",
        maud::html! {
            @if let Some(notice) = &form.notice { p { (notice) } }
            @if !form.content.is_empty() {
                p { "What you wrote, to send again later:" }
                textarea readonly rows="8" cols="60" { (form.content) }
            }
        },
    )
}

fn html_response(status: StatusCode, html: std::sync::Arc<str>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        axum::body::Body::from(Bytes::from_owner(ArcStr(html))),
    )
        .into_response()
}

/// A cached page as a response body without copying it.
struct ArcStr(std::sync::Arc<str>);

impl AsRef<[u8]> for ArcStr {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A request header as text, at most 512 characters (what is stored of it).
pub(super) fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(512).collect())
}
