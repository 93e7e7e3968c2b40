//! Conformance suite: every case runs against wacore's `InMemoryBackend` (the
//! reference behaviour), `SeaOrmBackend` on SQLite, and `SeaOrmBackend` on
//! PostgreSQL when `WADESK_TEST_POSTGRES_URL` is set (skipped with a message
//! otherwise). Test names are `<case>::{memory,sqlite,postgres}`.

mod appsync;
mod device;
mod harness;
mod isolation;
mod messages;
mod msgsecret;
mod protocol;
mod signal;
mod sql;

harness::conformance! {
    signal::identities,
    signal::sessions,
    signal::signal_state_for_user,
    signal::prekeys,
    signal::signed_prekeys,
    signal::sender_keys,
    signal::large_batches,
    appsync::sync_keys,
    appsync::versions,
    appsync::mutation_macs,
    appsync::mutation_macs_large,
    protocol::sender_key_devices,
    protocol::lid_mappings,
    protocol::base_keys,
    protocol::device_lists,
    protocol::group_metadata,
    messages::tc_tokens,
    messages::tc_token_writers,
    messages::tc_token_expiry,
    messages::sent_messages,
    messages::pending_inbound,
    messages::pending_inbound_large,
    msgsecret::msg_secrets,
    msgsecret::msg_secret_merge,
    msgsecret::msg_secret_batch_duplicates,
    msgsecret::msg_secrets_large,
    device::device_lifecycle,
    isolation::phones_are_isolated,
    isolation::delete_phone_removes_one_phone,
}
