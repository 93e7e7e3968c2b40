//! ProtocolStore cases, part one: sender-key devices, LID <-> PN mappings,
//! base keys, device lists, group metadata.

use wacore::store::traits::{DeviceInfo, DeviceListRecord, LidPnMappingEntry};

use crate::harness::Env;

fn sorted(mut v: Vec<(String, bool)>) -> Vec<(String, bool)> {
    v.sort();
    v
}

fn owned(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(d, k)| (d.to_string(), *k)).collect()
}

pub async fn sender_key_devices(env: &Env) {
    let b = env.backend("ph_a");
    let (g1, g2) = ("1@g.us", "2@g.us");
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    b.set_sender_key_status(
        g1,
        &[("a:1@lid", true), ("b:0@lid", false), ("a:1@lid", false)],
    )
    .await
    .unwrap();
    b.set_sender_key_status(g1, &[("b:0@lid", true)])
        .await
        .unwrap();
    b.set_sender_key_status(g2, &[("a:1@lid", true), ("c:3@lid", true)])
        .await
        .unwrap();
    b.set_sender_key_status(g2, &[]).await.unwrap();
    let g1_devices = sorted(b.get_sender_key_devices(g1).await.unwrap());
    assert_eq!(g1_devices, owned(&[("a:1@lid", false), ("b:0@lid", true)]));

    // Per-device deletion spans groups.
    b.delete_sender_key_device_rows(&["a:1@lid", "zzz@lid"])
        .await
        .unwrap();
    b.delete_sender_key_device_rows(&[]).await.unwrap();
    assert_eq!(
        b.get_sender_key_devices(g1).await.unwrap(),
        owned(&[("b:0@lid", true)])
    );
    assert_eq!(
        b.get_sender_key_devices(g2).await.unwrap(),
        owned(&[("c:3@lid", true)])
    );

    b.clear_sender_key_devices(g1).await.unwrap();
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    assert_eq!(b.get_sender_key_devices(g2).await.unwrap().len(), 1);
    b.set_sender_key_status(g1, &[("d@lid", true)])
        .await
        .unwrap();
    b.clear_all_sender_key_devices().await.unwrap();
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    assert!(b.get_sender_key_devices(g2).await.unwrap().is_empty());
}

fn mapping(lid: &str, pn: &str, at: i64) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.into(),
        phone_number: pn.into(),
        created_at: at - 5,
        updated_at: at,
        learning_source: format!("src{at}"),
    }
}

fn same(a: &LidPnMappingEntry, b: &LidPnMappingEntry) -> bool {
    (
        &a.lid,
        &a.phone_number,
        a.created_at,
        a.updated_at,
        &a.learning_source,
    ) == (
        &b.lid,
        &b.phone_number,
        b.created_at,
        b.updated_at,
        &b.learning_source,
    )
}

pub async fn lid_mappings(env: &Env) {
    let b = env.backend("ph_a");
    assert!(b.get_lid_mapping("100").await.unwrap().is_none());
    assert!(b.get_pn_mapping("5511").await.unwrap().is_none());
    assert!(b.get_all_lid_mappings().await.unwrap().is_empty());

    b.put_lid_mapping(&mapping("100", "5511", 10))
        .await
        .unwrap();
    assert!(same(
        &b.get_lid_mapping("100").await.unwrap().unwrap(),
        &mapping("100", "5511", 10)
    ));
    assert!(same(
        &b.get_pn_mapping("5511").await.unwrap().unwrap(),
        &mapping("100", "5511", 10)
    ));

    // A newer LID for the same number wins the reverse lookup.
    b.put_lid_mapping(&mapping("200", "5511", 20))
        .await
        .unwrap();
    assert_eq!(b.get_pn_mapping("5511").await.unwrap().unwrap().lid, "200");
    assert_eq!(
        b.get_lid_mapping("100")
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        "5511"
    );

    // Re-mapping a LID to another number moves its reverse entry.
    b.put_lid_mapping(&mapping("300", "5522", 30))
        .await
        .unwrap();
    b.put_lid_mapping(&mapping("300", "5533", 40))
        .await
        .unwrap();
    assert!(b.get_pn_mapping("5522").await.unwrap().is_none());
    assert!(same(
        &b.get_pn_mapping("5533").await.unwrap().unwrap(),
        &mapping("300", "5533", 40)
    ));

    // Batch: one transaction, last entry per LID wins.
    let batch = [
        mapping("400", "5544", 50),
        mapping("500", "5555", 51),
        mapping("400", "5566", 52),
    ];
    b.put_lid_mappings(&batch).await.unwrap();
    b.put_lid_mappings(&[]).await.unwrap();
    assert!(same(
        &b.get_lid_mapping("400").await.unwrap().unwrap(),
        &batch[2]
    ));
    assert!(b.get_pn_mapping("5544").await.unwrap().is_none());
    assert_eq!(b.get_pn_mapping("5566").await.unwrap().unwrap().lid, "400");

    let mut all: Vec<(String, String)> = b
        .get_all_lid_mappings()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.lid, e.phone_number))
        .collect();
    all.sort();
    let want = [
        ("100", "5511"),
        ("200", "5511"),
        ("300", "5533"),
        ("400", "5566"),
        ("500", "5555"),
    ];
    assert_eq!(all, want.map(|(l, p)| (l.to_string(), p.to_string())));
}

pub async fn base_keys(env: &Env) {
    let b = env.backend("ph_a");
    let (addr, msg) = ("111:2@s.whatsapp.net", "3EB0AA");
    assert!(!b.has_same_base_key(addr, msg, b"k").await.unwrap());
    b.save_base_key(addr, msg, b"k").await.unwrap();
    assert!(b.has_same_base_key(addr, msg, b"k").await.unwrap());
    assert!(!b.has_same_base_key(addr, msg, b"other").await.unwrap());
    assert!(!b.has_same_base_key(addr, "3EB0BB", b"k").await.unwrap());
    b.save_base_key(addr, msg, b"k2").await.unwrap();
    assert!(b.has_same_base_key(addr, msg, b"k2").await.unwrap());
    b.delete_base_key(addr, msg).await.unwrap();
    assert!(!b.has_same_base_key(addr, msg, b"k2").await.unwrap());
}

fn record(user: &str, n: u32, ts: i64) -> DeviceListRecord {
    DeviceListRecord {
        user: user.into(),
        devices: (0..n)
            .map(|d| DeviceInfo::new(d, (d > 0).then_some(d * 10)).with_hosting(d == 2))
            .collect(),
        timestamp: ts,
        phash: (n % 2 == 1).then(|| format!("2:{user}")),
        raw_id: (n > 1).then_some(u32::MAX - n),
    }
}

fn same_record(a: &DeviceListRecord, b: &DeviceListRecord) -> bool {
    let devs = |r: &DeviceListRecord| -> Vec<(u32, Option<u32>, bool)> {
        r.devices
            .iter()
            .map(|d| (d.device_id, d.key_index, d.is_hosted))
            .collect()
    };
    (&a.user, devs(a), a.timestamp, &a.phash, a.raw_id)
        == (&b.user, devs(b), b.timestamp, &b.phash, b.raw_id)
}

pub async fn device_lists(env: &Env) {
    let b = env.backend("ph_a");
    assert!(b.get_devices("111").await.unwrap().is_none());
    b.update_device_list(record("111", 3, 100)).await.unwrap();
    assert!(same_record(
        &b.get_devices("111").await.unwrap().unwrap(),
        &record("111", 3, 100)
    ));
    b.update_device_list(record("111", 0, 101)).await.unwrap();
    assert!(same_record(
        &b.get_devices("111").await.unwrap().unwrap(),
        &record("111", 0, 101)
    ));

    let batch = vec![
        record("222", 2, 200),
        record("333", 1, 300),
        record("222", 4, 201),
    ];
    b.update_device_lists(batch).await.unwrap();
    b.update_device_lists(vec![]).await.unwrap();
    assert!(same_record(
        &b.get_devices("222").await.unwrap().unwrap(),
        &record("222", 4, 201)
    ));
    assert!(same_record(
        &b.get_devices("333").await.unwrap().unwrap(),
        &record("333", 1, 300)
    ));

    b.delete_devices("222").await.unwrap();
    assert!(b.get_devices("222").await.unwrap().is_none());
    assert!(b.get_devices("333").await.unwrap().is_some());
}

pub async fn group_metadata(env: &Env) {
    let b = env.backend("ph_a");
    let g = "120363000000000001@g.us";
    assert!(b.get_group_metadata(g).await.unwrap().is_none());
    b.put_group_metadata(g, b"blob-v1").await.unwrap();
    assert_eq!(
        b.get_group_metadata(g).await.unwrap(),
        Some(b"blob-v1".to_vec())
    );
    b.put_group_metadata(g, b"blob-v2").await.unwrap();
    assert_eq!(
        b.get_group_metadata(g).await.unwrap(),
        Some(b"blob-v2".to_vec())
    );
    b.delete_group_metadata(g).await.unwrap();
    assert!(b.get_group_metadata(g).await.unwrap().is_none());
}
