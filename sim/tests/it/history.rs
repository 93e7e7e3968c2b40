//! The initial history sync a phone sends a companion it has just linked.

use std::time::Duration;

use wadesk_sim::{SimConfig, SimEvent, Simulator};
use whatsapp_rust::prelude::*;

use crate::common::*;

/// After a fresh link the phone announces the initial bootstrap; whatsapp-rust
/// fetches its blob from the media host, checks and inflates it, and reports
/// it. It is sent once: the next login gets no second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freshly_linked_companion_gets_the_initial_history_sync() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ev = sim.subscribe();
    let number = "15554460001";
    sim.create_phone(number);
    let mut c = TestClient::start_syncing_history(&sim, "History").await;
    let qr = c.wait_qr().await;
    sim.scan(&qr, number).await.unwrap();
    let sync = c
        .wait_for(Duration::from_secs(30), "the history sync", |e| match e {
            Event::HistorySync(h) => Some(h.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        sync.sync_type(),
        waproto::whatsapp::history_sync::HistorySyncType::InitialBootstrap as i32
    );
    assert_eq!(sync.progress(), Some(100));
    let parsed = sync.get().expect("the blob parses as a HistorySync");
    assert!(parsed.conversations.is_empty());
    sim_wait(
        &mut ev,
        Duration::from_secs(5),
        "HistorySyncSent",
        |e| match e {
            SimEvent::HistorySyncSent { number: n, device } if n == number => Some(*device),
            _ => None,
        },
    )
    .await;
    assert_eq!(
        sim.media_blob_count(),
        0,
        "the phone's blob is not an upload"
    );

    // A restart is no fresh link.
    let backend = c.shutdown().await;
    let mut c = TestClient::start(&sim, Some(backend), None).await;
    c.wait_connected(Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = std::iter::from_fn(|| ev.try_recv().ok())
        .filter(|e| matches!(e, SimEvent::HistorySyncSent { .. }))
        .count();
    assert_eq!(again, 0);
    c.shutdown().await;
}
