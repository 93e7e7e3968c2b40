//! Virtual phones as the other side: a number with no client at all receives, reads and
//! replies with real Signal encryption done by the simulator's primary device; it can be
//! taken offline and back; locations survive the trip both ways.

use std::time::Duration;

use crate::common::*;
use wacore::types::presence::ReceiptType;
use wadesk_sim::{SimConfig, SimEvent, Simulator};
use whatsapp_rust::prelude::*;

fn receipt_for(ev: &Event, id: &str, want: &[ReceiptType]) -> bool {
    matches!(ev, Event::Receipt(r)
        if r.message_ids.iter().any(|m| m.as_str() == id) && want.contains(&r.r#type))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_phone_receives_reads_and_replies() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (gw, vp) = ("15551110000", "15552220000");
    let mut a = paired_client(&sim, gw, "Gateway").await;
    sim.create_phone(vp);
    let mut sim_ev = sim.subscribe();

    let to: Jid = format!("{vp}@s.whatsapp.net").parse().unwrap();
    let id = a
        .client
        .send_text(to, "order #42 shipped")
        .await
        .unwrap()
        .message_id
        .to_string();
    sim_wait(
        &mut sim_ev,
        Duration::from_secs(5),
        "phone receives",
        |e| match e {
            SimEvent::PhoneReceived { number, id: i } if number == vp && *i == id => Some(()),
            _ => None,
        },
    )
    .await;
    let got = sim.phone_messages(vp);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].text.as_deref(), Some("order #42 shipped"));
    assert_eq!(got[0].from, gw);
    assert_eq!(got[0].push_name, "Gateway");
    assert!(!got[0].from_me);

    a.wait_for(Duration::from_secs(5), "delivered", |ev| {
        receipt_for(ev, &id, &[ReceiptType::Delivered]).then_some(())
    })
    .await;

    // A resend with the same id (what a sender does after a crash left it
    // unsure the first went out) is acknowledged again and kept once; a
    // different message after it is kept (the phone handles its stanzas in
    // order, so by then the copy was handled).
    let to: Jid = format!("{vp}@s.whatsapp.net").parse().unwrap();
    let again = wa::Message {
        conversation: Some("order #42 shipped".into()),
        ..Default::default()
    };
    a.client
        .send_message_with_options(
            to.clone(),
            again,
            SendOptions::default().with_message_id(id.clone()),
        )
        .await
        .unwrap();
    a.wait_for(Duration::from_secs(5), "the copy is acknowledged", |ev| {
        receipt_for(ev, &id, &[ReceiptType::Delivered]).then_some(())
    })
    .await;
    let next = a
        .client
        .send_text(to, "and #43")
        .await
        .unwrap()
        .message_id
        .to_string();
    sim_wait(&mut sim_ev, Duration::from_secs(5), "next message", |e| {
        matches!(e, SimEvent::PhoneReceived { number, id: i } if number == vp && *i == next)
            .then_some(())
    })
    .await;
    let ids: Vec<String> = sim.phone_messages(vp).into_iter().map(|m| m.id).collect();
    assert_eq!(ids, [id.clone(), next], "the copy is kept once");

    assert_eq!(
        sim.phone_mark_read(vp, std::slice::from_ref(&id)).unwrap(),
        1
    );
    a.wait_for(Duration::from_secs(5), "read", |ev| {
        receipt_for(ev, &id, &[ReceiptType::Read]).then_some(())
    })
    .await;

    // The gateway's own primary got the sent-message copy (DeviceSentMessage); it is
    // processed by the primary's own task, so give it a moment.
    let mut own = sim.phone_messages(gw);
    for _ in 0..100 {
        if own.iter().any(|m| m.id == id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        own = sim.phone_messages(gw);
    }
    assert!(
        own.iter().any(|m| m.from_me && m.id == id && m.chat == vp),
        "own copy: {own:?}"
    );

    // Reply from the virtual phone: decrypted by the real client.
    let reply = sim.phone_send_text(vp, gw, "thanks!").await.unwrap();
    let (rid, text) = a
        .wait_for(Duration::from_secs(5), "reply", |ev| match ev {
            Event::Messages(b) => b.messages.iter().find_map(|m| {
                (m.info.source.sender.user.as_str() == vp).then(|| {
                    (
                        m.info.id.to_string(),
                        m.message.text_content().map(str::to_string),
                    )
                })
            }),
            _ => None,
        })
        .await;
    assert_eq!(rid, reply);
    assert_eq!(text.as_deref(), Some("thanks!"));
    // The client's delivery receipt reaches the phone's outbox status.
    for _ in 0..50 {
        if sim
            .phone_sent(vp)
            .iter()
            .any(|s| s.id == reply && s.status != "sent")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let st = sim.phone_sent(vp);
    assert!(
        st.iter().any(|s| s.id == reply && s.status != "sent"),
        "{st:?}"
    );
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_virtual_phone_gets_messages_when_back_and_locations_arrive_intact() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (gw, vp) = ("15551110001", "15552220001");
    let mut a = paired_client(&sim, gw, "Gateway").await;
    sim.create_phone(vp);
    assert!(sim.set_phone_online(vp, false));

    let to: Jid = format!("{vp}@s.whatsapp.net").parse().unwrap();
    let loc = wa::Message {
        location_message: MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(52.520008),
            degrees_longitude: Some(13.404954),
            name: Some("Alexanderplatz".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = a
        .client
        .send_message(to, loc)
        .await
        .unwrap()
        .message_id
        .to_string();
    a.wait_for(Duration::from_secs(5), "server ack", |ev| match ev {
        Event::ServerAck(x) if x.id == id => Some(()),
        _ => None,
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        sim.phone_messages(vp).is_empty(),
        "offline phone must not receive yet"
    );

    let mut sim_ev = sim.subscribe();
    sim.set_phone_online(vp, true);
    sim_wait(
        &mut sim_ev,
        Duration::from_secs(5),
        "phone receives",
        |e| match e {
            SimEvent::PhoneReceived { number, .. } if number == vp => Some(()),
            _ => None,
        },
    )
    .await;
    let got = sim.phone_messages(vp);
    assert_eq!(got[0].kind, "location");
    assert_eq!(
        got[0].location,
        Some((52.520008, 13.404954, Some("Alexanderplatz".into())))
    );
    a.wait_for(
        Duration::from_secs(5),
        "delivered after coming online",
        |ev| receipt_for(ev, &id, &[ReceiptType::Delivered]).then_some(()),
    )
    .await;

    // And the other way round.
    let back = wa::Message {
        location_message: MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(-33.8567844),
            degrees_longitude: Some(151.213108),
            name: Some("Opera House".into()),
            address: Some("Bennelong Point".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    sim.phone_send_message(vp, gw, back).await.unwrap();
    let l = a
        .wait_for(Duration::from_secs(5), "location", |ev| match ev {
            Event::Messages(b) => b
                .messages
                .iter()
                .find_map(|m| m.message.location_message.as_option().cloned()),
            _ => None,
        })
        .await;
    assert_eq!(l.degrees_latitude, Some(-33.8567844));
    assert_eq!(l.degrees_longitude, Some(151.213108));
    assert_eq!(l.name.as_deref(), Some("Opera House"));
    assert_eq!(l.address.as_deref(), Some("Bennelong Point"));
    a.shutdown().await;
}
