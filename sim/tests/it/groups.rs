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

#[allow(dead_code)] // used by the fan-out tests
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

#[allow(dead_code)] // used by the fan-out tests
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
