//! Rendered article pages, kept until the comments change. A page view that finds its page here
//! skips the database and the templates; any committed change to comments (a new comment, a
//! moderation decision) moves the store's generation and with it every cached page out of date,
//! and so does a model reload (the footer names the model).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most pages kept; past it the cache starts over (pages are cheap to render again).
const MAX_PAGES: usize = 1024;

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
    pages: Mutex<HashMap<PageKey, (Freshness, Arc<str>)>>,
}

impl PageCache {
    /// The page, if it was rendered from the same comments and model.
    pub fn get(&self, key: &PageKey, fresh: &Freshness) -> Option<Arc<str>> {
        let pages = self.pages.lock().ok()?;
        pages
            .get(key)
            .filter(|(rendered_from, _)| rendered_from == fresh)
            .map(|(_, html)| html.clone())
    }

    /// The last rendering of the page, however old: what is served while the database cannot
    /// be read (better a page without the newest comments than an error page).
    pub fn stale(&self, key: &PageKey) -> Option<Arc<str>> {
        let pages = self.pages.lock().ok()?;
        pages.get(key).map(|(_, html)| html.clone())
    }

    pub fn put(&self, key: PageKey, fresh: Freshness, html: Arc<str>) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
                pages.clear();
            }
            pages.insert(key, (fresh, html));
        }
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
}
