//! Test harness: real whatsapp-rust 0.7 clients pointed at the simulator.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;
use wacore::net::{HttpClient, HttpRequest, HttpResponse};
use wacore::store::InMemoryBackend;
use wadesk_sim::{SimEvent, Simulator};
use whatsapp_rust::prelude::*;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

/// An HTTP client that refuses everything: tests must not reach any real host.
pub struct NoHttp;

#[async_trait]
impl HttpClient for NoHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        anyhow::bail!("test HTTP client: no network ({})", request.url)
    }
}

/// Logs from the simulator and whatsapp-rust when RUST_LOG is set.
pub fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

/// A real whatsapp-rust client connected to the simulator, with its events in a channel.
pub struct TestClient {
    pub handle: Option<BotHandle>,
    pub client: Arc<Client>,
    pub backend: Arc<InMemoryBackend>,
    pub events: mpsc::UnboundedReceiver<Arc<Event>>,
}

impl TestClient {
    /// Build and start a client on `backend` (a fresh one for a new device).
    /// It skips history sync (only answers the phone's notification).
    pub async fn start(
        sim: &Simulator,
        backend: Option<Arc<InMemoryBackend>>,
        push_name: Option<&str>,
    ) -> TestClient {
        Self::start_with(sim, backend, push_name, false, TestHttp::Loopback).await
    }

    /// A fresh client that processes history sync (downloads the blobs).
    pub async fn start_syncing_history(sim: &Simulator, push_name: &str) -> TestClient {
        Self::start_with(sim, None, Some(push_name), true, TestHttp::Loopback).await
    }

    pub async fn start_with(
        sim: &Simulator,
        backend: Option<Arc<InMemoryBackend>>,
        push_name: Option<&str>,
        history: bool,
        http: TestHttp,
    ) -> TestClient {
        let backend = backend.unwrap_or_else(|| Arc::new(InMemoryBackend::new()));
        let (tx, events) = mpsc::unbounded_channel();
        let mut builder = Bot::builder()
            .with_backend_arc(backend.clone())
            .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(sim.ws_url()))
            .with_http_client(http)
            .with_runtime(TokioRuntime)
            .with_version((2, 3000, 0))
            .with_event_delivery(EventDelivery::Ordered { capacity: 4096 })
            .on_event(move |ev, _client| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(ev);
                }
            });
        if let Some(name) = push_name {
            builder = builder.with_push_name(name);
        }
        if !history {
            builder = builder.skip_history_sync();
        }
        let bot = builder.build().await.expect("bot builds");
        let handle = bot.spawn();
        let client = handle.client();
        TestClient {
            handle: Some(handle),
            client,
            backend,
            events,
        }
    }

    /// Wait for the first event `f` maps to `Some`, failing after `timeout`.
    pub async fn wait_for<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&Event) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(ev)) => {
                    if let Some(v) = f(&ev) {
                        return v;
                    }
                }
                Ok(None) => panic!("event stream ended while waiting for {what}"),
                Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }

    pub async fn wait_qr(&mut self) -> String {
        self.wait_for(Duration::from_secs(10), "a QR code", |ev| match ev {
            Event::PairingQrCode(q) => Some(q.code.clone()),
            _ => None,
        })
        .await
    }

    pub async fn wait_connected(&mut self, timeout: Duration) {
        self.wait_for(timeout, "Connected", |ev| match ev {
            Event::Connected(_) => Some(()),
            Event::LoggedOut(l) => panic!("logged out instead of connecting: {l:?}"),
            _ => None,
        })
        .await
    }

    /// Graceful stop (flushes the device state into the backend).
    pub async fn shutdown(mut self) -> Arc<InMemoryBackend> {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
        self.backend
    }
}

/// Wait for a simulator event.
pub async fn sim_wait<T>(
    rx: &mut tokio::sync::broadcast::Receiver<SimEvent>,
    timeout: Duration,
    what: &str,
    mut f: impl FnMut(&SimEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(ev)) => {
                if let Some(v) = f(&ev) {
                    return v;
                }
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("simulator events ended waiting for {what}: {e}"),
            Err(_) => panic!("timed out after {timeout:?} waiting for simulator: {what}"),
        }
    }
}

/// Create `number`, start a fresh client, scan its QR, and wait until it is Connected.
pub async fn paired_client(sim: &Simulator, number: &str, push_name: &str) -> TestClient {
    paired_client_with(sim, number, push_name, TestHttp::Loopback).await
}

/// [`paired_client`] with the given HTTP client.
pub async fn paired_client_with(
    sim: &Simulator,
    number: &str,
    push_name: &str,
    http: TestHttp,
) -> TestClient {
    sim.create_phone(number);
    let mut c = TestClient::start_with(sim, None, Some(push_name), false, http).await;
    let qr = c.wait_qr().await;
    sim.scan(&qr, number).await.expect("scan");
    c.wait_for(Duration::from_secs(10), "PairSuccess", |ev| match ev {
        Event::PairSuccess(_) => Some(()),
        _ => None,
    })
    .await;
    c.wait_connected(Duration::from_secs(30)).await;
    c
}

/// Minimal HTTP/1.1 over loopback (one request per connection). Only `127.0.0.1` is ever
/// contacted; `https://` URLs the library builds for the simulator's media host are sent
/// as plain http.
pub async fn http_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> anyhow::Result<(u16, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| anyhow::anyhow!("unsupported URL {url}"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    anyhow::ensure!(
        host.starts_with("127.0.0.1:"),
        "refusing non-loopback host {host}"
    );
    let mut s = tokio::net::TcpStream::connect(host).await?;
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        if path.is_empty() { "/" } else { path },
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    s.write_all(body).await?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("bad HTTP response"))?;
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bad status line"))?;
    let mut body = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 2 + n + 2 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
    out
}

/// The library's HTTP client in tests; it only ever reaches 127.0.0.1.
pub enum TestHttp {
    /// The https:// URLs the library builds go out as plain http (the
    /// simulator's plain HTTP media host).
    Loopback,
    /// Real HTTPS, with a client that trusts the given roots only.
    Tls(reqwest::Client),
}

impl TestHttp {
    /// HTTPS trusting the simulator's CA and nothing else.
    pub fn trusting_only(ca_pem: &str) -> TestHttp {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("a PEM certificate");
        TestHttp::Tls(
            reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(ca)
                .build()
                .expect("reqwest client"),
        )
    }
}

#[async_trait]
impl HttpClient for TestHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let body = request.body.clone().unwrap_or_default();
        match self {
            TestHttp::Loopback => {
                let headers: Vec<(String, String)> = request.headers.clone().into_iter().collect();
                let (status_code, body) =
                    http_request(&request.method, &request.url, &headers, &body).await?;
                Ok(HttpResponse { status_code, body })
            }
            TestHttp::Tls(client) => {
                let url = reqwest::Url::parse(&request.url)?;
                anyhow::ensure!(
                    url.scheme() == "https" && url.host_str() == Some("127.0.0.1"),
                    "refusing {url}: only https://127.0.0.1 here"
                );
                let mut b = client.request(request.method.parse()?, url);
                for (k, v) in &request.headers {
                    b = b.header(k, v);
                }
                let response = b.body(body).send().await?;
                let status_code = response.status().as_u16();
                Ok(HttpResponse {
                    status_code,
                    body: response.bytes().await?.to_vec(),
                })
            }
        }
    }
}
