//! Akismet calls counted per key and month in memory and added to the database in batches.
//!
//! Counting each check with its own write cost a SQLite write transaction per check, taken in
//! turn with the comments' group commit: real checks (WordPress never sends `is_test`) ran at
//! 2.3 k/s where durable comment posts reach 7.6 k/s on the same machine. Here a check adds to a
//! tally; a flusher adds what accumulated to the database once a second (while there is
//! anything to add) and takes back the database's total, which includes the other replicas'
//! calls. The first call of a key's month on a replica reads that total first, and so does
//! any call or usage question once the replica's total is more than a second old (a replica
//! with no calls of its own to flush would otherwise never see the others'), so a quota counts
//! every replica's calls, each replica seeing the others' up to a second or two late. At
//! shutdown the server flushes what is pending ([`UsageMeter::flush_all`]); a crash loses at
//! most the last second's counts, which only meter usage.

use crate::storage::{AkismetStore, StorageError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long calls accumulate before they are added to the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Calls per (key, month) as this replica knows them.
#[derive(Default)]
pub struct UsageMeter {
    tallies: Mutex<HashMap<(i64, String), Tally>>,
}

#[derive(Default)]
struct Tally {
    /// The database's total at the last flush or read (every replica's calls then).
    stored: i64,
    /// When `stored` was last read or written: a replica with no calls of its own to flush
    /// reads the total again once it is older than [`FLUSH_EVERY`], so it sees the others'.
    stored_at: Option<std::time::Instant>,
    /// Calls counted here since, not yet in the database.
    pending: i64,
    /// A flusher is running for this tally.
    flushing: bool,
}

impl UsageMeter {
    fn tallies(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, String), Tally>> {
        // Every update leaves the map whole, so a poisoned lock is taken over.
        self.tallies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one call of `key_id` in `month` and returns the month's total as far as this
    /// replica knows it; with a `quota`, a call beyond it is not counted and `None` is returned
    /// (a refused call did nothing, so it is not usage: Akismet's usage-limit counts answered
    /// calls).
    pub async fn count(
        self: &Arc<Self>,
        store: &Arc<dyn AkismetStore>,
        key_id: i64,
        month: &str,
        quota: Option<i64>,
    ) -> Result<Option<i64>, StorageError> {
        let id = (key_id, month.to_string());
        // The first call of a key's month on this replica starts from the database's total, and
        // an idle tally reads it again (the other replicas' calls since).
        let stored = if self.is_current(&id) {
            None
        } else {
            Some(store.usage(key_id, month).await?)
        };
        let (total, start_flusher) = {
            let mut tallies = self.tallies();
            let tally = tallies.entry(id.clone()).or_default();
            if let Some(stored) = stored
                && !tally.flushing
            {
                tally.stored = stored;
                tally.stored_at = Some(std::time::Instant::now());
            }
            if quota.is_some_and(|quota| tally.stored + tally.pending >= quota) {
                return Ok(None);
            }
            tally.pending += 1;
            let start = !tally.flushing;
            tally.flushing = true;
            (tally.stored + tally.pending, start)
        };
        if start_flusher {
            let (meter, store) = (self.clone(), store.clone());
            tokio::spawn(async move { meter.flush_while_pending(&*store, id).await });
        }
        Ok(Some(total))
    }

    /// The month's total as far as this replica knows it, without counting a call.
    pub async fn usage(
        &self,
        store: &dyn AkismetStore,
        key_id: i64,
        month: &str,
    ) -> Result<i64, StorageError> {
        let id = (key_id, month.to_string());
        if self.is_current(&id) {
            let known = self.tallies().get(&id).map(|t| t.stored + t.pending);
            if let Some(total) = known {
                return Ok(total);
            }
        }
        let stored = store.usage(key_id, month).await?;
        let mut tallies = self.tallies();
        let Some(tally) = tallies.get_mut(&id) else {
            return Ok(stored);
        };
        if !tally.flushing {
            tally.stored = stored;
            tally.stored_at = Some(std::time::Instant::now());
        }
        Ok(tally.stored + tally.pending)
    }

    /// Whether this replica's tally of `id` is fresh enough to answer from: its own flusher
    /// keeps it so while it has calls to add; an idle one is at most [`FLUSH_EVERY`] old.
    fn is_current(&self, id: &(i64, String)) -> bool {
        self.tallies()
            .get(id)
            .is_some_and(|t| t.flushing || t.stored_at.is_some_and(|at| at.elapsed() < FLUSH_EVERY))
    }

    async fn flush_while_pending(&self, store: &dyn AkismetStore, id: (i64, String)) {
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            if !self.flush_one(store, &id).await {
                return;
            }
        }
    }

    /// Adds a tally's pending calls to the database; whether the flusher must go on (calls were
    /// pending; a failed write keeps them pending for the next round).
    async fn flush_one(&self, store: &dyn AkismetStore, id: &(i64, String)) -> bool {
        let pending = self.tallies().get(id).map_or(0, |t| t.pending);
        if pending == 0 {
            if let Some(tally) = self.tallies().get_mut(id) {
                // Checked again under the lock: a call may have come since.
                if tally.pending == 0 {
                    tally.flushing = false;
                    return false;
                }
            }
            return true;
        }
        match store.add_calls(id.0, &id.1, pending).await {
            Ok(total) => {
                if let Some(tally) = self.tallies().get_mut(id) {
                    tally.stored = total;
                    tally.stored_at = Some(std::time::Instant::now());
                    tally.pending -= pending;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot add Akismet calls to the usage count"),
        }
        true
    }

    /// Adds every pending call to the database now (at shutdown).
    pub async fn flush_all(&self, store: &dyn AkismetStore) {
        let ids: Vec<(i64, String)> = self
            .tallies()
            .iter()
            .filter(|(_, t)| t.pending > 0)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.flush_one(store, &id).await;
        }
    }
}
