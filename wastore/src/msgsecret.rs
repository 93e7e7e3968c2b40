//! `MsgSecretStore`: per-message secrets for add-on decryption (poll votes,
//! reactions, edits), with a retention deadline and the parent message time.
//!
//! Merging follows wacore's rules in SQL, so a re-persist never shortens a
//! deadline (`0` = never wins, else the later one) nor forgets a known parent
//! time (the larger wins). Duplicates inside one batch are merged in Rust
//! first with the same functions, because PostgreSQL refuses to update one
//! row twice in a statement.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use wacore::store::error::Result;
use wacore::store::traits::{
    MessageSecret, MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry,
    merge_msg_secret_message_ts,
};

use crate::backend::{SeaOrmBackend, count, get};
use crate::schema::{PHONE_ID, msg_secret};

const COLS: [&str; 6] = [
    msg_secret::CHAT_JID,
    msg_secret::SENDER_JID,
    msg_secret::MESSAGE_ID,
    msg_secret::SECRET,
    msg_secret::EXPIRES_AT,
    msg_secret::MESSAGE_TS,
];

fn stored(col: &'static str) -> SimpleExpr {
    Expr::col((msg_secret::TABLE, col))
}

fn excluded(col: &'static str) -> SimpleExpr {
    Expr::col(("excluded", col))
}

/// `CASE WHEN a >= b THEN a ELSE b END`: portable `max` of two columns
/// (SQLite has no GREATEST, PostgreSQL's MAX is an aggregate).
fn larger(a: SimpleExpr, b: SimpleExpr) -> SimpleExpr {
    Expr::case(a.clone().gte(b.clone()), a).finally(b).into()
}

/// The conflict clause mirroring [`merge_msg_secret_expiry`] and
/// [`merge_msg_secret_message_ts`].
fn merge_on_conflict() -> OnConflict {
    let e = msg_secret::EXPIRES_AT;
    let never = stored(e).eq(0).or(excluded(e).eq(0));
    let expires = Expr::case(never, 0i64).finally(larger(stored(e), excluded(e)));
    let ts = msg_secret::MESSAGE_TS;
    OnConflict::columns([
        PHONE_ID,
        msg_secret::CHAT_JID,
        msg_secret::SENDER_JID,
        msg_secret::MESSAGE_ID,
    ])
    .update_column(msg_secret::SECRET)
    .value(e, expires)
    .value(ts, larger(stored(ts), excluded(ts)))
    .to_owned()
}

type Key = (Arc<str>, Arc<str>, Arc<str>);

/// Applies the batch to itself: one row per key, merged as the store would
/// merge them one at a time (secret: last wins).
fn merge_batch(entries: Vec<MsgSecretEntry>) -> Vec<(Key, MessageSecret, i64, i64)> {
    let mut index: HashMap<Key, usize> = HashMap::with_capacity(entries.len());
    let mut out: Vec<(Key, MessageSecret, i64, i64)> = Vec::with_capacity(entries.len());
    for e in entries {
        let key = (e.chat, e.sender, e.msg_id);
        match index.get(&key) {
            Some(&i) => {
                let row = &mut out[i];
                row.1 = e.secret;
                row.2 = merge_msg_secret_expiry(row.2, e.expires_at);
                row.3 = merge_msg_secret_message_ts(row.3, e.message_ts);
            }
            None => {
                index.insert(key.clone(), out.len());
                out.push((key, e.secret, e.expires_at, e.message_ts));
            }
        }
    }
    out
}

#[async_trait]
impl MsgSecretStore for SeaOrmBackend {
    /// Returns the number of entries given, duplicates included, as wacore's
    /// in-memory store does.
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let given = entries.len();
        let rows = merge_batch(entries)
            .into_iter()
            .map(|((chat, sender, id), secret, expires_at, message_ts)| {
                vec![
                    chat.as_ref().into(),
                    sender.as_ref().into(),
                    id.as_ref().into(),
                    secret.to_vec().into(),
                    expires_at.into(),
                    message_ts.into(),
                ]
            })
            .collect();
        self.upsert(
            "put_msg_secrets",
            msg_secret::TABLE,
            &COLS,
            merge_on_conflict(),
            rows,
        )
        .await?;
        Ok(given)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let op = "get_msg_secret";
        let k = [
            (msg_secret::CHAT_JID, chat.into()),
            (msg_secret::SENDER_JID, sender.into()),
            (msg_secret::MESSAGE_ID, msg_id.into()),
        ];
        let q = self.select_where(
            msg_secret::TABLE,
            &k,
            &[msg_secret::SECRET, msg_secret::MESSAGE_TS],
        );
        match self.one(op, &q).await? {
            Some(row) => Ok(Some((
                get(&row, op, msg_secret::SECRET)?,
                get(&row, op, msg_secret::MESSAGE_TS)?,
            ))),
            None => Ok(None),
        }
    }

    /// Deletes rows whose deadline is set (non-zero) and at or before `cutoff`.
    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let q = Query::delete()
            .from_table(msg_secret::TABLE)
            .and_where(self.mine())
            .and_where(Expr::col(msg_secret::EXPIRES_AT).ne(0))
            .and_where(Expr::col(msg_secret::EXPIRES_AT).lte(cutoff_timestamp))
            .to_owned();
        Ok(count(&self.exec("delete_expired_msg_secrets", &q).await?))
    }
}
