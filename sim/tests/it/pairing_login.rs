//! Steps 1-3: handshake, QR pairing by a virtual phone, login to Connected, IK reconnect.
//! Every client here is the real whatsapp-rust 0.7 client over a loopback websocket.

use std::time::{Duration, Instant};

use crate::common::*;
use wadesk_sim::{Pattern, SimConfig, SimEvent, Simulator};
use whatsapp_rust::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_client_handshakes_xx_and_shows_qr() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut sim_ev = sim.subscribe();
    let mut c = TestClient::start(&sim, None, Some("Tester")).await;

    let (pattern, registration) = sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "handshake",
        |e| match e {
            SimEvent::Handshake {
                pattern,
                registration,
                ..
            } => Some((*pattern, *registration)),
            _ => None,
        },
    )
    .await;
    assert_eq!(pattern, Pattern::Xx);
    assert!(
        registration,
        "an unpaired client sends a registration payload"
    );

    let qr = c.wait_qr().await;
    let fields: Vec<&str> = qr.split(',').collect();
    assert_eq!(fields.len(), 5, "ref,noise,identity,adv,platform: {qr}");
    assert!(fields[0].starts_with("2@"));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_pairs_then_login_connects_and_ik_reconnects() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut sim_ev = sim.subscribe();
    let number = "15550001111";
    sim.create_phone(number);

    let mut c = TestClient::start(&sim, None, Some("Alice Desk")).await;
    let qr = c.wait_qr().await;

    // Unknown numbers cannot scan; unknown QR texts match no client.
    assert!(sim.scan(&qr, "19990000000").await.is_err());
    let bogus = qr.replacen(
        qr.split(',').nth(1).unwrap(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        1,
    );
    assert!(sim.scan(&bogus, number).await.is_err());

    let paired = sim.scan(&qr, number).await.expect("scan");
    assert_eq!(paired.device, 1);

    let (id, lid) = c
        .wait_for(Duration::from_secs(10), "PairSuccess", |ev| match ev {
            Event::PairSuccess(p) => Some((p.id.clone(), p.lid.clone())),
            Event::PairError(e) => panic!("pair error: {e:?}"),
            _ => None,
        })
        .await;
    assert_eq!(id.user.as_str(), number);
    assert_eq!(id.device, 1);
    assert_eq!(lid.to_string(), paired.lid);

    sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "pair-device-sign",
        |e| match e {
            SimEvent::PairSigned {
                number: n,
                device: 1,
            } if n == number => Some(()),
            _ => None,
        },
    )
    .await;
    // After the 515 the client logs in as the new device.
    let pattern = sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "login handshake",
        |e| match e {
            SimEvent::Handshake {
                pattern,
                login: Some((u, 1)),
                ..
            } if u.to_string() == number => Some(*pattern),
            _ => None,
        },
    )
    .await;
    assert_eq!(
        pattern,
        Pattern::Xx,
        "first login after pairing is a full handshake"
    );

    let t0 = Instant::now();
    // Fresh pairing: the virtual phone shares the app-state key over Signal, so the
    // client does not sit out its 10 s key-share grace.
    c.wait_connected(Duration::from_secs(5)).await;
    let took = t0.elapsed();
    eprintln!("first login reached Connected in {took:?}");
    assert!(took < Duration::from_secs(2), "first login took {took:?}");
    assert!(c.client.is_logged_in());

    // The prekey upload (sent in parallel with the login IQs) reached the directory.
    let uploaded = sim_wait(
        &mut sim_ev,
        Duration::from_secs(5),
        "prekey upload",
        |e| match e {
            SimEvent::PreKeysUploaded {
                number: n,
                device: 1,
                count,
            } if n == number => Some(*count),
            _ => None,
        },
    )
    .await;
    assert!(uploaded > 100, "prekeys uploaded: {uploaded}");
    let info = sim.phone(number).unwrap();
    let dev = info.devices.iter().find(|d| d.id == 1).unwrap();
    assert!(
        dev.signed,
        "device identity from pair-device-sign is stored"
    );
    assert!(
        dev.prekeys_available > 100,
        "prekeys uploaded: {}",
        dev.prekeys_available
    );
    assert_eq!(sim.online_devices(), vec![(number.to_string(), 1)]);

    // Restart the client on the same store: IK handshake, fast Connected.
    let backend = c.shutdown().await;
    let t0 = Instant::now();
    let mut c = TestClient::start(&sim, Some(backend), None).await;
    let pattern = sim_wait(
        &mut sim_ev,
        Duration::from_secs(10),
        "reconnect handshake",
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
    assert_eq!(pattern, Pattern::Ik, "a restarted client resumes with IK");
    c.wait_connected(Duration::from_secs(5)).await;
    let took = t0.elapsed();
    eprintln!("restart + IK login reached Connected in {took:?}");
    assert!(took < Duration::from_secs(2), "login took {took:?}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_code_links_with_phone_number() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let number = "15550006666";
    sim.create_phone(number);
    let backend = std::sync::Arc::new(wacore::store::InMemoryBackend::new());
    let mut c = TestClient::start(&sim, Some(backend), Some("Code User")).await;
    let code = "ABCD2345";
    let _qr = c.wait_qr().await; // connected and registering
    c.client
        .pair_with_code(whatsapp_rust::pair_code::PairCodeOptions {
            phone_number: number.into(),
            custom_code: Some(code.into()),
            ..Default::default()
        })
        .await
        .expect("companion_hello accepted");
    // A wrong code or an unknown number is refused.
    assert!(sim.enter_pair_code("19990000001", code).is_err());
    sim.enter_pair_code(number, code)
        .expect("phone accepts the code");
    let id = c
        .wait_for(Duration::from_secs(10), "PairSuccess", |ev| match ev {
            Event::PairSuccess(p) => Some(p.id.clone()),
            Event::PairError(e) => panic!("pair error: {e:?}"),
            _ => None,
        })
        .await;
    assert_eq!(id.user.as_str(), number);
    c.wait_connected(Duration::from_secs(5)).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_refresh_rotates_the_code_and_a_stale_code_is_refused() {
    init_logs();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let number = "15550007777";
    sim.create_phone(number);
    let mut sim_ev = sim.subscribe();
    let mut c = TestClient::start(&sim, None, Some("Rotating")).await;
    let first = c.wait_qr().await;
    assert_eq!(sim.refresh_qr_codes(), 1);
    let second = c.wait_qr().await;
    let f: Vec<&str> = first.split(',').collect();
    let s: Vec<&str> = second.split(',').collect();
    assert_eq!(f[0], s[0], "same ref");
    assert_ne!(f[3], s[3], "new adv secret");

    // The stale code is refused by the client (hmac-mismatch) and the link undone.
    sim.scan(&first, number).await.unwrap();
    sim_wait(
        &mut sim_ev,
        Duration::from_secs(5),
        "pair refused",
        |e| match e {
            SimEvent::PairRefused { .. } => Some(()),
            _ => None,
        },
    )
    .await;
    assert!(sim.phone(number).unwrap().devices.is_empty());
    // The current one links.
    sim.scan(&second, number).await.unwrap();
    c.wait_connected(Duration::from_secs(5)).await;
    c.shutdown().await;
}
