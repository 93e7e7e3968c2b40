//! The gateway as users build it (no simulator, `cargo build --release`)
//! checks WhatsApp's certificate chain: pointed at the simulator, whose
//! chain WhatsApp did not sign, it never connects and says why. The test
//! binaries are built with the simulator, so scripts/test builds the
//! featureless binary first and names it in WADESK_TEST_FEATURELESS_BIN.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::json;
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    process::Gateway,
    support::{Api, Db, send},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_without_the_simulator_refuses_its_certificate() {
    let Ok(bin) = std::env::var("WADESK_TEST_FEATURELESS_BIN") else {
        eprintln!(
            "skipped: WADESK_TEST_FEATURELESS_BIN is not set (scripts/test builds the binary without the simulator and sets it)"
        );
        return;
    };
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::new(&Db::Sqlite, &sim, &dir, &[]).await;
    let command = |args: &[&str]| {
        let mut command = Command::new(&bin);
        command.envs(gateway.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command.env("RUST_LOG", "warn");
        command.args(args);
        command
    };
    let out = command(&["sim"]).output().unwrap();
    assert!(!out.status.success(), "this build has no simulator");
    let api = gateway.create_account(command(&[]));
    let log = dir.path().join("serve.log");
    let mut child = command(&["serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if reqwest::get(format!("{}/healthz", gateway.base))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the featureless gateway serves");
    let (status, body) = send(
        api.request(reqwest::Method::POST, "/api/phones")
            .json(&json!({"name": "Line"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let phone = body["phone"]["phone_id"].as_str().unwrap().to_owned();
    // Pairing starts the session: it dials the simulator, which presents a
    // certificate chain WhatsApp did not sign.
    let pairing = api
        .request(reqwest::Method::GET, &format!("/api/phones/{phone}/qr"))
        .send()
        .await
        .unwrap();
    assert_eq!(pairing.status(), 200);
    let mut said = String::new();
    for _ in 0..200 {
        said = std::fs::read_to_string(&log).unwrap_or_default();
        if said.contains("certificate verification failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        said.contains("Server certificate verification failed"),
        "the log says why it cannot connect: {said}"
    );
    assert!(
        sim.online_devices().is_empty(),
        "nothing logged in to the simulator"
    );
    // The handshake failure is not only in the log: the phone's status
    // carries it as its reason, and the pairing stream tells it.
    let mut status = json!(null);
    for _ in 0..200 {
        status = send(api.request(reqwest::Method::GET, &format!("/api/phones/{phone}/status")))
            .await
            .1;
        if status["reason"]
            .as_str()
            .is_some_and(|r| r.contains("handshake"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(status["status"], "connected", "{status}");
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("WhatsApp's handshake with 127.0.0.1:")
            && reason.contains("certificate chain is not signed by WhatsApp"),
        "the status says why: {status}"
    );
    let mut stream = pairing.bytes_stream();
    let mut seen = String::new();
    let told = tokio::time::timeout(Duration::from_secs(30), async {
        use futures::StreamExt as _;
        while let Some(Ok(chunk)) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("certificate chain is not signed by WhatsApp") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(told, "the pairing stream tells the cause: {seen}");
    child.kill().unwrap();
    child.wait().unwrap();
    sim.shutdown();
}
