//! Step 4: end-to-end encrypted text between two real clients on different virtual
//! numbers. The simulator routes ciphertext, hands out device lists and prekey bundles,
//! acks the sender and relays delivery and read receipts; it never decrypts.

use std::time::Duration;

use crate::common::*;
use wacore::types::presence::ReceiptType;
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::prelude::*;

fn text_of(ev: &Event, from_user: &str) -> Option<(String, String)> {
    let Event::Messages(batch) = ev else {
        return None;
    };
    batch.messages.iter().find_map(|m| {
        let sender = &m.info.source.sender;
        let alt = m.info.source.sender_alt.as_ref();
        let from_ok =
            sender.user.as_str() == from_user || alt.is_some_and(|a| a.user.as_str() == from_user);
        if !from_ok {
            return None;
        }
        m.message
            .text_content()
            .map(|t| (m.info.id.to_string(), t.to_string()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_round_trip_with_acks_and_receipts() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a_num, b_num) = ("15550001111", "15550002222");
    let (mut a, mut b) = tokio::join!(
        paired_client(&sim, a_num, "Alice"),
        paired_client(&sim, b_num, "Bob"),
    );
    let b_phone = sim.phone(b_num).unwrap();
    let b_lid = b_phone.lid.clone();

    // A -> B (first message: pkmsg, built from B's prekey bundle).
    let to_b: Jid = format!("{b_num}@s.whatsapp.net").parse().unwrap();
    let sent = a
        .client
        .send_text(to_b.clone(), "hello bob")
        .await
        .expect("send");
    let id = sent.message_id.to_string();

    let (got_id, text) = b
        .wait_for(Duration::from_secs(10), "B receives A's text", |ev| {
            text_of(ev, a_num)
        })
        .await;
    assert_eq!(text, "hello bob");
    assert_eq!(got_id, id);

    a.wait_for(Duration::from_secs(5), "server ack", |ev| match ev {
        Event::ServerAck(ack) if ack.id == id => Some(()),
        _ => None,
    })
    .await;
    a.wait_for(Duration::from_secs(5), "delivery receipt", |ev| match ev {
        Event::Receipt(r)
            if r.message_ids.iter().any(|m| m.as_str() == id)
                && matches!(r.r#type, ReceiptType::Delivered | ReceiptType::Inactive) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    // B reads it: A gets a read receipt.
    let chat: Jid = format!("{a_num}@s.whatsapp.net").parse().unwrap();
    b.client
        .mark_as_read(&chat, None, &[id.as_str()])
        .await
        .expect("mark read");
    a.wait_for(Duration::from_secs(5), "read receipt", |ev| match ev {
        Event::Receipt(r)
            if r.message_ids.iter().any(|m| m.as_str() == id) && r.r#type == ReceiptType::Read =>
        {
            Some(())
        }
        _ => None,
    })
    .await;

    // B -> A reply over the now established session.
    let to_a: Jid = format!("{a_num}@s.whatsapp.net").parse().unwrap();
    b.client.send_text(to_a, "hi alice").await.expect("reply");
    let (_, text) = a
        .wait_for(Duration::from_secs(10), "A receives B's reply", |ev| {
            text_of(ev, b_num)
        })
        .await;
    assert_eq!(text, "hi alice");
    let _ = b_lid;

    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_companion_is_announced_and_receives_messages_too() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a_num, b_num) = ("15558880001", "15558880002");
    let mut a1 = paired_client(&sim, a_num, "Alice desk").await;
    // A second device on the same account: the first one is told about it.
    let mut a2 = TestClient::start(&sim, None, Some("Alice laptop")).await;
    let qr = a2.wait_qr().await;
    let linked = sim.scan(&qr, a_num).await.unwrap();
    assert_eq!(linked.device, 2);
    a2.wait_connected(Duration::from_secs(5)).await;
    a1.wait_for(
        Duration::from_secs(5),
        "device add notification",
        |ev| match ev {
            Event::DeviceListUpdate(u) if u.user.user.as_str() == a_num => {
                Some(u.devices.iter().map(|d| d.device_id).collect::<Vec<_>>())
            }
            _ => None,
        },
    )
    .await;

    // The virtual phone b writes to a: both companions decrypt it.
    sim.create_phone(b_num);
    let id = sim
        .phone_send_text(b_num, a_num, "to all your devices")
        .await
        .unwrap();
    for c in [&mut a1, &mut a2] {
        let (got, text) = c
            .wait_for(Duration::from_secs(5), "message on each companion", |ev| {
                text_of(ev, b_num)
            })
            .await;
        assert_eq!(
            (got.as_str(), text.as_str()),
            (id.as_str(), "to all your devices")
        );
    }
    // a1 writes to b: a2 gets the sent copy (DeviceSentMessage) with is_from_me.
    let to_b: Jid = format!("{b_num}@s.whatsapp.net").parse().unwrap();
    let sent = a1
        .client
        .send_text(to_b, "from the desk")
        .await
        .unwrap()
        .message_id
        .to_string();
    let own = a2
        .wait_for(Duration::from_secs(5), "own sent copy", |ev| match ev {
            Event::Messages(b) => b.messages.iter().find_map(|m| {
                (m.info.id.as_str() == sent).then(|| {
                    (
                        m.info.source.is_from_me,
                        m.message.text_content().map(str::to_string),
                    )
                })
            }),
            _ => None,
        })
        .await;
    assert_eq!(own, (true, Some("from the desk".to_string())));
    a1.shutdown().await;
    a2.shutdown().await;
}
