//! The media host: `w:m` media_conn answers and the HTTP routes over the blob
//! store (`blobs.rs`). Clients upload encrypted blobs
//! (`POST /mms/{type}/{token}?auth=..&token=..`) and download them by direct
//! path (`GET /v/...?auth=..&token=..`). whatsapp-rust always builds
//! `https://{hostname}...` URLs, so the HTTP client given to the library must
//! map that to plain http on this host (see docs/simulator.md).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::nodes;
use crate::state::Shared;

/// `<iq xmlns="w:m"><media_conn/></iq>`
pub fn media_conn(shared: &Shared, id: &str) -> Node {
    nodes::iq_result(id)
        .children([NodeBuilder::new("media_conn")
            .attr("auth", shared.media.auth.clone())
            .attr("ttl", "3600")
            .attr("auth_ttl", "3600")
            .attr("max_buckets", "12")
            .children([NodeBuilder::new("host")
                .attr("hostname", shared.media.hostname.clone())
                .attr("type", "primary")
                .build()])
            .build()])
        .build()
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
    let direct_path = shared.media.put(&kind, &token, body);
    axum::Json(serde_json::json!({
        "url": format!("https://{}{direct_path}", shared.media.hostname),
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
    match shared.media.get(&format!("/v/{path}")) {
        Some(b) => b.into_response(),
        None => (StatusCode::NOT_FOUND, "no such media").into_response(),
    }
}
