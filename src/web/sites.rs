//! The sites this server hosts, as every request sees them: loaded from the database at start,
//! reloaded when any process changes them (the `sites_version` setting moves), and looked up by
//! origin, id or name without a query. `serve --site-origin` adds origins to the default site for
//! the run (they are not stored).

use crate::domain::{DEFAULT_SITE, Site, SiteOrigin};
use crate::storage::{SITES_VERSION, SiteStore, StorageError};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// The sites, swapped whole on every reload.
pub struct Sites {
    table: ArcSwap<Table>,
    /// `--site-origin`: origins of the default site for this run.
    extra_default: Vec<SiteOrigin>,
}

#[derive(Default)]
struct Table {
    sites: Vec<Arc<Site>>,
    by_origin: HashMap<String, Arc<Site>>,
}

impl Table {
    fn new(mut sites: Vec<Site>, extra_default: &[SiteOrigin]) -> Table {
        let mut by_origin = HashMap::new();
        for site in &sites {
            for origin in &site.origins {
                by_origin.insert(origin.clone(), site.id);
            }
        }
        if let Some(default) = sites.iter_mut().find(|s| s.id == DEFAULT_SITE) {
            for origin in extra_default {
                match by_origin.get(origin.as_str()) {
                    Some(&owner) if owner != DEFAULT_SITE => {
                        tracing::warn!(%origin, "--site-origin names an origin of another site; that site keeps it");
                    }
                    Some(_) => {}
                    None => {
                        default.origins.push(origin.to_string());
                        by_origin.insert(origin.to_string(), DEFAULT_SITE);
                    }
                }
            }
            default.origins.sort();
        }
        let sites: Vec<Arc<Site>> = sites.into_iter().map(Arc::new).collect();
        let by_origin = by_origin
            .into_iter()
            .filter_map(|(origin, id)| Some((origin, sites.iter().find(|s| s.id == id)?.clone())))
            .collect();
        Table { sites, by_origin }
    }
}

impl Sites {
    /// Loads the sites from `store`, with `extra_default` origins for the default site.
    pub async fn load(
        store: &dyn SiteStore,
        extra_default: Vec<SiteOrigin>,
    ) -> Result<Sites, StorageError> {
        let table = Table::new(store.sites().await?, &extra_default);
        Ok(Sites {
            table: ArcSwap::from_pointee(table),
            extra_default,
        })
    }

    /// Reads the sites again.
    pub async fn reload(&self, store: &dyn SiteStore) -> Result<(), StorageError> {
        let table = Table::new(store.sites().await?, &self.extra_default);
        self.table.store(Arc::new(table));
        Ok(())
    }

    /// The site whose pages are served from `origin`.
    pub fn by_origin(&self, origin: &SiteOrigin) -> Option<Arc<Site>> {
        self.table.load().by_origin.get(origin.as_str()).cloned()
    }

    /// A site by id.
    pub fn by_id(&self, id: i64) -> Option<Arc<Site>> {
        self.table.load().sites.iter().find(|s| s.id == id).cloned()
    }

    /// A site by name.
    pub fn by_name(&self, name: &str) -> Option<Arc<Site>> {
        self.table
            .load()
            .sites
            .iter()
            .find(|s| s.name == name)
            .cloned()
    }

    /// The default site (always there: the schema creates it and it cannot be removed).
    pub fn default_site(&self) -> Arc<Site> {
        self.by_id(DEFAULT_SITE).unwrap_or_else(|| {
            Arc::new(Site {
                id: DEFAULT_SITE,
                name: crate::domain::site::DEFAULT_SITE_NAME.into(),
                title: "replyguard".into(),
                origins: Vec::new(),
                settings: Default::default(),
                created_at: String::new(),
            })
        })
    }

    /// Every site, the default one first.
    pub fn all(&self) -> Vec<Arc<Site>> {
        self.table.load().sites.clone()
    }
}

/// Reloads the sites whenever a process on this database changed them, and the pages' identity
/// (`/admin` → Settings on another replica, `sites add default --title` from the CLI), and the
/// model file when a replica was asked to reload it, checked every second.
pub(super) async fn follow(state: super::AppState) {
    // `None` until the first reload: the sites loaded at start may predate a change made before
    // this task first read the version, so the first round always reloads.
    let mut seen: Option<Option<String>> = None;
    // The last reload request seen (`None` before the first look).
    let mut reload_seen: Option<Option<String>> = None;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        reload_model_if_asked(&state, &mut reload_seen).await;
        if let Err(e) = state.reload_identity().await {
            tracing::warn!(error = %e, "cannot reload the site's identity");
        }
        let Ok(version) = state.store.setting(SITES_VERSION).await else {
            continue;
        };
        if seen.as_ref() != Some(&version) {
            match state.sites.reload(&*state.site_store).await {
                Ok(()) => {
                    tracing::debug!("sites reloaded");
                    seen = Some(version);
                }
                Err(e) => tracing::warn!(error = %e, "cannot reload the sites"),
            }
        }
    }
}

/// Loads the model file again when a replica was asked to (the `model_reload` setting moved, or
/// on the first look names another version than the one served): only for another version than
/// this replica serves — the replica that was asked has loaded it already — and once per
/// request, so a file that is refused is not tried every second.
async fn reload_model_if_asked(state: &super::AppState, seen: &mut Option<Option<String>>) {
    let Ok(asked) = state.store.setting(crate::storage::MODEL_RELOAD).await else {
        return;
    };
    let other_version = asked.as_deref().is_some_and(|asked| {
        let version = asked.split(' ').next().unwrap_or_default();
        version != state.models.current().version
    });
    if other_version && seen.as_ref().is_none_or(|seen| *seen != asked) {
        let models = state.models.clone();
        match tokio::task::spawn_blocking(move || models.reload()).await {
            Ok(Ok(version)) => tracing::info!(%version, "model reloaded (asked on a replica)"),
            Ok(Err(e)) => tracing::warn!(
                error = %e,
                "model reload asked on a replica refused; the previous model keeps serving"
            ),
            Err(e) => tracing::warn!(error = %e, "model reload failed"),
        }
    }
    *seen = Some(asked);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: i64, name: &str, origins: &[&str]) -> Site {
        Site {
            id,
            name: name.into(),
            title: name.into(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
            settings: Default::default(),
            created_at: String::new(),
        }
    }

    #[test]
    fn flag_origins_join_the_default_site_unless_another_site_has_them() {
        let extra = ["http://a.test", "https://b.test"]
            .map(|o| SiteOrigin::parse(o).unwrap())
            .to_vec();
        let table = Table::new(
            vec![
                site(DEFAULT_SITE, "default", &[]),
                site(2, "blog", &["https://b.test"]),
            ],
            &extra,
        );
        assert_eq!(table.by_origin["http://a.test"].id, DEFAULT_SITE);
        assert_eq!(table.by_origin["https://b.test"].name, "blog");
        assert_eq!(table.sites[0].origins, vec!["http://a.test"]);
    }
}
