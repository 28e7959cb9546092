//! A site's own moderation rules, the ones WordPress, Antispam Bee and Akismet apply before any
//! text model: moderation keys hold, disallowed keys reject, many links hold, a form posted
//! seconds after it was served is held, and what the site already knows of the sender (a
//! returning author, a sender a moderator marked spam) outweighs the words.
//!
//! This module is pure: the settings a moderator edits ([`SiteRules`]), their validation (every
//! problem named, nothing half-applied) and the matching. Where they are stored and when they run
//! is the web layer's (`web::reputation`).

use super::FieldErrors;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The site the built-in article pages (and imported history) belong to.
pub const DEFAULT_SITE: &str = "default";

/// The learning (and rules) key of a comment in `thread` of the site named `site`: an Akismet
/// key's checks (thread `akismet:KEY_ID`) teach that key's own model, everything else its site's
/// (the default site when the site is not known).
pub fn site_of_thread(thread: Option<&str>, site: Option<&str>) -> String {
    match thread {
        Some(t) if t.starts_with("akismet:") => t.to_string(),
        _ => site.unwrap_or(DEFAULT_SITE).to_string(),
    }
}

/// The settings key a site's rules are stored under (the same in the server and the CLI).
pub fn setting_key(site: &str) -> String {
    format!("rules:{site}")
}

/// Most keys one list may hold: WordPress sites rarely keep more than a few hundred, and each
/// comment is matched against every key.
pub const MAX_KEYS: usize = 1_000;

/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 200;

/// The rules of one site, as stored and as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteRules {
    /// Hold a comment containing any of these (WordPress "Comment Moderation" keys).
    pub moderation_keys: Vec<String>,
    /// Reject a comment containing any of these (WordPress "Disallowed Comment Keys").
    pub disallowed_keys: Vec<String>,
    /// Hold a comment with this many links or more; 0 turns the rule off (WordPress: 2).
    pub hold_links_at: u32,
    /// Hold a form posted sooner than this many seconds after the page was served; 0 turns the
    /// rule off. API posts carry no render time and are not affected.
    pub min_form_seconds: u32,
    /// Publish what the model would hold when the same e-mail and name wrote a comment that is
    /// published; a rejection then becomes a hold.
    pub trust_returning_authors: bool,
    /// ... unless the model is this sure it is spam (spam probability at or above): then a
    /// returning author's comment is held, not published. The default, 1, holds only what the
    /// model would reject (sure, and with sender evidence): generic praise from a returning
    /// reader scores 0.9998 on wording alone and is still theirs.
    pub trusted_publish_below: f64,
    /// Days a moderator's "spam" counts against the sender's e-mail, website and address;
    /// 0 turns the rule off.
    pub spam_history_days: u32,
}

impl Default for SiteRules {
    fn default() -> Self {
        SiteRules {
            moderation_keys: Vec::new(),
            disallowed_keys: Vec::new(),
            hold_links_at: 2,
            min_form_seconds: 3,
            trust_returning_authors: true,
            trusted_publish_below: 1.0,
            spam_history_days: 90,
        }
    }
}

/// What a comment offers the key rules: WordPress matches each key against all of these.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyFields<'a> {
    pub content: &'a str,
    pub author: &'a str,
    pub email: &'a str,
    pub url: &'a str,
    pub ip: Option<IpAddr>,
    pub user_agent: &'a str,
}

/// Which key matched, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMatch {
    pub key: String,
    pub field: &'static str,
}

impl SiteRules {
    /// Checks every field and names each problem; trims keys and drops exact repeats.
    pub fn validated(mut self) -> Result<SiteRules, FieldErrors> {
        let mut errors = FieldErrors::new();
        for (field, keys) in [
            ("moderation_keys", &mut self.moderation_keys),
            ("disallowed_keys", &mut self.disallowed_keys),
        ] {
            match clean_keys(std::mem::take(keys)) {
                Ok(clean) => *keys = clean,
                Err(problem) => {
                    errors.insert(field, problem);
                }
            }
        }
        if self.hold_links_at > 1_000 {
            errors.insert(
                "hold_links_at",
                "must be between 0 (off) and 1000 links".into(),
            );
        }
        if self.min_form_seconds > 3_600 {
            errors.insert(
                "min_form_seconds",
                "must be between 0 (off) and 3600 seconds".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.trusted_publish_below) {
            errors.insert(
                "trusted_publish_below",
                "must be a spam probability between 0 and 1".into(),
            );
        }
        if self.spam_history_days > 3_650 {
            errors.insert(
                "spam_history_days",
                "must be between 0 (off) and 3650 days".into(),
            );
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The first disallowed key the comment contains.
    pub fn disallowed(&self, fields: &KeyFields<'_>) -> Option<KeyMatch> {
        first_match(&self.disallowed_keys, fields)
    }

    /// The first moderation key the comment contains.
    pub fn moderated(&self, fields: &KeyFields<'_>) -> Option<KeyMatch> {
        first_match(&self.moderation_keys, fields)
    }

    /// Whether the comment carries enough links to be held.
    pub fn too_many_links(&self, content: &str) -> bool {
        self.hold_links_at > 0 && link_count(content) >= self.hold_links_at as usize
    }

    /// These rules as they apply to a comment another blog relays (an Akismet check): only what
    /// is known of the sender (returning authors, spam history). The relaying blog keeps its own
    /// key lists and link limit and applies them itself (WordPress's "Comment Moderation" and
    /// "Disallowed Comment Keys", its "2 or more links"), and a hold here is its spam folder,
    /// not its pending queue: applied twice, they would send its readers there.
    pub fn sender_history_only(&self) -> SiteRules {
        // Field by field, not `..self.clone()`: this runs on every relayed check, and the key
        // lists it would copy are dropped at once.
        SiteRules {
            moderation_keys: Vec::new(),
            disallowed_keys: Vec::new(),
            hold_links_at: 0,
            min_form_seconds: 0,
            trust_returning_authors: self.trust_returning_authors,
            trusted_publish_below: self.trusted_publish_below,
            spam_history_days: self.spam_history_days,
        }
    }
}

/// Parses keys typed one per line (the admin form), skipping blank lines as WordPress does.
pub fn keys_from_lines(text: &str) -> Vec<String> {
    text.trim_start_matches('\u{FEFF}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn clean_keys(keys: Vec<String>) -> Result<Vec<String>, String> {
    if keys.len() > MAX_KEYS {
        return Err(format!(
            "{} keys is more than the {MAX_KEYS} one list may hold",
            keys.len()
        ));
    }
    let mut clean: Vec<String> = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        // A key file saved "with BOM" starts its first key with one.
        let key = key.trim_start_matches('\u{FEFF}').trim().to_string();
        let n = i + 1;
        if key.is_empty() {
            return Err(format!("key {n} is empty; remove it or write a word"));
        }
        // Matched on the text as seen (invisible characters dropped): a key of nothing visible
        // would match every comment.
        if as_seen(&key).trim().is_empty() {
            return Err(format!(
                "key {n} shows nothing (only invisible characters); remove it or write a word"
            ));
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(format!("key {n} is longer than {MAX_KEY_CHARS} characters"));
        }
        if key.chars().any(char::is_control) {
            return Err(format!("key {n} contains a control character"));
        }
        if looks_like_network(&key) && parse_network(&key).is_none() {
            return Err(format!(
                "key {n} (`{key}`) looks like an IP range but is not one; write e.g. 203.0.113.0/24"
            ));
        }
        if !clean.contains(&key) {
            clean.push(key);
        }
    }
    Ok(clean)
}

/// A key made only of the characters of an address range, with a `/`: meant as a CIDR.
fn looks_like_network(key: &str) -> bool {
    key.contains('/')
        && key
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'))
}

fn parse_network(key: &str) -> Option<IpNet> {
    key.parse::<IpNet>()
        .ok()
        .or_else(|| key.parse::<IpAddr>().ok().map(IpNet::from))
}

/// WordPress semantics: each key is a case-insensitive substring of the content, author name,
/// e-mail, website, IP address or user agent; a key that is an address or a range matches the
/// sender's address by containment.
fn first_match(keys: &[String], f: &KeyFields<'_>) -> Option<KeyMatch> {
    if keys.is_empty() {
        return None;
    }
    let ip_text = f.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let fields = [
        ("content", as_seen(f.content)),
        ("name", as_seen(f.author)),
        ("email", as_seen(f.email)),
        ("website", as_seen(f.url)),
        ("ip", ip_text),
        ("user_agent", as_seen(f.user_agent)),
    ];
    keys.iter().find_map(|key| {
        if let Some(net) = parse_network(key) {
            let sender = f.ip.filter(|ip| net.contains(ip)).map(|_| KeyMatch {
                key: key.clone(),
                field: "ip",
            });
            // A single address is text too (WordPress looks for every key in the text: a link
            // to `http://203.0.113.5/` names it); a range is not.
            if sender.is_some() || key.contains('/') {
                return sender;
            }
        }
        let needle = as_seen(key);
        let needle = needle.trim();
        // Rules saved before keys were read this way may hold one that shows nothing.
        if needle.is_empty() {
            return None;
        }
        fields
            .iter()
            .find(|(_, text)| text.contains(needle))
            .map(|(field, _)| KeyMatch {
                key: key.clone(),
                field,
            })
    })
}

/// Text as a key is looked for in it: lowercase, without the characters that show nothing
/// inside a word (`v\u{200B}iagra` reads "viagra").
fn as_seen(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // NFKC: full-width `ｃａｓｉｎｏ`, ligatures and other compatibility letters as the letters
    // they show.
    text.chars()
        .filter(|&c| !super::draft::is_zero_width(c))
        .nfkc()
        .flat_map(char::to_lowercase)
        // Turkish `İ` lowercases to `i` and a combining dot: `İZMİR` reads `izmir`.
        .filter(|&c| c != '\u{0307}')
        .collect()
}

/// Links in a comment's text: each `http://`, `https://` or `www.` start, and each `<a ` tag
/// (WordPress counts anchors; readers here write plain text, where a link is its address).
pub fn link_count(content: &str) -> usize {
    let lower = content.to_lowercase();
    let bare = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '<' | '>'))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www."))
        .count();
    let anchors = lower.matches("<a ").count();
    bare.max(anchors)
}

/// The domain of a link or website (`https://WWW.Shop.example/x` → `shop.example`), `None` when
/// it names no host.
pub fn link_domain(link: &str) -> Option<String> {
    let link = link.trim();
    let with_scheme = if link.contains("://") {
        link.to_string()
    } else {
        format!("http://{link}")
    };
    let host = url::Url::parse(&with_scheme)
        .ok()?
        .host_str()?
        .to_lowercase();
    // `shop.example.` (a fully qualified name) is `shop.example`.
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host).to_string();
    host.contains('.').then_some(host)
}

/// The domains a comment's text links to, each once, in order.
pub fn linked_domains(content: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in content.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>')) {
        let lower = word.to_lowercase();
        if !(lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www."))
        {
            continue;
        }
        if let Some(d) = link_domain(word.trim_end_matches(['.', ',', ')', ';', '!', '?']))
            && !out.contains(&d)
        {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(content: &str) -> KeyFields<'_> {
        KeyFields {
            content,
            author: "Ann",
            email: "ann@example.org",
            url: "https://ann.example",
            ip: Some("203.0.113.9".parse().unwrap()),
            user_agent: "Mozilla/5.0",
        }
    }

    #[test]
    fn keys_match_like_wordpress() {
        let rules = SiteRules {
            moderation_keys: vec!["Casino".into()],
            disallowed_keys: vec!["203.0.113.0/24".into(), "badmail.example".into()],
            ..SiteRules::default()
        };
        let hit = rules.moderated(&fields("best CASINOs here")).unwrap();
        assert_eq!((hit.key.as_str(), hit.field), ("Casino", "content"));
        assert_eq!(rules.disallowed(&fields("hello")).unwrap().field, "ip");
        let mut other = fields("hello");
        other.ip = Some("198.51.100.1".parse().unwrap());
        assert!(rules.disallowed(&other).is_none());
        other.email = "x@BadMail.example";
        assert_eq!(rules.disallowed(&other).unwrap().field, "email");
        assert!(rules.moderated(&fields("a quiet note")).is_none());
    }

    #[test]
    fn validation_names_each_problem_and_changes_nothing() {
        let bad = SiteRules {
            moderation_keys: vec!["ok".into(), "  ".into()],
            disallowed_keys: vec!["10.0.0.0/33".into()],
            min_form_seconds: 99_999,
            ..SiteRules::default()
        };
        let errors = bad.validated().unwrap_err();
        assert!(errors["moderation_keys"].contains("key 2 is empty"));
        assert!(errors["disallowed_keys"].contains("IP range"));
        assert!(errors.contains_key("min_form_seconds"));
        let many = SiteRules {
            moderation_keys: (0..10_000).map(|i| format!("k{i}")).collect(),
            ..SiteRules::default()
        };
        assert!(many.validated().unwrap_err()["moderation_keys"].contains("10000 keys"));
        let fine = SiteRules {
            moderation_keys: vec![" viagra ".into(), "viagra".into()],
            disallowed_keys: vec!["2001:db8::/32".into()],
            ..SiteRules::default()
        }
        .validated()
        .unwrap();
        assert_eq!(fine.moderation_keys, ["viagra"]);
    }

    #[test]
    fn counts_links_and_their_domains() {
        let text =
            "see https://a.example/x and www.B.example, also <a href=\"http://c.example\">c</a>";
        assert_eq!(link_count(text), 3);
        assert_eq!(link_count("no links at all"), 0);
        assert_eq!(
            linked_domains(text),
            ["a.example", "b.example", "c.example"]
        );
        assert_eq!(
            link_domain("https://WWW.Shop.example/p").as_deref(),
            Some("shop.example")
        );
        assert_eq!(link_domain("localhost"), None);
        let rules = SiteRules::default();
        assert!(rules.too_many_links("http://a.example http://b.example"));
        // A key is found however the text hides it from the eye's view of it.
        let keys = SiteRules {
            disallowed_keys: vec!["viagra".into()],
            ..SiteRules::default()
        };
        for hidden in [
            "v\u{200B}iagra",
            "via\u{00AD}gra",
            "VIA\u{200D}GRA",
            "via\u{FE0F}gra",
            "via\u{E0041}gra",
            "ｖｉａｇｒａ",
            "VİAGRA",
        ] {
            let fields = KeyFields {
                content: hidden,
                ..KeyFields::default()
            };
            assert!(keys.disallowed(&fields).is_some(), "{hidden:?}");
        }
        // A key of nothing visible would match everything: refused when saved, never matched
        // if an older list holds one; a key file's BOM is not part of its first key.
        assert!(clean_keys(vec!["\u{200B} \u{200B}".into()]).is_err());
        assert_eq!(keys_from_lines("\u{FEFF}spam\n\neggs"), ["spam", "eggs"]);
        let invisible = SiteRules {
            disallowed_keys: vec!["\u{FEFF}".into()],
            ..SiteRules::default()
        };
        let fields = KeyFields {
            content: "A perfectly normal comment about bread.",
            ..KeyFields::default()
        };
        assert!(invisible.disallowed(&fields).is_none());
        // An address key is found in the text too; a range only matches the sender.
        let address = SiteRules {
            disallowed_keys: vec!["203.0.113.5".into(), "198.51.100.0/24".into()],
            ..SiteRules::default()
        };
        let linked = KeyFields {
            content: "see http://203.0.113.5/x and 198.51.100.7",
            ..KeyFields::default()
        };
        assert_eq!(
            address.disallowed(&linked).map(|m| m.field),
            Some("content")
        );
        let other = KeyFields {
            content: "see 198.51.100.7",
            ..KeyFields::default()
        };
        assert!(address.disallowed(&other).is_none());
        assert!(!rules.too_many_links("http://a.example"));
    }

    #[test]
    fn stored_form_round_trips_and_refuses_unknown_fields() {
        let rules = SiteRules::default();
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<SiteRules>(&json).unwrap(), rules);
        assert!(serde_json::from_str::<SiteRules>(r#"{"hold_link":3}"#).is_err());
        assert_eq!(
            serde_json::from_str::<SiteRules>(r#"{"hold_links_at":5}"#)
                .unwrap()
                .min_form_seconds,
            3
        );
    }
}
