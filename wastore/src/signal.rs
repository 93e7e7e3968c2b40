//! `SignalStore`: identities, sessions, pre-keys, signed pre-keys, sender keys.
//!
//! whatsapp-rust keeps Signal state in memory and flushes it through the
//! `*_batch` methods, so those are the hot path: each is one multi-row upsert
//! (several only past 500 rows, then in one transaction), never a loop of
//! single-row round trips.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sea_orm::Value;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::SignalStore;

use crate::backend::{SeaOrmBackend, get, id_from, id_value, last_wins};
use crate::kv::{IN_CHUNK, conflict_update};
use crate::schema::{identity, prekey, sender_key, session, signed_prekey};

impl SeaOrmBackend {
    /// Batch upsert of `(address, blob)` rows into one of the address tables.
    async fn put_address_blobs(
        &self,
        op: &'static str,
        table: &'static str,
        (addr_col, blob_col): (&'static str, &'static str),
        items: impl IntoIterator<Item = (&Arc<str>, Vec<u8>)>,
    ) -> Result<()> {
        let rows = last_wins(items.into_iter().map(|(addr, blob)| {
            (
                addr.clone(),
                vec![Value::from(addr.as_ref()), Value::from(blob)],
            )
        }));
        let conflict = conflict_update([addr_col], [blob_col]);
        self.upsert(op, table, &[addr_col, blob_col], conflict, rows)
            .await
    }

    /// Whether `table` has an address of `user` on any device: `user@server`
    /// or `user:device@server`, compared exactly (no LIKE case folding).
    async fn has_user_address(
        &self,
        op: &'static str,
        table: &'static str,
        col: &'static str,
        user: &str,
    ) -> Result<bool> {
        // i32: PostgreSQL only has substr(text, int, int).
        let len = i32::try_from(user.chars().count() + 1).unwrap_or(i32::MAX);
        let prefix = Func::cust("substr").arg(Expr::col(col)).arg(1).arg(len);
        let mut q = Query::select();
        q.from(table)
            .column(col)
            .and_where(self.mine())
            .and_where(Expr::expr(prefix).is_in([format!("{user}@"), format!("{user}:")]))
            .limit(1);
        Ok(self.one(op, &q).await?.is_some())
    }
}

#[async_trait]
impl SignalStore for SeaOrmBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        let k = [(identity::ADDRESS, address.into())];
        let v = [(identity::IDENTITY_KEY, key.to_vec().into())];
        self.put_row("put_identity", identity::TABLE, &k, &v).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let cols = (identity::ADDRESS, identity::IDENTITY_KEY);
        let items = identities.iter().map(|(a, k)| (a, k.to_vec()));
        self.put_address_blobs("put_identities_batch", identity::TABLE, cols, items)
            .await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        let k = [(identity::ADDRESS, address.into())];
        let key: Option<Vec<u8>> = self
            .get_col("load_identity", identity::TABLE, &k, identity::IDENTITY_KEY)
            .await?;
        key.map(|key| {
            <[u8; 32]>::try_from(key.as_slice()).map_err(|_| {
                StoreError::Validation(format!("Invalid identity key length: {}", key.len()))
            })
        })
        .transpose()
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        let k = [(identity::ADDRESS, address.into())];
        self.delete_where("delete_identity", identity::TABLE, &k)
            .await
            .map(drop)
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        let k = [(session::ADDRESS, address.into())];
        let rec: Option<Vec<u8>> = self
            .get_col("get_session", session::TABLE, &k, session::RECORD)
            .await?;
        Ok(rec.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, record: &[u8]) -> Result<()> {
        let k = [(session::ADDRESS, address.into())];
        let v = [(session::RECORD, record.to_vec().into())];
        self.put_row("put_session", session::TABLE, &k, &v).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let cols = (session::ADDRESS, session::RECORD);
        let items = sessions.iter().map(|(a, s)| (a, s.to_vec()));
        self.put_address_blobs("put_sessions_batch", session::TABLE, cols, items)
            .await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        let k = [(session::ADDRESS, address.into())];
        self.delete_where("delete_session", session::TABLE, &k)
            .await
            .map(drop)
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        let k = [(session::ADDRESS, address.into())];
        self.row_exists("has_session", session::TABLE, &k).await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let op = "has_signal_state_for_user";
        Ok(self
            .has_user_address(op, session::TABLE, session::ADDRESS, user)
            .await?
            || self
                .has_user_address(op, identity::TABLE, identity::ADDRESS, user)
                .await?)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        let k = [(prekey::PREKEY_ID, id_value(id))];
        let v = [
            (prekey::RECORD, record.to_vec().into()),
            (prekey::UPLOADED, uploaded.into()),
        ];
        self.put_row("store_prekey", prekey::TABLE, &k, &v).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows = last_wins(keys.iter().map(|(id, rec)| {
            let row = vec![id_value(*id), rec.to_vec().into(), uploaded.into()];
            (*id, row)
        }));
        let conflict = conflict_update([prekey::PREKEY_ID], [prekey::RECORD, prekey::UPLOADED]);
        let cols = [prekey::PREKEY_ID, prekey::RECORD, prekey::UPLOADED];
        self.upsert("store_prekeys_batch", prekey::TABLE, &cols, conflict, rows)
            .await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        let k = [(prekey::PREKEY_ID, id_value(id))];
        let rec: Option<Vec<u8>> = self
            .get_col("load_prekey", prekey::TABLE, &k, prekey::RECORD)
            .await?;
        Ok(rec.map(Bytes::from))
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let op = "load_prekeys_batch";
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let mut q = self.select_where(prekey::TABLE, &[], &[prekey::PREKEY_ID, prekey::RECORD]);
            q.and_where(Expr::col(prekey::PREKEY_ID).is_in(chunk.iter().map(|&i| i64::from(i))));
            for row in self.all(op, &q).await? {
                let id = id_from(get(&row, op, prekey::PREKEY_ID)?, op)?;
                let rec: Vec<u8> = get(&row, op, prekey::RECORD)?;
                found.insert(id, Bytes::from(rec));
            }
        }
        // The caller's order, like the in-memory store.
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).map(|rec| (*id, rec.clone())))
            .collect())
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        // UPDATE, never upsert: a key consumed since the upload stays deleted.
        let stmts: Vec<_> = ids
            .chunks(IN_CHUNK)
            .map(|chunk| {
                Query::update()
                    .table(prekey::TABLE)
                    .value(prekey::UPLOADED, true)
                    .and_where(self.mine())
                    .and_where(
                        Expr::col(prekey::PREKEY_ID).is_in(chunk.iter().map(|&i| i64::from(i))),
                    )
                    .to_owned()
            })
            .collect();
        self.exec_atomic("mark_prekeys_uploaded", &stmts).await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        let k = [(prekey::PREKEY_ID, id_value(id))];
        self.delete_where("remove_prekey", prekey::TABLE, &k)
            .await
            .map(drop)
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let op = "get_max_prekey_id";
        let mut q = Query::select();
        q.from(prekey::TABLE)
            .expr_as(Func::max(Expr::col(prekey::PREKEY_ID)), "max_id")
            .and_where(self.mine());
        let max: Option<i64> = match self.one(op, &q).await? {
            Some(row) => get(&row, op, "max_id")?,
            None => None,
        };
        max.map_or(Ok(0), |m| id_from(m, op))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        let k = [(signed_prekey::PREKEY_ID, id_value(id))];
        let v = [(signed_prekey::RECORD, record.to_vec().into())];
        self.put_row("store_signed_prekey", signed_prekey::TABLE, &k, &v)
            .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        let k = [(signed_prekey::PREKEY_ID, id_value(id))];
        self.get_col(
            "load_signed_prekey",
            signed_prekey::TABLE,
            &k,
            signed_prekey::RECORD,
        )
        .await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let op = "load_all_signed_prekeys";
        let cols = [signed_prekey::PREKEY_ID, signed_prekey::RECORD];
        let mut q = self.select_where(signed_prekey::TABLE, &[], &cols);
        q.order_by(signed_prekey::PREKEY_ID, sea_orm::Order::Asc);
        self.all(op, &q)
            .await?
            .iter()
            .map(|row| {
                let id = id_from(get(row, op, signed_prekey::PREKEY_ID)?, op)?;
                Ok((id, get(row, op, signed_prekey::RECORD)?))
            })
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        let k = [(signed_prekey::PREKEY_ID, id_value(id))];
        self.delete_where("remove_signed_prekey", signed_prekey::TABLE, &k)
            .await
            .map(drop)
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        let k = [(sender_key::ADDRESS, address.into())];
        let v = [(sender_key::RECORD, record.to_vec().into())];
        self.put_row("put_sender_key", sender_key::TABLE, &k, &v)
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let cols = (sender_key::ADDRESS, sender_key::RECORD);
        let items = sender_keys.iter().map(|(a, r)| (a, r.to_vec()));
        self.put_address_blobs("put_sender_keys_batch", sender_key::TABLE, cols, items)
            .await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        let k = [(sender_key::ADDRESS, address.into())];
        self.get_col("get_sender_key", sender_key::TABLE, &k, sender_key::RECORD)
            .await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        let k = [(sender_key::ADDRESS, address.into())];
        self.delete_where("delete_sender_key", sender_key::TABLE, &k)
            .await
            .map(drop)
    }
}
