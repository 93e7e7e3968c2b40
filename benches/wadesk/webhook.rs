//! Row `webhook`: inbound message to webhook delivery, at a steady rate
//! (issue 6; issue 9 row 4).
//!
//! One phone is linked and its webhook set (message.received only) to an axum
//! receiver in this process on 127.0.0.1. A virtual phone sends it a text
//! every 100 ms for 20 s. Latency of one message: the receiver's arrival time
//! minus the moment the benchmark asked the virtual phone to send it (both
//! `Instant`s of this process). The path in between: simulator encrypts and
//! routes, whatsapp-rust decrypts in the gateway, the message and its event
//! are stored (SQLite), the webhook worker signs and POSTs it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use axum::{Router, body::Bytes, extract::State, routing::post};
use serde_json::{Value, json};
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::{Gateway, Latencies, ms};

const RATE_PER_SEC: u64 = 10;
const DURATION: Duration = Duration::from_secs(20);
const WARMUP: usize = 5;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn hook(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
    let now = Instant::now();
    if let Ok(event) = serde_json::from_slice::<Value>(&body)
        && let Some(id) = event["message"]["id"].as_str()
    {
        arrivals.lock().unwrap().entry(id.to_owned()).or_insert(now);
    }
    "ok"
}

/// An axum receiver on 127.0.0.1; its URL and what arrived when.
pub async fn receiver() -> anyhow::Result<(String, Arrivals, tokio::task::JoinHandle<()>)> {
    let arrivals: Arrivals = Arc::default();
    let router = Router::new()
        .route("/hook", post(hook))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((format!("http://{addr}/hook"), arrivals, task))
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Arc::new(Simulator::start(SimConfig::default()).await?);
    let gateway = Gateway::start_with(
        &sim,
        &[("WADESK__FETCH__ALLOW_RANGES", r#"["127.0.0.0/8"]"#)],
    )
    .await?;
    let (ours, theirs) = ("15559880000", "15559880001");
    let phone_id = gateway.link(&sim, ours).await?;
    sim.create_phone(theirs);
    let (url, arrivals, receiver_task) = receiver().await?;
    let (status, body) = gateway
        .post(
            "/api/webhook/set",
            &json!({"phone_id": phone_id, "webhook_url": url, "events": ["message.received"]}),
        )
        .await?;
    if status != 200 {
        bail!("webhook/set answered {status}: {body}");
    }

    // Warm-up: the first messages set up Signal sessions.
    for i in 0..WARMUP {
        let id = sim
            .phone_send_text(theirs, ours, &format!("warm-up {i}"))
            .await?;
        wait_for(&arrivals, &id, Duration::from_secs(30)).await?;
    }

    let sent: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let count = DURATION.as_secs() * RATE_PER_SEC;
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / RATE_PER_SEC));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for i in 0..count {
        ticker.tick().await;
        let (sim, sent) = (sim.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            let id = sim
                .phone_send_text(theirs, ours, &format!("message {i}"))
                .await?;
            sent.lock().unwrap().push((id, at));
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let sent = sent.lock().unwrap().clone();
    let last = sent
        .last()
        .map(|(id, _)| id.clone())
        .context("nothing sent")?;
    let _ = wait_for(&arrivals, &last, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let arrived = arrivals.lock().unwrap().clone();
    let latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| arrived.get(id).map(|t| t.saturating_duration_since(*at)))
        .collect();
    let lost = sent.len() - latencies.len();
    let l = Latencies::new(latencies);
    receiver_task.abort();
    drop(gateway);
    sim.shutdown();

    println!(
        "{:<8} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9}",
        "row", "rate/s", "sent", "lost", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<8} {:>6} {:>6} {:>5} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        "webhook",
        RATE_PER_SEC,
        sent.len(),
        lost,
        ms(l.q(0.5)),
        ms(l.q(0.9)),
        ms(l.q(0.99)),
        ms(l.max()),
    );
    Ok(())
}

async fn wait_for(arrivals: &Arrivals, id: &str, within: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while !arrivals.lock().unwrap().contains_key(id) {
        if started.elapsed() > within {
            bail!("message {id} never reached the webhook receiver");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}
