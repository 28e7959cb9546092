//! What the models learned, and taking it back (`/api/v1/admin/lessons`, `/admin/lessons`):
//! every learning-log entry with its source and the model it teaches (a site, or one Akismet
//! key's own layer). An Akismet key's vote can be taken back here; a lesson that a comment's
//! status stands for (a moderator's decision, implicit ham) changes with that status instead.

use super::AppState;
use super::admin::Admin;
use super::admin_pages::{SignedIn, authorize, page};
use super::error::WebError;
use crate::storage::{Lesson, StorageError, TakeBack};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

/// Entries a listing shows by default.
const DEFAULT_LIMIT: u64 = 100;

#[derive(Debug, Deserialize)]
pub struct LessonsQuery {
    /// A site's name or `akismet:KEY_ID` (none: every model).
    teaches: Option<String>,
    /// Entries before this id (the previous answer's `next_before`).
    before: Option<i64>,
    limit: Option<u64>,
    /// Set after a take-back from the page, to say it was done.
    done: Option<i64>,
}

impl LessonsQuery {
    fn teaches(&self) -> &str {
        self.teaches.as_deref().map(str::trim).unwrap_or_default()
    }
}

impl LessonsQuery {
    fn limit(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 1_000)
    }
}

async fn listing(state: &AppState, q: &LessonsQuery) -> Result<Vec<Lesson>, WebError> {
    Ok(state
        .store
        .lessons(q.teaches(), q.before.unwrap_or(i64::MAX), q.limit())
        .await?)
}

/// `GET /api/v1/admin/lessons?teaches=&before=&limit=`: entries newest first.
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<LessonsQuery>,
) -> Result<impl IntoResponse, WebError> {
    let lessons = listing(&state, &q).await?;
    // A page shorter than asked for is the last: no cursor to a page that would be empty.
    let next_before = lessons
        .last()
        .filter(|_| lessons.len() as u64 == q.limit())
        .map(|l| l.id);
    Ok(Json(
        json!({ "lessons": lessons, "next_before": next_before }),
    ))
}

/// Takes back entry `id`; the error says what to do instead when it cannot be.
async fn take_back(state: &AppState, id: i64) -> Result<(), WebError> {
    let conflict = |m: String| WebError::Storage(StorageError::Conflict(m));
    match state.store.take_back(id).await? {
        TakeBack::Done => {
            state.learner.nudge();
            Ok(())
        }
        TakeBack::NotFound => Err(WebError::NotFound(format!("no lesson {id}"))),
        TakeBack::FollowsComment(comment) => Err(conflict(format!(
            "lesson {id} is comment {comment}'s status: change that comment's status in the \
             moderation queue to change what the model learned"
        ))),
        TakeBack::AlreadyTakenBack => Err(conflict(format!("lesson {id} was already taken back"))),
        TakeBack::NotALesson => Err(conflict(format!(
            "entry {id} takes a lesson back itself; there is nothing to take back"
        ))),
    }
}

/// `POST /api/v1/admin/lessons/{id}/take-back`.
pub async fn take_back_api(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, WebError> {
    take_back(&state, id).await?;
    Ok(Json(json!({ "taken_back": id })))
}

/// `GET /admin/lessons`.
pub async fn show(
    State(state): State<AppState>,
    Query(q): Query<LessonsQuery>,
    SignedIn(csrf): SignedIn,
) -> Result<Response, WebError> {
    let lessons = listing(&state, &q).await?;
    Ok(page("What the filter learned", table(&lessons, &q, &csrf)).into_response())
}

/// `POST /admin/lessons/{id}/take-back` (the page's button).
pub async fn take_back_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, WebError> {
    authorize(&state, &jar, &body).await?;
    take_back(&state, id).await?;
    Ok(Redirect::to(&format!("/admin/lessons?done={id}")).into_response())
}

fn source_in_words(source: &str) -> &str {
    match source {
        "moderation" => "a moderator's decision",
        "implicit" => "published, nobody objected",
        "import" => "imported history",
        "akismet-submit" => "an Akismet client's report",
        "akismet-client" => "an Akismet client's correction",
        "taken-back" => "taken back by a moderator",
        other => other,
    }
}

fn table(lessons: &[Lesson], q: &LessonsQuery, csrf: &str) -> Markup {
    let teaches = q.teaches();
    html! {
        h1 { "What the filter learned" }
        nav { a href="/admin" { "← moderation" } }
        @if let Some(id) = q.done { p.notice role="status" { "Lesson " (id) " was taken back; the model no longer counts it." } }
        p { "Each site's model learns from its moderators' decisions and from comments that stay published. An Akismet key's reports teach that key's own model only, never the site's. A report can be taken back here; a decision changes with the comment's status in the queue." }
        form method="get" action="/admin/lessons" {
            label for="teaches" { "Model (a site's name, or akismet:KEY_ID; empty: all)" }
            " " input id="teaches" name="teaches" value=(teaches);
            " " button type="submit" { "Show" }
        }
        @if lessons.is_empty() { p { "Nothing learned yet." } }
        @else {
            table {
                thead { tr { th { "#" } th { "When" } th { "Model" } th { "Lesson" } th { "From" } th { "Text" } th {} } }
                tbody {
                    @for l in lessons {
                        tr id={ "lesson-" (l.id) } {
                            td { (l.id) }
                            td { (l.at.get(..16).unwrap_or(&l.at)) }
                            td { (l.teaches) }
                            td { @if l.sign < 0 { "un-learn " } (l.label) }
                            td { (source_in_words(&l.source)) }
                            td { (l.text) }
                            td {
                                @if l.taken_back { "taken back" }
                                @else if let Some(c) = l.comment_id {
                                    a href={ "/admin?q=&focus=" (c) "#c-" (c) } { "comment " (c) }
                                } @else if l.sign > 0 {
                                    form method="post" action={ "/admin/lessons/" (l.id) "/take-back" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { "Take back" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // A page shorter than asked for is the last: no link to an empty one.
            @if let Some(last) = lessons.last().filter(|_| lessons.len() as u64 == q.limit()) {
                p { a href={ "/admin/lessons?teaches=" (teaches) "&before=" (last.id) } { "Older →" } }
            }
        }
    }
}
