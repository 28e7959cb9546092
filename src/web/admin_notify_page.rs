//! `/admin/notifications?site=NAME`: a site's notifications as a form — who is e-mailed, the
//! webhook and its secret (never shown back), the events — with a button that sends a test on
//! each channel at once. A wrong field is shown back with what to fix, and nothing is saved. The
//! admin API (`/api/v1/admin/notifications?site=`) does the same.

use super::AppState;
use super::admin_pages::{SignedIn, authorize, form_field, page};
use super::error::WebError;
use super::notify::{EVENTS, NotifySettings, save};
use crate::domain::FieldErrors;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    saved: Option<String>,
    site: Option<String>,
}

/// The site the page is about (`?site=`, default: the default site), which must exist.
fn site_of(state: &AppState, q: &PageQuery) -> Result<String, WebError> {
    super::notify::named_site(state, q.site.as_deref())
}

/// The form of `site`'s stored settings, with `notice` above it.
async fn stored_form(
    state: &AppState,
    site: &str,
    csrf: &str,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let settings = NotifySettings::load(state, site).await?;
    let body = form(state, site, &settings, csrf, notice, &FieldErrors::new());
    Ok(page("Notifications", body).into_response())
}

/// `GET /admin/notifications`.
pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    SignedIn(csrf): SignedIn,
) -> Result<Response, WebError> {
    let site = site_of(&state, &q)?;
    let notice = q.saved.is_some().then(|| "Saved.".to_string());
    stored_form(&state, &site, &csrf, notice).await
}

/// `POST /admin/notifications/test`: sends a test on each channel now and shows how it went.
pub async fn test_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<PageQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    let csrf = form_field(&body, "csrf")?.unwrap_or_default();
    let site = site_of(&state, &q)?;
    let tested = super::notify::test_channels(&state, &site).await?;
    let mut lines: Vec<String> = tested["channels"]
        .as_object()
        .map(|channels| {
            channels
                .iter()
                .map(|(name, r)| match r["error"].as_str() {
                    None => format!("{name}: sent"),
                    Some(e) => format!("{name}: failed — {e}"),
                })
                .collect()
        })
        .unwrap_or_default();
    if lines.is_empty() {
        lines.push("Nothing to test: no e-mail address and no webhook are set.".into());
    }
    let notice = format!("Test: {}", lines.join("; "));
    stored_form(&state, &site, &csrf, Some(notice)).await
}

/// `POST /admin/notifications`: saves the form, or shows it back with its problems (422).
pub async fn save_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<PageQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    let site = site_of(&state, &q)?;
    let csrf = form_field(&body, "csrf")?.unwrap_or_default();
    let text = |name: &str| -> Result<String, WebError> {
        Ok(form_field(&body, name)?
            .unwrap_or_default()
            .trim()
            .to_string())
    };
    let mut events = Vec::new();
    for event in EVENTS {
        if form_field(&body, event)?.is_some() {
            events.push(event.to_string());
        }
    }
    let typed = NotifySettings {
        email_to: text("email_to")?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        webhook_url: Some(text("webhook_url")?).filter(|u| !u.is_empty()),
        webhook_secret: Some(text("webhook_secret")?).filter(|s| !s.is_empty()),
        events,
    };
    match save(&state, &site, typed.clone()).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/notifications?site={site}&saved=1")).into_response())
        }
        Err(WebError::Validation(errors)) => {
            let mut response = page(
                "Notifications",
                form(&state, &site, &typed, &csrf, None, &errors),
            )
            .into_response();
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

fn form(
    state: &AppState,
    site: &str,
    settings: &NotifySettings,
    csrf: &str,
    notice: Option<String>,
    errors: &FieldErrors,
) -> Markup {
    let problem = |field: &str| -> Markup {
        html! { @if let Some(e) = errors.get(field) { span.problem role="alert" { (e) } } }
    };
    let chosen = |event: &str| {
        if settings.events.is_empty() {
            event == "comment.held"
        } else {
            settings.events.iter().any(|e| e == event)
        }
    };
    html! {
        h1 { "Notifications of " (site) }
        nav {
            a href="/admin" { "← moderation" }
            @for other in state.sites.all() {
                " · " a href={ "/admin/notifications?site=" (other.name) } { (other.name) }
            }
        }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if !errors.is_empty() { p role="alert" { "Nothing was saved: fix the fields marked below." } }
        form method="post" action={ "/admin/notifications?site=" (site) } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="email_to" { "E-mail these moderators (one address per line)" }
                @if state.mailer.is_none() { " " small { "(this server sends no e-mail: start it with --smtp-url and --smtp-from)" } }
                br;
                textarea id="email_to" name="email_to" rows="3" cols="50" { (settings.email_to.join("\n")) }
                (problem("email_to"))
            }
            p {
                label for="webhook_url" { "Webhook address (POSTed as signed JSON)" }
                br;
                input id="webhook_url" name="webhook_url" type="url" size="50" value=(settings.webhook_url.clone().unwrap_or_default());
                (problem("webhook_url"))
            }
            p {
                label for="webhook_secret" { "Webhook secret (at least 16 characters; leave empty to keep the one stored)" }
                br;
                input id="webhook_secret" name="webhook_secret" type="password" size="50" autocomplete="new-password"
                    placeholder=(if settings.webhook_secret.is_some() { "(set)" } else { "" });
                (problem("webhook_secret"))
            }
            fieldset {
                legend { "Tell me when" }
                @for event in EVENTS {
                    label { input type="checkbox" name=(event) value="on" checked[chosen(event)]; " " (event) } br;
                }
                (problem("events"))
            }
            button type="submit" { "Save notifications" }
        }
        form method="post" action={ "/admin/notifications/test?site=" (site) } {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Send a test on each channel" }
        }
    }
}
