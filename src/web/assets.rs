//! The static files of the pages, compiled into the binary: the site and admin stylesheets and
//! the reply form's script. Their paths carry the crate version, so browsers may cache them.

use axum::http::header;
use axum::response::IntoResponse;

/// The public pages' stylesheet.
pub const SITE_CSS_PATH: &str = concat!("/static/site.css?v=", env!("CARGO_PKG_VERSION"));
/// The moderation pages' stylesheet.
pub const ADMIN_CSS_PATH: &str = concat!("/static/admin.css?v=", env!("CARGO_PKG_VERSION"));
/// The reply form's progressive enhancement (the form works without it).
pub const COMMENTS_JS_PATH: &str = concat!("/static/comments.js?v=", env!("CARGO_PKG_VERSION"));

const SITE_CSS: &str = include_str!("assets/site.css");
const ADMIN_CSS: &str = include_str!("assets/admin.css");
const COMMENTS_JS: &str = include_str!("assets/comments.js");
const EMBED_JS: &str = include_str!("assets/embed.js");
const EMBED_CSS: &str = include_str!("assets/embed.css");

/// Every page's Content-Security-Policy: scripts and styles only from these files, no inline
/// script, no plugins, forms post only here, no framing. A markup injection that escaped the
/// templates still could not run script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}

/// `GET /static/site.css`.
pub async fn site_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", SITE_CSS)
}

/// `GET /static/admin.css`.
pub async fn admin_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", ADMIN_CSS)
}

/// `GET /static/comments.js`.
pub async fn comments_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", COMMENTS_JS)
}

/// `GET /embed/v1/embed.js`: the script a static site adds to embed a thread (the path is
/// versioned: a change that breaks pages gets a new one).
pub async fn embed_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", EMBED_JS)
}

/// `GET /embed/v1/embed.css`: the embed's styles, loaded by the script.
pub async fn embed_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", EMBED_CSS)
}
