//! Reconnect through XXfallback, phone-side unlink, and a second login of one device.

use std::time::Duration;

use crate::common::*;
use wadesk_sim::{Pattern, SimConfig, SimEvent, Simulator};
use whatsapp_rust::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "flaky under load: the restart after XXfallback sometimes still uses XXfallback (the client's new server key not yet persisted at shutdown); run with --ignored"]
async fn rotated_server_key_reconnects_through_xx_fallback() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let c = paired_client(&sim, "15550003333", "Carol").await;
    let backend = c.shutdown().await;

    sim.rotate_static_key().unwrap();
    let mut sim_ev = sim.subscribe();
    let mut c = TestClient::start(&sim, Some(backend), None).await;
    let pattern = sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "handshake",
        |e| match e {
            SimEvent::Handshake {
                pattern,
                login: Some(_),
                ..
            } => Some(*pattern),
            _ => None,
        },
    )
    .await;
    assert_eq!(pattern, Pattern::XxFallback);
    c.wait_connected(Duration::from_secs(5)).await;
    // Let the client persist the new server key before it stops.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The new key is cached: the next restart is IK again.
    let backend = c.shutdown().await;
    let mut c = TestClient::start(&sim, Some(backend), None).await;
    let pattern = sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "handshake",
        |e| match e {
            SimEvent::Handshake {
                pattern,
                login: Some(_),
                ..
            } => Some(*pattern),
            _ => None,
        },
    )
    .await;
    assert_eq!(pattern, Pattern::Ik);
    c.wait_connected(Duration::from_secs(5)).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_from_phone_logs_the_client_out() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut c = paired_client(&sim, "15550004444", "Dave").await;
    assert!(sim.unlink("15550004444", 1));
    c.wait_for(Duration::from_secs(5), "LoggedOut", |ev| match ev {
        Event::LoggedOut(_) => Some(()),
        _ => None,
    })
    .await;
    assert!(sim.phone("15550004444").unwrap().devices.is_empty());

    // Its keys are no longer accepted: a restarted client is refused at login.
    let backend = c.shutdown().await;
    let mut sim_ev = sim.subscribe();
    let mut c = TestClient::start(&sim, Some(backend), None).await;
    sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "login refused",
        |e| match e {
            SimEvent::LoginRefused { reason: 401, .. } => Some(()),
            _ => None,
        },
    )
    .await;
    c.wait_for(
        Duration::from_secs(5),
        "LoggedOut on connect",
        |ev| match ev {
            Event::LoggedOut(_) => Some(()),
            _ => None,
        },
    )
    .await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_login_of_a_device_replaces_the_first() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut first = paired_client(&sim, "15550005555", "Eve").await;
    // Same device credentials in a second client process.
    let mut second = TestClient::start(&sim, Some(first.backend.clone()), None).await;
    first
        .wait_for(Duration::from_secs(5), "StreamReplaced", |ev| match ev {
            Event::StreamReplaced(_) => Some(()),
            _ => None,
        })
        .await;
    second.wait_connected(Duration::from_secs(5)).await;
    assert_eq!(sim.online_devices(), vec![("15550005555".to_string(), 1)]);
    second.shutdown().await;
    first.shutdown().await;
}
