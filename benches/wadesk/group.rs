//! Row `group-send`: texts to a group of 255 virtual phones through the API
//! (issue 21), beside 1:1 texts in the same run.
//!
//! One linked Pro phone. Baseline: M texts to one virtual phone through
//! POST /api/send, one after another, timed until the phone has them all;
//! the first of them (a new Signal session) timed alone. Then a group of
//! 255 virtual phones made through POST /api/phones/{id}/groups: its first
//! text timed until all 255 decrypted it (the sender-key distribution to
//! 255 devices: one `pkmsg` each), then M texts one after another until
//! every participant has every one. Gateway CPU (user + system, from
//! /proc/PID/stat) per message for both runs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::Gateway;

/// Participants besides the gateway's phone.
const MEMBERS: usize = 255;
/// Texts per run.
const MESSAGES: usize = 100;
const OURS: &str = "15559960000";
const SOLO: &str = "15559969999";

fn member(i: usize) -> String {
    format!("1555996{i:04}")
}

/// CPU time the process has used (user + system), from /proc/PID/stat.
fn cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (Linux only)"))?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').context("/proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).context("utime")?.parse::<u64>()?
        + fields.get(12).context("stime")?.parse::<u64>()?;
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis(ticks * 10))
}

/// How many of `numbers` have received every text in `ids`.
fn complete(sim: &Simulator, numbers: &[String], ids: &[String]) -> usize {
    numbers
        .iter()
        .filter(|n| {
            let got: std::collections::HashSet<String> =
                sim.phone_messages(n).into_iter().map(|m| m.id).collect();
            ids.iter().all(|id| got.contains(id))
        })
        .count()
}

async fn wait_all(sim: &Simulator, numbers: &[String], ids: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let done = complete(sim, numbers, ids);
        if done == numbers.len() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "{done} of {} phones have all {} texts",
                numbers.len(),
                ids.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(gateway: &Gateway, phone_id: &str, to: &str, text: String) -> anyhow::Result<String> {
    let (status, body) = gateway
        .post(
            "/api/send",
            &json!({"phone_id": phone_id, "to": to, "message": text}),
        )
        .await?;
    if status != 200 {
        bail!("send to {to} answered {status}: {body}");
    }
    Ok(body["message_id"]
        .as_str()
        .context("message_id")?
        .to_owned())
}

/// The first text to `to`, timed until all of `numbers` have it; then
/// MESSAGES more, one after another: (first, rate, CPU per message).
async fn run_to(
    sim: &Simulator,
    gateway: &Gateway,
    phone_id: &str,
    to: &str,
    numbers: &[String],
) -> anyhow::Result<(Duration, f64, Duration)> {
    let started = Instant::now();
    let first = send(gateway, phone_id, to, "first".into()).await?;
    wait_all(sim, numbers, std::slice::from_ref(&first)).await?;
    let first_time = started.elapsed();
    let pid = gateway.child_id()?;
    let cpu_before = cpu(pid)?;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        ids.push(send(gateway, phone_id, to, format!("text {i}")).await?);
    }
    wait_all(sim, numbers, &ids).await?;
    let elapsed = started.elapsed();
    let cpu_used = cpu(pid)? - cpu_before;
    Ok((
        first_time,
        MESSAGES as f64 / elapsed.as_secs_f64(),
        cpu_used / MESSAGES as u32,
    ))
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    let members: Vec<String> = (0..MEMBERS).map(member).collect();
    for n in &members {
        sim.create_phone(n);
    }
    sim.create_phone(SOLO);
    let gateway = Gateway::start(&sim).await?;
    let phone_id = gateway.link(&sim, OURS).await?;
    gateway.cli(&["phone", "set-plan", &phone_id, "pro"])?;
    // The running server reads the plan through its phone cache.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let solo = [SOLO.to_owned()];
    let (solo_first, solo_rate, solo_cpu) = run_to(&sim, &gateway, &phone_id, SOLO, &solo).await?;

    let (status, created) = gateway
        .post(
            &format!("/api/phones/{phone_id}/groups"),
            &json!({"subject": "Bench", "participants": members}),
        )
        .await?;
    if status != 200 {
        bail!("creating the group answered {status}: {created}");
    }
    let group = created["group"]["group_id"]
        .as_str()
        .context("group_id")?
        .to_owned();
    let (group_first, group_rate, group_cpu) =
        run_to(&sim, &gateway, &phone_id, &group, &members).await?;
    drop(gateway);
    sim.shutdown();

    println!(
        "{:<10} {:<34} {:>8} {:>12} {:>10} {:>14} {:>8}",
        "row", "to", "messages", "first (ms)", "msg/s", "CPU ms/msg", "ratio"
    );
    for (name, first, rate, cpu) in [
        ("1 virtual phone (1:1)", solo_first, solo_rate, solo_cpu),
        (
            "group of 255 virtual phones",
            group_first,
            group_rate,
            group_cpu,
        ),
    ] {
        println!(
            "{:<10} {:<34} {:>8} {:>12.1} {:>10.1} {:>14.2} {:>7.2}x",
            "group-send",
            name,
            MESSAGES,
            first.as_secs_f64() * 1000.0,
            rate,
            cpu.as_secs_f64() * 1000.0,
            rate / solo_rate
        );
    }
    Ok(())
}
