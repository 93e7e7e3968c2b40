//! SignalStore cases: identities, sessions, pre-keys, signed pre-keys and
//! sender keys, single and batched.

use std::sync::Arc;

use bytes::Bytes;

use crate::harness::Env;

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

pub async fn identities(env: &Env) {
    let b = env.backend("ph_a");
    let addr = "15550001:3@s.whatsapp.net";
    assert_eq!(b.load_identity(addr).await.unwrap(), None);
    b.put_identity(addr, [1; 32]).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), Some([1; 32]));
    b.put_identity(addr, [2; 32]).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), Some([2; 32]));

    // A batch with a repeated address keeps its last key.
    let batch = [
        (arc(addr), [3; 32]),
        (arc("x@lid"), [4; 32]),
        (arc(addr), [5; 32]),
    ];
    b.put_identities_batch(&batch).await.unwrap();
    b.put_identities_batch(&[]).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), Some([5; 32]));
    assert_eq!(b.load_identity("x@lid").await.unwrap(), Some([4; 32]));

    b.delete_identity(addr).await.unwrap();
    b.delete_identity("never@lid").await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), None);
    assert_eq!(b.load_identity("x@lid").await.unwrap(), Some([4; 32]));
}

pub async fn sessions(env: &Env) {
    let b = env.backend("ph_a");
    let a = "111:2@s.whatsapp.net";
    assert_eq!(b.get_session(a).await.unwrap(), None);
    assert!(!b.has_session(a).await.unwrap());
    b.put_session(a, b"one").await.unwrap();
    assert!(b.has_session(a).await.unwrap());
    assert_eq!(
        b.get_session(a).await.unwrap(),
        Some(Bytes::from_static(b"one"))
    );
    b.put_session(a, b"").await.unwrap();
    assert_eq!(b.get_session(a).await.unwrap(), Some(Bytes::new()));

    let batch = [
        (arc(a), Bytes::from_static(b"first")),
        (arc("222@lid"), Bytes::from_static(b"second")),
        (arc(a), Bytes::from_static(b"updated")),
    ];
    b.put_sessions_batch(&batch).await.unwrap();
    b.put_sessions_batch(&[]).await.unwrap();
    assert_eq!(
        b.get_session(a).await.unwrap(),
        Some(Bytes::from_static(b"updated"))
    );
    assert_eq!(
        b.get_session("222@lid").await.unwrap(),
        Some(Bytes::from_static(b"second"))
    );

    b.delete_session(a).await.unwrap();
    assert!(!b.has_session(a).await.unwrap());
    assert!(b.has_session("222@lid").await.unwrap());
}

pub async fn signal_state_for_user(env: &Env) {
    let b = env.backend("ph_a");
    assert!(!b.has_signal_state_for_user("111").await.unwrap());
    b.put_session("111:2@s.whatsapp.net", b"s").await.unwrap();
    b.put_identity("333@lid", [9; 32]).await.unwrap();
    assert!(b.has_signal_state_for_user("111").await.unwrap());
    assert!(b.has_signal_state_for_user("333").await.unwrap());
    // Prefixes and extensions of a user are other users.
    assert!(!b.has_signal_state_for_user("11").await.unwrap());
    assert!(!b.has_signal_state_for_user("1112").await.unwrap());
    assert!(!b.has_signal_state_for_user("33").await.unwrap());
    // LIKE wildcards in the user are literal characters.
    assert!(!b.has_signal_state_for_user("1_1").await.unwrap());
    assert!(!b.has_signal_state_for_user("%").await.unwrap());
    b.delete_session("111:2@s.whatsapp.net").await.unwrap();
    assert!(!b.has_signal_state_for_user("111").await.unwrap());
}

pub async fn prekeys(env: &Env) {
    let b = env.backend("ph_a");
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 0);
    assert_eq!(b.load_prekey(1).await.unwrap(), None);
    b.store_prekey(7, b"seven", false).await.unwrap();
    assert_eq!(
        b.load_prekey(7).await.unwrap(),
        Some(Bytes::from_static(b"seven"))
    );
    b.store_prekey(7, b"seven'", true).await.unwrap();
    assert_eq!(
        b.load_prekey(7).await.unwrap(),
        Some(Bytes::from_static(b"seven'"))
    );

    let batch: Vec<(u32, Bytes)> = (100..110)
        .map(|i| (i, Bytes::from(format!("pk{i}"))))
        .chain([(105, Bytes::from_static(b"dup"))])
        .collect();
    b.store_prekeys_batch(&batch, false).await.unwrap();
    b.store_prekeys_batch(&[], true).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 109);
    assert_eq!(
        b.load_prekey(105).await.unwrap(),
        Some(Bytes::from_static(b"dup"))
    );

    // Only existing keys, in the order asked.
    let got = b.load_prekeys_batch(&[109, 1, 7, 100, 5000]).await.unwrap();
    let want = vec![
        (109, Bytes::from_static(b"pk109")),
        (7, Bytes::from_static(b"seven'")),
        (100, Bytes::from_static(b"pk100")),
    ];
    assert_eq!(got, want);
    assert!(b.load_prekeys_batch(&[]).await.unwrap().is_empty());

    // Marking never resurrects a consumed key.
    b.remove_prekey(109).await.unwrap();
    b.remove_prekey(424242).await.unwrap();
    b.mark_prekeys_uploaded(&[100, 101, 109, 9999])
        .await
        .unwrap();
    b.mark_prekeys_uploaded(&[]).await.unwrap();
    assert_eq!(b.load_prekey(109).await.unwrap(), None);
    assert_eq!(b.load_prekey(9999).await.unwrap(), None);
    assert_eq!(
        b.load_prekey(100).await.unwrap(),
        Some(Bytes::from_static(b"pk100"))
    );
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 108);

    // Ids up to u32::MAX survive the bigint column.
    b.store_prekey(u32::MAX, b"max", false).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), u32::MAX);
    assert_eq!(
        b.load_prekey(u32::MAX).await.unwrap(),
        Some(Bytes::from_static(b"max"))
    );
}

pub async fn signed_prekeys(env: &Env) {
    let b = env.backend("ph_a");
    assert!(b.load_all_signed_prekeys().await.unwrap().is_empty());
    assert_eq!(b.load_signed_prekey(1).await.unwrap(), None);
    b.store_signed_prekey(2, b"two").await.unwrap();
    b.store_signed_prekey(1, b"one").await.unwrap();
    b.store_signed_prekey(2, b"two'").await.unwrap();
    assert_eq!(
        b.load_signed_prekey(2).await.unwrap(),
        Some(b"two'".to_vec())
    );
    let mut all = b.load_all_signed_prekeys().await.unwrap();
    all.sort();
    assert_eq!(all, vec![(1, b"one".to_vec()), (2, b"two'".to_vec())]);
    b.remove_signed_prekey(1).await.unwrap();
    assert_eq!(b.load_signed_prekey(1).await.unwrap(), None);
    assert_eq!(
        b.load_all_signed_prekeys().await.unwrap(),
        vec![(2, b"two'".to_vec())]
    );
}

pub async fn sender_keys(env: &Env) {
    let b = env.backend("ph_a");
    let a = "120363@g.us:111:2@s.whatsapp.net";
    assert_eq!(b.get_sender_key(a).await.unwrap(), None);
    b.put_sender_key(a, b"k1").await.unwrap();
    assert_eq!(b.get_sender_key(a).await.unwrap(), Some(b"k1".to_vec()));
    let batch = [
        (arc(a), Bytes::from_static(b"k2")),
        (arc("other"), Bytes::from_static(b"o")),
        (arc(a), Bytes::from_static(b"k3")),
    ];
    b.put_sender_keys_batch(&batch).await.unwrap();
    b.put_sender_keys_batch(&[]).await.unwrap();
    assert_eq!(b.get_sender_key(a).await.unwrap(), Some(b"k3".to_vec()));
    assert_eq!(
        b.get_sender_key("other").await.unwrap(),
        Some(b"o".to_vec())
    );
    b.delete_sender_key(a).await.unwrap();
    assert_eq!(b.get_sender_key(a).await.unwrap(), None);
    assert_eq!(
        b.get_sender_key("other").await.unwrap(),
        Some(b"o".to_vec())
    );
}

/// Batches larger than one statement's rows (500) go through whole.
pub async fn large_batches(env: &Env) {
    let b = env.backend("ph_a");
    let sessions: Vec<(Arc<str>, Bytes)> = (0..1203)
        .map(|i| (arc(&format!("{i}@lid")), Bytes::from(format!("s{i}"))))
        .collect();
    b.put_sessions_batch(&sessions).await.unwrap();
    assert_eq!(
        b.get_session("1202@lid").await.unwrap(),
        Some(Bytes::from("s1202"))
    );
    assert_eq!(
        b.get_session("0@lid").await.unwrap(),
        Some(Bytes::from("s0"))
    );

    let keys: Vec<(u32, Bytes)> = (1..=1203)
        .map(|i| (i, Bytes::from(vec![1u8; 40])))
        .collect();
    b.store_prekeys_batch(&keys, false).await.unwrap();
    let ids: Vec<u32> = (1..=1300).collect();
    assert_eq!(b.load_prekeys_batch(&ids).await.unwrap().len(), 1203);
    b.mark_prekeys_uploaded(&ids).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 1203);
}
