//! The site's rules, applied to a reader's comment after the text model has scored it and before
//! it is stored: the site's keys, its link limit, the time trap, and what it already knows of
//! the sender outweigh what the words suggest. The naive Bayes score is kept whatever a rule decides; a rule that changes the
//! verdict leads the clues and is counted on `/metrics`.

use super::AppState;
use super::error::WebError;
use crate::domain::site_rules::{KeyFields, SiteRules, link_domain, linked_domains};
use crate::engine::tokenize::website_has_path;
use crate::engine::{Classification, Clue, Verdict};
use crate::storage::ReputationQuery;

/// The clue naming the returning-author rule when it changed the verdict.
pub const RETURNING_AUTHOR_CLUE: &str = "rule:trusted-author";

/// The clue naming the spam-history rule when it changed the verdict.
pub const SPAM_HISTORY_CLUE: &str = "rule:spam-history";

/// Puts the clue that decided first, keeping at most [`super::submit::CLUES`].
pub fn lead(clues: &mut Vec<Clue>, token: &str, weight: f64) {
    clues.insert(
        0,
        Clue {
            token: token.to_string(),
            weight,
        },
    );
    clues.truncate(super::submit::CLUES);
}

/// The rules a comment can fire, each with its clue (`rule:…`) and its `/metrics` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    DisallowedKey,
    ModerationKey,
    Links,
    TimeTrap,
    TrustedAuthor,
    SpamHistoryEmail,
    SpamHistoryWebsite,
    SpamHistoryIp,
    SpamHistoryLinkDomain,
    Honeypot,
    Flood,
    Duplicate,
    /// A near-copy of a text this site's moderators marked spam
    /// ([`online::with_marked_spam`](crate::engine::online::with_marked_spam)).
    MarkedSpamCopy,
    /// Held, not rejected: only its Website, a page below a site's front page, made the model
    /// reject it (see `submit::submit`).
    WebsitePath,
}

impl Rule {
    /// Every rule, in the order `/metrics` lists them.
    pub const ALL: [Rule; 14] = [
        Rule::DisallowedKey,
        Rule::ModerationKey,
        Rule::Links,
        Rule::TimeTrap,
        Rule::TrustedAuthor,
        Rule::SpamHistoryEmail,
        Rule::SpamHistoryWebsite,
        Rule::SpamHistoryIp,
        Rule::SpamHistoryLinkDomain,
        Rule::Honeypot,
        Rule::Flood,
        Rule::Duplicate,
        Rule::MarkedSpamCopy,
        Rule::WebsitePath,
    ];

    /// The clue that names the rule in a verdict.
    pub fn clue(self) -> &'static str {
        match self {
            Rule::DisallowedKey => "rule:disallowed-key",
            Rule::ModerationKey => "rule:moderation-key",
            Rule::Links => "rule:links",
            Rule::TimeTrap => "rule:time-trap",
            Rule::TrustedAuthor => RETURNING_AUTHOR_CLUE,
            Rule::SpamHistoryEmail => SPAM_HISTORY_CLUE,
            Rule::SpamHistoryWebsite => "rule:spam-history:website",
            Rule::SpamHistoryIp => "rule:spam-history:ip",
            Rule::SpamHistoryLinkDomain => "rule:spam-history:link-domain",
            Rule::Honeypot => "rule:honeypot",
            Rule::Flood => "rule:flood",
            Rule::Duplicate => "rule:duplicate",
            Rule::MarkedSpamCopy => "rule:copy-of-marked-spam",
            Rule::WebsitePath => "rule:website-path",
        }
    }

    /// Its label on `/metrics` (the clue without `rule:`).
    pub fn label(self) -> &'static str {
        let clue = self.clue();
        clue.strip_prefix("rule:").unwrap_or(clue)
    }

    /// Its position in [`Rule::ALL`].
    pub fn index(self) -> usize {
        Rule::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// What the rules know of a reader's comment besides its score.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// The site the comment was posted to: only its own history counts.
    pub site: i64,
    /// The Akismet key that relayed it: then only that key's own checks are its history.
    pub api_key: Option<i64>,
    pub content: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub website: Option<&'a str>,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: &'a str,
    /// How long after the form was served it came back, when the form said (see
    /// [`super::form_timer`]).
    pub form_age: Option<std::time::Duration>,
}

/// Applies the site's rules to a reader's comment, strongest first (WordPress's order):
/// - a **disallowed key** rejects;
/// - a **moderation key**, **as many links** as the site's limit, or a form posted **sooner**
///   than a person could write one (the time trap) hold at least;
/// - otherwise what the site knows of the sender, in one lookup: a **returning author** (an
///   earlier comment with the same address and name is published) turns a hold into publication
///   and a rejection into a hold; a sender a moderator **marked spam** lately (same e-mail or
///   website domain) moves the verdict one step towards rejection, and the same address or a
///   linked domain holds at least. IP addresses and linked domains never reject on their own:
///   offices and carriers share an address, and spam links to popular sites too.
///
/// The naive Bayes score stays as it was; every rule that fired leads the clues and is counted.
pub async fn apply(
    state: &AppState,
    rules: &SiteRules,
    sender: &Sender<'_>,
    classification: &mut Classification,
    clues: &mut Vec<Clue>,
    path_only: Option<f64>,
) -> Result<(), WebError> {
    let fired = decide(state, rules, sender, classification, path_only).await?;
    for rule in fired.iter().rev() {
        lead(clues, rule.clue(), 0.0);
    }
    for rule in fired {
        state.metrics.rule(rule);
    }
    Ok(())
}

/// `path_only`: the model rejected the comment on its Website's path alone and a rule before the
/// site's made it a hold (see `submit::submit`); the spam probability of its words without the
/// Website. A returning author's comment then stays held, as one the model rejected, unless the
/// site's moderator approved them with this very Website (none marked spam since) and the words
/// alone are ordinary: a reader
/// whose Website is their profile on a platform (`github.com/name`) is held once, not for ever.
async fn decide(
    state: &AppState,
    rules: &SiteRules,
    sender: &Sender<'_>,
    classification: &mut Classification,
    path_only: Option<f64>,
) -> Result<Vec<Rule>, WebError> {
    let spam_probability = classification.spam_probability;
    let verdict = &mut classification.verdict;
    let fields = KeyFields {
        content: sender.content,
        author: sender.name,
        email: sender.email,
        url: sender.website.unwrap_or_default(),
        ip: sender.ip,
        user_agent: sender.user_agent,
    };
    if rules.disallowed(&fields).is_some() {
        *verdict = Verdict::Rejected;
        return Ok(vec![Rule::DisallowedKey]);
    }
    let mut fired = Vec::new();
    if rules.moderated(&fields).is_some() {
        fired.push(Rule::ModerationKey);
    }
    if rules.too_many_links(sender.content) {
        fired.push(Rule::Links);
    }
    if sender
        .form_age
        .is_some_and(|age| age.as_secs() < u64::from(rules.min_form_seconds))
    {
        fired.push(Rule::TimeTrap);
    }
    if !fired.is_empty() {
        *verdict = at_least_held(*verdict);
        return Ok(fired);
    }
    // A relayed check the model rejects stays rejected (`discard`), returning author or not: the
    // blog's own moderation queue holds its regulars, and Akismet's clients expect blatant spam
    // to be called so whoever sends it.
    let trust = rules.trust_returning_authors
        && *verdict != Verdict::Published
        && !(sender.api_key.is_some() && *verdict == Verdict::Rejected);
    let history = rules.spam_history_days > 0 && *verdict != Verdict::Rejected;
    if !(trust || history) {
        return Ok(fired);
    }
    let query = ReputationQuery {
        site: sender.site,
        email: sender.email.to_string(),
        name: sender.name.to_string(),
        website_domain: sender
            .website
            .and_then(link_domain)
            .filter(|_| history)
            .unwrap_or_default(),
        website: sender
            .website
            .filter(|_| trust && path_only.is_some())
            .unwrap_or_default()
            .to_string(),
        ip: sender
            .ip
            .filter(|ip| history && names_one_sender(ip))
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        link_domains: if history {
            linked_domains(sender.content)
        } else {
            Vec::new()
        },
        spam_since: crate::storage::rfc3339_ago(std::time::Duration::from_secs(
            86_400 * u64::from(rules.spam_history_days),
        )),
        ip_spam_since: crate::storage::rfc3339_ago(std::time::Duration::from_secs(
            86_400 * u64::from(rules.spam_history_days.min(IP_HISTORY_DAYS)),
        )),
        api_key: sender.api_key,
    };
    let known = state.store.reputation(&query).await?;
    // A moderator's spam mark on the address outweighs the trust its earlier comment earned.
    if trust && known.returning_author && !known.marked_spam {
        *verdict = match *verdict {
            Verdict::Rejected => Verdict::Held,
            _ if path_only.is_some() => match path_only {
                Some(words_alone)
                    if known.website_published && words_alone < rules.trusted_publish_below =>
                {
                    Verdict::Published
                }
                _ => Verdict::Held,
            },
            // The model is very sure: a returning author's account may have been taken over.
            _ if spam_probability >= rules.trusted_publish_below => Verdict::Held,
            _ => Verdict::Published,
        };
        fired.push(Rule::TrustedAuthor);
    } else if history && (known.marked_spam || known.website_marked_spam) {
        // A Website with a path may be one profile among thousands on a shared host (a video or
        // social platform, a blog host) whose domain a moderator's spam also used: there the
        // domain's history holds, it never rejects. Known by its address, or on a Website at the
        // root of its own site, the sender is a step nearer rejection.
        let shared_host = !known.marked_spam && sender.website.is_some_and(website_has_path);
        *verdict = match *verdict {
            Verdict::Published => Verdict::Held,
            Verdict::Held if shared_host => Verdict::Held,
            _ => Verdict::Rejected,
        };
        fired.push(if known.marked_spam {
            Rule::SpamHistoryEmail
        } else {
            Rule::SpamHistoryWebsite
        });
    } else if history && (known.ip_marked_spam || known.link_domain_marked_spam) {
        *verdict = at_least_held(*verdict);
        fired.push(if known.ip_marked_spam {
            Rule::SpamHistoryIp
        } else {
            Rule::SpamHistoryLinkDomain
        });
    }
    Ok(fired)
}

/// Days a moderator's spam decision counts against the sender's address at most: dynamic
/// addresses pass to someone else within days.
const IP_HISTORY_DAYS: u32 = 7;

/// Whether an address can tell one sender from another: a loopback, private or link-local
/// address is what a proxy without `--trusted-proxy`, or a container network, shows for
/// everyone, and must never make one reader pay for another.
fn names_one_sender(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified())
        }
        std::net::IpAddr::V6(v6) => {
            let unique_local = (v6.segments()[0] & 0xfe00) == 0xfc00;
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_loopback() || v6.is_unspecified() || unique_local || link_local)
        }
    }
}

fn at_least_held(verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::Published => Verdict::Held,
        other => other,
    }
}
