//! The Isso-compatible API, mounted at `/isso/`: a static site that runs Isso's own widget
//! (`embed.min.js`, `count.min.js`) switches to replyguard by pointing `data-isso` here. The
//! shapes follow Isso 0.14's server (`isso/views/comments.py`); what differs is that replyguard's
//! verdict decides a new comment's fate, and the site is named by the page's origin
//! ([`super::cors::guard`] runs before every route here).
//!
//! What the widget relies on:
//! - every call carries `Content-Type: application/json`, so it is preflighted; a write whose
//!   body is declared as anything else is refused (Isso's CSRF guard: a `<form>` cannot send
//!   JSON);
//! - `text` is inserted as HTML, `author` and `website` as they are: the server returns
//!   sanitized HTML and escaped fields;
//! - the author of a comment may edit or delete it for the site's edit window (15 minutes by
//!   default) with the signed cookie the answer to `new` sets (and repeats in `X-Set-Cookie`,
//!   which the widget copies into the page's cookies to show its edit links).
//!
//! A comment the filter rejects is answered like a held one (202, `mode` 2): its author sees
//! "awaiting moderation", a spammer learns nothing, and a reader wrongly caught can still be
//! approved from the Spam tab.

use super::AppState;
use super::cors::SiteOf;
use super::error::WebError;
use super::pages::header_text;
use super::submit::{self, Submission};
use crate::domain::isso::{IssoMode, unix_seconds};
use crate::domain::site::{thread_title, thread_uri};
use crate::domain::{Origin, RawComment, Site};
use crate::engine::Verdict;
use crate::storage::{CommentExtras, Status, StoredComment, Votes, Window};
use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// Most comments one thread listing returns.
const THREAD_LIMIT: u64 = 2_000;
/// Most threads one `/count` call may ask about: Isso's `count.js` asks for every
/// `#isso-thread` link of a page at once, and an archive page lists hundreds.
const COUNT_LIMIT: usize = 1_000;
/// Most comments `/latest` returns.
const LATEST_LIMIT: u64 = 100;
/// The widget's stylesheet.
const CSS: &str = include_str!("assets/isso.css");

/// The routes under `/isso/` that pages call (behind the site guard).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/isso/", get(fetch))
        .route("/isso/new", post(new))
        .route("/isso/count", post(counts))
        .route("/isso/config", get(config))
        .route("/isso/preview", post(preview))
        .route("/isso/latest", get(latest))
        .route("/isso/feed", get(feed))
        .route("/isso/id/{id}", get(view).put(edit).delete(delete))
        .route("/isso/id/{id}/{vote}", post(vote))
}

/// `GET /isso/css/isso.css`: the widget's stylesheet (it loads it from `<endpoint>/css/`).
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A JSON body, refused unless declared as JSON: Isso's guard against a `<form>` on another
/// site posting here (a form cannot send `application/json` without a preflight).
struct IssoJson<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for IssoJson<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        refuse_forms(req.headers())?;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| WebError::TooLarge)?;
        serde_json::from_slice(&bytes)
            .map(IssoJson)
            .map_err(|e| WebError::BadRequest(format!("the body is not the JSON expected: {e}")))
    }
}

/// Refuses a write declared as anything but JSON (a missing type is what Isso lets through).
fn refuse_forms(headers: &HeaderMap) -> Result<(), WebError> {
    match headers.get(header::CONTENT_TYPE) {
        Some(v) if !v.as_bytes().starts_with(b"application/json") => Err(WebError::Forbidden(
            "CSRF: send the body as application/json".into(),
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
struct UriQuery {
    uri: String,
}

fn uri_of(raw: &str) -> Result<String, WebError> {
    thread_uri(raw).map_err(WebError::BadRequest)
}

/// A comment as Isso's API shows it.
#[derive(Debug, Serialize)]
struct IssoComment {
    id: i64,
    parent: Option<i64>,
    /// Sanitized HTML.
    text: String,
    /// HTML-escaped, or null.
    author: Option<String>,
    /// HTML-escaped, or null.
    website: Option<String>,
    /// 1 published, 2 waiting for a moderator, 4 deleted but replied to.
    mode: i64,
    created: f64,
    modified: Option<f64>,
    likes: u64,
    dislikes: u64,
    /// Identifies the author for the widget's avatar; a keyed hash, never the address.
    hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_replies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden_replies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replies: Option<Vec<IssoComment>>,
}

/// `text` escaped for HTML, quotes included: Isso's widget puts `author` in an element and
/// `website` in a single-quoted `href`, both as they come.
fn escaped(text: &str) -> Option<String> {
    Some(text)
        .filter(|t| !t.is_empty())
        .map(|t| html_escape::encode_safe(t).into_owned())
}

fn keyed_hash(state: &AppState, purpose: &str, value: &str) -> String {
    let digest = Sha256::digest(format!("{}:{purpose}:{value}", state.pending_key).as_bytes());
    hex::encode(&digest[..6])
}

fn show(state: &AppState, c: &StoredComment, extras: Option<&CommentExtras>) -> IssoComment {
    let votes = extras.map(|e| e.votes).unwrap_or_default();
    let who = if c.author_email.is_empty() {
        c.user_ip.as_deref().unwrap_or_default()
    } else {
        &c.author_email
    };
    IssoComment {
        id: c.id,
        parent: c.parent_id,
        text: super::render::comment_body(c).into_string(),
        author: escaped(&c.author),
        website: c.author_url.as_deref().and_then(escaped),
        mode: IssoMode::of(c.status).number(),
        created: unix_seconds(&c.created_at),
        modified: extras
            .and_then(|e| e.edited_at.as_deref())
            .map(unix_seconds),
        likes: votes.likes,
        dislikes: votes.dislikes,
        hash: keyed_hash(state, "author", who),
        total_replies: None,
        hidden_replies: None,
        replies: None,
    }
}

/// A deleted comment that published replies still answer: shown empty (Isso's mode 4), at the
/// time it was written (Isso's widget shows the placeholder's age). Its `hash` is a keyed hash
/// of its id: never empty, which Isso's widget takes for the page author's (an empty
/// `page-author-hashes` setting) and labels "Author".
fn placeholder(state: &AppState, id: i64, created: f64) -> IssoComment {
    IssoComment {
        id,
        parent: None,
        text: String::new(),
        author: None,
        website: None,
        mode: IssoMode::Deleted.number(),
        created,
        modified: None,
        likes: 0,
        dislikes: 0,
        hash: keyed_hash(state, "deleted", &id.to_string()),
        total_replies: None,
        hidden_replies: None,
        replies: None,
    }
}

#[derive(Debug, Deserialize)]
struct FetchQuery {
    uri: String,
    limit: Option<String>,
    nested_limit: Option<String>,
    offset: Option<String>,
    parent: Option<String>,
    sort: Option<String>,
}

/// A number the widget may send (`limit`, `offset`, …); absent or empty is `None`.
fn number(name: &str, raw: Option<&str>) -> Result<Option<usize>, WebError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => r
            .parse()
            .map(Some)
            .map_err(|_| WebError::BadRequest(format!("{name} should be a whole number ≥ 0"))),
    }
}

/// `GET /isso/?uri=&limit=&nested_limit=&offset=&parent=&sort=`: a thread's published comments,
/// top-level ones with their replies one level below (Isso's shape; deeper replies are shown
/// under their top-level comment). An unknown thread has no comments (200, not 404).
async fn fetch(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Query(q): Query<FetchQuery>,
) -> Result<Response, WebError> {
    let uri = uri_of(&q.uri)?;
    let limit = number("limit", q.limit.as_deref())?;
    let nested_limit = number("nested_limit", q.nested_limit.as_deref())?;
    let offset = number("offset", q.offset.as_deref())?.unwrap_or(0);
    let root = match q.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(
            p.parse::<i64>()
                .map_err(|_| WebError::BadRequest("parent should be a comment id".into()))?,
        ),
    };
    let sort = q.sort.as_deref().unwrap_or("oldest");
    if !matches!(sort, "" | "oldest" | "newest" | "upvotes") {
        return Err(WebError::BadRequest(
            "Invalid sort option. Must be one of: 'newest', 'oldest', 'upvotes'".into(),
        ));
    }
    let comments = state
        .store
        .published(site.id, &uri, Window::Offset(0), THREAD_LIMIT)
        .await?;
    let extras: HashMap<i64, CommentExtras> = state
        .site_store
        .thread_extras(site.id, &uri)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let tree = Tree::of(&comments);
    let mut children: HashMap<Option<i64>, Vec<IssoComment>> = HashMap::new();
    let mut placeholders = HashSet::new();
    for c in &comments {
        let top = tree.top_of(c);
        let parent = if top == c.id { None } else { Some(top) };
        if let Some(p) = parent
            && !tree.published.contains(&p)
        {
            placeholders.insert(p);
        }
        let mut shown = show(&state, c, extras.get(&c.id));
        shown.parent = parent;
        children.entry(parent).or_default().push(shown);
    }
    for id in placeholders {
        let created = state
            .store
            .get(id)
            .await?
            .map_or(0.0, |c| unix_seconds(&c.created_at));
        children
            .entry(None)
            .or_default()
            .push(placeholder(&state, id, created));
    }
    // By the time each was written, as Isso orders them, not by id: imported history has
    // later ids than what readers posted before the import.
    let oldest_first =
        |a: &IssoComment, b: &IssoComment| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id));
    for (parent, list) in children.iter_mut() {
        match sort {
            // Newest conversations first; within one, replies still read in the order they
            // were written, as Isso lists them.
            "newest" if parent.is_none() => list.sort_by(|a, b| oldest_first(b, a)),
            "upvotes" => list.sort_by(|a, b| {
                (b.likes as i64 - b.dislikes as i64)
                    .cmp(&(a.likes as i64 - a.dislikes as i64))
                    .then_with(|| oldest_first(a, b))
            }),
            _ => list.sort_by(oldest_first),
        }
    }
    let total: usize = if root.is_none() {
        comments.len()
    } else {
        children.get(&root).map_or(0, Vec::len)
    };
    let mut level = children.remove(&root).unwrap_or_default();
    let available = level.len();
    let mut level: Vec<IssoComment> = level
        .drain(..)
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let hidden = available.saturating_sub(level.len() + offset);
    if root.is_none() {
        for c in &mut level {
            let mut replies = children.remove(&Some(c.id)).unwrap_or_default();
            let all = replies.len();
            replies.truncate(nested_limit.unwrap_or(usize::MAX));
            c.total_replies = Some(all);
            c.hidden_replies = Some(all - replies.len());
            c.replies = Some(replies);
        }
    } else {
        for c in &mut level {
            c.total_replies = Some(0);
            c.hidden_replies = Some(0);
            c.replies = Some(Vec::new());
        }
    }
    let mut answer = json!({
        "id": root,
        "total_replies": total,
        "hidden_replies": hidden,
        "replies": level,
        "config": public_config(&state, &site),
    });
    // Not Isso's: a page imported with its comments closed says so, so that replyguard's embed
    // shows the notice instead of a form (and no Reply buttons). Isso's widget ignores it.
    if state.thread_closed(site.id, &uri).await? {
        answer["closed"] = json!(true);
    }
    Ok(Json(answer).into_response())
}

/// Who answers whom in a thread's published comments.
struct Tree {
    parent_of: HashMap<i64, Option<i64>>,
    published: HashSet<i64>,
}

impl Tree {
    fn of(comments: &[StoredComment]) -> Tree {
        Tree {
            parent_of: comments.iter().map(|c| (c.id, c.parent_id)).collect(),
            published: comments.iter().map(|c| c.id).collect(),
        }
    }

    /// The top-level comment `c` answers (itself when it answers none). A reply whose parent is
    /// not published hangs under that parent's id (shown as a placeholder).
    fn top_of(&self, c: &StoredComment) -> i64 {
        let mut id = c.id;
        let mut parent = c.parent_id;
        // Bounded: a thread cannot be deeper than it is long.
        for _ in 0..=self.parent_of.len() {
            match parent {
                None => return id,
                Some(p) => match self.parent_of.get(&p) {
                    Some(next) => {
                        id = p;
                        parent = *next;
                    }
                    None => return p,
                },
            }
        }
        id
    }
}

/// What the widget may know of a site's settings (`/config`, and every thread listing).
fn public_config(state: &AppState, site: &Site) -> Value {
    // The widget offers "subscribe to replies" only when this server can send e-mail.
    let state_offers_reply_notices = state.mailer.is_some();
    json!({
        // A reader may answer a reply to their own comment, as on WordPress.
        "reply-to-self": true,
        "require-email": site.settings.require_email,
        "require-author": site.settings.require_author,
        "reply-notifications": state_offers_reply_notices,
        "gravatar": false,
        // No "avatar": as Isso (which sends it only to turn avatars off for Gravatar), so the
        // blog's own `data-isso-avatar` stands.
        "feed": true,
    })
}

/// `GET /isso/config`.
async fn config(State(state): State<AppState>, SiteOf(site): SiteOf) -> Response {
    Json(json!({ "config": public_config(&state, &site) })).into_response()
}

#[derive(Debug, Deserialize)]
struct NewBody {
    text: Option<String>,
    author: Option<String>,
    email: Option<String>,
    website: Option<String>,
    parent: Option<i64>,
    title: Option<String>,
    /// Isso's "subscribe to replies" (1 = yes).
    #[serde(default)]
    notification: Option<i64>,
}

/// `POST /isso/new?uri=`: a reader's comment, through replyguard's checks and filter. 201 with
/// `mode` 1 when published, 202 with `mode` 2 when it waits (or was rejected; see the module
/// note), with the edit cookie.
async fn new(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Query(q): Query<UriQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IssoJson(body): IssoJson<NewBody>,
) -> Result<Response, WebError> {
    let uri = uri_of(&q.uri)?;
    let text = |v: Option<String>| v.unwrap_or_default().trim().to_string();
    // Isso takes any e-mail text, and its widget shows nothing when a post fails: an address that
    // is no address is left out (it could be mailed nothing anyway) rather than losing the
    // comment, unless the site requires one (then it is refused, naming the field).
    let email = Some(text(body.email))
        .filter(|email| site.settings.require_email || crate::domain::draft::typed_email_ok(email));
    let raw = RawComment {
        author: text(body.author),
        email: email.unwrap_or_default(),
        url: text(body.website),
        content: body.text.unwrap_or_default(),
    };
    let missing = site
        .settings
        .missing_fields(&raw.author, &raw.email, ["author", "email"]);
    if !missing.is_empty() {
        return Err(WebError::Validation(missing));
    }
    let title = thread_title(body.title.as_deref().unwrap_or_default());
    let parent = match body.parent {
        Some(parent) => thread_root(&state, &site, &uri, parent).await?,
        None => None,
    };
    let mut submission = Submission::reader(uri.clone(), parent, raw, Origin::Api);
    submission.site = site.id;
    submission.anonymous_allowed = true;
    // Isso's widget writes Markdown, and Isso shows it rendered.
    submission.markdown = true;
    submission.notify_replies = body.notification == Some(1);
    submission.page_title = Some(if title.is_empty() { uri.clone() } else { title });
    submission.ip = Some(state.proxies.client_ip(peer.ip(), &headers));
    submission.user_agent = header_text(&headers, header::USER_AGENT);
    submission.referrer = header_text(&headers, header::REFERER);
    let accepted = submit::submit(&state, submission, true).await?;
    let comment = accepted.into_stored()?;
    let shown = shown_to_author(&state, &comment, None);
    let status = if shown.mode == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = (status, Json(shown)).into_response();
    let https = state.over_https(peer.ip(), &headers);
    set_edit_cookie(&state, &site, &comment, https, &mut response);
    Ok(response)
}

/// The comment a reply to `parent` hangs under, as Isso threads it: one level deep, under the
/// top-level comment of `parent`'s conversation (so deleting a reply never strands another
/// reply under a placeholder, and the widget files the new one where a reload shows it). Only
/// published comments of this thread are climbed; a parent that is not one (held, rejected,
/// gone, another page's) makes the reply a comment of its own, as Isso does with a parent it
/// does not know, rather than losing it.
async fn thread_root(
    state: &AppState,
    site: &Site,
    uri: &str,
    parent: i64,
) -> Result<Option<i64>, WebError> {
    let shown = |c: &StoredComment| {
        c.site_id == site.id && c.article == uri && c.status == Status::Published
    };
    let Some(mut root) = state.store.get(parent).await?.filter(|c| shown(c)) else {
        return Ok(None);
    };
    // Bounded: an imported thread may be deep, but never circular by more than this.
    for _ in 0..64 {
        let Some(up) = root.parent_id else { break };
        match state.store.get(up).await?.filter(|c| shown(c)) {
            Some(above) => root = above,
            None => break,
        }
    }
    Ok(Some(root.id))
}

/// The edit token of a comment: `EXPIRES.SIGNATURE`, signed over the id, the expiry and the
/// text, so an edit by someone else (or of a text changed since) is refused.
fn edit_token(state: &AppState, c: &StoredComment, expires: u64) -> String {
    let text = Sha256::digest(c.content.as_bytes());
    let digest = Sha256::digest(
        format!(
            "{}:isso-edit:{}:{expires}:{}",
            state.pending_key,
            c.id,
            hex::encode(text)
        )
        .as_bytes(),
    );
    format!("{expires}.{}", hex::encode(&digest[..16]))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Sets the cookie that lets the author edit or delete `c` for the site's edit window: as
/// `Set-Cookie` on replyguard's own origin (sent back with the widget's credentialed calls) and
/// as `X-Set-Cookie` (`isso-ID`), which the widget puts in the page's cookies.
/// The attributes of the edit cookies. Over HTTPS they are `SameSite=None; Secure`, as Isso's:
/// the widget's requests come from the blog's pages, often another site than this server's, and
/// a `Lax` cookie is not sent with them (writes are still only the site's own origins', through
/// CORS preflights, and only JSON). Over plain HTTP browsers refuse `None`: `Lax`.
fn edit_cookie_attributes(https: bool) -> &'static str {
    if https {
        "Path=/; SameSite=None; Secure"
    } else {
        "Path=/; SameSite=Lax"
    }
}

/// When the site's edit window for comment `c` ends (Unix seconds), by the site's window as it
/// is now.
fn edit_window_end(site: &Site, c: &StoredComment) -> u64 {
    (unix_seconds(&c.created_at) as u64).saturating_add(site.settings.edit_window())
}

fn set_edit_cookie(
    state: &AppState,
    site: &Site,
    c: &StoredComment,
    https: bool,
    response: &mut Response,
) {
    // The window runs from the comment's creation, however often it is edited (a token renewed
    // by each edit would keep it open for ever).
    let expires = edit_window_end(site, c);
    let left = expires.saturating_sub(now_unix());
    let token = edit_token(state, c, expires);
    let attributes = format!("Max-Age={left}; {}", edit_cookie_attributes(https));
    let own = format!("isso-edit-{}={token}; {attributes}; HttpOnly", c.id);
    let page = format!("isso-{}={token}; {attributes}", c.id);
    let headers = response.headers_mut();
    for (name, value) in [(header::SET_COOKIE.as_str(), own), ("x-set-cookie", page)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
}

/// Clears both edit cookies of comment `id`.
fn clear_edit_cookie(id: i64, https: bool, response: &mut Response) {
    let attributes = edit_cookie_attributes(https);
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::SET_COOKIE.as_str(),
            format!("isso-edit-{id}=; Max-Age=0; {attributes}; HttpOnly"),
        ),
        (
            "x-set-cookie",
            format!("isso-{id}=; Max-Age=0; {attributes}"),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
}

/// The comment `id` of this site if the request carries its author's unexpired edit cookie;
/// 403 otherwise (404 when there is no such comment on the site).
async fn own_comment(
    state: &AppState,
    site: &Site,
    id: i64,
    headers: &HeaderMap,
) -> Result<StoredComment, WebError> {
    let comment = state
        .store
        .get(id)
        .await?
        .filter(|c| c.site_id == site.id)
        .ok_or_else(|| WebError::NotFound(format!("no comment {id}")))?;
    let name = format!("isso-edit-{id}");
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string());
    let not_yours = || {
        WebError::Forbidden(
            "Not authorized to change this comment: only its author may, from the browser it \
             was posted from, within the site's edit window (the browser forgets the comment \
             when the window ends)"
                .into(),
        )
    };
    let token = token.ok_or_else(not_yours)?;
    let expires: u64 = token
        .split_once('.')
        .and_then(|(e, _)| e.parse().ok())
        .ok_or_else(not_yours)?;
    let genuine: bool = edit_token(state, &comment, expires)
        .as_bytes()
        .ct_eq(token.as_bytes())
        .into();
    if !genuine {
        return Err(not_yours());
    }
    // The site's window as it is now: a cookie made under a longer one (or before the cap)
    // ends with it.
    if expires < now_unix() || edit_window_end(site, &comment) < now_unix() {
        return Err(WebError::Forbidden(
            "Not authorized to change this comment: its edit window is over".into(),
        ));
    }
    // Only its author gets this far: what happened to the comment is told to no one else (an
    // id's fate is no probe for a spammer, and a rejection looks to its author like a hold).
    match comment.status {
        Status::Published | Status::Held => Ok(comment),
        Status::Trash => Err(WebError::NotFound(format!("no comment {id}"))),
        Status::Spam if filter_rejected(state, &comment).await? => Ok(comment),
        // What a moderator marked spam stays as they left it: its author can neither edit it
        // back nor delete it (which would take the spam label, and the sender's spam history,
        // with it).
        Status::Spam => Err(WebError::Forbidden(
            "Not authorized to change this comment: a moderator has decided on it".into(),
        )),
    }
}

/// Whether `c` is spam only by the filter's verdict on arrival: no moderator has touched it (its
/// author's own edits aside). Its author sees it as waiting, and may edit or delete it as they
/// may a held one.
async fn filter_rejected(state: &AppState, c: &StoredComment) -> Result<bool, WebError> {
    if c.status != Status::Spam || c.verdict != Verdict::Rejected.as_str() {
        return Ok(false);
    }
    let history = state.store.history(c.id).await?;
    // The first event is the classifier's verdict on arrival (the schema's record of it).
    Ok(history
        .iter()
        .all(|event| event.actor == "classifier" || event.actor.starts_with("author")))
}

/// `c` as its author sees it: a comment the filter rejected is waiting (mode 2), as Isso shows
/// a comment its moderators have not seen, so a spammer learns nothing from the answer.
fn shown_to_author(
    state: &AppState,
    c: &StoredComment,
    extras: Option<&CommentExtras>,
) -> IssoComment {
    let mut shown = show(state, c, extras);
    if c.status == Status::Spam {
        shown.mode = IssoMode::Pending.number();
    }
    shown
}

/// Edit times and votes of `comments` by id (Isso shows them on every comment it answers with;
/// only published and held comments have any): a lookup each, never a scan of the threads they
/// are in.
async fn extras_of(
    state: &AppState,
    comments: &[StoredComment],
) -> Result<HashMap<i64, CommentExtras>, WebError> {
    let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
    Ok(state
        .site_store
        .comment_extras(&ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect())
}

#[derive(Debug, Deserialize)]
struct ViewQuery {
    plain: Option<String>,
}

/// `GET /isso/id/{id}?plain=1`: the author's own comment (the widget reads the raw text to edit).
async fn view(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Path(id): Path<i64>,
    Query(q): Query<ViewQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let comment = own_comment(&state, &site, id, &headers).await?;
    let extras = extras_of(&state, std::slice::from_ref(&comment)).await?;
    let mut shown = shown_to_author(&state, &comment, extras.get(&comment.id));
    if q.plain.as_deref() == Some("1") {
        shown.text = comment.content.clone();
    }
    Ok(Json(shown).into_response())
}

#[derive(Debug, Deserialize)]
struct EditBody {
    text: Option<String>,
    author: Option<String>,
    website: Option<String>,
}

/// `PUT /isso/id/{id}`: the author edits their comment within the edit window. The new text is
/// scored again: an edit the filter would not publish takes the comment off the page until a
/// moderator looks (a reader cannot post something harmless and turn it into spam).
async fn edit(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Path(id): Path<i64>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IssoJson(body): IssoJson<EditBody>,
) -> Result<Response, WebError> {
    let comment = own_comment(&state, &site, id, &headers).await?;
    let body_changes_author = body.author.is_some();
    let raw = RawComment {
        author: body
            .author
            .map_or_else(|| comment.author.clone(), |a| a.trim().to_string()),
        email: comment.author_email.clone(),
        url: body.website.map_or_else(
            || comment.author_url.clone().unwrap_or_default(),
            |w| w.trim().to_string(),
        ),
        content: body.text.unwrap_or_else(|| comment.content.clone()),
    };
    let draft = crate::domain::CommentDraft::parse(&raw, crate::domain::Strictness::Embedded)
        .map_err(WebError::Validation)?;
    // A name the site requires cannot be edited away (only what the edit changes is asked: a
    // comment posted before the site required a field can still be edited).
    if body_changes_author {
        let missing = site
            .settings
            .missing_fields(&raw.author, "kept", ["author", "email"]);
        if !missing.is_empty() {
            return Err(WebError::Validation(missing));
        }
    }
    // The edited comment goes through the checks a new one does (the site's rules, its
    // moderation mode, marked spam, the model), scored but not stored: a comment posted harmless
    // and edited into spam must not keep its place on the page.
    let mut submission = Submission::reader(comment.article.clone(), None, raw, Origin::Api);
    submission.site = site.id;
    submission.anonymous_allowed = true;
    submission.edit = true;
    // Read as it will be shown, as a new comment is.
    submission.markdown = comment.markdown;
    submission.page_title = Some(comment.article.clone());
    submission.ip = comment.user_ip.as_deref().and_then(|ip| ip.parse().ok());
    submission.user_agent = comment.user_agent.clone();
    let verdict = submit::submit(&state, submission, false)
        .await?
        .classification
        .verdict;
    let mut edited = state
        .site_store
        .edit_comment(id, draft.content(), draft.author(), draft.url())
        .await?;
    if verdict != Verdict::Published && edited.status == Status::Published {
        edited = state
            .store
            .set_status(id, Status::Held, "author-edit")
            .await?;
    }
    let extras = CommentExtras {
        id,
        edited_at: Some(crate::storage::now_rfc3339()),
        votes: Votes::default(),
    };
    let mut response = Json(shown_to_author(&state, &edited, Some(&extras))).into_response();
    let https = state.over_https(peer.ip(), &headers);
    set_edit_cookie(&state, &site, &edited, https, &mut response);
    Ok(response)
}

/// `DELETE /isso/id/{id}`: the author deletes their comment within the edit window (it goes to
/// the trash, where a moderator can still see it). `null`, or the placeholder a comment with
/// published replies leaves.
async fn delete(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Path(id): Path<i64>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    refuse_forms(&headers)?;
    let comment = own_comment(&state, &site, id, &headers).await?;
    state.store.set_status(id, Status::Trash, "author").await?;
    let replied = state
        .store
        .published(site.id, &comment.article, Window::Offset(0), THREAD_LIMIT)
        .await?
        .iter()
        .any(|c| c.parent_id == Some(id));
    let body = if replied {
        serde_json::to_value(placeholder(&state, id, unix_seconds(&comment.created_at)))
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let mut response = Json(body).into_response();
    clear_edit_cookie(id, state.over_https(peer.ip(), &headers), &mut response);
    Ok(response)
}

/// `POST /isso/id/{id}/like` and `/dislike`: one vote per reader (by a keyed hash of their
/// address) and comment; the totals.
async fn vote(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Path((id, kind)): Path<(i64, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    refuse_forms(&headers)?;
    let up = match kind.as_str() {
        "like" => true,
        "dislike" => false,
        _ => return Err(WebError::NotFound(format!("no action `{kind}`"))),
    };
    let comment = state
        .store
        .get(id)
        .await?
        .filter(|c| c.site_id == site.id && c.status == Status::Published)
        .ok_or_else(|| WebError::NotFound(format!("no comment {id}")))?;
    // A closed page takes no reader's writes, votes included.
    if state.thread_closed(site.id, &comment.article).await? {
        return Err(WebError::Forbidden(super::submit::THREAD_CLOSED.into()));
    }
    let ip = state.proxies.client_ip(peer.ip(), &headers);
    let votes = if comment.user_ip.as_deref() == Some(&ip.to_string()) {
        // Isso's rule: nobody votes on their own comment.
        state
            .site_store
            .thread_extras(site.id, &comment.article)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .map(|e| e.votes)
            .unwrap_or_default()
    } else {
        // One reader, one vote: an IPv6 reader is their /64 (see `sender_address`).
        let voter = keyed_hash(
            &state,
            "voter",
            &crate::domain::sender_address::sender_address(ip).to_string(),
        );
        state.site_store.vote(id, &voter, up).await?
    };
    Ok(Json(votes).into_response())
}

/// `POST /isso/count` with `["/a/", "/b/"]`: each thread's published comments, in order.
async fn counts(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    IssoJson(uris): IssoJson<Vec<String>>,
) -> Result<Response, WebError> {
    if uris.len() > COUNT_LIMIT {
        return Err(WebError::BadRequest(format!(
            "ask for at most {COUNT_LIMIT} threads at a time"
        )));
    }
    // A malformed uri counts 0 (Isso's answer for a thread it does not know).
    let parsed: Vec<Option<String>> = uris.iter().map(|raw| thread_uri(raw).ok()).collect();
    let known: Vec<String> = parsed.iter().flatten().cloned().collect();
    let mut found = state
        .store
        .count_published_each(site.id, &known)
        .await?
        .into_iter();
    let counts: Vec<u64> = parsed
        .iter()
        .map(|uri| uri.as_ref().and_then(|_| found.next()).unwrap_or(0))
        .collect();
    Ok(Json(counts).into_response())
}

#[derive(Debug, Deserialize)]
struct PreviewBody {
    text: Option<String>,
}

/// `POST /isso/preview` with `{"text"}`: the text as it would be shown.
async fn preview(IssoJson(body): IssoJson<PreviewBody>) -> Result<Response, WebError> {
    let text = body
        .text
        .ok_or_else(|| WebError::BadRequest("no text given".into()))?;
    let shown = StoredComment {
        content: text,
        ..preview_comment()
    };
    let html = super::render::comment_body(&shown).into_string();
    Ok(Json(json!({ "text": html })).into_response())
}

fn preview_comment() -> StoredComment {
    StoredComment {
        id: 0,
        site_id: crate::domain::DEFAULT_SITE,
        remote_id: None,
        article: String::new(),
        parent_id: None,
        author: String::new(),
        author_email: String::new(),
        author_url: None,
        content: String::new(),
        user_ip: None,
        user_agent: None,
        status: Status::Published,
        verdict: String::new(),
        spam_probability: 0.0,
        clues: Value::Null,
        model_version: String::new(),
        source: String::new(),
        created_at: String::new(),
        html: false,
        // What Isso's widget previews is Markdown, as it will be posted.
        markdown: true,
    }
}

#[derive(Debug, Deserialize)]
struct LatestQuery {
    limit: Option<String>,
}

/// Keeps the `limit` newest comments by date, as Isso's `latest` (imports store old comments
/// under new ids), oldest of them first.
fn newest_by_date(comments: &mut Vec<StoredComment>, limit: usize) {
    comments.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    comments.truncate(limit);
    comments.reverse();
}

/// `GET /isso/latest?limit=N`: the site's latest published comments by date (among its 100
/// newest stored), oldest first, each with its thread's `uri`.
async fn latest(
    State(state): State<AppState>,
    SiteOf(site): SiteOf,
    Query(q): Query<LatestQuery>,
) -> Result<Response, WebError> {
    let limit = number("limit", q.limit.as_deref())?
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            WebError::BadRequest("Query parameter 'limit' is mandatory (integer, >0)".into())
        })?;
    // An Akismet key's checks live in the default site's data but are never shown: read the
    // most a call may ask for and leave them out.
    let mut comments = state
        .store
        .by_status(Status::Published, Some(site.id), None, None, LATEST_LIMIT)
        .await?;
    comments.retain(|c| !crate::storage::is_key_namespace(&c.article));
    newest_by_date(&mut comments, (limit as u64).min(LATEST_LIMIT) as usize);
    let extras = extras_of(&state, &comments).await?;
    let shown: Vec<Value> = comments
        .iter()
        .map(|c| {
            let mut v =
                serde_json::to_value(show(&state, c, extras.get(&c.id))).unwrap_or(Value::Null);
            v["uri"] = Value::String(c.article.clone());
            v
        })
        .collect();
    Ok(Json(shown).into_response())
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    uri: String,
    /// The site, for a feed reader (which names no origin): `site=NAME`.
    site: Option<String>,
}

/// The address of a thread's feed that a feed reader can follow: `/isso/feed?uri=` names the
/// caller's site (its Origin), which a reader does not send, so another site's feed names it.
pub(super) fn feed_path(site: &Site, uri: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    if site.id == crate::domain::DEFAULT_SITE {
        format!("/isso/feed?uri={encoded}")
    } else {
        format!("/isso/feed?uri={encoded}&site={}", site.name)
    }
}

/// The site of a feed asked for without `site=`: the caller's. A feed reader names no origin,
/// which is the default site; Isso's own widget links `/isso/feed?uri=` without a site, so when
/// the default site has no such thread and exactly one other site has, the feed is that one's.
async fn feed_site(state: &AppState, caller: Arc<Site>, uri: &str) -> Result<Arc<Site>, WebError> {
    if caller.id != crate::domain::DEFAULT_SITE
        || state.site_store.thread(caller.id, uri).await?.is_some()
    {
        return Ok(caller);
    }
    let mut having = Vec::new();
    for site in state.sites.all() {
        if site.id != caller.id && state.site_store.thread(site.id, uri).await?.is_some() {
            having.push(site);
        }
    }
    Ok(match <[Arc<Site>; 1]>::try_from(having) {
        Ok([only]) => only,
        Err(_) => caller,
    })
}

/// `GET /isso/feed?uri=[&site=NAME]`: the thread's published comments as Atom (of the site
/// named, or else of the caller's).
async fn feed(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    SiteOf(caller): SiteOf,
    Query(q): Query<FeedQuery>,
) -> Result<Response, WebError> {
    let uri = uri_of(&q.uri)?;
    let site = match q.site.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        None => feed_site(&state, caller, &uri).await?,
        Some(name) => state
            .sites
            .by_name(name)
            .ok_or_else(|| WebError::NotFound(format!("no site `{name}`")))?,
    };
    // Links are absolute (feed readers resolve nothing): the page at the site's own address,
    // or at this server's for a site with none (the default site's own pages).
    let server = state.base_url(&headers);
    let page = format!("{}{uri}", site.public_origin().unwrap_or(&server));
    let title = state
        .site_store
        .thread(site.id, &uri)
        .await?
        .map_or_else(|| uri.clone(), |t| t.title);
    let mut comments = state
        .store
        .published(site.id, &uri, Window::FromEnd(0), 100)
        .await?;
    comments.sort_by_key(|c| std::cmp::Reverse(c.id));
    let entries = comments
        .iter()
        .map(|c| super::feeds::comment_entry(format!("{page}#isso-{}", c.id), &title, c))
        .collect();
    // Its own address names its site (a feed reader sends no Origin); its id is its page's,
    // unique to the site.
    let self_url = format!("{server}{}", feed_path(&site, &uri));
    let mut feed = super::feeds::feed(&format!("Comments on “{title}”"), &self_url, &page, entries);
    feed.id = format!("{page}#isso-feed");
    Ok(super::feeds::atom(feed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: i64, parent: Option<i64>) -> StoredComment {
        StoredComment {
            id,
            parent_id: parent,
            ..preview_comment()
        }
    }

    /// An import's old comments under new ids are not the latest.
    #[test]
    fn latest_is_newest_by_date() {
        let dated = |id, at: &str| StoredComment {
            created_at: at.into(),
            ..comment(id, None)
        };
        let mut comments = vec![
            dated(9, "2018-05-01T10:00:00Z"),
            dated(8, "2019-01-01T10:00:00Z"),
            dated(2, "2026-12-01T10:00:00Z"),
            dated(1, "2026-11-30T10:00:00Z"),
        ];
        newest_by_date(&mut comments, 2);
        assert_eq!(comments.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn replies_hang_under_their_top_level_comment() {
        let comments = [
            comment(1, None),
            comment(2, Some(1)),
            comment(3, Some(2)),
            comment(5, Some(4)),
        ];
        let tree = Tree::of(&comments);
        assert_eq!(tree.top_of(&comments[0]), 1);
        assert_eq!(tree.top_of(&comments[1]), 1);
        assert_eq!(tree.top_of(&comments[2]), 1);
        // 4 is not published: 5 hangs under it (a placeholder).
        assert_eq!(tree.top_of(&comments[3]), 4);
    }

    #[test]
    fn fields_are_escaped_for_an_attribute_too() {
        assert_eq!(
            escaped("x' onmouseover='alert(1)\"><b>&").as_deref(),
            Some("x&#x27; onmouseover=&#x27;alert(1)&quot;&gt;&lt;b&gt;&amp;")
        );
        assert_eq!(escaped(""), None);
    }

    #[test]
    fn a_form_cannot_post_here() {
        let mut headers = HeaderMap::new();
        assert!(refuse_forms(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(refuse_forms(&headers).is_ok());
        for form in [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(form));
            assert!(refuse_forms(&headers).is_err(), "{form}");
        }
    }
}
