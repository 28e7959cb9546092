//! The Akismet REST API (`/1.1/verify-key`, `/1.1/comment-check`, `/1.1/submit-spam`,
//! `/1.1/submit-ham`, `GET /1.2/usage-limit`), answering exactly as Akismet does so existing
//! clients work unchanged. Errors are Akismet's `invalid` with an `X-akismet-debug-help` header,
//! never a 500 page.

// Helpers return `Result<_, Response>` where the error is the final answer to send; it is built
// once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use super::AppState;
use super::error::WebError;
use super::form;
use super::submit::Submission;
use crate::akismet::{key_hash, looks_like_key, normalize_blog, same_blog};
use crate::data::{Comment, Label, LabeledComment};
use crate::domain::{Origin, RawComment};
use crate::engine::Verdict;
use crate::storage::{ApiKey, Status, SubmitVote};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const THANKS: &str = "Thanks for making the web a better place.";
/// How long a looked-up key is trusted before the database is asked again (revocation delay).
const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Recently used keys, so a check does not touch the database just to authenticate.
#[derive(Default)]
pub struct KeyCache {
    by_hash: Mutex<HashMap<String, (Arc<ApiKey>, Instant)>>,
}

fn text(status: StatusCode, body: &'static str, headers: &[(&'static str, String)]) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// Akismet's answer to a body over the limit.
pub(super) fn too_large() -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid",
        &[(
            "x-akismet-debug-help",
            format!(
                "The request body is larger than {} bytes.",
                super::AKISMET_BODY_LIMIT
            ),
        )],
    )
}

/// Akismet's answer to a bad request: `invalid` plus a human-readable reason.
fn invalid(reason: impl Into<String>) -> Response {
    text(
        StatusCode::OK,
        "invalid",
        &[("x-akismet-debug-help", reason.into())],
    )
}

/// A request's form parameters, borrowed from its body where they need no decoding. A check
/// sends about fifteen, so finding one by a scan costs less than hashing them all into a map.
pub(super) struct Params<'a>(Vec<form::Field<'a>>);

impl Params<'_> {
    /// The first value sent under `name` (the first of a repeated name wins).
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// The request's form, or the answer to a body that could not be read or is not a form;
/// `comment_context[]` and other unknown names are accepted and ignored by the callers.
fn params(body: &Result<Bytes, BytesRejection>) -> Result<Params<'_>, Response> {
    let body = body.as_ref().map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            invalid("The request body could not be read.")
        }
    })?;
    form(body)
}

/// `body` (or a query string) as a form, or the answer to one that is not.
fn form(body: &[u8]) -> Result<Params<'_>, Response> {
    parse_params(body).map_err(|e| invalid(format!("The request body is not a valid form: {e}.")))
}

/// The answer to a body Akismet's API does not take, named as what it is: JSON or multipart
/// (PHP's curl sends an array as multipart) would otherwise read as a form without `api_key`,
/// and a compressed one as text that is not UTF-8 — each a misleading reason.
fn not_a_plain_form(headers: &HeaderMap) -> Option<Response> {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(encoding) = value(header::CONTENT_ENCODING)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"))
    {
        return Some(invalid(format!(
            "The request body is compressed (Content-Encoding: {encoding}); send the form uncompressed."
        )));
    }
    let kind = value(header::CONTENT_TYPE)?;
    let essence = kind
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (essence == "application/json" || essence.starts_with("multipart/")).then(|| {
        invalid(format!(
            "The request body is {essence}; Akismet's API takes a form \
             (Content-Type: application/x-www-form-urlencoded)."
        ))
    })
}

/// The request's form and the key it authenticates with, valid for its `blog`; or the answer.
async fn authorized<'b>(
    state: &AppState,
    headers: &HeaderMap,
    body: &'b Result<Bytes, BytesRejection>,
) -> Result<(Params<'b>, Arc<ApiKey>), Response> {
    if let Some(refusal) = not_a_plain_form(headers) {
        return Err(refusal);
    }
    let p = params(body)?;
    let key = authorize(state, &p, headers).await?;
    Ok((p, key))
}

/// Decodes a form body into parameters: UTF-8, or, when that fails, the charset the blog
/// declares in `blog_charset` (WordPress sends its checks in the blog's charset; a Latin-1 or
/// windows-1252 blog's accented letters are single bytes). UTF-8 is tried first because many
/// blogs that declare Latin-1 store and send UTF-8. Only a charset that keeps ASCII as ASCII
/// (Latin-1, windows-1252, the other ISO-8859 and windows code pages, KOI8, Shift_JIS, EUC-JP,
/// EUC-KR, GBK, Big5, …): in UTF-16 or ISO-2022-JP the field names and e-mail addresses would not
/// read as sent, and a 7-bit ISO-2022 body is valid UTF-8 anyway.
pub(super) fn parse_params(body: &[u8]) -> Result<Params<'_>, String> {
    form::parse_borrowed(body).map(Params).or_else(|problem| {
        if problem != form::not_utf8() {
            return Err(problem);
        }
        let declared = form::raw_field(body, "blog_charset")
            .and_then(|label| encoding_rs::Encoding::for_label(label.trim_ascii()))
            .filter(|&encoding| encoding != encoding_rs::UTF_8 && encoding.is_ascii_compatible());
        match declared {
            Some(encoding) => form::parse_in(body, encoding).map(Params),
            None => Err(format!(
                "{problem} (or name its charset in blog_charset, e.g. ISO-8859-1; one that \
                 writes ASCII as ASCII)"
            )),
        }
    })
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(str::trim).filter(|v| !v.is_empty())
}

/// The key from `api_key` (or `key`) in the body, else the legacy `KEY.host` subdomain.
fn key_from(p: &Params, headers: &HeaderMap) -> Option<String> {
    if let Some(key) = param(p, "api_key").or_else(|| param(p, "key")) {
        return Some(key.to_string());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let (first, rest) = host.split_once('.')?;
    (!rest.is_empty() && looks_like_key(&first.to_ascii_lowercase()))
        .then(|| first.to_ascii_lowercase())
}

async fn lookup(state: &AppState, key: &str) -> Result<Option<Arc<ApiKey>>, Response> {
    let hash = key_hash(key);
    if let Ok(cache) = state.akismet_keys.by_hash.lock()
        && let Some((found, at)) = cache.get(&hash)
        && at.elapsed() < KEY_CACHE_TTL
    {
        return Ok(Some(found.clone()));
    }
    let found = state
        .keys
        .key_by_hash(&hash)
        .await
        .map_err(internal)?
        .map(Arc::new);
    if let (Some(found), Ok(mut cache)) = (&found, state.akismet_keys.by_hash.lock()) {
        cache.insert(hash, (found.clone(), Instant::now()));
    }
    Ok(found)
}

/// The answer to a request that could not be completed. While the database is unavailable (a
/// PostgreSQL outage, a full disk): `503` with `Retry-After`, as every other write answers, so
/// the blog's client holds the comment for its moderators and checks it again later; `invalid`
/// there would read as a bad key. Otherwise Akismet's `invalid` with its debug headers.
fn internal(error: impl Into<WebError>) -> Response {
    let error: WebError = error.into();
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(error = %error, "akismet request refused: the database is unavailable");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &[
                ("retry-after", "60".into()),
                ("x-akismet-error", error.user_message()),
            ],
        );
    }
    tracing::error!(error = %error, "akismet request failed");
    text(
        StatusCode::OK,
        "invalid",
        &[
            (
                "x-akismet-error",
                "Internal error; the comment was not checked.".into(),
            ),
            (
                "x-akismet-debug-help",
                "replyguard could not complete the request; see its log.".into(),
            ),
        ],
    )
}

/// Resolves and checks the key for `blog`; the error is the response to send.
async fn authorize(
    state: &AppState,
    p: &Params<'_>,
    headers: &HeaderMap,
) -> Result<Arc<ApiKey>, Response> {
    let Some(key) = key_from(p, headers) else {
        return Err(invalid(
            "Missing api_key: send it in the body (api_key) or as the subdomain (KEY.host).",
        ));
    };
    let Some(blog) = param(p, "blog") else {
        return Err(invalid("Missing required field: blog."));
    };
    let Some(found) = lookup(state, &key).await? else {
        return Err(invalid("Invalid API key: it is unknown or revoked."));
    };
    let blog = normalize_blog(blog);
    // `keys add` stores blogs already normalized.
    if !found.blogs.iter().any(|known| same_blog(known, &blog)) {
        return Err(invalid(format!(
            "This API key is not valid for the blog {blog}."
        )));
    }
    Ok(found)
}

/// `POST /1.1/verify-key` → `valid` / `invalid`.
pub async fn verify_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match authorized(&state, &headers, &body).await {
        Ok(_) => text(StatusCode::OK, "valid", &[]),
        Err(r) => r,
    }
}

pub(super) fn comment_of(p: &Params) -> Comment {
    let get = |n: &str| param(p, n).map(str::to_string);
    Comment {
        comment_content: p.get("comment_content").unwrap_or_default().to_string(),
        comment_author: get("comment_author"),
        comment_author_email: get("comment_author_email"),
        comment_author_url: get("comment_author_url"),
        user_ip: get("user_ip"),
        user_agent: get("user_agent"),
        referrer: get("referrer").or_else(|| get("referer")),
        permalink: get("permalink"),
        comment_type: get("comment_type"),
        comment_date_gmt: get("comment_date_gmt"),
    }
}

fn truthy(p: &Params, name: &str) -> bool {
    matches!(param(p, name), Some("1" | "true" | "yes"))
}

fn month_now() -> String {
    crate::storage::now_rfc3339()
        .get(..7)
        .unwrap_or_default()
        .to_string()
}

/// `POST /1.1/comment-check` → `true` (spam) / `false` (ham).
pub async fn comment_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (p, key) = match authorized(&state, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if param(&p, "user_ip").is_none() {
        return invalid("Missing required field: user_ip.");
    }
    // Check ids need to be unique, not secret: the thread-local CSPRNG avoids a syscall per check.
    let guid = {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        format_guid(&hex::encode(bytes))
    };
    let is_test = truthy(&p, "is_test");
    if !is_test {
        let month = month_now();
        let quota = key.quota.filter(|&q| q > 0);
        match state
            .akismet_usage
            .count(&state.keys, key.id, &month, quota)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return over_quota(quota.unwrap_or_default()),
            Err(e) => return internal(e),
        }
    }
    // Akismet's fixed answers: the blog's administrator is never spam, and its documented test
    // sender always is (form plugins tell their users to try it). Counted as calls, but neither
    // scored, kept nor learned from: the owner's own announcement is not a reader's comment, and
    // a test value is no lesson.
    let verdict = match fixed_answer(&p) {
        Some(fixed) => fixed.verdict(),
        None => match check_verdict(&state, &p, &key, &guid, is_test).await {
            Ok(verdict) => verdict,
            Err(e) => return internal(e),
        },
    };
    let mut extra = vec![("x-akismet-guid", guid)];
    let body = match verdict {
        Verdict::Published => "false",
        Verdict::Held => "true",
        Verdict::Rejected => {
            extra.push(("x-akismet-pro-tip", "discard".to_string()));
            "true"
        }
    };
    text(StatusCode::OK, body, &extra)
}

/// The verdict on a check through the path of a reader's comment, stored unless `is_test`.
async fn check_verdict(
    state: &AppState,
    p: &Params<'_>,
    key: &ApiKey,
    guid: &str,
    is_test: bool,
) -> Result<Verdict, WebError> {
    let comment = comment_of(p);
    let honeypot = param(p, "honeypot_field_name")
        .and_then(|field| param(p, field))
        .is_some();
    let ip: Option<std::net::IpAddr> = comment
        .user_ip
        .as_deref()
        .and_then(|ip| ip.trim().parse().ok());
    // The same path as a reader's comment, as relayed by the blog (see `submit`), but in the key's
    // own namespace: never in a thread of the site's pages, whatever `permalink` says.
    let submission = Submission {
        site: crate::domain::DEFAULT_SITE,
        article: namespace(key.id),
        page_title: None,
        parent: None,
        raw: RawComment {
            content: comment.comment_content,
            author: comment.comment_author.unwrap_or_default(),
            email: comment.comment_author_email.unwrap_or_default(),
            url: comment.comment_author_url.unwrap_or_default(),
        },
        honeypot,
        ip,
        form_age: None,
        anonymous_allowed: false,
        notify_replies: false,
        user_agent: comment.user_agent,
        referrer: comment.referrer,
        comment_type: comment.comment_type,
        recheck: param(p, "recheck_reason").is_some(),
        edit: false,
        markdown: false,
        origin: Origin::Akismet {
            guid: guid.to_string(),
            key_id: key.id,
        },
    };
    let accepted = super::submit::submit(state, submission, !is_test).await?;
    Ok(accepted.classification.verdict)
}

/// A check Akismet answers the same whatever it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FixedAnswer {
    /// `user_role=administrator`: the blog's owner or one of its administrators wrote it.
    Administrator,
    /// Akismet's test sender (`comment_author=viagra-test-123`, or the address
    /// `akismet-guaranteed-spam@example.com`): always spam.
    TestSpam,
}

impl FixedAnswer {
    fn verdict(self) -> Verdict {
        match self {
            FixedAnswer::Administrator => Verdict::Published,
            // `true` without the discard tip, as Akismet answers its test sender.
            FixedAnswer::TestSpam => Verdict::Held,
        }
    }
}

fn fixed_answer(p: &Params<'_>) -> Option<FixedAnswer> {
    let is =
        |name: &str, value: &str| param(p, name).is_some_and(|v| v.eq_ignore_ascii_case(value));
    if is("user_role", "administrator") {
        Some(FixedAnswer::Administrator)
    } else if is("comment_author", "viagra-test-123")
        || is(
            "comment_author_email",
            "akismet-guaranteed-spam@example.com",
        )
    {
        Some(FixedAnswer::TestSpam)
    } else {
        None
    }
}

/// The answer to a check beyond the key's monthly quota (`keys add --quota`): 429, so the blog's
/// client holds the comment for its moderators as it does on any failed check, with Akismet's
/// account-alert headers saying why.
fn over_quota(quota: i64) -> Response {
    text(
        StatusCode::TOO_MANY_REQUESTS,
        "invalid",
        &[
            ("x-akismet-alert-code", "10403".into()),
            (
                "x-akismet-alert-msg",
                format!("This API key has used its quota of {quota} checks this month."),
            ),
            (
                "x-akismet-debug-help",
                "The key's monthly quota is used up until the next month; the server's owner can \
                 give the blog a new key with a larger one (replyguard keys add --quota N, then \
                 keys revoke this one). GET /1.2/usage-limit shows the usage."
                    .into(),
            ),
        ],
    )
}

/// The thread a key's checks are stored in: `akismet:KEY_ID`, which is never an article of the
/// site (slugs have no `:`), so a check is never shown on the site's pages.
pub(super) fn namespace(key_id: i64) -> String {
    crate::storage::key_layer(key_id)
}

/// The learning-log source of a key's submit without a stored check.
pub const SUBMIT_SOURCE: &str = "akismet-submit";

/// Submits per key and minute, other than a check's first correction.
const SUBMITS_PER_MINUTE: u32 = 60;

/// Corrections by guid one check takes at most (a blog's moderator may change their mind, and
/// back); later ones are acknowledged and change nothing.
const MAX_CLIENT_CORRECTIONS: usize = 3;

/// The actor a key's correction of its own check is recorded under.
const CLIENT_ACTOR: &str = "akismet-client";

/// Submits per key in the current minute (this process).
#[derive(Default)]
pub struct SubmitBudget {
    by_key: Mutex<HashMap<i64, (Instant, u32)>>,
}

impl SubmitBudget {
    fn take(&self, key_id: i64) -> bool {
        let Ok(mut by_key) = self.by_key.lock() else {
            return false;
        };
        let now = Instant::now();
        let entry = by_key.entry(key_id).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= SUBMITS_PER_MINUTE
    }
}

fn format_guid(hex: &str) -> String {
    if hex.len() == 32 {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    } else {
        hex.to_string()
    }
}

async fn submit(
    state: AppState,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    label: Label,
) -> Response {
    let (p, key) = match authorized(&state, &headers, &body).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    // A test submit is acknowledged and nothing else.
    if truthy(&p, "is_test") {
        return text(StatusCode::OK, THANKS, &[]);
    }
    // A check's body may be large (WordPress sends the text three times), a lesson's text may
    // not: it is kept in the learning log and learned for as long as the key lives.
    let longest = crate::domain::draft::MAX_ARCHIVED_COMMENT_CHARS;
    if p.get("comment_content")
        .is_some_and(|t| t.chars().count() > longest)
    {
        return invalid(format!(
            "comment_content is longer than {longest} characters (WordPress's longest comment)."
        ));
    }
    let example = LabeledComment {
        label,
        comment: comment_of(&p),
    };
    // A submit quoting the guid of a check made with the same key corrects that check's status
    // (in the key's namespace). Any other submit is the key's vote on a text: one per text,
    // learned into the key's own model layer, never the shared model (only the site's
    // moderators and `train` change that).
    let stored = match param(&p, "guid").map(str::to_string) {
        Some(guid) => match state.keys.comment_by_guid(&guid).await.ok().flatten() {
            Some(id) => state
                .store
                .get(id)
                .await
                .ok()
                .flatten()
                .filter(|c| c.article == namespace(key.id)),
            None => None,
        },
        None => None,
    };
    let to = if label.is_spam() {
        Status::Spam
    } else {
        Status::Published
    };
    // A correction to the status the check has already changes nothing, and writes nothing.
    if stored.as_ref().is_some_and(|c| c.status == to) {
        return text(StatusCode::OK, THANKS, &[]);
    }
    // A check's first correction is free: a blog's bulk "Not spam" on a page of 100 must not
    // lose 40 of them. Votes on free text, and a check corrected back and forth (each time a
    // copy of its text in the learning log), are budgeted, and a check takes at most
    // `MAX_CLIENT_CORRECTIONS` from its key.
    let corrections = match &stored {
        Some(c) => match state.store.history(c.id).await {
            Ok(events) => events.iter().filter(|e| e.actor == CLIENT_ACTOR).count(),
            Err(e) => return internal(e),
        },
        None => 0,
    };
    if corrections >= MAX_CLIENT_CORRECTIONS {
        return text(StatusCode::OK, THANKS, &[]);
    }
    let stored = stored.map(|c| c.id);
    if (stored.is_none() || corrections > 0) && !state.akismet_submits.take(key.id) {
        return text(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid",
            &[(
                "x-akismet-debug-help",
                format!(
                    "Too many submits for this API key (other than a check's first correction by \
                     its guid): at most {SUBMITS_PER_MINUTE} a minute. Try again in a minute."
                ),
            )],
        );
    }
    match stored {
        Some(id) => {
            if let Err(e) = state.store.set_status(id, to, CLIENT_ACTOR).await {
                return internal(e);
            }
        }
        None => match state
            .keys
            .record_submit(key.id, &example, SUBMIT_SOURCE)
            .await
        {
            Ok(SubmitVote::Repeated) => return text(StatusCode::OK, THANKS, &[]),
            Ok(_) => {}
            Err(e) => return internal(e),
        },
    }
    state.learner.nudge();
    text(StatusCode::OK, THANKS, &[])
}

/// `POST /1.1/submit-spam`.
pub async fn submit_spam(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    submit(state, headers, body, Label::Spam).await
}

/// `POST /1.1/submit-ham`.
pub async fn submit_ham(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    submit(state, headers, body, Label::Ham).await
}

/// `GET /1.2/usage-limit?api_key=…` → `{"limit", "usage", "percentage", "throttled"}`.
pub async fn usage_limit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let p = match form(query.as_bytes()) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(key) = key_from(&p, &headers) else {
        return invalid("Missing api_key.");
    };
    let found = match lookup(&state, &key).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid("Invalid API key: it is unknown or revoked."),
        Err(r) => return r,
    };
    let usage = match state
        .akismet_usage
        .usage(&*state.keys, found.id, &month_now())
        .await
    {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let (limit, percentage, throttled) = match found.quota {
        Some(q) if q > 0 => (
            serde_json::json!(q),
            format!("{:.2}", 100.0 * usage as f64 / q as f64),
            usage >= q,
        ),
        _ => (serde_json::json!("none"), "0.00".to_string(), false),
    };
    axum::Json(serde_json::json!({"limit": limit, "usage": usage, "percentage": percentage, "throttled": throttled})).into_response()
}
