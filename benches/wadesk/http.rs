//! Row `http`: GET /api/phones/{phone_id}/status through the gateway
//! (bearer token check, request limit off, REST-to-gRPC transcoding, a
//! database read) against a bare axum handler in this process that answers
//! the same JSON, with the same load client (issue 9 row 1). A third target,
//! to see where the gap goes: the bare handler plus the two database reads
//! the gateway makes per request (the token's record by id, the caller's
//! phone), through `wadesk::store` on a fresh SQLite file opened with
//! `wadesk::store::connect` (the gateway's pool settings).

use std::sync::Arc;

use anyhow::{Context, bail};
use axum::{Json, Router, extract::Path, routing::get};
use serde_json::Value;
use wadesk::store;
use wadesk_sim::{SimConfig, Simulator};

use crate::{gateway::Gateway, load};

pub async fn run() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    let gateway = Gateway::start(&sim).await?;
    let phone_id = gateway.link(&sim, "15559910000").await?;
    let path = format!("/api/phones/{phone_id}/status");
    let (status, answer) = gateway.get(&path).await?;
    if status != 200 {
        bail!("status answered {status}: {answer}");
    }

    // The baseline: the same JSON from a bare axum handler on loopback.
    let bare_answer_json = answer.clone();
    let bare_answer = Arc::new(answer);
    let router = Router::new().route(
        "/api/phones/{phone_id}/status",
        get(move || {
            let answer = bare_answer.clone();
            async move { Json(Value::clone(&answer)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_base = format!("http://{}", listener.local_addr()?);
    let bare_task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    // Bare axum plus the gateway's two reads per request.
    let dir = tempfile::tempdir()?;
    let db = store::connect(&format!(
        "sqlite://{}/reads.db?mode=rwc",
        dir.path().display()
    ))
    .await?;
    let account = store::accounts::create(&db, "Bench").await?;
    let token = store::tokens::create(&db, &account.id, "bench", None).await?;
    let phone = store::phones::create(&db, &account.id, "bench").await?;
    let reads_answer = Arc::new(bare_answer_json.clone());
    let reads = Router::new().route(
        "/api/phones/{phone_id}/status",
        get(move |Path(phone_id): Path<String>| {
            let (db, token_id, account_id, answer) = (
                db.clone(),
                token.id.clone(),
                account.id.clone(),
                reads_answer.clone(),
            );
            async move {
                let token = store::tokens::find(&db, &token_id).await.ok().flatten();
                let phone = store::phones::find_for_account(&db, &account_id, &phone_id)
                    .await
                    .ok()
                    .flatten();
                match (token, phone) {
                    (Some(_), Some(_)) => Ok(Json(Value::clone(&answer))),
                    _ => Err(axum::http::StatusCode::NOT_FOUND),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let reads_base = format!("http://{}", listener.local_addr()?);
    let reads_task = tokio::spawn(async move {
        let _ = axum::serve(listener, reads).await;
    });
    let reads_path = format!("/api/phones/{}/status", phone.id);

    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(load::CONCURRENCY)
        .build()
        .context("HTTP client")?;
    let target = |url: String, token: Option<String>| {
        let client = client.clone();
        move |_worker: usize| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await?;
                if !response.status().is_success() {
                    bail!("HTTP {}", response.status());
                }
                response.bytes().await?;
                Ok(())
            }
        }
    };
    let bare = load::run(
        load::CONCURRENCY,
        load::DURATION,
        target(format!("{bare_base}{path}"), None),
    )
    .await;
    let with_reads = load::run(
        load::CONCURRENCY,
        load::DURATION,
        target(format!("{reads_base}{reads_path}"), None),
    )
    .await;
    let through = load::run(
        load::CONCURRENCY,
        load::DURATION,
        target(gateway.url(&path), Some(gateway.token.clone())),
    )
    .await;
    bare_task.abort();
    reads_task.abort();
    drop(gateway);
    sim.shutdown();

    load::header("row");
    load::line("http", "bare axum", &bare);
    load::line("http", "bare+2 reads", &with_reads);
    load::line("http", "gateway", &through);
    load::ratio("http", &through, &bare);
    println!(
        "http  bare+2 reads / bare: {:.2}x req/s; gateway / bare+2 reads: {:.2}x req/s",
        with_reads.per_sec() / bare.per_sec(),
        through.per_sec() / with_reads.per_sec()
    );
    Ok(())
}
