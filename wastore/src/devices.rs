//! Other users' devices, part of `ProtocolStore`: the device lists learned
//! from usync, and which devices of a group already hold our sender key.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use wacore::store::error::Result;
use wacore::store::traits::DeviceListRecord;

use crate::backend::{SeaOrmBackend, get, json_err, last_wins};
use crate::kv::{IN_CHUNK, conflict_update};
use crate::schema::{device_list, sender_key_device};

const LIST_COLS: [&str; 5] = [
    device_list::USER_ID,
    device_list::DEVICES,
    device_list::LIST_TIMESTAMP,
    device_list::PHASH,
    device_list::RAW_ID,
];

const SKD_COLS: [&str; 3] = [
    sender_key_device::GROUP_JID,
    sender_key_device::DEVICE_JID,
    sender_key_device::HAS_KEY,
];

impl SeaOrmBackend {
    /// One upsert for a whole usync answer; the devices are stored as JSON
    /// (self-describing, so `DeviceInfo` fields added later still load).
    pub(crate) async fn device_lists_put(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let mut rows = Vec::with_capacity(records.len());
        for r in records {
            let devices = serde_json::to_vec(&r.devices).map_err(json_err)?;
            let row = vec![
                r.user.as_str().into(),
                devices.into(),
                r.timestamp.into(),
                r.phash.into(),
                r.raw_id.map(i64::from).into(),
            ];
            rows.push((r.user, row));
        }
        let conflict = conflict_update([device_list::USER_ID], LIST_COLS[1..].iter().copied());
        self.upsert(
            "update_device_lists",
            device_list::TABLE,
            &LIST_COLS,
            conflict,
            last_wins(rows),
        )
        .await
    }

    pub(crate) async fn device_list_get(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        let op = "get_devices";
        let k = [(device_list::USER_ID, user.into())];
        let q = self.select_where(device_list::TABLE, &k, &LIST_COLS);
        let Some(row) = self.one(op, &q).await? else {
            return Ok(None);
        };
        let devices: Vec<u8> = get(&row, op, device_list::DEVICES)?;
        let raw_id: Option<i64> = get(&row, op, device_list::RAW_ID)?;
        Ok(Some(DeviceListRecord {
            user: get(&row, op, device_list::USER_ID)?,
            devices: serde_json::from_slice(&devices).map_err(json_err)?,
            timestamp: get(&row, op, device_list::LIST_TIMESTAMP)?,
            phash: get(&row, op, device_list::PHASH)?,
            raw_id: raw_id.and_then(|id| u32::try_from(id).ok()),
        }))
    }

    pub(crate) async fn skd_get(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let op = "get_sender_key_devices";
        let k = [(sender_key_device::GROUP_JID, group_jid.into())];
        let q = self.select_where(sender_key_device::TABLE, &k, &SKD_COLS[1..]);
        self.all(op, &q)
            .await?
            .iter()
            .map(|r| Ok((get(r, op, SKD_COLS[1])?, get(r, op, SKD_COLS[2])?)))
            .collect()
    }

    /// One upsert; a device named twice keeps its last status.
    pub(crate) async fn skd_set(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let rows = last_wins(entries.iter().map(|&(device, has_key)| {
            (
                device,
                vec![group_jid.into(), device.into(), has_key.into()],
            )
        }));
        let conflict = conflict_update(SKD_COLS[..2].iter().copied(), [sender_key_device::HAS_KEY]);
        self.upsert(
            "set_sender_key_status",
            sender_key_device::TABLE,
            &SKD_COLS,
            conflict,
            rows,
        )
        .await
    }

    /// Deletes the devices' rows in every group (indexed by device).
    pub(crate) async fn skd_delete_devices(&self, device_jids: &[&str]) -> Result<()> {
        let stmts: Vec<_> = device_jids
            .chunks(IN_CHUNK)
            .map(|chunk| {
                let devices = Expr::col(sender_key_device::DEVICE_JID).is_in(chunk.iter().copied());
                Query::delete()
                    .from_table(sender_key_device::TABLE)
                    .and_where(self.mine())
                    .and_where(devices)
                    .to_owned()
            })
            .collect();
        self.exec_atomic("delete_sender_key_device_rows", &stmts)
            .await
    }
}
