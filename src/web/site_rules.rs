//! Where a site's rules live: stored in the database (so every replica applies the same ones),
//! read through a short-lived cache (so a post costs no extra query), edited over the admin API
//! (`GET`/`PUT /api/v1/admin/rules`) and the `/admin/rules` page.

use super::AppState;
use super::admin::Admin;
use super::error::WebError;
use crate::domain::site_rules::{SiteRules, setting_key};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::domain::site_rules::DEFAULT_SITE;

/// How long a replica trusts its copy of a site's rules before reading them again: an edit made
/// on another replica applies within this time (on this one, at once).
const FRESH_FOR: Duration = Duration::from_secs(2);

/// Each site's rules, read from the database at most every [`FRESH_FOR`].
pub struct RulesCache {
    /// What a site that never saved its rules gets: the `serve` flags.
    defaults: SiteRules,
    by_site: Mutex<HashMap<String, (Instant, Arc<SiteRules>)>>,
}

impl RulesCache {
    pub fn new(defaults: SiteRules) -> Self {
        RulesCache {
            defaults,
            by_site: Mutex::new(HashMap::new()),
        }
    }

    /// The rules of `site`: its stored ones, or the defaults.
    pub async fn get(
        &self,
        store: &dyn crate::storage::CommentStore,
        site: &str,
    ) -> Result<Arc<SiteRules>, WebError> {
        if let Ok(cache) = self.by_site.lock()
            && let Some((read_at, rules)) = cache.get(site)
            && read_at.elapsed() < FRESH_FOR
        {
            return Ok(rules.clone());
        }
        let rules = Arc::new(match store.setting(&setting_key(site)).await? {
            None => self.defaults.clone(),
            Some(json) => match serde_json::from_str::<SiteRules>(&json) {
                Ok(rules) => rules,
                Err(e) => {
                    // Written by something else; the defaults keep the site protected and the
                    // stored text stays for the moderator to see and replace.
                    tracing::warn!(site, error = %e, "stored rules are unreadable; using defaults");
                    self.defaults.clone()
                }
            },
        });
        self.remember(site, rules.clone());
        Ok(rules)
    }

    fn remember(&self, site: &str, rules: Arc<SiteRules>) {
        if let Ok(mut cache) = self.by_site.lock() {
            cache.insert(site.to_string(), (Instant::now(), rules));
        }
    }

    /// Validates and stores `rules` for `site`; nothing changes when any field is wrong.
    pub async fn save(
        &self,
        store: &dyn crate::storage::CommentStore,
        site: &str,
        rules: SiteRules,
    ) -> Result<Arc<SiteRules>, WebError> {
        let rules = rules.validated().map_err(WebError::Validation)?;
        let json = serde_json::to_string(&rules)
            .map_err(|e| WebError::Internal(format!("cannot encode rules: {e}")))?;
        store.set_setting(&setting_key(site), &json).await?;
        let rules = Arc::new(rules);
        self.remember(site, rules.clone());
        Ok(rules)
    }
}

#[derive(Debug, Deserialize)]
pub struct SiteQuery {
    site: Option<String>,
}

impl SiteQuery {
    /// The site named, which must exist (404 otherwise: a mistyped name must not read or write
    /// the rules of a site no comment is posted to); the default site when none is named.
    fn site(&self, state: &AppState) -> Result<&str, WebError> {
        super::admin::site_filter(state, self.site.as_deref())?;
        Ok(self
            .site
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_SITE))
    }
}

/// `GET /api/v1/admin/rules?site=`: the site's rules as they apply now.
pub async fn show(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<SiteRules>, WebError> {
    let rules = state
        .rules
        .get(state.store.as_ref(), q.site(&state)?)
        .await?;
    Ok(Json(rules.as_ref().clone()))
}

/// `PUT /api/v1/admin/rules?site=`: replaces the site's rules (fields left out take their
/// defaults); 422 naming every wrong field, and nothing changed, when any is wrong.
pub async fn replace(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    body: Result<Json<SiteRules>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SiteRules>, WebError> {
    let Json(rules) = body.map_err(|e| WebError::Unprocessable(e.body_text()))?;
    let saved = state
        .rules
        .save(state.store.as_ref(), q.site(&state)?, rules)
        .await?;
    Ok(Json(saved.as_ref().clone()))
}
