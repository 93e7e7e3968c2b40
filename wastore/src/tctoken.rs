//! Trusted-contact (privacy) tokens, part of `ProtocolStore`.
//!
//! Two writers touch the same row: the notification path stores received
//! tokens, the send path advances our sender timestamp. Each of them is a
//! single `INSERT ... ON CONFLICT DO UPDATE` whose update only touches its own
//! columns, so they converge without a read-modify-write race.

use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{Value, sea_query::SimpleExpr};
use wacore::store::error::Result;
use wacore::store::traits::TcTokenEntry;

use crate::backend::{SeaOrmBackend, count, get};
use crate::schema::{PHONE_ID, tc_token};

const COLS: [&str; 4] = [
    tc_token::JID,
    tc_token::TOKEN,
    tc_token::TOKEN_TIMESTAMP,
    tc_token::SENDER_TIMESTAMP,
];

/// The stored row's column, inside an upsert's update clause.
fn stored(col: &'static str) -> SimpleExpr {
    Expr::col((tc_token::TABLE, col))
}

/// The would-be-inserted value of a column, inside an upsert's update clause.
fn excluded(col: &'static str) -> SimpleExpr {
    Expr::col(("excluded", col))
}

/// Byte length of a blob column (`length` works on SQLite blobs and bytea).
fn length(col: SimpleExpr) -> SimpleExpr {
    Func::cust("length").arg(col).into()
}

impl SeaOrmBackend {
    pub(crate) async fn tc_get(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let op = "get_tc_token";
        let q = self.select_where(tc_token::TABLE, &[(tc_token::JID, jid.into())], &COLS[1..]);
        let Some(row) = self.one(op, &q).await? else {
            return Ok(None);
        };
        Ok(Some(TcTokenEntry {
            token: get(&row, op, tc_token::TOKEN)?,
            token_timestamp: get(&row, op, tc_token::TOKEN_TIMESTAMP)?,
            sender_timestamp: get(&row, op, tc_token::SENDER_TIMESTAMP)?,
        }))
    }

    pub(crate) async fn tc_put(&self, jid: &str, e: &TcTokenEntry) -> Result<()> {
        let k = [(tc_token::JID, jid.into())];
        let v = [
            (tc_token::TOKEN, e.token.clone().into()),
            (tc_token::TOKEN_TIMESTAMP, e.token_timestamp.into()),
            (tc_token::SENDER_TIMESTAMP, e.sender_timestamp.into()),
        ];
        self.put_row("put_tc_token", tc_token::TABLE, &k, &v).await
    }

    pub(crate) async fn tc_delete(&self, jid: &str) -> Result<()> {
        let k = [(tc_token::JID, jid.into())];
        self.delete_where("delete_tc_token", tc_token::TABLE, &k)
            .await
            .map(drop)
    }

    pub(crate) async fn tc_all_jids(&self) -> Result<Vec<String>> {
        let op = "get_all_tc_token_jids";
        let q = self.select_where(tc_token::TABLE, &[], &[tc_token::JID]);
        self.all(op, &q)
            .await?
            .iter()
            .map(|r| get(r, op, tc_token::JID))
            .collect()
    }

    /// Drops rows whose received token is stale or empty AND whose sender
    /// bucket is stale or absent; a row with either side live stays.
    pub(crate) async fn tc_delete_expired(
        &self,
        token_cutoff: i64,
        sender_cutoff: i64,
    ) -> Result<u32> {
        let token_dead = length(Expr::col(tc_token::TOKEN))
            .eq(0)
            .or(Expr::col(tc_token::TOKEN_TIMESTAMP).lt(token_cutoff));
        let sender_dead = Expr::col(tc_token::SENDER_TIMESTAMP)
            .is_null()
            .or(Expr::col(tc_token::SENDER_TIMESTAMP).lt(sender_cutoff));
        let q = Query::delete()
            .from_table(tc_token::TABLE)
            .and_where(self.mine())
            .and_where(token_dead)
            .and_where(sender_dead)
            .to_owned();
        Ok(count(&self.exec("delete_expired_tc_tokens", &q).await?))
    }

    /// Inserts a byte-less placeholder, or moves the stored sender timestamp
    /// forward (never back); the token columns are left alone.
    pub(crate) async fn tc_touch_sender(&self, jid: &str, sender_timestamp: i64) -> Result<()> {
        let row = vec![
            jid.into(),
            Vec::<u8>::new().into(),
            sender_timestamp.into(),
            Some(sender_timestamp).into(),
        ];
        let s = tc_token::SENDER_TIMESTAMP;
        let advance = stored(s).is_null().or(stored(s).lt(excluded(s)));
        let merged = Expr::case(advance, excluded(s)).finally(stored(s));
        let conflict = OnConflict::columns([PHONE_ID, tc_token::JID])
            .value(s, merged)
            .to_owned();
        self.upsert(
            "touch_tc_token_sender_timestamp",
            tc_token::TABLE,
            &COLS,
            conflict,
            vec![row],
        )
        .await
    }

    /// Newer-wins store of a received token: an existing real token is only
    /// replaced by one at least as new; a placeholder is always replaced. The
    /// sender timestamp is never touched.
    pub(crate) async fn tc_store_received(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let row = vec![
            jid.into(),
            token.to_vec().into(),
            token_timestamp.into(),
            Value::BigInt(None),
        ];
        let newer = length(stored(tc_token::TOKEN))
            .eq(0)
            .or(excluded(tc_token::TOKEN_TIMESTAMP).gte(stored(tc_token::TOKEN_TIMESTAMP)));
        let conflict = OnConflict::columns([PHONE_ID, tc_token::JID])
            .update_columns([tc_token::TOKEN, tc_token::TOKEN_TIMESTAMP])
            .action_and_where(newer)
            .to_owned();
        self.upsert(
            "store_received_tc_token",
            tc_token::TABLE,
            &COLS,
            conflict,
            vec![row],
        )
        .await
    }
}
