//! MsgSecretStore cases: single put, batched put with wacore's merge rules,
//! reads with the parent time, and the expiry cutoff.

use std::sync::Arc;

use wacore::store::traits::MsgSecretEntry;

use crate::harness::Env;

fn entry(chat: &str, id: &str, secret: u8, expires_at: i64, message_ts: i64) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: Arc::from(chat),
        sender: Arc::from("me@s.whatsapp.net"),
        msg_id: Arc::from(id),
        secret: [secret; 32],
        expires_at,
        message_ts,
    }
}

const ME: &str = "me@s.whatsapp.net";

pub async fn msg_secrets(env: &Env) {
    let b = env.backend("ph_a");
    assert_eq!(b.get_msg_secret("c@lid", ME, "M1").await.unwrap(), None);
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "M1").await.unwrap(),
        None
    );
    b.put_msg_secret("c@lid", ME, "M1", &[7; 32]).await.unwrap();
    assert_eq!(
        b.get_msg_secret("c@lid", ME, "M1").await.unwrap(),
        Some(vec![7; 32])
    );
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "M1").await.unwrap(),
        Some((vec![7; 32], 0))
    );
    // Keyed by sender too.
    assert_eq!(
        b.get_msg_secret("c@lid", "other@lid", "M1").await.unwrap(),
        None
    );

    let n = b
        .put_msg_secrets(vec![
            entry("c@lid", "M2", 1, 500, 100),
            entry("g@g.us", "M2", 2, 0, 0),
        ])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(b.put_msg_secrets(vec![]).await.unwrap(), 0);
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "M2").await.unwrap(),
        Some((vec![1; 32], 100))
    );
    assert_eq!(
        b.get_msg_secret_with_ts("g@g.us", ME, "M2").await.unwrap(),
        Some((vec![2; 32], 0))
    );
}

pub async fn msg_secret_merge(env: &Env) {
    let b = env.backend("ph_a");
    let now = 10_000;
    b.put_msg_secrets(vec![
        entry("c@lid", "later", 1, now + 100, 50),
        entry("c@lid", "never", 1, 0, 50),
        entry("c@lid", "shorter", 1, now + 100, 50),
        entry("c@lid", "to_never", 1, now + 100, 50),
    ])
    .await
    .unwrap();
    b.put_msg_secrets(vec![
        entry("c@lid", "later", 2, now + 200, 0), // later deadline wins; 0 ts never clobbers
        entry("c@lid", "never", 2, now + 1, 40),  // never stays never; larger ts kept
        entry("c@lid", "shorter", 2, now + 50, 60), // deadline never shrinks; later ts wins
        entry("c@lid", "to_never", 2, 0, 50),     // 0 (never) wins
    ])
    .await
    .unwrap();
    let ts = |id: &'static str| {
        let b = b.clone();
        async move {
            b.get_msg_secret_with_ts("c@lid", ME, id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    // The secret itself is replaced by the newer write.
    assert_eq!(ts("later").await, (vec![2; 32], 50));
    assert_eq!(ts("never").await, (vec![2; 32], 50));
    assert_eq!(ts("shorter").await, (vec![2; 32], 60));
    assert_eq!(ts("to_never").await, (vec![2; 32], 50));

    // Effective deadlines: later=now+200, shorter=now+100, never/to_never=0.
    assert_eq!(b.delete_expired_msg_secrets(now + 99).await.unwrap(), 0);
    assert_eq!(b.delete_expired_msg_secrets(now + 100).await.unwrap(), 1); // at the cutoff goes
    assert!(
        b.get_msg_secret("c@lid", ME, "shorter")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(b.delete_expired_msg_secrets(i64::MAX).await.unwrap(), 1);
    assert!(
        b.get_msg_secret("c@lid", ME, "later")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        b.get_msg_secret("c@lid", ME, "never")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        b.get_msg_secret("c@lid", ME, "to_never")
            .await
            .unwrap()
            .is_some()
    );
}

/// Duplicates inside one batch merge as if written one by one.
pub async fn msg_secret_batch_duplicates(env: &Env) {
    let b = env.backend("ph_a");
    let n = b
        .put_msg_secrets(vec![
            entry("c@lid", "D", 1, 300, 10),
            entry("c@lid", "D", 2, 200, 0),
            entry("c@lid", "D", 3, 100, 5),
            entry("c@lid", "E", 4, 0, 0),
            entry("c@lid", "E", 5, 100, 7),
        ])
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "D").await.unwrap(),
        Some((vec![3; 32], 10))
    );
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "E").await.unwrap(),
        Some((vec![5; 32], 7))
    );
    assert_eq!(b.delete_expired_msg_secrets(299).await.unwrap(), 0);
    assert_eq!(b.delete_expired_msg_secrets(300).await.unwrap(), 1);
    assert!(b.get_msg_secret("c@lid", ME, "E").await.unwrap().is_some());
}

/// A history-sync sized batch, past one statement's rows.
pub async fn msg_secrets_large(env: &Env) {
    let b = env.backend("ph_a");
    let entries: Vec<MsgSecretEntry> = (0..1500)
        .map(|i| entry("c@lid", &format!("H{i}"), (i % 250) as u8, 0, i))
        .collect();
    assert_eq!(b.put_msg_secrets(entries).await.unwrap(), 1500);
    assert_eq!(
        b.get_msg_secret_with_ts("c@lid", ME, "H1499")
            .await
            .unwrap(),
        Some((vec![249; 32], 1499))
    );
}
