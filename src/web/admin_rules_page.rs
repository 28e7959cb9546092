//! `/admin/rules?site=NAME`: a site's rules as a form a moderator edits (keys one per line, the
//! link limit, the time trap, the reputation switches; the default site without `?site=`). A
//! wrong field is shown back with what was typed and what to fix, and nothing is saved.

use super::AppState;
use super::admin_pages::{SignedIn, authorize, form_field, page};
use super::error::WebError;
use crate::domain::FieldErrors;
use crate::domain::site_rules::{SiteRules, keys_from_lines};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    saved: Option<String>,
    site: Option<String>,
}

/// `GET /admin/rules?site=`.
pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    SignedIn(csrf): SignedIn,
) -> Result<Response, WebError> {
    let site = super::notify::named_site(&state, q.site.as_deref())?;
    let rules = state.rules.get(state.store.as_ref(), &site).await?;
    let notice = q
        .saved
        .is_some()
        .then_some("Saved. New comments are checked with these rules.");
    let body = form(&state, &site, &rules, &csrf, notice, &FieldErrors::new());
    Ok(page("Rules", body).into_response())
}

/// `POST /admin/rules?site=`: saves the form, or shows it back with its problems (422).
pub async fn save(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    let site = super::notify::named_site(&state, q.site.as_deref())?;
    let csrf = form_field(&body, "csrf")?.unwrap_or_default();
    let (typed, mut errors) = from_form(&body)?;
    if errors.is_empty() {
        match state
            .rules
            .save(state.store.as_ref(), &site, typed.clone())
            .await
        {
            Ok(_) => {
                let saved = format!("/admin/rules?site={site}&saved=1");
                return Ok(Redirect::to(&saved).into_response());
            }
            Err(WebError::Validation(fields)) => errors = fields,
            Err(other) => return Err(other),
        }
    }
    let body = form(&state, &site, &typed, &csrf, None, &errors);
    let mut response = page("Rules", body).into_response();
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The rules as typed in the form, and the fields that are not numbers.
fn from_form(body: &[u8]) -> Result<(SiteRules, FieldErrors), WebError> {
    let mut errors = FieldErrors::new();
    let text = |name: &str| -> Result<String, WebError> {
        Ok(form_field(body, name)?.unwrap_or_default())
    };
    let number = |name: &'static str, errors: &mut FieldErrors| -> Result<u32, WebError> {
        let value = text(name)?;
        Ok(value.trim().parse::<u32>().unwrap_or_else(|_| {
            errors.insert(name, format!("`{value}` is not a whole number"));
            0
        }))
    };
    let rules = SiteRules {
        moderation_keys: keys_from_lines(&text("moderation_keys")?),
        disallowed_keys: keys_from_lines(&text("disallowed_keys")?),
        hold_links_at: number("hold_links_at", &mut errors)?,
        min_form_seconds: number("min_form_seconds", &mut errors)?,
        spam_history_days: number("spam_history_days", &mut errors)?,
        trust_returning_authors: form_field(body, "trust_returning_authors")?.is_some(),
        trusted_publish_below: {
            let value = text("trusted_publish_below")?;
            value.trim().parse::<f64>().unwrap_or_else(|_| {
                errors.insert(
                    "trusted_publish_below",
                    format!("`{value}` is not a number between 0 and 1"),
                );
                1.0
            })
        },
    };
    Ok((rules, errors))
}

fn form(
    state: &AppState,
    site: &str,
    rules: &SiteRules,
    csrf: &str,
    notice: Option<&str>,
    errors: &FieldErrors,
) -> Markup {
    let problem = |field: &str| -> Markup {
        html! { @if let Some(e) = errors.get(field) { span.problem role="alert" id={ (field) "-problem" } { (e) } } }
    };
    html! {
        h1 { "Rules of " (site) }
        nav {
            a href="/admin" { "← moderation" }
            @for other in state.sites.all() {
                " · " a href={ "/admin/rules?site=" (other.name) } { (other.name) }
            }
        }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if !errors.is_empty() { p role="alert" { "Nothing was saved: fix the fields marked below." } }
        p { "These rules act before the text model, strongest first: a disallowed key rejects; a moderation key, too many links or a form sent back too fast holds; a returning reader is trusted; what a moderator marked spam counts against its sender." }
        form method="post" action={ "/admin/rules?site=" (site) } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="moderation_keys" { "Hold comments containing any of these (one per line: words, e-mails, domains, IPs or ranges such as 203.0.113.0/24)" }
                br;
                textarea id="moderation_keys" name="moderation_keys" rows="5" cols="60" { (rules.moderation_keys.join("\n")) }
                (problem("moderation_keys"))
            }
            p {
                label for="disallowed_keys" { "Reject comments containing any of these (same form)" }
                br;
                textarea id="disallowed_keys" name="disallowed_keys" rows="5" cols="60" { (rules.disallowed_keys.join("\n")) }
                (problem("disallowed_keys"))
            }
            p {
                label for="hold_links_at" { "Hold a comment with this many links or more (0: never)" }
                " " input id="hold_links_at" name="hold_links_at" type="number" min="0" value=(rules.hold_links_at);
                (problem("hold_links_at"))
            }
            p {
                label for="min_form_seconds" { "Hold a reply form sent back within this many seconds of opening the page (0: never)" }
                " " input id="min_form_seconds" name="min_form_seconds" type="number" min="0" value=(rules.min_form_seconds);
                (problem("min_form_seconds"))
            }
            p {
                input id="trust_returning_authors" name="trust_returning_authors" type="checkbox" value="on" checked[rules.trust_returning_authors];
                " " label for="trust_returning_authors" { "Trust readers whose earlier comment is published (same e-mail and name)" }
            }
            p {
                label for="trusted_publish_below" { "… unless the filter is this sure it is spam (0–1; then it is held)" }
                " " input id="trusted_publish_below" name="trusted_publish_below" type="number" min="0" max="1" step="0.001" value=(rules.trusted_publish_below);
                (problem("trusted_publish_below"))
            }
            p {
                label for="spam_history_days" { "Days a moderator's \"spam\" counts against the sender's e-mail, website, address and links (0: never)" }
                " " input id="spam_history_days" name="spam_history_days" type="number" min="0" value=(rules.spam_history_days);
                (problem("spam_history_days"))
            }
            button type="submit" { "Save rules" }
        }
    }
}
