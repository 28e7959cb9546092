//! Learning while serving. A background task folds the learning log (in the database, shared by
//! every replica) into the serving model: woken at once by a decision taken here, and every
//! [`POLL`] for decisions taken on other replicas. Each round learns every entry after the
//! serving model's last one in one batch and swaps the result in, and rounds that learn are at
//! least [`MIN_GAP`] apart: a decision reaches the next verdict within about that gap, and a
//! stream of decisions costs a few rebuilds a second, not one each.

use super::model_holder::ModelHolder;
use crate::storage::{CommentStore, StorageError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the log is read when nothing here has nudged the learner.
pub const POLL: Duration = Duration::from_millis(250);
/// Least time between two rounds that learned something: a stream of decisions is learned in
/// batches of this much, one model rebuild each, instead of one rebuild per decision.
pub const MIN_GAP: Duration = Duration::from_millis(100);
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
    let mut total = 0;
    loop {
        let entries = store.learning_log(models.learned_through(), BATCH).await?;
        if entries.is_empty() {
            return Ok(total);
        }
        // Tokenizing a batch is CPU work: off the executor threads.
        let holder = models.clone();
        let learned = tokio::task::spawn_blocking(move || holder.learn(&entries))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?;
        total += learned;
        if learned == 0 {
            return Ok(total);
        }
    }
}

/// The learning task: runs until the process ends.
pub async fn run(learner: Arc<Learner>, store: Arc<dyn CommentStore>, models: Arc<ModelHolder>) {
    loop {
        tokio::select! {
            _ = learner.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        match catch_up(store.as_ref(), &models).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(learned = n, "learned moderation decisions");
                // A nudge that arrives meanwhile is kept by `Notify` and taken after the gap.
                tokio::time::sleep(MIN_GAP).await;
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
    let mut after_id = 0;
    loop {
        let cutoff = crate::storage::rfc3339_ago(delay);
        match store
            .learn_unchallenged(&cutoff, newer, after_id, UNCHALLENGED_BATCH)
            .await
        {
            Ok((learned, through)) => {
                let more = through > after_id;
                after_id = through;
                if learned > 0 {
                    tracing::debug!(learned, "learned comments that stayed published");
                    learner.nudge();
                }
                if more {
                    // A backlog (a first start on an old database): keep going.
                    tokio::task::yield_now().await;
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot learn the comments that stayed published"),
        }
        tokio::time::sleep(every).await;
    }
}
