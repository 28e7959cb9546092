//! `replyguard serve`: the comment server.

use super::{ThresholdFlags, default_model};
use crate::web::{self, ServeConfig};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, ADDRESS:PORT (port 0 picks a free port); `localhost:PORT` and a
    /// bare PORT mean 127.0.0.1.
    #[arg(long, env = "REPLYGUARD_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Model file (reloaded on SIGHUP and POST /api/v1/admin/model/reload).
    #[arg(long, env = "REPLYGUARD_MODEL", default_value_os_t = default_model())]
    pub model: PathBuf,
    /// Database: a SQLite path or sqlite://PATH (created with its directory on first start), or
    /// a postgres://USER[:PASSWORD]@HOST[:PORT]/DB URL (several replicas).
    #[arg(long, env = "REPLYGUARD_DB", default_value = "data/replyguard.db")]
    pub db: crate::storage::Database,
    /// Directory of Markdown articles to serve instead of the built-in one.
    #[arg(long, env = "REPLYGUARD_ARTICLES")]
    pub articles: Option<PathBuf>,
    /// Seconds an address must wait between two comments (0 disables the flood check).
    #[arg(long, env = "REPLYGUARD_FLOOD_SECONDS", default_value_t = 15)]
    pub flood_seconds: u64,
    /// Comments per minute allowed from one address (0 disables the limit).
    #[arg(long, env = "REPLYGUARD_RATE_LIMIT", default_value_t = 10)]
    pub rate_limit: u32,
    /// Admin secret for /api/v1/admin (only its hash is stored). Generated and printed once if unset.
    #[arg(long, env = "REPLYGUARD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds a request may take, body included; slower clients get 408.
    #[arg(long, env = "REPLYGUARD_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// A proxy or load balancer (address or CIDR; repeat, or comma-separate in the variable) whose
    /// X-Forwarded-For names the client; from any other peer the header is ignored.
    #[arg(long = "trusted-proxy", env = "REPLYGUARD_TRUSTED_PROXY", value_delimiter = ',', value_name = "CIDR", value_parser = crate::web::client_ip::parse_net)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Seconds a client may take to send a request's headers, and a kept-alive connection may
    /// stay idle before its next request.
    #[arg(long, env = "REPLYGUARD_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Most connections open at once (lowered to the open-files limit less 64); more are answered
    /// 503 and closed.
    #[arg(long, env = "REPLYGUARD_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Most connections open at once from one client address (trusted proxies exempt; 0: no
    /// limit); more are answered 429 and closed.
    #[arg(long, env = "REPLYGUARD_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// The site's public address (e.g. https://blog.example.com); when https, cookies are marked
    /// Secure.
    #[arg(long, env = "REPLYGUARD_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,
    /// An origin (scheme://host[:port]) whose pages may call the JSON and Isso APIs for the
    /// default site, for this run (repeat, or comma-separate in the variable); sites are managed
    /// with `replyguard sites`.
    #[arg(long = "site-origin", env = "REPLYGUARD_SITE_ORIGINS", value_delimiter = ',', value_name = "URL", value_parser = parse_origin)]
    pub site_origin: Vec<crate::domain::SiteOrigin>,
    #[command(flatten)]
    pub learning: super::LearningFlags,
    /// A comment published on arrival that nobody has marked as spam or trashed for this long is
    /// learned as the site's ham (implicit ham; `--implicit-weight 0` turns it off). A later
    /// moderator label takes it back.
    #[arg(
        long,
        env = "REPLYGUARD_LEARN_PUBLISHED_AFTER",
        default_value = "1day",
        value_name = "DURATION"
    )]
    pub learn_published_after: humantime::Duration,
    /// ... or once this many readers' comments have followed it, whichever comes first (0: by
    /// time only). A busy site's moderator has seen a comment by then; a quiet one waits for the
    /// delay. The same rule as `eval --prequential --feedback corrections --implicit-after N`.
    #[arg(
        long,
        env = "REPLYGUARD_LEARN_PUBLISHED_AFTER_COMMENTS",
        default_value_t = crate::eval::DEFAULT_IMPLICIT_AFTER,
        value_name = "N"
    )]
    pub learn_published_after_comments: u64,
    /// A reader whose earlier comment on the site was published (same e-mail address and name)
    /// is published unless the model would reject the comment, and then held, never rejected.
    #[arg(long, env = "REPLYGUARD_TRUST_RETURNING_AUTHORS", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub trust_returning_authors: bool,
    /// For this many days, a comment from an e-mail address or website domain a moderator marked
    /// spam is held where the model would publish it and rejected where it would hold it; the
    /// same public IP address (7 days at most) or a linked domain holds at least (0: off).
    #[arg(
        long,
        env = "REPLYGUARD_SPAM_HISTORY_DAYS",
        default_value_t = 90,
        value_name = "DAYS"
    )]
    pub spam_history_days: u32,
    /// A comment with this many links or more is held at least (0: off; WordPress's default).
    #[arg(
        long,
        env = "REPLYGUARD_HOLD_LINKS_AT",
        default_value_t = 2,
        value_name = "LINKS"
    )]
    pub hold_links_at: u32,
    /// A reply form posted sooner than this many seconds after its page was served is held
    /// (0: off). API posts are not affected.
    #[arg(
        long,
        env = "REPLYGUARD_MIN_FORM_SECONDS",
        default_value_t = 3,
        value_name = "SECONDS"
    )]
    pub min_form_seconds: u32,
    /// Tell a comment's score and clues only to callers with the admin secret: the JSON API's
    /// answers to readers then carry neither, and `/api/v1/classify` answers only the admin
    /// (a public scorer lets a spammer tune wording offline; Akismet and Isso answers never
    /// carry them). Off by default: the answers carry them, as the API reference shows.
    #[arg(long, env = "REPLYGUARD_PRIVATE_SCORES")]
    pub private_scores: bool,
    #[command(flatten)]
    pub thresholds: ThresholdFlags,
    /// The site's title, shown in every page's header (stored; also editable in /admin → Settings).
    #[arg(long, env = "REPLYGUARD_SITE_TITLE")]
    pub site_title: Option<String>,
    /// A line under the title.
    #[arg(long, env = "REPLYGUARD_SITE_TAGLINE")]
    pub site_tagline: Option<String>,
    /// Header links, `Label=URL`, comma-separated (e.g. `Home=/,About=/articles/about`).
    #[arg(long, env = "REPLYGUARD_SITE_NAV", value_name = "LINKS")]
    pub site_nav: Option<String>,
    /// Accent colour of the public pages, `#rrggbb`.
    #[arg(long, env = "REPLYGUARD_SITE_ACCENT", value_name = "COLOUR")]
    pub site_accent: Option<String>,
    /// Outgoing mail for notifications: `smtp://[user:password@]host[:port]` (add `?tls=required`
    /// for STARTTLS) or `smtps://…` (TLS from the start).
    #[arg(
        long,
        env = "REPLYGUARD_SMTP_URL",
        value_name = "URL",
        requires = "smtp_from"
    )]
    pub smtp_url: Option<String>,
    /// The address notification e-mail comes from.
    #[arg(long, env = "REPLYGUARD_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,
    /// Logo image address shown before the title.
    #[arg(long, env = "REPLYGUARD_SITE_LOGO", value_name = "URL")]
    pub site_logo: Option<String>,
}

use crate::domain::site_rules::SiteRules;

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain lines for journald and log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REPLYGUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn")),
        )
        .init();
    let site: Vec<(&'static str, String)> = [
        ("site.title", args.site_title),
        ("site.tagline", args.site_tagline),
        ("site.url", args.public_url.as_ref().map(|u| u.to_string())),
        ("site.nav", args.site_nav),
        ("site.accent", args.site_accent),
        ("site.logo", args.site_logo),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    let mailer = match (&args.smtp_url, &args.smtp_from) {
        (Some(url), Some(from)) => Some(std::sync::Arc::new(
            crate::web::mail::Mailer::new(url, from).map_err(anyhow::Error::msg)?,
        )),
        _ => None,
    };
    let config = ServeConfig {
        listen: args.listen,
        model: args.model,
        db: args.db,
        articles: args.articles,
        flood_seconds: args.flood_seconds,
        rate_limit: args.rate_limit,
        admin_token: args.admin_token,
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        hold_threshold: args.thresholds.hold_threshold,
        reject_threshold: args.thresholds.reject_threshold,
        learning: args.learning.params(),
        learn_published_after: args.learn_published_after.into(),
        learn_published_after_comments: args.learn_published_after_comments,
        default_rules: SiteRules {
            trust_returning_authors: args.trust_returning_authors,
            spam_history_days: args.spam_history_days,
            hold_links_at: args.hold_links_at,
            min_form_seconds: args.min_form_seconds,
            ..SiteRules::default()
        }
        .validated()
        .map_err(|errors| anyhow::anyhow!("invalid rule flags: {errors:?}"))?,
        trusted_proxies: args.trusted_proxy,
        public_url: args.public_url,
        site_origins: args.site_origin,
        connections: web::conn::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
            max_total: web::conn::effective_max(args.max_connections.max(1)),
            max_per_ip: args.max_connections_per_ip,
        },
        identity: site,
        mailer,
        private_scores: args.private_scores,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Database work runs on blocking threads and reads share one connection, so threads beyond
        // a few only wait on its lock; uncapped, a burst of 64 connections made ~100 threads, each
        // keeping its own allocator heap and scoring buffers (RSS 280 MB instead of ~40).
        .max_blocking_threads(8)
        .build()?;
    runtime.block_on(web::serve(config))
}

/// `--listen`: a socket address, or what people type for one on this machine (`localhost:8080`,
/// `:8080`, `8080`), each said back with an example when it is neither.
fn parse_listen(raw: &str) -> Result<SocketAddr, String> {
    let raw = raw.trim();
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let port = raw
        .strip_prefix("localhost:")
        .or_else(|| raw.strip_prefix(':'))
        .unwrap_or(raw);
    port.parse::<u16>()
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .map_err(|_| {
            format!(
                "`{raw}` is not an address to listen on: write ADDRESS:PORT, e.g. \
                 127.0.0.1:8080 (this machine only), 0.0.0.0:8080 (every interface) or [::1]:8080"
            )
        })
}

/// `--public-url`: an absolute http(s) address; `blog.example.com` is told to add its scheme.
fn parse_public_url(raw: &str) -> Result<url::Url, String> {
    let hint = |why: &str| {
        format!(
            "`{raw}` is not the site's public address ({why}): write it in full, e.g. https://blog.example.com"
        )
    };
    // `http:///blog` parses (WHATWG reads `blog` as the host); nobody means that.
    if raw.contains(":///") {
        return Err(hint("there is no host between // and /"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => hint("it lacks https:// or http://"),
        other => hint(&other.to_string()),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(hint("only http:// and https:// addresses with a host"));
    }
    Ok(url)
}

fn parse_origin(raw: &str) -> Result<crate::domain::SiteOrigin, String> {
    crate::domain::SiteOrigin::parse(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_what_people_type_and_says_what_to_write() {
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(parse_listen("localhost:8099"), Ok(local(8099)));
        assert_eq!(parse_listen(":8099"), Ok(local(8099)));
        assert_eq!(parse_listen("8099"), Ok(local(8099)));
        assert_eq!(
            parse_listen("0.0.0.0:80"),
            Ok(SocketAddr::from(([0, 0, 0, 0], 80)))
        );
        let why = parse_listen("example.org:80").unwrap_err();
        assert!(why.contains("127.0.0.1:8080"), "{why}");
    }

    #[test]
    fn a_public_address_without_its_scheme_is_told_to_add_it() {
        let why = parse_public_url("blog.example.com").unwrap_err();
        assert!(why.contains("https://"), "{why}");
        assert!(parse_public_url("ftp://blog.example.com").is_err());
        assert!(parse_public_url("http:///blog").is_err());
        assert!(parse_public_url("https://blog.example.com/").is_ok());
    }
}
