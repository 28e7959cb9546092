//! [`ImportStore`](crate::storage::ImportStore) on PostgreSQL: the shared list
//! ([`crate::storage::forward`]), an import's change announced, and the dry run's look-up of many
//! remote ids in one statement.

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

    async fn known_remote_ids(&self, ids: &[String]) -> Result<Vec<String>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id FROM UNNEST($1::text[]) AS ids(id) WHERE \
                 EXISTS (SELECT 1 FROM comments WHERE remote_id = ids.id) \
                 OR EXISTS (SELECT 1 FROM articles WHERE remote_id = ids.id AND title != '') \
                 OR EXISTS (SELECT 1 FROM article_aliases WHERE remote_id = ids.id)",
                &[&ids],
            )
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
});
