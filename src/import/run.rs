//! Importing one export into the store: every comment goes through the same steps as a submitted
//! one — parsed into a [`CommentDraft`] (relayed strictness), scored by the classifier for the
//! moderation queues — but keeps the status the old site gave it ([`Origin::Import`]), and its
//! label becomes a labeled example in the learning log, as a moderator's decision would.

use super::{CommentRecord, ImportError, Item, Record, Refused};
use crate::data::{CommentView, Label};
use crate::domain::{CommentDraft, Origin, RawComment, Status, Strictness, training_label};
use crate::engine::{Model, Scratch, Verdict};
use crate::storage::{
    ArticleOutcome, CommentOutcome, ImportStore, ImportedComment, NewComment, SiteStore,
    StorageError,
};
use std::collections::{BTreeMap, BTreeSet};

/// Comments committed together: large enough that 100,000 comments take a few hundred commits,
/// small enough that an interrupted import loses little work and memory stays flat.
const BATCH: usize = 1_000;

/// How an import runs.
pub struct Options<'a> {
    /// Scores each comment for the moderation queues (not for its status).
    pub model: &'a Model,
    pub model_version: &'a str,
    /// Append the labels of spam and approved comments to the learning log.
    pub learn: bool,
    /// Read and count only; write nothing.
    pub dry_run: bool,
    /// Slugs of the Markdown articles (a Disqus thread with the same slug joins its article).
    pub taken_slugs: &'a [String],
    /// The site the comments are imported into.
    pub site: i64,
    /// Its name and origins (`https://blog.example`): a post or thread of the export whose
    /// address is at one of them (or is the site's thread page here) is that site's page, and
    /// becomes its thread rather than an article here.
    pub site_name: &'a str,
    pub site_origins: &'a [String],
    /// New address of the old site's `wp-content/uploads/` (`--media-base`).
    pub media_base: Option<&'a str>,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub articles_created: u64,
    pub articles_existing: u64,
    /// Created but not shown (drafts, private, password-protected, deleted threads).
    pub articles_hidden: u64,
    /// Pages of an embedding site (Isso threads) created or found.
    pub threads: u64,
    /// New comments by status.
    pub comments: BTreeMap<&'static str, u64>,
    pub comments_existing: u64,
    /// Comments whose article is not in the file or the database.
    pub orphans: Vec<String>,
    pub learned_spam: u64,
    pub learned_ham: u64,
    pub refused: Vec<Refused>,
    pub replies_linked: u64,
    /// What was converted or left out of the articles' bodies: `slug: what`.
    pub notes: Vec<String>,
}

impl Report {
    pub fn comments_created(&self) -> u64 {
        self.comments.values().sum()
    }
}

/// One import in progress.
/// The parsers push records through a callback, so the importer is synchronous: it waits for
/// each storage call on the runtime `rt` (which must not be the calling thread's own).
pub struct Importer<'a, S: ImportStore + SiteStore + ?Sized> {
    store: &'a S,
    rt: &'a tokio::runtime::Handle,
    options: Options<'a>,
    scratch: Scratch,
    batch: Vec<ImportedComment>,
    /// Status of each comment of the batch, for the report.
    statuses: Vec<Status>,
    /// In a dry run, the articles found here (remote id, slug): nothing records that they
    /// joined, so their comments are looked for under these slugs.
    dry_joined: BTreeMap<String, String>,
    /// Posts of the export that are pages of the site (remote id → the thread's uri): their
    /// comments go to that thread.
    threads_of: BTreeMap<String, String>,
    /// The uris of those threads.
    pages: BTreeSet<String>,
    /// The site's hosts without `www.`, which its pages' links are at.
    site_hosts: Vec<String>,
    /// On the default site, the articles it serves by the paths an Isso export names them
    /// (`/articles/SLUG`, or an imported post's own address), looked up once: an Isso thread at
    /// such a path is that article.
    served: Option<BTreeMap<String, String>>,
    pub report: Report,
}

/// `host` without a leading `www.`.
fn bare_host(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

impl<'a, S: ImportStore + SiteStore + ?Sized> Importer<'a, S> {
    pub fn new(store: &'a S, rt: &'a tokio::runtime::Handle, options: Options<'a>) -> Self {
        let site_hosts = options
            .site_origins
            .iter()
            .filter_map(|origin| url::Url::parse(origin).ok())
            .filter_map(|origin| origin.host_str().map(|h| bare_host(h).to_string()))
            .collect();
        Importer {
            store,
            rt,
            options,
            scratch: Scratch::default(),
            batch: Vec::with_capacity(BATCH),
            statuses: Vec::with_capacity(BATCH),
            dry_joined: BTreeMap::new(),
            threads_of: BTreeMap::new(),
            pages: BTreeSet::new(),
            site_hosts,
            served: None,
            report: Report::default(),
        }
    }

    /// The article an Isso thread `uri` is, on the default site: one this server serves at
    /// `/articles/SLUG`, or an imported post at the path of its old address (an Isso export of
    /// this database names its articles so, and imported back their comments must join them, not
    /// a page of that path).
    fn article_at(&mut self, uri: &str) -> Result<Option<String>, ImportError> {
        if self.options.site != crate::domain::DEFAULT_SITE {
            return Ok(None);
        }
        if self.served.is_none() {
            let at = |slug: &str| format!("/articles/{slug}");
            let mut served: BTreeMap<String, String> = self
                .options
                .taken_slugs
                .iter()
                .map(|slug| (at(slug), slug.clone()))
                .collect();
            for article in self.rt.block_on(self.store.public_articles())? {
                let address = article
                    .link
                    .as_deref()
                    .and_then(|link| url::Url::parse(link).ok())
                    .and_then(|link| crate::domain::site::thread_uri(link.path()).ok());
                if let Some(path) = address {
                    served.entry(path).or_insert_with(|| article.slug.clone());
                }
                served.insert(at(&article.slug), article.slug);
            }
            self.served = Some(served);
        }
        let served = self.served.as_ref();
        let found = served.and_then(|s| s.get(uri)).or_else(|| {
            // `/articles/SLUG/` names the article as well.
            let bare = uri.strip_suffix('/')?;
            bare.starts_with("/articles/")
                .then(|| served.and_then(|s| s.get(bare)))
                .flatten()
        });
        Ok(found.cloned())
    }

    /// Takes one item read from an export.
    pub fn take(&mut self, item: Item) -> Result<(), ImportError> {
        match item {
            Err(refused) => self.report.refused.push(refused),
            Ok(Record::Article(mut a)) => {
                // Comments read before this article belong to earlier ones: store them first.
                self.flush()?;
                if let Some(uri) = self.page_of_site(&a)? {
                    // A post of the site that embeds the comments (it moved from WordPress or
                    // Disqus to pages of its own at the same address): the embed on that page
                    // asks for its path, so the comments go to that thread, not to an article.
                    let known = self.is_page(&uri)?;
                    if !self.options.dry_run {
                        self.rt.block_on(self.store.import_page(
                            &a.remote_id,
                            self.options.site,
                            &uri,
                            &a.title,
                            a.comments_open,
                        ))?;
                    }
                    // Threads made, not found.
                    self.report.threads += u64::from(!known);
                    self.pages.insert(uri.clone());
                    self.threads_of.insert(a.remote_id, uri);
                    return Ok(());
                }
                if let Some(base) = self.options.media_base {
                    let (html, moved) = super::sanitize::rewrite_uploads(&a.html, base);
                    if moved > 0 {
                        a.html = html;
                        a.notes
                            .push(format!("{moved} upload link(s) now point to {base}"));
                    }
                }
                self.report
                    .notes
                    .extend(a.notes.iter().map(|n| format!("{}: {n}", a.slug)));
                if self.options.dry_run {
                    // Found as the real import finds it: by remote id, or joining an article
                    // here by link or slug (whose comments are then looked for under it).
                    let known = self
                        .rt
                        .block_on(self.store.known_article(&a, self.options.taken_slugs))?;
                    match known {
                        Some(slug) => {
                            self.report.articles_existing += 1;
                            self.dry_joined.insert(a.remote_id, slug);
                        }
                        None => {
                            self.report.articles_created += 1;
                            self.report.articles_hidden += u64::from(!a.public);
                        }
                    }
                    return Ok(());
                }
                match self
                    .rt
                    .block_on(self.store.import_article(&a, self.options.taken_slugs))?
                {
                    ArticleOutcome::Created(_) => {
                        self.report.articles_created += 1;
                        self.report.articles_hidden += u64::from(!a.public);
                    }
                    ArticleOutcome::Existing(_) => self.report.articles_existing += 1,
                }
            }
            Ok(Record::Thread(t)) => {
                self.flush()?;
                if self.article_at(&t.uri)?.is_some() {
                    return Ok(()); // an article here, not a page
                }
                if self.options.dry_run {
                    self.report.threads += 1;
                    return Ok(());
                }
                self.rt.block_on(
                    self.store
                        .create_thread(self.options.site, &t.uri, &t.title),
                )?;
                self.report.threads += 1;
            }
            Ok(Record::Comment(mut c)) => {
                if let Some(uri) = self.threads_of.get(&c.article) {
                    c.article = format!("thread:{uri}");
                }
                if let Some(uri) = c.article.strip_prefix("thread:")
                    && let Some(slug) = self.article_at(uri)?
                {
                    c.article = crate::storage::article_key(&slug);
                }
                let position = c.remote_id.clone();
                match self.prepare(c) {
                    Ok((row, status)) => {
                        self.batch.push(row);
                        self.statuses.push(status);
                        if self.batch.len() >= BATCH {
                            self.flush()?;
                        }
                    }
                    Err(reason) => self.report.refused.push(Refused { position, reason }),
                }
            }
        }
        Ok(())
    }

    /// The path of the site's page `a` is, when it is a public post of an embedding site (not
    /// the default one, whose pages are this server's articles) and its address is a page at
    /// the site's host (`http` or `https`, with or without `www.`) named by its path alone —
    /// or is the site's thread page on a replyguard server (`/sites/NAME/thread?uri=PATH`, what
    /// an export links a thread of a site without an address to). A post that is not public
    /// stays a hidden article: a thread shows its comments to anyone. A link whose query names
    /// the page (`/?p=12`, WordPress's plain permalinks) names no path a page embeds from.
    fn page_of_site(
        &self,
        a: &crate::domain::ArticleRecord,
    ) -> Result<Option<String>, ImportError> {
        if self.options.site == crate::domain::DEFAULT_SITE || !a.public {
            return Ok(None);
        }
        let Some(link) = a.link.as_deref().and_then(|l| url::Url::parse(l).ok()) else {
            return Ok(None);
        };
        let at_site = link
            .host_str()
            .is_some_and(|host| self.site_hosts.iter().any(|h| h == bare_host(host)));
        let path = if at_site && link.query().is_none() {
            // `thread_uri` spells it as a browser's `location.pathname` does, which the embed
            // sends: WordPress writes lowercase escapes (`caf%c3%a9`), browsers uppercase ones.
            link.path().to_string()
        } else if link.path() == crate::domain::site::thread_page_route(self.options.site_name) {
            match link.query_pairs().find(|(name, _)| name == "uri") {
                Some((_, uri)) => uri.into_owned(),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let Ok(uri) = crate::domain::site::thread_uri(&path) else {
            return Ok(None);
        };
        // One page whether its links end in `/` or not (a Disqus thread's link often does not
        // where WordPress's does): the thread this import or an earlier one made is joined —
        // unless the page is there as written (readers can make both through the Isso API,
        // which, as Isso, keeps `/x` and `/x/` apart; an export of them names each).
        let other = match uri.strip_suffix('/') {
            Some("") => return Ok(Some(uri)),
            Some(stripped) => stripped.to_string(),
            None => format!("{uri}/"),
        };
        Ok(Some(if !self.is_page(&uri)? && self.is_page(&other)? {
            other
        } else {
            uri
        }))
    }

    /// Whether `uri` is a thread of the site already: made by this import, or stored.
    fn is_page(&self, uri: &str) -> Result<bool, ImportError> {
        Ok(self.pages.contains(uri)
            || self
                .rt
                .block_on(self.store.thread(self.options.site, uri))?
                .is_some())
    }

    /// Stores what is waiting; call once more at the end.
    pub fn flush(&mut self) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.batch);
        let statuses = std::mem::take(&mut self.statuses);
        let labels: Vec<Option<Label>> = rows.iter().map(|r| r.learn).collect();
        let remote: Vec<String> = rows.iter().map(|r| r.remote_id.clone()).collect();
        let outcomes = if self.options.dry_run {
            let articles: BTreeSet<&String> = rows.iter().map(|r| &r.article).collect();
            let joined: Vec<(String, String)> = articles
                .into_iter()
                .filter_map(|a| Some((a.clone(), self.dry_joined.get(a)?.clone())))
                .collect();
            let known = self
                .rt
                .block_on(self.store.known_comments(&rows, &joined))?;
            known
                .into_iter()
                .map(|known| {
                    if known {
                        CommentOutcome::Existing
                    } else {
                        CommentOutcome::Created(0)
                    }
                })
                .collect()
        } else {
            self.rt.block_on(self.store.import_comments(rows))?
        };
        for (((outcome, status), label), remote_id) in
            outcomes.into_iter().zip(statuses).zip(labels).zip(remote)
        {
            match outcome {
                CommentOutcome::Created(_) => {
                    *self.report.comments.entry(status.as_str()).or_default() += 1;
                    match label {
                        Some(Label::Spam) => self.report.learned_spam += 1,
                        Some(Label::Ham) => self.report.learned_ham += 1,
                        None => {}
                    }
                }
                CommentOutcome::Existing => self.report.comments_existing += 1,
                CommentOutcome::Orphan => self.report.orphans.push(remote_id),
            }
        }
        Ok(())
    }

    /// Threads the replies once every file is in.
    pub fn finish(&mut self) -> Result<(), StorageError> {
        if !self.options.dry_run {
            self.report.replies_linked = self.rt.block_on(self.store.link_imported_parents())?;
        }
        Ok(())
    }

    /// The comment as it will be stored, or why it cannot be.
    fn prepare(&mut self, c: CommentRecord) -> Result<(ImportedComment, Status), String> {
        let origin = Origin::Import {
            remote_id: c.remote_id.clone(),
            date: c.date.clone(),
            status: c.status,
        };
        // Old exports carry what old software let through: control characters (a vertical tab
        // pasted from a word processor) are dropped rather than cost the comment.
        let mut raw = RawComment {
            content: without_controls(&c.content),
            author: without_controls(&c.author).replace(['\n', '\r', '\t'], " "),
            email: c.email,
            url: c.url.unwrap_or_default(),
        };
        // An old comment with a malformed e-mail address or website keeps its text and label;
        // only the field that is not valid is left out.
        let draft = match CommentDraft::parse(&raw, Strictness::Archived) {
            Ok(draft) => draft,
            Err(errors) => {
                if errors.contains_key("comment_author_email") {
                    raw.email.clear();
                }
                if errors.contains_key("comment_author_url") {
                    raw.url.clear();
                }
                CommentDraft::parse(&raw, Strictness::Archived)
                    .map_err(|errors| errors.values().cloned().collect::<Vec<_>>().join(" "))?
            }
        };
        // A deleted comment may have lost its text (Isso blanks a deleted comment that has
        // replies): kept in the trash, it still holds its replies in their thread.
        if draft.content().is_empty() && c.status != Status::Trash {
            return Err("the comment has no text".into());
        }
        // Markdown is scored as it reads once rendered, links at their addresses.
        let reading = c
            .markdown
            .then(|| crate::domain::comment_text::markdown_reading(draft.content()));
        let view = CommentView {
            content: reading.as_deref().unwrap_or(draft.content()),
            author: Some(draft.author()).filter(|a| !a.is_empty()),
            author_email: Some(draft.email()).filter(|e| !e.is_empty()),
            author_url: draft.url(),
            user_agent: c.user_agent.as_deref(),
            comment_type: Some(c.kind.as_str()),
        };
        let score = self.options.model.classify(view, &mut self.scratch);
        let status = origin.status(score.verdict);
        // An imported comment was decided by the old site's moderators, not by this classifier:
        // stored as "held" (a person decided) it stands for the label its status gives, and a
        // later moderation here replaces that label exactly as for a held comment. Without
        // learning, the verdict that teaches nothing is stored instead.
        let verdict = if self.options.learn {
            Verdict::Held
        } else {
            match status {
                Status::Published => Verdict::Published,
                Status::Spam => Verdict::Rejected,
                Status::Held | Status::Trash => Verdict::Held,
            }
        };
        let learn = training_label(verdict, status);
        let comment = NewComment {
            site_id: self.options.site,
            article: String::new(),
            parent_id: None,
            author: draft.author().to_string(),
            author_email: draft.email().to_string(),
            author_url: draft.url().map(str::to_string),
            content: draft.content().to_string(),
            user_ip: c.ip,
            user_agent: c.user_agent,
            referrer: None,
            status,
            verdict: verdict.as_str().to_string(),
            spam_probability: score.spam_probability,
            clues: "[]".into(),
            model_version: self.options.model_version.to_string(),
            source: origin.name().to_string(),
            akismet_guid: None,
            api_key_id: None,
            markdown: c.markdown,
        };
        Ok((
            ImportedComment {
                remote_id: c.remote_id,
                article: c.article,
                remote_parent: c.parent,
                comment,
                created_at: c.date,
                comment_type: c.kind,
                learn,
                likes: c.likes,
                dislikes: c.dislikes,
                edited_at: c.edited,
            },
            status,
        ))
    }
}

/// The text without control characters other than line breaks and tabs.
fn without_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_dropped_line_breaks_kept() {
        assert_eq!(super::without_controls("a\u{b}b\0c\nd\te"), "abc\nd\te");
    }
}
