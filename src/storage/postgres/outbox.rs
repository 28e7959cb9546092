//! [`OutboxStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::outbox`].

use super::PgStore;
use crate::storage::sql::{Pg, outbox};
use crate::storage::{EventOutcome, OutboxItem, OutboxStore, StorageError};

#[async_trait::async_trait]
impl OutboxStore for PgStore {
    async fn any_events_due(&self, now: &str) -> Result<bool, StorageError> {
        outbox::any_due(&Pg(&self.client().await?), now).await
    }

    async fn claim_events(
        &self,
        now: &str,
        lease_until: &str,
        limit: u64,
    ) -> Result<Vec<OutboxItem>, StorageError> {
        outbox::claim(&Pg(&self.client().await?), now, lease_until, limit).await
    }

    async fn finish_event(&self, id: i64, outcome: &EventOutcome) -> Result<(), StorageError> {
        outbox::finish(&Pg(&self.client().await?), id, outcome).await
    }

    async fn delivery_log(&self, site: i64, limit: u64) -> Result<Vec<OutboxItem>, StorageError> {
        outbox::log(&Pg(&self.client().await?), site, limit).await
    }

    async fn prune_events(&self, before: &str) -> Result<u64, StorageError> {
        outbox::prune(&Pg(&self.client().await?), before).await
    }
}
