//! The ceiling for the HTTP benchmarks: a bare axum server on the same runtime and allocator as
//! `replyguard serve`, whose one handler reads the request body and answers `false`, as a
//! `comment-check` that decided "ham" would. `benches/http_load.sh akismet` runs it beside the
//! real server, alternately, and reports the ratio.
//!
//! usage: target/release/deps/bare_axum-… ADDRESS   (prints `listening on http://ADDR/`)

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn check(body: Bytes) -> &'static str {
    if body.is_empty() { "invalid" } else { "false" }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    let app = Router::new().route("/1.1/comment-check", post(check));
    axum::serve(listener, app).await
}
