//! Stopping the gateway as a service manager does: SIGTERM. For the drain
//! period health checks say NOT_SERVING (REST and gRPC) while requests are
//! still answered; then the process stops on its own, cleanly.

use std::time::{Duration, Instant};

use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{
    process::Gateway,
    support::{Api, Db, send},
};

async fn grpc_health(base: &str, service: &str) -> ServingStatus {
    let channel = tonic::transport::Channel::from_shared(base.to_owned())
        .unwrap()
        .connect()
        .await
        .expect("h2c connection");
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health answers")
        .into_inner();
    ServingStatus::try_from(answer.status).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_stops() {
    let sim = wadesk_sim::Simulator::start(wadesk_sim::SimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::new(
        &Db::Sqlite,
        &sim,
        &dir,
        &[("WADESK__SERVER__DRAIN_SECS", "5")],
    )
    .await;
    let api = gateway.create_account(gateway.command());
    let mut child = gateway.start().await;
    for service in ["", "wadesk.v1.SendService"] {
        // Readiness follows the listening socket by a moment (sessions
        // start after it): wait for it rather than race it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while grpc_health(&gateway.base, service).await != ServingStatus::Serving
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            grpc_health(&gateway.base, service).await,
            ServingStatus::Serving,
            "{service:?} before the signal"
        );
    }

    let signalled = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Draining: /readyz says so, gRPC health too, while the process is
    // alive (/healthz) and the API still works.
    let mut draining = None;
    for _ in 0..100 {
        let r = reqwest::get(format!("{}/readyz", gateway.base))
            .await
            .unwrap();
        if r.status() == 503 {
            draining = Some(r.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let draining = draining.expect("/readyz says 503 during the drain");
    assert_eq!(draining["status"], "not_ready", "{draining}");
    assert_eq!(draining["checks"]["draining"], true, "{draining}");
    assert_eq!(draining["checks"]["database"], "ok", "{draining}");
    let alive = reqwest::get(format!("{}/healthz", gateway.base))
        .await
        .unwrap();
    assert_eq!(alive.status(), 200, "liveness holds during the drain");
    for service in ["", "wadesk.v1.SendService"] {
        assert_eq!(
            grpc_health(&gateway.base, service).await,
            ServingStatus::NotServing,
            "{service:?} during the drain"
        );
    }
    let (status, body) = send(api.request(reqwest::Method::GET, "/api/phones")).await;
    assert_eq!(status, 200, "requests are still served: {body}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "checked inside the drain period"
    );

    // Then it stops by itself, cleanly.
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(5),
        "the drain period was waited out"
    );
    assert!(
        reqwest::get(format!("{}/healthz", gateway.base))
            .await
            .is_err(),
        "nothing listens after the stop"
    );
    sim.shutdown();
}
