//! One path for every new comment, whatever its origin (the form, the JSON API, an Akismet
//! `comment-check`): parse into a [`CommentDraft`] → check the thread, duplicates and flood →
//! classify → the status policy → store durably.
//!
//! What differs by origin is only what a check may do about a problem. A reader's own comment is
//! refused with a reason they can act on (422, 404, 409, 429). An Akismet check always gets an
//! answer, since the blog that relays it has already accepted the comment: a duplicate is held
//! for a moderator instead of refused, the flood and rate limits (the blog applied its own) are
//! not applied, and a relayed comment that is not a valid draft (a NUL in its text, a
//! `javascript:` website) is scored but not stored.

use super::AppState;
use super::error::WebError;
use super::model_holder::ServedModel;
use super::reputation::{self, Rule};
use crate::data::CommentView;
use crate::domain::site::Moderation;
use crate::domain::{CommentDraft, Origin, RawComment, Status, Strictness};
use crate::engine::online;
use crate::engine::site_layer::SiteLayer;
use crate::engine::tokenize::website_has_path;
use crate::engine::{Classification, Clue, Scratch, Verdict};
use crate::storage::{Admission, NewComment, StoredComment};
use std::cell::RefCell;
use std::net::IpAddr;

pub(super) const CLUES: usize = 5;

thread_local! {
    /// Scoring buffers, one set per worker thread.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A submitted comment as it arrived, with what the request tells about its sender.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The site it is posted to.
    pub site: i64,
    /// Its thread within the site: an article's slug, or (with `page_title`) a page's path.
    pub article: String,
    /// For a page of an embedding site: the thread is that page, created with this title on its
    /// first comment (the built-in articles exist already and are checked instead).
    pub page_title: Option<String>,
    pub parent: Option<i64>,
    pub raw: RawComment,
    /// The invisible field humans never fill.
    pub honeypot: bool,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    /// The comment's type for the classifier (`comment`, `pingback`, …).
    pub comment_type: Option<String>,
    /// A second look at a comment already checked (Akismet `recheck_reason`): not a duplicate.
    pub recheck: bool,
    pub origin: Origin,
    /// How long after its page was served the reply form came back (the time trap); `None`
    /// when not known.
    pub form_age: Option<std::time::Duration>,
    /// A reader of an embedding site may leave name and e-mail out (unless the site requires
    /// them, which its API checks).
    pub anonymous_allowed: bool,
    /// The reader asked to be e-mailed when a reply to this comment is published.
    pub notify_replies: bool,
    /// Its author's edit of a stored comment: checked as a new comment would be (rules, the
    /// site's moderation mode, marked spam), except that its own earlier text is not a
    /// duplicate and its own publication does not make its author a trusted returning one.
    pub edit: bool,
    /// Its text is Markdown (written in Isso's widget), rendered when shown.
    pub markdown: bool,
}

impl Submission {
    /// A reader's comment from the form or the API.
    pub fn reader(article: String, parent: Option<i64>, raw: RawComment, origin: Origin) -> Self {
        Submission {
            site: crate::domain::DEFAULT_SITE,
            article,
            page_title: None,
            parent,
            raw,
            honeypot: false,
            ip: None,
            user_agent: None,
            referrer: None,
            comment_type: Some("comment".into()),
            recheck: false,
            origin,
            form_age: None,
            anonymous_allowed: false,
            notify_replies: false,
            edit: false,
            markdown: false,
        }
    }

    fn strictness(&self) -> Strictness {
        match self.origin {
            Origin::Akismet { .. } => Strictness::Relayed,
            Origin::Import { .. } => Strictness::Archived,
            Origin::Form | Origin::Api if self.anonymous_allowed => Strictness::Embedded,
            Origin::Form | Origin::Api => Strictness::Reader,
        }
    }

    fn refuses(&self) -> bool {
        matches!(self.strictness(), Strictness::Reader | Strictness::Embedded)
    }
}

/// What happened to a submission.
pub struct Accepted {
    /// The stored comment; `None` for a relayed comment that was only scored.
    pub comment: Option<StoredComment>,
    pub classification: Classification,
    pub clues: Vec<Clue>,
}

impl Accepted {
    /// The stored comment; every reader's comment that passes the checks is stored.
    pub fn stored(&self) -> Result<&StoredComment, WebError> {
        self.comment.as_ref().ok_or_else(not_stored)
    }

    /// [`stored`](Self::stored), taking it out.
    pub fn into_stored(self) -> Result<StoredComment, WebError> {
        self.comment.ok_or_else(not_stored)
    }
}

fn not_stored() -> WebError {
    WebError::Internal("an accepted comment was not stored".into())
}

/// Runs a submission through the checks and the classifier and stores it: the one path for every
/// origin. With `store` false (an Akismet `is_test` check) it is scored and nothing is kept.
pub async fn submit(state: &AppState, s: Submission, store: bool) -> Result<Accepted, WebError> {
    let reader = s.refuses();
    if reader && s.page_title.is_none() {
        match state.article(&s.article) {
            None => return Err(WebError::NotFound(format!("no article `{}`", s.article))),
            // The old site had closed its comments; the import kept that.
            Some(article) if !article.comments_open => {
                return Err(WebError::Forbidden(COMMENTS_CLOSED.into()));
            }
            // Or its owner closed it since.
            Some(_)
                if state
                    .thread_closed(crate::domain::DEFAULT_SITE, &s.article)
                    .await? =>
            {
                return Err(WebError::Forbidden(COMMENTS_CLOSED.into()));
            }
            Some(_) => {}
        }
    }
    // An embedding site's page: looked up once, to refuse a comment on a closed page (imported
    // closed, or closed by its owner; an author's edit too, which could otherwise turn a
    // published comment into anything for the edit window) and to create a new page's thread.
    let page_thread = match s.page_title {
        Some(_) => state.site_store.thread(s.site, &s.article).await?,
        None => None,
    };
    if reader && page_thread.as_ref().is_some_and(|t| !t.comments_open) {
        return Err(WebError::Forbidden(THREAD_CLOSED.into()));
    }
    let draft = match CommentDraft::parse(&s.raw, s.strictness()) {
        Ok(draft) => Some(draft),
        Err(errors) if reader => return Err(WebError::Validation(errors)),
        Err(errors) => {
            tracing::info!(?errors, "relayed comment is not storable; scored only");
            None
        }
    };
    // Checks that refuse a reader's comment and hold a relayed one.
    let mut hold_reason: Option<Rule> = None;
    if let Some(draft) = &draft {
        if let Some(parent) = s.parent {
            let found = state.store.get(parent).await?;
            if !found.is_some_and(|p| {
                p.site_id == s.site && p.article == s.article && p.status == Status::Published
            }) {
                return Err(WebError::NotFound(format!(
                    "no comment {parent} to reply to in this article"
                )));
            }
        }
        if !s.recheck
            && !s.edit
            && !draft.email().is_empty()
            && !draft.content().is_empty()
            && state
                .store
                .is_duplicate(s.site, &s.article, draft.email(), draft.content())
                .await?
        {
            // Counted on /metrics whether it refuses (a reader) or holds (a relayed check).
            state.metrics.rule(Rule::Duplicate);
            if reader {
                return Err(WebError::Duplicate);
            }
            hold_reason = Some(Rule::Duplicate);
        }
    }
    // The flood and rate limits are the site's own readers': a relayed check has passed its
    // blog's (WordPress refuses a second comment within 15 s before it asks, and exempts its
    // administrators and moderators on purpose), and what reaches here from one `user_ip` is
    // then a blog behind a proxy, an office's contact form or the blog's own staff — held, it
    // would go to the blog's spam folder. An IPv6 reader is counted by their /64
    // (`sender_address`); a comment that stores nothing is not counted.
    if let Some(ip) =
        s.ip.map(crate::domain::sender_address::sender_address)
            .filter(|_| reader && store && state.limits.any())
    {
        let refused = match state.store.admit_post(ip, state.limits).await? {
            Admission::Admitted => None,
            Admission::Flood => Some(WebError::Flood),
            Admission::RateLimited => Some(WebError::RateLimited),
        };
        if let Some(e) = refused {
            state.metrics.rule(Rule::Flood);
            return Err(e);
        }
    }

    // Each site scores with what it taught (an Akismet key's checks: that key's own lessons).
    let site = state.sites.by_id(s.site);
    let site_name = site
        .as_deref()
        .map_or(crate::domain::DEFAULT_SITE_NAME, |site| site.name.as_str());
    let model_site = crate::domain::site_rules::site_of_thread(Some(&s.article), Some(site_name));
    let served = state.models.for_site(&model_site);
    let layer = state.models.layer(&model_site);
    // Markdown is read as it will be shown: its text, and its links at their rendered
    // addresses (what the site's rules and the model count).
    let reading = draft
        .as_ref()
        .filter(|_| s.markdown)
        .map(|d| crate::domain::comment_text::markdown_reading(d.content()));
    let (content, author, email, url) = match &draft {
        Some(d) => (
            reading.as_deref().unwrap_or(d.content()),
            d.author(),
            d.email(),
            d.url(),
        ),
        None => (
            s.raw.content.as_str(),
            s.raw.author.as_str(),
            s.raw.email.as_str(),
            Some(s.raw.url.as_str()),
        ),
    };
    // A pingback or trackback is another blog's post linking here: its "author" is that post's
    // title and its Website the post's own address, always a deep link whose path repeats the
    // title, which are the shapes of a spammer's Website (all six real ones a review relayed
    // scored 0.93-1.0 on them alone). Its excerpt says whether it is spam; its Website's domain
    // still meets the sender rules.
    let linkback =
        s.comment_type.as_deref().map(str::trim).is_some_and(|t| {
            t.eq_ignore_ascii_case("pingback") || t.eq_ignore_ascii_case("trackback")
        });
    let view = CommentView {
        content,
        author: Some(author).filter(|a| !a.is_empty() && !linkback),
        author_email: Some(email).filter(|e| !e.is_empty()),
        author_url: url.filter(|u| !u.is_empty() && !linkback),
        user_agent: s.user_agent.as_deref(),
        comment_type: s.comment_type.as_deref(),
    };
    // A new comment teaches the site's share of spam; a check that stores nothing (`is_test`)
    // or a recheck of one already heard only reads it. A relayed check's hold is its blog's spam
    // folder, which few owners read, not a moderator's queue: a key's share of spam may speak
    // for its checks, never against them (on a blog stream half spam, the share's push moved
    // ham held 1.3% → 4.3% and kept no more spam off the page; README, "How it learns").
    // The key that relayed the comment (Akismet), if any.
    let relayed_by = match s.origin {
        Origin::Akismet { key_id, .. } => Some(key_id),
        _ => None,
    };
    let towards = |shift: f64| {
        if relayed_by.is_some() {
            shift.min(0.0)
        } else {
            shift
        }
    };
    let site_prior = |probability: f64| {
        towards(if store && !s.recheck {
            state
                .models
                .hear_site_prior(&model_site, &served, probability)
        } else {
            state.models.site_prior_shift(&model_site, &served)
        })
    };
    let (mut classification, mut clues) = if store {
        classify(&served, layer.as_deref(), site_prior, view)
    } else {
        // Nothing is kept, so nobody will read clues.
        (
            verdict_only(&served, layer.as_deref(), site_prior, view),
            Vec::new(),
        )
    };
    let marked = state.models.marked_spam(&model_site);
    let resemblance = marked.as_ref().map_or(0.0, |m| m.resemblance(content));
    if marked.is_some() {
        let (marked, copy) = online::with_marked_spam(classification, resemblance);
        classification = marked;
        if let Some(resemblance) = copy {
            reputation::lead(&mut clues, Rule::MarkedSpamCopy.clue(), resemblance);
            state.metrics.rule(Rule::MarkedSpamCopy);
        }
    }
    // A Website below a site's front page never rejects alone: when the comment scored without
    // its Website would not reach the reject threshold, the model's rejection stands on the
    // Website, and the comment is held instead. Such a Website may be a reader's profile on a
    // platform (`github.com/name`, `pinterest.com/name/`, `stackoverflow.com/users/1/name`), and
    // the corpora the model learned from have spam with Websites of every shape and host, ham with
    // none: profile shapes, the reader's name in the path and platform hosts spammers also used
    // all scored like spam and lost readers (cut to the platform's root, Pinterest's host alone
    // still weighed +4.2). Held, it costs the moderator one click. Spam whose words read as spam
    // is still rejected, whatever its Website; a Website at its own site's root is the sender's
    // own and counts in full. The site's rules then see a hold (a moderator's spam mark on the
    // sender rejects it again), told that the model rejected it: a returning author's comment
    // stays held, unless the site already published them with this very Website and the words
    // alone are ordinary (one click for a reader's profile link, not one a comment). Only on this
    // rare path is the comment
    // scored again (read-only: nothing is heard twice). `path_only` is then the spam probability
    // of the words without the Website.
    let path_only = if classification.verdict == Verdict::Rejected
        && view.author_url.is_some_and(website_has_path)
    {
        let without = CommentView {
            author_url: None,
            ..view
        };
        let shift = |_: f64| towards(state.models.site_prior_shift(&model_site, &served));
        let mut rescored = verdict_only(&served, layer.as_deref(), shift, without);
        if marked.is_some() {
            rescored = online::with_marked_spam(rescored, resemblance).0;
        }
        (rescored.verdict != Verdict::Rejected
            && rescored.spam_probability < served.model.meta.thresholds.reject)
            .then_some(rescored.spam_probability)
    } else {
        None
    };
    if path_only.is_some() {
        classification.verdict = Verdict::Held;
    }

    // A relayed check (Akismet) meets what is known of its sender in its key's own checks, as a
    // reader's comment meets the site's history: a returning author of that blog, a sender a
    // moderator (or the blog, through `submit-spam`) marked spam.
    if (reader || relayed_by.is_some()) && !s.honeypot {
        let mut rules = state.rules.get(state.store.as_ref(), site_name).await?;
        if relayed_by.is_some() {
            rules = std::sync::Arc::new(rules.sender_history_only());
        }
        if s.edit {
            // The comment's own earlier publication is no evidence about its new text: "post
            // something harmless, then edit it into spam" must not pass as a returning author.
            std::sync::Arc::make_mut(&mut rules).trust_returning_authors = false;
        }
        let sender = reputation::Sender {
            site: s.site,
            api_key: relayed_by,
            content,
            name: author,
            email,
            website: url,
            ip: s.ip,
            user_agent: s.user_agent.as_deref().unwrap_or_default(),
            form_age: s.form_age,
        };
        reputation::apply(
            state,
            &rules,
            &sender,
            &mut classification,
            &mut clues,
            path_only,
        )
        .await?;
    }
    // Named where it decided: a hold no rule of the site's turned back into a rejection.
    if path_only.is_some() && classification.verdict == Verdict::Held {
        reputation::lead(&mut clues, Rule::WebsitePath.clue(), 0.0);
        state.metrics.rule(Rule::WebsitePath);
    }
    if s.honeypot {
        // A filled invisible field is a bot, whatever the text says.
        classification.verdict = Verdict::Rejected;
        reputation::lead(&mut clues, Rule::Honeypot.clue(), 0.0);
        state.metrics.rule(Rule::Honeypot);
    } else if let Some(rule) = hold_reason {
        if classification.verdict == Verdict::Published {
            classification.verdict = Verdict::Held;
        }
        reputation::lead(&mut clues, rule.clue(), 0.0);
    } else if reader
        && classification.verdict == Verdict::Published
        && site
            .as_deref()
            .is_some_and(|site| site.settings.moderation == Moderation::All)
    {
        // The site holds every comment for a moderator (`sites add --moderation all`).
        classification.verdict = Verdict::Held;
        reputation::lead(&mut clues, MODERATE_ALL_CLUE, 0.0);
    }
    let Some(draft) = draft.filter(|_| store) else {
        return Ok(Accepted {
            comment: None,
            classification,
            clues,
        });
    };
    let akismet_guid = match &s.origin {
        Origin::Akismet { guid, .. } => Some(guid.clone()),
        _ => None,
    };
    let status = s.origin.status(classification.verdict);
    // Created by another request meanwhile, it stays as it is (`create_thread` adds none).
    if let Some(title) = &s.page_title
        && page_thread.is_none()
    {
        state
            .site_store
            .create_thread(s.site, &s.article, title)
            .await?;
    }
    let new = NewComment {
        site_id: s.site,
        article: s.article,
        parent_id: s.parent,
        author: draft.author().to_string(),
        author_email: draft.email().to_string(),
        author_url: draft.url().map(str::to_string),
        content: draft.content().to_string(),
        user_ip: s.ip.map(|ip| ip.to_string()),
        user_agent: s.user_agent,
        referrer: s.referrer,
        status,
        verdict: classification.verdict.as_str().to_string(),
        spam_probability: classification.spam_probability,
        clues: serde_json::to_string(&clues).unwrap_or_else(|_| "[]".into()),
        model_version: served.version.clone(),
        source: s.origin.name().to_string(),
        akismet_guid,
        api_key_id: relayed_by,
        markdown: s.markdown,
    };
    // Only an address mail can go to as written: a quoted or listed one would be a second way to
    // name one mailbox past the once-a-day confirmation request, or retried for hours.
    let notify_replies =
        s.notify_replies && crate::domain::draft::is_plain_mailbox(&new.author_email);
    let comment = state.store.insert(new).await?;
    if notify_replies {
        // The comment is stored either way; a failed subscription is logged, not the reader's
        // error.
        if let Err(e) = state.outbox.subscribe_replies(comment.id).await {
            tracing::warn!(error = %e, comment = comment.id, "cannot subscribe to replies");
        }
    }
    state.metrics.comment(classification.verdict);
    Ok(Accepted {
        comment: Some(comment),
        classification,
        clues,
    })
}

/// Scores a comment with this thread's scratch buffers; returns the verdict and its clues. The
/// site's own lessons can turn a hold into a rejection ([`online::with_site_evidence`]); they
/// then lead the clues as `site:moderators-marked-similar-spam`. `site_prior` is given the
/// spam probability before the site's share of spam is heard and returns the log-odds that share
/// adds ([`ModelHolder::hear_site_prior`](super::model_holder::ModelHolder::hear_site_prior) for
/// a new comment, which also learns from it); a shift that moves the verdict is a clue.
pub fn classify(
    served: &ServedModel,
    layer: Option<&SiteLayer>,
    site_prior: impl FnOnce(f64) -> f64,
    view: CommentView<'_>,
) -> (Classification, Vec<Clue>) {
    SCRATCH.with(|scratch| {
        let scratch = &mut scratch.borrow_mut();
        let (classification, mut clues) = served.model.explain(view, scratch, CLUES);
        let (classification, learned) = with_layer(served, layer, classification, view);
        if learned.abs() >= SITE_LAYER_CLUE_FROM {
            reputation::lead(&mut clues, SITE_LAYER_CLUE, learned);
        }
        let shift = site_prior(classification.spam_probability);
        let before = classification.verdict;
        let classification = online::with_site_prior(&served.model, shift, classification);
        if classification.verdict != before {
            reputation::lead(&mut clues, SITE_PRIOR_CLUE, shift);
        }
        let (classification, site) = online::with_site_evidence(
            &served.model,
            served.site_spam_lessons,
            shift,
            classification,
            || served.base.core.score_detailed(view, scratch),
        );
        if let Some(site) = site {
            reputation::lead(&mut clues, SITE_EVIDENCE_CLUE, site);
        }
        (classification, clues)
    })
}

/// `classification` once the site's layer is heard ([`online::with_site_layer`]), and the
/// log-odds it added.
fn with_layer(
    served: &ServedModel,
    layer: Option<&SiteLayer>,
    classification: Classification,
    view: CommentView<'_>,
) -> (Classification, f64) {
    match layer {
        Some(layer) => online::with_site_layer(&served.model, layer, classification, || {
            online::layer_tokens(&served.model, view)
        }),
        None => (classification, 0.0),
    }
}

/// What a reader is told when an article takes no more comments.
pub const COMMENTS_CLOSED: &str = "Comments are closed on this article.";
/// What a reader is told on an embedding site's page whose comments are closed.
pub const THREAD_CLOSED: &str = "Comments are closed on this page.";

/// The clue naming a site's "hold every comment" setting when it held a comment.
pub const MODERATE_ALL_CLUE: &str = "site:moderate-all";

/// The clue naming what the site's moderators taught (the site layer), when it moved the
/// log-odds by at least [`SITE_LAYER_CLUE_FROM`] either way.
pub const SITE_LAYER_CLUE: &str = "site:learned-from-moderators";

/// Smallest move of the log-odds by the site layer that is named as a clue.
pub const SITE_LAYER_CLUE_FROM: f64 = 0.3;

/// The clue naming the site's own share of spam, learned from its traffic, when it moved the
/// verdict (its value: the log-odds it added).
pub const SITE_PRIOR_CLUE: &str = "site:share-of-spam";

/// The clue naming the site's own lessons when they decided a rejection.
pub const SITE_EVIDENCE_CLUE: &str = "site:moderators-marked-similar-spam";

/// Scores a comment without explaining it.
pub fn verdict_only(
    served: &ServedModel,
    layer: Option<&SiteLayer>,
    site_prior: impl FnOnce(f64) -> f64,
    view: CommentView<'_>,
) -> Classification {
    SCRATCH.with(|scratch| {
        let scratch = &mut scratch.borrow_mut();
        let classification = served.model.classify(view, scratch);
        let (classification, _) = with_layer(served, layer, classification, view);
        let shift = site_prior(classification.spam_probability);
        let classification = online::with_site_prior(&served.model, shift, classification);
        online::with_site_evidence(
            &served.model,
            served.site_spam_lessons,
            shift,
            classification,
            || served.base.core.score_detailed(view, scratch),
        )
        .0
    })
}
