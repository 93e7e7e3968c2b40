//! Row `coldstart`: from launching `wadesk serve` to the first successful
//! GET /api/phones (authenticated, listing every phone), with 0 linked
//! phones and with N (issue 9 row 7). The same data directory is restarted
//! each time (the previous process is SIGKILLed); the launch is timed from
//! just before the process is spawned, polling every 5 ms. With N phones it
//! also times until the simulator sees all N devices online again (not part
//! of the target: connections may finish after the first request), and
//! counts how many phones that first answer listed as connected and how
//! many devices the simulator saw online at that moment.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::bail;
use futures::{StreamExt, TryStreamExt};
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::{Gateway, ms};

const RUNS: usize = 3;
/// Pairings in flight at once while linking.
const CONCURRENCY: usize = 10;

/// Launch to the first 200 on GET /api/phones listing `phones` phones; and
/// how many of them that answer called connected.
async fn first_request(
    gateway: &mut Gateway,
    sim: &Simulator,
    phones: usize,
) -> anyhow::Result<(Instant, Duration, usize, usize)> {
    gateway.kill();
    // The simulator has seen every connection of the killed process close.
    let closing = Instant::now();
    while !sim.online_devices().is_empty() {
        if closing.elapsed() > Duration::from_secs(30) {
            bail!("the simulator still sees devices online 30 s after the kill");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    gateway.spawn()?;
    loop {
        if let Ok(response) = gateway
            .request(reqwest::Method::GET, "/api/phones")
            .send()
            .await
            && response.status().is_success()
        {
            let took = started.elapsed();
            let online = sim.online_devices().len();
            let body: serde_json::Value = response.json().await?;
            let listed = body["phones"].as_array().map_or(&[][..], Vec::as_slice);
            if listed.len() != phones {
                bail!(
                    "the restarted gateway lists {} of {phones} phones",
                    listed.len()
                );
            }
            let connected = listed.iter().filter(|p| p["status"] == "connected").count();
            return Ok((started, took, connected, online));
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("no answer to GET /api/phones within 120 s of launch");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn run(linked: usize) -> anyhow::Result<()> {
    let sim = Arc::new(Simulator::start(SimConfig::default()).await?);
    let mut gateway = Gateway::start(&sim).await?;

    let mut empty = Vec::new();
    for _ in 0..RUNS {
        empty.push(first_request(&mut gateway, &sim, 0).await?.1);
    }

    let link_started = Instant::now();
    {
        let gateway = &gateway;
        futures::stream::iter(0..linked)
            .map(|i| {
                let sim = sim.clone();
                async move {
                    gateway
                        .link(&sim, &format!("1555930{i:04}"))
                        .await
                        .map(drop)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
    }
    let link_took = link_started.elapsed();
    gateway
        .wait_connected(linked, Duration::from_secs(60))
        .await?;

    let mut full = Vec::new();
    let mut reconnected = Vec::new();
    let mut said_connected = Vec::new();
    for _ in 0..RUNS {
        let (launched, first, connected, online) =
            first_request(&mut gateway, &sim, linked).await?;
        // Online again by the simulator's count (the gateway's list may
        // still show the status stored before the kill).
        while sim.online_devices().len() < linked {
            if launched.elapsed() > Duration::from_secs(600) {
                bail!("not every phone reconnected within 600 s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        reconnected.push(launched.elapsed());
        full.push(first);
        said_connected.push(format!("{connected} ({online})"));
    }
    drop(gateway);
    sim.shutdown();

    println!(
        "{:<9} {:>6} {:>14} {:>14} {:>16}   listed as connected (online in the simulator) at the first answer",
        "row", "phones", "first request", "(all runs)", "all online again"
    );
    let runs = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.0}", ms(*d)))
            .collect::<Vec<_>>()
            .join("/")
    };
    println!(
        "{:<9} {:>6} {:>11.0} ms {:>14} {:>16}   -",
        "coldstart",
        0,
        ms(median(empty.clone())),
        runs(&empty),
        "-"
    );
    println!(
        "{:<9} {:>6} {:>11.0} ms {:>14} {:>14.1} s   {}",
        "coldstart",
        linked,
        ms(median(full.clone())),
        runs(&full),
        median(reconnected).as_secs_f64(),
        said_connected.join("/"),
    );
    println!(
        "coldstart {linked} phones / 0: {:.2}x (median of {RUNS}; linking the {linked} took {:.1} s)",
        ms(median(full)) / ms(median(empty)),
        link_took.as_secs_f64()
    );
    Ok(())
}
