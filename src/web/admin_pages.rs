//! `/admin`: the moderation page. The admin secret is exchanged once for a session cookie
//! (`HttpOnly`, `SameSite=Strict`); every action form carries the session's CSRF token, checked in
//! constant time. Sessions live in the database: every server on it honours them, and they outlast
//! restarts.

use super::AppState;
use super::error::WebError;
use super::form;
use super::model_holder::ServedModel;
use crate::storage::{DayActivity, Status, StoredComment};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

const COOKIE: &str = "rg_admin";

/// The `source` of a comment the site owner wrote from `/admin` (the public page marks it).
pub const OWNER_SOURCE: &str = "owner";
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Signed-in moderators, kept in the database (so every server on it honours a sign-in, and a
/// restart keeps it) by the SHA-256 of the session id; the id itself is only in the cookie.
pub struct Sessions {
    store: std::sync::Arc<dyn crate::storage::CommentStore>,
    /// The admin token's hash, mixed into every stored session key: a new token finds none of
    /// the sessions signed in with the old one (on every replica, after a restart too).
    binding: String,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Sessions {
    pub fn new(store: std::sync::Arc<dyn crate::storage::CommentStore>, token_hash: &[u8]) -> Self {
        Sessions {
            store,
            binding: hex::encode(token_hash),
        }
    }

    fn id_hash(&self, id: &str) -> String {
        hex::encode(Sha256::digest(format!("{}:{id}", self.binding).as_bytes()))
    }

    async fn create(&self) -> Result<String, WebError> {
        let id = super::random_hex(32);
        let csrf = super::random_hex(16);
        let hash = self.id_hash(&id);
        let now = unix_now();
        self.store
            .create_session(&hash, &csrf, now + SESSION_TTL.as_secs() as i64, now)
            .await?;
        Ok(id)
    }

    /// The CSRF token of a live session.
    async fn csrf_of(&self, id: &str) -> Result<Option<String>, WebError> {
        Ok(self
            .store
            .session_csrf(&self.id_hash(id), unix_now())
            .await?)
    }

    async fn remove(&self, id: &str) -> Result<(), WebError> {
        Ok(self.store.delete_session(&self.id_hash(id)).await?)
    }
}

fn session_cookie(jar: &CookieJar) -> Option<String> {
    jar.get(COOKIE).map(|c| c.value().to_string())
}

/// The CSRF token of the moderator's session, if the request carries a live one.
pub(super) async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<String>, WebError> {
    match session_cookie(jar) {
        Some(id) => state.sessions.csrf_of(&id).await,
        None => Ok(None),
    }
}

/// A moderator's live session, by its CSRF token (which every form of the admin pages carries).
/// A request without one is answered with the sign-in page instead of the page it asked for.
pub(super) struct SignedIn(pub String);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        match signed_in(state, &jar).await {
            Ok(Some(csrf)) => Ok(SignedIn(csrf)),
            Ok(None) => {
                let asked = parts.uri.path_and_query().map(|p| p.as_str());
                Err(login_page(None, asked).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// `?saved=1` after a settings form was saved.
#[derive(Debug, serde::Deserialize)]
pub struct SavedQuery {
    pub saved: Option<String>,
}

/// An admin page around `body`.
pub(super) fn page(title: &str, body: Markup) -> Html<String> {
    let head = html! {
        title { (title) " · replyguard admin" }
        link rel="stylesheet" href=(super::assets::ADMIN_CSS_PATH);
        script src=(super::assets::COMMENTS_JS_PATH) defer {}
    };
    Html(super::render::document(head, body).into_string())
}

/// The sign-in page; after signing in, the moderator lands on `next` (the admin page they asked
/// for: the list, site and page they were on when the session expired), else on `/admin`.
pub(super) fn login_page(message: Option<&str>, next: Option<&str>) -> Html<String> {
    let next = next.map(after_sign_in).filter(|n| n != "/admin");
    page(
        "Sign in",
        html! {
            main.signin {
                h1 { "Sign in to moderate" }
                p { "Paste the admin token the server printed when it first started (or the one you set with "
                    code { "--admin-token" } ")." }
                p { "Lost it? Restart the server once with " code { "REPLYGUARD_ADMIN_TOKEN" }
                    " (or " code { "--admin-token" } ") set to a new token of 16 characters or more: it                     replaces the old one, which then no longer signs in." }
                @if let Some(m) = message { p.alert role="alert" { (m) } }
                form method="post" action="/admin/login" {
                    label for="token" { "Admin token" }
                    input id="token" name="token" type="password" required autocomplete="current-password";
                    @if let Some(next) = &next { input type="hidden" name="next" value=(next); }
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// Where a sign-in may lead: an admin page of this server, as asked (`/admin`, `/admin?…`,
/// `/admin/…`), never anywhere else (`//host`, `/administer`, a backslash or a control character).
fn after_sign_in(next: &str) -> String {
    let rest = next.strip_prefix("/admin").unwrap_or("x");
    let admin_page = (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        && !rest.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if admin_page {
        next.to_string()
    } else {
        "/admin".into()
    }
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    site: Option<String>,
    article: Option<String>,
    /// Search text: matched against author, e-mail, IP and comment text.
    q: Option<String>,
    /// What the last action did (shown as a banner): `approve`, `spam`, `trash`, `restore`.
    done: Option<String>,
    /// How many comments the last action moved.
    n: Option<u64>,
    /// The next page: comments older than this id (the last one of the page before).
    before: Option<i64>,
}

/// Most threads the moderation list's Thread filter offers.
const THREADS_LISTED: u64 = 500;

/// The moderation list's own query (`status=…&site=…&article=…&q=…&before=…`): what its links
/// and forms carry (`back`), so that an action returns to the list the moderator was working
/// through — the same site, thread, search and page — and never to another site's queue.
fn list_query(
    status: Status,
    site: Option<&str>,
    article: Option<&str>,
    search: Option<&str>,
    before: Option<i64>,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("status", status.as_str());
    for (name, value) in [("site", site), ("article", article), ("q", search)] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    if let Some(before) = before {
        query.append_pair("before", &before.to_string());
    }
    query.finish()
}

/// The list a form's `back` names, `/admin?…`: only the list's own parameters are taken from it,
/// so it can lead nowhere else; a bare status, as older forms sent, is that tab.
fn back_list(back: Option<&str>, fallback: Status) -> String {
    let back = back.unwrap_or_default();
    let mut status = Status::parse(back);
    let mut kept = Vec::new();
    if status.is_none() {
        for (name, value) in url::form_urlencoded::parse(back.as_bytes()) {
            match name.as_ref() {
                "status" => status = status.or_else(|| Status::parse(&value)),
                "site" | "article" | "q" => kept.push((name, value)),
                "before" if value.parse::<i64>().is_ok() => kept.push((name, value)),
                _ => {}
            }
        }
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("status", status.unwrap_or(fallback).as_str());
    for (name, value) in &kept {
        query.append_pair(name, value);
    }
    format!("/admin?{}", query.finish())
}

/// Where an action returns: [`back_list`], with what was done for the banner.
fn back_to(back: Option<&str>, fallback: Status, done: &str, n: u64) -> String {
    let banner = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("done", done)
        .append_pair("n", &n.to_string())
        .finish();
    format!("{}&{banner}", back_list(back, fallback))
}

/// Comments loaded for one tab; a search looks through this many.
const TAB_LIMIT: u64 = 200;
const SEARCH_LIMIT: u64 = 2000;

/// Whether `c` matches the search `needle` (already lowercased).
fn matches(c: &StoredComment, needle: &str) -> bool {
    [
        Some(c.author.as_str()),
        Some(c.author_email.as_str()),
        c.user_ip.as_deref(),
        Some(c.content.as_str()),
        c.author_url.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|f| f.to_lowercase().contains(needle))
}

/// The banner after an action: what was done, in words.
fn done_banner(done: Option<&str>, n: u64) -> Option<String> {
    let verb = match done? {
        "approve" => "approved (published)",
        "spam" => "marked as spam",
        "trash" => "moved to the trash",
        "restore" => "restored",
        "reply" => return Some("Your reply is published.".into()),
        _ => return None,
    };
    Some(format!("{n} comment(s) {verb}."))
}

/// `GET /admin`.
pub async fn queue(
    State(state): State<AppState>,
    Query(q): Query<QueueQuery>,
    SignedIn(csrf): SignedIn,
) -> Result<Response, WebError> {
    let status = q
        .status
        .as_deref()
        .and_then(Status::parse)
        .unwrap_or(Status::Held);
    let article = q
        .article
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(super::admin::thread_filter);
    let site = match super::admin::site_filter(&state, q.site.as_deref()) {
        Ok(site) => site,
        Err(WebError::NotFound(message)) => {
            let body = html! { h1 { "Moderation" } p.alert role="alert" { "There is " (message) "." } p { a href="/admin" { "Every site's comments" } } };
            return Ok((
                axum::http::StatusCode::NOT_FOUND,
                page("No such site", body),
            )
                .into_response());
        }
        Err(e) => return Err(e),
    };
    let site_name = q.site.clone().filter(|s| !s.trim().is_empty());
    let sites = state.sites.all();
    // The threads to filter by: the default site's articles, another site's pages; with every
    // site shown, all of them, each other site's named (a page's path says nothing of its site).
    let site_threads = |id: i64, prefix: Option<String>| {
        let store = state.site_store.clone();
        async move {
            let threads = store.threads(id, THREADS_LISTED).await?;
            Ok::<_, WebError>(threads.into_iter().map(move |t| {
                let title = if t.title.is_empty() {
                    t.uri.clone()
                } else {
                    t.title
                };
                let title = match &prefix {
                    Some(site) => format!("{site} · {title}"),
                    None => title,
                };
                (t.uri, title)
            }))
        }
    };
    let mut threads: Vec<(String, String)> = match site {
        Some(id) if id != crate::domain::DEFAULT_SITE => site_threads(id, None).await?.collect(),
        _ => state
            .articles()
            .iter()
            .map(|a| (a.slug.clone(), a.title.clone()))
            .collect(),
    };
    if site.is_none() {
        // Every article of the default site, as with that site chosen; the other sites' pages
        // up to the same limit as one site's.
        let most = threads.len() + THREADS_LISTED as usize;
        for other in sites.iter().filter(|s| s.id != crate::domain::DEFAULT_SITE) {
            if threads.len() >= most {
                break;
            }
            threads.extend(site_threads(other.id, Some(other.name.clone())).await?);
        }
        threads.truncate(most);
    }
    let search =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    let limit = if search.is_some() {
        SEARCH_LIMIT
    } else {
        TAB_LIMIT
    };
    let mut comments = state
        .store
        .by_status(status, site, article.as_deref(), q.before, limit)
        .await?;
    // The next page starts after the last comment shown when the matches fill a page, else after
    // the last one looked through when the page (or the search's window) came back full.
    let window_full = comments.len() as u64 == limit;
    let scanned_to = comments.last().map(|c| c.id);
    if let Some(needle) = &search {
        let needle = needle.to_lowercase();
        comments.retain(|c| matches(c, &needle));
    }
    let next_before = if comments.len() > TAB_LIMIT as usize {
        comments.truncate(TAB_LIMIT as usize);
        comments.last().map(|c| c.id)
    } else {
        scanned_to.filter(|_| window_full)
    };
    let older = next_before.map(|id| {
        list_query(
            status,
            site_name.as_deref(),
            article.as_deref(),
            search.as_deref(),
            Some(id),
        )
    });
    let this_list = list_query(
        status,
        site_name.as_deref(),
        article.as_deref(),
        search.as_deref(),
        q.before,
    );
    let counts = state.store.count_by_status(site).await?;
    let count_of = |s: Status| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    let banner = done_banner(q.done.as_deref(), q.n.unwrap_or(1));
    let site_of = |id: i64| {
        sites
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| format!("site {id}"), |s| s.name.clone())
    };
    let since = days_ago(ACTIVITY_DAYS - 1);
    let activity = state.store.daily_activity(&since, site).await?;
    // The chosen site's model; with every site listed, the default site's.
    let model_site = site_name
        .as_deref()
        .unwrap_or(crate::domain::site_rules::DEFAULT_SITE);
    let served = state.models.for_site(model_site);
    let body = html! {
        h1 { "Moderation" }
        @if let Some(b) = &banner { p.banner role="status" { (b) } }
        (activity_panel(&activity, &served, model_site, site_name.is_none()))
        nav.tabs {
            @for s in [Status::Held, Status::Spam, Status::Published, Status::Trash] {
                @let label = format!("{} ({})", tab_name(s), count_of(s));
                @if s == status { strong aria-current="page" { (label) } " " } @else { a href={ "/admin?status=" (s.as_str()) @if let Some(n) = &site_name { "&site=" (n) } } { (label) } }
            }
            a href={ "/admin/rules" @if let Some(n) = &site_name { "?site=" (n) } } { "rules" } " "
            a href={ "/admin/notifications" @if let Some(n) = &site_name { "?site=" (n) } } { "notifications" } " "
            a href="/admin/lessons" { "what it learned" } " "
            a href="/admin/settings" { "Settings" } " "
            form.inline method="post" action="/admin/logout" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Sign out" }
            }
        }
        form method="get" action="/admin" {
            input type="hidden" name="status" value=(status.as_str());
            @if sites.len() > 1 {
                label { "Site " select name="site" {
                    option value="" { "all" }
                    @for s in &sites {
                        option value=(s.name) selected[site_name.as_deref() == Some(s.name.as_str())] { (state.site_title(s)) " (" (s.name) ")" }
                    }
                } }
                " "
            }
            label { "Thread " select name="article" {
                option value="" { "all" }
                @for (key, title) in &threads {
                    option value=(key) selected[article.as_deref() == Some(key.as_str())] { (title) }
                }
            } }
            " " label { "Search " input id="q" type="search" name="q" value=(search.as_deref().unwrap_or("")) placeholder="author, e-mail, IP or text"; }
            " " button id="filter" type="submit" { "Filter" }
        }
        p.keys { "Keys: j / k next / previous, a approve, s spam, t trash." }
        p { (comments.len()) " comment(s) " (tab_name(status))
            @if let Some(s) = &search { " matching “" (s) "”" }
            @if q.before.is_some() { " (older ones)" }
            // The tab's count is the site's (or every site's), not a thread's.
            @if article.is_none() { " of " (count_of(status)) }
            @if q.before.is_some() { " · " a href={ "/admin?" (list_query(status, site_name.as_deref(), article.as_deref(), search.as_deref(), None)) } { "newest" } }
            @if let Some(older) = &older { " · " a rel="next" href={ "/admin?" (older) } { "older →" } } }
        @if !comments.is_empty() && !actions(status).is_empty() {
            form id="bulk" method="post" action="/admin/bulk" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="back" value=(this_list);
                "With the ticked comments: "
                @for (action, label) in actions(status) {
                    button type="submit" name="action" value=(action) { (label) } " "
                }
            }
        }
        table.queue {
            tr { th { "" } th { "Comment" } th { "Author" } th { "Why" } th { "Actions" } }
            @for c in &comments { (row(c, &site_of(c.site_id), &csrf, &served.model.meta.thresholds, &this_list)) }
        }
    };
    Ok(page("Moderation", body).into_response())
}

/// Days shown in the activity chart.
const ACTIVITY_DAYS: u64 = 14;

/// The UTC date `n` days before today, `YYYY-MM-DD`.
fn days_ago(n: u64) -> String {
    let when = std::time::SystemTime::now()
        .checked_sub(std::time::Duration::from_secs(n * 86_400))
        .unwrap_or(std::time::UNIX_EPOCH);
    humantime::format_rfc3339_seconds(when).to_string()[..10].to_string()
}

/// The scale's labels for a chart whose tallest day is `top`: 0, half and `top`, each once.
fn ticks(top: u64) -> Vec<u64> {
    let mut ticks = vec![0, top / 2, top];
    ticks.dedup();
    ticks
}

/// What the filter is doing: verdicts and moderators' corrections per day as a server-rendered
/// SVG bar chart (no script), the same figures as a table, and what the model has learned.
fn activity_panel(
    days: &[DayActivity],
    served: &ServedModel,
    site: &str,
    every_site: bool,
) -> Markup {
    let all: Vec<DayActivity> = (0..ACTIVITY_DAYS)
        .rev()
        .map(|n| {
            let day = days_ago(n);
            days.iter()
                .find(|d| d.day == day)
                .cloned()
                .unwrap_or(DayActivity {
                    day,
                    ..DayActivity::default()
                })
        })
        .collect();
    let max = all
        .iter()
        .map(|d| d.published + d.held + d.rejected)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (left, height, bar) = (36.0, 120.0, 28.0);
    let width = left + 40.0 * ACTIVITY_DAYS as f64;
    let y = |n: u64| height * n as f64 / max;
    let top = max as u64;
    html! {
        section.activity {
            h2 { "What the filter is doing (last " (ACTIVITY_DAYS) " days" @if !every_site { ", site " (site) } ")" }
            svg role="img" aria-label="Comments per day by verdict, with moderator corrections" width=(width) height=(height + 34.0) viewBox={ "0 0 " (width) " " (height + 34.0) } xmlns="http://www.w3.org/2000/svg" {
                // Axes: comments per day up the side (0, half, most), days along the bottom.
                line x1=(left) y1="0" x2=(left) y2=(height) stroke="#444" {}
                line x1=(left) y1=(height) x2=(width) y2=(height) stroke="#444" {}
                // Each tick once (with a top of 1, half of it is 0 again), and the top one below
                // the drawing's edge (at its place it was cut in half).
                @for n in ticks(top) {
                    text.tick x=(left - 4.0) y=((height - y(n) + 4.0).max(10.0)) text-anchor="end" font-size="10" fill="#222" { (n) }
                }
                @for (i, d) in all.iter().enumerate() {
                    @let x = left + 40.0 * i as f64 + 6.0;
                    @let total = d.published + d.held + d.rejected;
                    @let p = y(d.published);
                    @let h = y(d.held);
                    @let r = y(d.rejected);
                    rect x=(x) y=(height - p) width=(bar) height=(p) fill="#4a8f4a" {}
                    rect x=(x) y=(height - p - h) width=(bar) height=(h) fill="#d9a400" {}
                    rect x=(x) y=(height - p - h - r) width=(bar) height=(r) fill="#b33a3a" {}
                    @if total > 0 {
                        text.count x=(x + bar / 2.0) y=(height - y(total) + 11.0) text-anchor="middle" font-size="10" fill="#fff" { (total) }
                    }
                    @if d.spam_published + d.ham_caught > 0 {
                        text x=(x + bar / 2.0) y=(height + 14.0) text-anchor="middle" font-size="11" fill="#222" { "✎" (d.spam_published + d.ham_caught) }
                    }
                    text x=(x + bar / 2.0) y=(height + 30.0) text-anchor="middle" font-size="10" fill="#555" { (d.day[5..].to_string()) }
                }
            }
            p.legend { "Comments per day (scale on the left): green published · amber held · red rejected · ✎ moderator corrections" }
            table {
                tr { th { "Day" } th { "Published" } th { "Held" } th { "Rejected" } th { "Spam that was published" } th { "Ham held or rejected" } }
                @for d in all.iter().filter(|d| d.published + d.held + d.rejected + d.spam_published + d.ham_caught > 0) {
                    tr { td { (d.day) } td { (d.published) } td { (d.held) } td { (d.rejected) } td { (d.spam_published) } td { (d.ham_caught) } }
                }
            }
            p {
                "Learned by the model of site " (site)
                @if every_site { " (the default site's; choose a site above for another's)" }
                ": " strong { (served.learned) } " example(s) since start, through log entry "
                (served.learned_through) "; last update "
                (served.learned_at.as_deref().unwrap_or("none since start")) "; vocabulary "
                (served.model.core.vocab.len()) " tokens."
            }
            p {
                "Thresholds: held from " (format!("{:.4}", served.model.meta.thresholds.hold))
                ", rejected from " (format!("{:.4}", served.model.meta.thresholds.reject))
                @if served.model.meta.thresholds.reject > served.base_thresholds.reject {
                    " (raised from the model file's " (format!("{:.4}", served.base_thresholds.reject))
                    ": " (served.recalibrated.map_or(0, |r| r.rejected_at_base)) " of this site's "
                    (served.recalibrated.map_or(0, |r| r.site_ham)) " approved comments would have been rejected)"
                }
                "."
            }
        }
    }
}

fn tab_name(s: Status) -> &'static str {
    match s {
        Status::Held => "Waiting",
        Status::Spam => "Spam",
        Status::Published => "Published",
        Status::Trash => "Trash",
    }
}

/// Where a published comment is shown: a built-in article's page, or an embedding site's thread
/// page (its `uri` is a path). An Akismet check (its key's namespace) is shown nowhere.
fn page_link(c: &StoredComment, site: &str) -> Option<String> {
    if c.status != Status::Published {
        return None;
    }
    if c.article.starts_with('/') {
        let page = crate::domain::site::thread_page(site, &c.article);
        return Some(format!("{page}#comment-{}", c.id));
    }
    (c.site_id == crate::domain::DEFAULT_SITE && !c.article.contains(':'))
        .then(|| format!("/articles/{}#comment-{}", c.article, c.id))
}

/// One comment of the list; its forms return to `back` ([`list_query`]).
fn row(
    c: &StoredComment,
    site: &str,
    csrf: &str,
    t: &crate::engine::Thresholds,
    back: &str,
) -> Markup {
    let clues = super::admin_words::clues(c);
    html! {
        tr.comment-row id={ "c" (c.id) } {
            td { input type="checkbox" name="id" value=(c.id) form="bulk" aria-label={ "Select comment " (c.id) }; }
            td { (c.content) br; small {
                "on " @if site != crate::domain::DEFAULT_SITE_NAME { (site) " " } (c.article) " · " (c.created_at) " · via " (c.source)
                @if let Some(page) = page_link(c, site) { " · " a href=(page) { "see it on the page" } }
            } }
            td { (c.author) br; small { (c.author_email) } @if let Some(u) = &c.author_url { br; small { (super::admin_words::website(u)) } } @if let Some(ip) = &c.user_ip { br; small { (ip) } } }
            td {
                strong.verdict { (super::admin_words::label(c)) } " " small { "score " (format!("{:.2}", c.spam_probability)) }
                p.why { (super::admin_words::explain(c, t)) }
                @if !clues.is_empty() {
                    ul.clues { @for clue in &clues {
                        li class=(if clue.spammy { "spammy" } else { "hammy" }) {
                            (clue.text) " — " (if clue.spammy { "points to spam" } else { "points to a real reader" })
                        }
                    } }
                }
            }
            td {
                @for (action, label) in actions(c.status) {
                    form.inline method="post" action={ "/admin/comments/" (c.id) "/" (action) } {
                        input type="hidden" name="csrf" value=(csrf);
                        // Back to the list the moderator is working through, not the comment's new one.
                        input type="hidden" name="back" value=(back);
                        button type="submit" data-action=(action) { (label) }
                    }
                }
                @if matches!(c.status, Status::Held | Status::Published) {
                    details.reply {
                        summary { "Reply" }
                        form method="post" action={ "/admin/comments/" (c.id) "/reply" } {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="back" value=(back);
                            label { "Your reply (published at once"
                                @if c.status == Status::Held { "; approves this comment" } ")"
                                textarea name="text" required maxlength="10000" rows="3" {} }
                            button type="submit" { "Publish reply" }
                        }
                    }
                }
            }
        }
    }
}

fn actions(status: Status) -> &'static [(&'static str, &'static str)] {
    match status {
        Status::Held => &[("approve", "Approve"), ("spam", "Spam"), ("trash", "Trash")],
        Status::Spam => &[("approve", "Not spam"), ("trash", "Trash")],
        Status::Published => &[("spam", "Spam"), ("trash", "Trash")],
        Status::Trash => &[("restore", "Restore")],
    }
}

pub(super) fn form_field(body: &[u8], name: &str) -> Result<Option<String>, WebError> {
    Ok(form::parse(body)
        .map_err(WebError::BadRequest)?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v))
}

/// `POST /admin/login` with the admin token.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let ip = state.proxies.client_ip(peer.ip(), &headers);
    state.auth_throttle.check(ip)?;
    let token = form_field(&body, "token")?.unwrap_or_default();
    if !super::admin::prove(&state, &token, ip).await? {
        let next = form_field(&body, "next")?;
        let mut response =
            login_page(Some("That token is not right."), next.as_deref()).into_response();
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(response);
    }
    let id = state.sessions.create().await?;
    let cookie = Cookie::build((COOKIE, id))
        .path("/admin")
        .http_only(true)
        .secure(state.over_https(peer.ip(), &headers))
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(SESSION_TTL.as_secs() as i64));
    let next = form_field(&body, "next")?;
    let next = next
        .as_deref()
        .map_or_else(|| "/admin".into(), after_sign_in);
    Ok((CookieJar::new().add(cookie), Redirect::to(&next)).into_response())
}

/// Checks the session cookie and the form's CSRF token.
pub(super) async fn authorize(
    state: &AppState,
    jar: &CookieJar,
    body: &[u8],
) -> Result<String, WebError> {
    let id = session_cookie(jar).ok_or(WebError::Unauthorized)?;
    let expected = state
        .sessions
        .csrf_of(&id)
        .await?
        .ok_or(WebError::Unauthorized)?;
    let given = form_field(body, "csrf")?.unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(id)
    } else {
        Err(WebError::Forbidden(
            "the form is stale or forged (CSRF token mismatch); reload /admin".into(),
        ))
    }
}

/// `POST /admin/comments/{id}/{action}`.
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    if action == "reply" {
        return reply(&state, id, &body).await;
    }
    let comment = super::admin::apply(&state, id, &action).await?;
    let back = form_field(&body, "back")?;
    Ok(Redirect::to(&back_to(back.as_deref(), comment.status, &action, 1)).into_response())
}

/// The name the site owner's replies are signed with.
const OWNER_NAME: &str = "Site owner";

/// `POST /admin/comments/{id}/reply` (`text`): the site owner answers a comment, published at
/// once and marked as the owner's; a comment still waiting is approved first (its reply would
/// otherwise hang under nothing).
async fn reply(state: &AppState, id: i64, body: &[u8]) -> Result<Response, WebError> {
    let text = form_field(body, "text")?.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Err(WebError::BadRequest("the reply is empty".into()));
    }
    if text.chars().count() > 10_000 {
        return Err(WebError::BadRequest(
            "the reply is longer than 10000 characters".into(),
        ));
    }
    let parent = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("no comment {id}")))?;
    let back = form_field(body, "back")?;
    let back = back_to(back.as_deref(), parent.status, "reply", 1);
    if parent.status != Status::Published {
        super::admin::apply(state, id, "approve").await?;
    }
    let served = state.models.current();
    let stored = state
        .store
        .insert(crate::storage::NewComment {
            site_id: parent.site_id,
            article: parent.article.clone(),
            parent_id: Some(id),
            author: OWNER_NAME.into(),
            author_email: String::new(),
            author_url: None,
            content: text.to_string(),
            user_ip: None,
            user_agent: None,
            referrer: None,
            status: Status::Published,
            verdict: "published".into(),
            spam_probability: 0.0,
            clues: "[]".into(),
            model_version: served.version.clone(),
            source: OWNER_SOURCE.into(),
            akismet_guid: None,
            api_key_id: None,
            markdown: false,
        })
        .await?;
    tracing::info!(id = stored.id, parent = id, "site owner replied");
    Ok(Redirect::to(&back).into_response())
}

/// `POST /admin/bulk`: one action (`action=approve|spam|trash|restore`) on every ticked `id`;
/// back to the list with a banner saying what was done.
pub async fn bulk(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    let fields = form::parse(&body).map_err(WebError::BadRequest)?;
    let action = fields
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| WebError::BadRequest("choose an action".into()))?;
    if !["approve", "spam", "trash", "restore"].contains(&action.as_str()) {
        return Err(WebError::BadRequest(format!("unknown action `{action}`")));
    }
    let ids: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Many comments at once: the moderator says yes on a page that lists them first.
    if field("confirmed") != Some("1") {
        let csrf = field("csrf").unwrap_or_default();
        let back = field("back").unwrap_or("held");
        let mut shown = Vec::new();
        for &id in &ids {
            if let Some(c) = state.store.get(id).await? {
                shown.push(c);
            }
        }
        return Ok(
            page("Are you sure?", confirm_bulk(&action, &shown, csrf, back)).into_response(),
        );
    }
    let mut done = 0u64;
    for id in ids {
        super::admin::apply(&state, id, &action).await?;
        done += 1;
    }
    Ok(Redirect::to(&back_to(field("back"), Status::Held, &action, done)).into_response())
}

/// The page that asks before a bulk action: what it will do to which comments, with the button
/// that does it (the same form again, confirmed) and the way back.
fn confirm_bulk(action: &str, comments: &[StoredComment], csrf: &str, back: &str) -> Markup {
    let verb = match action {
        "approve" => "Approve",
        "spam" => "Mark as spam",
        "trash" => "Trash",
        _ => "Restore",
    };
    html! {
        main {
            h1 { (verb) " " (comments.len()) " comment(s)?" }
            ul {
                @for c in comments {
                    li { strong { (c.author) } ": " (c.content.chars().take(120).collect::<String>()) }
                }
            }
            form method="post" action="/admin/bulk" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="action" value=(action);
                input type="hidden" name="back" value=(back);
                input type="hidden" name="confirmed" value="1";
                @for c in comments { input type="hidden" name="id" value=(c.id); }
                button type="submit" id="confirm-bulk" { "Yes, " (verb.to_lowercase()) " " (comments.len()) " comment(s)" }
                " " a href=(back_list(Some(back), Status::Held)) { "Cancel" }
            }
        }
    }
}

/// `POST /admin/logout`.
pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    let id = authorize(&state, &jar, &body).await?;
    state.sessions.remove(&id).await?;
    let gone = Cookie::build((COOKIE, "")).path("/admin");
    Ok((jar.remove(gone), Redirect::to("/admin")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charts_scale_names_each_tick_once() {
        assert_eq!(ticks(1), [0, 1]);
        assert_eq!(ticks(10), [0, 5, 10]);
    }

    #[test]
    fn a_sign_in_leads_back_to_admin_pages_only() {
        for kept in [
            "/admin",
            "/admin?status=spam&site=blog&before=230",
            "/admin/rules?site=blog",
        ] {
            assert_eq!(after_sign_in(kept), kept);
        }
        for refused in [
            "//evil.example/admin",
            "/admin//evil.example",
            "/administer",
            "https://evil.example/admin",
            "/admin\\@evil.example",
            "/admin?x=\u{0}",
            "",
        ] {
            assert_eq!(after_sign_in(refused), "/admin", "{refused:?}");
        }
    }

    #[test]
    fn a_published_comment_links_to_where_it_is_shown_and_a_check_nowhere() {
        let mut c = super::super::admin_words::tests::stored(
            "form",
            Status::Published,
            "published",
            0.1,
            serde_json::Value::Null,
        );
        c.article = "cloud-deal".into();
        assert_eq!(
            page_link(&c, "default").as_deref(),
            Some("/articles/cloud-deal#comment-1")
        );
        c.article = "/posts/hello world/".into();
        assert_eq!(
            page_link(&c, "blog").as_deref(),
            Some("/sites/blog/thread?uri=%2Fposts%2Fhello+world%2F#comment-1")
        );
        c.article = "akismet:3".into();
        assert_eq!(page_link(&c, "default"), None);
        c.article = "cloud-deal".into();
        c.status = Status::Held;
        assert_eq!(page_link(&c, "default"), None);
    }
}
