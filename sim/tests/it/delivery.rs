//! What the server keeps for a device until the device acknowledges it, seen
//! from a raw client (raw.rs) that behaves as Baileys does: it answers a
//! `<message>` with its `<receipt>` alone, and it can leave stanzas
//! unacknowledged when its connection ends.

use std::collections::HashSet;
use std::time::Duration;

use wacore_binary::Node;
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::prelude::*;

use crate::common::*;
use crate::raw::{RawDevice, attr, child};

const WAIT: Duration = Duration::from_secs(10);

/// A message answered by its receipt alone is not delivered again at the next
/// login (WhatsApp counts the receipt as the device's acknowledgement).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_acknowledges_a_message_without_an_ack() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a, b) = ("15554440001", "15554440002");
    sim.create_phone(a);
    sim.create_phone(b);
    let dev = RawDevice::pair(&sim, b, "Raw Bob").await.unwrap();
    let mut conn = dev.login(&sim).await.unwrap();
    let mut receipted: HashSet<String> = HashSet::new();
    let (queued, _) = conn.go_active().await.unwrap();
    for m in queued.iter().filter(|n| n.tag == "message") {
        conn.receipt(m).await.unwrap();
        receipted.insert(attr(m, "id").unwrap());
    }

    let id = sim.phone_send_text(a, b, "hello raw").await.unwrap();
    // Receipt every message as it comes (the phone's own protocol messages
    // too), never an <ack>, until the server has acked our receipt for `id`.
    loop {
        let n = conn.recv(WAIT).await.unwrap().expect("connection open");
        if n.tag == "message" {
            conn.receipt(&n).await.unwrap();
            receipted.insert(attr(&n, "id").unwrap());
        }
        if n.tag == "ack"
            && attr(&n, "class").as_deref() == Some("receipt")
            && attr(&n, "id").as_deref() == Some(id.as_str())
        {
            break;
        }
    }
    conn.close().await;

    let mut conn = dev.login(&sim).await.unwrap();
    let (queued, count) = conn.go_active().await.unwrap();
    let again: Vec<String> = queued
        .iter()
        .filter(|n| n.tag == "message")
        .filter_map(|n| attr(n, "id"))
        .filter(|id| receipted.contains(id))
        .collect();
    assert!(
        again.is_empty(),
        "receipted messages came again ({count} queued): {again:?}"
    );
    conn.close().await;
}

fn is_devices_notification(n: &Node) -> bool {
    n.tag == "notification" && attr(n, "type").as_deref() == Some("devices")
}

fn is_read_receipt(n: &Node, id: &str) -> bool {
    n.tag == "receipt"
        && attr(n, "type").as_deref() == Some("read")
        && attr(n, "id").as_deref() == Some(id)
}

/// A receipt and a notification the device never acknowledged, because its
/// connection ended first, are delivered at its next login, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_and_notifications_survive_a_closing_connection() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a, b) = ("15554440011", "15554440012");
    sim.create_phone(a);
    sim.create_phone(b);
    let dev = RawDevice::pair(&sim, b, "Raw Bob").await.unwrap();
    let mut raw = dev.login(&sim).await.unwrap();
    raw.go_active().await.unwrap();

    // A second companion of the same account: the raw device is told about it
    // with a devices notification, and leaves it unacknowledged.
    let second = paired_client(&sim, b, "Bob's desk").await;
    // That companion writes to the phone `a`, which reads it: read receipts go
    // to every device of `b`, the raw one included (left unacknowledged too).
    let to: Jid = format!("{a}@s.whatsapp.net").parse().unwrap();
    let id = second
        .client
        .send_text(to, "read me")
        .await
        .unwrap()
        .message_id
        .to_string();
    let mut tries = 0;
    while sim.phone_messages(a).iter().all(|m| m.id != id) {
        tries += 1;
        assert!(tries < 100, "the phone never got the text");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sim.phone_mark_read(a, std::slice::from_ref(&id)).unwrap(),
        1
    );

    let (mut saw_notification, mut saw_receipt) = (false, false);
    raw.recv_until(WAIT, "the notification and the read receipt", |n| {
        saw_notification |= is_devices_notification(n);
        saw_receipt |= is_read_receipt(n, &id);
        saw_notification && saw_receipt
    })
    .await
    .unwrap();
    // Gone without a single <ack>.
    raw.close().await;

    let mut raw = dev.login(&sim).await.unwrap();
    let (queued, count) = raw.go_active().await.unwrap();
    let notification = queued.iter().position(is_devices_notification);
    let receipt = queued.iter().position(|n| is_read_receipt(n, &id));
    let (Some(notification), Some(receipt)) = (notification, receipt) else {
        panic!("both come again ({count} queued): {queued:?}");
    };
    assert!(notification < receipt, "in the order they were sent");
    for n in [&queued[notification], &queued[receipt]] {
        assert_eq!(attr(n, "offline").as_deref(), Some("1"), "{n:?}");
    }
    assert!(child(&queued[notification], "add").is_some());
    raw.close().await;
    second.shutdown().await;
}
