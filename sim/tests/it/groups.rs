//! Groups: a real whatsapp-rust client creates and runs groups whose other
//! members are virtual phones; group messages fan out as sender-key
//! messages the phones decrypt; phones act on groups through the admin API.

use std::time::{Duration, Instant};

use crate::common::*;
use wacore::iq::groups::ParticipantType;
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::prelude::*;
use whatsapp_rust::{GroupCreateOptions, GroupParticipantOptions};

fn pn(number: &str) -> Jid {
    format!("{number}@s.whatsapp.net").parse().unwrap()
}

/// Polls `f` until it returns `Some`, failing after `timeout`.
pub async fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn role_of(meta: &whatsapp_rust::GroupMetadata, number: &str) -> Option<ParticipantType> {
    meta.participants
        .iter()
        .find(|p| p.jid.user.as_str() == number)
        .map(|p| p.participant_type)
}

/// A client on `gw` and virtual phones `phones`; the client creates a group with them.
async fn group_with_phones(
    sim: &Simulator,
    gw: &str,
    phones: &[&str],
    subject: &str,
) -> (TestClient, Jid) {
    let client = paired_client(sim, gw, "Gateway").await;
    for p in phones {
        sim.create_phone(p);
    }
    let options = GroupCreateOptions::builder()
        .subject(subject)
        .participants(
            phones
                .iter()
                .map(|p| GroupParticipantOptions::from_phone(pn(p)))
                .collect(),
        )
        .build();
    let created = client
        .client
        .groups()
        .create_group(options)
        .await
        .expect("create group");
    let gid = created.metadata.id.clone();
    (client, gid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_query_list_and_leave() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557770000";
    let phones = ["15557770001", "15557770002", "15557770003"];
    let client = paired_client(&sim, gw, "Gateway").await;
    for p in phones {
        sim.create_phone(p);
    }
    // One participant is nobody on WhatsApp: it comes back with an error.
    let mut participants: Vec<GroupParticipantOptions> = phones
        .iter()
        .map(|p| GroupParticipantOptions::from_phone(pn(p)))
        .collect();
    participants.push(GroupParticipantOptions::from_phone(pn("15557779999")));
    let created = client
        .client
        .groups()
        .create_group(
            GroupCreateOptions::builder()
                .subject("Team")
                .participants(participants)
                .build(),
        )
        .await
        .expect("create group");
    let gid = created.metadata.id.clone();
    assert!(
        gid.user.starts_with("120363") && gid.user.len() == 18,
        "{gid}"
    );
    assert_eq!(created.metadata.subject, "Team");

    let meta = client.client.groups().get_metadata(&gid).await.unwrap();
    assert_eq!(meta.subject, "Team");
    assert_eq!(
        meta.creator.as_ref().map(|c| c.user.to_string()),
        Some(gw.into())
    );
    assert!(meta.creation_time.is_some());
    let mut members: Vec<String> = meta
        .participants
        .iter()
        .map(|p| p.jid.user.to_string())
        .collect();
    members.sort();
    assert_eq!(members, [gw, phones[0], phones[1], phones[2]]);
    assert_eq!(role_of(&meta, gw), Some(ParticipantType::SuperAdmin));
    assert_eq!(role_of(&meta, phones[0]), Some(ParticipantType::Member));

    let all = client.client.groups().get_participating().await.unwrap();
    assert!(all.contains_key(&gid), "{:?}", all.keys());

    client.client.groups().leave(gid.clone()).await.unwrap();
    let all = client.client.groups().get_participating().await.unwrap();
    assert!(all.is_empty(), "{:?}", all.keys());
    // The group lives on with an admin: its oldest remaining member was promoted.
    let g = sim.group(&gid.user).expect("group kept");
    assert_eq!(g.participants.len(), 3);
    assert!(
        g.participants
            .iter()
            .any(|m| m.role == wadesk_sim::GroupRole::Admin)
    );
    // A former member may not read it.
    let err = client.client.groups().get_metadata(&gid).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    client.shutdown().await;
}

/// Waits until each of `phones` recorded message `id` in group `gid`; returns their texts.
async fn decrypted_by(sim: &Simulator, phones: &[&str], gid: &Jid, id: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for p in phones {
        let m = poll(
            Duration::from_secs(10),
            "a phone decrypts the group message",
            || sim.phone_messages(p).into_iter().find(|m| m.id == id),
        )
        .await;
        assert_eq!(m.group.as_deref(), Some(gid.user.as_str()), "{m:?}");
        texts.push(m.text.unwrap_or_default());
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_text_fans_out_and_a_removed_member_reads_no_more() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557780000";
    let phones = ["15557780001", "15557780002", "15557780003"];
    let (mut client, gid) = group_with_phones(&sim, gw, &phones, "Fan-out").await;

    let id = client
        .client
        .send_text(gid.clone(), "hello group")
        .await
        .expect("group send")
        .message_id
        .to_string();
    let texts = decrypted_by(&sim, &phones, &gid, &id).await;
    assert_eq!(texts, ["hello group"; 3]);
    let m = &sim.phone_messages(phones[0])[0];
    assert_eq!((m.from.as_str(), m.chat.as_str()), (gw, gid.user.as_str()));
    assert!(!m.from_me);
    // The phones' delivery receipts reach the sender.
    client
        .wait_for(
            Duration::from_secs(5),
            "a group delivery receipt",
            |ev| match ev {
                Event::Receipt(r) if r.message_ids.iter().any(|m| m.as_str() == id) => Some(()),
                _ => None,
            },
        )
        .await;

    // The third phone is removed: the next message reaches only the other two.
    let removed = client
        .client
        .groups()
        .remove_participants(gid.clone(), &[pn(phones[2])])
        .await
        .unwrap();
    assert!(removed.iter().all(|r| r.is_ok()), "{removed:?}");
    let id2 = client
        .client
        .send_text(gid.clone(), "without you")
        .await
        .unwrap()
        .message_id
        .to_string();
    let texts = decrypted_by(&sim, &phones[..2], &gid, &id2).await;
    assert_eq!(texts, ["without you"; 2]);
    assert!(
        sim.phone_messages(phones[2]).iter().all(|m| m.id != id2),
        "the removed phone got the message"
    );
    assert_eq!(sim.phone_messages(phones[2]).len(), 1);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_phone_writes_to_the_group() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557790000";
    let phones = ["15557790001", "15557790002"];
    let (mut client, gid) = group_with_phones(&sim, gw, &phones, "Replies").await;

    let id = sim
        .phone_send_group_text(phones[0], &gid.user, "from a phone")
        .await
        .unwrap();
    let (chat, sender, text) = client
        .wait_for(Duration::from_secs(10), "the phone's group message", |ev| {
            let Event::Messages(batch) = ev else {
                return None;
            };
            batch
                .messages
                .iter()
                .find(|m| m.info.id.as_str() == id)
                .map(|m| {
                    (
                        m.info.source.chat.clone(),
                        m.info.source.sender.user.to_string(),
                        m.message.text_content().map(str::to_string),
                    )
                })
        })
        .await;
    assert_eq!(chat, gid);
    assert_eq!(sender, phones[0]);
    assert_eq!(text.as_deref(), Some("from a phone"));
    // The other phone reads it too, and a second message under the same key.
    decrypted_by(&sim, &phones[1..], &gid, &id).await;
    let id2 = sim
        .phone_send_group_text(phones[0], &gid.user, "again")
        .await
        .unwrap();
    assert_eq!(
        decrypted_by(&sim, &phones[1..], &gid, &id2).await,
        ["again"]
    );
    client.shutdown().await;
}
