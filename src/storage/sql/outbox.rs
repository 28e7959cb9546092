//! The notification outbox (filled by triggers, see `migrations/0012_outbox.sql`): claiming due
//! events with a lease, recording how a delivery went, and the delivery log; once for both
//! backends.

use super::{Exec, RowRead};
use crate::storage::{EventOutcome, OutboxItem, StorageError};

// The outer condition is checked again on the row itself, so two replicas that pick the same
// id do not both claim it (PostgreSQL re-evaluates it after waiting for the row's lock).
const CLAIM: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM outbox \
    WHERE state = 'pending' AND next_attempt_at <= $2 \
    AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY id LIMIT $3) \
    AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $2) \
    RETURNING id, site_id, comment_id, event, attempts, state, last_error, created_at, done_at, \
    done_channels";
const DUE: &str = "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
    AND (claimed_until IS NULL OR claimed_until < $1) LIMIT 1";
const FINISH: &str = "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = $3, \
    attempts = $4, claimed_until = NULL, done_at = $5, done_channels = $6 WHERE id = $7";
const LOG: &str = "SELECT id, site_id, comment_id, event, attempts, state, last_error, created_at, \
    done_at, done_channels FROM outbox WHERE site_id = $1 AND state <> 'skipped' ORDER BY id DESC LIMIT $2";
const PRUNE: &str = "DELETE FROM outbox WHERE state IN ('sent', 'skipped') AND done_at < $1";

/// An outbox row from the columns `id, site_id, comment_id, event, attempts, state, last_error,
/// created_at, done_at, done_channels`.
fn item(r: &dyn RowRead) -> Result<OutboxItem, StorageError> {
    Ok(OutboxItem {
        id: r.int(0)?,
        site_id: r.int(1)?,
        comment_id: r.int(2)?,
        event: r.text(3)?,
        attempts: r.int(4)?,
        state: r.text(5)?,
        last_error: r.opt_text(6)?,
        created_at: r.text(7)?,
        done_at: r.opt_text(8)?,
        done_channels: r.text(9)?,
    })
}

/// Whether any event is due at `now`: a read, so an idle worker takes no write transaction.
pub async fn any_due<E: Exec>(e: &E, now: &str) -> Result<bool, StorageError> {
    Ok(e.query_opt(DUE, &[&now], |r| r.int(0)).await?.is_some())
}

/// Claims up to `limit` due events until `lease_until` (RFC 3339), oldest first.
pub async fn claim<E: Exec>(
    e: &E,
    now: &str,
    lease_until: &str,
    limit: u64,
) -> Result<Vec<OutboxItem>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    let mut items = e.query(CLAIM, &[&lease_until, &now, &limit], item).await?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// Records how a delivery of event `id` went.
pub async fn finish<E: Exec>(e: &E, id: i64, o: &EventOutcome) -> Result<(), StorageError> {
    e.execute(
        FINISH,
        &[
            &o.state,
            &o.error,
            &o.next_attempt_at,
            &o.attempts,
            &o.done_at,
            &o.done_channels,
            &id,
        ],
    )
    .await?;
    Ok(())
}

/// A site's latest deliveries (events with somewhere to go), newest first.
pub async fn log<E: Exec>(e: &E, site: i64, limit: u64) -> Result<Vec<OutboxItem>, StorageError> {
    let limit = limit.min(i64::MAX as u64) as i64;
    e.query(LOG, &[&site, &limit], item).await
}

/// Forgets delivered and skipped events finished before `before`.
pub async fn prune<E: Exec>(e: &E, before: &str) -> Result<u64, StorageError> {
    e.execute(PRUNE, &[&before]).await
}

/// Every shared statement of this module, for the placeholder test.
#[cfg(test)]
pub const STATEMENTS: &[&str] = &[DUE, CLAIM, FINISH, LOG, PRUNE];
