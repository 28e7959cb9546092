//! Learning while serving. A background task folds the learning log (in the database, shared by
//! every replica) into the serving model: woken at once by a decision taken here, and every
//! [`POLL`] for decisions taken on other replicas. Each round learns every entry after the
//! serving model's last one in one batch and swaps the result in. After a round that learned,
//! the task waits [`IDLE_SHARE`] times the CPU time the round took (at least [`MIN_GAP`], at most
//! [`MAX_GAP`]) before the next: a stream of decisions is learned in batches and costs at most
//! about a tenth of one core, while a decision reaches the verdicts within a few round lengths.

use super::model_holder::ModelHolder;
use crate::storage::{CommentStore, StorageError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the log is read when nothing here has nudged the learner.
pub const POLL: Duration = Duration::from_millis(250);
/// Least time between two rounds that learned something.
pub const MIN_GAP: Duration = Duration::from_millis(5);
/// Most time between two rounds that learned something: a decision waits at most about this
/// long (plus a round) for the next verdict to know it.
pub const MAX_GAP: Duration = Duration::from_millis(100);
/// How many times a round's CPU time the task rests after it: 9 keeps learning to a tenth of the
/// core it runs on however fast decisions arrive, unless rounds cost more than a ninth of
/// [`MAX_GAP`] each. The decision lag is then about ten rounds: `benches/learning_load.py` (100
/// decisions/s beside a saturating verdict load on 2 cores), with rounds that passed over every
/// column of the model file (4-6 ms of CPU under that load), slowed the verdicts 12% at a lag
/// p99 of 116-125 ms (4 instead of 9: 15% at 69 ms); with rounds that cost what the site changed
/// (1-3 ms, mostly recalibration), 8% at 45 ms (medians of 3 runs).
pub const IDLE_SHARE: u32 = 9;
/// Most entries learned in one round.
const BATCH: u64 = 10_000;

/// Wakes the learning task.
#[derive(Default)]
pub struct Learner {
    wake: Notify,
}

impl Learner {
    /// Says a decision was just logged here, so the model learns it now rather than at the next
    /// poll.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }
}

/// Remembers the moderators' marks among the log entries a model file already holds (those up
/// to its `learned_through`, folded in by `train --feedback`), which [`catch_up`] skips: the
/// marks are kept beside the model, not in it.
pub async fn remember_marks_in_file(
    store: &dyn CommentStore,
    models: &Arc<ModelHolder>,
) -> Result<(), StorageError> {
    let through = models.learned_through();
    let mut after = 0;
    while after < through {
        let entries = store.learning_log(after, BATCH).await?;
        let Some(last) = entries.last().map(|e| e.id) else {
            break;
        };
        models.remember_marks(entries.iter().filter(|e| e.id <= through));
        after = last;
    }
    Ok(())
}

/// Learns every logged entry the model has not learned yet; returns how many. Used at start-up
/// (before serving) and by the task.
pub async fn catch_up(
    store: &dyn CommentStore,
    models: &Arc<ModelHolder>,
) -> Result<usize, StorageError> {
    Ok(catch_up_timed(store, models).await?.0)
}

/// [`catch_up`], and the CPU time the learning took (not the time spent waiting for a core: on
/// a busy machine the wall time of a round is mostly that).
async fn catch_up_timed(
    store: &dyn CommentStore,
    models: &Arc<ModelHolder>,
) -> Result<(usize, Duration), StorageError> {
    let (mut total, mut cpu) = (0, Duration::ZERO);
    loop {
        let entries = store.learning_log(models.learned_through(), BATCH).await?;
        if entries.is_empty() {
            return Ok((total, cpu));
        }
        // Tokenizing a batch is CPU work: off the executor threads.
        let holder = models.clone();
        let (learned, used) = tokio::task::spawn_blocking(move || {
            let start = thread_cpu_time();
            let learned = holder.learn(&entries);
            (learned, thread_cpu_time().saturating_sub(start))
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?;
        total += learned;
        cpu += used;
        if learned == 0 {
            return Ok((total, cpu));
        }
    }
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The learning task: runs until the process ends.
pub async fn run(learner: Arc<Learner>, store: Arc<dyn CommentStore>, models: Arc<ModelHolder>) {
    loop {
        tokio::select! {
            _ = learner.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        match catch_up_timed(store.as_ref(), &models).await {
            Ok((0, _)) => {}
            Ok((n, cpu)) => {
                tracing::debug!(learned = n, ?cpu, "learned moderation decisions");
                // A nudge that arrives meanwhile is kept by `Notify` and taken after the gap.
                let gap = (cpu * IDLE_SHARE).clamp(MIN_GAP, MAX_GAP);
                tokio::time::sleep(gap).await;
            }
            // The database may be down or full for a while; the next round tries again.
            Err(e) => tracing::warn!(error = %e, "cannot read the learning log"),
        }
    }
}

/// Most comments looked at in one pass of [`learn_unchallenged`].
const UNCHALLENGED_BATCH: u64 = 1_000;

/// The implicit-ham task: every so often, the comments published on arrival that nobody has
/// challenged for `delay`, or while `newer` readers' comments followed them, join the learning log as the site's ham
/// ([`CommentStore::learn_unchallenged`]), and the learner is woken. A moderator corrects mostly
/// spam, so without the comments that stay published the site's examples would be nearly all
/// spam, and learning them would turn what every comment of the site carries into spam evidence.
/// Runs until the process ends; each replica runs one, and the store learns a comment once.
pub async fn learn_unchallenged(
    learner: Arc<Learner>,
    store: Arc<dyn CommentStore>,
    delay: Duration,
    newer: u64,
) {
    // Counting readers' comments needs a look every second or so; time alone, a tenth of it.
    let every = if newer > 0 {
        Duration::from_secs(1)
    } else {
        (delay / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
    };
    // The site's readers' comments and the Akismet keys' checks, each pass with its own cursor
    // (their rules differ, so one cursor could pass a check not yet old enough).
    let mut after_ids = [0_i64, 0_i64];
    loop {
        let cutoff = crate::storage::rfc3339_ago(delay);
        let mut more = false;
        for (after_id, relayed) in after_ids.iter_mut().zip([false, true]) {
            match store
                .learn_unchallenged(&cutoff, newer, *after_id, UNCHALLENGED_BATCH, relayed)
                .await
            {
                Ok((learned, through)) => {
                    more |= through > *after_id;
                    *after_id = through;
                    if learned > 0 {
                        tracing::debug!(learned, relayed, "learned comments that stayed published");
                        learner.nudge();
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot learn the comments that stayed published")
                }
            }
        }
        if more {
            // A backlog (a first start on an old database): keep going.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::time::sleep(every).await;
    }
}
