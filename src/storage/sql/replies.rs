//! Reply notifications: who asked to hear of replies to their comment, whether their address
//! confirmed it (double opt-in), unsubscribing, and which replies were announced; once for both
//! backends.

use super::Exec;
use crate::storage::{Status, StorageError, now_rfc3339};

/// The reader to tell of a reply to their comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The site of the comment (addresses are confirmed per site).
    pub site_id: i64,
    pub email: String,
    pub author: String,
    /// Their comment's status: only a published comment's author hears of replies.
    pub status: Status,
    /// Whether whoever reads the address confirmed they want these e-mails.
    pub confirmed: bool,
    /// When the address was last asked to confirm (RFC 3339), if ever.
    pub asked_at: Option<String>,
}

/// The form an address is kept in for its confirmation: trimmed, lower-cased, an international
/// domain in its ASCII form (`bücher.example` and `xn--bcher-kva.example` are one mailbox).
pub fn address_key(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(ascii)) => format!("{local}@{ascii}"),
        _ => email,
    }
}

const SUBSCRIBE: &str = "INSERT INTO reply_subscriptions (comment_id, created_at) VALUES ($1, $2) \
    ON CONFLICT (comment_id) DO NOTHING";
const SUBSCRIBER: &str = "SELECT c.author_email, c.author, c.status, c.site_id FROM reply_subscriptions s \
    JOIN comments c ON c.id = s.comment_id \
    WHERE s.comment_id = $1 AND s.unsubscribed_at IS NULL AND c.author_email <> ''";
const UNSUBSCRIBE: &str = "UPDATE reply_subscriptions SET unsubscribed_at = $1 \
    WHERE comment_id = $2 AND unsubscribed_at IS NULL";
const ADDRESS: &str = "SELECT confirmed_at, asked_at FROM reply_addresses \
    WHERE site_id = $1 AND email = $2";
const ASK: &str = "INSERT INTO reply_addresses (site_id, email, asked_at) VALUES ($1, $2, $3) \
    ON CONFLICT (site_id, email) DO UPDATE SET asked_at = excluded.asked_at";
const CONFIRM: &str = "INSERT INTO reply_addresses (site_id, email, confirmed_at) VALUES ($1, $2, $3) \
    ON CONFLICT (site_id, email) DO UPDATE SET confirmed_at = excluded.confirmed_at \
    WHERE reply_addresses.confirmed_at IS NULL";
const ANNOUNCED: &str = "SELECT reply_id FROM reply_notices WHERE reply_id = $1";
const ANNOUNCE: &str = "INSERT INTO reply_notices (reply_id, sent_at) VALUES ($1, $2) \
    ON CONFLICT (reply_id) DO NOTHING";

/// Subscribes comment `id`'s author to replies to it.
pub async fn subscribe<E: Exec>(e: &E, id: i64) -> Result<(), StorageError> {
    e.execute(SUBSCRIBE, &[&id, &now_rfc3339()]).await?;
    Ok(())
}

/// Who hears of replies to comment `id`, if anyone does.
pub async fn subscriber<E: Exec>(e: &E, id: i64) -> Result<Option<Subscriber>, StorageError> {
    let Some(mut reader) = e
        .query_opt(SUBSCRIBER, &[&id], |r| {
            Ok(Subscriber {
                email: r.text(0)?,
                author: r.text(1)?,
                status: Status::parse(&r.text(2)?).unwrap_or(Status::Held),
                site_id: r.int(3)?,
                confirmed: false,
                asked_at: None,
            })
        })
        .await?
    else {
        return Ok(None);
    };
    let key = address_key(&reader.email);
    if let Some((confirmed_at, asked_at)) = e
        .query_opt(ADDRESS, &[&reader.site_id, &key], |r| {
            Ok((r.opt_text(0)?, r.opt_text(1)?))
        })
        .await?
    {
        reader.confirmed = confirmed_at.is_some();
        reader.asked_at = asked_at;
    }
    Ok(Some(reader))
}

/// Records that `email` (on `site`) was just asked to confirm it wants reply e-mails.
pub async fn ask_address<E: Exec>(e: &E, site: i64, email: &str) -> Result<(), StorageError> {
    let key = address_key(email);
    e.execute(ASK, &[&site, &key, &now_rfc3339()]).await?;
    Ok(())
}

/// Records that whoever reads `email` wants reply e-mails from `site`; false when it had
/// confirmed already.
pub async fn confirm_address<E: Exec>(e: &E, site: i64, email: &str) -> Result<bool, StorageError> {
    let key = address_key(email);
    Ok(e.execute(CONFIRM, &[&site, &key, &now_rfc3339()]).await? > 0)
}

/// Ends the subscription of comment `id`; whether it was on.
pub async fn unsubscribe<E: Exec>(e: &E, id: i64) -> Result<bool, StorageError> {
    Ok(e.execute(UNSUBSCRIBE, &[&now_rfc3339(), &id]).await? > 0)
}

/// Whether reply `id` was announced to its parent's author already.
pub async fn announced<E: Exec>(e: &E, id: i64) -> Result<bool, StorageError> {
    Ok(e.query_opt(ANNOUNCED, &[&id], |r| r.int(0))
        .await?
        .is_some())
}

/// Records that reply `id` was announced.
pub async fn announce<E: Exec>(e: &E, id: i64) -> Result<(), StorageError> {
    e.execute(ANNOUNCE, &[&id, &now_rfc3339()]).await?;
    Ok(())
}

/// Every statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[
    SUBSCRIBE,
    SUBSCRIBER,
    UNSUBSCRIBE,
    ADDRESS,
    ASK,
    CONFIRM,
    ANNOUNCED,
    ANNOUNCE,
];

#[cfg(test)]
mod tests {
    #[test]
    fn one_mailbox_is_one_key() {
        assert_eq!(
            super::address_key(" IDN@Bücher.Example "),
            super::address_key("idn@xn--bcher-kva.example")
        );
        assert_eq!(super::address_key("Ana@Example.org"), "ana@example.org");
    }
}
