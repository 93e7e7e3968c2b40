//! Server streaming over Server-Sent Events.

use std::time::Duration;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{Probe, app, app_with, assert_error, gateway, get};

/// Splits an SSE body into (event name, data) pairs, ignoring comments.
fn events(text: &str) -> Vec<(Option<String>, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str(v.trim()).expect("event data is JSON"));
                }
            }
            data.map(|d| (name, d))
        })
        .collect()
}

#[tokio::test]
async fn messages_become_events() {
    let r = get(&app(), "/api/watch/news?count=3").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/event-stream");
    let got = events(&r.text);
    assert_eq!(
        got,
        (0..3)
            .map(|i| (None, json!({"seq": i, "topic": "news", "status": "active"})))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn failing_stream_ends_with_error_event() {
    let r = get(&app(), "/api/watch/news?count=2&fail_code=13").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = events(&r.text);
    assert_eq!(got.len(), 3, "{}", r.text);
    assert_eq!(got[1].1["seq"], 1);
    assert_eq!(got[2].0.as_deref(), Some("error"));
    assert_eq!(
        got[2].1,
        json!({"success": false, "error": {"code": 500, "status": "INTERNAL", "message": "stream broke: 100% gone"}})
    );
}

#[tokio::test]
async fn error_before_first_message_is_plain_json() {
    let app = app();
    // Trailers-only: the handler refused the call.
    let r = get(&app, "/api/watch/denied").await;
    assert_eq!(assert_error(&r, 403, "PERMISSION_DENIED"), "not your topic");
    // Headers sent, then an error before any message.
    let r = get(&app, "/api/watch/news?fail_code=5").await;
    assert_eq!(
        assert_error(&r, 404, "NOT_FOUND"),
        "stream broke: 100% gone"
    );
}

#[tokio::test]
async fn keep_alive_and_client_disconnect_drops_upstream() {
    let probe = Probe::default();
    let gw = gateway().with_keep_alive(Duration::from_millis(20));
    let app = app_with(&gw, probe.clone());
    let req = Request::get("/api/watch/quiet")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let mut seen = String::new();
    // One event, then keep-alive comments while the upstream idles.
    while !(seen.contains("data:")
        && seen.matches("\n:").count() + usize::from(seen.starts_with(':')) >= 2)
    {
        let frame = tokio::time::timeout(Duration::from_secs(2), body.frame())
            .await
            .expect("stream makes progress")
            .expect("stream open")
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert_eq!(events(&seen)[0].1["seq"], 0);
    assert_eq!(
        probe.dropped(),
        0,
        "upstream alive while the client listens"
    );
    drop(body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while probe.dropped() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "upstream stream not dropped"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
