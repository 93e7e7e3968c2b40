//! Offline delivery to a disconnected companion, garbage from a client, and
//! a simulated outage.

use std::time::Duration;

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use wadesk_sim::{SimConfig, SimEvent, Simulator};
use whatsapp_rust::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_for_a_disconnected_client_arrive_after_it_reconnects() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (a_num, b_num) = ("15557770001", "15557770002");
    let (a, b) = tokio::join!(
        paired_client(&sim, a_num, "Alice"),
        paired_client(&sim, b_num, "Bob"),
    );
    let b_backend = b.shutdown().await;
    let to: Jid = format!("{b_num}@s.whatsapp.net").parse().unwrap();
    let id = a
        .client
        .send_text(to, "while you were away")
        .await
        .unwrap()
        .message_id
        .to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut b = TestClient::start(&sim, Some(b_backend), None).await;
    let (got, offline) = b
        .wait_for(Duration::from_secs(10), "offline message", |ev| match ev {
            Event::Messages(batch) => batch.messages.iter().find_map(|m| {
                m.message
                    .text_content()
                    .map(|t| (t.to_string(), m.info.is_offline))
            }),
            _ => None,
        })
        .await;
    assert_eq!(got, "while you were away");
    assert!(offline, "delivered from the offline queue");
    let _ = id;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_a_client_closes_that_connection_only() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ev = sim.subscribe();
    for payload in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),      // no WA header
        b"WA\x06\x03\x00\x00\x05hello".to_vec(), // header + a frame that is no handshake
        b"WA\x06\x03\xff\xff\xff".to_vec(),      // header + a frame that never completes
    ] {
        let (mut ws, _) = tokio_websockets::ClientBuilder::new()
            .uri(&sim.ws_url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        ws.send(tokio_websockets::Message::binary(payload))
            .await
            .unwrap();
        let closed = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        match closed {
            Ok(None) | Ok(Some(Err(_))) => {}
            Ok(Some(Ok(m))) => assert!(m.is_close(), "server answered garbage with {m:?}"),
            Err(_) => {} // still waiting for the rest of a frame: fine, nothing crashed
        }
        drop(ws);
    }
    // The simulator is still fine: a real client pairs.
    sim.create_phone("15557770003");
    let mut c = TestClient::start(&sim, None, Some("After")).await;
    let qr = c.wait_qr().await;
    sim.scan(&qr, "15557770003").await.unwrap();
    c.wait_connected(Duration::from_secs(5)).await;
    let handshakes = std::iter::from_fn(|| ev.try_recv().ok())
        .filter(|e| matches!(e, SimEvent::Handshake { .. }))
        .count();
    assert!(handshakes >= 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_drops_clients_and_refuses_them_until_it_ends() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let number = "15557770004";
    let mut c = paired_client(&sim, number, "Outage").await;
    let online = sim.online_devices();
    assert_eq!(online.len(), 1);
    let mut ev = sim.subscribe();
    let http = sim.http_url();

    let (status, body) = http_request("POST", &format!("{http}/admin/outage"), &[], b"")
        .await
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["dropped"], serde_json::json!(1), "{body}");
    c.wait_for(Duration::from_secs(10), "Disconnected", |ev| match ev {
        Event::Disconnected(_) => Some(()),
        _ => None,
    })
    .await;
    // The client retries on its own and is refused while the outage lasts.
    sim_wait(
        &mut ev,
        Duration::from_secs(20),
        "a refused reconnect",
        |e| (*e == SimEvent::RefusedInOutage).then_some(()),
    )
    .await;
    assert!(
        sim.online_devices().is_empty(),
        "nobody gets in during an outage"
    );
    let (_, state) = http_request("GET", &format!("{http}/admin/outage"), &[], b"")
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&state), r#"{"outage":true}"#);

    let (status, _) = http_request("DELETE", &format!("{http}/admin/outage"), &[], b"")
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert!(!sim.in_outage());
    c.wait_connected(Duration::from_secs(30)).await;
    assert_eq!(
        sim.online_devices(),
        online,
        "the same device logs in again"
    );
    c.shutdown().await;
}
