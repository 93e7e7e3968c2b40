//! `DeviceStore`: the phone's own device (identity and noise keys, JIDs,
//! counters), one row per phone, stored as wacore's serde JSON so fields added
//! by later wacore versions (all `#[serde(default)]`) still load.

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use wacore::store::Device;
use wacore::store::error::Result;
use wacore::store::traits::DeviceStore;

use crate::backend::{SeaOrmBackend, json_err, now_secs};
use crate::kv::conflict_update;
use crate::schema::{PHONE_ID, device};

/// Each phone has exactly one device row, so its id is a constant.
const DEVICE_ID: i64 = 1;

const COLS: [&str; 3] = [device::DEVICE_ID, device::DATA, device::UPDATED_AT];

impl SeaOrmBackend {
    fn device_row(dev: &Device) -> Result<Vec<sea_orm::Value>> {
        let data = serde_json::to_vec(dev).map_err(json_err)?;
        Ok(vec![DEVICE_ID.into(), data.into(), now_secs().into()])
    }
}

#[async_trait]
impl DeviceStore for SeaOrmBackend {
    async fn save(&self, dev: &Device) -> Result<()> {
        let conflict = conflict_update([], [device::DATA, device::UPDATED_AT]);
        let row = Self::device_row(dev)?;
        self.upsert("save_device", device::TABLE, &COLS, conflict, vec![row])
            .await
    }

    async fn load(&self) -> Result<Option<Device>> {
        let data: Option<Vec<u8>> = self
            .get_col("load_device", device::TABLE, &[], device::DATA)
            .await?;
        data.map(|d| serde_json::from_slice(&d).map_err(json_err))
            .transpose()
    }

    async fn exists(&self) -> Result<bool> {
        self.row_exists("device_exists", device::TABLE, &[]).await
    }

    /// Materialises a fresh device (new keys) unless one exists, like wacore's
    /// in-memory store, so `exists()` is true afterwards and `load()` returns
    /// the keys that will be used; an existing device is never overwritten.
    async fn create(&self) -> Result<i32> {
        let conflict = OnConflict::column(PHONE_ID).do_nothing().to_owned();
        let row = Self::device_row(&Device::new())?;
        self.upsert("create_device", device::TABLE, &COLS, conflict, vec![row])
            .await?;
        Ok(DEVICE_ID as i32)
    }
}
