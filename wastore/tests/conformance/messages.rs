//! ProtocolStore cases, part two: trusted-contact tokens, sent messages and
//! the pending-inbound buffer (with their expiry cutoffs).

use wacore::store::traits::{PendingInboundKey, PendingInboundRow, TcTokenEntry};

use crate::harness::Env;

fn tc(token: &[u8], ts: i64, sender: Option<i64>) -> TcTokenEntry {
    TcTokenEntry {
        token: token.to_vec(),
        token_timestamp: ts,
        sender_timestamp: sender,
    }
}

fn parts(e: Option<TcTokenEntry>) -> Option<(Vec<u8>, i64, Option<i64>)> {
    e.map(|e| (e.token, e.token_timestamp, e.sender_timestamp))
}

pub async fn tc_tokens(env: &Env) {
    let b = env.backend("ph_a");
    assert!(b.get_tc_token("1@lid").await.unwrap().is_none());
    assert!(b.get_all_tc_token_jids().await.unwrap().is_empty());
    b.put_tc_token("1@lid", &tc(b"t1", 100, None))
        .await
        .unwrap();
    b.put_tc_token("2@lid", &tc(b"t2", 200, Some(250)))
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("2@lid").await.unwrap()),
        Some((b"t2".to_vec(), 200, Some(250)))
    );
    b.put_tc_token("1@lid", &tc(b"t1'", 110, Some(5)))
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((b"t1'".to_vec(), 110, Some(5)))
    );
    let mut jids = b.get_all_tc_token_jids().await.unwrap();
    jids.sort();
    assert_eq!(jids, ["1@lid", "2@lid"]);
    b.delete_tc_token("1@lid").await.unwrap();
    assert!(b.get_tc_token("1@lid").await.unwrap().is_none());
    assert_eq!(b.get_all_tc_token_jids().await.unwrap(), ["2@lid"]);
}

pub async fn tc_token_writers(env: &Env) {
    let b = env.backend("ph_a");
    // Sender bucket on an absent contact: a byte-less placeholder.
    b.touch_tc_token_sender_timestamp("1@lid", 50)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((vec![], 50, Some(50)))
    );
    // It only moves forward.
    b.touch_tc_token_sender_timestamp("1@lid", 40)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((vec![], 50, Some(50)))
    );
    b.touch_tc_token_sender_timestamp("1@lid", 60)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((vec![], 50, Some(60)))
    );

    // A placeholder never blocks the first real token, even an older one;
    // the sender bucket survives.
    b.store_received_tc_token("1@lid", b"real", 10)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((b"real".to_vec(), 10, Some(60)))
    );
    // Newer-wins among real tokens (equal counts as new).
    b.store_received_tc_token("1@lid", b"stale", 9)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((b"real".to_vec(), 10, Some(60)))
    );
    b.store_received_tc_token("1@lid", b"same", 10)
        .await
        .unwrap();
    b.store_received_tc_token("1@lid", b"newer", 11)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((b"newer".to_vec(), 11, Some(60)))
    );
    // Touching keeps the token.
    b.touch_tc_token_sender_timestamp("1@lid", 70)
        .await
        .unwrap();
    assert_eq!(
        parts(b.get_tc_token("1@lid").await.unwrap()),
        Some((b"newer".to_vec(), 11, Some(70)))
    );
    // A received token on an absent contact has no sender bucket.
    b.store_received_tc_token("2@lid", b"t", 5).await.unwrap();
    assert_eq!(
        parts(b.get_tc_token("2@lid").await.unwrap()),
        Some((b"t".to_vec(), 5, None))
    );
    // A sender bucket that was null starts at the touch.
    b.touch_tc_token_sender_timestamp("2@lid", 1).await.unwrap();
    assert_eq!(
        parts(b.get_tc_token("2@lid").await.unwrap()),
        Some((b"t".to_vec(), 5, Some(1)))
    );
}

pub async fn tc_token_expiry(env: &Env) {
    let b = env.backend("ph_a");
    let (tcut, scut) = (100, 1000);
    let rows = [
        ("live_token", tc(b"t", 100, None), true),
        ("dead_token", tc(b"t", 99, None), false),
        ("empty_token", tc(b"", 500, None), false),
        ("live_sender", tc(b"t", 1, Some(1000)), true),
        ("dead_both", tc(b"t", 1, Some(999)), false),
        ("placeholder_live", tc(b"", 1, Some(2000)), true),
        ("placeholder_dead", tc(b"", 1, Some(5)), false),
    ];
    for (jid, e, _) in &rows {
        b.put_tc_token(jid, e).await.unwrap();
    }
    assert_eq!(b.delete_expired_tc_tokens(tcut, scut).await.unwrap(), 4);
    for (jid, _, live) in &rows {
        assert_eq!(b.get_tc_token(jid).await.unwrap().is_some(), *live, "{jid}");
    }
    assert_eq!(b.delete_expired_tc_tokens(tcut, scut).await.unwrap(), 0);
}

pub async fn sent_messages(env: &Env) {
    let b = env.backend("ph_a");
    let now = wacore::time::now_secs();
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "M1").await.unwrap(),
        None
    );
    b.store_sent_message("c@s.whatsapp.net", "M1", b"p1")
        .await
        .unwrap();
    b.store_sent_message("c@s.whatsapp.net", "M2", b"p2")
        .await
        .unwrap();
    b.store_sent_message("d@g.us", "M1", b"p3").await.unwrap();
    b.store_sent_message("c@s.whatsapp.net", "M2", b"p2'")
        .await
        .unwrap();
    // Take consumes.
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "M1").await.unwrap(),
        Some(b"p1".to_vec())
    );
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "M1").await.unwrap(),
        None
    );
    // Nothing is older than a cutoff in the past.
    assert_eq!(b.delete_expired_sent_messages(now - 3600).await.unwrap(), 0);
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "M2").await.unwrap(),
        Some(b"p2'".to_vec())
    );
    // Everything is older than a cutoff in the future.
    assert_eq!(b.delete_expired_sent_messages(now + 3600).await.unwrap(), 1);
    assert_eq!(b.take_sent_message("d@g.us", "M1").await.unwrap(), None);
}

fn row<'a>(
    chat: &'a str,
    sender: &'a str,
    id: &'a str,
    message: &'a [u8],
) -> PendingInboundRow<'a> {
    PendingInboundRow {
        chat,
        sender,
        id,
        message,
    }
}

fn key<'a>(chat: &'a str, sender: &'a str, id: &'a str) -> PendingInboundKey<'a> {
    PendingInboundKey { chat, sender, id }
}

pub async fn pending_inbound(env: &Env) {
    let b = env.backend("ph_a");
    let now = wacore::time::now_secs();
    let (g, s1, s2) = ("1@g.us", "a@lid", "b@lid");
    assert_eq!(b.get_pending_inbound(g, s1, "X").await.unwrap(), None);
    b.store_pending_inbound(g, s1, "X", b"m1").await.unwrap();
    // Same id from another sender is another message.
    b.store_pending_inbound(g, s2, "X", b"m2").await.unwrap();
    assert_eq!(
        b.get_pending_inbound(g, s1, "X").await.unwrap(),
        Some(b"m1".to_vec())
    );
    assert_eq!(
        b.get_pending_inbound(g, s2, "X").await.unwrap(),
        Some(b"m2".to_vec())
    );
    b.store_pending_inbound(g, s1, "X", b"m1'").await.unwrap();
    assert_eq!(
        b.get_pending_inbound(g, s1, "X").await.unwrap(),
        Some(b"m1'".to_vec())
    );
    b.delete_pending_inbound(g, s1, "X").await.unwrap();
    b.delete_pending_inbound(g, s1, "never").await.unwrap();
    assert_eq!(b.get_pending_inbound(g, s1, "X").await.unwrap(), None);
    assert_eq!(
        b.get_pending_inbound(g, s2, "X").await.unwrap(),
        Some(b"m2".to_vec())
    );

    let batch = [
        row(g, s1, "A", b"a"),
        row(g, s1, "B", b"b"),
        row("c@lid", "c@lid", "A", b"c"),
        row(g, s1, "A", b"a'"),
    ];
    b.store_pending_inbound_batch(&batch).await.unwrap();
    b.store_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(
        b.get_pending_inbound(g, s1, "A").await.unwrap(),
        Some(b"a'".to_vec())
    );
    assert_eq!(
        b.get_pending_inbound("c@lid", "c@lid", "A").await.unwrap(),
        Some(b"c".to_vec())
    );

    b.delete_pending_inbound_batch(&[
        key(g, s1, "A"),
        key("c@lid", "c@lid", "A"),
        key(g, s2, "nope"),
    ])
    .await
    .unwrap();
    b.delete_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(b.get_pending_inbound(g, s1, "A").await.unwrap(), None);
    assert_eq!(
        b.get_pending_inbound("c@lid", "c@lid", "A").await.unwrap(),
        None
    );
    assert_eq!(
        b.get_pending_inbound(g, s1, "B").await.unwrap(),
        Some(b"b".to_vec())
    );

    // Left: (g, s2, X) and (g, s1, B).
    assert_eq!(
        b.delete_expired_pending_inbound(now - 3600).await.unwrap(),
        0
    );
    assert_eq!(
        b.delete_expired_pending_inbound(now + 3600).await.unwrap(),
        2
    );
    assert_eq!(b.get_pending_inbound(g, s1, "B").await.unwrap(), None);
}

/// Batched buffer writes and deletes past one statement's size.
pub async fn pending_inbound_large(env: &Env) {
    let b = env.backend("ph_a");
    let ids: Vec<String> = (0..1100).map(|i| format!("3EB0{i:06}")).collect();
    let rows: Vec<PendingInboundRow> = ids
        .iter()
        .map(|id| row("1@g.us", "a@lid", id, b"m"))
        .collect();
    b.store_pending_inbound_batch(&rows).await.unwrap();
    let keys: Vec<PendingInboundKey> = ids
        .iter()
        .take(1000)
        .map(|id| key("1@g.us", "a@lid", id))
        .collect();
    b.delete_pending_inbound_batch(&keys).await.unwrap();
    assert_eq!(
        b.get_pending_inbound("1@g.us", "a@lid", &ids[999])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.get_pending_inbound("1@g.us", "a@lid", &ids[1000])
            .await
            .unwrap(),
        Some(b"m".to_vec())
    );
    let later = wacore::time::now_secs() + 3600;
    assert_eq!(b.delete_expired_pending_inbound(later).await.unwrap(), 100);
}
