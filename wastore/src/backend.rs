//! [`SeaOrmBackend`] itself and the small query helpers the trait modules share:
//! error mapping with context, chunked multi-row upserts in one transaction,
//! and in-batch de-duplication.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, ExecResult, QueryResult, StatementBuilder,
    TransactionTrait, TryGetable, Value,
};
use wacore::store::error::{Result, StoreError};

use crate::schema::{ALL_TABLES, PHONE_ID};

/// Rows per INSERT statement. Keeps the bind count (rows x columns) far below
/// SQLite's 32766 and PostgreSQL's 65535 parameter limits; larger batches
/// become several statements inside one transaction.
const ROWS_PER_STATEMENT: usize = 500;

/// whatsapp-rust's storage `Backend` for one phone over a shared SeaORM
/// connection. Cheap to construct: many phones share one `DatabaseConnection`
/// (a pool), each backend only adds its phone id to every key.
#[derive(Clone)]
pub struct SeaOrmBackend {
    pub(crate) db: DatabaseConnection,
    pub(crate) phone: Arc<str>,
}

impl SeaOrmBackend {
    /// A backend for `phone_id` on `db`; the schema must already be migrated.
    pub fn new(db: DatabaseConnection, phone_id: impl Into<String>) -> Self {
        Self {
            db,
            phone: Arc::from(phone_id.into()),
        }
    }

    /// The phone whose rows this backend reads and writes.
    pub fn phone_id(&self) -> &str {
        &self.phone
    }

    /// `phone_id = <this phone>`: the first condition of every query.
    pub(crate) fn mine(&self) -> SimpleExpr {
        Expr::col(PHONE_ID).eq(self.phone.as_ref())
    }

    pub(crate) fn phone_value(&self) -> Value {
        Value::from(self.phone.as_ref())
    }

    pub(crate) async fn exec<S: StatementBuilder>(
        &self,
        op: &'static str,
        stmt: &S,
    ) -> Result<ExecResult> {
        self.db.execute(stmt).await.map_err(|e| db_err(op, e))
    }

    pub(crate) async fn one<S: StatementBuilder>(
        &self,
        op: &'static str,
        stmt: &S,
    ) -> Result<Option<QueryResult>> {
        self.db.query_one(stmt).await.map_err(|e| db_err(op, e))
    }

    pub(crate) async fn all<S: StatementBuilder>(
        &self,
        op: &'static str,
        stmt: &S,
    ) -> Result<Vec<QueryResult>> {
        self.db.query_all(stmt).await.map_err(|e| db_err(op, e))
    }

    /// Runs statements as one unit: a single statement directly (one round
    /// trip, atomic by itself), several inside one transaction.
    pub(crate) async fn exec_atomic<S: StatementBuilder>(
        &self,
        op: &'static str,
        stmts: &[S],
    ) -> Result<()> {
        match stmts {
            [] => Ok(()),
            [one] => self.exec(op, one).await.map(drop),
            many => {
                let txn = self.db.begin().await.map_err(|e| db_err(op, e))?;
                for stmt in many {
                    txn.execute(stmt).await.map_err(|e| db_err(op, e))?;
                }
                txn.commit().await.map_err(|e| db_err(op, e))
            }
        }
    }

    /// Multi-row upsert of this phone's rows: `cols` excludes `phone_id`, each
    /// row gives one value per column. Chunked into statements of at most
    /// [`ROWS_PER_STATEMENT`] rows, all in one transaction. Rows must have
    /// distinct keys (PostgreSQL refuses to update one row twice per statement).
    pub(crate) async fn upsert(
        &self,
        op: &'static str,
        table: &'static str,
        cols: &[&'static str],
        on_conflict: OnConflict,
        rows: Vec<Vec<Value>>,
    ) -> Result<()> {
        let stmts = self.upsert_statements(op, table, cols, on_conflict, rows)?;
        self.exec_atomic(op, &stmts).await
    }

    pub(crate) fn upsert_statements(
        &self,
        op: &'static str,
        table: &'static str,
        cols: &[&'static str],
        on_conflict: OnConflict,
        rows: Vec<Vec<Value>>,
    ) -> Result<Vec<InsertStatement>> {
        let mut stmts = Vec::with_capacity(rows.len().div_ceil(ROWS_PER_STATEMENT));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut stmt = Query::insert();
            stmt.into_table(table)
                .columns(std::iter::once(PHONE_ID).chain(cols.iter().copied()))
                .on_conflict(on_conflict.clone());
            for row in rows.by_ref().take(ROWS_PER_STATEMENT) {
                let values = std::iter::once(self.phone_value())
                    .chain(row)
                    .map(SimpleExpr::from);
                stmt.values(values).map_err(|e| {
                    StoreError::Validation(format!("wastore {op}: bad row shape: {e}"))
                })?;
            }
            stmts.push(stmt);
        }
        Ok(stmts)
    }
}

/// Deletes every row of `phone_id` in one transaction. whatsapp-rust's logout
/// keeps the keys; the gateway calls this on logout and when a phone is deleted.
pub async fn delete_phone(db: &DatabaseConnection, phone_id: &str) -> Result<()> {
    let op = "delete_phone";
    let txn = db.begin().await.map_err(|e| db_err(op, e))?;
    for &table in ALL_TABLES {
        let stmt = Query::delete()
            .from_table(table)
            .and_where(Expr::col(PHONE_ID).eq(phone_id))
            .to_owned();
        txn.execute(&stmt).await.map_err(|e| db_err(op, e))?;
    }
    txn.commit().await.map_err(|e| db_err(op, e))
}

/// A database failure with the store operation that hit it, kept as the
/// source of wacore's [`StoreError`] so logs say what was being done.
#[derive(Debug, thiserror::Error)]
#[error("wastore {op}: {source}")]
pub struct DbOpError {
    pub op: &'static str,
    #[source]
    pub source: DbErr,
}

/// Maps a SeaORM error: connection trouble to `Connection` (callers may retry
/// later), everything else to `Database`.
pub(crate) fn db_err(op: &'static str, source: DbErr) -> StoreError {
    let conn = matches!(source, DbErr::Conn(_) | DbErr::ConnectionAcquire(_));
    let err = Box::new(DbOpError { op, source });
    if conn {
        StoreError::Connection(err)
    } else {
        StoreError::Database(err)
    }
}

pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Serialization(Box::new(e))
}

/// Reads column `col` of a result row.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, op: &'static str, col: &str) -> Result<T> {
    row.try_get("", col).map_err(|e| db_err(op, e))
}

/// Keeps the last item for each key, in first-seen key order: the result of
/// applying the batch one item at a time, as a set of distinct-key rows.
pub(crate) fn last_wins<K: Hash + Eq, T>(items: impl IntoIterator<Item = (K, T)>) -> Vec<T> {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for (key, item) in items {
        match index.get(&key) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(key, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// `u32` ids are stored as `bigint`.
pub(crate) fn id_value(id: u32) -> Value {
    Value::from(i64::from(id))
}

/// Converts a stored `bigint` id back, refusing values a `u32` cannot hold.
pub(crate) fn id_from(v: i64, op: &'static str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| StoreError::Validation(format!("wastore {op}: id {v} out of range")))
}

/// Unix seconds, the clock wacore's in-memory store uses too.
pub(crate) fn now_secs() -> i64 {
    wacore::time::now_secs()
}

/// Rows affected by a delete, as the `u32` count the traits return.
pub(crate) fn count(res: &ExecResult) -> u32 {
    u32::try_from(res.rows_affected()).unwrap_or(u32::MAX)
}
