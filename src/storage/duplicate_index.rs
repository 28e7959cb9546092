//! The duplicate check without a database round trip for what is certainly new.
//!
//! A comment is a duplicate when its sender already posted the same text to the same thread
//! (`comments::is_duplicate`). Almost every comment is not, and proving that took a query on
//! every post and every Akismet check. [`DuplicateIndex`] keeps a 32-bit fingerprint of
//! (site, thread, e-mail, text) for every stored comment: a text whose fingerprint is absent was
//! never stored, so the answer is "no" from memory; a present one (a real duplicate, or one chance
//! in ~4 billion per stored comment) is confirmed by the query, which also knows about trash.
//!
//! The index learns this process's own inserts and edits at once ([`DuplicateIndex::add`]) and everything
//! else (other replicas, `replyguard import`, the comments stored before start) by reading the
//! rows after a watermark, in the background, at most once per [`REFRESH_EVERY`]. Until the first
//! full read has finished, every check asks the database, as before. So a duplicate sent to the
//! *same* server is always caught; one sent to another replica within a second of the original
//! can pass, which is the price of answering from memory (as can a repeat of a text edited on
//! another replica: the refresh reads new rows, not edits).
//!
//! Ids are drawn before commit, so on PostgreSQL a row can become visible after a higher id
//! did. The watermark therefore stays below a recent gap in the ids (among the last
//! [`GAP_WINDOW`] ids) until the gap is filled or [`GAP_PATIENCE`] has passed (a rolled-back
//! insert or an erased comment leaves a gap for good).

use super::StorageError;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often at most the index reads what others stored.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// Rows read per query while refreshing.
pub const PAGE: i64 = 10_000;
/// Gaps among this many of the newest ids are taken for rows still being committed.
pub const GAP_WINDOW: i64 = 1_000;
/// How long a gap is waited for before it is taken for good.
pub const GAP_PATIENCE: Duration = Duration::from_secs(5);

/// A comment's fingerprint for the duplicate check: its site, thread, sender and text.
pub fn fingerprint(site: i64, article: &str, author_email: &str, content: &str) -> u32 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&site.to_le_bytes());
    // Lengths first, so ("ab", "c") and ("a", "bc") differ.
    for part in [article, author_email, content] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.digest() as u32
}

/// Fingerprints of every stored comment, as far as the last refresh and this process's inserts
/// tell.
#[derive(Default)]
pub struct DuplicateIndex {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    fingerprints: HashSet<u32>,
    /// Every row with an id at or below it has been read (but for the gaps being waited on).
    watermark: i64,
    /// Whether every row that existed at start has been read: only then is "absent" an answer.
    complete: bool,
    /// A refresh is under way (one at a time).
    refreshing: bool,
    last_refresh: Option<Instant>,
    /// Ids missing among the newest ones read, and when each was first missed.
    gaps: HashMap<i64, Instant>,
}

impl DuplicateIndex {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is taken over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a comment with this fingerprint may already be stored. `false` is certain;
    /// `true` means the database must be asked.
    pub fn may_be_stored(&self, fingerprint: u32) -> bool {
        let state = self.state();
        !state.complete || state.fingerprints.contains(&fingerprint)
    }

    /// [`DuplicateIndex::may_be_stored`], after starting a refresh through `load` (see
    /// [`DuplicateIndex::refresh`]) in the background when one is due.
    pub fn check<F, Fut>(self: &Arc<Self>, fingerprint: u32, load: F) -> bool
    where
        F: Fn(i64, i64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Vec<(i64, u32)>, StorageError>> + Send,
    {
        if self.refresh_due() {
            let index = self.clone();
            tokio::spawn(async move {
                if let Err(e) = index.refresh(load).await {
                    tracing::warn!(error = %e, "cannot read comments for the duplicate check");
                }
            });
        }
        self.may_be_stored(fingerprint)
    }

    /// Records a comment this process stored.
    pub fn add(&self, fingerprint: u32) {
        self.state().fingerprints.insert(fingerprint);
    }

    /// Claims the next refresh when one is due; the caller then runs [`DuplicateIndex::refresh`].
    pub fn refresh_due(&self) -> bool {
        let mut state = self.state();
        let due = !state.refreshing
            && state
                .last_refresh
                .is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
        if due {
            state.refreshing = true;
        }
        due
    }

    /// Reads every row after the watermark through `load(after_id, limit)` (ids ascending, with
    /// their fingerprints) and takes them in. Called after [`DuplicateIndex::refresh_due`]
    /// said yes; a failed read leaves the index as it was, to be tried again.
    pub async fn refresh<F, Fut, E>(&self, load: F) -> Result<(), E>
    where
        F: Fn(i64, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(i64, u32)>, E>>,
    {
        // Ends the refresh however it ends, a cancelled or panicked task included, so the next
        // one is not locked out for good.
        struct Done<'a>(&'a DuplicateIndex);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut state = self.0.state();
                state.refreshing = false;
                state.last_refresh = Some(Instant::now());
            }
        }
        let _done = Done(self);
        self.read_all(load).await
    }

    async fn read_all<F, Fut, E>(&self, load: F) -> Result<(), E>
    where
        F: Fn(i64, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(i64, u32)>, E>>,
    {
        let start = self.state().watermark;
        let mut after = start;
        let mut ids = Vec::new();
        loop {
            let rows = load(after, PAGE).await?;
            let full_page = rows.len() as i64 == PAGE;
            {
                let mut state = self.state();
                for &(id, fingerprint) in &rows {
                    state.fingerprints.insert(fingerprint);
                    ids.push(id);
                }
            }
            // Only the newest ids can hold gaps worth waiting for: a first read of a million
            // rows keeps a thousand ids, not a million.
            if ids.len() > 2 * GAP_WINDOW as usize {
                ids.drain(..ids.len() - GAP_WINDOW as usize);
            }
            after = rows.last().map_or(after, |&(id, _)| id);
            if !full_page {
                break;
            }
        }
        let mut state = self.state();
        state.watermark = next_watermark(start, &ids, &mut state.gaps, Instant::now());
        state.complete = true;
        Ok(())
    }
}

/// Where the next refresh starts, given the ids just read after `start` (ascending): past the
/// newest id, unless a recent gap among the newest ids may still fill, which is then re-read.
/// `gaps` keeps when each such gap was first seen.
fn next_watermark(start: i64, ids: &[i64], gaps: &mut HashMap<i64, Instant>, now: Instant) -> i64 {
    let Some(&newest) = ids.last() else {
        // Nothing new: the gaps waited on keep the watermark where it was, until they expire.
        gaps.retain(|_, seen| now.duration_since(*seen) < GAP_PATIENCE);
        return start;
    };
    let window_from = (newest - GAP_WINDOW).max(start);
    let mut missing = HashSet::new();
    let mut expected = window_from + 1;
    for &id in ids.iter().filter(|&&id| id > window_from) {
        missing.extend(expected..id);
        expected = id + 1;
    }
    gaps.retain(|id, _| missing.contains(id));
    for id in missing {
        gaps.entry(id).or_insert(now);
    }
    gaps.retain(|_, seen| now.duration_since(*seen) < GAP_PATIENCE);
    gaps.keys()
        .min()
        .map_or(newest, |&oldest_gap| oldest_gap - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_apart_where_one_part_ends() {
        assert_ne!(
            fingerprint(1, "ab", "c", "d"),
            fingerprint(1, "a", "bc", "d")
        );
        assert_ne!(fingerprint(1, "a", "b", "c"), fingerprint(2, "a", "b", "c"));
        assert_eq!(fingerprint(1, "a", "b", "c"), fingerprint(1, "a", "b", "c"));
    }

    #[test]
    fn nothing_is_ruled_out_before_the_first_full_read() {
        let index = DuplicateIndex::default();
        assert!(index.may_be_stored(7));
        assert!(index.refresh_due());
        assert!(!index.refresh_due(), "one refresh at a time");
        let rows = [(1, 11), (2, 12)];
        let loaded = pollster(index.refresh(|after, _| {
            let rows = rows.iter().copied().filter(|&(id, _)| id > after).collect();
            async move { Ok::<_, ()>(rows) }
        }));
        assert_eq!(loaded, Ok(()));
        assert!(index.may_be_stored(11));
        assert!(!index.may_be_stored(7));
        index.add(7);
        assert!(index.may_be_stored(7));
    }

    #[test]
    fn a_failed_read_leaves_checks_on_the_database() {
        let index = DuplicateIndex::default();
        assert!(index.refresh_due());
        let failed = pollster(index.refresh(|_, _| async { Err::<Vec<(i64, u32)>, _>("down") }));
        assert_eq!(failed, Err("down"));
        assert!(index.may_be_stored(7));
    }

    #[test]
    fn a_recent_gap_is_read_again_until_it_fills_or_expires() {
        let now = Instant::now();
        let mut gaps = HashMap::new();
        // Rows 1..=10 but 8, which another replica has not committed yet.
        let ids: Vec<i64> = (1..=10).filter(|&id| id != 8).collect();
        assert_eq!(next_watermark(0, &ids, &mut gaps, now), 7);
        // It committed: read again from 7, the gap is gone.
        assert_eq!(next_watermark(7, &[8, 9, 10], &mut gaps, now), 10);
        assert!(gaps.is_empty());
        // A gap that never fills (a rolled-back insert) is given up after the patience.
        assert_eq!(next_watermark(10, &[12], &mut gaps, now), 10);
        let later = now + GAP_PATIENCE;
        assert_eq!(next_watermark(10, &[12], &mut gaps, later), 12);
        // Old gaps (erased comments far below the newest ids) never hold the watermark.
        let ids: Vec<i64> = (1..=5000).filter(|&id| id != 3).collect();
        assert_eq!(next_watermark(0, &ids, &mut HashMap::new(), now), 5000);
    }

    /// Runs a future that never waits to its end.
    fn pollster<T>(future: impl std::future::Future<Output = T>) -> T {
        let future = std::pin::pin!(future);
        match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("the test's loader never waits"),
        }
    }
}
