//! The moderation page in words: why a comment got its verdict, and what each clue means, for a
//! site owner who never read the classifier's code.

use crate::engine::decision::Thresholds;
use crate::storage::{Status, StoredComment};

/// One clue as shown to a moderator: what it is in words, and which way it pushed.
pub struct ClueWords {
    /// The clue in words, e.g. `the words “your blog”`.
    pub text: String,
    /// `true` when it pointed to spam.
    pub spammy: bool,
}

fn quoted(s: &str) -> String {
    format!("“{s}”")
}

/// A raw clue token (`kind:text`) in words.
pub fn clue_in_words(token: &str) -> String {
    let Some((kind, text)) = token.split_once(':') else {
        return quoted(token);
    };
    match kind {
        "word" => format!("the word {}", quoted(text)),
        "bigram" => format!("the words {}", quoted(text)),
        "prefix" => format!("words starting {}", quoted(text)),
        "chars" => format!("the letters {}", quoted(text)),
        "punct" => format!("the punctuation {}", quoted(text)),
        "number" => format!("a number shaped like {}", quoted(text)),
        "host" => format!("a link to {text}"),
        "domain" => format!("a link to the site {text}"),
        "path" => format!("a link path {}", quoted(text)),
        "email" => format!("the e-mail address {text} in the text"),
        "author" => format!("the name {}", quoted(text)),
        "rule" => match rule_in_words(text) {
            Some(words) => words.into(),
            None => format!("the site rule {}", quoted(text)),
        },
        "site" => match text {
            "learned-from-moderators" => {
                "what this site's moderators taught (approved and marked spam)".into()
            }
            "moderators-marked-similar-spam" => "comments like it marked spam on this site".into(),
            "moderate-all" => "the site holds every comment".into(),
            other => format!("the site's {}", quoted(other)),
        },
        "meta" | "sender" => form_clue(text),
        _ => format!("{kind} {}", quoted(text)),
    }
}

/// A site rule that decided a verdict (`rule:NAME`), in words.
fn rule_in_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "trusted-author" => "a returning author whose earlier comment is published",
        "spam-history" => "a sender a moderator marked as spam lately",
        "spam-history:website" => "a Website on a site a moderator's spam used lately",
        "spam-history:ip" => "an address a moderator's spam came from lately",
        "spam-history:link-domain" => "a link to a site a moderator's spam linked to lately",
        "disallowed-key" => "a word or address on the site's disallowed list",
        "moderation-key" => "a word or address on the site's moderation list",
        "links" => "as many links as the site holds for",
        "time-trap" => "sent sooner than a person could write it",
        "honeypot" => "a field only robots fill in",
        "flood" => "sent too soon after the sender's last comment",
        "duplicate" => "the same comment again",
        "copy-of-marked-spam" => "a copy of a comment marked as spam on this site",
        "website-path" => {
            "only its Website looks like spam's (a page on a platform, as a reader's profile is)"
        }
        _ => return None,
    })
}

/// Whether a clue names a site rule that pushed towards holding or rejecting (every rule but a
/// returning author's and the Website's, which keep a comment from being rejected): it leads
/// the clues with no weight of its own.
fn is_blocking_rule(token: &str) -> bool {
    token
        .strip_prefix("rule:")
        .is_some_and(|name| !matches!(name, "trusted-author" | "website-path"))
}

/// `meta:` and `sender:` tokens: the shape of the comment and of its Website field.
fn form_clue(text: &str) -> String {
    let (what, value) = text.split_once(':').unwrap_or((text, ""));
    match what {
        "len" => format!("length {value} characters"),
        "links" if value == "0" => "no links in the text".into(),
        "links" => format!("{value} link(s) in the text"),
        "caps" => format!("capital letters {value} of the letters"),
        "author" if value == "digits" => "digits in the name".into(),
        "author_url" if value == "author_words" => "the name repeated in the Website".into(),
        "author_url_shape" if value == "query" => "a Website link with a query string".into(),
        "author_url_shape" => "a Website link deep inside a site".into(),
        "author_url_host" => format!("a Website on {value}"),
        "author_url_domain" => format!("a Website on the site {value}"),
        "author_url_path" => format!("a Website path {}", quoted(value)),
        "author_url_word" => format!("the word {} in the Website", quoted(value)),
        _ => format!("the comment's form: {}", quoted(text)),
    }
}

/// The comment's clues in words, strongest first as stored.
pub fn clues(c: &StoredComment) -> Vec<ClueWords> {
    c.clues
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    let token = x["token"].as_str()?;
                    let weight = x["weight"].as_f64().unwrap_or(0.0);
                    Some(ClueWords {
                        text: clue_in_words(token),
                        spammy: weight > 0.0 || is_blocking_rule(token),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first site rule among the clues that could give `verdict`, in words: any blocking rule
/// for a hold, only a rule that rejects for a rejection (a link limit or the time trap holds at
/// least; a comment the model rejected with such a clue was rejected by its score).
fn deciding_rule(c: &StoredComment, verdict: &str) -> Option<String> {
    let rejects = |token: &str| {
        matches!(
            token,
            "rule:disallowed-key"
                | "rule:honeypot"
                | "rule:spam-history"
                | "rule:spam-history:website"
                | "rule:copy-of-marked-spam"
        )
    };
    let clues = c.clues.as_array()?;
    clues.iter().find_map(|x| {
        let token = x["token"]
            .as_str()
            .filter(|t| is_blocking_rule(t) && (verdict != "rejected" || rejects(t)))?;
        Some(clue_in_words(token))
    })
}

fn has_clue(c: &StoredComment, token: &str) -> bool {
    c.clues
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["token"].as_str() == Some(token)))
}

fn is_sender_token(token: &str) -> bool {
    matches!(
        token.split_once(':').map(|(k, _)| k),
        Some("host" | "domain" | "path" | "email" | "number" | "sender")
    )
}

fn has_spammy_sender(c: &StoredComment) -> bool {
    c.clues.as_array().is_some_and(|a| {
        a.iter().any(|x| {
            x["token"].as_str().is_some_and(is_sender_token)
                && x["weight"].as_f64().unwrap_or(0.0) > 0.0
        })
    })
}

/// A short label for the comment's state: the real status of an imported comment, the verdict
/// of a filtered one.
pub fn label(c: &StoredComment) -> &'static str {
    if c.source == "import" {
        return match c.status {
            Status::Published => "imported, published",
            Status::Held => "imported, pending",
            Status::Spam => "imported, spam",
            Status::Trash => "imported, trash",
        };
    }
    match c.verdict.as_str() {
        "published" => "published",
        "rejected" => "rejected",
        _ => "held",
    }
}

/// Why the comment got its verdict, in one sentence; once a moderator has decided it (it is no
/// longer waiting), without the "needs a look" a waiting one has.
pub fn explain(c: &StoredComment, t: &Thresholds) -> String {
    let why = arrival_reason(c, t);
    if c.status == crate::domain::Status::Held {
        return why;
    }
    match why.strip_suffix(" — needs a look.") {
        Some(reason) => format!("{reason}."),
        None => why,
    }
}

/// Why the filter gave the comment its verdict on arrival.
fn arrival_reason(c: &StoredComment, t: &Thresholds) -> String {
    if c.source == "import" {
        return format!(
            "{}: brought over from the old site with that status; the filter did not decide it.",
            label(c)
        );
    }
    let p = c.spam_probability;
    match c.verdict.as_str() {
        "published" if has_clue(c, "rule:trusted-author") => {
            "published: trusted returning author (an earlier comment of theirs is published)."
                .into()
        }
        "published" => format!("published: reads like a real reader (spam score {p:.2})."),
        "rejected" if has_clue(c, "rule:spam-history") => {
            "rejected: a moderator marked this sender as spam lately.".into()
        }
        // A site rule decided (it leads the clues): say which, not what the score says.
        "rejected" if let Some(rule) = deciding_rule(c, "rejected") => format!("rejected: {rule}."),
        "rejected" => format!(
            "rejected: reads like spam (score {p:.2}) and its links or Website point where spam does."
        ),
        _ if has_clue(c, "rule:spam-history") => {
            "held: a moderator marked this sender as spam lately — needs a look.".into()
        }
        _ if let Some(rule) = deciding_rule(c, "held") => format!("held: {rule} — needs a look."),
        _ if has_clue(c, "rule:trusted-author") => {
            "held: reads like spam, but a returning author — needs a look.".into()
        }
        _ if has_clue(c, "rule:website-path") => format!(
            "held, not rejected: scores like spam ({p:.2}) only because of its Website, a page \
             on a site that may be a reader's profile — needs a look."
        ),
        _ if p >= t.reject && !has_spammy_sender(c) => {
            "held: reads like spam but sends readers nowhere — needs a look.".into()
        }
        _ if p >= t.reject => format!(
            "held: reads like spam (score {p:.2}), held rather than rejected — needs a look."
        ),
        _ => format!("held: somewhat like spam (score {p:.2}) — needs a look."),
    }
}

/// A reader's website as the moderator should read it: a host written with non-ASCII letters is
/// shown in its ASCII (punycode) form with a warning, so `pаypal.example` with a Cyrillic `а`
/// cannot pass for the real one.
pub fn website(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw.trim()) else {
        return raw.to_string();
    };
    let ascii_host = url.host_str().unwrap_or_default();
    let typed_host = raw
        .split_once("://")
        .map_or(raw, |(_, rest)| rest)
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or_default();
    if typed_host.is_ascii() || ascii_host.is_empty() {
        raw.to_string()
    } else {
        format!(
            "{} (look-alike letters: the host is really {ascii_host})",
            url.as_str()
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #[test]
    fn non_ascii_hosts_are_shown_as_punycode() {
        assert_eq!(website("https://example.com/a"), "https://example.com/a");
        let shown = website("https://p\u{430}ypal.example/login");
        assert!(shown.contains("xn--"), "{shown}");
        assert!(shown.contains("look-alike"), "{shown}");
        assert_eq!(website("not a url"), "not a url");
    }

    use super::*;

    #[test]
    fn tokens_read_as_words() {
        assert_eq!(clue_in_words("bigram:your blog"), "the words “your blog”");
        assert_eq!(
            clue_in_words("site:learned-from-moderators"),
            "what this site's moderators taught (approved and marked spam)"
        );
        assert_eq!(clue_in_words("sender:links:2"), "2 link(s) in the text");
        assert_eq!(
            clue_in_words("sender:author_url_host:shop.example"),
            "a Website on shop.example"
        );
        assert_eq!(clue_in_words("meta:links:0"), "no links in the text");
        assert_eq!(
            clue_in_words("rule:trusted-author"),
            "a returning author whose earlier comment is published"
        );
    }

    pub(crate) fn stored(
        source: &str,
        status: Status,
        verdict: &str,
        p: f64,
        clues: serde_json::Value,
    ) -> StoredComment {
        StoredComment {
            id: 1,
            site_id: crate::domain::DEFAULT_SITE,
            remote_id: None,
            article: "a".into(),
            parent_id: None,
            author: "Ana".into(),
            author_email: "ana@example.org".into(),
            author_url: None,
            content: "text".into(),
            user_ip: None,
            user_agent: None,
            status,
            verdict: verdict.into(),
            spam_probability: p,
            clues,
            model_version: "m".into(),
            source: source.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            html: false,
            markdown: false,
        }
    }

    #[test]
    fn verdicts_are_explained() {
        let t = Thresholds {
            hold: 0.5,
            reject: 0.9,
        };
        let imported = stored(
            "import",
            Status::Published,
            "held",
            0.0,
            serde_json::json!([]),
        );
        assert_eq!(label(&imported), "imported, published");
        assert!(explain(&imported, &t).starts_with("imported, published:"));
        let wording = stored(
            "api",
            Status::Held,
            "held",
            1.0,
            serde_json::json!([{"token": "bigram:your blog", "weight": 2.0}]),
        );
        assert_eq!(
            explain(&wording, &t),
            "held: reads like spam but sends readers nowhere — needs a look."
        );
        // Once a moderator decided it, it needs no look.
        let decided = StoredComment {
            status: Status::Spam,
            ..wording.clone()
        };
        assert_eq!(
            explain(&decided, &t),
            "held: reads like spam but sends readers nowhere."
        );
        // Held at a rejecting score for another reason: not "somewhat" like spam.
        let sure = stored(
            "api",
            Status::Held,
            "held",
            0.96,
            serde_json::json!([{"token": "sender:links:1", "weight": 2.0}]),
        );
        assert!(explain(&sure, &t).starts_with("held: reads like spam (score 0.96)"));
        let trusted = stored(
            "api",
            Status::Published,
            "published",
            0.7,
            serde_json::json!([{"token": "rule:trusted-author", "weight": 0.0}]),
        );
        assert!(explain(&trusted, &t).starts_with("published: trusted returning author"));
        let rejected = stored("api", Status::Spam, "rejected", 0.99, serde_json::json!([]));
        assert!(explain(&rejected, &t).starts_with("rejected: "));
        // A site rule decided: the sentence names it, and its clue points to spam, whatever the
        // score said.
        let by_rule = |verdict: &str, rule: &str| {
            stored(
                "api",
                Status::Held,
                verdict,
                0.01,
                serde_json::json!([{"token": rule, "weight": 0.0},
                                   {"token": "word:doctor", "weight": -1.0}]),
            )
        };
        let disallowed = by_rule("rejected", "rule:disallowed-key");
        assert_eq!(
            explain(&disallowed, &t),
            "rejected: a word or address on the site's disallowed list."
        );
        let words = clues(&disallowed);
        assert!(words[0].spammy && !words[1].spammy);
        assert_eq!(
            explain(&by_rule("held", "rule:links"), &t),
            "held: as many links as the site holds for — needs a look."
        );
        assert_eq!(
            explain(&by_rule("held", "rule:time-trap"), &t),
            "held: sent sooner than a person could write it — needs a look."
        );
        // A hold-only rule beside a rejection by the score: the score decided.
        let mut links = by_rule("rejected", "rule:links");
        links.spam_probability = 0.99;
        assert!(
            explain(&links, &t).starts_with("rejected: reads like spam (score 0.99)"),
            "{}",
            explain(&links, &t)
        );
    }
}
