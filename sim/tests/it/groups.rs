//! Groups: a real whatsapp-rust client creates and runs groups whose other
//! members are virtual phones; group messages fan out as sender-key
//! messages the phones decrypt; phones act on groups through the admin API.

use std::time::{Duration, Instant};

use crate::common::*;
use wacore::iq::groups::ParticipantType;
use wacore::stanza::groups::GroupNotificationAction;
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::prelude::*;
use whatsapp_rust::{
    GroupCreateOptions, GroupDescription, GroupParticipantOptions, GroupSubject,
    MembershipApprovalMode, PreviousDescription,
};

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

    // The sender edits it: the phones show the new text; one reads it and the
    // sender gets a read receipt.
    client
        .client
        .edit_message(
            gid.clone(),
            id.clone(),
            wa::Message {
                conversation: Some("hello, group".into()),
                ..Default::default()
            },
        )
        .await
        .expect("group edit");
    poll(
        Duration::from_secs(10),
        "the edit shows on every phone",
        || {
            phones
                .iter()
                .all(|p| {
                    sim.phone_messages(p)
                        .iter()
                        .any(|m| m.id == id && m.text.as_deref() == Some("hello, group"))
                })
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        sim.phone_mark_read(phones[0], std::slice::from_ref(&id))
            .unwrap(),
        1
    );
    client
        .wait_for(
            Duration::from_secs(5),
            "a group read receipt",
            |ev| match ev {
                Event::Receipt(r)
                    if r.message_ids.iter().any(|m| m.as_str() == id)
                        && r.r#type == wacore::types::presence::ReceiptType::Read =>
                {
                    Some(r.source.sender.user.to_string())
                }
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

/// Calls the simulator's admin API; returns the status and the JSON answer (Null if none).
async fn admin(
    sim: &Simulator,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let (status, out) = http_request(
        method,
        &format!("{}{path}", sim.http_url()),
        &headers,
        &body,
    )
    .await
    .expect("admin request");
    (
        status,
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null),
    )
}

/// The next group update for `gid` the client sees.
async fn group_update(client: &mut TestClient, gid: &Jid, what: &str) -> GroupNotificationAction {
    client
        .wait_for(Duration::from_secs(10), what, |ev| match ev {
            Event::GroupUpdate(u) if &u.group_jid == gid => Some(u.action.clone()),
            _ => None,
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_subject_and_refused_changes() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557800000";
    let phones = ["15557800001", "15557800002", "15557800003"];
    let (mut client, gid) = group_with_phones(&sim, gw, &phones, "Roles").await;
    let c = client.client.clone();
    let groups = c.groups();

    let r = groups
        .promote_participants(gid.clone(), &[pn(phones[0]), pn("15557809999")])
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    assert_eq!(r[1].error.as_deref(), Some("404"));
    let meta = groups.get_metadata(&gid).await.unwrap();
    assert_eq!(role_of(&meta, phones[0]), Some(ParticipantType::Admin));
    groups
        .demote_participants(gid.clone(), &[pn(phones[0])])
        .await
        .unwrap();
    groups
        .set_subject(gid.clone(), GroupSubject::new("Renamed").unwrap())
        .await
        .unwrap();
    let meta = groups.get_metadata(&gid).await.unwrap();
    assert_eq!(role_of(&meta, phones[0]), Some(ParticipantType::Member));
    assert_eq!(meta.subject, "Renamed");
    // Adding someone already in is refused for that one participant.
    let r = groups
        .add_participants(gid.clone(), &[pn(phones[1])])
        .await
        .unwrap();
    assert_eq!(r[0].error.as_deref(), Some("409"));

    // A plain member may not remove anyone: the admin API answers WhatsApp's 403.
    let path = format!(
        "/admin/phones/{}/groups/{}/participants",
        phones[1], gid.user
    );
    let (status, body) = admin(
        &sim,
        "POST",
        &path,
        serde_json::json!({"action": "remove", "participants": [phones[2]]}),
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(403)), "{body}");

    // Promoted, the phone renames the group: the client is notified.
    groups
        .promote_participants(gid.clone(), &[pn(phones[1])])
        .await
        .unwrap();
    let path = format!("/admin/phones/{}/groups/{}/subject", phones[1], gid.user);
    let (status, _) = admin(
        &sim,
        "POST",
        &path,
        serde_json::json!({"subject": "By a phone"}),
    )
    .await;
    assert_eq!(status, 204);
    let action = group_update(&mut client, &gid, "the subject notification").await;
    assert!(
        matches!(&action, GroupNotificationAction::Subject { subject, .. } if subject == "By a phone"),
        "{action:?}"
    );
    // It removes a member: the client is notified and the member is gone.
    let path = format!(
        "/admin/phones/{}/groups/{}/participants",
        phones[1], gid.user
    );
    let (status, body) = admin(
        &sim,
        "POST",
        &path,
        serde_json::json!({"action": "remove", "participants": [phones[2]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["participants"][0]["error"], serde_json::Value::Null);
    let action = group_update(&mut client, &gid, "the remove notification").await;
    assert!(
        matches!(&action, GroupNotificationAction::Remove { participants, .. }
            if participants[0].jid.user.as_str() == phones[2]),
        "{action:?}"
    );
    let id = client
        .client
        .send_text(gid.clone(), "after the removal")
        .await
        .unwrap()
        .message_id
        .to_string();
    decrypted_by(&sim, &phones[..2], &gid, &id).await;
    assert!(sim.phone_messages(phones[2]).is_empty());
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_links_settings_and_join_requests() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557810000";
    let phones = ["15557810001", "15557810002"];
    let (joiner, late, rejected) = ("15557810004", "15557810005", "15557810006");
    let (mut client, gid) = group_with_phones(&sim, gw, &phones, "Invites").await;
    for p in [joiner, late, rejected] {
        sim.create_phone(p);
    }
    let c = client.client.clone();
    let groups = c.groups();

    // A fourth phone joins by the link: the client is told and writes to it.
    let link = groups.get_invite_link(gid.clone(), false).await.unwrap();
    let info = groups.get_invite_info(&link).await.unwrap();
    assert_eq!(
        (info.id.clone(), info.subject.as_str()),
        (gid.clone(), "Invites")
    );
    let (status, body) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{joiner}/join"),
        serde_json::json!({ "code": link }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pending"], false);
    assert_eq!(body["group"], gid.to_string());
    let action = group_update(&mut client, &gid, "the join").await;
    assert!(
        matches!(&action, GroupNotificationAction::Add { participants, .. }
            if participants[0].jid.user.as_str() == joiner),
        "{action:?}"
    );
    let id = client
        .client
        .send_text(gid.clone(), "welcome")
        .await
        .unwrap()
        .message_id
        .to_string();
    assert_eq!(decrypted_by(&sim, &[joiner], &gid, &id).await, ["welcome"]);

    // A revoked link leads nowhere (410); the new one works.
    let new_link = groups.get_invite_link(gid.clone(), true).await.unwrap();
    assert_ne!(new_link, link);
    let (status, body) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{late}/join"),
        serde_json::json!({ "code": link }),
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (410, Some(410)), "{body}");

    // Settings show in the metadata; announcement mode stops a member's message.
    groups.set_announce(gid.clone(), true).await.unwrap();
    groups.set_locked(gid.clone(), true).await.unwrap();
    groups.set_ephemeral(gid.clone(), 86400).await.unwrap();
    groups
        .set_description(
            gid.clone(),
            Some(GroupDescription::new("Rules: be kind").unwrap()),
            PreviousDescription::Resolve,
        )
        .await
        .unwrap();
    let meta = groups.get_metadata(&gid).await.unwrap();
    assert!(meta.is_announcement && meta.is_locked);
    assert_eq!(meta.ephemeral.and_then(|e| e.expiration), Some(86400));
    assert_eq!(meta.description.as_deref(), Some("Rules: be kind"));
    let path = format!("/admin/phones/{}/groups/{}/send", phones[0], gid.user);
    let (status, body) = admin(&sim, "POST", &path, serde_json::json!({"text": "hi"})).await;
    assert_eq!((status, body["code"].as_u64()), (403, Some(403)), "{body}");
    let path = format!("/admin/phones/{}/groups/{}/subject", phones[0], gid.user);
    let (status, _) = admin(&sim, "POST", &path, serde_json::json!({"subject": "x"})).await;
    assert_eq!(status, 403);

    // With approval on, joining makes a request the admins see and answer.
    groups
        .set_membership_approval(gid.clone(), MembershipApprovalMode::On)
        .await
        .unwrap();
    for p in [late, rejected] {
        let (status, body) = admin(
            &sim,
            "POST",
            &format!("/admin/phones/{p}/join"),
            serde_json::json!({ "code": new_link }),
        )
        .await;
        assert_eq!(
            (status, body["pending"].as_bool()),
            (200, Some(true)),
            "{body}"
        );
    }
    let action = group_update(&mut client, &gid, "the join request").await;
    assert!(
        matches!(&action, GroupNotificationAction::CreatedMembershipRequests { requests, .. }
            if requests[0].jid.user.as_str() == late),
        "{action:?}"
    );
    let mut pending: Vec<String> = groups
        .get_membership_requests(gid.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.jid.user.to_string())
        .collect();
    pending.sort();
    assert_eq!(pending, [late, rejected]);
    let r = groups
        .approve_membership_requests(gid.clone(), &[pn(late)])
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    let r = groups
        .reject_membership_requests(gid.clone(), &[pn(rejected)])
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    let g = sim.group(&gid.user).unwrap();
    assert!(g.pending.is_empty());
    assert!(g.participants.iter().any(|m| m.number == late));
    assert!(g.participants.iter().all(|m| m.number != rejected));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_runs_a_group_the_client_is_in() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = "15557820000";
    let (owner, other, added) = ("15557820001", "15557820002", "15557820003");
    let mut client = paired_client(&sim, gw, "Gateway").await;
    for p in [owner, other, added] {
        sim.create_phone(p);
    }
    let (status, body) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{owner}/groups"),
        serde_json::json!({"subject": "Phone's group", "participants": [gw, other, "15557829999"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["participants"][2]["error"], 404);
    let gid: Jid = body["group"]["jid"].as_str().unwrap().parse().unwrap();
    let action = group_update(&mut client, &gid, "the create notification").await;
    assert!(
        matches!(action, GroupNotificationAction::Create { .. }),
        "{action:?}"
    );
    let all = client.client.groups().get_participating().await.unwrap();
    assert_eq!(all[&gid].subject, "Phone's group");

    // The owner writes: the client reads it; the client answers: both phones read it.
    let (status, body) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{owner}/groups/{}/send", gid.user),
        serde_json::json!({"text": "hello all"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let text = client
        .wait_for(
            Duration::from_secs(10),
            "the owner's message",
            |ev| match ev {
                Event::Messages(b) => b.messages.iter().find_map(|m| {
                    (m.info.id.as_str() == id && m.info.source.chat == gid)
                        .then(|| m.message.text_content().map(str::to_string))
                }),
                _ => None,
            },
        )
        .await;
    assert_eq!(text.as_deref(), Some("hello all"));
    let reply = client
        .client
        .send_text(gid.clone(), "hi owner")
        .await
        .unwrap()
        .message_id
        .to_string();
    assert_eq!(
        decrypted_by(&sim, &[owner, other], &gid, &reply).await,
        ["hi owner"; 2]
    );
    let (_, listed) = admin(
        &sim,
        "GET",
        &format!("/admin/phones/{owner}/groups/{}/messages", gid.user),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(listed[0]["from"], gw);
    assert_eq!(listed[0]["group"], gid.user.as_str());
    assert_eq!(listed[0]["text"], "hi owner");

    // The client is no admin here: its change is refused with an IQ error.
    let err = client
        .client
        .groups()
        .set_subject(gid.clone(), GroupSubject::new("mine now").unwrap())
        .await;
    assert!(
        err.is_ok(),
        "an unlocked group lets members rename it: {err:?}"
    );
    let err = client
        .client
        .groups()
        .set_announce(gid.clone(), true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let err = client
        .client
        .groups()
        .remove_participants(gid.clone(), &[pn(other)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");

    // The owner adds someone: the client is told, and its next message reaches them.
    let (status, body) = admin(
        &sim,
        "POST",
        &format!("/admin/phones/{owner}/groups/{}/participants", gid.user),
        serde_json::json!({"action": "add", "participants": [added]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let action = loop {
        let a = group_update(&mut client, &gid, "the add notification").await;
        if !matches!(a, GroupNotificationAction::Subject { .. }) {
            break a;
        }
    };
    assert!(
        matches!(&action, GroupNotificationAction::Add { participants, .. }
            if participants[0].jid.user.as_str() == added),
        "{action:?}"
    );
    let id = client
        .client
        .send_text(gid.clone(), "welcome newcomer")
        .await
        .unwrap()
        .message_id
        .to_string();
    assert_eq!(
        decrypted_by(&sim, &[added], &gid, &id).await,
        ["welcome newcomer"]
    );
    client.shutdown().await;
}

/// Malformed group IQs and messages from a bare client are answered with
/// errors; the connection stays up and a well-formed request still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_group_stanzas_get_errors_not_a_crash() {
    use crate::raw::{RawDevice, attr, child};
    use wacore_binary::builder::NodeBuilder;
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    sim.create_phone("15557830000");
    let dev = RawDevice::pair(&sim, "15557830000", "Raw").await.unwrap();
    let mut conn = dev.login(&sim).await.unwrap();
    conn.go_active().await.unwrap();
    let iq = |id: &str, to: &str, ty: &str, kid: wacore_binary::Node| {
        NodeBuilder::new("iq")
            .attr("id", id.to_string())
            .attr("to", to.to_string())
            .attr("xmlns", "w:g2")
            .attr("type", ty.to_string())
            .children([kid])
            .build()
    };
    let cases = [
        // No subject.
        (
            iq("g1", "@g.us", "set", NodeBuilder::new("create").build()),
            "400",
        ),
        // No such group.
        (
            iq(
                "g2",
                "120363000000000001@g.us",
                "get",
                NodeBuilder::new("query").build(),
            ),
            "404",
        ),
        // A leave naming no group.
        (
            iq("g3", "@g.us", "set", NodeBuilder::new("leave").build()),
            "400",
        ),
        // Join without a code, and with one nobody has.
        (
            iq("g4", "@g.us", "set", NodeBuilder::new("invite").build()),
            "400",
        ),
        (
            iq(
                "g5",
                "@g.us",
                "set",
                NodeBuilder::new("invite").attr("code", "nope").build(),
            ),
            "404",
        ),
        // Participants of no group, and an unknown operation.
        (
            iq(
                "g6",
                "120363000000000001@g.us",
                "set",
                NodeBuilder::new("add")
                    .children([NodeBuilder::new("participant")
                        .attr("jid", "garbage")
                        .build()])
                    .build(),
            ),
            "404",
        ),
        (
            iq("g7", "@g.us", "set", NodeBuilder::new("frobnicate").build()),
            "501",
        ),
    ];
    for (node, code) in cases {
        let id = attr(&node, "id").unwrap();
        conn.send(&node).await.unwrap();
        let got = conn
            .recv_until(Duration::from_secs(5), "an IQ answer", |n| {
                n.tag == "iq" && attr(n, "id").as_deref() == Some(id.as_str())
            })
            .await
            .unwrap();
        let answer = got.last().unwrap();
        assert_eq!(
            attr(answer, "type").as_deref(),
            Some("error"),
            "{id}: {answer:?}"
        );
        let err = child(answer, "error").expect("an <error>");
        assert_eq!(attr(err, "code").as_deref(), Some(code), "{id}: {answer:?}");
    }
    // A message to a group that does not exist, or to no group at all: a 479 ack.
    for (id, to) in [("m1", "120363000000000001@g.us"), ("m2", "@g.us")] {
        conn.send(
            &NodeBuilder::new("message")
                .attr("id", id)
                .attr("to", to)
                .attr("type", "text")
                .children([NodeBuilder::new("enc")
                    .attr("type", "skmsg")
                    .bytes(vec![1, 2])
                    .build()])
                .build(),
        )
        .await
        .unwrap();
        let got = conn
            .recv_until(Duration::from_secs(5), "the message ack", |n| {
                n.tag == "ack" && attr(n, "id").as_deref() == Some(id)
            })
            .await
            .unwrap();
        assert_eq!(attr(got.last().unwrap(), "error").as_deref(), Some("479"));
    }
    // Still connected: a well-formed create works.
    conn.send(&iq(
        "ok",
        "@g.us",
        "set",
        NodeBuilder::new("create").attr("subject", "Fine").build(),
    ))
    .await
    .unwrap();
    let got = conn
        .recv_until(Duration::from_secs(5), "the create answer", |n| {
            n.tag == "iq" && attr(n, "id").as_deref() == Some("ok")
        })
        .await
        .unwrap();
    let answer = got.last().unwrap();
    assert_eq!(
        attr(answer, "type").as_deref(),
        Some("result"),
        "{answer:?}"
    );
    assert!(child(answer, "group").is_some());
    assert_eq!(sim.groups().len(), 1);
}
