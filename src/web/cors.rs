//! Requests from pages of other origins (the Isso-compatible API, the JSON API a site's own
//! script calls): which site a request is for, and CORS.
//!
//! The rule, for a site owner: every site lists the origins its pages are served from
//! (`replyguard sites add blog --origin https://blog.example.com`); the browser's `Origin` header
//! (or, without one, the `Referer`'s origin) names the site. Such a request is answered with
//! `Access-Control-Allow-Origin` set to exactly that origin and `Allow-Credentials: true`, and
//! every preflight (`OPTIONS`) is answered here. A request from an origin no site lists is
//! refused with 403 before any handler runs, so nothing is stored. A request from
//! replyguard's own origin, or without any origin (curl, a blog's server), is the default
//! site's: CORS binds browsers, and a client that is not a browser names no page.
//!
//! This binds browsers only (a bot can send any `Origin`): it keeps one site's pages from
//! writing into another's threads, it is not a spam defence.
//!
//! Why not tower-http's `CorsLayer`: it leaves the header out for a foreign origin but still runs
//! the handler, and a write from a foreign page must not be stored.

use super::AppState;
use super::error::WebError;
use crate::domain::{Site, SiteOrigin};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Methods a cross-origin page may use.
const METHODS: &str = "GET, HEAD, POST, PUT, DELETE";
/// Request headers a cross-origin page may send (Isso's widget sends `Content-Type:
/// application/json` on every call).
const HEADERS: &str = "Content-Type";
/// Response headers a cross-origin page may read: Isso's widget copies `X-Set-Cookie` into
/// `document.cookie` (its edit token) and corrects its clock from `Date`.
const EXPOSED: &str = "X-Set-Cookie, Date";
/// How long a browser may reuse a preflight answer, in seconds.
const MAX_AGE: &str = "600";

/// The site a cross-origin request is for, put in the request by [`guard`].
#[derive(Clone)]
pub struct SiteOf(pub Arc<Site>);

impl<S: Send + Sync> FromRequestParts<S> for SiteOf {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SiteOf>()
            .cloned()
            .ok_or_else(|| WebError::Internal("a route that needs a site has no site guard".into()))
    }
}

/// Where a request comes from, as far as sites go.
#[derive(Debug)]
enum Caller {
    /// A page of a configured origin of this site.
    Site(Arc<Site>, SiteOrigin),
    /// replyguard's own pages.
    Own,
    /// A client that sent no origin at all.
    Unnamed,
    /// An origin no site lists.
    Foreign(String),
}

/// The origin a request names: `Origin`, else the `Referer`'s origin; the text of one that is
/// not an http(s) origin (`null`, from a sandboxed frame or a file) is kept, to refuse it.
fn named_origin(headers: &HeaderMap) -> Option<Result<SiteOrigin, String>> {
    let text = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let raw = text(header::ORIGIN).or_else(|| text(header::REFERER))?;
    Some(SiteOrigin::of_header(&raw).ok_or(raw))
}

/// Whether `origin` is the address this request was sent to (replyguard's own pages).
fn is_own(origin: &SiteOrigin, headers: &HeaderMap, state: &AppState) -> bool {
    let authority = origin
        .as_str()
        .split_once("://")
        .map_or("", |(_, authority)| authority);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host
        .strip_suffix(":80")
        .filter(|_| origin.as_str().starts_with("http://"))
        .or_else(|| {
            host.strip_suffix(":443")
                .filter(|_| origin.as_str().starts_with("https://"))
        })
        .unwrap_or(&host);
    host == authority || state.public_origin.as_ref() == Some(origin)
}

fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    match named_origin(headers) {
        None => Caller::Unnamed,
        Some(Err(raw)) => Caller::Foreign(raw),
        Some(Ok(origin)) => match state.sites.by_origin(&origin) {
            Some(site) => Caller::Site(site, origin),
            None if is_own(&origin, headers, state) => Caller::Own,
            None => Caller::Foreign(origin.to_string()),
        },
    }
}

fn refused(why: String) -> Response {
    WebError::Forbidden(why).into_response()
}

/// Adds the CORS headers for `origin` to an answer.
fn allow(response: &mut Response, origin: &SiteOrigin) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin.as_str()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The middleware of every route pages of other origins call: resolves the site (handlers read
/// it with [`SiteOf`]), answers preflights, refuses foreign origins, adds the CORS headers. A
/// request that names no origin (a server-side client, `curl`) is the default site's.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    guarded(&state, request, next, true).await
}

/// [`guard`] for an API only pages call (Isso's): a write must name its page's origin, as every
/// browser's does; one without (a script posting straight to the API) is refused, not stored on
/// the default site. Reads without one still answer for the default site.
pub async fn pages_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    guarded(&state, request, next, false).await
}

async fn guarded(
    state: &AppState,
    mut request: Request,
    next: Next,
    unnamed_writes: bool,
) -> Response {
    let method = request.method().clone();
    let (site, origin) = match caller(state, request.headers()) {
        Caller::Site(site, origin) => (site, Some(origin)),
        Caller::Own => (state.sites.default_site(), None),
        Caller::Unnamed if !unnamed_writes && !method.is_safe() => {
            return refused(
                "this API is called by a site's pages: the request named no origin (no Origin \
                 or Referer header), so it belongs to no site; nothing was stored"
                    .to_string(),
            );
        }
        Caller::Unnamed => (state.sites.default_site(), None),
        // A page opened from a file or a sandboxed frame says `Origin: null`: no site can own
        // that, so no command is suggested for it.
        Caller::Foreign(origin) if origin == "null" => {
            return refused(
                "the page has no origin (Origin: null: a file, a sandboxed frame, a privacy \
                 redirect); serve it from the site's own address; nothing was stored"
                    .to_string(),
            );
        }
        Caller::Foreign(origin) => {
            return refused(format!(
                "origin {origin} is not an origin of any site on this server; nothing was \
                 stored (add it with `replyguard sites add NAME --origin {origin}`)"
            ));
        }
    };
    if method == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = &origin {
            allow(&mut response, origin);
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
        }
        return response;
    }
    request.extensions_mut().insert(SiteOf(site));
    let mut response = next.run(request).await;
    if let Some(origin) = &origin {
        allow(&mut response, origin);
    }
    response
}

/// For routes that serve the default site only (`/api/v1/articles…`): a page of another site is
/// refused (after [`guard`] has named the site).
pub async fn default_site_only(
    SiteOf(site): SiteOf,
    request: Request,
    next: Next,
) -> Result<Response, WebError> {
    if site.id != crate::domain::DEFAULT_SITE {
        return Err(WebError::Forbidden(format!(
            "this API serves the built-in articles (the default site); site `{}` has none",
            site.name
        )));
    }
    Ok(next.run(request).await)
}
