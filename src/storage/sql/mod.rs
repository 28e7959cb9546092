//! One storage shape for both backends: every operation of the port is written once here, as an
//! async body over [`Exec`], with one statement text and one row mapping. SQLite
//! ([`rusqlite::Connection`]) and PostgreSQL ([`Pg`] over a pooled client or transaction) only
//! implement [`Exec`]: run a statement, read rows through [`RowRead`], take a lock.
//!
//! Why a small trait of our own and not a crate: sqlx `Any` has no arrays and would move both
//! drivers; sea-query's binders pin an older rusqlite (one `libsqlite3-sys` per build) and map no
//! rows; diesel is synchronous and has no LISTEN. The statements are static text, mostly the same
//! on both, so what was missing is only a value type both drivers bind ([`Param`]), a row both
//! read ([`RowRead`]), and a place for the few statements that differ ([`Dialect`]).
//!
//! Placeholders are PostgreSQL's `$N` in both. SQLite reads `$N` as a *named* parameter and
//! numbers it by first appearance, so every shared statement names `$1`, `$2`, … in that order
//! (`tests::placeholders_appear_in_order` checks each one against SQLite itself).
//!
//! SQLite's bodies never wait on anything but SQLite, so [`ready`] runs one to completion with a
//! single poll on the thread that holds the connection.

pub mod comments;
pub mod erase;
pub mod import;
pub mod keys;
pub mod lessons;
pub mod outbox;
pub mod replies;
pub mod row;
pub mod sites;
pub mod threads;

use super::StorageError;
use std::future::Future;
use tokio_postgres::types::ToSql as PgToSql;

/// Which SQL the connection speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement in the SQLite and the PostgreSQL spelling, for the few that differ.
pub type Spellings = [&'static str; 2];

/// The spelling of `sql` that `e` speaks.
pub fn spelled<E: Exec>(e: &E, sql: Spellings) -> &'static str {
    sql[usize::from(e.dialect() == Dialect::Postgres)]
}

/// Locks a body may need beyond its transaction. SQLite has one writer at a time (every write
/// transaction is `IMMEDIATE`), so there they cost nothing; on PostgreSQL replicas take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Appends to the learning log, so ids become visible in id order and every replica folds
    /// the same log in the same order.
    LearningLog,
    /// One import at a time decides slugs and aliases.
    Articles,
    /// One change of the sites at a time decides names and origins.
    Sites,
}

/// A value both drivers can bind: text, integers, floats, booleans and their `Option`s.
pub trait Param: Sync {
    /// As rusqlite binds it.
    fn lite(&self) -> &dyn rusqlite::ToSql;
    /// As tokio-postgres binds it.
    fn pg(&self) -> &(dyn PgToSql + Sync);
}

impl<T: rusqlite::ToSql + PgToSql + Sync> Param for T {
    fn lite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn PgToSql + Sync) {
        self
    }
}

/// A moderation status binds as its name (`published`, `held`, …) on both drivers.
impl rusqlite::ToSql for crate::domain::Status {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl PgToSql for crate::domain::Status {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.as_str().to_sql(ty, out)
    }
    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <&str as PgToSql>::accepts(ty)
    }
    tokio_postgres::types::to_sql_checked!();
}

/// A row of either driver, read by column index. Every integer is read as `i64`: the statements
/// cast the columns PostgreSQL keeps narrower (`CAST(sign AS BIGINT)`).
pub trait RowRead {
    fn text(&self, i: usize) -> Result<String, StorageError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError>;
    fn int(&self, i: usize) -> Result<i64, StorageError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError>;
    fn float(&self, i: usize) -> Result<f64, StorageError>;
    fn flag(&self, i: usize) -> Result<bool, StorageError>;
}

/// A connection or transaction the shared bodies run on.
pub trait Exec {
    /// The SQL it speaks.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows it changed.
    fn execute(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> impl Future<Output = Result<u64, StorageError>>;
    /// Every row of a query, each through `map`.
    fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnMut(&dyn RowRead) -> Result<T, StorageError>,
    ) -> impl Future<Output = Result<Vec<T>, StorageError>>;
    /// The first row of a query, if any, through `map`.
    fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&dyn RowRead) -> Result<T, StorageError>,
    ) -> impl Future<Output = Result<Option<T>, StorageError>>;
    /// Takes `lock` until the transaction ends.
    fn lock(&self, lock: Lock) -> impl Future<Output = Result<(), StorageError>>;
}

/// Runs a SQLite body to its end. It awaits nothing but SQLite calls, which are done by the time
/// they return, so one poll finishes it; a body that would wait on anything else is a bug, and
/// fails loudly instead of blocking.
pub fn ready<T>(body: impl Future<Output = Result<T, StorageError>>) -> Result<T, StorageError> {
    let body = std::pin::pin!(body);
    match body.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(outcome) => outcome,
        std::task::Poll::Pending => Err(StorageError::Task(
            "a SQLite storage body waited on something other than SQLite".into(),
        )),
    }
}

// ---- SQLite ----

/// [`RowRead`] for a driver's row type through its fallible getter.
macro_rules! row_read {
    ($row:ty, $get:ident) => {
        impl RowRead for $row {
            fn text(&self, i: usize) -> Result<String, StorageError> {
                Ok(self.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StorageError> {
                Ok(self.$get(i)?)
            }
            fn int(&self, i: usize) -> Result<i64, StorageError> {
                Ok(self.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StorageError> {
                Ok(self.$get(i)?)
            }
            fn float(&self, i: usize) -> Result<f64, StorageError> {
                Ok(self.$get(i)?)
            }
            fn flag(&self, i: usize) -> Result<bool, StorageError> {
                Ok(self.$get(i)?)
            }
        }
    };
}

row_read!(rusqlite::Row<'_>, get);

fn lite_params<'a>(
    params: &'a [&'a dyn Param],
) -> rusqlite::ParamsFromIter<impl Iterator<Item = &'a dyn rusqlite::ToSql>> {
    rusqlite::params_from_iter(params.iter().map(|p| p.lite()))
}

impl Exec for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<u64, StorageError> {
        let mut stmt = self.prepare_cached(sql)?;
        Ok(stmt.execute(lite_params(params))? as u64)
    }

    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut map: impl FnMut(&dyn RowRead) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(lite_params(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(row)?);
        }
        Ok(out)
    }

    async fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&dyn RowRead) -> Result<T, StorageError>,
    ) -> Result<Option<T>, StorageError> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(lite_params(params))?;
        rows.next()?.map(|row| map(row)).transpose()
    }

    async fn lock(&self, _: Lock) -> Result<(), StorageError> {
        Ok(())
    }
}

// ---- PostgreSQL ----

/// A pooled PostgreSQL client or one of its transactions, as an [`Exec`].
pub struct Pg<'a, C>(pub &'a C);

row_read!(tokio_postgres::Row, try_get);

fn pg_params<'a>(params: &'a [&'a dyn Param]) -> Vec<&'a (dyn PgToSql + Sync)> {
    params.iter().map(|p| p.pg()).collect()
}

/// Key of the advisory lock that serializes appends to the learning log.
pub const LEARNING_LOCK: i64 = 0x7265_706c_7967_0002;

impl<C: deadpool_postgres::GenericClient + Sync> Exec for Pg<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<u64, StorageError> {
        let stmt = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&stmt, &pg_params(params)).await?)
    }

    async fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut map: impl FnMut(&dyn RowRead) -> Result<T, StorageError>,
    ) -> Result<Vec<T>, StorageError> {
        let stmt = self.0.prepare_cached(sql).await?;
        let rows = self.0.query(&stmt, &pg_params(params)).await?;
        rows.iter().map(|r| map(r)).collect()
    }

    async fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&dyn RowRead) -> Result<T, StorageError>,
    ) -> Result<Option<T>, StorageError> {
        let stmt = self.0.prepare_cached(sql).await?;
        let row = self.0.query_opt(&stmt, &pg_params(params)).await?;
        row.as_ref().map(|r| map(r)).transpose()
    }

    async fn lock(&self, lock: Lock) -> Result<(), StorageError> {
        let sql = match lock {
            Lock::LearningLog => "SELECT pg_advisory_xact_lock($1)",
            Lock::Articles => "LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE",
            Lock::Sites => "LOCK TABLE sites IN SHARE ROW EXCLUSIVE MODE",
        };
        let params: &[&(dyn PgToSql + Sync)] = match lock {
            Lock::LearningLog => &[&LEARNING_LOCK],
            Lock::Articles | Lock::Sites => &[],
        };
        self.0.execute(sql, params).await?;
        Ok(())
    }
}

/// One value out of the first column: a scalar query.
pub async fn scalar<E: Exec>(
    e: &E,
    sql: &str,
    params: &[&dyn Param],
) -> Result<Option<i64>, StorageError> {
    Ok(e.query_opt(sql, params, |r| r.opt_int(0)).await?.flatten())
}

#[cfg(test)]
mod tests {
    /// SQLite numbers `$N` by first appearance; a shared statement is right on both only when
    /// `$1`, `$2`, … first appear in that order (and PostgreSQL's `::TYPE` casts are absent).
    #[test]
    fn placeholders_appear_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let conn = store.conn().unwrap();
        let statements = [
            super::comments::STATEMENTS,
            super::keys::STATEMENTS,
            super::import::STATEMENTS,
            super::sites::STATEMENTS,
            super::threads::STATEMENTS,
            super::erase::STATEMENTS,
            super::outbox::STATEMENTS,
            super::lessons::STATEMENTS,
            super::replies::STATEMENTS,
        ];
        for sql in statements.concat() {
            assert!(
                !sql.contains("::"),
                "a PostgreSQL cast in shared SQL: {sql}"
            );
            let stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
            for i in 1..=stmt.parameter_count() {
                assert_eq!(
                    stmt.parameter_name(i),
                    Some(format!("${i}").as_str()),
                    "parameter {i} of {sql}"
                );
            }
        }
    }
}
