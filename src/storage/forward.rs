//! The port's methods that only run one shared body of [`super::sql`], listed once for both
//! backends: [`storage_port!`] writes each store trait's implementation from this list, and a
//! backend says only how it runs a body (its *runner*, a macro) and writes the methods it does
//! its own way (the group-commit insert, the duplicate index, the posting limits, …).
//!
//! A list entry reads `MODE NAME(ARG: TYPE, …) -> OUTPUT = MODULE::FUNCTION;`: the method calls
//! `sql::MODULE::FUNCTION(exec, ARG, …)` with its arguments in order, and MODE says how:
//! - `plain`: on a connection, no transaction of its own (reads, and writes of one statement);
//! - `atomic`: in one transaction on both backends;
//! - `locked`: in an `IMMEDIATE` transaction on SQLite, which takes the write lock up front (a
//!   deferred read-then-write would fail with `SQLITE_BUSY` when the group-commit writer
//!   committed in between); PostgreSQL runs its statements as they come, each committed alone.
//!
//! `+shown` after the mode: the change shows on pages, so cached views are dropped once it is
//! committed. `unless HOOK` answers without the body when `HOOK(port, ARG, …)` gives an answer;
//! `then HOOK` runs `HOOK(port, &outcome)` after the body succeeded. The hooks are the functions
//! below, over what both ports have ([`Port`]).
//!
//! A runner is invoked as `runner!(self, MODE [+shown] NAME(ARG, …) |exec| CALL)`: it binds
//! `exec` to the connection or transaction (a `&E` where `E:` [`super::sql::Exec`]), evaluates
//! the future `CALL` and returns its outcome. A runner may send one method its own way by NAME
//! (SQLite learns implicit ham in small transactions, not one).
//!
//! rustfmt leaves macro input alone: keep the list one line an entry, and format the methods a
//! backend writes inside `storage_port!(…)` as rustfmt would.

/// Implements one store trait (`CommentStore`, `AkismetStore`, `ImportStore`, `SiteStore`,
/// `OutboxStore`) for a backend's port from the shared list:
/// `storage_port!(Trait for PortType, runner { its own methods })`. The methods a backend writes
/// itself see the port's types (`StoredComment`, `StorageError`, …) by their short names.
macro_rules! storage_port {
    (CommentStore for $port:ty, $run:ident { $($own:tt)* }) => {
        $crate::storage::forward::storage_port!(@impl CommentStore for $port, $run { $($own)* } [
            plain get(id: i64) -> Option<StoredComment> = comments::get;
            plain published(site: i64, article: &str, window: Window, limit: u64) -> Vec<StoredComment> = comments::published;
            plain count_published(site: i64, article: &str) -> u64 = comments::count_published;
            plain published_counts(site: i64) -> Vec<(String, u64)> = comments::published_counts;
            plain count_published_each(site: i64, articles: &[String]) -> Vec<u64> = comments::count_published_each;
            plain locate_published(site: i64, article: &str, remote_ids: [&str; 2], own_id: i64) -> Option<(i64, u64)> = comments::locate_published;
            plain reputation(query: &ReputationQuery) -> Reputation = comments::reputation unless unknown_sender;
            plain is_duplicate(site: i64, article: &str, author_email: &str, content: &str) -> bool = comments::is_duplicate unless ruled_out_by_index;
            plain by_status(status: Status, site: Option<i64>, article: Option<&str>, before: Option<i64>, limit: u64) -> Vec<StoredComment> = comments::by_status;
            atomic+shown set_status(id: i64, to: Status, actor: &str) -> StoredComment = comments::set_status;
            plain history(id: i64) -> Vec<StatusEvent> = comments::history;
            plain learning_log(after: i64, limit: u64) -> Vec<LearnedExample> = comments::learning_log;
            plain lessons(teaches: &str, before: i64, limit: u64) -> Vec<Lesson> = lessons::lessons;
            atomic take_back(id: i64) -> TakeBack = lessons::take_back;
            plain daily_activity(since: &str, site: Option<i64>) -> Vec<DayActivity> = comments::daily_activity;
            plain setting(key: &str) -> Option<String> = comments::setting;
            plain set_setting(key: &str, value: &str) -> () = comments::set_setting;
            plain replace_setting(key: &str, expected: Option<&str>, value: &str) -> bool = comments::replace_setting;
            atomic create_session(id_sha256: &str, csrf: &str, expires_at: i64, now: i64) -> () = comments::create_session;
            plain session_csrf(id_sha256: &str, now: i64) -> Option<String> = comments::session_csrf;
            plain delete_session(id_sha256: &str) -> () = comments::delete_session;
            plain count_by_status(site: Option<i64>) -> Vec<(Status, u64)> = comments::count_by_status;
            atomic learn_unchallenged(before: &str, newer: u64, after_id: i64, limit: u64, relayed: bool) -> (usize, i64) = comments::learn_unchallenged;
            atomic+shown erase_author(email: &str) -> Erased = erase::erase_author;
        ]);
    };
    (AkismetStore for $port:ty, $run:ident { $($own:tt)* }) => {
        $crate::storage::forward::storage_port!(@impl AkismetStore for $port, $run { $($own)* } [
            atomic add_key(key_sha256: &str, prefix: &str, blogs: &[String], note: Option<&str>, quota: Option<i64>) -> ApiKey = keys::add_key;
            plain keys() -> Vec<ApiKey> = keys::keys;
            plain key_by_hash(key_sha256: &str) -> Option<ApiKey> = keys::key_by_hash;
            plain revoke_key(key_sha256: &str) -> bool = keys::revoke_key;
            plain revoke_key_id(id: i64) -> bool = keys::revoke_key_id;
            plain add_calls(key_id: i64, month: &str, calls: i64) -> i64 = keys::add_calls;
            plain usage(key_id: i64, month: &str) -> i64 = keys::usage;
            atomic record_submit(key_id: i64, example: &LabeledComment, source: &str) -> SubmitVote = keys::record_submit;
            plain comment_by_guid(guid: &str) -> Option<i64> = keys::comment_by_guid;
        ]);
    };
    (ImportStore for $port:ty, $run:ident { $($own:tt)* }) => {
        $crate::storage::forward::storage_port!(@impl ImportStore for $port, $run { $($own)* } [
            atomic import_article(article: &ArticleRecord, taken: &[String]) -> ArticleOutcome = import::import_article then show_created_article;
            locked+shown import_page(remote_id: &str, site: i64, uri: &str, title: &str, comments_open: bool) -> u64 = import::import_page;
            locked+shown link_imported_parents() -> u64 = import::link_imported_parents;
            plain known_article(article: &ArticleRecord, taken: &[String]) -> Option<String> = import::known_article;
            plain known_comments(comments: &[ImportedComment], joined: &[(String, String)]) -> Vec<bool> = import::known_comments;
            plain public_articles() -> Vec<StoredArticle> = import::public_articles;
            plain export_articles() -> Vec<ExportArticle> = import::export_articles;
            plain export_comments(article: Option<&str>, after: i64, limit: u64) -> Vec<ExportComment> = import::export_comments;
            plain commented_articles() -> Vec<String> = import::commented_articles;
            plain moved_article(path: &str, wp_post_id: Option<i64>) -> Option<String> = import::moved_article;
        ]);
    };
    (SiteStore for $port:ty, $run:ident { $($own:tt)* }) => {
        $crate::storage::forward::storage_port!(@impl SiteStore for $port, $run { $($own)* } [
            plain sites() -> Vec<Site> = sites::sites;
            atomic add_site(change: &SiteChange) -> Site = sites::add_site;
            atomic remove_site(name: &str, origins: &[SiteOrigin]) -> bool = sites::remove_site;
            plain thread(site: i64, uri: &str) -> Option<Thread> = sites::thread;
            locked create_thread(site: i64, uri: &str, title: &str) -> Thread = sites::create_thread;
            locked+shown set_comments_open(site: i64, uri: &str, title: &str, open: bool) -> Thread = sites::set_comments_open;
            plain threads(site: i64, limit: u64) -> Vec<Thread> = sites::threads;
            locked vote(id: i64, voter: &str, up: bool) -> Votes = threads::vote;
            plain thread_extras(site: i64, uri: &str) -> Vec<CommentExtras> = threads::thread_extras;
            plain comment_extras(ids: &[i64]) -> Vec<CommentExtras> = threads::comment_extras;
            locked+shown edit_comment(id: i64, content: &str, author: &str, author_url: Option<&str>) -> StoredComment = threads::edit_comment then index_edited_text;
        ]);
    };
    (OutboxStore for $port:ty, $run:ident { $($own:tt)* }) => {
        $crate::storage::forward::storage_port!(@impl OutboxStore for $port, $run { $($own)* } [
            plain any_events_due(now: &str) -> bool = outbox::any_due;
            locked claim_events(now: &str, lease_until: &str, limit: u64) -> Vec<OutboxItem> = outbox::claim;
            locked finish_event(id: i64, outcome: &EventOutcome) -> () = outbox::finish;
            plain delivery_log(site: i64, limit: u64) -> Vec<OutboxItem> = outbox::log;
            locked prune_events(before: &str) -> u64 = outbox::prune;
            locked subscribe_replies(id: i64) -> () = replies::subscribe;
            plain reply_subscriber(id: i64) -> Option<Subscriber> = replies::subscriber;
            locked unsubscribe_replies(id: i64) -> bool = replies::unsubscribe;
            locked ask_reply_address(site: i64, email: &str) -> () = replies::ask_address;
            locked confirm_reply_address(site: i64, email: &str) -> bool = replies::confirm_address;
            plain reply_announced(id: i64) -> bool = replies::announced;
            locked announce_reply(id: i64) -> () = replies::announce;
        ]);
    };
    // Only these modes: a runner takes any word for one of them.
    (@mode plain $(+ shown)?) => {};
    (@mode atomic $(+ shown)?) => {};
    (@mode locked $(+ shown)?) => {};
    (@answer $port:tt ($($arg:ident),*)) => {};
    (@answer $answered:ident $port:tt ($($arg:ident),*)) => {
        if let Some(answer) = $crate::storage::forward::$answered($port, $($arg),*) {
            return Ok(answer);
        }
    };
    (@impl $store:ident for $port:ty, $run:ident { $($own:tt)* } [$(
        $mode:ident $(+ $shown:ident)? $name:ident ($($arg:ident: $ty:ty),*) -> $out:ty
            = $module:ident :: $function:ident $(unless $answered:ident)? $(then $after:ident)?;
    )*]) => {
        const _: () = {
            #[allow(unused_imports)]
            use $crate::data::LabeledComment;
            #[allow(unused_imports)]
            use $crate::domain::{ArticleRecord, Site, SiteOrigin, Thread};
            #[allow(unused_imports)]
            use $crate::storage::{
                Admission, ApiKey, ArticleOutcome, CommentExtras, CommentOutcome, DayActivity,
                Erased, EventOutcome, ExportArticle, ExportComment, ImportedComment,
                LearnedExample, Lesson, NewComment, OutboxItem, PostLimits, Reputation,
                ReputationQuery, SiteChange, Status, StatusEvent, StorageError, StoredArticle,
                StoredComment, Subscriber, SubmitVote, TakeBack, Votes, Window,
            };

            #[async_trait::async_trait]
            impl $crate::storage::$store for $port {
                $($own)*

                $(
                    async fn $name(&self, $($arg: $ty),*) -> Result<$out, StorageError> {
                        $crate::storage::forward::storage_port!(@mode $mode $(+ $shown)?);
                        $crate::storage::forward::storage_port!(@answer $($answered)? self ($($arg),*));
                        let outcome: Result<$out, StorageError> =
                            $run!(self, $mode $(+ $shown)? $name($($arg),*) |exec|
                                $crate::storage::sql::$module::$function(exec, $($arg),*));
                        let outcome = outcome?;
                        $($crate::storage::forward::$after(self, &outcome);)?
                        Ok(outcome)
                    }
                )*
            }
        };
    };
}

pub(super) use storage_port;

use super::key_index::{self, KeyIndex, fingerprint};
use super::{ArticleOutcome, Reputation, ReputationQuery, StoredComment};

/// What the list's hooks need of a backend's port.
pub(super) trait Port {
    /// Its index of stored comments' keys ([`super::key_index`]).
    fn key_index(&self) -> &KeyIndex;
    /// Whether any of `keys` may belong to a stored comment: [`KeyIndex::check`], which starts
    /// a refresh from the database when one is due.
    fn may_hold_any(&self, keys: &[u32]) -> bool;
    /// After a commit that changes what pages show: cached views are stale.
    fn pages_changed(&self);
}

/// `is_duplicate` without a query when the duplicate index rules the text out (almost always).
pub(super) fn ruled_out_by_index(
    port: &impl Port,
    site: i64,
    article: &str,
    author_email: &str,
    content: &str,
) -> Option<bool> {
    let fingerprint = fingerprint(site, article, author_email, content);
    (!port.may_hold_any(&[fingerprint])).then_some(false)
}

/// `reputation` without a query when the site has never stored a comment from the sender's
/// e-mail or network address, nor one naming a domain the sender names: nothing is known of
/// such a sender (most spam, and every first-time reader).
pub(super) fn unknown_sender(port: &impl Port, query: &ReputationQuery) -> Option<Reputation> {
    let site = query.site;
    let mut keys = Vec::with_capacity(3 + query.link_domains.len());
    if !query.email.is_empty() {
        keys.push(key_index::email_key(site, &query.email));
    }
    if !query.ip.is_empty() {
        keys.push(key_index::address_key(site, &query.ip));
    }
    let domains = std::iter::once(&query.website_domain).chain(&query.link_domains);
    let mut named = domains.filter(|d| !d.is_empty()).peekable();
    if named.peek().is_some() {
        // A comment that named more domains than the index keys sends every domain to the
        // database.
        keys.push(key_index::domains_overflow_key(site));
    }
    keys.extend(named.map(|domain| key_index::domain_key(site, domain)));
    (!port.may_hold_any(&keys)).then(Reputation::default)
}

/// After an edit: the edited text is a duplicate from now on too, and its website and links are
/// known (the index's refresh reads new rows only, not edits).
pub(super) fn index_edited_text(port: &impl Port, edited: &StoredComment) {
    port.key_index().add(&edited.index_keys());
}

/// After an article import: a created article shows on pages.
pub(super) fn show_created_article(port: &impl Port, outcome: &ArticleOutcome) {
    if matches!(outcome, ArticleOutcome::Created(_)) {
        port.pages_changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key_index::{KeyedComment, KeyedRow};
    use std::sync::Arc;

    /// A port over an index read from the given comments, as after its first full read.
    struct Indexed(Arc<KeyIndex>);

    impl Indexed {
        fn of(comments: &[KeyedComment<'_>]) -> Self {
            let index = Arc::new(KeyIndex::default());
            assert!(index.refresh_due());
            let rows: Vec<_> = (1..)
                .zip(comments.iter().map(KeyedComment::keys))
                .map(|(id, keys)| KeyedRow {
                    id,
                    edited_at: None,
                    keys,
                })
                .collect();
            let read = index.refresh(key_index::tests::reader(&rows));
            {
                let read = std::pin::pin!(read);
                let waker = std::task::Waker::noop();
                assert!(matches!(
                    read.poll(&mut std::task::Context::from_waker(waker)),
                    std::task::Poll::Ready(Ok(()))
                ));
            }
            Indexed(index)
        }
    }

    impl Port for Indexed {
        fn key_index(&self) -> &KeyIndex {
            &self.0
        }
        fn may_hold_any(&self, keys: &[u32]) -> bool {
            self.0.may_hold_any(keys)
        }
        fn pages_changed(&self) {}
    }

    fn sender(email: &str, ip: &str, website: &str, links: &[&str]) -> ReputationQuery {
        ReputationQuery {
            site: 1,
            email: email.into(),
            name: "Sam".into(),
            website_domain: website.into(),
            ip: ip.into(),
            link_domains: links.iter().map(|d| d.to_string()).collect(),
            ..ReputationQuery::default()
        }
    }

    #[test]
    fn only_a_sender_sharing_a_stored_key_is_looked_up() {
        let port = Indexed::of(&[KeyedComment {
            site: 1,
            article: "/post",
            author_email: "seller@shop.example",
            author_url: Some("https://deals.example/"),
            user_ip: Some("198.51.100.7"),
            content: "Buy at http://www.a.pills.example/cheap",
        }]);
        let looked_up = |q: &ReputationQuery| unknown_sender(&port, q).is_none();
        assert!(!looked_up(&sender(
            "new@reader.example",
            "203.0.113.9",
            "blog.example",
            &["news.example"]
        )));
        assert!(!looked_up(&sender("", "", "", &[])));
        assert!(looked_up(&sender("seller@shop.example", "", "", &[])));
        assert!(looked_up(&sender("x@y.example", "198.51.100.7", "", &[])));
        assert!(looked_up(&sender("x@y.example", "", "deals.example", &[])));
        assert!(looked_up(&sender(
            "x@y.example",
            "",
            "",
            &["news.example", "pills.example"]
        )));
        // Another site's senders are strangers here.
        let mut elsewhere = sender("seller@shop.example", "198.51.100.7", "", &[]);
        elsewhere.site = 2;
        assert!(!looked_up(&elsewhere));
        // Once a comment named more domains than the index keys, every domain is looked up.
        let stuffed: String = (0..500).map(|i| format!("q{i}.co ")).collect();
        let port = Indexed::of(&[KeyedComment {
            site: 1,
            article: "/post",
            author_email: "",
            author_url: None,
            user_ip: None,
            content: &stuffed,
        }]);
        let looked_up = |q: &ReputationQuery| unknown_sender(&port, q).is_none();
        assert!(looked_up(&sender("", "", "", &["q499.co"])));
        assert!(!looked_up(&sender("new@reader.example", "", "", &[])));
    }
}
