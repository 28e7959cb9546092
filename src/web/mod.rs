//! The web layer: the article page and reply form, the JSON API, moderation, health and metrics.
//! Data flows one way: request → parse into a `Submission` → classify → decide → store → respond.

mod admin;
mod admin_pages;
mod akismet;
mod api;
mod assets;
pub mod client_ip;
pub mod error;
pub mod form;
#[doc(hidden)]
pub mod fuzz;
pub mod guard;
pub mod learner;
pub mod model_holder;
mod page_cache;
mod pages;
pub mod render;
pub mod submit;

use crate::articles::{self, Article};
use crate::engine::Verdict;
use crate::storage::{AkismetStore, CommentStore, SqliteStore, Status};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use guard::PostGuard;
use model_holder::ModelHolder;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use subtle::ConstantTimeEq;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest request body accepted (the form, the JSON API).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub model: PathBuf,
    pub db: crate::storage::Database,
    pub articles: Option<PathBuf>,
    pub flood_seconds: u64,
    pub rate_limit: u32,
    pub admin_token: Option<String>,
    /// Longest time a request may take, body included (slow clients get 408).
    pub request_timeout: std::time::Duration,
    /// Overrides of the model's thresholds, kept across reloads.
    pub hold_threshold: Option<f64>,
    pub reject_threshold: Option<f64>,
    /// How the site's own decisions are learned while serving.
    pub learning: crate::engine::online::LearningParams,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The admin secret, kept only as a SHA-256 hash and compared in constant time.
pub struct AdminSecret {
    hash: [u8; 32],
}

impl AdminSecret {
    fn hash_of(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn from_hex(encoded: &str) -> Option<Self> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(encoded, &mut hash).ok()?;
        Some(AdminSecret { hash })
    }

    /// True when `token` is the admin secret.
    pub fn verify(&self, token: &str) -> bool {
        Self::hash_of(token).ct_eq(&self.hash).into()
    }
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(&bytes)
}

/// Upper bounds (seconds) of the request-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

/// Counters for `/metrics`, updated lock-free.
#[derive(Default)]
pub struct Metrics {
    published: AtomicU64,
    held: AtomicU64,
    rejected: AtomicU64,
    /// Responses by status class 1xx..5xx.
    responses: [AtomicU64; 5],
    /// Cumulative histogram counts per bucket, plus the +Inf bucket.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn comment(&self, verdict: Verdict) {
        let counter = match verdict {
            Verdict::Published => &self.published,
            Verdict::Held => &self.held,
            Verdict::Rejected => &self.rejected,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn request(&self, status: StatusCode, elapsed: std::time::Duration) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, model_version: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP replyguard_comments_total Comments received, by classifier verdict."
        );
        let _ = writeln!(out, "# TYPE replyguard_comments_total counter");
        for (name, counter) in [
            ("published", &self.published),
            ("held", &self.held),
            ("rejected", &self.rejected),
        ] {
            let _ = writeln!(
                out,
                "replyguard_comments_total{{verdict=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP replyguard_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE replyguard_http_responses_total counter");
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "replyguard_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP replyguard_http_request_duration_seconds Time to answer a request."
        );
        let _ = writeln!(
            out,
            "# TYPE replyguard_http_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, counter) in self.latency.iter().enumerate() {
            cumulative += counter.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "replyguard_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "replyguard_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "replyguard_http_request_duration_seconds_count {cumulative}"
        );
        let _ = writeln!(out, "# HELP replyguard_model_info The model in service.");
        let _ = writeln!(out, "# TYPE replyguard_model_info gauge");
        let _ = writeln!(
            out,
            "replyguard_model_info{{version=\"{model_version}\"}} 1"
        );
        out
    }
}

/// Records every response's status class and latency.
async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.request(response.status(), started.elapsed());
    response
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn CommentStore>,
    pub keys: Arc<dyn AkismetStore>,
    akismet_keys: Arc<akismet::KeyCache>,
    pub models: Arc<ModelHolder>,
    /// The Markdown articles (or the built-in one) and the imported ones, refreshed when an
    /// import adds articles (see [`refresh_articles`]).
    articles: Arc<arc_swap::ArcSwap<Vec<Article>>>,
    file_articles: Arc<Vec<Article>>,
    pub imports: Arc<dyn crate::storage::ImportStore>,
    pub guard: Arc<PostGuard>,
    pub admin: Arc<AdminSecret>,
    pub metrics: Arc<Metrics>,
    pub learner: Arc<learner::Learner>,
    pub proxies: Arc<client_ip::TrustedProxies>,
    sessions: Arc<admin_pages::Sessions>,
    page_cache: Arc<page_cache::PageCache>,
    /// Key for the links that let the author of a held comment see it.
    pending_key: Arc<String>,
}

/// What `AppState::open` reports back for the log.
pub struct Opened {
    pub state: AppState,
    /// A freshly generated admin token, to print once.
    pub generated_token: Option<String>,
}

/// Stores a setting; on a database that cannot be written now (read-only, full) the value still
/// serves this run, and the server starts to show what is stored.
fn remember(
    store: &SqliteStore,
    key: &str,
    value: &str,
) -> Result<(), crate::storage::StorageError> {
    match store.set_setting(key, value) {
        Err(e) if e.unavailable_reason().is_some() => {
            tracing::warn!(setting = key, error = %e, "setting kept for this run only");
            Ok(())
        }
        other => other,
    }
}

impl AppState {
    /// Opens the database, the model and the articles.
    pub fn open(config: &ServeConfig) -> anyhow::Result<Opened> {
        let overrides = model_holder::ThresholdOverrides {
            hold: config.hold_threshold,
            reject: config.reject_threshold,
        };
        let models = ModelHolder::open(config.model.clone(), overrides, config.learning)?;
        let store = crate::storage::open(&config.db)?;
        let articles = match &config.articles {
            Some(dir) => articles::load_dir(dir)?,
            None => vec![articles::default_article()],
        };
        let mut generated_token = None;
        let admin = match &config.admin_token {
            Some(token) if !token.trim().is_empty() => {
                let hash = AdminSecret::hash_of(token.trim());
                remember(&store, "admin_token_sha256", &hex::encode(hash))?;
                AdminSecret { hash }
            }
            _ => match store
                .setting("admin_token_sha256")?
                .as_deref()
                .and_then(AdminSecret::from_hex)
            {
                Some(secret) => secret,
                None => {
                    let token = random_hex(24);
                    let hash = AdminSecret::hash_of(&token);
                    remember(&store, "admin_token_sha256", &hex::encode(hash))?;
                    generated_token = Some(token);
                    AdminSecret { hash }
                }
            },
        };
        let pending_key = match store.setting("pending_link_key")? {
            Some(key) => key,
            None => {
                let key = random_hex(32);
                remember(&store, "pending_link_key", &key)?;
                key
            }
        };
        // The model learns every decision already logged before it serves a verdict.
        let learned = learner::catch_up(&store, &models)?;
        if learned > 0 {
            tracing::info!(learned, "learned the site's logged moderation decisions");
        }
        let store = Arc::new(store);
        let sessions = Arc::new(admin_pages::Sessions::new(store.clone()));
        let imported = crate::storage::ImportStore::public_articles(&*store)?;
        let state = AppState {
            articles: Arc::new(arc_swap::ArcSwap::from_pointee(with_imported(
                &articles, imported,
            ))),
            file_articles: Arc::new(articles),
            imports: store.clone(),
            keys: store.clone(),
            akismet_keys: Arc::new(akismet::KeyCache::default()),
            store,
            models: Arc::new(models),
            guard: Arc::new(PostGuard::new(config.flood_seconds, config.rate_limit)),
            admin: Arc::new(admin),
            metrics: Arc::new(Metrics::default()),
            learner: Arc::new(learner::Learner::default()),
            proxies: Arc::new(client_ip::TrustedProxies::new(
                config.trusted_proxies.clone(),
            )),
            sessions,
            page_cache: Arc::new(page_cache::PageCache::default()),
            pending_key: Arc::new(pending_key),
        };
        Ok(Opened {
            state,
            generated_token,
        })
    }

    /// The article with this slug.
    pub fn article(&self, slug: &str) -> Option<Article> {
        self.articles
            .load()
            .iter()
            .find(|a| a.slug == slug)
            .cloned()
    }

    /// Every article served, newest first.
    pub fn articles(&self) -> Arc<Vec<Article>> {
        self.articles.load_full()
    }

    /// Reads the imported articles again and serves them with the Markdown ones.
    pub fn reload_articles(&self) -> Result<usize, crate::storage::StorageError> {
        let imported = self.imports.public_articles()?;
        let all = with_imported(&self.file_articles, imported);
        let n = all.len();
        self.articles.store(Arc::new(all));
        Ok(n)
    }

    /// The model in service as shown in page footers: version and training date.
    pub fn model_label(&self) -> String {
        let served = self.models.current();
        let date = served
            .model
            .meta
            .created_at
            .get(..10)
            .unwrap_or(&served.model.meta.created_at);
        format!("{}, trained {date}", served.version)
    }

    /// Signature of the link that shows a held comment to its author.
    pub fn pending_hash(&self, id: i64) -> String {
        let digest = Sha256::digest(format!("{}:{id}", self.pending_key).as_bytes());
        hex::encode(&digest[..12])
    }

    fn pending_hash_matches(&self, id: i64, hash: &str) -> bool {
        self.pending_hash(id)
            .as_bytes()
            .ct_eq(hash.as_bytes())
            .into()
    }
}

/// The Markdown articles and the imported ones, newest first; a Markdown article keeps its slug
/// if an imported one has the same.
fn with_imported(files: &[Article], imported: Vec<crate::storage::StoredArticle>) -> Vec<Article> {
    let mut all = files.to_vec();
    for a in imported {
        if all.iter().any(|f| f.slug == a.slug) {
            continue;
        }
        all.push(Article {
            slug: a.slug,
            title: a.title,
            date: a.date.get(..10).unwrap_or(&a.date).to_string(),
            author: a.author,
            // Sanitized when it was imported; cleaned again here in case the database was
            // written by something else.
            html: crate::import::sanitize::article_html(&a.html),
        });
    }
    all.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    all
}

/// Reloads the served articles when an import (any process on this database) changed them.
async fn refresh_articles(state: AppState) {
    let mut seen = None;
    loop {
        let store = state.store.clone();
        let version = tokio::task::spawn_blocking(move || store.setting(ARTICLES_VERSION)).await;
        if let Ok(Ok(version)) = version
            && version != seen
        {
            if seen.is_some() || version.is_some() {
                let state = state.clone();
                match tokio::task::spawn_blocking(move || state.reload_articles()).await {
                    Ok(Ok(n)) => tracing::info!(articles = n, "articles reloaded after an import"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot reload the imported articles"),
                    Err(e) => tracing::warn!(error = %e, "article reload task failed"),
                }
            }
            seen = version;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// The setting an import moves when it adds or changes articles.
pub use crate::storage::ARTICLES_VERSION;

/// All routes.
pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/articles/{slug}", get(pages::article))
        .route("/articles/{slug}/comments", post(pages::post_comment))
        .route("/api/v1/articles", get(api::list_articles))
        .route(
            "/api/v1/articles/{slug}/comments",
            get(api::list_comments).post(api::create_comment),
        )
        .route("/api/v1/classify", post(api::classify))
        .route("/api/v1/admin/comments", get(admin::queue))
        .route("/api/v1/admin/comments/{id}/{action}", post(admin::act))
        .route("/api/v1/admin/model/reload", post(admin::reload))
        .route("/admin", get(admin_pages::queue))
        .route("/admin/login", post(admin_pages::login))
        .route("/admin/logout", post(admin_pages::logout))
        .route("/admin/comments/{id}/{action}", post(admin_pages::act))
        .route("/1.1/verify-key", post(akismet::verify_key))
        .route("/1.1/comment-check", post(akismet::comment_check))
        .route("/1.1/submit-spam", post(akismet::submit_spam))
        .route("/1.1/submit-ham", post(akismet::submit_ham))
        .route("/1.2/usage-limit", get(akismet::usage_limit))
        .route("/static/site.css", get(assets::site_css))
        .route("/static/admin.css", get(assets::admin_css))
        .route("/static/comments.js", get(assets::comments_js))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(pages::moved_or_missing)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // The policy and the referrer rule matter for pages only; API answers stay small.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            |response: &axum::response::Response| {
                is_html(response).then(|| HeaderValue::from_static(assets::CONTENT_SECURITY_POLICY))
            },
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            |response: &axum::response::Response| {
                is_html(response).then(|| HeaderValue::from_static("same-origin"))
            },
        ))
        // Covers reading the body too: a client that trickles its request (slowloris) gets 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            track,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

fn is_html(response: &axum::response::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let served = state.models.current();
    let store = state.store.clone();
    let database = tokio::task::spawn_blocking(move || store.ping())
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false);
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // A stand-in model still filters comments: "degraded", but still 200 so the service stays in
    // rotation.
    let healthy = database && served.problem.is_none();
    (
        status,
        axum::Json(json!({
            "status": if healthy { "ok" } else { "degraded" },
            "database": if database { "ok" } else { "unavailable" },
            "model": {
                "version": served.version,
                "created_at": served.model.meta.created_at,
                "source": if served.problem.is_some() { "shipped" } else { "file" },
                "problem": served.problem,
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

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state.metrics.render(&state.models.current().version);
    let store = state.store.clone();
    if let Ok(Ok(counts)) = tokio::task::spawn_blocking(move || store.count_by_status()).await {
        body.push_str("# HELP replyguard_stored_comments Stored comments by moderation status.\n");
        body.push_str("# TYPE replyguard_stored_comments gauge\n");
        for status in [Status::Published, Status::Held, Status::Spam, Status::Trash] {
            let n = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            body.push_str(&format!(
                "replyguard_stored_comments{{status=\"{}\"}} {n}\n",
                status.as_str()
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Runs the server until SIGTERM or Ctrl-C; SIGHUP reloads the model.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let Opened {
        state,
        generated_token,
    } = AppState::open(&config)?;
    if let Some(token) = generated_token {
        tracing::warn!(
            "generated an admin token (shown once, only its hash is stored): {token} — \
             set REPLYGUARD_ADMIN_TOKEN to choose your own"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // One line on stdout for people and scripts; the rest of the log goes to stderr.
    println!("replyguard listening on http://{addr}/");
    tracing::info!(%addr, model = %state.models.current().version, db = %config.db, "serving");

    tokio::spawn(refresh_articles(state.clone()));
    tokio::spawn(learner::run(
        state.learner.clone(),
        state.store.clone(),
        state.models.clone(),
    ));

    #[cfg(unix)]
    {
        let models = state.models.clone();
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let models = models.clone();
                match tokio::task::spawn_blocking(move || models.reload()).await {
                    Ok(Ok(version)) => tracing::info!(%version, "model reloaded on SIGHUP"),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "model reload refused; the previous model keeps serving")
                    }
                    Err(e) => tracing::error!(error = %e, "model reload task failed"),
                }
            }
        });
    }

    axum::serve(
        listener,
        router(state, config.request_timeout).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("stopped; every acknowledged comment is committed");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
