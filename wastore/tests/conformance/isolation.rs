//! Two phones in one database: each sees only its own rows under the same
//! keys, and deleting one phone removes all of its rows and none of the other's.

use std::sync::Arc;

use bytes::Bytes;
use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::store::traits::{
    AppStateSyncKey, Backend, DeviceInfo, DeviceListRecord, LidPnMappingEntry, MsgSecretEntry,
    TcTokenEntry,
};

use crate::harness::Env;

/// Writes one row into every table, with values derived from `t`.
async fn fill(b: &Arc<dyn Backend>, t: u8) {
    let v = vec![t; 8];
    b.put_identity("u@lid", [t; 32]).await.unwrap();
    b.put_session("u@lid", &v).await.unwrap();
    b.store_prekey(5, &v, false).await.unwrap();
    b.store_signed_prekey(1, &v).await.unwrap();
    b.put_sender_key("g@g.us:u@lid", &v).await.unwrap();
    let key = AppStateSyncKey {
        key_data: v.clone(),
        fingerprint: v.clone(),
        timestamp: i64::from(t),
    };
    b.set_sync_key(b"kid", key).await.unwrap();
    let state = HashState {
        version: u64::from(t),
        ..HashState::default()
    };
    b.set_version("regular", state).await.unwrap();
    let mac = AppStateMutationMAC {
        index_mac: vec![1; 32],
        value_mac: v.clone(),
    };
    b.put_mutation_macs("regular", 1, &[mac]).await.unwrap();
    b.set_sender_key_status("g@g.us", &[("u:1@lid", t.is_multiple_of(2))])
        .await
        .unwrap();
    let at = i64::from(t);
    let mapping = LidPnMappingEntry {
        lid: "100".into(),
        phone_number: format!("55{t}"),
        created_at: at,
        updated_at: at,
        learning_source: "usync".into(),
    };
    b.put_lid_mapping(&mapping).await.unwrap();
    b.save_base_key("u@lid", "M", &v).await.unwrap();
    let list = DeviceListRecord {
        user: "u".into(),
        devices: vec![DeviceInfo::new(u32::from(t), None)],
        timestamp: at,
        phash: None,
        raw_id: None,
    };
    b.update_device_list(list).await.unwrap();
    b.put_group_metadata("g@g.us", &v).await.unwrap();
    let tc = TcTokenEntry {
        token: v.clone(),
        token_timestamp: at,
        sender_timestamp: None,
    };
    b.put_tc_token("u@lid", &tc).await.unwrap();
    b.store_sent_message("u@lid", "M", &v).await.unwrap();
    b.store_pending_inbound("u@lid", "u@lid", "M", &v)
        .await
        .unwrap();
    let secret = MsgSecretEntry::new(
        &"u@lid".parse().unwrap(),
        &"u@lid".parse().unwrap(),
        "M",
        [t; 32],
        0,
        at,
    );
    b.put_msg_secrets(vec![secret]).await.unwrap();
    let mut dev = wacore::store::Device::new();
    dev.push_name = format!("phone{t}");
    b.save(&dev).await.unwrap();
}

/// Reads every row `fill(b, t)` wrote. Consuming reads (take) come last.
async fn assert_filled(b: &Arc<dyn Backend>, t: u8) {
    let v = vec![t; 8];
    assert_eq!(b.load_identity("u@lid").await.unwrap(), Some([t; 32]));
    assert!(b.has_signal_state_for_user("u").await.unwrap());
    assert_eq!(
        b.get_session("u@lid").await.unwrap(),
        Some(Bytes::from(v.clone()))
    );
    assert_eq!(
        b.load_prekey(5).await.unwrap(),
        Some(Bytes::from(v.clone()))
    );
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 5);
    assert_eq!(
        b.load_all_signed_prekeys().await.unwrap(),
        vec![(1, v.clone())]
    );
    assert_eq!(
        b.get_sender_key("g@g.us:u@lid").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(b.get_sync_key(b"kid").await.unwrap().unwrap().key_data, v);
    assert_eq!(
        b.get_latest_sync_key_id().await.unwrap(),
        Some(b"kid".to_vec())
    );
    assert_eq!(
        b.get_version("regular").await.unwrap().version,
        u64::from(t)
    );
    assert_eq!(
        b.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(v.clone())
    );
    let skd = b.get_sender_key_devices("g@g.us").await.unwrap();
    assert_eq!(skd, vec![("u:1@lid".to_string(), t.is_multiple_of(2))]);
    assert_eq!(
        b.get_lid_mapping("100")
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        format!("55{t}")
    );
    assert_eq!(
        b.get_pn_mapping(&format!("55{t}"))
            .await
            .unwrap()
            .unwrap()
            .lid,
        "100"
    );
    assert_eq!(b.get_all_lid_mappings().await.unwrap().len(), 1);
    assert!(b.has_same_base_key("u@lid", "M", &v).await.unwrap());
    let devices = b.get_devices("u").await.unwrap().unwrap().devices;
    assert_eq!(devices[0].device_id, u32::from(t));
    assert_eq!(
        b.get_group_metadata("g@g.us").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(b.get_tc_token("u@lid").await.unwrap().unwrap().token, v);
    assert_eq!(b.get_all_tc_token_jids().await.unwrap(), ["u@lid"]);
    assert_eq!(
        b.get_pending_inbound("u@lid", "u@lid", "M").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(
        b.get_msg_secret_with_ts("u@lid", "u@lid", "M")
            .await
            .unwrap(),
        Some((vec![t; 32], i64::from(t)))
    );
    assert_eq!(
        b.load().await.unwrap().unwrap().push_name,
        format!("phone{t}")
    );
}

/// Nothing of a phone is left, whichever way it is looked up.
async fn assert_empty(b: &Arc<dyn Backend>) {
    assert_eq!(b.load_identity("u@lid").await.unwrap(), None);
    assert!(!b.has_signal_state_for_user("u").await.unwrap());
    assert!(!b.has_session("u@lid").await.unwrap());
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 0);
    assert!(b.load_all_signed_prekeys().await.unwrap().is_empty());
    assert_eq!(b.get_sender_key("g@g.us:u@lid").await.unwrap(), None);
    assert!(b.get_sync_key(b"kid").await.unwrap().is_none());
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), None);
    assert_eq!(b.get_version("regular").await.unwrap().version, 0);
    assert_eq!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap(), None);
    assert!(b.get_sender_key_devices("g@g.us").await.unwrap().is_empty());
    assert!(b.get_all_lid_mappings().await.unwrap().is_empty());
    assert!(!b.has_same_base_key("u@lid", "M", &[0; 8]).await.unwrap());
    assert!(b.get_devices("u").await.unwrap().is_none());
    assert!(b.get_group_metadata("g@g.us").await.unwrap().is_none());
    assert!(b.get_all_tc_token_jids().await.unwrap().is_empty());
    assert_eq!(b.take_sent_message("u@lid", "M").await.unwrap(), None);
    assert_eq!(
        b.get_pending_inbound("u@lid", "u@lid", "M").await.unwrap(),
        None
    );
    assert_eq!(b.get_msg_secret("u@lid", "u@lid", "M").await.unwrap(), None);
    assert!(!b.exists().await.unwrap());
}

pub async fn phones_are_isolated(env: &Env) {
    let (a, b) = (env.backend("ph_a"), env.backend("ph_b"));
    assert_empty(&a).await;
    fill(&a, 1).await;
    assert_empty(&b).await;
    fill(&b, 2).await;
    assert_filled(&a, 1).await;
    assert_filled(&b, 2).await;
    // Another handle on the same phone sees the same rows.
    assert_filled(&env.backend("ph_a"), 1).await;

    // Sweeps and bulk clears of one phone leave the other alone.
    a.clear_all_sender_key_devices().await.unwrap();
    a.delete_sender_key_device_rows(&["u:1@lid"]).await.unwrap();
    a.clear_mutation_macs("regular").await.unwrap();
    let far = i64::MAX;
    assert_eq!(a.delete_expired_tc_tokens(far, far).await.unwrap(), 1);
    assert_eq!(a.delete_expired_sent_messages(far).await.unwrap(), 1);
    assert_eq!(a.delete_expired_pending_inbound(far).await.unwrap(), 1);
    assert_filled(&b, 2).await;
    assert_eq!(
        b.take_sent_message("u@lid", "M").await.unwrap(),
        Some(vec![2; 8])
    );
}

pub async fn delete_phone_removes_one_phone(env: &Env) {
    fill(&env.backend("ph_a"), 1).await;
    fill(&env.backend("ph_b"), 2).await;
    env.delete_phone("ph_a").await;
    assert_empty(&env.backend("ph_a")).await;
    assert_filled(&env.backend("ph_b"), 2).await;
    assert_eq!(
        env.backend("ph_b")
            .take_sent_message("u@lid", "M")
            .await
            .unwrap(),
        Some(vec![2; 8])
    );
    // The phone can be linked again afterwards.
    fill(&env.backend("ph_a"), 3).await;
    assert_filled(&env.backend("ph_a"), 3).await;
    env.delete_phone("ph_unknown").await;
}
