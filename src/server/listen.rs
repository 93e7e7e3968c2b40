//! Accepting and serving connections, with the limits a server facing the
//! Internet needs: a client must send its request head within
//! `server.header_timeout_secs` (a connection that sends part of its
//! headers, or nothing, is closed), and connections are capped in total
//! (`server.max_connections`) and per client address
//! (`server.max_connections_per_ip`), so one client cannot take every file
//! descriptor and the health checks keep answering everyone else.
//!
//! HTTP/1.1 and HTTP/2 (h2c, which gRPC uses) share the port: the first
//! bytes tell which one a connection speaks (HTTP/2 starts with its fixed
//! preface), and each is served by hyper's own connection type, watched
//! for a graceful stop.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::graceful::{GracefulShutdown, Watcher},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::input::HeadLimits;
use crate::config;

/// The connection limits (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// A request head (or, on a new connection, its first bytes) must
    /// arrive within this; it is also how long an idle HTTP/1.1
    /// keep-alive connection stays open.
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// The request head limits; hyper's own are set past them.
    pub head: HeadLimits,
}

impl Limits {
    pub(crate) fn from_config(server: &config::Server) -> Limits {
        Limits {
            header_timeout: server.header_timeout,
            max_connections: server.max_connections,
            max_connections_per_ip: server.max_connections_per_ip,
            head: HeadLimits::from_config(server),
        }
    }
}

/// File descriptors kept for everything but client connections: the
/// database pool, the phones' websockets, outbound requests, files.
const RESERVED_FILES: u64 = 512;

impl Limits {
    /// Raises the process's open-file limit to its hard limit, and keeps
    /// `max_connections` under it (with room for everything else), so that
    /// running out of descriptors refuses clients instead of failing the
    /// database, the phones and the health checks.
    pub(crate) fn within_open_file_limit(mut self) -> Limits {
        let soft = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(soft) => soft,
            Err(err) => {
                tracing::warn!(error = %err, "could not read or raise the open-file limit");
                return self;
            }
        };
        let room = usize::try_from(soft.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
        if self.max_connections > room {
            tracing::warn!(
                open_file_limit = soft,
                configured = self.max_connections,
                used = room.max(1),
                "server.max_connections lowered to fit the open-file limit (raise it with ulimit -n or LimitNOFILE)"
            );
            self.max_connections = room.max(1);
        }
        self
    }
}

/// What an HTTP/2 connection starts with.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `app` on `listener` until `stop`, then lets the open connections
/// finish (each is told to stop: HTTP/1.1 closes after its request, HTTP/2
/// sends GOAWAY) and returns once they have.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = PerIp::new(limits.max_connections_per_ip);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    if !is_connection_error(&err) {
                        // Out of file descriptors, most likely: wait for
                        // some to close instead of spinning.
                        tracing::error!(error = %err, "accept failed; pausing for 1 s");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = stop.cancelled() => break,
                        }
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Over a cap, the connection is closed at once: it costs the
        // client a reconnect, and the server nothing.
        let Ok(total_permit) = total.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: server.max_connections reached");
            continue;
        };
        let Some(ip_permit) = per_ip.acquire(peer.ip()) else {
            tracing::debug!(%peer, max = limits.max_connections_per_ip, "connection refused: server.max_connections_per_ip reached");
            continue;
        };
        // Small request/response exchanges must not wait on delayed ACKs.
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permits = (total_permit, ip_permit);
            connection(stream, peer, app, limits, watcher, stop).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection that `accept` reports; the next accept works.
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    watcher: Watcher,
    stop: CancellationToken,
) {
    let header_timeout = limits.header_timeout;
    let http2 = tokio::select! {
        sniffed = tokio::time::timeout(header_timeout, speaks_http2(&stream)) => match sniffed {
            Ok(Ok(Some(http2))) => http2,
            // Closed, failed, or silent for too long.
            Ok(Ok(None) | Err(_)) | Err(_) => return,
        },
        () = stop.cancelled() => return,
    };
    // Every request knows the address it came from (the failed-sign-in
    // limit, logs).
    let service = TowerToHyperService::new(app.map_request(
        move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        },
    ));
    let io = TokioIo::new(stream);
    let result = if http2 {
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            // A peer that stops answering pings is gone.
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(20))
            .max_header_list_size(limits.head.h2_max_header_list_size());
        watcher.watch(builder.serve_connection(io, service)).await
    } else {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Some(header_timeout))
            .max_headers(limits.head.hyper_max_headers())
            .max_buf_size(limits.head.hyper_max_buf_size());
        watcher.watch(builder.serve_connection(io, service)).await
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}

/// Whether the connection starts with the HTTP/2 preface, read without
/// consuming it; None when it closes first.
async fn speaks_http2(stream: &TcpStream) -> std::io::Result<Option<bool>> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        stream.readable().await?;
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        if buf[..n] != H2_PREFACE[..n] {
            return Ok(Some(false));
        }
        if n == H2_PREFACE.len() {
            return Ok(Some(true));
        }
        // Part of the preface: peek sees the same bytes until more come.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Open connections per client address.
#[derive(Clone)]
struct PerIp {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerIp {
    fn new(max: usize) -> PerIp {
        PerIp {
            max,
            open: Arc::default(),
        }
    }

    fn acquire(&self, ip: IpAddr) -> Option<IpPermit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpPermit {
            ip,
            open: self.open.clone(),
        })
    }
}

/// One open connection of an address; closing it frees the place.
struct IpPermit {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for IpPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_places_are_freed_on_close() {
        let per_ip = PerIp::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = per_ip.acquire(a).unwrap();
        let _second = per_ip.acquire(a).unwrap();
        assert!(per_ip.acquire(a).is_none(), "a third from one address");
        assert!(
            per_ip.acquire(b).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            per_ip.acquire(a).is_some(),
            "a closed connection frees its place"
        );
    }
}
