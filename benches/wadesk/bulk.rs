//! Row `bulk`: accepting a 100,000-number campaign (issue 9 row 6).
//!
//! POST /api/bulk-send with 100,000 distinct valid numbers to a connected Pro
//! phone; the answer comes once the campaign and every recipient are
//! persisted. Measured: the request's wall time and the growth of the
//! gateway's peak resident memory (`VmHWM`, reset through
//! `/proc/PID/clear_refs` just before the request). The campaign's delay is
//! an hour, so its worker sends at most one message before it is cancelled.
//!
//! Baseline, same invocation: the same 100,000 rows inserted into the same
//! `bulk_recipients` table with plain SeaORM `insert_many` (2,000 rows per
//! statement, one transaction) into a fresh SQLite file migrated by
//! `wadesk::store::connect`, in this process.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sea_orm::{ActiveModelTrait, EntityTrait, Set, TransactionTrait};
use serde_json::json;
use wadesk::store::{
    self,
    entity::{
        bulk, bulk_recipient,
        vocab::{BulkStatus, RecipientStatus},
    },
};
use wadesk_sim::{SimConfig, Simulator};

use crate::gateway::{Gateway, mib};

const NUMBERS: usize = 100_000;
/// Rows per INSERT in the baseline (the same as the gateway's store).
const CHUNK: usize = 2_000;

fn number(i: usize) -> String {
    format!("9190000{i:05}")
}

pub async fn run() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    let gateway = Gateway::start(&sim).await?;
    let phone_id = gateway.link(&sim, "15559870000").await?;
    gateway.cli(&["phone", "set-plan", &phone_id, "pro"])?;
    // Let post-login work settle before memory is read.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let numbers: Vec<String> = (0..NUMBERS).map(number).collect();
    let body = serde_json::to_vec(&json!({
        "phone_id": phone_id,
        "numbers": numbers,
        "message": "Sale starts today, {{number}}!",
        "delay": 3_600_000,
    }))?;
    let body_len = body.len();

    let rss_before = gateway.rss_kib()?;
    gateway.reset_peak()?;
    let started = Instant::now();
    let response = gateway
        .request(reqwest::Method::POST, "/api/bulk-send")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await?;
    let took = started.elapsed();
    let peak = gateway.peak_kib()?;
    let rss_after = gateway.rss_kib()?;
    if !status.is_success() || answer["accepted"] != json!(NUMBERS) {
        bail!(
            "bulk-send answered {status}: {}",
            truncate(&answer.to_string())
        );
    }
    let bulk_id = answer["bulk_id"].as_str().context("bulk_id")?.to_owned();
    let (status, cancelled) = gateway
        .post(&format!("/api/bulk-send/{bulk_id}/cancel"), &json!({}))
        .await?;
    if status != 200 {
        bail!("cancel answered {status}: {cancelled}");
    }
    drop(gateway);
    sim.shutdown();

    let baseline = baseline().await?;

    println!(
        "{:<6} {:>8} {:>9} {:>10} {:>11} {:>11} {:>12} {:>13} {:>11}",
        "row",
        "numbers",
        "body",
        "gateway",
        "RSS before",
        "peak RSS",
        "peak growth",
        "RSS after",
        "insert_many"
    );
    println!(
        "{:<6} {:>8} {:>5.1} MiB {:>8.2} s {:>7.1} MiB {:>7.1} MiB {:>8.1} MiB {:>9.1} MiB {:>9.2} s   gateway / insert_many {:.2}x",
        "bulk",
        NUMBERS,
        body_len as f64 / 1048576.0,
        took.as_secs_f64(),
        mib(rss_before),
        mib(peak),
        mib(peak.saturating_sub(rss_before)),
        mib(rss_after),
        baseline.as_secs_f64(),
        took.as_secs_f64() / baseline.as_secs_f64(),
    );
    Ok(())
}

fn truncate(s: &str) -> &str {
    &s[..s.len().min(500)]
}

/// The same rows with plain SeaORM into a fresh, migrated SQLite file.
async fn baseline() -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/baseline.db?mode=rwc", dir.path().display());
    let db = store::connect(&url).await?;
    let account = store::accounts::create(&db, "Bench").await?;
    let phone = store::phones::create(&db, &account.id, "bench").await?;
    let numbers: Vec<String> = (0..NUMBERS).map(number).collect();

    let started = Instant::now();
    let txn = db.begin().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let bulk_id = "bk_baseline".to_owned();
    bulk::ActiveModel {
        id: Set(bulk_id.clone()),
        account_id: Set(account.id.clone()),
        phone_id: Set(phone.id.clone()),
        status: Set(BulkStatus::Queued),
        message: Set("Sale starts today, {{number}}!".into()),
        delay_ms: Set(Some(3_600_000)),
        total: Set(NUMBERS as i64),
        source: Set("numbers".into()),
        sheet_id: Set(None),
        pause_kind: Set(None),
        paused_reason: Set(None),
        failures: Set(0),
        last_sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(&txn)
    .await?;
    for (c, chunk) in numbers.chunks(CHUNK).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, n)| bulk_recipient::ActiveModel {
                bulk_id: Set(bulk_id.clone()),
                seq: Set((c * CHUNK + i) as i32),
                number: Set(n.clone()),
                text: Set(Some(format!("Sale starts today, {n}!"))),
                row: Set(None),
                status: Set(RecipientStatus::Pending),
                message_id: Set(None),
            });
        bulk_recipient::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    let took = started.elapsed();
    db.close().await?;
    Ok(took)
}
