//! The ceiling for the HTTP benchmarks: a bare axum server on the same runtime and allocator as
//! `replyguard serve`, whose one handler reads the request body and answers `false`, as a
//! `comment-check` that decided "ham" would. `benches/http_load.sh akismet` runs it beside the
//! real server, alternately, and reports the ratio.
//!
//! With `--layers` the handler sits under the same kinds and number of middleware layers as
//! replyguard's Akismet routes (`web/router.rs`: one `from_fn` pass, the body limit, one
//! response-header layer, the request timeout and the trace layer), so the difference between the
//! two bare figures is what the layer stack costs, and what is left is the check itself.
//!
//! `--layers=NAME,…` applies only the named ones (`limit`, `nosniff`, `timeout`, `from_fn`,
//! `trace`; `tower_timeout`: tower-http's timeout, which the router used before), to see what
//! each costs on its own.
//!
//! usage: target/release/deps/bare_axum-… ADDRESS [--layers[=NAME,…]]   (prints `listening on http://ADDR/`)

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn check(body: Bytes) -> &'static str {
    if body.is_empty() { "invalid" } else { "false" }
}

async fn pass(request: Request, next: Next) -> Response {
    next.run(request).await
}

/// The layers named in `only` (all of them when `None`), innermost first as in the router.
fn layered(mut app: Router, only: Option<&[&str]>) -> Router {
    let wanted = |name: &str| only.is_none_or(|names| names.contains(&name));
    if wanted("limit") {
        app = app.layer(DefaultBodyLimit::max(64 * 1024));
    }
    if wanted("nosniff") {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    }
    if wanted("timeout") {
        app = app.layer(replyguard::web::timeout::RequestTimeoutLayer::new(
            Duration::from_secs(30),
        ));
    }
    // tower-http's, which the router used before: a timer made and dropped for every request.
    if only.is_some() && wanted("tower_timeout") {
        app = app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    }
    if wanted("from_fn") {
        app = app.layer(middleware::from_fn(pass));
    }
    if wanted("trace") {
        app = app.layer(tower_http::trace::TraceLayer::new_for_http());
    }
    app
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let layers = args.next();
    let only: Option<Vec<&str>> = layers
        .as_deref()
        .and_then(|flag| flag.strip_prefix("--layers="))
        .map(|names| names.split(',').collect());
    let with_layers = layers
        .as_deref()
        .is_some_and(|flag| flag.starts_with("--layers"));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    let app = Router::new().route("/1.1/comment-check", post(check));
    let app = if with_layers {
        layered(app, only.as_deref())
    } else {
        app
    };
    axum::serve(listener, app).await
}
