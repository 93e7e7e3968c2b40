//! AppSyncStore cases: sync keys and the latest one, collection versions,
//! mutation MACs per collection.

use std::collections::HashMap;

use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::store::traits::AppStateSyncKey;

use crate::harness::Env;

fn key(n: u8) -> AppStateSyncKey {
    AppStateSyncKey {
        key_data: vec![n; 32],
        fingerprint: vec![n, n + 1],
        timestamp: 1_700_000_000 + i64::from(n),
    }
}

fn same_key(a: &AppStateSyncKey, b: &AppStateSyncKey) -> bool {
    a.key_data == b.key_data && a.fingerprint == b.fingerprint && a.timestamp == b.timestamp
}

pub async fn sync_keys(env: &Env) {
    let b = env.backend("ph_a");
    assert!(b.get_sync_key(b"k1").await.unwrap().is_none());
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), None);
    b.set_sync_key(b"k1", key(1)).await.unwrap();
    b.set_sync_key(&[0, 255, 7], key(2)).await.unwrap();
    assert!(same_key(
        &b.get_sync_key(b"k1").await.unwrap().unwrap(),
        &key(1)
    ));
    assert!(same_key(
        &b.get_sync_key(&[0, 255, 7]).await.unwrap().unwrap(),
        &key(2)
    ));
    assert_eq!(
        b.get_latest_sync_key_id().await.unwrap(),
        Some(vec![0, 255, 7])
    );

    // Setting an older key again makes it the latest; its value is replaced.
    b.set_sync_key(b"k1", key(3)).await.unwrap();
    assert_eq!(
        b.get_latest_sync_key_id().await.unwrap(),
        Some(b"k1".to_vec())
    );
    assert!(same_key(
        &b.get_sync_key(b"k1").await.unwrap().unwrap(),
        &key(3)
    ));
}

pub async fn versions(env: &Env) {
    let b = env.backend("ph_a");
    let empty = b.get_version("regular").await.unwrap();
    assert_eq!(empty.version, 0);
    assert_eq!(empty.hash, [0; 128]);
    assert!(empty.index_value_map.is_empty());
    assert!(!empty.mac_mismatch_fatal);

    let mut hash = [0u8; 128];
    hash.iter_mut().enumerate().for_each(|(i, h)| *h = i as u8);
    let state = HashState {
        version: 42,
        hash,
        index_value_map: HashMap::from([("aa".to_string(), vec![1, 2, 3])]),
        mac_mismatch_fatal: true,
    };
    b.set_version("regular", state).await.unwrap();
    let got = b.get_version("regular").await.unwrap();
    assert_eq!(got.version, 42);
    assert_eq!(got.hash, hash);
    assert_eq!(got.index_value_map.get("aa"), Some(&vec![1, 2, 3]));
    assert!(got.mac_mismatch_fatal);
    assert_eq!(b.get_version("critical_block").await.unwrap().version, 0);

    b.set_version(
        "regular",
        HashState {
            version: 43,
            ..HashState::default()
        },
    )
    .await
    .unwrap();
    let got = b.get_version("regular").await.unwrap();
    assert_eq!(
        (got.version, got.hash, got.mac_mismatch_fatal),
        (43, [0; 128], false)
    );
}

fn mac(i: u8, v: u8) -> AppStateMutationMAC {
    AppStateMutationMAC {
        index_mac: vec![i; 32],
        value_mac: vec![v; 32],
    }
}

pub async fn mutation_macs(env: &Env) {
    let b = env.backend("ph_a");
    assert_eq!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap(), None);
    b.put_mutation_macs("regular", 1, &[mac(1, 10), mac(2, 20), mac(1, 11)])
        .await
        .unwrap();
    b.put_mutation_macs("regular_low", 1, &[mac(1, 99)])
        .await
        .unwrap();
    b.put_mutation_macs("regular", 2, &[]).await.unwrap();
    assert_eq!(
        b.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(vec![11; 32])
    );
    assert_eq!(
        b.get_mutation_mac("regular", &[2; 32]).await.unwrap(),
        Some(vec![20; 32])
    );
    assert_eq!(
        b.get_mutation_mac("regular_low", &[1; 32]).await.unwrap(),
        Some(vec![99; 32])
    );

    // Batch get returns hits only.
    let got = b
        .get_mutation_macs("regular", &[[1; 32], [3; 32], [2; 32]])
        .await
        .unwrap();
    let want = HashMap::from([([1u8; 32], vec![11u8; 32]), ([2u8; 32], vec![20u8; 32])]);
    assert_eq!(got, want);
    assert!(
        b.get_mutation_macs("regular", &[])
            .await
            .unwrap()
            .is_empty()
    );

    // Overwrite by a later version.
    b.put_mutation_macs("regular", 3, &[mac(2, 21)])
        .await
        .unwrap();
    assert_eq!(
        b.get_mutation_mac("regular", &[2; 32]).await.unwrap(),
        Some(vec![21; 32])
    );

    b.delete_mutation_macs("regular", &[vec![1; 32], vec![7; 32]])
        .await
        .unwrap();
    b.delete_mutation_macs("regular", &[]).await.unwrap();
    assert_eq!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap(), None);
    assert_eq!(
        b.get_mutation_mac("regular", &[2; 32]).await.unwrap(),
        Some(vec![21; 32])
    );
    assert_eq!(
        b.get_mutation_mac("regular_low", &[1; 32]).await.unwrap(),
        Some(vec![99; 32])
    );

    // Clearing one collection leaves the others.
    b.put_mutation_macs("regular", 4, &[mac(5, 50)])
        .await
        .unwrap();
    b.clear_mutation_macs("regular").await.unwrap();
    assert!(
        b.get_mutation_macs("regular", &[[2; 32], [5; 32]])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.get_mutation_mac("regular_low", &[1; 32]).await.unwrap(),
        Some(vec![99; 32])
    );
}

/// Batch MAC lookups and deletes larger than one IN list (500).
pub async fn mutation_macs_large(env: &Env) {
    let b = env.backend("ph_a");
    let macs: Vec<AppStateMutationMAC> = (0..1100u32)
        .map(|i| {
            let mut index = vec![0u8; 32];
            index[..4].copy_from_slice(&i.to_be_bytes());
            AppStateMutationMAC {
                index_mac: index,
                value_mac: i.to_be_bytes().to_vec(),
            }
        })
        .collect();
    b.put_mutation_macs("regular", 1, &macs).await.unwrap();
    let wanted: Vec<[u8; 32]> = macs
        .iter()
        .map(|m| m.index_mac.clone().try_into().unwrap())
        .collect();
    let got = b.get_mutation_macs("regular", &wanted).await.unwrap();
    assert_eq!(got.len(), 1100);
    assert_eq!(got[&wanted[1099]], 1099u32.to_be_bytes().to_vec());
    let drop: Vec<Vec<u8>> = macs
        .iter()
        .take(1050)
        .map(|m| m.index_mac.clone())
        .collect();
    b.delete_mutation_macs("regular", &drop).await.unwrap();
    assert_eq!(
        b.get_mutation_macs("regular", &wanted).await.unwrap().len(),
        50
    );
}
