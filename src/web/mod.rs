//! The web layer: the article page and reply form, the JSON API, moderation, health and metrics.
//! Data flows one way: request → parse into a `Submission` → classify → decide → store → respond.
//!
//! - `state`: what handlers share ([`AppState`]), opened from [`ServeConfig`]; `router`: the
//!   routes and `/healthz`; `serve`: binding, background tasks, shutdown.
//! - `pages`, `api`, `akismet`, `admin`, `admin_pages`: the handlers, one kind of client each;
//!   they all submit through [`submit`] (which applies the site's [`reputation`] rules after the
//!   text model) and answer errors through [`error`].
//! - [`sites`]: the sites this server hosts; [`cors`]: which site a request from another origin is
//!   for, and CORS (every route such pages call goes through [`cors::guard`]).
//! - `secret`, `metrics`, [`client_ip`], `page_cache`, [`learner`], [`model_holder`]:
//!   one concern each.

mod admin;
mod admin_lessons;
mod admin_notify_page;
mod admin_pages;
mod admin_rules_page;
mod admin_settings;
mod admin_sites;
mod admin_words;
mod akismet;
mod api;
mod assets;
pub mod client_ip;
pub mod conn;
pub mod cors;
pub mod error;
mod error_pages;
mod feeds;
pub mod form;
pub mod form_timer;
#[doc(hidden)]
pub mod fuzz;
pub mod identity;
mod isso;
pub mod learner;
pub mod mail;
mod metrics;
pub mod model_holder;
pub mod notify;
mod one_click;
mod page_cache;
mod pages;
pub mod render;
mod replies;
pub mod reputation;
mod router;
mod secret;
mod serve;
pub mod site_rules;
pub mod sites;
mod state;
pub mod submit;
mod thread_pages;
mod throttle;
pub mod timeout;
mod usage_meter;

pub use metrics::Metrics;
pub use router::router;
pub use secret::AdminSecret;
pub(crate) use secret::random_hex;
pub use serve::serve;
pub use state::{AppState, Opened, ServeConfig};

/// Largest request body accepted (the form, the JSON API).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest Akismet request body accepted. WordPress sends a comment's text three times
/// (`comment_content`, `comment_as_submitted_comment_content`, `POST_comment`), percent-encoded:
/// its longest comment (65,535 bytes of UTF-8, three bytes a character encoded) takes about
/// 590 KiB, which a check must take whole, or the blog retries it for ever.
pub const AKISMET_BODY_LIMIT: usize = 1024 * 1024;
