//! `AppSyncStore`: app-state sync keys, collection versions and mutation MACs.
//!
//! A collection's `HashState` is stored as JSON (self-describing, so fields
//! wacore adds later still load) next to its version as a plain column. MACs
//! are looked up in sets during a patch, so the batch get is one `IN` query.

use std::collections::HashMap;

use async_trait::async_trait;
use sea_orm::Value;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use crate::backend::{SeaOrmBackend, get, json_err, last_wins};
use crate::kv::{IN_CHUNK, conflict_update};
use crate::schema::{app_state_version, meta, mutation_mac, sync_key};

/// App-state versions are `u64` in wacore and `bigint` here.
fn version_value(version: u64, op: &'static str) -> Result<Value> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| StoreError::Validation(format!("wastore {op}: version {version} too large")))
}

#[async_trait]
impl AppSyncStore for SeaOrmBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let op = "get_sync_key";
        let cols = [
            sync_key::KEY_DATA,
            sync_key::FINGERPRINT,
            sync_key::KEY_TIMESTAMP,
        ];
        let q = self.select_where(
            sync_key::TABLE,
            &[(sync_key::KEY_ID, key_id.to_vec().into())],
            &cols,
        );
        let Some(row) = self.one(op, &q).await? else {
            return Ok(None);
        };
        Ok(Some(AppStateSyncKey {
            key_data: get(&row, op, sync_key::KEY_DATA)?,
            fingerprint: get(&row, op, sync_key::FINGERPRINT)?,
            timestamp: get(&row, op, sync_key::KEY_TIMESTAMP)?,
        }))
    }

    /// Stores the key and records it as the latest one, atomically.
    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let op = "set_sync_key";
        let cols = [
            sync_key::KEY_ID,
            sync_key::KEY_DATA,
            sync_key::FINGERPRINT,
            sync_key::KEY_TIMESTAMP,
        ];
        let row = vec![
            key_id.to_vec().into(),
            key.key_data.into(),
            key.fingerprint.into(),
            key.timestamp.into(),
        ];
        let conflict = conflict_update([sync_key::KEY_ID], cols[1..].iter().copied());
        let mut stmts = self.upsert_statements(op, sync_key::TABLE, &cols, conflict, vec![row])?;
        let latest = vec![meta::LATEST_SYNC_KEY_ID.into(), key_id.to_vec().into()];
        let conflict = conflict_update([meta::META_KEY], [meta::META_VALUE]);
        let meta_cols = [meta::META_KEY, meta::META_VALUE];
        stmts.extend(self.upsert_statements(
            op,
            meta::TABLE,
            &meta_cols,
            conflict,
            vec![latest],
        )?);
        self.exec_atomic(op, &stmts).await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        let k = [(app_state_version::COLLECTION, name.into())];
        let state: Option<Vec<u8>> = self
            .get_col(
                "get_version",
                app_state_version::TABLE,
                &k,
                app_state_version::STATE,
            )
            .await?;
        match state {
            Some(json) => serde_json::from_slice(&json).map_err(json_err),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        let op = "set_version";
        let k = [(app_state_version::COLLECTION, name.into())];
        let v = [
            (
                app_state_version::VERSION,
                version_value(state.version, op)?,
            ),
            (
                app_state_version::STATE,
                serde_json::to_vec(&state).map_err(json_err)?.into(),
            ),
        ];
        self.put_row(op, app_state_version::TABLE, &k, &v).await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let op = "put_mutation_macs";
        let version = version_value(version, op)?;
        let rows = last_wins(mutations.iter().map(|m| {
            let row = vec![
                name.into(),
                m.index_mac.clone().into(),
                m.value_mac.clone().into(),
                version.clone(),
            ];
            (m.index_mac.as_slice(), row)
        }));
        let cols = [
            mutation_mac::COLLECTION,
            mutation_mac::INDEX_MAC,
            mutation_mac::VALUE_MAC,
            mutation_mac::VERSION,
        ];
        let conflict = conflict_update(
            [mutation_mac::COLLECTION, mutation_mac::INDEX_MAC],
            [mutation_mac::VALUE_MAC, mutation_mac::VERSION],
        );
        self.upsert(op, mutation_mac::TABLE, &cols, conflict, rows)
            .await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        let k = [
            (mutation_mac::COLLECTION, name.into()),
            (mutation_mac::INDEX_MAC, index_mac.to_vec().into()),
        ];
        self.get_col(
            "get_mutation_mac",
            mutation_mac::TABLE,
            &k,
            mutation_mac::VALUE_MAC,
        )
        .await
    }

    /// One `IN` query per 500 MACs instead of one round trip per mutation.
    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let op = "get_mutation_macs";
        let mut out = HashMap::with_capacity(index_macs.len());
        let cols = [mutation_mac::INDEX_MAC, mutation_mac::VALUE_MAC];
        for chunk in index_macs.chunks(IN_CHUNK) {
            let mut q = self.select_where(
                mutation_mac::TABLE,
                &[(mutation_mac::COLLECTION, name.into())],
                &cols,
            );
            q.and_where(Expr::col(mutation_mac::INDEX_MAC).is_in(chunk.iter().map(|m| m.to_vec())));
            for row in self.all(op, &q).await? {
                let index: Vec<u8> = get(&row, op, mutation_mac::INDEX_MAC)?;
                // Only 32-byte keys were asked for, so only those can come back.
                if let Ok(index) = <[u8; 32]>::try_from(index.as_slice()) {
                    out.insert(index, get(&row, op, mutation_mac::VALUE_MAC)?);
                }
            }
        }
        Ok(out)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let stmts: Vec<_> = index_macs
            .chunks(IN_CHUNK)
            .map(|chunk| {
                Query::delete()
                    .from_table(mutation_mac::TABLE)
                    .and_where(self.mine())
                    .and_where(Expr::col(mutation_mac::COLLECTION).eq(name))
                    .and_where(Expr::col(mutation_mac::INDEX_MAC).is_in(chunk.iter().cloned()))
                    .to_owned()
            })
            .collect();
        self.exec_atomic("delete_mutation_macs", &stmts).await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        let k = [(mutation_mac::COLLECTION, name.into())];
        self.delete_where("clear_mutation_macs", mutation_mac::TABLE, &k)
            .await
            .map(drop)
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        let k = [(meta::META_KEY, meta::LATEST_SYNC_KEY_ID.into())];
        self.get_col("get_latest_sync_key_id", meta::TABLE, &k, meta::META_VALUE)
            .await
    }
}
