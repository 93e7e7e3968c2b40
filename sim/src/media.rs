//! The media host: `w:m` media_conn answers and a blob store served over HTTP on loopback.
//! Clients upload encrypted blobs (`POST /mms/{type}/{token}?auth=..&token=..`) and download
//! them by direct path (`GET /v/...?auth=..&token=..`); the server never sees plaintext.
//! whatsapp-rust always builds `https://{hostname}...` URLs, so the HTTP client given to
//! the library must map that to plain http on this host (see docs/simulator.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::Shared;
use super::nodes::{self, SERVER};

/// Blobs by direct path, and the auth token handed out in media_conn.
pub struct MediaStore {
    pub auth: String,
    pub hostname: Mutex<Option<String>>,
    blobs: Mutex<HashMap<String, Bytes>>,
}

impl MediaStore {
    pub fn new() -> Self {
        use rand::RngExt as _;
        let a: u128 = rand::rng().random();
        MediaStore {
            auth: format!("sim{a:032x}"),
            hostname: Mutex::new(None),
            blobs: Mutex::new(HashMap::new()),
        }
    }

    /// The encrypted blob stored at `direct_path`.
    pub fn get(&self, direct_path: &str) -> Option<Bytes> {
        self.blobs.lock().unwrap().get(direct_path).cloned()
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.lock().unwrap().len()
    }
}

/// `<iq xmlns="w:m"><media_conn/></iq>`
pub fn media_conn(shared: &Arc<Shared>, id: &str) -> Option<Node> {
    let host = shared.media.hostname.lock().unwrap().clone()?;
    let _ = SERVER;
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("media_conn")
                .attr("auth", shared.media.auth.clone())
                .attr("ttl", "3600")
                .attr("auth_ttl", "3600")
                .attr("max_buckets", "12")
                .children([NodeBuilder::new("host")
                    .attr("hostname", host)
                    .attr("type", "primary")
                    .build()])
                .build()])
            .build(),
    )
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/mms/{kind}/{token}", post(upload))
        .route("/v/{*path}", get(download))
}

fn authorized(shared: &Shared, q: &HashMap<String, String>) -> bool {
    q.get("auth").is_some_and(|a| *a == shared.media.auth)
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((kind, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &q) {
        return (StatusCode::UNAUTHORIZED, "bad auth").into_response();
    }
    if q.get("resume").is_some_and(|r| r == "1") {
        // No partial uploads are kept: the client uploads the whole blob.
        return axum::Json(serde_json::json!({})).into_response();
    }
    let host = shared
        .media
        .hostname
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_default();
    let direct_path = format!("/v/t62.sim-{kind}/{token}");
    shared
        .media
        .blobs
        .lock()
        .unwrap()
        .insert(direct_path.clone(), body);
    axum::Json(serde_json::json!({
        "url": format!("https://{host}{direct_path}"),
        "direct_path": direct_path,
    }))
    .into_response()
}

async fn download(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &q) {
        return (StatusCode::UNAUTHORIZED, "bad auth").into_response();
    }
    let key = format!("/v/{path}");
    match shared.media.blobs.lock().unwrap().get(&key) {
        Some(b) => b.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "no such media").into_response(),
    }
}
