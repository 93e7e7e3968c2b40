//! `ProtocolStore`. The trait impl lives here with the small tables (base
//! keys, group metadata); the larger concerns have their own modules:
//! `devices.rs` (device lists, sender-key devices), `lid.rs` (LID <-> PN),
//! `tctoken.rs` (trusted-contact tokens) and `inbound.rs` (sent messages and
//! the pending-inbound buffer of the durability hook).

use async_trait::async_trait;
use wacore::store::error::Result;
use wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use crate::backend::SeaOrmBackend;
use crate::schema::{base_key, device_list, group_metadata, sender_key_device};

#[async_trait]
impl ProtocolStore for SeaOrmBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        self.skd_get(group_jid).await
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        self.skd_set(group_jid, entries).await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let k = [(sender_key_device::GROUP_JID, group_jid.into())];
        self.delete_where("clear_sender_key_devices", sender_key_device::TABLE, &k)
            .await
            .map(drop)
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        self.skd_delete_devices(device_jids).await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.delete_where(
            "clear_all_sender_key_devices",
            sender_key_device::TABLE,
            &[],
        )
        .await
        .map(drop)
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.lid_get(lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        self.pn_get(phone).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.lid_put("put_lid_mapping", std::slice::from_ref(entry))
            .await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        self.lid_put("put_lid_mappings", entries).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        self.lid_all().await
    }

    async fn save_base_key(&self, address: &str, message_id: &str, key: &[u8]) -> Result<()> {
        let k = [
            (base_key::ADDRESS, address.into()),
            (base_key::MESSAGE_ID, message_id.into()),
        ];
        let v = [(base_key::BASE_KEY, key.to_vec().into())];
        self.put_row("save_base_key", base_key::TABLE, &k, &v).await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current: &[u8],
    ) -> Result<bool> {
        let k = [
            (base_key::ADDRESS, address.into()),
            (base_key::MESSAGE_ID, message_id.into()),
        ];
        let saved: Option<Vec<u8>> = self
            .get_col("has_same_base_key", base_key::TABLE, &k, base_key::BASE_KEY)
            .await?;
        Ok(saved.is_some_and(|saved| saved == current))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        let k = [
            (base_key::ADDRESS, address.into()),
            (base_key::MESSAGE_ID, message_id.into()),
        ];
        self.delete_where("delete_base_key", base_key::TABLE, &k)
            .await
            .map(drop)
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        self.device_lists_put(records).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.device_list_get(user).await
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        let k = [(device_list::USER_ID, user.into())];
        self.delete_where("delete_devices", device_list::TABLE, &k)
            .await
            .map(drop)
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        let k = [(group_metadata::GROUP_JID, group_jid.into())];
        self.get_col(
            "get_group_metadata",
            group_metadata::TABLE,
            &k,
            group_metadata::METADATA,
        )
        .await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        let k = [(group_metadata::GROUP_JID, group_jid.into())];
        let v = [(group_metadata::METADATA, blob.to_vec().into())];
        self.put_row("put_group_metadata", group_metadata::TABLE, &k, &v)
            .await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        let k = [(group_metadata::GROUP_JID, group_jid.into())];
        self.delete_where("delete_group_metadata", group_metadata::TABLE, &k)
            .await
            .map(drop)
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.tc_get(jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.tc_put(jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.tc_delete(jid).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        self.tc_all_jids().await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        self.tc_delete_expired(token_cutoff, sender_cutoff).await
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        self.tc_touch_sender(jid, sender_timestamp).await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        self.tc_store_received(jid, token, token_timestamp).await
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        self.sent_store(chat_jid, message_id, payload).await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        self.sent_take(chat_jid, message_id).await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.sent_delete_expired(cutoff_timestamp).await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        let row = PendingInboundRow {
            chat,
            sender,
            id,
            message,
        };
        self.pending_store("store_pending_inbound", &[row]).await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.pending_get(chat, sender, id).await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        let key = PendingInboundKey { chat, sender, id };
        self.pending_delete("delete_pending_inbound", &[key]).await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        self.pending_delete_expired(cutoff_timestamp).await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        self.pending_store("store_pending_inbound_batch", rows)
            .await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        self.pending_delete("delete_pending_inbound_batch", keys)
            .await
    }
}
