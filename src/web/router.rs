//! Every route, the response headers every answer gets, and `/healthz`.

use super::{
    AppState, BODY_LIMIT, admin, admin_lessons, admin_notify_page, admin_pages, admin_rules_page,
    admin_settings, admin_sites, akismet, api, assets, cors, error_pages, feeds, isso, metrics,
    notify, one_click, pages, replies, site_rules, thread_pages,
};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

/// The routes pages of other origins call, behind [`cors::guard`]: the default site's articles
/// (for its `--site-origin` pages).
fn cross_origin(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/articles", get(api::list_articles))
        .route(
            "/api/v1/articles/{slug}/comments",
            get(api::list_comments).post(api::create_comment),
        )
        .route(
            "/api/v1/articles/{slug}/comments/locate",
            get(api::locate_comment),
        )
        .layer(axum::middleware::from_fn(cors::default_site_only))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cors::guard,
        ))
}

/// The Isso-compatible API, behind the same guard: the page's origin names the site.
fn isso_api(state: &AppState) -> Router<AppState> {
    isso::routes().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        cors::pages_guard,
    ))
}

/// Akismet's API: called by blogs' servers, never by browsers, and the hottest path there is, so
/// its answers skip the page-only layers (browser error pages, the JSON error rewrite, the
/// content-security and referrer policies) that [`pages_and_apis`] routes pass through.
fn akismet_api() -> Router<AppState> {
    Router::new()
        .route("/1.1/verify-key", post(akismet::verify_key))
        .route("/1.1/comment-check", post(akismet::comment_check))
        .route("/1.1/submit-spam", post(akismet::submit_spam))
        .route("/1.1/submit-ham", post(akismet::submit_ham))
        .route("/1.2/usage-limit", get(akismet::usage_limit))
        .layer(DefaultBodyLimit::max(super::AKISMET_BODY_LIMIT))
}

/// All routes: the pages, their APIs and the Akismet API, under the layers every answer passes
/// (the request timeout, the body limit, metrics, `nosniff`).
pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    Router::new()
        .merge(pages_and_apis(&state))
        .merge(akismet_api())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Covers reading the body too: a client that trickles its request (slowloris) gets 408.
        .layer(super::timeout::RequestTimeoutLayer::new(request_timeout))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            edge,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Every route but Akismet's, with what pages and their JSON APIs need on top.
fn pages_and_apis(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/articles/{slug}", get(pages::article))
        .route("/articles/{slug}/comments", post(pages::post_comment))
        .route("/articles/{slug}/feed", get(feeds::article))
        .route("/feed", get(feeds::site))
        .merge(cross_origin(state))
        .merge(isso_api(state))
        .route("/isso/css/isso.css", get(isso::css))
        .route(
            "/sites/{site}/thread",
            get(thread_pages::show).post(thread_pages::post),
        )
        .route("/embed/v1/embed.js", get(assets::embed_js))
        .route("/embed/v1/embed.css", get(assets::embed_css))
        .route("/api/v1/classify", post(api::classify))
        .route("/api/v1/admin/comments", get(admin::queue))
        .route("/api/v1/admin/comments/{id}/{action}", post(admin::act))
        .route("/api/v1/admin/model/reload", post(admin::reload))
        .route(
            "/api/v1/admin/rules",
            get(site_rules::show).put(site_rules::replace),
        )
        .route(
            "/api/v1/admin/notifications",
            get(notify::show).put(notify::replace),
        )
        .route("/api/v1/admin/notifications/log", get(notify::log))
        .route("/api/v1/admin/notifications/test", post(notify::test))
        .route("/api/v1/admin/lessons", get(admin_lessons::list))
        .route(
            "/api/v1/admin/lessons/{id}/take-back",
            post(admin_lessons::take_back_api),
        )
        .route("/admin/lessons", get(admin_lessons::show))
        .route(
            "/admin/lessons/{id}/take-back",
            post(admin_lessons::take_back_form),
        )
        .route(
            "/unsubscribe/{token}",
            get(replies::show).post(replies::act),
        )
        .route(
            "/confirm-replies/{token}",
            get(replies::show_confirm).post(replies::confirm),
        )
        .route(
            "/moderate/{token}",
            get(one_click::show).post(one_click::act),
        )
        .route(
            "/api/v1/admin/sites",
            get(admin_sites::list).post(admin_sites::add),
        )
        .route(
            "/api/v1/admin/sites/{name}",
            axum::routing::delete(admin_sites::remove),
        )
        .route("/admin", get(admin_pages::queue))
        .route(
            "/admin/rules",
            get(admin_rules_page::show).post(admin_rules_page::save),
        )
        .route(
            "/admin/notifications",
            get(admin_notify_page::show).post(admin_notify_page::save_form),
        )
        .route(
            "/admin/notifications/test",
            post(admin_notify_page::test_form),
        )
        .route("/admin/login", post(admin_pages::login))
        .route("/admin/logout", post(admin_pages::logout))
        .route("/admin/comments/{id}/{action}", post(admin_pages::act))
        .route("/admin/bulk", post(admin_pages::bulk))
        .route("/static/site.css", get(assets::site_css))
        .route("/static/admin.css", get(assets::admin_css))
        .route("/static/comments.js", get(assets::comments_js))
        .route("/static/theme.css", get(theme_css))
        .route(
            "/admin/settings",
            get(admin_settings::show).post(admin_settings::save),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .fallback(pages::moved_or_missing)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(refuse_large_bodies))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error_pages::for_browsers,
        ))
        // The policy and the referrer rule matter for pages only; API answers stay small.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            |response: &axum::response::Response| {
                is_html(response).then(|| HeaderValue::from_static(assets::CONTENT_SECURITY_POLICY))
            },
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            |response: &axum::response::Response| {
                is_html(response).then(|| HeaderValue::from_static("same-origin"))
            },
        ))
}

/// What every request passes first: its status class and latency are counted for `/metrics`
/// (timeouts included), and an Akismet request whose announced body exceeds
/// [`AKISMET_BODY_LIMIT`](super::AKISMET_BODY_LIMIT) is
/// refused here, as the page routes' are by [`refuse_large_bodies`]. One pass for both, since
/// each `from_fn` layer costs a boxed future per request.
async fn edge(
    State(metrics): State<std::sync::Arc<metrics::Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let response = if request.uri().path().starts_with("/1.1/")
        && announces_more_than(&request, super::AKISMET_BODY_LIMIT)
    {
        akismet::too_large()
    } else {
        next.run(request).await
    };
    metrics.request(response.status(), started.elapsed());
    response
}

/// Refuses a page or JSON API request whose announced body exceeds [`BODY_LIMIT`] before any of
/// it is read (the limit on reading catches chunked bodies that grow past it); inside the browser
/// error pages, so a reader's browser gets a page that says so. A JSON body's leading byte order
/// mark is dropped on the way ([`without_json_bom`]).
async fn refuse_large_bodies(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if announces_more_than(&request, BODY_LIMIT) {
        return super::error::WebError::TooLarge.into_response();
    }
    next.run(without_json_bom(request).await).await
}

/// The request with a UTF-8 byte order mark removed from the start of a JSON body: Windows tools
/// (PowerShell 5's `Out-File -Encoding utf8`, Notepad) write one, and RFC 8259 §8.1 lets a parser
/// ignore it, which serde_json does not. Only the first chunk is looked at; the rest streams on,
/// under the same limits.
async fn without_json_bom(request: axum::extract::Request) -> axum::extract::Request {
    use futures_util::StreamExt;
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    let mut chunks = body.into_data_stream();
    let first = match chunks.next().await {
        Some(Ok(chunk)) if chunk.starts_with(BOM) => {
            // The body is shorter than announced now.
            parts.headers.remove(header::CONTENT_LENGTH);
            Some(Ok(chunk.slice(BOM.len()..)))
        }
        other => other,
    };
    let body = axum::body::Body::from_stream(futures_util::stream::iter(first).chain(chunks));
    axum::extract::Request::from_parts(parts, body)
}

/// Whether the request's `Content-Length` exceeds `limit`.
fn announces_more_than(request: &axum::extract::Request, limit: usize) -> bool {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Whether a path is a JSON API's (its errors are JSON too).
fn is_json_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/isso/")
}

/// Every error of a JSON API answers JSON (`{"error": "…"}`), whoever produced it: the
/// handlers' own errors already are; the framework's (a path or query that does not parse, a
/// method the route does not take) are plain text or empty, and are rewritten here, once for
/// every route rather than per extractor.
async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = is_json_api(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = serde_json::to_vec(&json!({ "error": message })).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(body))
}

fn is_html(response: &axum::response::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// `GET /static/theme.css`: the site's accent colour (its address carries the settings'
/// revision, so it may be cached).
async fn theme_css(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        state.identity().theme_css(),
    )
}

/// The default site's share of spam learned from its traffic, beside the model's
/// ([`SitePrior`](crate::engine::site_prior::SitePrior)); `null` before its first comment or
/// with `--no-site-prior`.
fn site_prior_json(state: &AppState, served: &super::model_holder::ServedModel) -> Value {
    let site = super::site_rules::DEFAULT_SITE;
    match state.models.site_prior(site) {
        Some(prior) => json!({
            "share": prior.share(),
            "model_share": served.model.spam_share(),
            "comments": prior.seen(),
            "log_odds_shift": state.models.site_prior_shift(site, served),
        }),
        None => Value::Null,
    }
}

/// Free space under which the database's disk counts as full: a comment with its index entries,
/// status event and learning-log line takes a few KiB, and SQLite needs room for its log.
const LOW_DISK_BYTES: u64 = 1 << 20;

/// Why comments are about to be refused for want of space on the SQLite database's disk, if so:
/// each write is answered 503 once it fails for want of room, and monitoring reads `/healthz`
/// before that.
fn disk_full(db: &std::path::Path) -> Option<String> {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let stat = rustix::fs::statvfs(dir).ok()?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    (free < LOW_DISK_BYTES).then(|| {
        format!(
            "the disk holding {} has only {} KiB free: comments and moderation are refused \
             (503) once it is full",
            db.display(),
            free / 1024
        )
    })
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let served = state.models.current();
    // Why the database cannot be reached, for the operator (the error's text: no secrets, the
    // URL's password is never in it).
    let unreachable = state.store.ping().await.err().map(|e| e.to_string());
    let database = unreachable.is_none();
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // A stand-in model still filters comments: "degraded", but still 200 so the service stays in
    // rotation.
    let damage = state.damage.get();
    let unwritable = state.unwritable.get();
    let disk_full = state.sqlite_path.as_deref().and_then(disk_full);
    let healthy = database
        && served.problem.is_none()
        && damage.is_none()
        && unwritable.is_none()
        && disk_full.is_none();
    (
        status,
        axum::Json(json!({
            "status": if healthy { "ok" } else { "degraded" },
            "database": if !database { "unavailable" } else if damage.is_some() { "damaged" } else if unwritable.is_some() { "read-only" } else if disk_full.is_some() { "disk-full" } else { "ok" },
            "database_problem": unreachable.as_ref().or(damage).or(unwritable).or(disk_full.as_ref()),
            "model": {
                "version": served.version,
                "created_at": served.model.meta.created_at,
                "source": if served.problem.is_some() { "shipped" } else { "file" },
                "problem": served.problem,
                "thresholds": {
                    "hold": served.model.meta.thresholds.hold,
                    "reject": served.model.meta.thresholds.reject,
                    "file_reject": served.base_thresholds.reject,
                    "site_ham_examples": served.recalibrated.map_or(0, |r| r.site_ham),
                    "site_ham_rejected_at_file_thresholds":
                        served.recalibrated.map_or(0, |r| r.rejected_at_base),
                },
                "site_prior": site_prior_json(&state, &served),
                "learned": {
                    "examples": served.learned,
                    "through_log_id": served.learned_through,
                    "last_at": served.learned_at,
                    "vocabulary": served.model.core.vocab.len(),
                },
            },
        })),
    )
}
