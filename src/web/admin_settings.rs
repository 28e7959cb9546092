//! `/admin/settings`: the site's identity (title, tagline, address, navigation, accent colour,
//! logo), stored in the settings table and shown on the public pages at once.

use super::AppState;
use super::admin_pages::{authorize, page, signed_in};
use super::error::WebError;
use super::form;
use super::identity::{Identity, KEYS, validate};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::html;

fn label(key: &str) -> (&'static str, &'static str) {
    match key {
        "site.title" => ("Site title", "shown in every page's header"),
        "site.tagline" => ("Tagline", "a line beside the title"),
        "site.url" => (
            "Public address",
            "e.g. https://blog.example.com — feed and e-mail links and secure cookies use it from the next start (--public-url, when given, wins)",
        ),
        "site.nav" => (
            "Navigation links",
            "one per line, Label=URL (e.g. About=/articles/about)",
        ),
        "site.accent" => (
            "Accent colour",
            "#rrggbb, e.g. #3366cc (empty: the default)",
        ),
        "site.logo" => (
            "Logo address",
            "an image URL shown before the title (empty: none)",
        ),
        _ => ("", ""),
    }
}

/// `GET /admin/settings`.
pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<super::admin_pages::SavedQuery>,
) -> Result<Response, WebError> {
    let Some(csrf) = signed_in(&state, &jar).await? else {
        return Ok(Redirect::to("/admin").into_response());
    };
    Ok(form_page(&state.identity(), &csrf, q.saved.is_some(), None).into_response())
}

fn form_page(
    site: &Identity,
    csrf: &str,
    saved: bool,
    problem: Option<&str>,
) -> axum::response::Html<String> {
    page(
        "Settings",
        html! {
            h1 { "Settings" }
            p { a href="/admin" { "← Back to moderation" } }
            @if saved { p.banner role="status" { "Settings saved; the public pages show them now." } }
            @if let Some(p) = problem { p.alert role="alert" { (p) } }
            form.settings method="post" action="/admin/settings" {
                input type="hidden" name="csrf" value=(csrf);
                @for key in KEYS {
                    @let (name, help) = label(key);
                    p {
                        label for=(key) { (name) } br;
                        @if key == "site.nav" {
                            textarea id=(key) name=(key) rows="4" { (site.value(key)) }
                        } @else {
                            input id=(key) name=(key) type="text" value=(site.value(key));
                        }
                        br; small { (help) }
                    }
                }
                button type="submit" { "Save settings" }
            }
        },
    )
}

/// `POST /admin/settings`: every field checked first; nothing is stored unless all are valid.
pub async fn save(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, WebError> {
    let csrf = {
        authorize(&state, &jar, &body).await?;
        form::parse(&body)
            .map_err(WebError::BadRequest)?
            .into_iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let fields = form::parse(&body).map_err(WebError::BadRequest)?;
    let mut values = Vec::new();
    for key in KEYS {
        let given = fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match validate(key, given) {
            Ok(v) => values.push((key, v)),
            Err(problem) => {
                let mut response =
                    form_page(&state.identity(), &csrf, false, Some(&problem)).into_response();
                *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(response);
            }
        }
    }
    for (key, value) in &values {
        state.store.set_setting(key, value).await?;
    }
    state.reload_identity().await?;
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
