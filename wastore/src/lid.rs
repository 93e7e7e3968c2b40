//! LID <-> phone-number mappings, part of `ProtocolStore`.
//!
//! One row per LID; the reverse lookup uses the `(phone_id, phone_number)`
//! index and picks the most recently updated LID, the way whatsapp-rust's own
//! SQL store answers it. A batch is one multi-row upsert.

use sea_orm::sea_query::Order;
use sea_orm::{QueryResult, Value};
use wacore::store::error::Result;
use wacore::store::traits::LidPnMappingEntry;

use crate::backend::{SeaOrmBackend, get, last_wins};
use crate::kv::conflict_update;
use crate::schema::lid_mapping;

const COLS: [&str; 5] = [
    lid_mapping::LID,
    lid_mapping::PHONE_NUMBER,
    lid_mapping::CREATED_AT,
    lid_mapping::UPDATED_AT,
    lid_mapping::LEARNING_SOURCE,
];

fn entry(row: &QueryResult, op: &'static str) -> Result<LidPnMappingEntry> {
    Ok(LidPnMappingEntry {
        lid: get(row, op, lid_mapping::LID)?,
        phone_number: get(row, op, lid_mapping::PHONE_NUMBER)?,
        created_at: get(row, op, lid_mapping::CREATED_AT)?,
        updated_at: get(row, op, lid_mapping::UPDATED_AT)?,
        learning_source: get(row, op, lid_mapping::LEARNING_SOURCE)?,
    })
}

fn row(e: &LidPnMappingEntry) -> Vec<Value> {
    vec![
        e.lid.as_str().into(),
        e.phone_number.as_str().into(),
        e.created_at.into(),
        e.updated_at.into(),
        e.learning_source.as_str().into(),
    ]
}

impl SeaOrmBackend {
    pub(crate) async fn lid_get(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        let op = "get_lid_mapping";
        let q = self.select_where(lid_mapping::TABLE, &[(lid_mapping::LID, lid.into())], &COLS);
        self.one(op, &q).await?.map(|r| entry(&r, op)).transpose()
    }

    /// The most recently updated LID for the number (ties: newest created,
    /// then the greatest LID, so the answer is deterministic).
    pub(crate) async fn pn_get(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let op = "get_pn_mapping";
        let k = [(lid_mapping::PHONE_NUMBER, phone.into())];
        let mut q = self.select_where(lid_mapping::TABLE, &k, &COLS);
        q.order_by(lid_mapping::UPDATED_AT, Order::Desc)
            .order_by(lid_mapping::CREATED_AT, Order::Desc)
            .order_by(lid_mapping::LID, Order::Desc)
            .limit(1);
        self.one(op, &q).await?.map(|r| entry(&r, op)).transpose()
    }

    /// One upsert for the whole batch; a LID seen twice keeps its last entry,
    /// and re-mapping a LID replaces the whole entry, as wacore's store does.
    pub(crate) async fn lid_put(
        &self,
        op: &'static str,
        entries: &[LidPnMappingEntry],
    ) -> Result<()> {
        let rows = last_wins(entries.iter().map(|e| (e.lid.as_str(), row(e))));
        let conflict = conflict_update([lid_mapping::LID], COLS[1..].iter().copied());
        self.upsert(op, lid_mapping::TABLE, &COLS, conflict, rows)
            .await
    }

    pub(crate) async fn lid_all(&self) -> Result<Vec<LidPnMappingEntry>> {
        let op = "get_all_lid_mappings";
        let q = self.select_where(lid_mapping::TABLE, &[], &COLS);
        self.all(op, &q)
            .await?
            .iter()
            .map(|r| entry(r, op))
            .collect()
    }
}
