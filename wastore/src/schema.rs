//! Table and column names, shared by the migration and the queries.
//!
//! Every table starts with [`PHONE_ID`] so one database holds the keys of many
//! phones and [`crate::delete_phone`] can wipe one of them with a single
//! `DELETE ... WHERE phone_id = ?` per table. Names are plain `&'static str`
//! identifiers (sea-query quotes them), chosen to avoid SQL keywords so the few
//! hand-written expressions in the upserts need no quoting rules of their own.

/// First key column of every table: the gateway's phone id (`ph_...`).
pub const PHONE_ID: &str = "phone_id";

/// Every table of this crate, in the order [`crate::delete_phone`] empties them.
pub const ALL_TABLES: &[&str] = &[
    identity::TABLE,
    session::TABLE,
    prekey::TABLE,
    signed_prekey::TABLE,
    sender_key::TABLE,
    sync_key::TABLE,
    app_state_version::TABLE,
    mutation_mac::TABLE,
    sender_key_device::TABLE,
    lid_mapping::TABLE,
    base_key::TABLE,
    device_list::TABLE,
    group_metadata::TABLE,
    tc_token::TABLE,
    sent_message::TABLE,
    pending_inbound::TABLE,
    msg_secret::TABLE,
    device::TABLE,
    meta::TABLE,
];

/// Remote identity keys: `(phone, address) -> 32-byte key`.
pub mod identity {
    pub const TABLE: &str = "wastore_identity";
    pub const ADDRESS: &str = "address";
    pub const IDENTITY_KEY: &str = "identity_key";
}

/// Signal sessions: `(phone, address) -> record`.
pub mod session {
    pub const TABLE: &str = "wastore_session";
    pub const ADDRESS: &str = "address";
    pub const RECORD: &str = "record";
}

/// One-time pre-keys with the flag saying whether the server has them.
pub mod prekey {
    pub const TABLE: &str = "wastore_prekey";
    pub const PREKEY_ID: &str = "prekey_id";
    pub const RECORD: &str = "record";
    pub const UPLOADED: &str = "uploaded";
}

/// Signed pre-keys: `(phone, id) -> record`.
pub mod signed_prekey {
    pub const TABLE: &str = "wastore_signed_prekey";
    pub const PREKEY_ID: &str = "prekey_id";
    pub const RECORD: &str = "record";
}

/// Group sender keys: `(phone, address) -> record`.
pub mod sender_key {
    pub const TABLE: &str = "wastore_sender_key";
    pub const ADDRESS: &str = "address";
    pub const RECORD: &str = "record";
}

/// App-state sync keys, keyed by their binary key id.
pub mod sync_key {
    pub const TABLE: &str = "wastore_sync_key";
    pub const KEY_ID: &str = "key_id";
    pub const KEY_DATA: &str = "key_data";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const KEY_TIMESTAMP: &str = "key_timestamp";
}

/// App-state collection versions; `state` is the JSON of `HashState`.
pub mod app_state_version {
    pub const TABLE: &str = "wastore_app_state_version";
    pub const COLLECTION: &str = "collection";
    pub const VERSION: &str = "version";
    pub const STATE: &str = "state";
}

/// App-state mutation MACs per collection, keyed by index MAC.
pub mod mutation_mac {
    pub const TABLE: &str = "wastore_mutation_mac";
    pub const COLLECTION: &str = "collection";
    pub const INDEX_MAC: &str = "index_mac";
    pub const VALUE_MAC: &str = "value_mac";
    pub const VERSION: &str = "version";
}

/// Which devices of a group already hold our sender key.
pub mod sender_key_device {
    pub const TABLE: &str = "wastore_sender_key_device";
    pub const GROUP_JID: &str = "group_jid";
    pub const DEVICE_JID: &str = "device_jid";
    pub const HAS_KEY: &str = "has_key";
}

/// LID <-> phone-number mappings; indexed both ways.
pub mod lid_mapping {
    pub const TABLE: &str = "wastore_lid_mapping";
    pub const LID: &str = "lid";
    pub const PHONE_NUMBER: &str = "phone_number";
    pub const CREATED_AT: &str = "created_at";
    pub const UPDATED_AT: &str = "updated_at";
    pub const LEARNING_SOURCE: &str = "learning_source";
}

/// Base keys saved for retry collision detection.
pub mod base_key {
    pub const TABLE: &str = "wastore_base_key";
    pub const ADDRESS: &str = "address";
    pub const MESSAGE_ID: &str = "message_id";
    pub const BASE_KEY: &str = "base_key";
}

/// Device lists from usync; `devices` is the JSON of `Vec<DeviceInfo>`.
pub mod device_list {
    pub const TABLE: &str = "wastore_device_list";
    pub const USER_ID: &str = "user_id";
    pub const DEVICES: &str = "devices";
    pub const LIST_TIMESTAMP: &str = "list_timestamp";
    pub const PHASH: &str = "phash";
    pub const RAW_ID: &str = "raw_id";
}

/// Opaque serialized group metadata.
pub mod group_metadata {
    pub const TABLE: &str = "wastore_group_metadata";
    pub const GROUP_JID: &str = "group_jid";
    pub const METADATA: &str = "metadata";
}

/// Trusted-contact tokens with both timestamps, for the expiry sweep.
pub mod tc_token {
    pub const TABLE: &str = "wastore_tc_token";
    pub const JID: &str = "jid";
    pub const TOKEN: &str = "token";
    pub const TOKEN_TIMESTAMP: &str = "token_timestamp";
    pub const SENDER_TIMESTAMP: &str = "sender_timestamp";
}

/// Sent messages kept for retry receipts.
pub mod sent_message {
    pub const TABLE: &str = "wastore_sent_message";
    pub const CHAT_JID: &str = "chat_jid";
    pub const MESSAGE_ID: &str = "message_id";
    pub const PAYLOAD: &str = "payload";
    pub const CREATED_AT: &str = "created_at";
}

/// Decrypted inbound messages awaiting the durability hook's commit.
pub mod pending_inbound {
    pub const TABLE: &str = "wastore_pending_inbound";
    pub const CHAT_JID: &str = "chat_jid";
    pub const SENDER_JID: &str = "sender_jid";
    pub const MESSAGE_ID: &str = "message_id";
    pub const MESSAGE: &str = "message";
    pub const CREATED_AT: &str = "created_at";
}

/// Message secrets for add-on decryption (polls, reactions, edits).
pub mod msg_secret {
    pub const TABLE: &str = "wastore_msg_secret";
    pub const CHAT_JID: &str = "chat_jid";
    pub const SENDER_JID: &str = "sender_jid";
    pub const MESSAGE_ID: &str = "message_id";
    pub const SECRET: &str = "secret";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const MESSAGE_TS: &str = "message_ts";
}

/// The phone's own device (keys, JIDs, counters) as JSON: one row per phone.
pub mod device {
    pub const TABLE: &str = "wastore_device";
    pub const DEVICE_ID: &str = "device_id";
    pub const DATA: &str = "data";
    pub const UPDATED_AT: &str = "updated_at";
}

/// Small per-phone values that have no table of their own.
pub mod meta {
    pub const TABLE: &str = "wastore_meta";
    pub const META_KEY: &str = "meta_key";
    pub const META_VALUE: &str = "meta_value";
    /// Key id of the app-state sync key set last.
    pub const LATEST_SYNC_KEY_ID: &str = "latest_sync_key_id";
}
