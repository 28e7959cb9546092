//! The storage port's conformance suite: written once against `replyguard::storage::Store`, run
//! on every backend `--db` can name — a SQLite file and a private PostgreSQL cluster
//! (tests/common/postgres.rs). A backend passes when it behaves the same as the other.

use crate::common;

use common::postgres::PgCluster;
use replyguard::data::{Comment, Label, LabeledComment};
use replyguard::import::ArticleRecord;
use replyguard::storage::{
    self, ArticleOutcome, CommentOutcome, Database, ImportedComment, NewComment, Status,
    StorageError, Store, SubmitVote, TakeBack, Window,
};
use std::sync::Arc;

fn comment(article: &str, status: Status, content: &str) -> NewComment {
    NewComment {
        site_id: 1,
        article: article.into(),
        parent_id: None,
        author: "Ana".into(),
        author_email: "ana@example.org".into(),
        author_url: None,
        content: content.into(),
        user_ip: Some("127.0.0.1".into()),
        user_agent: Some("test".into()),
        referrer: None,
        status,
        verdict: match status {
            Status::Published => "published",
            Status::Held => "held",
            _ => "rejected",
        }
        .into(),
        spam_probability: 0.25,
        clues: r#"[{"token":"nice","weight":-1.5}]"#.into(),
        model_version: "test".into(),
        source: "api".into(),
        akismet_guid: None,
        api_key_id: None,
        markdown: false,
    }
}

async fn comments_and_moderation(store: &dyn Store) {
    let a = store
        .insert(comment("a", Status::Published, "first"))
        .await
        .unwrap();
    let held = store
        .insert(comment("a", Status::Held, "second"))
        .await
        .unwrap();
    store
        .insert(comment("b", Status::Published, "other article"))
        .await
        .unwrap();
    assert!(held.id > a.id, "ids grow");
    let got = store.get(a.id).await.unwrap().unwrap();
    assert!(!got.markdown, "plain text stays plain");
    assert_eq!(got.content, "first");
    assert_eq!(got.clues[0]["token"], "nice", "clues round-trip as JSON");
    assert_eq!(got.created_at, a.created_at);
    assert!(store.get(999_999).await.unwrap().is_none());
    assert_eq!(store.count_published(1, "a").await.unwrap(), 1);
    assert_eq!(store.count_published(1, "nowhere").await.unwrap(), 0);
    assert_eq!(
        store
            .count_published_each(1, &["nowhere".into(), "a".into(), "a".into()])
            .await
            .unwrap(),
        vec![0, 1, 1],
        "in the order asked"
    );
    let public = store
        .published(1, "a", Window::Offset(0), 10)
        .await
        .unwrap();
    assert_eq!(public.len(), 1);
    assert!(public[0].clues.is_null(), "public listings carry no clues");
    assert!(
        store
            .is_duplicate(1, "a", "ana@example.org", "first")
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_duplicate(1, "a", "bob@example.org", "first")
            .await
            .unwrap()
    );
    let queue = store
        .by_status(Status::Held, None, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        queue.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![held.id]
    );
    assert!(
        store
            .by_status(Status::Held, None, Some("b"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let before = store.generation();
    let approved = store
        .set_status(held.id, Status::Published, "admin")
        .await
        .unwrap();
    assert_eq!(approved.status, Status::Published);
    assert_ne!(
        store.generation(),
        before,
        "a moderation moves the generation"
    );
    assert_eq!(store.count_published(1, "a").await.unwrap(), 2);
    let page2 = store.published(1, "a", Window::Offset(1), 1).await.unwrap();
    assert_eq!(page2[0].id, held.id, "oldest first, offset counts");
    assert!(matches!(
        store.set_status(999_999, Status::Spam, "admin").await,
        Err(StorageError::NotFound(999_999))
    ));
    let history = store.history(held.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].actor, "classifier");
    assert_eq!(history[1].from_status, Some(Status::Held));
    assert_eq!(history[1].to_status, Status::Published);

    let counts = store.count_by_status(None).await.unwrap();
    let published = counts
        .iter()
        .find(|(s, _)| *s == Status::Published)
        .map(|(_, n)| *n);
    assert_eq!(published, Some(3));
    // Per site: these are all the default site's; another site has none.
    assert_eq!(store.count_by_status(Some(1)).await.unwrap(), counts);
    assert!(
        store
            .count_by_status(Some(9_999))
            .await
            .unwrap()
            .iter()
            .all(|(_, n)| *n == 0)
    );
    // Pages of a status list, newest first, each from the last id of the one before.
    let all = store
        .by_status(Status::Published, Some(1), None, None, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let first = store
        .by_status(Status::Published, Some(1), None, None, 2)
        .await
        .unwrap();
    let rest = store
        .by_status(Status::Published, Some(1), None, Some(first[1].id), 2)
        .await
        .unwrap();
    let paged: Vec<i64> = first.iter().chain(&rest).map(|c| c.id).collect();
    assert_eq!(paged, all.iter().map(|c| c.id).collect::<Vec<_>>());

    let markdown = store
        .insert(NewComment {
            markdown: true,
            ..comment("c", Status::Trash, "*as typed*")
        })
        .await
        .unwrap();
    assert!(markdown.markdown, "the insert answers with the flag");
    let got = store.get(markdown.id).await.unwrap().unwrap();
    assert!(got.markdown && !got.html, "Markdown is stored as Markdown");
    assert_eq!(got.content, "*as typed*", "and as typed");
}

async fn windows_read_pages_by_cursor_or_offset(store: &dyn Store) {
    let mut ids = Vec::new();
    for i in 0..10 {
        let status = if i == 4 {
            Status::Held
        } else {
            Status::Published
        };
        let c = store
            .insert(comment("paged", status, &format!("paged {i}")))
            .await
            .unwrap();
        if status == Status::Published {
            ids.push(c.id);
        }
    }
    let read = |window| async move {
        store
            .published(1, "paged", window, 3)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(read(Window::Offset(0)).await, ids[0..3]);
    assert_eq!(read(Window::Offset(3)).await, ids[3..6]);
    assert_eq!(read(Window::After(ids[2])).await, ids[3..6]);
    assert_eq!(
        read(Window::Before(ids[6])).await,
        ids[3..6],
        "oldest first"
    );
    assert_eq!(read(Window::FromEnd(0)).await, ids[6..9]);
    assert_eq!(read(Window::FromEnd(2)).await, ids[4..7]);
    assert_eq!(read(Window::After(ids[8])).await, Vec::<i64>::new());
    assert_eq!(read(Window::Before(ids[0])).await, Vec::<i64>::new());
}

/// Pages by number stay what `OFFSET` over the published comments would give after a random
/// history of inserts and moderation on two interleaved threads: the per-block counts that make
/// a deep page cheap never drift from the rows.
async fn numbered_pages_match_offset_after_a_random_history(store: &dyn Store) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(28);
    let threads = ["deep-a", "deep-b"];
    let mut all: Vec<(i64, usize)> = Vec::new();
    let mut published: [std::collections::BTreeSet<i64>; 2] = Default::default();
    let statuses = [Status::Published, Status::Held, Status::Spam, Status::Trash];
    for op in 0..10_000 {
        let roll = rng.gen_range(0..10);
        if roll < 7 || all.is_empty() {
            let thread = rng.gen_range(0..2);
            let status = if rng.gen_bool(0.8) {
                Status::Published
            } else {
                Status::Held
            };
            let c = store
                .insert(comment(threads[thread], status, &format!("deep {op}")))
                .await
                .unwrap();
            all.push((c.id, thread));
            if status == Status::Published {
                published[thread].insert(c.id);
            }
        } else {
            let (id, thread) = all[rng.gen_range(0..all.len())];
            let to = statuses[rng.gen_range(0..statuses.len())];
            store.set_status(id, to, "admin").await.unwrap();
            if to == Status::Published {
                published[thread].insert(id);
            } else {
                published[thread].remove(&id);
            }
        }
    }
    for (thread, name) in threads.iter().enumerate() {
        let ids: Vec<i64> = published[thread].iter().copied().collect();
        let total = ids.len();
        // Two threads share the ids, so each spans every block of the history (about seven).
        assert!(total > 2_000, "the history spans several blocks: {total}");
        assert_eq!(store.count_published(1, name).await.unwrap(), total as u64);
        let mut skips: Vec<usize> = (0..40).map(|_| rng.gen_range(0..total + 10)).collect();
        skips.extend([0, 1023, 1024, 1025, 2048, total - 1, total, total + 1]);
        for skip in skips {
            let page = |window| async move {
                store
                    .published(1, name, window, 7)
                    .await
                    .unwrap()
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
            };
            let from_start = ids.iter().skip(skip).take(7).copied().collect::<Vec<_>>();
            assert_eq!(
                page(Window::Offset(skip as u64)).await,
                from_start,
                "skip {skip}"
            );
            let end = total.saturating_sub(skip);
            let from_end = ids[end.saturating_sub(7)..end].to_vec();
            assert_eq!(
                page(Window::FromEnd(skip as u64)).await,
                from_end,
                "from end {skip}"
            );
        }
        for _ in 0..20 {
            let at = rng.gen_range(0..total);
            let found = store
                .locate_published(1, name, ["", ""], ids[at])
                .await
                .unwrap();
            assert_eq!(found, Some((ids[at], at as u64)));
        }
    }
}

async fn learning_log_follows_decisions(store: &dyn Store) {
    let held = store
        .insert(comment("learn", Status::Held, "cheap pills"))
        .await
        .unwrap();
    let start = store
        .learning_log(0, 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.id);
    store
        .set_status(held.id, Status::Published, "admin")
        .await
        .unwrap();
    // Reversed: the ham example is taken back and a spam example added.
    store
        .set_status(held.id, Status::Spam, "admin")
        .await
        .unwrap();
    // Repeated: nothing new.
    store
        .set_status(held.id, Status::Spam, "admin")
        .await
        .unwrap();
    let log = store.learning_log(start, 100).await.unwrap();
    let entries: Vec<(Label, f64)> = log.iter().map(|e| (e.label, e.sign)).collect();
    assert_eq!(
        entries,
        vec![(Label::Ham, 1.0), (Label::Ham, -1.0), (Label::Spam, 1.0)]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(log[0].comment.comment_content, "cheap pills");
    let paged = store.learning_log(log[0].id, 1).await.unwrap();
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0].id, log[1].id);

    let today = &held.created_at[..10];
    let days = store.daily_activity(today, None).await.unwrap();
    let day = days.iter().find(|d| d.day == today).unwrap();
    assert!(day.held >= 1);
    let own = store
        .daily_activity(today, Some(held.site_id))
        .await
        .unwrap();
    assert!(own.iter().any(|d| d.day == today && d.held >= 1), "{own:?}");
    let none = store.daily_activity(today, Some(999)).await.unwrap();
    assert!(none.is_empty(), "{none:?}");
}

async fn concurrent_inserts_are_all_kept(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..50 {
                    let text = format!("comment {t}-{i}");
                    let c = store
                        .insert(comment("many", Status::Published, &text))
                        .await
                        .unwrap();
                    assert_eq!(c.content, text);
                    ids.push((c.id, text));
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    for (id, text) in &all {
        let stored = store.get(*id).await.unwrap().unwrap();
        assert_eq!(
            &stored.content, text,
            "each acknowledgement names its own row"
        );
    }
    let mut ids: Vec<i64> = all.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    assert_eq!(store.count_published(1, "many").await.unwrap(), 400);
    // The per-thread counts of a site, in one query, agree with the counts one by one.
    let counts = store.published_counts(1).await.unwrap();
    assert!(
        counts.iter().any(|(t, n)| t == "many" && *n == 400),
        "{counts:?}"
    );
    for (thread, n) in &counts {
        assert!(*n > 0);
        assert_eq!(
            store.count_published(1, thread).await.unwrap(),
            *n,
            "{thread}"
        );
    }
}

async fn settings_and_sessions(store: &dyn Store) {
    assert_eq!(store.setting("k").await.unwrap(), None);
    store.set_setting("k", "1").await.unwrap();
    store.set_setting("k", "2").await.unwrap();
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("2"));
    store.create_session("s1", "csrf1", 100, 10).await.unwrap();
    assert_eq!(
        store.session_csrf("s1", 50).await.unwrap().as_deref(),
        Some("csrf1")
    );
    assert_eq!(
        store.session_csrf("s1", 100).await.unwrap(),
        None,
        "expired"
    );
    store.delete_session("s1").await.unwrap();
    assert_eq!(store.session_csrf("s1", 50).await.unwrap(), None);
    store.ping().await.unwrap();
}

async fn keys_and_examples(store: &dyn Store) {
    let blogs = vec!["blog.example.com".to_string(), "a.example".to_string()];
    let key = store
        .add_key("hash1", "rg_abc", &blogs, Some("note"), Some(10))
        .await
        .unwrap();
    assert_eq!(key.blogs, vec!["a.example", "blog.example.com"]);
    assert_eq!(key.quota, Some(10));
    let found = store.key_by_hash("hash1").await.unwrap().unwrap();
    assert_eq!(found.id, key.id);
    assert_eq!(store.keys().await.unwrap().len(), 1);
    assert_eq!(store.add_calls(key.id, "2026-12", 1).await.unwrap(), 1);
    assert_eq!(store.add_calls(key.id, "2026-12", 40).await.unwrap(), 41);
    assert_eq!(store.usage(key.id, "2026-12").await.unwrap(), 41);
    assert_eq!(store.usage(key.id, "2026-11").await.unwrap(), 0);
    assert!(store.revoke_key("hash1").await.unwrap());
    assert!(!store.revoke_key("hash1").await.unwrap());
    assert!(store.key_by_hash("hash1").await.unwrap().is_none());

    let mut checked = comment("ak", Status::Held, "checked");
    checked.akismet_guid = Some("guid-1".into());
    let checked = store.insert(checked).await.unwrap();
    assert_eq!(
        store.comment_by_guid("guid-1").await.unwrap(),
        Some(checked.id)
    );
    let start = store
        .learning_log(0, 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.id);
    let example = LabeledComment {
        label: Label::Spam,
        comment: Comment {
            comment_content: "buy now".into(),
            ..Default::default()
        },
    };
    // One vote per key and text, learned into the key's own layer.
    assert_eq!(
        store
            .record_submit(key.id, &example, "akismet-submit")
            .await
            .unwrap(),
        SubmitVote::New
    );
    let shouted = LabeledComment {
        comment: Comment {
            comment_content: "  BUY   now ".into(),
            ..Default::default()
        },
        ..example.clone()
    };
    assert_eq!(
        store
            .record_submit(key.id, &shouted, "akismet-submit")
            .await
            .unwrap(),
        SubmitVote::Repeated,
        "case and spacing do not make a new text"
    );
    let log = store.learning_log(start, 10).await.unwrap();
    assert_eq!(log.len(), 1, "a repeated vote is not learned again");
    assert_eq!(log[0].comment.comment_content, "buy now");
    assert_eq!(log[0].site, format!("akismet:{}", key.id));
    let ham = LabeledComment {
        label: Label::Ham,
        ..example.clone()
    };
    assert_eq!(
        store
            .record_submit(key.id, &ham, "akismet-submit")
            .await
            .unwrap(),
        SubmitVote::Changed
    );
    let log = store.learning_log(start, 10).await.unwrap();
    let entries: Vec<_> = log.iter().map(|e| (e.label, e.sign)).collect();
    assert_eq!(
        entries,
        [(Label::Spam, 1.0), (Label::Spam, -1.0), (Label::Ham, 1.0)],
        "a changed vote takes the old lesson back"
    );
    // The lessons, newest first, of the key's layer; a vote is taken back once.
    let layer = format!("akismet:{}", key.id);
    let lessons = store.lessons(&layer, i64::MAX, 10).await.unwrap();
    assert_eq!(lessons.len(), 3);
    assert!(
        lessons
            .iter()
            .all(|l| l.teaches == layer && l.source == "akismet-submit")
    );
    assert_eq!((lessons[0].label.as_str(), lessons[0].sign), ("ham", 1));
    assert!(
        store
            .lessons("another-site", i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.take_back(lessons[0].id).await.unwrap(),
        TakeBack::Done
    );
    assert_eq!(
        store.take_back(lessons[0].id).await.unwrap(),
        TakeBack::AlreadyTakenBack
    );
    assert_eq!(
        store.take_back(lessons[1].id).await.unwrap(),
        TakeBack::NotALesson
    );
    assert_eq!(store.take_back(i64::MAX).await.unwrap(), TakeBack::NotFound);
    let newest = &store.lessons(&layer, i64::MAX, 1).await.unwrap()[0];
    assert_eq!((newest.source.as_str(), newest.sign), ("taken-back", -1));
    assert!(store.lessons(&layer, i64::MAX, 10).await.unwrap()[1].taken_back);
    // The vote taken back is forgotten: the key may vote on the text again.
    assert_eq!(
        store
            .record_submit(key.id, &ham, "akismet-submit")
            .await
            .unwrap(),
        SubmitVote::New
    );
}

fn article(remote: &str, slug: &str, link: &str) -> ArticleRecord {
    ArticleRecord {
        remote_id: remote.into(),
        slug: slug.into(),
        title: format!("Title of {slug}"),
        date: "2017-03-01T10:00:00Z".into(),
        author: "admin".into(),
        html: "<p>Body</p>".into(),
        link: Some(link.into()),
        wp_post_id: Some(12),
        public: true,
        notes: Vec::new(),
        comments_open: true,
    }
}

fn imported(remote: &str, article: &str, parent: Option<&str>, learn: bool) -> ImportedComment {
    ImportedComment {
        remote_id: remote.into(),
        article: article.into(),
        remote_parent: parent.map(str::to_string),
        comment: comment("", Status::Published, &format!("<p>{remote}</p>")),
        created_at: "2017-03-02T10:00:00Z".into(),
        comment_type: "comment".into(),
        learn: learn.then_some(Label::Ham),
        likes: 0,
        dislikes: 0,
        edited_at: None,
    }
}

async fn imports(store: &dyn Store) {
    let first = article(
        "wordpress-post:12",
        "hello",
        "https://blog.example.com/2017/03/01/hello/",
    );
    assert_eq!(
        store.import_article(&first, &[]).await.unwrap(),
        ArticleOutcome::Created("hello".into())
    );
    assert_eq!(
        store.import_article(&first, &[]).await.unwrap(),
        ArticleOutcome::Existing("hello".into())
    );
    // A Disqus thread of the same post joins it.
    let thread = article(
        "disqus-thread:9",
        "whatever",
        "http://www.Blog.example.com/2017/03/01/hello",
    );
    assert_eq!(
        store.import_article(&thread, &[]).await.unwrap(),
        ArticleOutcome::Existing("hello".into())
    );
    // Another post wanting a taken slug gets its own.
    let other = article(
        "wordpress-post:13",
        "hello",
        "https://blog.example.com/p13/",
    );
    assert_eq!(
        store
            .import_article(&other, &["hello-2".into()])
            .await
            .unwrap(),
        ArticleOutcome::Created("hello-3".into())
    );
    let outcomes = store
        .import_comments(vec![
            imported(
                "wordpress:2",
                "wordpress-post:12",
                Some("wordpress:1"),
                true,
            ),
            imported("wordpress:1", "wordpress-post:12", None, false),
            imported("disqus:5", "disqus-thread:9", None, false),
            imported("disqus:3", "disqus-thread:404", None, false),
        ])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], CommentOutcome::Created(_)));
    assert!(matches!(outcomes[2], CommentOutcome::Created(_)));
    assert_eq!(outcomes[3], CommentOutcome::Orphan);
    let CommentOutcome::Created(first_id) = outcomes[1] else {
        panic!("{outcomes:?}")
    };
    let again = store
        .import_comments(vec![imported(
            "wordpress:1",
            "wordpress-post:12",
            None,
            false,
        )])
        .await
        .unwrap();
    assert_eq!(again, vec![CommentOutcome::Existing]);
    assert_eq!(store.link_imported_parents().await.unwrap(), 1);
    let public = store.public_articles().await.unwrap();
    assert_eq!(public.len(), 2);
    assert_eq!(store.export_articles().await.unwrap().len(), 2);
    let exported = store.export_comments(Some("hello"), 0, 100).await.unwrap();
    assert_eq!(exported.len(), 3);
    assert!(exported.iter().all(|c| c.comment.html));
    let reply = exported
        .iter()
        .find(|c| c.comment.content.contains("wordpress:2"))
        .unwrap();
    let parent = exported
        .iter()
        .find(|c| c.comment.content.contains("wordpress:1"))
        .unwrap();
    assert_eq!(reply.comment.parent_id, Some(parent.comment.id));
    // An old link's anchor finds its comment and how many published ones come before it; an old
    // id wins over an own id of the same number; an anchor nobody has finds nothing.
    let disqus = exported
        .iter()
        .find(|c| c.comment.content.contains("disqus:5"))
        .unwrap();
    assert_eq!(
        store
            .locate_published(1, "hello", ["wordpress:5", "disqus:5"], parent.comment.id)
            .await
            .unwrap(),
        Some((disqus.comment.id, 2))
    );
    assert_eq!(
        store
            .locate_published(1, "hello", ["wordpress:77", "disqus:77"], parent.comment.id)
            .await
            .unwrap(),
        Some((parent.comment.id, 1))
    );
    assert_eq!(
        store
            .locate_published(1, "hello", ["wordpress:77", "disqus:77"], 0)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .commented_articles()
            .await
            .unwrap()
            .contains(&"hello".to_string())
    );
    assert_eq!(
        store
            .moved_article("/2017/03/01/hello/", None)
            .await
            .unwrap()
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        store.moved_article("/", Some(12)).await.unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(store.moved_article("/nope/", None).await.unwrap(), None);
    let learned = store.learning_log(0, 10_000).await.unwrap();
    assert!(
        learned
            .iter()
            .any(|e| e.comment.comment_content.contains("wordpress:2"))
    );

    // The same comment under another id — a `replyguard export` of this database numbers it by
    // its id here, whatever its text became in that format — is known, and the dry run finds
    // what the import finds: articles by remote id or link, comments by remote id or by that.
    let copy = |remote: String, content: &str| {
        let mut c = imported(&remote, "wordpress-post:12", None, true);
        c.comment.content = content.into();
        c
    };
    let same = copy(
        format!("wordpress:{first_id}"),
        "<p>wordpress:1 (escaped otherwise)</p>",
    );
    let new = copy("wordpress:902".into(), "<p>wordpress:1</p>");
    let elsewhere = article(
        "wordpress-post:55",
        "x",
        "https://blog.example.com/2017/03/01/hello",
    );
    let joined = [("wordpress-post:55".to_string(), "hello".to_string())];
    assert_eq!(
        store
            .known_comments(&[same.clone(), new.clone()], &joined)
            .await
            .unwrap(),
        vec![true, false]
    );
    let moved = ImportedComment {
        article: "wordpress-post:55".into(),
        ..same.clone()
    };
    assert_eq!(
        store.known_comments(&[moved], &joined).await.unwrap(),
        vec![true]
    );
    assert_eq!(
        store.known_article(&first, &[]).await.unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        store
            .known_article(&elsewhere, &[])
            .await
            .unwrap()
            .as_deref(),
        Some("hello")
    );
    let unknown = article("wordpress-post:56", "new", "https://blog.example.com/new/");
    assert_eq!(store.known_article(&unknown, &[]).await.unwrap(), None);
    assert_eq!(
        store
            .known_article(&unknown, &["new".into()])
            .await
            .unwrap()
            .as_deref(),
        Some("new")
    );
    // Votes come along, one stored vote each; so does the old site's edit time.
    let voted = ImportedComment {
        likes: 2,
        dislikes: 1,
        edited_at: Some("2017-03-03T09:00:00Z".into()),
        ..new
    };
    let outcomes = store.import_comments(vec![same, voted]).await.unwrap();
    assert_eq!(outcomes[0], CommentOutcome::Existing);
    let CommentOutcome::Created(id) = outcomes[1] else {
        panic!("{outcomes:?}")
    };
    let votes = store.vote(id, "reader", true).await.unwrap();
    assert_eq!((votes.likes, votes.dislikes), (3, 1));
    let extras = store.comment_extras(&[id]).await.unwrap();
    assert_eq!(extras[0].edited_at.as_deref(), Some("2017-03-03T09:00:00Z"));
}

/// Comments that stayed published are learned as ham once, with the arrival verdict; a
/// moderator's later spam label takes that ham back.
async fn unchallenged_comments_are_learned_once(store: &dyn Store) {
    let start = store
        .learning_log(0, 10_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.id);
    let kept = store
        .insert(comment(
            "implicit",
            Status::Published,
            "thanks, the second table helped",
        ))
        .await
        .unwrap();
    let later = store
        .insert(comment(
            "implicit",
            Status::Published,
            "spam that slipped through",
        ))
        .await
        .unwrap();
    let held = store
        .insert(comment("implicit", Status::Held, "waiting"))
        .await
        .unwrap();
    // Nothing is old enough yet, or followed by three readers' comments.
    let (learned, _) = store
        .learn_unchallenged("2000-01-01T00:00:00Z", 3, kept.id - 1, 10_000, false)
        .await
        .unwrap();
    assert_eq!(learned, 0);
    // Two readers' comments followed the first: counting two, it is learned, the second not.
    let (learned, _) = store
        .learn_unchallenged("2000-01-01T00:00:00Z", 2, kept.id - 1, 10_000, false)
        .await
        .unwrap();
    assert_eq!(learned, 1, "the first published comment");
    let (learned, through) = store
        .learn_unchallenged("2999-01-01T00:00:00Z", 0, kept.id - 1, 10_000, false)
        .await
        .unwrap();
    assert_eq!(learned, 1, "the second published comment, not the held one");
    assert_eq!(through, held.id);
    // Once: a second pass from the start learns nothing more of these.
    let (again, _) = store
        .learn_unchallenged("2999-01-01T00:00:00Z", 0, kept.id - 1, 10_000, false)
        .await
        .unwrap();
    assert_eq!(again, 0);
    store
        .set_status(later.id, Status::Spam, "admin")
        .await
        .unwrap();
    let log = store.learning_log(start, 100).await.unwrap();
    let entries: Vec<(i64, Label, f64, &str)> = log
        .iter()
        .filter_map(|e| {
            let id = if e.comment.comment_content.starts_with("thanks") {
                kept.id
            } else if e.comment.comment_content.starts_with("spam") {
                later.id
            } else {
                return None;
            };
            Some((id, e.label, e.sign, e.source.as_str()))
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (kept.id, Label::Ham, 1.0, storage::IMPLICIT_SOURCE),
            (later.id, Label::Ham, 1.0, storage::IMPLICIT_SOURCE),
            (later.id, Label::Ham, -1.0, storage::IMPLICIT_SOURCE),
            (later.id, Label::Spam, 1.0, "admin"),
        ]
    );
    assert!(
        log.iter()
            .all(|e| e.arrival == Some(replyguard::engine::Verdict::Published))
    );
}

/// Who the reputation rules look up: a reader by e-mail and name.
fn who(email: &str, name: &str, since: &str) -> storage::ReputationQuery {
    storage::ReputationQuery {
        site: 1,
        email: email.into(),
        name: name.into(),
        spam_since: since.into(),
        ip_spam_since: since.into(),
        ..Default::default()
    }
}

/// The reputation rules' lookup: a published comment makes its address and name a returning
/// author; a comment a moderator marked spam counts from its date on, against its e-mail, its
/// website's domain, its address and the domains it links to.
async fn reputation_by_address(store: &dyn Store) {
    let mut c = comment("reputation", Status::Published, "first visit");
    c.author_email = "rep@example.org".into();
    store.insert(c).await.unwrap();
    let known = store
        .reputation(&who("rep@example.org", "Ana", "2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(known.returning_author && !known.marked_spam, "{known:?}");
    let other_name = store
        .reputation(&who("rep@example.org", "Not Ana", "2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(!other_name.returning_author, "{other_name:?}");
    // The Website a moderator approved a returning author with: exactly it, not another on its
    // host; published on arrival, it vouches for nothing.
    let with_website = |url: &str, status: Status| {
        let mut c = comment("reputation", status, "with my profile");
        c.author_email = "rep@example.org".into();
        c.author_url = Some(url.into());
        c
    };
    store
        .insert(with_website(
            "https://github.com/ana-arrived",
            Status::Published,
        ))
        .await
        .unwrap();
    let held = store
        .insert(with_website("https://github.com/ana-dev", Status::Held))
        .await
        .unwrap();
    store
        .set_status(held.id, Status::Published, "admin")
        .await
        .unwrap();
    let website_published = |website: &'static str| {
        let mut asked = who("rep@example.org", "Ana", "2000-01-01T00:00:00Z");
        asked.website = website.into();
        async move {
            let known = store.reputation(&asked).await.unwrap();
            assert!(known.returning_author, "{known:?}");
            known.website_published
        }
    };
    assert!(website_published("https://github.com/ana-dev").await);
    for website in [
        "https://github.com/ana-dev-2",
        "https://github.com/ana-arrived",
        "",
    ] {
        assert!(!website_published(website).await, "{website}");
    }
    // Someone else's comment with that Website, marked spam by a moderator, withdraws it.
    let mut copy = with_website("https://github.com/ana-dev", Status::Held);
    copy.author_email = "copy@example.net".into();
    let copy = store.insert(copy).await.unwrap();
    store
        .set_status(copy.id, Status::Spam, "admin")
        .await
        .unwrap();
    assert!(!website_published("https://github.com/ana-dev").await);
    let mut c = comment(
        "reputation",
        Status::Held,
        "replica watches, best price at https://Watch_Deals.example/x",
    );
    c.author_email = "rep@example.org".into();
    c.author_url = Some("https://www.cheap-pills.example/".into());
    c.user_ip = Some("203.0.113.5".into());
    let held = store.insert(c).await.unwrap();
    store
        .set_status(held.id, Status::Spam, "admin")
        .await
        .unwrap();
    let since_then = store
        .reputation(&who("rep@example.org", "Ana", "2000-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(since_then.marked_spam, "{since_then:?}");
    let later = store
        .reputation(&who("rep@example.org", "Ana", "2999-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(!later.marked_spam, "{later:?}");
    let mut stranger = who("new@example.org", "Bo", "2000-01-01T00:00:00Z");
    stranger.website_domain = "cheap-pills.example".into();
    stranger.ip = "203.0.113.5".into();
    stranger.link_domains = vec!["other.example".into(), "watch_deals.example".into()];
    let known = store.reputation(&stranger).await.unwrap();
    assert!(
        !known.marked_spam
            && known.website_marked_spam
            && known.ip_marked_spam
            && known.link_domain_marked_spam,
        "{known:?}"
    );
    // `_` is a character, not a LIKE wildcard; a lookalike domain is someone else.
    let mut lookalike = who("new@example.org", "Bo", "2000-01-01T00:00:00Z");
    lookalike.website_domain = "pills.example".into();
    lookalike.link_domains = vec!["watchxdeals.example".into()];
    lookalike.ip = "203.0.113.50".into();
    let known = store.reputation(&lookalike).await.unwrap();
    assert_eq!(known, storage::Reputation::default(), "{known:?}");
    // A moderator's approval of a later comment on that Website's domain, or linking that
    // domain, shows readers use it too: its spam history then counts against no one else.
    let mut reader = comment(
        "reputation",
        Status::Held,
        "my photos of the market: https://watch_deals.example/album",
    );
    reader.author_email = "cy@example.org".into();
    reader.author_url = Some("https://cheap-pills.example/cy".into());
    let reader = store.insert(reader).await.unwrap();
    assert!(
        store
            .reputation(&stranger)
            .await
            .unwrap()
            .website_marked_spam
    );
    store
        .set_status(reader.id, Status::Published, "admin")
        .await
        .unwrap();
    let known = store.reputation(&stranger).await.unwrap();
    assert!(
        !known.website_marked_spam && !known.link_domain_marked_spam && known.ip_marked_spam,
        "{known:?}"
    );

    // An Akismet key's checks are that key's history only: the blog's report (its client's
    // correction by guid) counts in the key's scope, never against the site's readers; the
    // blog's own approval of a later check on that domain lifts the domain's history there.
    let key = store
        .add_key(
            "hash-rep",
            "rg_rep",
            &["rep.example".to_string()],
            None,
            None,
        )
        .await
        .unwrap();
    let in_key = |mut c: storage::NewComment, email: &str, url: &str| {
        c.api_key_id = Some(key.id);
        c.source = "akismet".into();
        c.author_email = email.into();
        c.author_url = Some(url.into());
        c
    };
    let check = store
        .insert(in_key(
            comment(
                &format!("akismet:{}", key.id),
                Status::Published,
                "deals today",
            ),
            "k@example.org",
            "https://keyshop.example/deal",
        ))
        .await
        .unwrap();
    store
        .set_status(check.id, Status::Spam, "akismet-client")
        .await
        .unwrap();
    let mut asked = who("k@example.org", "Ana", "2000-01-01T00:00:00Z");
    asked.website_domain = "keyshop.example".into();
    let site_reader = store.reputation(&asked).await.unwrap();
    assert!(
        !site_reader.marked_spam && !site_reader.website_marked_spam,
        "{site_reader:?}"
    );
    asked.api_key = Some(key.id);
    let known = store.reputation(&asked).await.unwrap();
    assert!(known.marked_spam && known.website_marked_spam, "{known:?}");
    let approved = store
        .insert(in_key(
            comment(
                &format!("akismet:{}", key.id),
                Status::Held,
                "my shop's photos",
            ),
            "m@example.org",
            "https://keyshop.example/m",
        ))
        .await
        .unwrap();
    store
        .set_status(approved.id, Status::Published, "akismet-client")
        .await
        .unwrap();
    let mut stranger = who("z@example.org", "Zed", "2000-01-01T00:00:00Z");
    stranger.website_domain = "keyshop.example".into();
    stranger.api_key = Some(key.id);
    let known = store.reputation(&stranger).await.unwrap();
    assert!(!known.website_marked_spam, "{known:?}");
}

/// Sites with their origins, threads keyed by (site, uri), and readers' edits and votes; a
/// site's comments stay its own.
async fn sites_threads_and_votes(store: &dyn Store) {
    use replyguard::domain::{SiteName, SiteOrigin};
    let change = |name: &str, origins: &[&str]| storage::SiteChange {
        name: SiteName::parse(name).unwrap(),
        title: None,
        origins: origins
            .iter()
            .map(|o| SiteOrigin::parse(o).unwrap())
            .collect(),
        settings: None,
    };
    let blog = store
        .add_site(&change(
            "blog",
            &["https://blog.example", "http://localhost:1313"],
        ))
        .await
        .unwrap();
    assert_ne!(blog.id, 1);
    assert_eq!(
        blog.origins,
        vec!["http://localhost:1313", "https://blog.example"]
    );
    // An origin belongs to one site.
    let taken = store
        .add_site(&change("docs", &["https://blog.example"]))
        .await;
    assert!(matches!(taken, Err(StorageError::Conflict(_))), "{taken:?}");

    // Remote ids are unique within a site: two sites moved from two Isso databases both have an
    // `isso:1`, and the second is not taken for the first.
    let from_isso = |site: i64| {
        let mut c = imported("isso:1", "thread:/moved/", None, false);
        c.comment.site_id = site;
        c.comment.author_email = "moved@example.org".into();
        c
    };
    for site in [1, blog.id] {
        let outcomes = store.import_comments(vec![from_isso(site)]).await.unwrap();
        assert!(
            matches!(outcomes[0], CommentOutcome::Created(_)),
            "site {site}: {outcomes:?}"
        );
    }
    let again = store
        .import_comments(vec![from_isso(blog.id)])
        .await
        .unwrap();
    assert_eq!(again, vec![CommentOutcome::Existing]);
    let docs = store.add_site(&change("docs", &[])).await.unwrap();
    let known = store
        .known_comments(&[from_isso(blog.id), from_isso(docs.id)], &[])
        .await
        .unwrap();
    assert_eq!(known, vec![true, false], "a dry run counts per site too");
    let names: Vec<String> = store
        .sites()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names[0], "default");
    assert!(names.contains(&"blog".to_string()));

    // Threads: created once, first title kept.
    let thread = store.create_thread(blog.id, "/p/", "First").await.unwrap();
    let again = store.create_thread(blog.id, "/p/", "Second").await.unwrap();
    assert_eq!((thread.id, again.title.as_str()), (again.id, "First"));
    assert!(store.thread(1, "/p/").await.unwrap().is_none());
    // Closed and opened again by the owner; a page with no thread yet gets one, closed.
    let closed = store
        .set_comments_open(blog.id, "/p/", "/p/", false)
        .await
        .unwrap();
    assert_eq!(
        (closed.id, closed.title.as_str(), closed.comments_open),
        (thread.id, "First", false)
    );
    assert!(thread.comments_open);
    let opened = store
        .set_comments_open(blog.id, "/p/", "/p/", true)
        .await
        .unwrap();
    assert!(
        opened.comments_open
            && store
                .thread(blog.id, "/p/")
                .await
                .unwrap()
                .is_some_and(|t| t.comments_open)
    );
    let fresh = store
        .set_comments_open(blog.id, "/new/", "/new/", false)
        .await
        .unwrap();
    assert_eq!(
        (fresh.title.as_str(), fresh.comments_open),
        ("/new/", false)
    );
    assert!(store.thread(1, "/new/").await.unwrap().is_none());
    // A closed default-site article (keyed by its slug) is no page of the site.
    store
        .set_comments_open(1, "some-article", "some-article", false)
        .await
        .unwrap();
    assert!(
        store
            .thread(1, "some-article")
            .await
            .unwrap()
            .is_some_and(|t| !t.comments_open)
    );
    assert!(
        store
            .threads(1, 100)
            .await
            .unwrap()
            .iter()
            .all(|t| t.uri.starts_with('/'))
    );

    // The same page path on two sites is two threads.
    let mut on_blog = comment("/p/", Status::Published, "on the blog");
    on_blog.site_id = blog.id;
    let on_blog = store.insert(on_blog).await.unwrap();
    store
        .insert(comment("/p/", Status::Published, "on default"))
        .await
        .unwrap();
    assert_eq!(store.count_published(blog.id, "/p/").await.unwrap(), 1);
    assert_eq!(store.count_published(1, "/p/").await.unwrap(), 1);
    assert!(
        store
            .is_duplicate(blog.id, "/p/", "ana@example.org", "on the blog")
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_duplicate(1, "/p/", "ana@example.org", "on the blog")
            .await
            .unwrap()
    );

    // Edits and votes: one vote per voter, totals per comment.
    let edited = store
        .edit_comment(
            on_blog.id,
            "edited text",
            "Ana B",
            Some("https://ana.example"),
        )
        .await
        .unwrap();
    assert_eq!(edited.content, "edited text");
    assert_eq!(edited.author_url.as_deref(), Some("https://ana.example"));
    assert_eq!(store.vote(on_blog.id, "v1", true).await.unwrap().likes, 1);
    assert_eq!(store.vote(on_blog.id, "v1", true).await.unwrap().likes, 1);
    let votes = store.vote(on_blog.id, "v2", false).await.unwrap();
    assert_eq!((votes.likes, votes.dislikes), (1, 1));
    let extras = store.thread_extras(blog.id, "/p/").await.unwrap();
    assert_eq!(extras.len(), 1);
    assert!(extras[0].edited_at.is_some());
    assert!(store.thread_extras(1, "/p/").await.unwrap().is_empty());
    // The same looked up by id; an unknown id has none.
    let by_id = store.comment_extras(&[on_blog.id, 999_999]).await.unwrap();
    assert_eq!(by_id, extras);
    // A held comment's author may edit it too (Isso shows the author when): its edit time is
    // there by id; the thread's published extras leave it out.
    let mut held = comment("/p/", Status::Held, "waiting for a moderator");
    held.site_id = blog.id;
    let held = store.insert(held).await.unwrap();
    store
        .edit_comment(held.id, "still waiting", "Ana", None)
        .await
        .unwrap();
    let held_extras = store.comment_extras(&[held.id]).await.unwrap();
    assert_eq!(held_extras.len(), 1);
    assert!(held_extras[0].edited_at.is_some());
    assert_eq!(store.thread_extras(blog.id, "/p/").await.unwrap(), extras);

    // Removing a site frees its origins and keeps its comments; adding it again revives it.
    assert!(store.remove_site("blog", &[]).await.unwrap());
    assert!(
        !store
            .sites()
            .await
            .unwrap()
            .iter()
            .any(|s| s.name == "blog")
    );
    let docs = store
        .add_site(&change("docs", &["https://blog.example"]))
        .await
        .unwrap();
    assert_eq!(docs.origins, vec!["https://blog.example"]);
    let revived = store.add_site(&change("blog", &[])).await.unwrap();
    assert_eq!(revived.id, blog.id);
    assert_eq!(store.count_published(blog.id, "/p/").await.unwrap(), 1);
    assert!(!store.remove_site("nowhere", &[]).await.unwrap());
}

/// Erasing a commenter: their comments keep text and thread, lose what names them.
async fn erasing_a_commenter(store: &dyn Store) {
    let mut theirs = comment("erase", Status::Published, "kept text");
    theirs.author_email = "Eve@Example.org".into();
    theirs.author_url = Some("https://eve.example".into());
    let theirs = store.insert(theirs).await.unwrap();
    let kept = store
        .insert(comment("erase", Status::Published, "someone else"))
        .await
        .unwrap();
    let erased = store.erase_author("eve@example.ORG").await.unwrap();
    assert_eq!(erased.comments, 1);
    let after = store.get(theirs.id).await.unwrap().unwrap();
    assert_eq!(
        (
            after.author.as_str(),
            after.author_email.as_str(),
            after.author_url,
            after.user_ip
        ),
        ("Anonymous", "", None, None)
    );
    assert_eq!(after.content, "kept text");
    assert_eq!(store.get(kept.id).await.unwrap().unwrap().author, "Ana");
    assert_eq!(
        store.erase_author("").await.unwrap(),
        storage::Erased::default()
    );
    // An address with non-ASCII capitals, as comments store it (ASCII letters lowercased), is
    // found however it is typed.
    let mut jose = comment("erase", Status::Published, "hola");
    jose.author_email = "josÉ@example.org".into();
    let jose = store.insert(jose).await.unwrap();
    let erased = store.erase_author("JOSÉ@Example.org").await.unwrap();
    assert_eq!(erased.comments, 1);
    assert_eq!(store.get(jose.id).await.unwrap().unwrap().author_email, "");
    // As comments store an address now (lowercased), whatever case is typed.
    let mut lower = comment("erase", Status::Published, "adiós");
    lower.author_email = "josé@example.org".into();
    let lower = store.insert(lower).await.unwrap();
    let erased = store.erase_author("JOSÉ@EXAMPLE.ORG").await.unwrap();
    assert_eq!(erased.comments, 1);
    assert_eq!(store.get(lower.id).await.unwrap().unwrap().author_email, "");
}

fn outcome(
    state: &str,
    error: Option<String>,
    attempts: i64,
    channels: &str,
) -> storage::EventOutcome {
    storage::EventOutcome {
        state: state.into(),
        error,
        next_attempt_at: "2999-01-01T00:00:00Z".into(),
        attempts,
        done_at: Some("2999-01-01T00:00:00Z".into()),
        done_channels: channels.into(),
    }
}

/// The outbox: a reader's comment and its moderation are events, written by the database; a
/// claimed event is leased (a second claim gets nothing until the lease ends); outcomes land in
/// the delivery log.
async fn reply_subscriptions(store: &dyn Store) {
    let mut asked = comment("replies", Status::Published, "tell me of replies");
    asked.author_email = "asker@example.org".into();
    let asked = store.insert(asked).await.unwrap();
    assert_eq!(
        store.reply_subscriber(asked.id).await.unwrap(),
        None,
        "opt-in only"
    );
    store.subscribe_replies(asked.id).await.unwrap();
    store.subscribe_replies(asked.id).await.unwrap();
    let reader = store
        .reply_subscriber(asked.id)
        .await
        .unwrap()
        .expect("subscribed");
    assert_eq!(reader.email, "asker@example.org");
    assert_eq!(reader.status, Status::Published);
    assert_eq!(reader.site_id, 1);
    assert!(
        !reader.confirmed,
        "double opt-in: not before the address says yes"
    );
    assert_eq!(reader.asked_at, None);
    // Asking is recorded; confirming is per address (any case) and site, once.
    store
        .ask_reply_address(1, "asker@example.org")
        .await
        .unwrap();
    let reader = store.reply_subscriber(asked.id).await.unwrap().unwrap();
    assert!(reader.asked_at.is_some() && !reader.confirmed);
    assert!(
        store
            .confirm_reply_address(1, " Asker@Example.ORG")
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_reply_address(1, "asker@example.org")
            .await
            .unwrap(),
        "once"
    );
    store
        .ask_reply_address(1, "asker@example.org")
        .await
        .unwrap();
    assert!(
        store
            .reply_subscriber(asked.id)
            .await
            .unwrap()
            .unwrap()
            .confirmed
    );
    // The consent is personal data: erasing the author takes it.
    let mut other = comment("replies", Status::Published, "someone else's consent stays");
    other.author_email = "keeper@example.org".into();
    let other = store.insert(other).await.unwrap();
    store.subscribe_replies(other.id).await.unwrap();
    store
        .confirm_reply_address(1, "keeper@example.org")
        .await
        .unwrap();
    store.erase_author("asker@example.org").await.unwrap();
    assert!(
        store
            .reply_subscriber(other.id)
            .await
            .unwrap()
            .unwrap()
            .confirmed
    );
    let mut again = comment("replies", Status::Published, "asking once more");
    again.author_email = "asker@example.org".into();
    let again = store.insert(again).await.unwrap();
    store.subscribe_replies(again.id).await.unwrap();
    let reader = store.reply_subscriber(again.id).await.unwrap().unwrap();
    assert!(!reader.confirmed && reader.asked_at.is_none(), "{reader:?}");
    assert!(store.unsubscribe_replies(asked.id).await.unwrap());
    assert!(!store.unsubscribe_replies(asked.id).await.unwrap(), "once");
    assert_eq!(store.reply_subscriber(asked.id).await.unwrap(), None);
    let answer = store
        .insert(comment("replies", Status::Published, "an answer"))
        .await
        .unwrap();
    assert!(!store.reply_announced(answer.id).await.unwrap());
    store.announce_reply(answer.id).await.unwrap();
    store.announce_reply(answer.id).await.unwrap();
    assert!(store.reply_announced(answer.id).await.unwrap());
}

async fn outbox_events_are_claimed_once(store: &dyn Store) {
    let now = "2999-01-01T00:00:00Z";
    let lease = "2999-01-01T00:01:00Z";
    // Whatever earlier steps left is claimed and settled first.
    for old in store.claim_events(now, lease, 100_000).await.unwrap() {
        store
            .finish_event(old.id, &outcome("sent", None, 1, "webhook"))
            .await
            .unwrap();
    }
    let c = store
        .insert(comment("outbox", Status::Held, "wait for me"))
        .await
        .unwrap();
    store
        .set_status(c.id, Status::Published, "moderator")
        .await
        .unwrap();
    let claimed = store.claim_events(now, lease, 10).await.unwrap();
    let events: Vec<&str> = claimed.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, vec!["comment.held", "comment.moderated"]);
    assert!(claimed.iter().all(|e| e.comment_id == c.id));
    assert!(
        store.claim_events(now, lease, 10).await.unwrap().is_empty(),
        "claimed twice"
    );
    // After the lease, an unfinished event is claimed again.
    let later = store
        .claim_events("2999-01-01T00:02:00Z", "2999-01-01T00:03:00Z", 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
    store
        .finish_event(later[0].id, &outcome("sent", None, 1, "webhook"))
        .await
        .unwrap();
    store
        .finish_event(later[1].id, &outcome("failed", Some("503".into()), 8, ""))
        .await
        .unwrap();
    let log = store.delivery_log(1, 10).await.unwrap();
    assert!(log.iter().any(|e| e.id == later[1].id
        && e.state == "failed"
        && e.last_error.as_deref() == Some("503")));
    // Imports are not news.
    assert!(
        store
            .claim_events("2999-01-01T00:09:00Z", "2999-01-01T00:10:00Z", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two stores on one database stand for two replicas: each rules duplicates out from memory, yet
/// a text stored through one is a duplicate for the other too, soon after (its index reads what
/// others stored at most a second later), and at once for the one that stored it.
async fn duplicates_are_seen_by_every_replica(db: &Database) {
    let (one, other) = (
        storage::open(db).await.unwrap(),
        storage::open(db).await.unwrap(),
    );
    let fresh = |n: u32| format!("a text no one sent before, number {n}");
    // The first checks start each index's background read of what is stored.
    for store in [&one, &other] {
        assert!(
            !store
                .is_duplicate(1, "dup", "ana@example.org", &fresh(0))
                .await
                .unwrap()
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let sent = one
        .insert(comment("dup", Status::Published, "the same words twice"))
        .await
        .unwrap();
    assert!(
        one.is_duplicate(1, "dup", "ana@example.org", &sent.content)
            .await
            .unwrap()
    );
    let mut seen_by_other = false;
    for _ in 0..50 {
        if other
            .is_duplicate(1, "dup", "ana@example.org", &sent.content)
            .await
            .unwrap()
        {
            seen_by_other = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen_by_other,
        "the other replica never learned the stored text"
    );
    for (n, store) in [&one, &other].into_iter().enumerate() {
        assert!(
            !store
                .is_duplicate(1, "dup", "bob@example.org", &sent.content)
                .await
                .unwrap()
        );
        assert!(
            !store
                .is_duplicate(1, "dup", "ana@example.org", &fresh(n as u32 + 1))
                .await
                .unwrap()
        );
    }
    // Its author edits it on one replica: the new text is a duplicate on both (the other reads
    // edits by their time, as no new row tells it).
    let edited = "the same words, edited after posting";
    one.edit_comment(sent.id, edited, "Ana", None)
        .await
        .unwrap();
    assert!(
        one.is_duplicate(1, "dup", "ana@example.org", edited)
            .await
            .unwrap()
    );
    let mut edit_seen_by_other = false;
    for _ in 0..50 {
        if other
            .is_duplicate(1, "dup", "ana@example.org", edited)
            .await
            .unwrap()
        {
            edit_seen_by_other = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        edit_seen_by_other,
        "the other replica never learned the edited text"
    );
    // A trashed comment no longer makes its text a duplicate, whatever the index remembers.
    one.set_status(sent.id, Status::Trash, "admin")
        .await
        .unwrap();
    assert!(
        !other
            .is_duplicate(1, "dup", "ana@example.org", edited)
            .await
            .unwrap()
    );
}

/// Two stores on one database stand for two replicas: each answers for senders it has never
/// seen from memory, yet a sender stored and marked spam through one is known to the other soon
/// after (its index reads what others stored; an idle one asks the database), and at once to the
/// one that stored it.
async fn reputation_is_shared_by_every_replica(db: &Database) {
    let (one, other) = (
        storage::open(db).await.unwrap(),
        storage::open(db).await.unwrap(),
    );
    let mut seller = who("seller@shared.example", "Sam", "2000-01-01T00:00:00Z");
    seller.website_domain = "shared-deals.example".into();
    seller.ip = "198.51.100.77".into();
    seller.link_domains = vec!["a.shared-pills.example".into()];
    for store in [&one, &other] {
        assert_eq!(
            store.reputation(&seller).await.unwrap(),
            storage::Reputation::default()
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut c = comment(
        "shared-rep",
        Status::Held,
        "Cheapest pills: http://a.shared-pills.example/buy and visit deals.shared-pills.example",
    );
    c.author_email = "seller@shared.example".into();
    c.author = "Sam".into();
    c.author_url = Some("https://shared-deals.example/".into());
    c.user_ip = Some("198.51.100.77".into());
    let held = one.insert(c).await.unwrap();
    one.set_status(held.id, Status::Spam, "admin")
        .await
        .unwrap();
    let everything = storage::Reputation {
        returning_author: false,
        website_published: false,
        marked_spam: true,
        website_marked_spam: true,
        ip_marked_spam: true,
        link_domain_marked_spam: true,
    };
    assert_eq!(one.reputation(&seller).await.unwrap(), everything);
    // Each fact alone, from a stranger who shares only it.
    let mut by_link = who("other@else.example", "Oz", "2000-01-01T00:00:00Z");
    by_link.link_domains = vec!["shared-pills.example".into()];
    let mut known_elsewhere = None;
    for _ in 0..50 {
        let known = other.reputation(&seller).await.unwrap();
        if known == everything {
            known_elsewhere = Some(known);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        known_elsewhere,
        Some(everything),
        "the other replica never learned the sender"
    );
    for store in [&one, &other] {
        let known = store.reputation(&by_link).await.unwrap();
        assert!(
            known.link_domain_marked_spam && !known.marked_spam,
            "{known:?}"
        );
        let stranger = who("nobody@else.example", "Oz", "2000-01-01T00:00:00Z");
        assert_eq!(
            store.reputation(&stranger).await.unwrap(),
            storage::Reputation::default()
        );
    }
}

/// However many comments stay published, a site's log holds at most `IMPLICIT_PER_SITE`
/// implicit-ham entries (net of take-backs): what every start replays stays bounded. Runs after
/// the others; adds more unchallenged comments than the bound to the default site.
async fn implicit_ham_per_site_is_bounded(store: &dyn Store) {
    for i in 0..storage::IMPLICIT_PER_SITE + 10 {
        store
            .insert(comment("stayed", Status::Published, &format!("fine {i}")))
            .await
            .unwrap();
    }
    let mut after_id = 0;
    loop {
        let (_, through) = store
            .learn_unchallenged("2999-01-01T00:00:00Z", 0, after_id, 1_000, false)
            .await
            .unwrap();
        if through == after_id {
            break;
        }
        after_id = through;
    }
    let (mut implicit, mut after) = (0.0, 0);
    loop {
        let page = store.learning_log(after, 10_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        implicit += page
            .iter()
            .filter(|e| e.source == storage::IMPLICIT_SOURCE && e.site == "default")
            .map(|e| e.sign)
            .sum::<f64>();
    }
    assert_eq!(implicit, storage::IMPLICIT_PER_SITE as f64);
    let fresh = store
        .insert(comment("deep-a", Status::Published, "one more"))
        .await
        .unwrap();
    let (learned, through) = store
        .learn_unchallenged("2999-01-01T00:00:00Z", 0, fresh.id - 1, 1_000, false)
        .await
        .unwrap();
    assert_eq!((learned, through), (0, fresh.id), "looked at, not learned");
}

/// A page's comments and thread stored under several spellings of its path (as versions that kept
/// keys as sent stored them) are one page, in its canonical spelling, once the database is opened
/// again: its comments counted together, closed if any spelling was, its title kept.
async fn spellings_of_a_page_become_one(db: &Database) {
    let canonical = "/r%C3%A9sum%C3%A9/";
    {
        let store = storage::open(db).await.unwrap();
        for (key, status) in [
            ("/r%c3%a9sum%c3%a9/", Status::Published),
            ("/résumé/", Status::Published),
            ("/x/../r%C3%A9sum%C3%A9/", Status::Held),
        ] {
            store.insert(comment(key, status, key)).await.unwrap();
        }
        store
            .create_thread(1, "/r%c3%a9sum%c3%a9/", "Résumé")
            .await
            .unwrap();
        store
            .set_comments_open(1, "/résumé/", "", false)
            .await
            .unwrap();
        store
            .insert(comment("a-slug", Status::Published, "an article's"))
            .await
            .unwrap();
    }
    let store = storage::open(db).await.unwrap();
    assert_eq!(store.count_published(1, canonical).await.unwrap(), 2);
    assert_eq!(store.count_published(1, "/résumé/").await.unwrap(), 0);
    let page = store
        .published(1, canonical, Window::Offset(0), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 2, "the comments moved with the count");
    let thread = store.thread(1, canonical).await.unwrap().unwrap();
    assert!(!thread.comments_open, "closed under one spelling is closed");
    assert_eq!(thread.title, "Résumé");
    for gone in ["/r%c3%a9sum%c3%a9/", "/résumé/"] {
        assert!(store.thread(1, gone).await.unwrap().is_none(), "{gone}");
    }
    let listed = store.threads(1, 1_000).await.unwrap();
    assert_eq!(listed.iter().filter(|t| t.uri.contains("sum")).count(), 1);
    assert_eq!(
        store.count_published(1, "a-slug").await.unwrap(),
        1,
        "article keys are not paths"
    );
}

async fn conformance(db: &Database) {
    let store = storage::open(db).await.unwrap();
    comments_and_moderation(&*store).await;
    windows_read_pages_by_cursor_or_offset(&*store).await;
    learning_log_follows_decisions(&*store).await;
    unchallenged_comments_are_learned_once(&*store).await;
    concurrent_inserts_are_all_kept(store.clone()).await;
    settings_and_sessions(&*store).await;
    keys_and_examples(&*store).await;
    imports(&*store).await;
    reputation_by_address(&*store).await;
    sites_threads_and_votes(&*store).await;
    erasing_a_commenter(&*store).await;
    outbox_events_are_claimed_once(&*store).await;
    reply_subscriptions(&*store).await;
    duplicates_are_seen_by_every_replica(db).await;
    reputation_is_shared_by_every_replica(db).await;
    implicit_ham_per_site_is_bounded(&*store).await;
    spellings_of_a_page_become_one(db).await;
    drop(store);
    // Opening again finds everything, with no migration to redo.
    let store = storage::open(db).await.unwrap();
    assert_eq!(store.count_published(1, "many").await.unwrap(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&Database::Sqlite(dir.path().join("db.sqlite"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    conformance(&Database::Postgres(url)).await;
}

// The numbered-page invariant is the longest part of the suite (10k operations): a test of its
// own per backend, on a store of its own, runs beside the rest instead of after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_numbers_pages_like_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage::open(&Database::Sqlite(dir.path().join("db.sqlite")))
        .await
        .unwrap();
    numbered_pages_match_offset_after_a_random_history(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_numbers_pages_like_offset() {
    let mut cluster = PgCluster::start();
    let store = storage::open(&Database::Postgres(cluster.database()))
        .await
        .unwrap();
    numbered_pages_match_offset_after_a_random_history(&*store).await;
}

/// The tables and columns of both backends, as `table.column` lines, after every migration.
/// Types differ by dialect (`INTEGER` / `BIGINT`, `TEXT`); names and nullability must not.
fn schema_of_sqlite(path: &std::path::Path) -> std::collections::BTreeSet<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut tables = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT IN ('schema_migrations', 'refinery_schema_history')",
        )
        .unwrap();
    let tables: Vec<String> = tables
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut columns = std::collections::BTreeSet::new();
    for table in tables {
        let mut info = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        let rows = info
            .query_map([], |r| {
                let name: String = r.get(1)?;
                let not_null: i64 = r.get(3)?;
                let pk: i64 = r.get(5)?;
                Ok(format!(
                    "{table}.{name}{}",
                    if not_null == 1 || pk > 0 {
                        " not null"
                    } else {
                        ""
                    }
                ))
            })
            .unwrap();
        columns.extend(rows.map(Result::unwrap));
    }
    columns
}

async fn schema_of_postgres(url: &str) -> std::collections::BTreeSet<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns \
             WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let (table, column, nullable): (String, String, String) =
                (r.get(0), r.get(1), r.get(2));
            format!(
                "{table}.{column}{}",
                if nullable == "NO" { " not null" } else { "" }
            )
        })
        .collect()
}

/// Both backends' migrations describe one schema: the same tables, columns and nullability
/// (#28: a column added to one backend only fails here, not in production).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    drop(
        storage::open(&Database::Sqlite(path.clone()))
            .await
            .unwrap(),
    );
    let mut cluster = PgCluster::start();
    let url = cluster.database();
    drop(
        storage::open(&Database::Postgres(url.clone()))
            .await
            .unwrap(),
    );
    let sqlite = schema_of_sqlite(&path);
    let mut postgres = schema_of_postgres(&url).await;
    // What only PostgreSQL needs, on purpose: its migration record (SQLite keeps `user_version`),
    // the flood guard replicas share (one SQLite process keeps it in memory), and the shards that
    // spread concurrent replicas' count updates over several rows.
    const POSTGRES_ONLY: [&str; 4] = [
        "replyguard_schema.",
        "post_guard.",
        "comment_counts.shard",
        "published_blocks.shard",
    ];
    postgres.retain(|c| !POSTGRES_ONLY.iter().any(|p| c.starts_with(p)));
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}
