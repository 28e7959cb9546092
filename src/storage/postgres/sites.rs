//! [`SiteStore`](crate::storage::SiteStore) on PostgreSQL: the shared list
//! ([`crate::storage::forward`]), and an edit that the duplicate index learns.

use super::PgStore;
use crate::storage::forward::storage_port;
use crate::storage::sql::{Pg, threads};

storage_port!(SiteStore for PgStore, pg_runs {
    async fn edit_comment(
        &self,
        id: i64,
        content: &str,
        author: &str,
        author_url: Option<&str>,
    ) -> Result<StoredComment, StorageError> {
        threads::edit_comment(&Pg(&self.client().await?), id, content, author, author_url)
            .await
            // The refresh reads new rows only: an edited text is a duplicate from now on too.
            .inspect(|edited| self.duplicates.add(edited.fingerprint()))
    }
});
