//! The simulator as a program: the `wadesk-sim` binary and `wadesk sim` (a
//! gateway built with `--features sim`) both run [`run`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail, ensure};

use crate::{SimConfig, Simulator};

/// Where the program listens and where it keeps its static key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Websocket address (loopback only).
    pub listen: SocketAddr,
    /// Admin API and media host address (loopback only).
    pub http: SocketAddr,
    /// HTTPS media host address (loopback only).
    pub https: SocketAddr,
    /// Keeps the static Noise key across restarts, so linked clients keep
    /// reconnecting with IK.
    pub key_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            http: SocketAddr::from(([127, 0, 0, 1], 9091)),
            https: SocketAddr::from(([127, 0, 0, 1], 9092)),
            key_file: None,
        }
    }
}

pub const USAGE: &str =
    "usage: wadesk-sim [--listen ADDR] [--http ADDR] [--https ADDR] [--key-file PATH]
  --listen ADDR    websocket address, loopback only (default 127.0.0.1:9090)
  --http ADDR      admin API and media host, loopback only (default 127.0.0.1:9091)
  --https ADDR     HTTPS media host, loopback only (default 127.0.0.1:9092)
  --key-file PATH  keeps the static Noise key across restarts";

impl Options {
    /// Reads `--listen`, `--http`, `--https` and `--key-file` (each `--flag VALUE` or
    /// `--flag=VALUE`); anything else is an error that carries [`USAGE`].
    pub fn from_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
        let mut opts = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg, None),
            };
            if flag == "-h" || flag == "--help" {
                bail!("{USAGE}");
            }
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--listen" => opts.listen = parse_addr(&flag, &value()?)?,
                "--http" => opts.http = parse_addr(&flag, &value()?)?,
                "--https" => opts.https = parse_addr(&flag, &value()?)?,
                "--key-file" => opts.key_file = Some(PathBuf::from(value()?)),
                _ => bail!("unknown argument {flag}\n{USAGE}"),
            }
        }
        Ok(opts)
    }
}

fn parse_addr(flag: &str, value: &str) -> anyhow::Result<SocketAddr> {
    value
        .parse()
        .with_context(|| format!("{flag} {value}: not an address like 127.0.0.1:9090"))
}

/// Starts a simulator on loopback, prints one line per URL on stdout
/// (`websocket: ...`, `http: ...`, `https: ...`) and a hint for the gateway,
/// then serves until Ctrl-C. Refuses any address that is not loopback.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    for addr in [opts.listen, opts.http, opts.https] {
        ensure!(
            addr.ip().is_loopback(),
            "the simulator only listens on loopback ({addr})"
        );
    }
    let mut config = SimConfig {
        listen: Some(opts.listen),
        http_listen: Some(opts.http),
        https_listen: Some(opts.https),
        ..Default::default()
    };
    if let Some(path) = &opts.key_file
        && let Ok(bytes) = std::fs::read(path)
    {
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| anyhow!("{}: not a 32-byte key", path.display()))?;
        config.static_private_key = Some(key);
    }
    let sim = Simulator::start(config).await?;
    if let Some(path) = &opts.key_file {
        std::fs::write(path, sim.static_private_key())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("websocket: {}", sim.ws_url());
    println!("http:      {}", sim.http_url());
    println!(
        "https:     {} (its CA: {}/admin/ca.pem)",
        sim.https_url(),
        sim.http_url()
    );
    println!(
        "point the gateway at it: WADESK__WHATSAPP__SERVER_URL={} WADESK__WHATSAPP__PLAIN_HTTP_MEDIA_HOSTS='[\"{}\"]'",
        sim.ws_url(),
        sim.http_url().trim_start_matches("http://"),
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_flags_with_and_without_equals() {
        let o = Options::from_args(args(&[
            "--listen",
            "127.0.0.1:1",
            "--http=127.0.0.1:2",
            "--https",
            "127.0.0.1:3",
            "--key-file",
            "k",
        ]))
        .unwrap();
        assert_eq!(o.listen, SocketAddr::from(([127, 0, 0, 1], 1)));
        assert_eq!(o.http, SocketAddr::from(([127, 0, 0, 1], 2)));
        assert_eq!(o.https, SocketAddr::from(([127, 0, 0, 1], 3)));
        assert_eq!(o.key_file, Some(PathBuf::from("k")));
        assert_eq!(Options::from_args(args(&[])).unwrap(), Options::default());
    }

    #[test]
    fn refuses_unknown_or_incomplete_flags() {
        assert!(Options::from_args(args(&["--bogus"])).is_err());
        assert!(Options::from_args(args(&["--listen"])).is_err());
        assert!(Options::from_args(args(&["--listen", "nowhere"])).is_err());
    }
}
