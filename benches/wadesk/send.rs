//! Row `send`: text messages per second from a send request to their arrival
//! at a virtual phone (issue 9 row 3).
//!
//! Baseline, same simulator: a bare whatsapp-rust client (in-memory store,
//! the gateway's TCP_NODELAY transport, paired by QR to its own number) in this process sends M texts with its
//! own `send_text`, one after another (it returns once the message is on
//! its way, so this loop pipelines), and again waiting for the server's ack
//! of each message before sending the next, and waiting for the ack after
//! the `is_on_whatsapp` check the gateway makes before each send; and,
//! pipelined again, the same client on the gateway's own persistent store
//! (wastore over a SQLite file), which writes the Signal state each send
//! changes. Then the gateway, one linked phone:
//! M sends through POST /api/send, then M through gRPC SendService.SendText,
//! each one after another (the API answers once WhatsApp has the message),
//! and M through POST /api/send from 8 clients at once.
//! Each run's rate: M / (time from the first send until the virtual phone
//! has received all M). Every sender sends a few warm-up texts first
//! (Signal session set-up).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use async_trait::async_trait;
use serde_json::json;
use wacore::{
    net::{HttpClient, HttpRequest, HttpResponse},
    store::InMemoryBackend,
};
use wadesk::{
    proto::{self, send_service_client::SendServiceClient},
    sessions::engine::NoDelayTransport,
};
use wadesk_sim::{SimConfig, Simulator};
use whatsapp_rust::prelude::*;

use crate::gateway::Gateway;

const MESSAGES: usize = 2_000;
const WARMUP: usize = 5;
const RECIPIENT: &str = "15559950009";

/// The bare client never needs HTTP (no media is sent).
struct NoHttp;

#[async_trait]
impl HttpClient for NoHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        bail!("the bench's bare client has no network ({})", request.url)
    }
}

/// A bare whatsapp-rust client paired as `number`, Connected; and the ids
/// of the server acks it gets from then on.
async fn bare_client(
    sim: &Simulator,
    number: &str,
    backend: Arc<dyn wacore::store::traits::Backend>,
) -> anyhow::Result<(BotHandle, tokio::sync::mpsc::UnboundedReceiver<String>)> {
    sim.create_phone(number);
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend_arc(backend)
        // TCP_NODELAY as in the gateway: the stock factory leaves Nagle on,
        // and every request/answer then waits ~40 ms on a delayed ACK.
        .with_transport_factory(NoDelayTransport::new(
            sim.ws_url(),
            tokio::sync::mpsc::unbounded_channel().0,
        ))
        .with_http_client(NoHttp)
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .skip_history_sync()
        .with_event_delivery(EventDelivery::Ordered { capacity: 4096 })
        .on_event(move |ev, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ev);
            }
        })
        .build()
        .await?;
    let handle = bot.spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, events.recv())
            .await
            .context("the bare client did not connect within 60 s")?
            .context("the bare client's events ended")?;
        match &*ev {
            Event::PairingQrCode(q) => {
                sim.scan(&q.code, number).await?;
            }
            Event::Connected(_) => break,
            Event::LoggedOut(l) => bail!("bare client logged out: {l:?}"),
            _ => {}
        }
    }
    // Keep draining events so the ordered channel never fills.
    let (acks_tx, acks) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let Event::ServerAck(ack) = &*ev {
                let _ = acks_tx.send(ack.id.clone());
            }
        }
    });
    Ok((handle, acks))
}

fn received_from(sim: &Simulator, from: &str) -> usize {
    sim.phone_messages(RECIPIENT)
        .iter()
        .filter(|m| m.from == from)
        .count()
}

async fn wait_received(sim: &Simulator, from: &str, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    while received_from(sim, from) < n {
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "{} of {n} messages from {from} arrived",
                received_from(sim, from)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Sends WARMUP + MESSAGES texts with `send(i)` one after another; the
/// measured part's messages per second, to arrival.
async fn measure<F, Fut>(sim: &Simulator, from: &str, send: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let before = received_from(sim, from);
    for i in 0..WARMUP {
        send(i).await?;
    }
    wait_received(sim, from, before + WARMUP).await?;
    let started = Instant::now();
    for i in 0..MESSAGES {
        send(WARMUP + i).await?;
    }
    wait_received(sim, from, before + WARMUP + MESSAGES).await?;
    Ok(MESSAGES as f64 / started.elapsed().as_secs_f64())
}

/// Clients sending at once in the concurrent run.
const CONCURRENT: usize = 8;

/// As [`measure`], with CONCURRENT sends in flight.
async fn measure_concurrent<F, Fut>(sim: &Simulator, from: &str, send: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    use futures::{StreamExt, TryStreamExt};
    let before = received_from(sim, from);
    let started = Instant::now();
    futures::stream::iter(0..MESSAGES)
        .map(&send)
        .buffer_unordered(CONCURRENT)
        .try_collect::<Vec<()>>()
        .await?;
    wait_received(sim, from, before + MESSAGES).await?;
    Ok(MESSAGES as f64 / started.elapsed().as_secs_f64())
}

/// [`measure`] of a bare client's own `send_text` loop (pipelined: each
/// call returns once the message is on its way).
async fn pipelined(
    sim: &Simulator,
    from: &str,
    client: &Arc<whatsapp_rust::Client>,
    to: &Jid,
    label: &str,
) -> anyhow::Result<f64> {
    measure(sim, from, |i| {
        let (client, to) = (client.clone(), to.clone());
        async move {
            client.send_text(to, &format!("{label} {i}")).await?;
            Ok(())
        }
    })
    .await
}

/// Sends one text with the bare client and waits for the server's ack of it.
async fn send_acked(
    client: &std::sync::Arc<whatsapp_rust::Client>,
    to: Jid,
    text: String,
    acks: &tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
) -> anyhow::Result<()> {
    let id = client.send_text(to, &text).await?.message_id.to_string();
    let mut acks = acks.lock().await;
    loop {
        let got = tokio::time::timeout(Duration::from_secs(30), acks.recv())
            .await
            .context("no server ack within 30 s")?
            .context("the bare client's events ended")?;
        if got == id {
            return Ok(());
        }
    }
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    sim.create_phone(RECIPIENT);
    let to: Jid = format!("{RECIPIENT}@s.whatsapp.net").parse()?;

    let bare_number = "15559950000";
    let (bare, acks) = bare_client(&sim, bare_number, Arc::new(InMemoryBackend::new())).await?;
    let acks = tokio::sync::Mutex::new(acks);
    let client = bare.client();
    let alone = pipelined(&sim, bare_number, &client, &to, "bare").await?;
    // The same loop, each send waiting for the server's ack before the next:
    // one message in flight at a time, as the gateway's sequential clients.
    let acked = measure(&sim, bare_number, |i| {
        let (client, to, acks) = (client.clone(), to.clone(), &acks);
        async move { send_acked(&client, to, format!("acked {i}"), acks).await }
    })
    .await?;
    // ... and with the is_on_whatsapp check (a usync round trip) the
    // gateway makes before every send (src/sessions/outbox.rs).
    let checked = measure(&sim, bare_number, |i| {
        let (client, to, acks) = (client.clone(), to.clone(), &acks);
        async move {
            client
                .contacts()
                .is_on_whatsapp(std::slice::from_ref(&to))
                .await?;
            send_acked(&client, to, format!("checked {i}"), acks).await
        }
    })
    .await?;
    bare.shutdown().await;

    // The same client on the gateway's own whatsapp-rust store (wastore,
    // SeaORM over a SQLite file with the gateway's settings): every send
    // writes the Signal state it changed, as a gateway must.
    let stored_number = "15559950002";
    let dir = tempfile::tempdir()?;
    let db = wadesk::store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bare.db").display()
    ))
    .await?;
    let (stored, _stored_acks) = bare_client(
        &sim,
        stored_number,
        Arc::new(wadesk_wastore::SeaOrmBackend::new(db, "bare")),
    )
    .await?;
    let with_store = pipelined(&sim, stored_number, &stored.client(), &to, "stored").await?;
    stored.shutdown().await;

    let gateway = Gateway::start(&sim).await?;
    let ours = "15559950001";
    let phone_id = gateway.link(&sim, ours).await?;
    let rest_send = |i: usize| {
        let (gateway, phone_id) = (&gateway, phone_id.clone());
        async move {
            let (status, body) = gateway
                .post(
                    "/api/send",
                    &json!({"phone_id": phone_id, "to": RECIPIENT, "message": format!("rest {i}")}),
                )
                .await?;
            if status != 200 {
                bail!("send answered {status}: {body}");
            }
            Ok(())
        }
    };
    let rest = measure(&sim, ours, &rest_send).await?;
    // The same sends from CONCURRENT clients at once.
    let rest_concurrent = measure_concurrent(&sim, ours, &rest_send).await?;

    let (channel, bearer) = gateway.grpc().await?;
    let grpc_client = SendServiceClient::with_interceptor(channel, bearer);
    let grpc = measure(&sim, ours, |i| {
        let (mut client, phone_id) = (grpc_client.clone(), phone_id.clone());
        async move {
            client
                .send_text(proto::SendTextRequest {
                    phone_id,
                    to: RECIPIENT.to_owned(),
                    message: format!("grpc {i}"),
                    ..Default::default()
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    drop(gateway);
    sim.shutdown();

    println!(
        "{:<5} {:<30} {:>8} {:>10} {:>8}",
        "row", "sender", "messages", "msg/s", "ratio"
    );
    for (name, rate) in [
        ("whatsapp-rust alone", alone),
        ("whatsapp-rust, ack each", acked),
        ("whatsapp-rust, usync+ack each", checked),
        ("whatsapp-rust, SQLite store", with_store),
        ("gateway POST /api/send", rest),
        ("gateway POST, 8 at once", rest_concurrent),
        ("gateway gRPC SendText", grpc),
    ] {
        println!(
            "{:<5} {:<30} {:>8} {:>10.1} {:>7.2}x",
            "send",
            name,
            MESSAGES,
            rate,
            rate / alone
        );
    }
    Ok(())
}
