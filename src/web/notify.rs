//! Notifications by webhook: a site's moderator hears of a comment that waits (or of any other
//! event they pick) without keeping `/admin` open.
//!
//! Every event is written to the outbox by the database itself, in the transaction of the
//! comment or decision that causes it (`migrations/0012_outbox.sql`), so a crash loses none. A
//! worker in every `serve` claims due events with a lease (with several replicas, one claims
//! each), and POSTs each to the site's webhook as JSON, signed:
//!
//! `X-Replyguard-Signature: t=UNIX,v1=HEX` where `HEX` is HMAC-SHA256 with the site's secret
//! over `UNIX.BODY`; a receiver recomputes it and refuses a timestamp older than five minutes
//! (a replayed delivery). A delivery that fails (no answer in 5 s, or not 2xx) is tried again
//! after 5 s, 10 s, 20 s … up to an hour, 8 times, then marked failed in the delivery log. A
//! dead receiver never slows a comment post: posting only writes the outbox row.

use super::AppState;
use super::admin::Admin;
use super::error::{FieldErrors, WebError};
use crate::storage::{EventOutcome, OutboxItem, Status, StorageError};
use axum::Json;
use axum::extract::{Query, State};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Events a site may be notified of.
pub const EVENTS: [&str; 4] = [
    "comment.held",
    "comment.published",
    "comment.rejected",
    "comment.moderated",
];
/// What a site hears of when it names no events: what needs a moderator.
const DEFAULT_EVENTS: [&str; 1] = ["comment.held"];
/// Tries before a delivery is marked failed.
const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed event is reserved for the process that claimed it.
const LEASE: Duration = Duration::from_secs(60);
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A site's notification settings, as stored (settings key `notify:SITE`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Where events are POSTed (http or https).
    pub webhook_url: Option<String>,
    /// The HMAC key; never shown back.
    pub webhook_secret: Option<String>,
    /// Moderators to e-mail (through `--smtp-url`); a waiting comment's mail has one-click
    /// links to decide it.
    pub email_to: Vec<String>,
    /// The events to send; empty: `comment.held`.
    pub events: Vec<String>,
}

impl NotifySettings {
    fn key(site: &str) -> String {
        format!("notify:{site}")
    }

    /// The site's settings (none stored: nothing is sent).
    pub async fn load(state: &AppState, site: &str) -> Result<NotifySettings, StorageError> {
        Ok(state
            .store
            .setting(&Self::key(site))
            .await?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    fn wants(&self, event: &str) -> bool {
        if self.events.is_empty() {
            DEFAULT_EVENTS.contains(&event)
        } else {
            self.events.iter().any(|e| e == event)
        }
    }

    fn validate(&self, smtp: bool) -> Result<(), WebError> {
        let mut errors = FieldErrors::new();
        if let Some(bad) = self
            .email_to
            .iter()
            .find(|a| !super::mail::valid_address(a))
        {
            errors.insert("email_to", format!("`{bad}` is not an e-mail address"));
        } else if !self.email_to.is_empty() && !smtp {
            errors.insert(
                "email_to",
                "this server sends no e-mail: start it with --smtp-url and --smtp-from".into(),
            );
        }
        if let Some(url) = &self.webhook_url {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => {
                    errors.insert("webhook_url", format!("`{url}` is not an http(s) address"));
                }
            }
            if self.webhook_secret.as_deref().is_none_or(|s| s.len() < 16) {
                errors.insert(
                    "webhook_secret",
                    "a webhook needs a secret of at least 16 characters to sign its deliveries"
                        .into(),
                );
            }
        }
        for event in &self.events {
            if !EVENTS.contains(&event.as_str()) {
                errors.insert(
                    "events",
                    format!("unknown event `{event}` (known: {})", EVENTS.join(", ")),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(WebError::Validation(errors))
        }
    }

    /// The settings as the admin API shows them: the secret only as "set".
    fn shown(&self) -> serde_json::Value {
        json!({
            "webhook_url": self.webhook_url,
            "webhook_secret_set": self.webhook_secret.is_some(),
            "email_to": self.email_to,
            "events": if self.events.is_empty() { DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect() } else { self.events.clone() },
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct SiteQuery {
    site: Option<String>,
}

fn site_name(state: &AppState, q: &SiteQuery) -> Result<String, WebError> {
    named_site(state, q.site.as_deref())
}

/// The name of the site `?site=` names (none or empty: the default site), which must exist.
pub(super) fn named_site(state: &AppState, name: Option<&str>) -> Result<String, WebError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(crate::domain::DEFAULT_SITE_NAME);
    state
        .sites
        .by_name(name)
        .map(|s| s.name.clone())
        .ok_or_else(|| WebError::NotFound(format!("no site `{name}`")))
}

/// `GET /api/v1/admin/notifications?site=`: the site's settings (the secret only as set or not).
pub async fn show(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<serde_json::Value>, WebError> {
    let site = site_name(&state, &q)?;
    Ok(Json(NotifySettings::load(&state, &site).await?.shown()))
}

/// `PUT /api/v1/admin/notifications?site=` with `{"webhook_url", "webhook_secret", "events"}`:
/// replaces the settings (a secret left out keeps the stored one); 422 names every wrong field.
pub async fn replace(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    body: Result<Json<NotifySettings>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, WebError> {
    let site = site_name(&state, &q)?;
    let Json(settings) = body.map_err(|e| WebError::Unprocessable(e.body_text()))?;
    let settings = save(&state, &site, settings).await?;
    Ok(Json(settings.shown()))
}

/// Validates and stores a site's settings (a secret left out keeps the stored one); 422 names
/// every wrong field and nothing changes.
pub(super) async fn save(
    state: &AppState,
    site: &str,
    mut settings: NotifySettings,
) -> Result<NotifySettings, WebError> {
    if settings.webhook_secret.as_deref().is_none_or(str::is_empty) {
        settings.webhook_secret = NotifySettings::load(state, site).await?.webhook_secret;
    }
    if settings.webhook_url.as_deref().is_some_and(str::is_empty) {
        settings.webhook_url = None;
        settings.webhook_secret = None;
    }
    settings.validate(state.mailer.is_some())?;
    let json = serde_json::to_string(&settings)
        .map_err(|e| WebError::Internal(format!("cannot store the settings: {e}")))?;
    state
        .store
        .set_setting(&NotifySettings::key(site), &json)
        .await?;
    Ok(settings)
}

/// `GET /api/v1/admin/notifications/log?site=`: the latest deliveries and how they went.
pub async fn log(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<serde_json::Value>, WebError> {
    let site = site_name(&state, &q)?;
    let id = state.sites.by_name(&site).map_or(1, |s| s.id);
    let deliveries: Vec<OutboxItem> = state.outbox.delivery_log(id, 100).await?;
    Ok(Json(json!({ "deliveries": deliveries })))
}

/// The signature header's value for `body` sent at `unix` with `secret`.
pub fn signature(secret: &str, unix: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(format!("{unix}.").as_bytes());
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Delivers the outbox's due events, for as long as the server runs.
pub(super) async fn run(state: AppState) {
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("replyguard/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; no notifications");
            return;
        }
    };
    let mut last_prune = SystemTime::UNIX_EPOCH;
    loop {
        match deliver_due(&state, &client).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "notifications: cannot read the outbox");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        let now = SystemTime::now();
        if now.duration_since(last_prune).unwrap_or_default() > Duration::from_secs(3600) {
            last_prune = now;
            let before = rfc3339(now - Duration::from_secs(30 * 86_400));
            if let Err(e) = state.outbox.prune_events(&before).await {
                tracing::warn!(error = %e, "notifications: cannot prune the outbox");
            }
        }
    }
}

/// Claims and delivers one batch; how many events it handled.
async fn deliver_due(state: &AppState, client: &reqwest::Client) -> Result<usize, StorageError> {
    let now = SystemTime::now();
    if !state.outbox.any_events_due(&rfc3339(now)).await? {
        return Ok(0);
    }
    let items = state
        .outbox
        .claim_events(&rfc3339(now), &rfc3339(now + LEASE), 20)
        .await?;
    for item in &items {
        let (done_channels, failure) = deliver(state, client, item).await;
        let attempts = item.attempts + 1;
        let done = rfc3339(SystemTime::now());
        let (state_name, error, next, finished) = match failure {
            None if done_channels.is_empty() => ("skipped", None, done.clone(), Some(done.clone())),
            None => ("sent", None, done.clone(), Some(done.clone())),
            Some(why) if attempts >= MAX_ATTEMPTS => {
                tracing::warn!(event = item.id, %why, "notification failed for good");
                ("failed", Some(why), done.clone(), Some(done.clone()))
            }
            Some(why) => {
                let wait =
                    Duration::from_secs(5 << (attempts - 1).min(10)).min(Duration::from_secs(3600));
                (
                    "pending",
                    Some(why),
                    rfc3339(SystemTime::now() + wait),
                    None,
                )
            }
        };
        let outcome = EventOutcome {
            state: state_name.to_string(),
            error,
            next_attempt_at: next,
            attempts,
            done_at: finished,
            done_channels: done_channels.join(","),
        };
        state.outbox.finish_event(item.id, &outcome).await?;
    }
    Ok(items.len())
}

/// The channel of a reply's e-mail to the reader it answers.
const REPLY_CHANNEL: &str = "reply";
/// The channel of the mail asking a published comment's author to confirm reply e-mails.
const CONFIRM_CHANNEL: &str = "confirm-replies";

/// Delivers one event on every channel the site has that has not had it yet; the channels done
/// (including earlier tries') and the first failure, if any.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    item: &OutboxItem,
) -> (Vec<String>, Option<String>) {
    let mut done: Vec<String> = item
        .done_channels
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let Some(site) = state.sites.by_id(item.site_id) else {
        return (done, None);
    };
    let comment = match state.store.get(item.comment_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return (done, None),
        Err(e) => return (done, Some(e.to_string())),
    };
    let mut failure = None;
    // Readers' mail, whatever the moderators chose to hear of: when a comment may have been
    // published, the reader it replies to, and its own author's confirmation request.
    let readers_news = matches!(
        item.event.as_str(),
        "comment.published" | "comment.moderated"
    );
    if readers_news && !done.iter().any(|c| c == REPLY_CHANNEL) {
        match super::replies::announce(state, &site, &comment).await {
            Ok(true) => done.push(REPLY_CHANNEL.into()),
            Ok(false) => {}
            Err(why) => failure = Some(why),
        }
    }
    if readers_news && !done.iter().any(|c| c == CONFIRM_CHANNEL) {
        match super::replies::ask_to_confirm(state, &site, &comment).await {
            Ok(true) => done.push(CONFIRM_CHANNEL.into()),
            Ok(false) => {}
            Err(why) => failure = failure.or(Some(why)),
        }
    }
    let settings = match NotifySettings::load(state, &site.name).await {
        Ok(s) => s,
        Err(e) => return (done, Some(e.to_string())),
    };
    if !settings.wants(&item.event) {
        return (done, failure);
    }
    if let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret)
        && !done.iter().any(|c| c == "webhook")
    {
        match webhook(client, url, secret, item, &site.name, &comment).await {
            Ok(()) => done.push("webhook".into()),
            Err(why) => failure = Some(why),
        }
    }
    if !settings.email_to.is_empty() && !done.iter().any(|c| c == "email") {
        match email(state, &settings.email_to, item, &site, &comment).await {
            Ok(()) => done.push("email".into()),
            Err(why) => failure = failure.or(Some(why)),
        }
    }
    (done, failure)
}

async fn webhook(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    item: &OutboxItem,
    site: &str,
    comment: &crate::storage::StoredComment,
) -> Result<(), String> {
    // What the moderator needs to decide, and nothing that identifies the reader beyond what
    // the page shows (no e-mail or IP address leaves the server).
    let body = json!({
        "event": item.event,
        "event_id": item.id,
        "site": site,
        "comment": {
            "id": comment.id,
            "thread": comment.article,
            "parent": comment.parent_id,
            "author": comment.author,
            "website": comment.author_url,
            "text": comment.content,
            "status": comment.status,
            "verdict": comment.verdict,
            "spam_probability": comment.spam_probability,
            "created_at": comment.created_at,
        },
        "waiting": comment.status == Status::Held,
    });
    send_signed(client, url, secret, &item.event, &body).await
}

/// POSTs `body` to `url`, signed with `secret`; a 2xx is success.
async fn send_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    event: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Replyguard-Event", event)
        .header("X-Replyguard-Signature", signature(secret, unix, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", response.status()))
    }
}

/// Sends a test message on each channel `site` has, now, and says how each went: what the
/// settings' test button shows, so a wrong URL or an unreachable SMTP host is found at once.
pub(super) async fn test_channels(
    state: &AppState,
    site: &str,
) -> Result<serde_json::Value, WebError> {
    let settings = NotifySettings::load(state, site).await?;
    let result = |r: Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(error) => json!({"ok": false, "error": error}),
    };
    let mut channels = serde_json::Map::new();
    if let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let body = json!({"event": "test", "site": site,
            "text": "A test from replyguard: this endpoint receives the site's notifications."});
        channels.insert(
            "webhook".into(),
            result(send_signed(&client, url, secret, "test", &body).await),
        );
    }
    if !settings.email_to.is_empty() {
        let sent =
            match &state.mailer {
                Some(mailer) => mailer
                    .send(
                        &settings.email_to,
                        &format!("[{site}] replyguard test message"),
                        "A test from replyguard: this address receives the site's notifications.\n",
                    )
                    .await,
                None => Err("no --smtp-url: cannot send e-mail".into()),
            };
        channels.insert("email".into(), result(sent));
    }
    let ok = channels.values().all(|c| c["ok"] == true);
    Ok(json!({"site": site, "ok": ok && !channels.is_empty(), "channels": channels}))
}

/// `POST /api/v1/admin/notifications/test?site=`: [`test_channels`].
pub async fn test(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Json<serde_json::Value>, WebError> {
    let site = site_name(&state, &q)?;
    Ok(Json(test_channels(&state, &site).await?))
}

/// A reader's text for an e-mail body: every line after `> `, so nothing in it can pass for
/// the server's own lines around it.
pub(super) fn quoted(text: &str) -> String {
    // Every break a mail client may show as one starts a quoted line: a reader's U+2028 must not
    // begin an unquoted line that reads "approve: https://…".
    text.replace("\r\n", "\n")
        .split(crate::domain::unshowable::is_line_break)
        .map(|line| match line {
            "" => ">\n".to_string(),
            line => format!("> {line}\n"),
        })
        .collect()
}

async fn email(
    state: &AppState,
    to: &[String],
    item: &OutboxItem,
    site: &crate::domain::Site,
    comment: &crate::storage::StoredComment,
) -> Result<(), String> {
    let Some(mailer) = &state.mailer else {
        return Err("no --smtp-url: cannot send e-mail".into());
    };
    let base = state.mail_base_url();
    let waiting = comment.status == Status::Held;
    let subject = if waiting {
        format!(
            "[{}] A comment is waiting for your approval",
            state.site_title(site)
        )
    } else {
        format!(
            "[{}] {} (comment {})",
            state.site_title(site),
            item.event,
            comment.id
        )
    };
    // What the server says comes first, everything the reader chose last and quoted — their
    // name, website and text, and the page only as this server's link to it (a path may hold
    // spaces and words): text made to look like the links below ("approve: https://…") can
    // then never pass for them.
    let mut body = format!(
        "{}\n\nOn: {}\nStatus: {} (spam probability {:.2})\n\n",
        if waiting {
            "A new comment is waiting for your approval."
        } else {
            "A comment changed."
        },
        super::replies::comment_link(&base, site, comment),
        comment.status.as_str(),
        comment.spam_probability,
    );
    if waiting {
        for action in super::one_click::ACTIONS {
            body.push_str(&format!(
                "{action}: {base}/moderate/{}\n",
                super::one_click::token(&state.pending_key, comment.id, action)
            ));
        }
        body.push_str("\n(Each link asks before it acts, works once, and expires in a week.)\n");
    }
    body.push_str(&format!("Moderation queue: {base}/admin\n\n"));
    let website = comment
        .author_url
        .as_deref()
        .map(|u| format!("Website: {u}\n"))
        .unwrap_or_default();
    body.push_str(&format!(
        "The comment, as its author wrote it:\n\n{}",
        quoted(&format!(
            "Name: {}\n{website}\n{}",
            comment.author, comment.content
        ))
    ));
    mailer.send(to, &subject, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line break a mail client may show, U+2028 among them, begins a quoted line.
    #[test]
    fn every_line_of_a_readers_text_is_quoted() {
        assert_eq!(
            quoted("ok\u{2028}approve: http://evil.example/\r\nbye\rnow\n\nend"),
            "> ok\n> approve: http://evil.example/\n> bye\n> now\n>\n> end\n"
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_time_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        let sig = signature("key", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
        assert_ne!(sig, signature("other", 1_700_000_000, br#"{"a":1}"#));
        assert_ne!(sig, signature("key", 1_700_000_001, br#"{"a":1}"#));
    }

    #[test]
    fn settings_name_every_wrong_field() {
        let bad = NotifySettings {
            webhook_url: Some("ftp://x".into()),
            webhook_secret: Some("short".into()),
            email_to: vec!["not an address".into()],
            events: vec!["comment.exploded".into()],
        };
        let Err(WebError::Validation(fields)) = bad.validate(false) else {
            panic!("accepted")
        };
        assert_eq!(fields.len(), 4, "{fields:?}");
        assert!(NotifySettings::default().validate(false).is_ok());
        assert!(NotifySettings::default().wants("comment.held"));
        assert!(!NotifySettings::default().wants("comment.published"));
    }
}
