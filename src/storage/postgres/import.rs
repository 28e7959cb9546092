//! [`ImportStore`] on PostgreSQL: the shared bodies of [`crate::storage::sql::import`], and the
//! dry run's look-up of many remote ids in one statement.

use super::PgStore;
use crate::domain::ArticleRecord;
use crate::storage::sql::{Pg, import};
use crate::storage::{
    ArticleOutcome, CommentOutcome, ExportArticle, ExportComment, ImportStore, ImportedComment,
    StorageError, StoredArticle,
};

#[async_trait::async_trait]
impl ImportStore for PgStore {
    async fn import_article(
        &self,
        a: &ArticleRecord,
        taken: &[String],
    ) -> Result<ArticleOutcome, StorageError> {
        let outcome = in_transaction!(self, tx => import::import_article(&tx, a, taken))?;
        if matches!(outcome, ArticleOutcome::Created(_)) {
            self.changed();
        }
        Ok(outcome)
    }

    async fn import_comments(
        &self,
        comments: Vec<ImportedComment>,
    ) -> Result<Vec<CommentOutcome>, StorageError> {
        let outcomes = in_transaction!(self, tx => import::import_comments(&tx, comments))?;
        self.changed();
        Ok(outcomes)
    }

    async fn link_imported_parents(&self) -> Result<u64, StorageError> {
        let n = import::link_imported_parents(&Pg(&self.client().await?)).await?;
        self.changed();
        Ok(n)
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

    async fn public_articles(&self) -> Result<Vec<StoredArticle>, StorageError> {
        import::public_articles(&Pg(&self.client().await?)).await
    }

    async fn export_articles(&self) -> Result<Vec<ExportArticle>, StorageError> {
        import::export_articles(&Pg(&self.client().await?)).await
    }

    async fn export_comments(
        &self,
        article: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<ExportComment>, StorageError> {
        let client = self.client().await?;
        import::export_comments(&Pg(&client), article, after, limit).await
    }

    async fn commented_articles(&self) -> Result<Vec<String>, StorageError> {
        import::commented_articles(&Pg(&self.client().await?)).await
    }

    async fn moved_article(
        &self,
        path: &str,
        wp_post_id: Option<i64>,
    ) -> Result<Option<String>, StorageError> {
        import::moved_article(&Pg(&self.client().await?), path, wp_post_id).await
    }
}
