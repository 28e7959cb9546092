//! Rendered article pages, kept until the comments change. A page view that finds its page here
//! skips the database and the templates; any committed change to comments (a new comment, a
//! moderation decision) moves the store's generation and with it every cached page out of date,
//! and so does a model reload (the footer names the model).
//!
//! Memory is bounded by bytes, not only by pages: readers choose the cursors (`?after=`,
//! `?before=`) and a page of long comments is megabytes, so a budget of pages alone let 1,023
//! distinct cursors keep 1,023 copies of a 3.2 MB page. Keys come only from validated parameters
//! (see `pages::render_article`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most pages kept; past it pages are evicted (pages are cheap to render again).
const MAX_PAGES: usize = 1024;
/// Most bytes of HTML kept; a page larger than this is not cached at all.
pub const MAX_BYTES: usize = 32 << 20;

/// Which rendering a cached page is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub slug: String,
    pub page: u64,
    pub after: Option<i64>,
    pub before: Option<i64>,
}

/// What a cached page was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub generation: u64,
    pub model_version: String,
}

#[derive(Default)]
pub struct PageCache {
    pages: Mutex<Pages>,
}

#[derive(Default)]
struct Pages {
    by_key: HashMap<PageKey, (Freshness, Arc<str>)>,
    /// Bytes of HTML in `by_key`.
    bytes: usize,
}

impl PageCache {
    /// The page, if it was rendered from the same comments and model.
    pub fn get(&self, key: &PageKey, fresh: &Freshness) -> Option<Arc<str>> {
        let pages = self.pages.lock().ok()?;
        pages
            .by_key
            .get(key)
            .filter(|(rendered_from, _)| rendered_from == fresh)
            .map(|(_, html)| html.clone())
    }

    /// The last rendering of the page, however old: what is served while the database cannot
    /// be read (better a page without the newest comments than an error page).
    pub fn stale(&self, key: &PageKey) -> Option<Arc<str>> {
        let pages = self.pages.lock().ok()?;
        pages.by_key.get(key).map(|(_, html)| html.clone())
    }

    /// Keeps a page, evicting others (any: they are all cheap to render again) to stay within
    /// [`MAX_PAGES`] and [`MAX_BYTES`].
    pub fn put(&self, key: PageKey, fresh: Freshness, html: Arc<str>) {
        if html.len() > MAX_BYTES {
            return;
        }
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        let pages = &mut *pages;
        if let Some((_, old)) = pages.by_key.remove(&key) {
            pages.bytes -= old.len();
        }
        while pages.by_key.len() >= MAX_PAGES || pages.bytes + html.len() > MAX_BYTES {
            let Some(victim) = pages.by_key.keys().next().cloned() else {
                break;
            };
            if let Some((_, old)) = pages.by_key.remove(&victim) {
                pages.bytes -= old.len();
            }
        }
        pages.bytes += html.len();
        pages.by_key.insert(key, (fresh, html));
    }

    /// Bytes of HTML kept.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.pages.lock().map_or(0, |p| p.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_served_only_while_nothing_changed() {
        let cache = PageCache::default();
        let key = PageKey {
            slug: "a".into(),
            page: 1,
            after: None,
            before: None,
        };
        let fresh = Freshness {
            generation: 3,
            model_version: "m1".into(),
        };
        cache.put(key.clone(), fresh.clone(), Arc::from("<html>"));
        assert_eq!(cache.get(&key, &fresh).as_deref(), Some("<html>"));
        let moved = Freshness {
            generation: 4,
            ..fresh.clone()
        };
        assert!(cache.get(&key, &moved).is_none());
        let reloaded = Freshness {
            model_version: "m2".into(),
            ..fresh
        };
        assert!(cache.get(&key, &reloaded).is_none());
        let other = PageKey {
            slug: "a".into(),
            page: 2,
            after: Some(50),
            before: None,
        };
        assert!(cache.get(&other, &moved).is_none());
        assert_eq!(cache.stale(&key).as_deref(), Some("<html>"));
        assert!(cache.stale(&other).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let cache = PageCache::default();
        let fresh = Freshness {
            generation: 1,
            model_version: "m".into(),
        };
        let page: Arc<str> = Arc::from("x".repeat(3 << 20));
        for after in 1..100 {
            let key = PageKey {
                slug: "a".into(),
                page: 1,
                after: Some(after),
                before: None,
            };
            cache.put(key, fresh.clone(), page.clone());
            assert!(cache.bytes() <= MAX_BYTES);
        }
        assert!(cache.bytes() > MAX_BYTES / 2);
    }
}
