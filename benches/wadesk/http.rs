//! Row `http`: GET /api/phones/{phone_id}/status through the gateway
//! (bearer token check, request limit off, REST-to-gRPC transcoding, a
//! database read) against a bare axum handler in this process that answers
//! the same JSON, with the same load client (issue 9 row 1).

use std::sync::Arc;

use anyhow::{Context, bail};
use axum::{Json, Router, routing::get};
use serde_json::Value;
use wadesk::sim::{SimConfig, Simulator};

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
    let through = load::run(
        load::CONCURRENCY,
        load::DURATION,
        target(gateway.url(&path), Some(gateway.token.clone())),
    )
    .await;
    bare_task.abort();
    drop(gateway);
    sim.shutdown();

    load::header("row");
    load::line("http", "bare axum", &bare);
    load::line("http", "gateway", &through);
    load::ratio("http", &through, &bare);
    Ok(())
}
