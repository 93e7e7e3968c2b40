//! Single-row helpers for the many tables that are "this phone's row with
//! these key columns": read one column, test existence, upsert, delete.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{TryGetable, Value};
use wacore::store::error::Result;

use crate::backend::{SeaOrmBackend, count, get};
use crate::schema::PHONE_ID;

/// `(column, value)` pairs naming one row after `phone_id`.
pub(crate) type Key<'a> = &'a [(&'static str, Value)];

/// Largest IN list per statement, for the same bind-limit reason as upserts.
pub(crate) const IN_CHUNK: usize = 500;

impl SeaOrmBackend {
    /// `SELECT <cols> FROM table WHERE phone_id = me AND <key>`.
    pub(crate) fn select_where(
        &self,
        table: &'static str,
        key: Key<'_>,
        cols: &[&'static str],
    ) -> SelectStatement {
        let mut q = Query::select();
        q.from(table)
            .columns(cols.iter().copied())
            .and_where(self.mine());
        for (col, v) in key {
            q.and_where(Expr::col(*col).eq(v.clone()));
        }
        q
    }

    /// One column of one row, `None` when the row is absent.
    pub(crate) async fn get_col<T: TryGetable>(
        &self,
        op: &'static str,
        table: &'static str,
        key: Key<'_>,
        col: &'static str,
    ) -> Result<Option<T>> {
        let q = self.select_where(table, key, &[col]);
        match self.one(op, &q).await? {
            Some(row) => get(&row, op, col).map(Some),
            None => Ok(None),
        }
    }

    /// Whether the row exists, without reading its value.
    pub(crate) async fn row_exists(
        &self,
        op: &'static str,
        table: &'static str,
        key: Key<'_>,
    ) -> Result<bool> {
        let mut q = self.select_where(table, key, &[PHONE_ID]);
        q.limit(1);
        Ok(self.one(op, &q).await?.is_some())
    }

    /// Inserts or replaces one row: `key` names it, `vals` are overwritten.
    pub(crate) async fn put_row(
        &self,
        op: &'static str,
        table: &'static str,
        key: Key<'_>,
        vals: Key<'_>,
    ) -> Result<()> {
        let cols: Vec<&'static str> = key.iter().chain(vals).map(|(c, _)| *c).collect();
        let row: Vec<Value> = key.iter().chain(vals).map(|(_, v)| v.clone()).collect();
        let conflict = conflict_update(key.iter().map(|(c, _)| *c), vals.iter().map(|(c, _)| *c));
        self.upsert(op, table, &cols, conflict, vec![row]).await
    }

    /// Deletes the rows matching `key` (all of this phone's rows of `table`
    /// when `key` is empty); returns how many went.
    pub(crate) async fn delete_where(
        &self,
        op: &'static str,
        table: &'static str,
        key: Key<'_>,
    ) -> Result<u32> {
        let mut q = Query::delete();
        q.from_table(table).and_where(self.mine());
        for (col, v) in key {
            q.and_where(Expr::col(*col).eq(v.clone()));
        }
        Ok(count(&self.exec(op, &q).await?))
    }
}

/// `ON CONFLICT (phone_id, <key>) DO UPDATE SET <vals> = excluded.<vals>`.
pub(crate) fn conflict_update(
    key: impl IntoIterator<Item = &'static str>,
    vals: impl IntoIterator<Item = &'static str>,
) -> OnConflict {
    OnConflict::columns(std::iter::once(PHONE_ID).chain(key))
        .update_columns(vals)
        .to_owned()
}
