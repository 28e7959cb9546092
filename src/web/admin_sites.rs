//! Managing sites over the admin API (`/api/v1/admin/sites`, bearer admin token), the same
//! changes as `replyguard sites`.

use super::AppState;
use super::admin::Admin;
use super::error::WebError;
use crate::domain::{Site, SiteName, SiteOrigin, SiteSettings};
use crate::storage::SiteChange;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

/// `GET /api/v1/admin/sites`: every site with the origins in effect (`--site-origin` included).
pub async fn list(_: Admin, State(state): State<AppState>) -> impl IntoResponse {
    let sites: Vec<Site> = state
        .sites
        .all()
        .iter()
        .map(|s| Site {
            title: state.site_title(s),
            ..(**s).clone()
        })
        .collect();
    Json(json!({ "sites": sites }))
}

/// A site to create or change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteBody {
    name: String,
    title: Option<String>,
    #[serde(default)]
    origins: Vec<String>,
    settings: Option<SiteSettings>,
}

impl SiteBody {
    fn into_change(self) -> Result<SiteChange, WebError> {
        let mut fields = super::error::FieldErrors::new();
        let name = SiteName::parse(&self.name).map_err(|e| fields.insert("name", e));
        let mut origins = Vec::new();
        for origin in &self.origins {
            match SiteOrigin::parse(origin) {
                Ok(o) => origins.push(o),
                Err(e) => {
                    fields.insert("origins", e);
                }
            }
        }
        if let Some(settings) = &self.settings
            && settings.edit_window_seconds > crate::domain::site::MAX_EDIT_WINDOW_SECONDS
        {
            fields.insert(
                "settings",
                format!(
                    "edit-window-seconds is at most {} (7 days)",
                    crate::domain::site::MAX_EDIT_WINDOW_SECONDS
                ),
            );
        }
        let title = self
            .title
            .map(|t| crate::domain::site::thread_title(&t))
            .filter(|t| !t.is_empty());
        match name {
            Ok(name) if fields.is_empty() => Ok(SiteChange {
                name,
                title,
                origins,
                settings: self.settings,
            }),
            _ => Err(WebError::Validation(fields)),
        }
    }
}

/// `POST /api/v1/admin/sites` with `{"name", "title"?, "origins"?: […], "settings"?: {…}}`:
/// creates the site (201) or adds the origins and applies the title and settings given (200).
pub async fn add(
    _: Admin,
    State(state): State<AppState>,
    body: Result<Json<SiteBody>, JsonRejection>,
) -> Result<impl IntoResponse, WebError> {
    let Json(body) = body?;
    let change = body.into_change()?;
    let existed = state.sites.by_name(change.name.as_str()).is_some();
    let site = state.site_store.add_site(&change).await?;
    if super::identity::retitle_default(&*state.store, &change).await? {
        state.reload_identity().await?;
    }
    let site = Site {
        title: state.site_title(&site),
        ..site
    };
    state.sites.reload(&*state.site_store).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(site)))
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    /// Remove only this origin.
    origin: Option<String>,
}

/// `DELETE /api/v1/admin/sites/{name}` (`?origin=URL`: only that origin). A removed site's
/// comments stay; adding its name again brings it back.
pub async fn remove(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> Result<impl IntoResponse, WebError> {
    let origins = match q.origin.as_deref() {
        Some(o) => vec![SiteOrigin::parse(o).map_err(WebError::BadRequest)?],
        None => Vec::new(),
    };
    if !state.site_store.remove_site(&name, &origins).await? {
        return Err(WebError::NotFound(format!("no site `{name}`")));
    }
    state.sites.reload(&*state.site_store).await?;
    Ok(Json(json!({
        "removed": name,
        "origins": origins,
    })))
}
