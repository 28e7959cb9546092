//! [`OutboxStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::outbox`].

use super::PgStore;
use crate::storage::sql::{Pg, outbox, replies};
use crate::storage::{EventOutcome, OutboxItem, OutboxStore, StorageError, Subscriber};

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

    async fn subscribe_replies(&self, id: i64) -> Result<(), StorageError> {
        replies::subscribe(&Pg(&self.client().await?), id).await
    }

    async fn reply_subscriber(&self, id: i64) -> Result<Option<Subscriber>, StorageError> {
        replies::subscriber(&Pg(&self.client().await?), id).await
    }

    async fn unsubscribe_replies(&self, id: i64) -> Result<bool, StorageError> {
        replies::unsubscribe(&Pg(&self.client().await?), id).await
    }

    async fn reply_announced(&self, id: i64) -> Result<bool, StorageError> {
        replies::announced(&Pg(&self.client().await?), id).await
    }

    async fn announce_reply(&self, id: i64) -> Result<(), StorageError> {
        replies::announce(&Pg(&self.client().await?), id).await
    }
}
