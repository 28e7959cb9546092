//! A static site for the embedding tests: its own port (so another origin than replyguard's),
//! pages written from the comment server's address once that is known, and files served as they
//! are. Runs on the test's tokio runtime.

use std::sync::{Arc, OnceLock};

/// What a path of the static site answers.
pub enum Page {
    /// An HTML page made from replyguard's base address (`http://127.0.0.1:PORT/`), served with
    /// a strict Content-Security-Policy that allows that origin for script, style and connect
    /// (what a careful static site sends).
    Html(fn(&str) -> String),
    /// A file as it is, with its media type.
    File(&'static str, Vec<u8>),
}

pub struct StaticSite {
    /// `http://127.0.0.1:PORT`: the site's origin.
    pub base: String,
    /// replyguard's base address, set once it runs ([`StaticSite::serve_for`]).
    server: Arc<OnceLock<String>>,
}

impl StaticSite {
    pub async fn start(pages: Vec<(&'static str, Page)>) -> StaticSite {
        let server = Arc::new(OnceLock::<String>::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut app = axum::Router::new();
        for (path, page) in pages {
            let server = server.clone();
            let page = Arc::new(page);
            app = app.route(
                path,
                axum::routing::get(move || {
                    let (server, page) = (server.clone(), page.clone());
                    async move {
                        let server = server.get().cloned().unwrap_or_default();
                        match &*page {
                            Page::Html(make) => {
                                let origin = server.trim_end_matches('/');
                                let policy = format!(
                                    "default-src 'self'; script-src 'self' {origin}; \
                                     style-src 'self' {origin}; connect-src {origin}; \
                                     img-src 'self' data:"
                                );
                                (
                                    [
                                        ("content-type", "text/html; charset=utf-8".to_string()),
                                        ("content-security-policy", policy),
                                    ],
                                    make(&server).into_bytes(),
                                )
                            }
                            Page::File(kind, body) => (
                                [
                                    ("content-type", kind.to_string()),
                                    ("x-static", "1".to_string()),
                                ],
                                body.clone(),
                            ),
                        }
                    }
                }),
            );
        }
        tokio::spawn(async move { axum::serve(listener, app).await });
        StaticSite { base, server }
    }

    /// Names replyguard's base address (`http://127.0.0.1:PORT/`) in the pages from now on.
    pub fn serve_for(&self, server_base: &str) {
        let _ = self
            .server
            .set(format!("{}/", server_base.trim_end_matches('/')));
    }
}
