//! [`ImportStore`](crate::storage::ImportStore) on PostgreSQL: the shared list
//! ([`crate::storage::forward`]) and an import's change announced.

use super::PgStore;
use crate::storage::forward::storage_port;
use crate::storage::sql::import;

storage_port!(ImportStore for PgStore, pg_runs {
    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        let outcomes = in_transaction!(self, tx => import::import_comments(&tx, comments))?;
        self.changed();
        Ok(outcomes)
    }
});
