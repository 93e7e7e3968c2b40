//! The media host: `w:m` media_conn answers and the routes over the blob store
//! (`blobs.rs`), served over plain HTTP (with the admin API) and over HTTPS (a
//! listener of its own, certificate from the simulator's CA, `tls.rs`).
//! Clients upload encrypted blobs (`POST /mms/{type}/{token}?auth=..&token=..`)
//! and download them by direct path (`GET /v/...?auth=..&token=..`).
//! whatsapp-rust always builds `https://{hostname}...` URLs: media_conn names
//! the plain HTTP host by default, so the HTTP client given to the library maps
//! that to plain http; with [`crate::SimConfig::media_conn_https`] it names the
//! HTTPS host instead, for clients that trust the simulator's CA.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
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
        "url": format!("https://{}{direct_path}", shared.media.https_host),
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

/// Serves the media routes over HTTPS on `listener` until the task is aborted.
pub(crate) async fn serve_https(shared: Arc<Shared>, listener: TcpListener, tls: TlsAcceptor) {
    let app = routes()
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such media path") })
        .with_state(shared);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                log::warn!("media host (https): accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    log::debug!("media host (https): TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    log::debug!("media host (https): TLS handshake with {peer} timed out");
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                log::debug!("media host (https): connection from {peer}: {e}");
            }
        });
    }
}
