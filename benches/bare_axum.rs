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
//! usage: target/release/deps/bare_axum-… ADDRESS [--layers]   (prints `listening on http://ADDR/`)

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

fn layered(app: Router) -> Router {
    app.layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn(pass))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let with_layers = args.next().as_deref() == Some("--layers");
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    let app = Router::new().route("/1.1/comment-check", post(check));
    let app = if with_layers { layered(app) } else { app };
    axum::serve(listener, app).await
}
