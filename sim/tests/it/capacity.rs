//! Capacity: N real clients paired and connected to one simulator process at once.
//! Ignored by default (it is a benchmark); run it in release mode:
//!   SIM_CLIENTS=1000 cargo test --release -p wadesk-sim --test it capacity -- --ignored --nocapture
//! It reports the simulator process's resident memory per connected client.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use std::io::{BufRead, BufReader};
use whatsapp_rust::TokioRuntime;
use whatsapp_rust::prelude::*;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn admin_post(http: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    http_request("POST", &format!("{http}{path}"), &[], body.as_bytes())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with --release --ignored"]
async fn thousand_connected_clients() {
    let n: usize = std::env::var("SIM_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wadesk-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start wadesk-sim");
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ws = String::new();
    let mut http = String::new();
    while ws.is_empty() || http.is_empty() {
        let l = lines.next().expect("simulator output").unwrap();
        if let Some(u) = l.strip_prefix("websocket: ") {
            ws = u.to_string();
        } else if let Some(u) = l.strip_prefix("http:") {
            http = u.trim().to_string();
        }
    }
    let base_rss = rss_kib(pid);
    let t0 = Instant::now();
    let mut handles = Vec::new();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    for i in 0..n {
        let (ws, http, sem) = (ws.clone(), http.clone(), sem.clone());
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.unwrap();
            let number = format!("1666{i:07}");
            assert_eq!(
                admin_post(&http, &format!("/admin/phones/{number}"), "")
                    .await
                    .0,
                201
            );
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let bot = Bot::builder()
                .with_backend(wacore::store::InMemoryBackend::new())
                .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(ws))
                .with_http_client(NoHttp)
                .with_runtime(TokioRuntime)
                .with_version((2, 3000, 0))
                .skip_history_sync()
                .with_push_name(format!("c{i}"))
                .on_event(move |ev, _| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(ev);
                    }
                })
                .build()
                .await
                .unwrap();
            let handle = bot.spawn();
            loop {
                let ev = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                    .await
                    .expect("client event in time")
                    .unwrap();
                match &*ev {
                    Event::PairingQrCode(q) => {
                        let (s, b) =
                            admin_post(&http, &format!("/admin/phones/{number}/scan"), &q.code)
                                .await;
                        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
                    }
                    Event::Connected(_) => break,
                    _ => {}
                }
            }
            (handle, rx)
        }));
    }
    let mut clients = Vec::new();
    for h in handles {
        clients.push(h.await.unwrap());
    }
    let took = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss_kib(pid);
    let per = (rss.saturating_sub(base_rss)) as f64 / n as f64 / 1024.0;
    println!(
        "{n} clients paired and Connected in {took:?}; simulator RSS {:.1} MiB (idle {:.1} MiB): {per:.3} MiB per connected client",
        rss as f64 / 1024.0,
        base_rss as f64 / 1024.0
    );
    assert!(clients.iter().all(|(h, _)| h.client().is_connected()));
    for (h, _) in clients {
        h.abort();
    }
    let _ = child.kill();
    let _ = child.wait();
}
