//! Row `phones`: N phones linked in one gateway process, all connected; the
//! gateway's resident memory with 0 and with N phones, and the time to link
//! them all (issue 4; issue 9 row 5).
//!
//! Each phone is created through the REST API and paired the way a user
//! does it: the QR stream (SSE) shows a code, the simulator's virtual phone
//! scans it, the stream ends with `connected`. Pairings run 10 at a time.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::{Gateway, mib};

/// Pairings in flight at once.
const CONCURRENCY: usize = 10;
/// Time for the linked sessions to finish their post-login work (prekey
/// upload, app-state) before memory is read.
const SETTLE: Duration = Duration::from_secs(5);

pub async fn run(phones: usize) -> anyhow::Result<()> {
    let sim = Arc::new(Simulator::start(SimConfig::default()).await?);
    let gateway = Arc::new(Gateway::start(&sim).await?);

    // Baseline: started, database open, no phone.
    let (status, list) = gateway.get("/api/phones").await?;
    if status != 200 || list["phones"].as_array().is_some_and(|p| !p.is_empty()) {
        bail!("a fresh gateway lists no phones; got {status} {list}");
    }
    tokio::time::sleep(SETTLE).await;
    let idle = gateway.rss_kib()?;

    let started = Instant::now();
    futures::stream::iter(0..phones)
        .map(|i| {
            let (sim, gateway) = (sim.clone(), gateway.clone());
            async move {
                gateway
                    .link(&sim, &format!("1555900{i:04}"))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let linked_in = started.elapsed();

    // Every phone is connected, by the gateway's account and the simulator's.
    let (_, list) = gateway.get("/api/phones").await?;
    let rows = list["phones"].as_array().context("phones list")?;
    let connected = rows.iter().filter(|p| p["status"] == "connected").count();
    if rows.len() != phones || connected != phones {
        bail!("{connected} of {phones} phones connected: {list}");
    }
    let online = sim.online_devices().len();
    if online != phones {
        bail!("the simulator sees {online} of {phones} devices online");
    }
    tokio::time::sleep(SETTLE).await;
    let (_, list) = gateway.get("/api/phones").await?;
    let still = list["phones"]
        .as_array()
        .map(|p| p.iter().filter(|p| p["status"] == "connected").count())
        .unwrap_or(0);
    if still != phones {
        bail!("only {still} of {phones} phones still connected after settling");
    }
    let linked = gateway.rss_kib()?;
    let peak = gateway.peak_kib()?;

    let per_phone = mib(linked.saturating_sub(idle)) / phones as f64;
    println!(
        "{:<8} {:>6} {:>10} {:>12} {:>12} {:>10} {:>7} {:>10}",
        "row", "phones", "link all", "RSS 0", "RSS N", "MiB/phone", "N / 0", "peak RSS"
    );
    println!(
        "{:<8} {:>6} {:>8.1} s {:>8.1} MiB {:>8.1} MiB {:>10.2} {:>6.2}x {:>6.1} MiB",
        "phones",
        phones,
        linked_in.as_secs_f64(),
        mib(idle),
        mib(linked),
        per_phone,
        linked as f64 / idle as f64,
        mib(peak),
    );
    drop(gateway);
    sim.shutdown();
    Ok(())
}
