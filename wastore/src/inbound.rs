//! Sent messages kept for retry receipts, and the pending-inbound buffer
//! behind whatsapp-rust's inbound durability hook (both part of
//! `ProtocolStore`). Rows carry the unix second they were written, which the
//! keepalive sweeps compare against their cutoffs.

use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use wacore::store::error::Result;
use wacore::store::traits::{PendingInboundKey, PendingInboundRow};

use crate::backend::{SeaOrmBackend, count, get, last_wins, now_secs};
use crate::kv::conflict_update;
use crate::schema::{pending_inbound, sent_message};

/// Keys per DELETE of the batched pending-inbound delete: each key is an
/// `(a AND b AND c)` term, so keep statements modest.
const KEYS_PER_DELETE: usize = 200;

const PENDING_COLS: [&str; 5] = [
    pending_inbound::CHAT_JID,
    pending_inbound::SENDER_JID,
    pending_inbound::MESSAGE_ID,
    pending_inbound::MESSAGE,
    pending_inbound::CREATED_AT,
];

impl SeaOrmBackend {
    /// Stores (or replaces, restarting its clock) a sent message's payload.
    pub(crate) async fn sent_store(&self, chat: &str, id: &str, payload: &[u8]) -> Result<()> {
        let k = [
            (sent_message::CHAT_JID, chat.into()),
            (sent_message::MESSAGE_ID, id.into()),
        ];
        let v = [
            (sent_message::PAYLOAD, payload.to_vec().into()),
            (sent_message::CREATED_AT, now_secs().into()),
        ];
        self.put_row("store_sent_message", sent_message::TABLE, &k, &v)
            .await
    }

    /// Atomic take: one `DELETE ... RETURNING`, so two retry receipts racing
    /// for the same message cannot both get it.
    pub(crate) async fn sent_take(&self, chat: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let op = "take_sent_message";
        let q = Query::delete()
            .from_table(sent_message::TABLE)
            .and_where(self.mine())
            .and_where(Expr::col(sent_message::CHAT_JID).eq(chat))
            .and_where(Expr::col(sent_message::MESSAGE_ID).eq(id))
            .returning_col(sent_message::PAYLOAD)
            .to_owned();
        match self.one(op, &q).await? {
            Some(row) => get(&row, op, sent_message::PAYLOAD).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) async fn sent_delete_expired(&self, cutoff: i64) -> Result<u32> {
        let q = Query::delete()
            .from_table(sent_message::TABLE)
            .and_where(self.mine())
            .and_where(Expr::col(sent_message::CREATED_AT).lt(cutoff))
            .to_owned();
        Ok(count(&self.exec("delete_expired_sent_messages", &q).await?))
    }

    /// Buffers decrypted messages; a key stored again is replaced and its
    /// clock restarted, like the in-memory store.
    pub(crate) async fn pending_store(
        &self,
        op: &'static str,
        rows: &[PendingInboundRow<'_>],
    ) -> Result<()> {
        let now = now_secs();
        let rows = last_wins(rows.iter().map(|r| {
            let row = vec![
                r.chat.into(),
                r.sender.into(),
                r.id.into(),
                r.message.to_vec().into(),
                now.into(),
            ];
            ((r.chat, r.sender, r.id), row)
        }));
        let conflict = conflict_update(
            PENDING_COLS[..3].iter().copied(),
            [pending_inbound::MESSAGE, pending_inbound::CREATED_AT],
        );
        self.upsert(op, pending_inbound::TABLE, &PENDING_COLS, conflict, rows)
            .await
    }

    pub(crate) async fn pending_get(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let k = [
            (pending_inbound::CHAT_JID, chat.into()),
            (pending_inbound::SENDER_JID, sender.into()),
            (pending_inbound::MESSAGE_ID, id.into()),
        ];
        self.get_col(
            "get_pending_inbound",
            pending_inbound::TABLE,
            &k,
            pending_inbound::MESSAGE,
        )
        .await
    }

    /// Deletes a batch of keys with one statement per 200 keys, all in one
    /// transaction.
    pub(crate) async fn pending_delete(
        &self,
        op: &'static str,
        keys: &[PendingInboundKey<'_>],
    ) -> Result<()> {
        let stmts: Vec<_> = keys
            .chunks(KEYS_PER_DELETE)
            .map(|chunk| {
                let mut any = Cond::any();
                for k in chunk {
                    any = any.add(
                        Cond::all()
                            .add(Expr::col(pending_inbound::CHAT_JID).eq(k.chat))
                            .add(Expr::col(pending_inbound::SENDER_JID).eq(k.sender))
                            .add(Expr::col(pending_inbound::MESSAGE_ID).eq(k.id)),
                    );
                }
                Query::delete()
                    .from_table(pending_inbound::TABLE)
                    .cond_where(Cond::all().add(self.mine()).add(any))
                    .to_owned()
            })
            .collect();
        self.exec_atomic(op, &stmts).await
    }

    pub(crate) async fn pending_delete_expired(&self, cutoff: i64) -> Result<u32> {
        let q = Query::delete()
            .from_table(pending_inbound::TABLE)
            .and_where(self.mine())
            .and_where(Expr::col(pending_inbound::CREATED_AT).lt(cutoff))
            .to_owned();
        Ok(count(
            &self.exec("delete_expired_pending_inbound", &q).await?,
        ))
    }
}
