//! The gateway under test: the real `wadesk serve` binary as a child process
//! with its own data directory, pointed at the simulator; and what every row
//! does with it (pair a phone, read an SSE stream, read /proc).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use wadesk_sim::Simulator;

const BIN: &str = env!("CARGO_BIN_EXE_wadesk");

/// Adds `authorization: Bearer <token>` to every gRPC call (nothing for the
/// bare baselines, which take no token).
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    pub fn new(token: Option<&str>) -> anyhow::Result<Bearer> {
        Ok(Bearer(match token {
            Some(t) => Some(format!("Bearer {t}").parse()?),
            None => None,
        }))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub struct Gateway {
    child: Option<Child>,
    envs: Vec<(String, String)>,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Creates an account (for its token), starts `wadesk serve` and waits
    /// until it answers. The request limit is off: the benchmark is the only
    /// client.
    pub async fn start(sim: &Simulator) -> anyhow::Result<Gateway> {
        Gateway::start_with(sim, &[]).await
    }

    /// [`Gateway::start`] with more environment (e.g. `WADESK__FETCH__ALLOW_RANGES`).
    pub async fn start_with(sim: &Simulator, extra: &[(&str, &str)]) -> anyhow::Result<Gateway> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut envs: Vec<(String, String)> = [
            ("WADESK__DATA_DIR", dir.path().display().to_string()),
            ("WADESK__DATABASE_URL", String::new()),
            ("WADESK__SERVER__LISTEN", format!("127.0.0.1:{port}")),
            ("WADESK__WHATSAPP__SERVER_URL", sim.ws_url()),
            // 0: no per-token request limit (src/auth/limit.rs).
            ("WADESK__LIMITS__REQUESTS_PER_MINUTE", "0".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        envs.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut gateway = Gateway {
            child: None,
            envs,
            base: format!("http://127.0.0.1:{port}"),
            token: String::new(),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let out = gateway.cli(&["account", "create", "--name", "Bench"])?;
        gateway.token = out
            .lines()
            .find_map(|l| l.strip_prefix("token:").map(|t| t.trim().to_owned()))
            .context("wadesk account create printed no token")?;
        gateway.spawn()?;
        gateway.wait_healthy().await?;
        Ok(gateway)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs a `wadesk` CLI command against the same data directory; its stdout.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self
            .command()
            .args(args)
            .output()
            .with_context(|| format!("running wadesk {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "wadesk {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `wadesk serve` (returns at once).
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .context("starting wadesk serve")?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills the serve process (SIGKILL) and waits for it; the data directory stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn wait_healthy(&self) -> anyhow::Result<()> {
        for _ in 0..2400 {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("wadesk serve never answered /healthz")
    }

    /// A new gRPC connection to the gateway, and the caller's credentials.
    pub async fn grpc(&self) -> anyhow::Result<(tonic::transport::Channel, Bearer)> {
        let channel = tonic::transport::Channel::from_shared(self.base.clone())?
            .connect()
            .await?;
        Ok((channel, Bearer::new(Some(&self.token))?))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// GET `path` with the token: status and JSON body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self.request(reqwest::Method::GET, path).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    /// POST JSON with the token: status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    /// The gateway process's id.
    pub fn child_id(&self) -> anyhow::Result<u32> {
        self.pid()
    }

    fn pid(&self) -> anyhow::Result<u32> {
        Ok(self.child.as_ref().context("gateway not running")?.id())
    }

    /// Resident memory (VmRSS) of the gateway process, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.pid()?, "VmRSS:")
    }

    /// Peak resident memory (VmHWM) of the gateway process, in KiB.
    pub fn peak_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.pid()?, "VmHWM:")
    }

    /// Resets the peak (VmHWM) to the current resident memory
    /// (`echo 5 > /proc/PID/clear_refs`).
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        let pid = self.pid()?;
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
            .with_context(|| format!("resetting the peak RSS of {pid}"))
    }

    /// Creates a phone through the API; its id.
    pub async fn create_phone(&self, name: &str) -> anyhow::Result<String> {
        let (_, body) = self.post("/api/phones", &json!({ "name": name })).await?;
        Ok(body["phone"]["phone_id"]
            .as_str()
            .with_context(|| format!("create phone: {body}"))?
            .to_owned())
    }

    /// Creates a phone and pairs it by QR with the virtual phone `number`
    /// (created in the simulator); returns its id once the stream says connected.
    pub async fn link(&self, sim: &Simulator, number: &str) -> anyhow::Result<String> {
        sim.create_phone(number);
        let phone_id = self.create_phone(&format!("bench {number}")).await?;
        let response = self
            .request(reqwest::Method::GET, &format!("/api/phones/{phone_id}/qr"))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("pairing {phone_id}: HTTP {}", response.status());
        }
        let mut events = Sse::new(response);
        while let Some(event) = events.next(Duration::from_secs(60)).await? {
            match event["type"].as_str().unwrap_or_default() {
                "qr" => {
                    let qr = event["qr"].as_str().context("QR text")?;
                    sim.scan(qr, number).await?;
                }
                "connected" => return Ok(phone_id),
                "failed" | "expired" => bail!("pairing {phone_id}: {event}"),
                _ => {}
            }
        }
        bail!("pairing stream of {phone_id} ended before connected")
    }

    /// Waits until the gateway lists `n` phones, all connected.
    pub async fn wait_connected(&self, n: usize, within: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let (_, list) = self.get("/api/phones").await?;
            let rows = list["phones"].as_array().context("phones list")?;
            let connected = rows.iter().filter(|p| p["status"] == "connected").count();
            if rows.len() == n && connected == n {
                return Ok(started.elapsed());
            }
            if started.elapsed() > within {
                bail!("{connected} of {n} phones connected after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (Linux only)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Server-Sent Events `data:` payloads of a streaming response.
pub struct Sse {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Sse {
    pub fn new(response: reqwest::Response) -> Sse {
        Sse {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next payload; None when the stream ends. `within` without one is an error.
    pub async fn next(&mut self, within: Duration) -> anyhow::Result<Option<Value>> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return Ok(Some(serde_json::from_str(&data.join("\n"))?));
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk?)),
                Ok(None) => return Ok(None),
                Err(_) => bail!("no server-sent event within {within:?}"),
            }
        }
    }
}

/// Latencies, sorted, for percentiles.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut v: Vec<Duration>) -> Latencies {
        v.sort();
        Latencies(v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The q-quantile (0..=1), nearest rank; zero when empty.
    pub fn q(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
