//! The gateway under test: the real `wadesk serve` binary as a child process
//! with its own data directory, pointed at the simulator.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use wadesk::sim::Simulator;

const BIN: &str = env!("CARGO_BIN_EXE_wadesk");

pub struct Gateway {
    child: Child,
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
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let envs = [
            ("WADESK__DATA_DIR", dir.path().display().to_string()),
            ("WADESK__DATABASE_URL", String::new()),
            ("WADESK__SERVER__LISTEN", format!("127.0.0.1:{port}")),
            ("WADESK__WHATSAPP__SERVER_URL", sim.ws_url()),
            ("WADESK__LIMITS__REQUESTS_PER_MINUTE", "0".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        let command = || {
            let mut command = Command::new(BIN);
            command.envs(envs.iter().map(|(k, v)| (*k, v.as_str())));
            command
        };
        let out = command()
            .args(["account", "create", "--name", "Bench"])
            .output()
            .context("running wadesk account create")?;
        if !out.status.success() {
            bail!(
                "wadesk account create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let token = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("token:").map(|t| t.trim().to_owned()))
            .context("wadesk account create printed no token")?;
        let child = command()
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .context("starting wadesk serve")?;
        let gateway = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
            token,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        for _ in 0..800 {
            if let Ok(r) = gateway.http.get(gateway.url("/healthz")).send().await
                && r.status().is_success()
            {
                return Ok(gateway);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("wadesk serve never answered /healthz")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// Resident memory (VmRSS) of the gateway process, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// Peak resident memory (VmHWM) of the gateway process, in KiB.
    pub fn peak_kib(&self) -> anyhow::Result<u64> {
        proc_status_kib(self.child.id(), "VmHWM:")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
