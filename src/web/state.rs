//! What every handler shares ([`AppState`]) and how `serve` opens it from its configuration.

use super::model_holder::{self, ModelHolder};
use super::secret::{self, AdminSecret, random_hex};
use super::{Metrics, admin_pages, akismet, client_ip, learner, page_cache};
use crate::articles::{self, Article};
use crate::storage::{AkismetStore, CommentStore, Store};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use subtle::ConstantTimeEq;

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
    /// A comment published on arrival that nobody challenged for this long is learned as the
    /// site's ham (`--learn-published-after`).
    pub learn_published_after: std::time::Duration,
    /// ... or once this many readers' comments followed it (`--learn-published-after-comments`).
    pub learn_published_after_comments: u64,
    /// The rules of a site that never saved its own (`--trust-returning-authors`,
    /// `--spam-history-days`, `--hold-links-at`, `--min-form-seconds`).
    pub default_rules: crate::domain::site_rules::SiteRules,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The site's public address (`--public-url`): an `https` one marks cookies `Secure`.
    pub public_url: Option<url::Url>,
    /// Header timeout and connection caps.
    pub connections: super::conn::ConnectionLimits,
    /// Origins added to the default site for this run (`--site-origin`).
    pub site_origins: Vec<crate::domain::SiteOrigin>,
    /// Site identity settings given as flags (`site.title` …), stored at start.
    pub identity: Vec<(&'static str, String)>,
    /// Outgoing mail (`--smtp-url`, `--smtp-from`), for notifications.
    pub mailer: Option<Arc<super::mail::Mailer>>,
    /// Scores and clues only for the admin secret (`--private-scores`).
    pub private_scores: bool,
}

/// Shared state of every handler: one `Arc`, so the clone axum makes for each request (and each
/// middleware layer) is one reference count, not one per field. With a field each, cloning and
/// dropping the state were ~11% of the server's CPU samples under load (perf, 14 reference
/// counts bouncing between cores per clone).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub store: Arc<dyn CommentStore>,
    pub keys: Arc<dyn AkismetStore>,
    pub(super) akismet_keys: Arc<akismet::KeyCache>,
    /// Akismet calls per key and month, counted in memory ([`super::usage_meter`]).
    pub(super) akismet_usage: Arc<super::usage_meter::UsageMeter>,
    /// Akismet submits per key and minute.
    pub(super) akismet_submits: akismet::SubmitBudget,
    pub models: Arc<ModelHolder>,
    /// The Markdown articles (or the built-in one) and the imported ones, refreshed when an
    /// import adds articles (see [`refresh_articles`]).
    pub(super) articles: Arc<arc_swap::ArcSwap<Vec<Article>>>,
    pub(super) file_articles: Arc<Vec<Article>>,
    pub imports: Arc<dyn crate::storage::ImportStore>,
    /// The sites and their threads, as stored.
    pub site_store: Arc<dyn crate::storage::SiteStore>,
    /// The notification outbox ([`super::notify`]).
    pub outbox: Arc<dyn crate::storage::OutboxStore>,
    /// Outgoing mail, when the operator configured SMTP.
    pub mailer: Option<Arc<super::mail::Mailer>>,
    /// Scores and clues only for the admin secret (`--private-scores`).
    pub private_scores: bool,
    /// Damage the database check after start found (`/healthz` says `degraded`).
    pub(super) damage: std::sync::OnceLock<String>,
    /// Why this process cannot write the database, found at start (`/healthz` says it).
    pub(super) unwritable: std::sync::OnceLock<String>,
    /// The SQLite database's file, whose disk `/healthz` watches (`None` on PostgreSQL).
    pub(super) sqlite_path: Option<std::path::PathBuf>,
    /// The sites, as requests look them up.
    pub sites: Arc<super::sites::Sites>,
    /// Posting limits per client address, counted by the store (shared by replicas).
    pub limits: crate::storage::PostLimits,
    pub admin: Arc<AdminSecret>,
    pub metrics: Arc<Metrics>,
    pub learner: Arc<learner::Learner>,
    pub proxies: Arc<client_ip::TrustedProxies>,
    pub(super) sessions: Arc<admin_pages::Sessions>,
    pub(super) page_cache: Arc<page_cache::PageCache>,
    /// Key for the links that let the author of a held comment see it.
    pub(super) pending_key: Arc<String>,
    /// Each site's rules (keys, links, time trap, reputation).
    pub rules: Arc<super::site_rules::RulesCache>,
    /// Wrong admin tokens by address (sign-in form and bearer).
    pub(super) auth_throttle: super::throttle::AuthThrottle,
    /// `--public-url` is `https`.
    pub(super) public_https: bool,
    /// `--public-url`, for the absolute links feeds need.
    pub(super) public_url: Option<url::Url>,
    /// The origin of `--public-url`: replyguard's own pages.
    pub(super) public_origin: Option<crate::domain::SiteOrigin>,
    /// The site's identity on its pages ([`super::identity`]), swapped when /admin saves settings.
    pub(super) identity: Arc<arc_swap::ArcSwap<super::identity::Identity>>,
}

/// Shortest admin token accepted at start.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// One served article, borrowed from the list it was found in.
pub struct ArticleRef {
    all: Arc<Vec<Article>>,
    index: usize,
}

impl std::ops::Deref for ArticleRef {
    type Target = Article;

    fn deref(&self) -> &Article {
        &self.all[self.index]
    }
}

/// What `AppState::open` reports back for the log.
pub struct Opened {
    pub state: AppState,
    /// A freshly generated admin token, to print once.
    pub generated_token: Option<String>,
}

/// The value of setting `key` every process on this database agrees on: the stored one when
/// `keep` accepts it; otherwise `make`'s (the value and its stored form), written only if the
/// setting did not change meanwhile (compare-and-set), else the stored one is read again. `true`
/// when this process's value was stored. On a database that cannot be written now, `make`'s value
/// serves this run.
async fn agreed_setting<T>(
    store: &dyn Store,
    key: &str,
    keep: impl Fn(&str) -> Option<T>,
    make: impl Fn() -> Result<(T, String), String>,
) -> anyhow::Result<(T, bool)> {
    for _ in 0..5 {
        let current = store.setting(key).await?;
        if let Some(kept) = current.as_deref().and_then(&keep) {
            return Ok((kept, false));
        }
        let (made, stored) = make().map_err(anyhow::Error::msg)?;
        match store
            .replace_setting(key, current.as_deref(), &stored)
            .await
        {
            Ok(true) => return Ok((made, true)),
            Ok(false) => continue,
            Err(e) if e.unavailable_reason().is_some() => {
                tracing::warn!(setting = key, error = %e, "setting kept for this run only");
                return Ok((made, true));
            }
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the setting `{key}` kept changing while this server started; start it again")
}

/// Stores a setting; on a database that cannot be written now (read-only, full) the value still
/// serves this run, and the server starts to show what is stored.
async fn remember(
    store: &dyn Store,
    key: &str,
    value: &str,
) -> Result<(), crate::storage::StorageError> {
    match store.set_setting(key, value).await {
        Err(e) if e.unavailable_reason().is_some() => {
            tracing::warn!(setting = key, error = %e, "setting kept for this run only");
            Ok(())
        }
        other => other,
    }
}

/// Stores a setting given by a flag (`--site-title` …) when the flag is new or changed since it
/// was last applied: a flag kept in a service's environment must not undo, at every restart,
/// what was changed since in `/admin/settings` (or `sites add default --title`). The value last
/// applied is kept beside the setting, as `KEY.flag`.
async fn apply_flag(
    store: &dyn Store,
    key: &str,
    value: &str,
) -> Result<(), crate::storage::StorageError> {
    let applied = format!("{key}.flag");
    if store.setting(&applied).await?.as_deref() == Some(value) {
        if store.setting(key).await?.as_deref() != Some(value) {
            tracing::info!(
                setting = key,
                "kept as changed since (in /admin/settings); its flag is the same as when it was applied"
            );
        }
        return Ok(());
    }
    remember(store, key, value).await?;
    remember(store, &applied, value).await
}

impl AppState {
    /// Opens the database, the model and the articles.
    pub async fn open(config: &ServeConfig) -> anyhow::Result<Opened> {
        let overrides = model_holder::ThresholdOverrides {
            hold: config.hold_threshold,
            reject: config.reject_threshold,
        };
        // Everything the flags can get wrong is checked before the database is opened, which
        // creates it: a refused start leaves no new file behind.
        let models = ModelHolder::open(config.model.clone(), overrides, config.learning)?;
        let articles = match &config.articles {
            Some(dir) => articles::load_dir(dir)?,
            None => vec![articles::default_article()],
        };
        let given_token = config
            .admin_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(token) = given_token
            && token.chars().count() < MIN_ADMIN_TOKEN_CHARS
        {
            anyhow::bail!(
                "the admin token (--admin-token / REPLYGUARD_ADMIN_TOKEN) is {} characters; \
                 it must be at least {MIN_ADMIN_TOKEN_CHARS} (e.g. `openssl rand -hex 24`)",
                token.chars().count()
            );
        }
        let identity = config
            .identity
            .iter()
            .map(|(key, value)| super::identity::validate(key, value).map(|v| (*key, v)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| anyhow::anyhow!(e))?;
        let store = crate::storage::open(&config.db).await?;
        let mut generated_token = None;
        let admin = match given_token {
            Some(token) => {
                // The stored hash is kept when it is this token's; otherwise this token's
                // replaces it — once, whichever replica starting at the same moment writes first,
                // so admin sessions (bound to the hash) hold on all of them.
                let (secret, _) = agreed_setting(
                    &*store,
                    secret::SETTING,
                    |stored| AdminSecret::from_phc(stored).filter(|s| s.matches_blocking(token)),
                    || AdminSecret::from_token(token),
                )
                .await?;
                // Kept or made, the secret is this token's.
                secret.trust(token);
                secret
            }
            _ => {
                let stored = store.setting(secret::SETTING).await?;
                let legacy = store.setting(secret::LEGACY_SETTING).await?;
                match (
                    stored.as_deref().and_then(AdminSecret::from_phc),
                    legacy.as_deref().and_then(AdminSecret::from_sha256_hex),
                ) {
                    (Some(secret), _) | (None, Some(secret)) => secret,
                    (None, None) => {
                        let token = random_hex(24);
                        let (secret, made) =
                            agreed_setting(&*store, secret::SETTING, AdminSecret::from_phc, || {
                                AdminSecret::from_token(&token)
                            })
                            .await?;
                        // Another process's token won: it printed its own.
                        if made {
                            secret.trust(&token);
                            generated_token = Some(token);
                        }
                        secret
                    }
                }
            }
        };
        if !admin.is_legacy() {
            // The old unsalted hash goes once a salted one is stored.
            if store
                .setting(secret::LEGACY_SETTING)
                .await?
                .is_some_and(|v| !v.is_empty())
            {
                remember(&*store, secret::LEGACY_SETTING, "").await?;
            }
        }
        // Signed links must verify on every replica: one key, whoever made it first.
        let (pending_key, _) = agreed_setting(
            &*store,
            "pending_link_key",
            |stored| Some(stored.to_string()),
            || {
                let key = random_hex(32);
                Ok((key.clone(), key))
            },
        )
        .await?;
        // The model learns every decision already logged before it serves a verdict.
        let models = Arc::new(models);
        learner::remember_marks_in_file(&*store, &models).await?;
        let learned = learner::catch_up(&*store, &models).await?;
        if learned > 0 {
            tracing::info!(learned, "learned the site's logged moderation decisions");
        }
        for (key, value) in &identity {
            apply_flag(&*store, key, value).await?;
        }
        let site = super::identity::Identity::load(&*store).await?;
        // `--public-url`, else the public address saved in /admin → Settings (read at start).
        let public_url = config.public_url.clone().or_else(|| {
            url::Url::parse(&site.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
        });
        let sessions = Arc::new(admin_pages::Sessions::new(store.clone(), &admin.binding()));
        let imported = store.public_articles().await?;
        let sites = super::sites::Sites::load(&*store, config.site_origins.clone()).await?;
        let state = AppState(Arc::new(Shared {
            site_store: store.clone(),
            outbox: store.clone(),
            mailer: config.mailer.clone(),
            private_scores: config.private_scores,
            damage: std::sync::OnceLock::new(),
            unwritable: std::sync::OnceLock::new(),
            sqlite_path: match &config.db {
                crate::storage::Database::Sqlite(path) => Some(path.clone()),
                _ => None,
            },
            sites: Arc::new(sites),
            public_origin: public_url
                .as_ref()
                .and_then(|u| crate::domain::SiteOrigin::of_header(u.as_str())),
            articles: Arc::new(arc_swap::ArcSwap::from_pointee(with_imported(
                &articles, imported,
            ))),
            file_articles: Arc::new(articles),
            imports: store.clone(),
            keys: store.clone(),
            akismet_keys: Arc::new(akismet::KeyCache::default()),
            akismet_usage: Arc::default(),
            akismet_submits: akismet::SubmitBudget::default(),
            store,
            models,
            limits: crate::storage::PostLimits {
                flood: std::time::Duration::from_secs(config.flood_seconds),
                per_minute: config.rate_limit,
            },
            admin: Arc::new(admin),
            metrics: Arc::new(Metrics::default()),
            learner: Arc::new(learner::Learner::default()),
            proxies: Arc::new(client_ip::TrustedProxies::new(
                config.trusted_proxies.clone(),
            )),
            sessions,
            page_cache: Arc::new(page_cache::PageCache::default()),
            pending_key: Arc::new(pending_key),
            rules: Arc::new(super::site_rules::RulesCache::new(
                config.default_rules.clone(),
            )),
            auth_throttle: super::throttle::AuthThrottle::default(),
            identity: Arc::new(arc_swap::ArcSwap::from_pointee(site)),
            public_https: public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
            public_url,
        }));
        Ok(Opened {
            state,
            generated_token,
        })
    }

    /// The article with this slug: a handle on the served list, so a page view copies nothing.
    pub fn article(&self, slug: &str) -> Option<ArticleRef> {
        let all = self.articles.load_full();
        let index = all.iter().position(|a| a.slug == slug)?;
        Some(ArticleRef { all, index })
    }

    /// Whether thread `key` of site `site` is closed to readers' writes (a page imported closed
    /// or closed by its owner; on the default site an article's slug, closed with `replyguard
    /// sites close default /articles/SLUG`, beside the article's own flag). A page with no thread
    /// yet is open.
    pub async fn thread_closed(
        &self,
        site: i64,
        key: &str,
    ) -> Result<bool, crate::storage::StorageError> {
        Ok(self
            .site_store
            .thread(site, key)
            .await?
            .is_some_and(|t| !t.comments_open))
    }

    /// Every article served, newest first.
    pub fn articles(&self) -> Arc<Vec<Article>> {
        self.articles.load_full()
    }

    /// Reads the imported articles again and serves them with the Markdown ones.
    pub async fn reload_articles(&self) -> Result<usize, crate::storage::StorageError> {
        let imported = self.imports.public_articles().await?;
        let all = with_imported(&self.file_articles, imported);
        let n = all.len();
        self.articles.store(Arc::new(all));
        Ok(n)
    }

    /// The site's identity as the pages show it.
    pub fn identity(&self) -> Arc<super::identity::Identity> {
        self.identity.load_full()
    }

    /// The name a site goes by in mail and lists: for the default site, the title its pages
    /// show (`--site-title`, `/admin` → Settings), not the stored placeholder.
    pub fn site_title(&self, site: &crate::domain::Site) -> String {
        self.identity().title_of(site)
    }

    /// Reads the site's identity again after its settings changed (`/admin` → Settings, a title
    /// given to the default site), for the pages this process serves.
    pub(super) async fn reload_identity(&self) -> Result<(), crate::storage::StorageError> {
        let site = super::identity::Identity::load(&*self.store).await?;
        // Unchanged, the pages cached with it stay valid (their key holds its revision).
        if *self.identity.load_full() != site {
            self.identity.store(Arc::new(site));
        }
        Ok(())
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

    /// The client's address of a request (see [`client_ip`]); the loopback address when the
    /// connection's address is unknown (a router driven without a socket).
    pub fn client_ip_of(&self, parts: &axum::http::request::Parts) -> std::net::IpAddr {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        self.proxies.client_ip(peer, &parts.headers)
    }

    /// Whether the request reached the site over TLS: `--public-url` is `https`, or a trusted
    /// proxy says so (`X-Forwarded-Proto: https`).
    pub fn over_https(&self, peer: std::net::IpAddr, headers: &axum::http::HeaderMap) -> bool {
        self.public_https
            || (self.proxies.trusts(peer)
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
    }

    /// The address links in e-mail start with: `--public-url`, else `http://localhost:8080`
    /// (a mail has no request to take a host from).
    pub fn mail_base_url(&self) -> String {
        self.public_url.as_ref().map_or_else(
            || "http://localhost:8080".to_string(),
            |u| u.as_str().trim_end_matches('/').to_string(),
        )
    }

    /// The site's address for absolute links (feeds): `--public-url`, else the request's `Host`
    /// (kept only if it is a plain host name or address and port) over http.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.as_str().trim_end_matches('/').to_string();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
                    })
            })
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    /// Signature of the link that shows a held comment to its author.
    pub fn pending_hash(&self, id: i64) -> String {
        let digest = Sha256::digest(format!("{}:{id}", self.pending_key).as_bytes());
        hex::encode(&digest[..12])
    }

    pub(super) fn pending_hash_matches(&self, id: i64, hash: &str) -> bool {
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
            comments_open: a.comments_open,
        });
    }
    all.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    all
}

/// Reloads the served articles when an import (any process on this database) changed them.
pub(super) async fn refresh_articles(state: AppState) {
    let mut seen = None;
    loop {
        let version = state.store.setting(crate::storage::ARTICLES_VERSION).await;
        if let Ok(version) = version
            && version != seen
        {
            if seen.is_some() || version.is_some() {
                match state.reload_articles().await {
                    Ok(n) => tracing::info!(articles = n, "articles reloaded after an import"),
                    Err(e) => tracing::warn!(error = %e, "cannot reload the imported articles"),
                }
            }
            seen = version;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
