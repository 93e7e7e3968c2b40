//! Row `fanout`: one event fanned out to 100 stream subscribers (issue 6).
//!
//! One phone is linked; S gRPC `MessageService.Subscribe` streams (tonic,
//! one HTTP/2 connection each, phone filter, `message.received` only) follow
//! it live. A virtual phone then sends one text at a time; per message, the
//! time from the send until the first and until the last (S-th) subscriber
//! has the event. S = 1 first (the baseline), then S = 100, same gateway,
//! same phone. Also the gateway's resident memory with 0 and with 100 open
//! streams.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use wadesk::proto::{self, message_service_client::MessageServiceClient};
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::{Gateway, Latencies, mib, ms};

const SUBSCRIBERS: usize = 100;
const EVENTS: usize = 50;
const SETTLE: Duration = Duration::from_secs(3);

/// What a subscriber saw: (subscriber, cursor, when).
type Seen = (usize, u64, Instant);

struct Subscribers {
    rx: tokio::sync::mpsc::UnboundedReceiver<Seen>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    n: usize,
}

impl Drop for Subscribers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn subscribe(gateway: &Gateway, phone_id: &str, n: usize) -> anyhow::Result<Subscribers> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for s in 0..n {
        let (channel, bearer) = gateway.grpc().await?;
        let mut client = MessageServiceClient::with_interceptor(channel, bearer);
        let mut stream = client
            .subscribe(proto::SubscribeRequest {
                phone_id: phone_id.to_owned(),
                cursor: 0,
                events: vec!["message.received".into()],
            })
            .await?
            .into_inner();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(event)) = stream.message().await {
                let _ = tx.send((s, event.cursor, Instant::now()));
            }
        }));
    }
    Ok(Subscribers { rx, tasks, n })
}

/// Per message: (send to first subscriber, send to last subscriber).
async fn measure(
    sim: &Simulator,
    ours: &str,
    theirs: &str,
    subs: &mut Subscribers,
    events: usize,
) -> anyhow::Result<(Latencies, Latencies)> {
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for i in 0..events {
        let at = Instant::now();
        sim.phone_send_text(theirs, ours, &format!("fan-out {i}"))
            .await?;
        let mut cursor = None;
        let mut times = Vec::with_capacity(subs.n);
        while times.len() < subs.n {
            let (s, c, t) = tokio::time::timeout(Duration::from_secs(30), subs.rx.recv())
                .await
                .context("a subscriber waited 30 s for an event")?
                .context("subscribers ended")?;
            if *cursor.get_or_insert(c) != c {
                bail!("subscriber {s} saw cursor {c} during another event's fan-out");
            }
            times.push(t);
        }
        times.sort();
        first.push(times[0].saturating_duration_since(at));
        last.push(times[times.len() - 1].saturating_duration_since(at));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((Latencies::new(first), Latencies::new(last)))
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Arc::new(Simulator::start(SimConfig::default()).await?);
    let gateway = Gateway::start(&sim).await?;
    let (ours, theirs) = ("15559890000", "15559890001");
    let phone_id = gateway.link(&sim, ours).await?;
    sim.create_phone(theirs);
    // Warm-up (Signal sessions), through one subscriber.
    let mut one = subscribe(&gateway, &phone_id, 1).await?;
    measure(&sim, ours, theirs, &mut one, 5).await?;
    drop(one);
    tokio::time::sleep(SETTLE).await;
    let rss_0 = gateway.rss_kib()?;

    let mut one = subscribe(&gateway, &phone_id, 1).await?;
    let (b_first, b_last) = measure(&sim, ours, theirs, &mut one, EVENTS).await?;
    drop(one);

    let mut many = subscribe(&gateway, &phone_id, SUBSCRIBERS).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_idle_subs = gateway.rss_kib()?;
    let (first, last) = measure(&sim, ours, theirs, &mut many, EVENTS).await?;
    let rss_n = gateway.rss_kib()?;
    drop(many);
    drop(gateway);
    sim.shutdown();

    println!(
        "{:<7} {:>5} {:>6} {:>11} {:>11} {:>10} {:>10}",
        "row", "subs", "events", "first p50", "first p99", "last p50", "last p99"
    );
    for (n, f, l) in [(1, &b_first, &b_last), (SUBSCRIBERS, &first, &last)] {
        println!(
            "{:<7} {:>5} {:>6} {:>8.1} ms {:>8.1} ms {:>7.1} ms {:>7.1} ms",
            "fanout",
            n,
            l.len(),
            ms(f.q(0.5)),
            ms(f.q(0.99)),
            ms(l.q(0.5)),
            ms(l.q(0.99)),
        );
    }
    println!(
        "fanout  last p50 {SUBSCRIBERS} / 1: {:.2}x   RSS 0 subs {:.1} MiB, {SUBSCRIBERS} subs {:.1} MiB (idle) {:.1} MiB (after events): {:.1} KiB per subscriber",
        ms(last.q(0.5)) / ms(b_last.q(0.5)),
        mib(rss_0),
        mib(rss_idle_subs),
        mib(rss_n),
        rss_n.saturating_sub(rss_0) as f64 / SUBSCRIBERS as f64,
    );
    Ok(())
}
