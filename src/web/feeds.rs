//! Atom feeds (RFC 4287) of recent published comments: one per article
//! (`/articles/{slug}/feed`) and one for the whole site (`/feed`), so a reader can follow a
//! discussion and a site owner can watch their comments in a feed reader. Only what the page
//! itself shows goes in: the author's name and website, never an e-mail or an address.
//! Written by the `atom_syndication` crate, which escapes every text it writes.

use super::AppState;
use super::error::WebError;
use crate::storage::{Status, StoredComment, Window};
use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

/// Entries in a feed: the most recent published comments.
const ENTRIES: u64 = 50;

/// The feed's media type.
const ATOM: &str = "application/atom+xml; charset=utf-8";

/// `GET /articles/{slug}/feed`.
pub async fn article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some(article) = state.article(&slug) else {
        return Err(WebError::NotFound(format!("no article `{slug}`")));
    };
    let base = state.base_url(&headers);
    let mut comments = state
        .store
        .published(
            crate::domain::DEFAULT_SITE,
            &slug,
            Window::FromEnd(0),
            ENTRIES,
        )
        .await?;
    comments.sort_by_key(|c| std::cmp::Reverse(c.id));
    let title = format!("Comments on “{}”", article.title);
    let page = format!("{base}/articles/{slug}");
    let feed = feed(
        &title,
        &format!("{page}/feed"),
        &page,
        comments
            .iter()
            .map(|c| entry(&base, &article.title, c))
            .collect(),
    );
    Ok(atom(feed))
}

/// `GET /feed`: the site's recent published comments, on every article.
pub async fn site(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let base = state.base_url(&headers);
    let comments = state
        .store
        .by_status(
            Status::Published,
            Some(crate::domain::DEFAULT_SITE),
            None,
            None,
            ENTRIES * 2,
        )
        .await?;
    let entries: Vec<Entry> = comments
        .iter()
        .filter_map(|c| {
            // Only the site's own articles: an Akismet key's checks are not the site's comments.
            let article = state.article(&c.article)?;
            Some(entry(&base, &article.title, c))
        })
        .take(ENTRIES as usize)
        .collect();
    let feed = feed(
        "Recent comments",
        &format!("{base}/feed"),
        &format!("{base}/"),
        entries,
    );
    Ok(atom(feed))
}

/// A feed as an HTTP answer.
pub(super) fn atom(feed: Feed) -> Response {
    // Whatever was stored or imported (a U+FFFF in a comment, a name, a page's title), the feed
    // parses: characters XML forbids cannot mean anything anywhere in it.
    let document = feed.to_string();
    // Copied only when something had to go (almost never).
    let cleaned = match crate::domain::unshowable::xml_chars(&document) {
        std::borrow::Cow::Owned(cleaned) => Some(cleaned),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let document = cleaned.unwrap_or(document);
    ([(header::CONTENT_TYPE, ATOM)], document).into_response()
}

/// A feed of `entries`, found at `self_url`, about the page `page`.
pub(super) fn feed(title: &str, self_url: &str, page: &str, entries: Vec<Entry>) -> Feed {
    // A feed without entries is as new as this answer (not 1970, which readers show as such).
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or_else(|| {
        FixedDateTime::parse_from_rfc3339(&crate::storage::now_rfc3339()).unwrap_or_default()
    });
    Feed {
        title: Text::plain(title),
        id: self_url.to_string(),
        updated,
        links: vec![link(self_url, "self"), link(page, "alternate")],
        entries,
        ..Feed::default()
    }
}

fn link(href: &str, rel: &str) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        ..Link::default()
    }
}

fn entry(base: &str, article_title: &str, c: &StoredComment) -> Entry {
    let permalink = format!("{base}/articles/{}#comment-{}", c.article, c.id);
    comment_entry(permalink, article_title, c)
}

/// The entry of comment `c` found at `permalink`, on the page titled `page_title`.
pub(super) fn comment_entry(permalink: String, page_title: &str, c: &StoredComment) -> Entry {
    let updated = FixedDateTime::parse_from_rfc3339(&c.created_at)
        .unwrap_or_else(|_| FixedDateTime::default());
    // Feed readers resolve nothing: imported comments' relative links lead where they did on
    // the comment's page.
    let formatted = match url::Url::parse(&permalink) {
        Ok(page) => {
            crate::domain::comment_text::formatted_comment_from(&c.content, c.format(), &page)
        }
        Err(_) => crate::domain::comment_text::formatted_comment(&c.content, c.format()),
    };
    let html = formatted.is_some();
    let text = formatted.unwrap_or_else(|| c.content.clone());
    Entry {
        title: Text::plain(format!(
            "{} on “{page_title}”",
            super::render::display_name(c)
        )),
        id: permalink.clone(),
        updated,
        published: Some(updated),
        authors: vec![Person {
            name: super::render::display_name(c).to_string(),
            uri: c.author_url.clone(),
            email: None,
            ..Person::default()
        }],
        links: vec![link(&permalink, "alternate")],
        content: Some(Content {
            value: Some(text),
            content_type: Some(if html { "html" } else { "text" }.to_string()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}
