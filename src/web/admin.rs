//! Moderation API (`/api/v1/admin/...`, bearer secret): queues, actions, model reload.

use super::AppState;
use super::error::WebError;
use super::secret::{self, AdminSecret, Check};
use crate::storage::{Status, StoredComment};
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

/// Proof that the request carries the admin secret (`Authorization: Bearer …`), compared in
/// constant time against the stored hash.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = state.client_ip_of(parts);
        state.auth_throttle.check(ip)?;
        if bearer(state, &parts.headers, ip).await? {
            Ok(Admin)
        } else {
            Err(WebError::Unauthorized)
        }
    }
}

/// Once an old (unsalted SHA-256) secret's token is proven, stores its salted Argon2id hash in the
/// background and blanks the old one — a deployment on its generated token never passes it at
/// start, where the other upgrade happens. Once per process.
fn upgrade_old_secret(state: &AppState, token: &str) {
    if !state.admin.claim_upgrade() {
        return;
    }
    let store = state.store.clone();
    let token = token.to_string();
    tokio::spawn(async move {
        let hashed = tokio::task::spawn_blocking(move || AdminSecret::from_token(&token)).await;
        let Ok(Ok((_, phc))) = hashed else {
            return;
        };
        let stored = async {
            // Only where no salted hash is stored yet (another replica may have done it).
            store.replace_setting(secret::SETTING, None, &phc).await?;
            store.set_setting(secret::LEGACY_SETTING, "").await
        };
        if let Err(e) = stored.await {
            tracing::warn!(error = %e, "cannot store the admin secret's salted hash yet");
        }
    });
}

/// Whether `headers` carry the admin secret as a bearer token: `Ok(false)` when they carry none,
/// `Err` when the token is wrong (a failure the sign-in throttle counts against `ip`) or the
/// address is throttled.
pub(super) async fn bearer(
    state: &AppState,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
) -> Result<bool, WebError> {
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` too.
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
    else {
        return Ok(false);
    };
    if prove(state, token, ip).await? {
        Ok(true)
    } else {
        Err(WebError::Unauthorized)
    }
}

/// Checks a presented admin token from `ip` (a bearer header or the sign-in form): `Ok(true)`
/// when it is the secret (the address's failures forgotten, an old hash upgraded), `Ok(false)`
/// when it is not (a failure the throttle counts), `Err` (429) while `ip` must wait or other
/// checks fill the slow queue.
pub(super) async fn prove(
    state: &AppState,
    token: &str,
    ip: std::net::IpAddr,
) -> Result<bool, WebError> {
    state.auth_throttle.check(ip)?;
    let token = token.trim();
    // The throttle is asked again inside the slow check's turn, and a failure recorded before
    // the turn passes on: guesses sent at once see each other's failures.
    let outcome = state
        .admin
        .check(
            token,
            || state.auth_throttle.check(ip).is_ok(),
            || state.auth_throttle.failed(ip),
        )
        .await;
    match outcome {
        Check::Right => {
            state.auth_throttle.succeeded(ip);
            upgrade_old_secret(state, token);
            Ok(true)
        }
        Check::Wrong => Ok(false),
        Check::Busy => Err(WebError::TooManyAttempts(1)),
        Check::Refused => Err(state
            .auth_throttle
            .check(ip)
            .err()
            .unwrap_or(WebError::TooManyAttempts(1))),
    }
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    site: Option<String>,
    article: Option<String>,
    /// The previous page's `next_before`: comments with a smaller id.
    before: Option<i64>,
    limit: Option<u64>,
}

/// The thread an `?article=` filter names: an article's slug as given, a page's path in the
/// spelling its comments are stored under (`/p/.` is `/p/`).
pub(super) fn thread_filter(article: &str) -> String {
    if article.starts_with('/') {
        crate::domain::site::thread_uri(article).unwrap_or_else(|_| article.to_string())
    } else {
        article.to_string()
    }
}

/// The site a `?site=NAME` filter names (none: every site).
pub(super) fn site_filter(state: &AppState, name: Option<&str>) -> Result<Option<i64>, WebError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(name) => state
            .sites
            .by_name(name)
            .map(|s| Some(s.id))
            .ok_or_else(|| WebError::NotFound(format!("no site `{name}`"))),
    }
}

/// `GET /api/v1/admin/comments?status=held|spam|published|trash&site=NAME&article=slug&before=ID&limit=N`:
/// newest first, `limit` (default 100, at most 1,000) a page; `next_before` is the next page's
/// `before` (null once a page comes back short), `total` how many the status has (of the site).
pub async fn queue(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<QueueQuery>,
) -> Result<impl IntoResponse, WebError> {
    let status = match q.status.as_deref() {
        None => Status::Held,
        Some(s) => Status::parse(s).ok_or_else(|| {
            WebError::BadRequest("status must be held, spam, published or trash".into())
        })?,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let site = site_filter(&state, q.site.as_deref())?;
    let article = q.article.as_deref().map(thread_filter);
    let comments = state
        .store
        .by_status(status, site, article.as_deref(), q.before, limit)
        .await?;
    let next_before = (comments.len() as u64 == limit)
        .then(|| comments.last().map(|c| c.id))
        .flatten();
    let total = state
        .store
        .count_by_status(site)
        .await?
        .into_iter()
        .find(|(s, _)| *s == status)
        .map_or(0, |(_, n)| n);
    Ok(Json(json!({
        "status": status,
        "comments": comments,
        "next_before": next_before,
        "total": total,
    })))
}

/// `POST /api/v1/admin/comments/{id}/{approve|spam|trash|restore}`.
pub async fn act(
    _: Admin,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
) -> Result<impl IntoResponse, WebError> {
    Ok(Json(apply(&state, id, &action).await?))
}

/// Applies a moderation action (shared by the API and the `/admin` page).
pub async fn apply(state: &AppState, id: i64, action: &str) -> Result<StoredComment, WebError> {
    let target = match action {
        "approve" => Status::Published,
        "spam" => Status::Spam,
        "trash" => Status::Trash,
        "restore" => {
            // Back to where it was before the trash (or the queue when unknown).
            let history = state.store.history(id).await?;
            history
                .iter()
                .rev()
                .find(|e| e.to_status == Status::Trash)
                .and_then(|e| e.from_status)
                .unwrap_or(Status::Held)
        }
        other => {
            return Err(WebError::NotFound(format!(
                "unknown action `{other}` (approve, spam, trash, restore)"
            )));
        }
    };
    let moderated = state.store.set_status(id, target, "admin").await?;
    // The decision is in the learning log; the serving model learns it now.
    state.learner.nudge();
    Ok(moderated)
}

/// `POST /api/v1/admin/model/reload`: load the model file again; a bad file is refused and the old
/// model keeps serving.
pub async fn reload(
    _: Admin,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, WebError> {
    let models = state.models.clone();
    let result = tokio::task::spawn_blocking(move || models.reload())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    match result {
        Ok(version) => {
            tracing::info!(%version, "model reloaded");
            // The other replicas load their file too (within a second, `sites::follow`). This
            // one has: a failed write is logged, not answered as a failed reload.
            let asked = format!("{version} {}", crate::storage::now_rfc3339());
            if let Err(e) = state
                .store
                .set_setting(crate::storage::MODEL_RELOAD, &asked)
                .await
            {
                tracing::warn!(error = %e, "the other replicas were not told to reload the model");
            }
            Ok(Json(json!({"model_version": version})))
        }
        Err(e) => {
            tracing::warn!(error = %e, "model reload refused; the previous model keeps serving");
            Err(WebError::Unprocessable(format!(
                "{e}; the previous model keeps serving"
            )))
        }
    }
}
