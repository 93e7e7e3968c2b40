//! Gateway tests: a router built from tests/proto/gwtest/v1/test.proto in front of a
//! tonic server over dynamic messages, called in process through tower.

mod openapi;
mod rest;
mod rules;
mod server;
mod stream;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wadesk_gateway::Gateway;

pub use server::{Probe, test_pool};

pub fn gateway() -> Gateway {
    Gateway::new(test_pool()).expect("test rules are valid")
}

/// The REST app the way wadesk wires it: gateway routes plus a JSON 404 fallback.
pub fn app_with(gateway: &Gateway, probe: Probe) -> Router {
    gateway
        .router(server::grpc_service(test_pool(), probe))
        .fallback(|| async {
            wadesk_gateway::error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such path")
        })
}

pub fn app() -> Router {
    app_with(&gateway(), Probe::default())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

pub async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply {
        status: parts.status,
        headers: parts.headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, "GET", uri, None, &[]).await
}

pub async fn post(app: &Router, uri: &str, body: &str) -> Reply {
    send(app, "POST", uri, Some(body), &[]).await
}

/// Asserts the exact REST error shape and returns the message.
pub fn assert_error(reply: &Reply, http: u16, status: &str) -> String {
    assert_eq!(reply.status.as_u16(), http, "body: {}", reply.text);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let keys: Vec<&str> = reply
        .json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["success", "error"], "body: {}", reply.text);
    assert_eq!(reply.json["success"], false);
    assert_eq!(reply.json["error"]["code"], http);
    assert_eq!(reply.json["error"]["status"], status);
    reply.json["error"]["message"]
        .as_str()
        .expect("message")
        .to_string()
}
