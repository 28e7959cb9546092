//! Error answers in the client's kind: every handler answers errors once, as JSON
//! ([`super::error::WebError`]); a browser (a request that accepts `text/html`) gets the same
//! status, headers and message as a page instead.

use super::{AppState, render};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Largest JSON error body turned into a page (they are a line or two).
const MAX_ERROR_BODY: usize = 64 * 1024;

fn accepts_html(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Middleware: JSON errors become HTML pages for browsers.
pub async fn for_browsers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let browser = accepts_html(&request);
    let response = next.run(request).await;
    let status = response.status();
    if !browser || !(status.is_client_error() || status.is_server_error()) || !is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| json.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "The request could not be completed.".into());
    let title = status.canonical_reason().unwrap_or("Error");
    let page = render::message_page(title, &message, &state.identity()).into_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}
