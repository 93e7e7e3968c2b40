//! The pieces a whatsapp-rust client needs from us: a transport with
//! TCP_NODELAY, an async HTTP client over our reqwest pool, and the builder.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, Connector};
use whatsapp_rust::{
    async_channel,
    prelude::{Bot, Event, EventDelivery, TokioRuntime},
    wacore::net::{
        HttpClient, HttpRequest, HttpResponse, StreamingHttpResponse, Transport, TransportEvent,
        TransportFactory,
    },
};
use whatsapp_rust_tokio_transport::{default_tls_connector, from_websocket};

/// WhatsApp's own websocket endpoint, used when `whatsapp.server_url` is empty.
pub const WHATSAPP_URL: &str = "wss://web.whatsapp.com/ws/chat";
const WHATSAPP_ORIGIN: &str = "https://web.whatsapp.com";

/// Whether this build may talk to the WhatsApp server at `url` (empty:
/// WhatsApp's own). A build with the simulator (feature `sim`) has
/// whatsapp-rust's certificate check turned off, so that it accepts the
/// simulator's: it may only talk to a server on loopback, never to
/// WhatsApp or anything else on the network.
pub fn check_server_url(url: &str) -> anyhow::Result<()> {
    if !cfg!(feature = "sim") {
        return Ok(());
    }
    let target = if url.is_empty() { WHATSAPP_URL } else { url };
    let loopback = url::Url::parse(target)
        .ok()
        .and_then(|u| {
            Some(match u.host()? {
                url::Host::Domain(name) => name == "localhost",
                url::Host::Ipv4(ip) => ip.is_loopback(),
                url::Host::Ipv6(ip) => ip.is_loopback(),
            })
        })
        .unwrap_or(false);
    anyhow::ensure!(
        loopback,
        "whatsapp.server_url: this build includes the WhatsApp simulator (feature `sim`), which turns off the check of WhatsApp's certificate chain, so it connects only to a simulator on loopback (e.g. ws://127.0.0.1:9090/ws/chat), not to {target}; for WhatsApp itself use a build without `--features sim`"
    );
    Ok(())
}

/// Dials the websocket with TCP_NODELAY set: the stock factory leaves it off,
/// and small stanzas then wait ~40 ms on the peer's delayed ACK.
/// Every attempt that fails (DNS, refused, TLS, the websocket upgrade) is
/// also told to `failures`, for the session to say why it cannot connect
/// (whatsapp-rust only logs it and tries again).
pub struct NoDelayTransport {
    url: String,
    failures: tokio::sync::mpsc::UnboundedSender<String>,
}

impl NoDelayTransport {
    pub fn new(
        url: impl Into<String>,
        failures: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> Self {
        NoDelayTransport {
            url: url.into(),
            failures,
        }
    }

    async fn open(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        let uri: http::Uri = self.url.parse().context("whatsapp.server_url")?;
        let host = uri
            .host()
            .context("whatsapp.server_url has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = uri.scheme_str() == Some("wss");
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        tcp.set_nodelay(true)?;
        let connector = if tls {
            default_tls_connector()
        } else {
            Connector::Plain
        };
        let stream = connector.wrap(&host, tcp).await?;
        let (ws, _) = ClientBuilder::from_uri(uri)
            .add_header(
                http::header::ORIGIN,
                http::HeaderValue::from_static(WHATSAPP_ORIGIN),
            )?
            .connect_on(stream)
            .await
            .context("websocket upgrade")?;
        let (transport, events) = from_websocket(ws);
        Ok(Handshake::watch(
            transport,
            events,
            format!("{host}:{port}"),
            self.failures.clone(),
        ))
    }
}

/// Watches a connection's Noise handshake from outside: whatsapp-rust
/// reports a failed handshake (the server's certificate chain refused, no
/// answer in time) only to its log, then closes the transport and tries
/// again. A client that closes its transport having sent nothing but its
/// hello has failed the handshake: that is told to `failures` like a
/// refused connection, with whether the server answered at all.
struct Handshake {
    inner: Arc<dyn Transport>,
    /// Frames the client sent: the hello is the first, the handshake's
    /// finish the second.
    sent: AtomicU32,
    /// Frames the server sent (counted by the forwarding task).
    received: Arc<AtomicU32>,
    reported: AtomicBool,
    server: String,
    failures: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Handshake {
    fn watch(
        inner: Arc<dyn Transport>,
        events: async_channel::Receiver<TransportEvent>,
        server: String,
        failures: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> (Arc<dyn Transport>, async_channel::Receiver<TransportEvent>) {
        let received = Arc::new(AtomicU32::new(0));
        let (tx, rx) = async_channel::bounded(events.capacity().unwrap_or(64).max(1));
        let counter = received.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if matches!(event, TransportEvent::DataReceived(_)) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let watched = Handshake {
            inner,
            sent: AtomicU32::new(0),
            received,
            reported: AtomicBool::new(false),
            server,
            failures,
        };
        (Arc::new(watched), rx)
    }
}

#[async_trait::async_trait]
impl Transport for Handshake {
    async fn send(&self, data: bytes::Bytes) -> Result<(), anyhow::Error> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send(data).await
    }

    async fn disconnect(&self) {
        if self.sent.load(Ordering::Relaxed) <= 1 && !self.reported.swap(true, Ordering::Relaxed) {
            let cause = if self.received.load(Ordering::Relaxed) == 0 {
                format!(
                    "WhatsApp's handshake with {} failed: the server accepted the connection but never answered the client's hello",
                    self.server
                )
            } else {
                format!(
                    "WhatsApp's handshake with {} failed: the client refused the server's answer (its certificate chain is not signed by WhatsApp, or it does not speak WhatsApp's protocol)",
                    self.server
                )
            };
            let _ = self.failures.send(cause);
        }
        self.inner.disconnect().await
    }

    fn resource_report(&self) -> Option<whatsapp_rust::wacore::stats::TransportResourceReport> {
        self.inner.resource_report()
    }
}

#[async_trait::async_trait]
impl TransportFactory for NoDelayTransport {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        let opened = self.open().await;
        if let Err(err) = &opened {
            let _ = self.failures.send(format!("{err:#}"));
        }
        opened
    }
}

/// whatsapp-rust's HTTP seam (media, version checks) over our reqwest pool.
/// The library always builds https:// media URLs; `plain_http_hosts` lists
/// hosts to reach over plain http instead (the simulator's media host).
pub struct ReqwestHttp {
    client: reqwest::Client,
    plain_http_hosts: Vec<String>,
}

impl ReqwestHttp {
    pub fn new(client: reqwest::Client, plain_http_hosts: Vec<String>) -> Self {
        ReqwestHttp {
            client,
            plain_http_hosts,
        }
    }
}

impl ReqwestHttp {
    async fn send(&self, request: HttpRequest) -> anyhow::Result<reqwest::Response> {
        let mut url = reqwest::Url::parse(&request.url)?;
        if url.scheme() == "https"
            && let Some(authority) = url.host_str().map(|h| match url.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            })
            && self.plain_http_hosts.contains(&authority)
        {
            let _ = url.set_scheme("http");
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut builder = self
            .client
            .request(method, url)
            .timeout(Duration::from_secs(120));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        Ok(builder.send().await?)
    }
}

#[async_trait::async_trait]
impl HttpClient for ReqwestHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let response = self.send(request).await?;
        let status_code = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(HttpResponse { status_code, body })
    }

    /// Media downloads stream through decryption instead of being held in
    /// memory whole. whatsapp-rust calls this on a blocking thread.
    fn supports_streaming(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok()
    }

    fn execute_streaming(&self, request: HttpRequest) -> anyhow::Result<StreamingHttpResponse> {
        let handle = tokio::runtime::Handle::try_current()?;
        let response = handle.block_on(self.send(request))?;
        Ok(StreamingHttpResponse {
            status_code: response.status().as_u16(),
            body: Box::new(BlockingBody {
                handle,
                response,
                chunk: bytes::Bytes::new(),
            }),
        })
    }
}

/// A response body read synchronously, one network chunk at a time.
struct BlockingBody {
    handle: tokio::runtime::Handle,
    response: reqwest::Response,
    chunk: bytes::Bytes,
}

impl std::io::Read for BlockingBody {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.response.chunk()) {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(err) => return Err(std::io::Error::other(err)),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Everything needed to build one phone's client.
pub struct ClientParts {
    pub backend: Arc<wadesk_wastore::SeaOrmBackend>,
    pub server_url: String,
    pub http: Arc<ReqwestHttp>,
    pub events: tokio::sync::mpsc::UnboundedSender<Arc<Event>>,
    /// Why a connection attempt failed before WhatsApp answered.
    pub connect_failures: tokio::sync::mpsc::UnboundedSender<String>,
    /// Stores inbound messages before they are acknowledged.
    pub inbound: super::inbound::InboundStore,
}

/// Builds a whatsapp-rust client whose events arrive, in order, on `events`.
pub async fn build_bot(parts: ClientParts) -> anyhow::Result<Bot> {
    let events = parts.events;
    let bot = Bot::builder()
        .with_backend_arc(parts.backend)
        .with_transport_factory(NoDelayTransport::new(
            parts.server_url,
            parts.connect_failures,
        ))
        .with_http_client(SharedHttp(parts.http))
        .with_runtime(TokioRuntime)
        // Skip fetching the web client version from WhatsApp at every start.
        .with_version((2, 3000, 0))
        .skip_history_sync()
        .with_push_name("wadesk")
        .with_event_delivery(EventDelivery::Ordered { capacity: 4096 })
        .with_inbound_durability_hook(parts.inbound)
        .on_event(move |event, _client| {
            let events = events.clone();
            async move {
                let _ = events.send(event);
            }
        })
        .build()
        .await
        .context("building the WhatsApp client")?;
    Ok(bot)
}

/// whatsapp-rust takes its HTTP client by value; ours is shared by all phones.
struct SharedHttp(Arc<ReqwestHttp>);

#[async_trait::async_trait]
impl HttpClient for SharedHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        self.0.execute(request).await
    }

    fn supports_streaming(&self) -> bool {
        self.0.supports_streaming()
    }

    fn execute_streaming(&self, request: HttpRequest) -> anyhow::Result<StreamingHttpResponse> {
        self.0.execute_streaming(request)
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::check_server_url;

    #[test]
    fn a_simulator_build_talks_to_loopback_only() {
        for ok in [
            "ws://127.0.0.1:9090/ws/chat",
            "ws://[::1]:9090/ws/chat",
            "wss://localhost:9090/ws/chat",
        ] {
            check_server_url(ok).unwrap();
        }
        for refused in [
            "",
            "wss://web.whatsapp.com/ws/chat",
            "ws://10.0.0.1:9090/ws/chat",
            "ws://127.0.0.1.example.com/ws/chat",
            "not a url",
        ] {
            let err = check_server_url(refused).unwrap_err().to_string();
            assert!(
                err.contains("only to a simulator on loopback"),
                "{refused}: {err}"
            );
        }
    }
}
