//! The JSON API under `/api/v1` (Akismet field names).

use super::AppState;
use super::error::WebError;
use super::submit::{self, Submission};
use crate::data::CommentView;
use crate::domain::{Anchor, DEFAULT_SITE, Origin, RawComment};
use crate::engine::{Clue, Verdict};
use crate::storage::Window;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::SocketAddr;

/// A comment submitted through the API.
#[derive(Debug, Deserialize)]
pub struct NewCommentBody {
    #[serde(default)]
    comment_content: String,
    #[serde(default)]
    comment_author: String,
    #[serde(default)]
    comment_author_email: String,
    #[serde(default)]
    comment_author_url: Option<String>,
    /// An id, as a number or as the string a form field gives (`"12"`; `""`, `0` or `null`: none).
    #[serde(default, deserialize_with = "id_or_numeric_string")]
    comment_parent: Option<i64>,
    /// E-mail the author when a reply to this comment is published (opt-in).
    #[serde(default)]
    notify_replies: bool,
}

/// A comment id written as a JSON number or as a string of digits: clients that copy a form
/// field's value (WordPress's `comment_parent` is one) send the latter.
fn id_or_numeric_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    match Option::<Id>::deserialize(d)? {
        None => Ok(None),
        Some(Id::Number(n)) => Ok(Some(n)),
        Some(Id::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Id::Text(t)) => t.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("`{t}` is not a comment id (a whole number)"))
        }),
    }
}

impl NewCommentBody {
    /// The submission this body asks for (client address and headers are filled in by the caller).
    pub fn into_submission(self, slug: String) -> Submission {
        let notify_replies = self.notify_replies;
        let mut submission = Submission::reader(
            slug,
            self.comment_parent.filter(|&p| p != 0),
            RawComment {
                content: self.comment_content,
                author: self.comment_author,
                email: self.comment_author_email,
                url: self.comment_author_url.unwrap_or_default(),
            },
            Origin::Api,
        );
        submission.notify_replies = notify_replies;
        submission
    }
}

/// What a poster learns of their comment: with `--private-scores`, the score and its clues only
/// with the admin secret (to anyone else they are an oracle for wording that passes).
#[derive(Serialize)]
struct Created {
    id: i64,
    status: crate::storage::Status,
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    spam_probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clues: Option<Vec<Clue>>,
}

/// `POST /api/v1/articles/{slug}/comments` → 201.
pub async fn create_comment(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<NewCommentBody>, JsonRejection>,
) -> Result<impl IntoResponse, WebError> {
    let Json(body) = body?;
    let ip = state.proxies.client_ip(peer.ip(), &headers);
    // A site's own front end may send its readers' bearer tokens anywhere: a token that is not
    // the secret (or a throttled address) posts as a reader, the failure counted by the
    // sign-in throttle so the answer is no way to guess the secret.
    let shows_scores = !state.private_scores
        || super::admin::bearer(&state, &headers, ip)
            .await
            .unwrap_or(false);
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(|v| v.chars().take(512).collect())
    };
    let mut submission = body.into_submission(slug);
    submission.ip = Some(ip);
    submission.user_agent = text(header::USER_AGENT);
    submission.referrer = text(header::REFERER);
    let accepted = submit::submit(&state, submission, true).await?;
    let comment = accepted.stored()?;
    let (id, status) = (comment.id, comment.status);
    let body = Created {
        id,
        status,
        verdict: accepted.classification.verdict,
        spam_probability: shows_scores.then_some(accepted.classification.spam_probability),
        clues: shows_scores.then_some(accepted.clues),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize)]
pub struct Paging {
    page: Option<u64>,
    per_page: Option<u64>,
    /// Keyset cursor: the comments after this id (the previous answer's `next_after`).
    after: Option<i64>,
}

/// A published comment as the public sees it: no e-mail, no IP.
#[derive(Serialize)]
struct PublicComment<'a> {
    id: i64,
    parent: Option<i64>,
    author: &'a str,
    author_url: Option<&'a str>,
    content: &'a str,
    date: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct Locate {
    anchor: String,
}

/// `GET /api/v1/articles/{slug}/comments/locate?anchor=comment-N` (or `isso-N`): where the
/// article page shows the comment an anchor names — an old site's link (WordPress and Disqus
/// `#comment-N`, Isso `#isso-N`) or this site's own `#comment-N` — as
/// `{"id", "page", "url"}`; `url` is the comment page with the anchor. A paged thread's page
/// asks here (comments.js) when its fragment names no comment on it. 404 when no published comment
/// of the article has that anchor.
pub async fn locate_comment(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(Locate { anchor }): Query<Locate>,
) -> Result<impl IntoResponse, WebError> {
    if state.article(&slug).is_none() {
        return Err(WebError::NotFound(format!("no article `{slug}`")));
    }
    let Some(named) = Anchor::parse(&anchor) else {
        return Err(WebError::BadRequest(
            "anchor must be comment-N or isso-N".into(),
        ));
    };
    let [first, second] = named.remote_ids();
    let own = named.own_id();
    let Some((id, before)) = state
        .store
        .locate_published(DEFAULT_SITE, &slug, [&first, &second], own.unwrap_or(0))
        .await?
    else {
        return Err(WebError::NotFound(format!(
            "no published comment `{anchor}` on this article"
        )));
    };
    let page = before / super::pages::COMMENTS_PER_PAGE + 1;
    // The comment's own anchor names it unless an old link's number is another comment's own:
    // then the page lets old anchors win (`anchors=old`). `located` keeps the page from asking
    // again.
    let old = own != Some(id);
    let url = format!(
        "/articles/{slug}?cpage={page}{}&located=1#{named}",
        if old { "&anchors=old" } else { "" }
    );
    Ok(Json(json!({"id": id, "page": page, "url": url})))
}

/// `GET /api/v1/articles/{slug}/comments?page=&per_page=` or `?after=ID&per_page=`.
pub async fn list_comments(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<impl IntoResponse, WebError> {
    if state.article(&slug).is_none() {
        return Err(WebError::NotFound(format!("no article `{slug}`")));
    }
    let per_page = paging.per_page.unwrap_or(50).clamp(1, 200);
    let page = paging.page.unwrap_or(1).max(1);
    let total = state.store.count_published(DEFAULT_SITE, &slug).await?;
    let window = match paging.after {
        Some(id) if id <= 0 => {
            return Err(WebError::BadRequest(
                "after must be a comment id (a positive number)".into(),
            ));
        }
        Some(id) => Window::After(id),
        None => Window::Offset((page - 1).saturating_mul(per_page)),
    };
    let comments = state
        .store
        .published(DEFAULT_SITE, &slug, window, per_page)
        .await?;
    // Where the next page starts, while there may be one.
    let next_after = comments
        .last()
        .filter(|_| comments.len() as u64 == per_page)
        .map(|c| c.id);
    let public: Vec<PublicComment> = comments
        .iter()
        .map(|c| PublicComment {
            id: c.id,
            parent: c.parent_id,
            author: &c.author,
            author_url: c.author_url.as_deref(),
            content: &c.content,
            date: &c.created_at,
        })
        .collect();
    Ok(Json(
        json!({"article": slug, "total": total, "page": page, "per_page": per_page,
               "next_after": next_after, "comments": public}),
    ))
}

/// `GET /api/v1/articles`.
pub async fn list_articles(State(state): State<AppState>) -> Result<impl IntoResponse, WebError> {
    let by_article = super::pages::article_counts(&state).await?;
    let out: Vec<serde_json::Value> = state
        .articles()
        .iter()
        .map(|a| {
            let comments = by_article.get(&a.slug).copied().unwrap_or(0);
            json!({"slug": a.slug, "title": a.title, "date": a.date, "comments": comments})
        })
        .collect();
    Ok(Json(out))
}

/// A comment to score without storing it.
#[derive(Debug, Deserialize)]
pub struct ClassifyBody {
    comment_content: String,
    #[serde(default)]
    comment_author: Option<String>,
    #[serde(default)]
    comment_author_email: Option<String>,
    #[serde(default)]
    comment_author_url: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    comment_type: Option<String>,
}

/// `POST /api/v1/classify` (only for the admin secret with `--private-scores`: a public scorer
/// is a spammer's test bench).
pub async fn classify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<ClassifyBody>, JsonRejection>,
) -> Result<impl IntoResponse, WebError> {
    if state.private_scores {
        let ip = state.proxies.client_ip(peer.ip(), &headers);
        if !super::admin::bearer(&state, &headers, ip).await? {
            return Err(WebError::Unauthorized);
        }
    }
    let Json(body) = body?;
    if body.comment_content.chars().count() > crate::domain::draft::MAX_COMMENT_CHARS * 10 {
        return Err(WebError::Unprocessable(
            "comment_content is too long".into(),
        ));
    }
    let served = state.models.current();
    let view = CommentView {
        content: &body.comment_content,
        author: body.comment_author.as_deref(),
        author_email: body.comment_author_email.as_deref(),
        author_url: body.comment_author_url.as_deref(),
        user_agent: body.user_agent.as_deref(),
        comment_type: body.comment_type.as_deref(),
    };
    let site = crate::web::site_rules::DEFAULT_SITE;
    let layer = state.models.layer(site);
    // A question, not a comment: it reads the site's share of spam without teaching it.
    let shift = state.models.site_prior_shift(site, &served);
    let (result, clues) = submit::classify(&served, layer.as_deref(), |_| shift, view);
    Ok(Json(json!({
        "spam_probability": result.spam_probability,
        "verdict": result.verdict,
        "clues": clues,
        "model_version": served.version,
    })))
}

#[cfg(test)]
mod parent_id_tests {
    use super::*;

    #[test]
    fn a_parent_id_is_a_number_or_a_string_of_digits() {
        let parent = |json: &str| {
            serde_json::from_str::<NewCommentBody>(json)
                .map(|b| b.comment_parent)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parent(r#"{"comment_parent": 12}"#), Ok(Some(12)));
        assert_eq!(parent(r#"{"comment_parent": " 12 "}"#), Ok(Some(12)));
        assert_eq!(parent(r#"{"comment_parent": ""}"#), Ok(None));
        assert_eq!(parent(r#"{"comment_parent": null}"#), Ok(None));
        assert_eq!(parent(r#"{}"#), Ok(None));
        let wrong = parent(r#"{"comment_parent": "12a"}"#).unwrap_err();
        assert!(wrong.contains("not a comment id"), "{wrong}");
    }
}
