//! Configuration: embedded commented defaults, then wadesk.toml, then
//! WADESK__* environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;

/// The defaults, with comments: also what `wadesk config` prints.
pub const DEFAULTS: &str = include_str!("config.default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub server: Server,
    pub auth: Auth,
    pub limits: Limits,
    pub log: Log,
    pub whatsapp: WhatsApp,
    pub sessions: Sessions,
    pub fetch: Fetch,
    pub uploads: Uploads,
    pub webhooks: Webhooks,
    pub bulk: Bulk,
    pub sheets: Sheets,
    pub bot: Bot,
    pub metrics: Metrics,
    pub accounts: Accounts,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub listen: SocketAddr,
    pub cors_origins: Vec<String>,
    /// On a stop signal, how long health checks answer NOT_SERVING while
    /// requests are still served, before the server stops accepting.
    #[serde(rename = "drain_secs", with = "seconds")]
    pub drain: Duration,
    /// A request head (and a new connection's first bytes) must arrive
    /// within this; also the idle keep-alive limit of HTTP/1.1.
    #[serde(rename = "header_timeout_secs", with = "seconds")]
    pub header_timeout: Duration,
    /// Open connections, in total and from one client address.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Largest request body: a REST body or one gRPC message (413 /
    /// RESOURCE_EXHAUSTED past it).
    pub max_body_bytes: usize,
    /// Longest request path and query (414 past it).
    pub max_uri_bytes: usize,
    /// Header fields of one request, and their bytes in all (431 past
    /// either).
    pub max_headers: usize,
    pub max_header_bytes: usize,
    /// Deepest nesting of arrays and objects in a REST JSON body (400).
    pub max_json_depth: usize,
    /// Most items of one array in a REST JSON body, or values of one
    /// repeated query parameter (400 naming the field).
    pub max_list_items: usize,
}

/// `GET /metrics` (`[metrics]`).
#[derive(Clone, Deserialize)]
pub struct Metrics {
    pub enabled: bool,
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    #[serde(deserialize_with = "optional_string")]
    pub token: Option<String>,
    /// Phone and webhook ids as labels.
    pub per_phone: bool,
    /// A separate address to serve /metrics on (then not on the main port).
    #[serde(deserialize_with = "optional_addr")]
    pub listen: Option<SocketAddr>,
}

impl std::fmt::Debug for Metrics {
    /// Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("per_phone", &self.per_phone)
            .field("listen", &self.listen)
            .finish()
    }
}

/// The shortest `metrics.token` accepted: it guards what the gateway
/// tells about its phones, so it must not be guessable.
pub const MIN_METRICS_TOKEN: usize = 16;

/// An empty string (the default) is no value.
fn optional_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    Ok((!s.is_empty()).then_some(s))
}

/// An empty string (the default) is no address.
fn optional_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not an address:port ({e})")))
}

#[derive(Clone, Deserialize)]
pub struct Auth {
    pub secret: String,
    #[serde(rename = "cache_ms", with = "millis")]
    pub cache: Duration,
}

impl std::fmt::Debug for Auth {
    /// Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("secret", &if self.secret.is_empty() { "" } else { "<set>" })
            .field("cache", &self.cache)
            .finish()
    }
}

/// Console sign-in and sign-up (`[accounts]`).
#[derive(Debug, Clone, Deserialize)]
pub struct Accounts {
    /// Whether anyone who reaches the console may create an account.
    pub signup: bool,
    /// How long a console sign-in lasts.
    #[serde(rename = "session_secs", with = "seconds")]
    pub session: Duration,
    /// Failed sign-ins per email, and from one client address, per minute
    /// (429 with Retry-After past it); 0: no limit.
    pub sign_in_failures_per_minute: u32,
    /// Always mark the session cookie `Secure` (besides when a proxy says
    /// the browser used HTTPS).
    pub secure_cookie: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    pub requests_per_minute: u32,
    /// Failed authentications one client address may make per minute
    /// before its attempts are refused (429) for the rest of the minute.
    pub auth_failures_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Log {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WhatsApp {
    pub server_url: String,
    pub plain_http_media_hosts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sessions {
    #[serde(rename = "watchdog_secs", with = "seconds")]
    pub watchdog: Duration,
    #[serde(rename = "dead_after_secs", with = "seconds")]
    pub dead_after: Duration,
    pub max_failures: u32,
    #[serde(rename = "max_backoff_secs", with = "seconds")]
    pub max_backoff: Duration,
    /// Zero: until whatsapp-rust's own codes run out.
    #[serde(rename = "pair_timeout_secs", with = "seconds")]
    pub pair_timeout: Duration,
    #[serde(rename = "send_timeout_secs", with = "seconds")]
    pub send_timeout: Duration,
}

/// Outbound requests to URLs callers give (media, webhooks, sheets).
#[derive(Debug, Clone, Deserialize)]
pub struct Fetch {
    pub allow_ranges: Vec<String>,
    #[serde(rename = "connect_timeout_secs", with = "seconds")]
    pub connect_timeout: Duration,
    #[serde(rename = "timeout_secs", with = "seconds")]
    pub timeout: Duration,
    pub max_redirects: usize,
}

/// Files uploaded to send later (`[uploads]`).
#[derive(Debug, Clone, Deserialize)]
pub struct Uploads {
    #[serde(rename = "ttl_secs", with = "seconds")]
    pub ttl: Duration,
    #[serde(rename = "max_ttl_secs", with = "seconds")]
    pub max_ttl: Duration,
    pub max_bytes: u64,
}

/// Webhook delivery (`[webhooks]`). Durations are seconds, fractions
/// allowed.
#[derive(Debug, Clone, Deserialize)]
pub struct Webhooks {
    /// One attempt's limit: connecting, sending and the answer.
    #[serde(rename = "timeout_secs", with = "seconds")]
    pub timeout: Duration,
    /// Pause before each retry of a failed delivery; the last repeats.
    #[serde(rename = "retry_schedule_secs", with = "seconds_list")]
    pub retry_schedule: Vec<Duration>,
    /// Each pause is moved by up to this fraction either way.
    pub jitter: f64,
    /// The longest pause a receiver's `Retry-After` can ask for.
    #[serde(rename = "max_retry_after_secs", with = "seconds")]
    pub max_retry_after: Duration,
    /// An endpoint failing without a break for this long is disabled.
    #[serde(rename = "disable_after_secs", with = "seconds")]
    pub disable_after: Duration,
    /// Endpoints delivered to at the same time.
    pub concurrency: usize,
}

/// The AI auto-reply bot (`[bot]`).
#[derive(Debug, Clone, Deserialize)]
pub struct Bot {
    pub gemini_base_url: String,
    pub openai_base_url: String,
    /// The default models, when SetBot names none.
    pub gemini_model: String,
    pub openai_model: String,
    /// Messages of the chat sent with each question.
    pub history_turns: u64,
    #[serde(rename = "debounce_ms", with = "millis")]
    pub debounce: Duration,
    #[serde(rename = "timeout_secs", with = "seconds")]
    pub timeout: Duration,
    pub retries: u32,
    #[serde(rename = "retry_backoff_ms", with = "millis")]
    pub retry_backoff: Duration,
    /// Bot replies to one chat per hour before the bot stops answering it.
    pub max_replies_per_chat_per_hour: u64,
}

impl Config {
    /// Loads defaults, then `file` (if it exists), then the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, Box<figment::Error>> {
        let file = file
            .map(PathBuf::from)
            .unwrap_or_else(|| "wadesk.toml".into());
        Self::figment(&file).extract().map_err(Box::new)
    }

    fn figment(file: &std::path::Path) -> Figment {
        Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::file(file))
            .merge(Env::prefixed("WADESK__").split("__"))
    }

    /// Defaults only, with a data directory: what tests and benchmarks start from.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        let mut config: Config = Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("embedded defaults parse");
        config.data_dir = data_dir.into();
        config
    }

    /// Checks the values no type can: a count or a duration that must be
    /// positive. (Durations are typed when the file is read: a negative,
    /// infinite or absurd number of seconds stops loading, naming its key.)
    /// Start-up stops at the first bad one, naming its key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let counts = [
            (
                "sessions.max_failures",
                u64::from(self.sessions.max_failures),
            ),
            ("bulk.max_numbers", self.bulk.max_numbers as u64),
            ("bulk.max_failures", u64::from(self.bulk.max_failures)),
            ("bot.history_turns", self.bot.history_turns),
            ("webhooks.concurrency", self.webhooks.concurrency as u64),
            ("server.max_connections", self.server.max_connections as u64),
            (
                "server.max_connections_per_ip",
                self.server.max_connections_per_ip as u64,
            ),
            ("server.max_body_bytes", self.server.max_body_bytes as u64),
            ("server.max_uri_bytes", self.server.max_uri_bytes as u64),
            ("server.max_headers", self.server.max_headers as u64),
            (
                "server.max_header_bytes",
                self.server.max_header_bytes as u64,
            ),
            ("server.max_json_depth", self.server.max_json_depth as u64),
            ("server.max_list_items", self.server.max_list_items as u64),
            ("uploads.max_bytes", self.uploads.max_bytes),
        ];
        for (key, value) in counts {
            anyhow::ensure!(value > 0, "{key} must be at least 1 (it is 0)");
        }
        let durations = [
            ("server.header_timeout_secs", self.server.header_timeout),
            ("sessions.watchdog_secs", self.sessions.watchdog),
            ("sessions.dead_after_secs", self.sessions.dead_after),
            ("sessions.max_backoff_secs", self.sessions.max_backoff),
            ("sessions.send_timeout_secs", self.sessions.send_timeout),
            ("fetch.timeout_secs", self.fetch.timeout),
            ("fetch.connect_timeout_secs", self.fetch.connect_timeout),
            ("webhooks.timeout_secs", self.webhooks.timeout),
            ("bot.timeout_secs", self.bot.timeout),
            ("accounts.session_secs", self.accounts.session),
            ("uploads.ttl_secs", self.uploads.ttl),
        ];
        for (key, value) in durations {
            anyhow::ensure!(!value.is_zero(), "{key} must be more than 0 (it is 0)");
        }
        anyhow::ensure!(
            self.uploads.max_ttl >= self.uploads.ttl,
            "uploads.max_ttl_secs must be at least uploads.ttl_secs"
        );
        if let Some(token) = &self.metrics.token {
            anyhow::ensure!(
                token.len() >= MIN_METRICS_TOKEN,
                "metrics.token must be at least {MIN_METRICS_TOKEN} characters (it is {}); \
                 generate one, e.g. with `openssl rand -hex 32`",
                token.len()
            );
        }
        anyhow::ensure!(
            self.bulk.max_numbers <= self.server.max_list_items,
            "bulk.max_numbers ({}) must not exceed server.max_list_items ({}): a REST campaign's numbers are one list",
            self.bulk.max_numbers,
            self.server.max_list_items
        );
        anyhow::ensure!(
            !self.webhooks.retry_schedule.is_empty(),
            "webhooks.retry_schedule_secs: needs at least one pause"
        );
        anyhow::ensure!(
            self.bulk.random_delay.0 <= self.bulk.random_delay.1,
            "bulk.random_delay_ms: the first bound must not exceed the second"
        );
        Ok(())
    }

    /// The database to use: `database_url`, or the embedded default, a
    /// SQLite file in data_dir (created when missing).
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("wadesk.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own error type
    fn defaults_parse_and_env_overrides() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("wadesk.toml", "[limits]\nrequests_per_minute = 7\n")?;
            jail.set_env("WADESK__SERVER__LISTEN", "127.0.0.1:9999");
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(config.limits.requests_per_minute, 7);
            assert_eq!(config.server.listen.port(), 9999);
            assert_eq!(config.log.format, LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused_by_key() {
        let mut config = Config::for_data_dir("/tmp/none");
        config.validate().unwrap();
        config.sessions.watchdog = Duration::ZERO;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("sessions.watchdog_secs must be more than 0"),
            "{err}"
        );
        let mut config = Config::for_data_dir("/tmp/none");
        config.bulk.max_failures = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("bulk.max_failures"), "{err}");
        let mut config = Config::for_data_dir("/tmp/none");
        config.metrics.token = Some("short".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("metrics.token must be at least 16"),
            "{err}"
        );
        assert!(!err.contains("short"), "the token is not repeated: {err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own error type
    fn metrics_settings() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None).map_err(|e| *e)?;
            assert!(config.metrics.enabled && config.metrics.per_phone);
            assert_eq!(config.metrics.token, None);
            assert_eq!(config.metrics.listen, None);
            jail.create_file(
                "wadesk.toml",
                "[metrics]\ntoken = \"0123456789abcdef0123\"\nper_phone = false\nlisten = \"127.0.0.1:9100\"\n",
            )?;
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(
                config.metrics.token.as_deref(),
                Some("0123456789abcdef0123")
            );
            assert!(!config.metrics.per_phone);
            assert_eq!(
                config.metrics.listen,
                Some("127.0.0.1:9100".parse().unwrap())
            );
            let printed = format!("{config:?}");
            assert!(!printed.contains("0123456789abcdef0123"), "{printed}");
            jail.set_env("WADESK__METRICS__LISTEN", "nowhere");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("metrics.listen"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own error type
    fn durations_are_typed_when_read() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "wadesk.toml",
                "[webhooks]\ntimeout_secs = 2.5\nretry_schedule_secs = [0.5, 60]\n[bulk]\nrandom_delay_ms = [10, 20]\n",
            )?;
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(config.webhooks.timeout, Duration::from_millis(2500));
            assert_eq!(
                config.webhooks.retry_schedule,
                [Duration::from_millis(500), Duration::from_secs(60)]
            );
            assert_eq!(
                config.bulk.random_delay,
                (Duration::from_millis(10), Duration::from_millis(20))
            );
            for bad in ["-1", "inf", "nan", "1e12", "\"soon\""] {
                jail.set_env("WADESK__SESSIONS__WATCHDOG_SECS", bad);
                let err = Config::load(None).unwrap_err().to_string();
                let named = err.to_lowercase().contains("sessions.watchdog_secs");
                assert!(named, "{bad}: {err}");
            }
            Ok(())
        });
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bulk {
    pub max_numbers: usize,
    /// Bounds of the random gap when a campaign gives no delay.
    #[serde(rename = "random_delay_ms", with = "millis_pair")]
    pub random_delay: (Duration, Duration),
    pub max_failures: u32,
    #[serde(rename = "progress_interval_secs", with = "seconds")]
    pub progress_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sheets {
    pub base_url: String,
    pub max_bytes: u64,
}

/// The largest duration a setting takes (about 31 years): beyond it a
/// number is a mistake, not a wish.
const MAX_SECS: f64 = 1e9;

fn secs_to_duration<E: serde::de::Error>(value: f64, unit: &str) -> Result<Duration, E> {
    let secs = if unit == "ms" { value / 1000.0 } else { value };
    if !(0.0..MAX_SECS).contains(&secs) {
        return Err(E::custom(format!(
            "{value} is not a number of {} between 0 and {}",
            if unit == "ms" {
                "milliseconds"
            } else {
                "seconds"
            },
            if unit == "ms" { "1e12" } else { "1e9" }
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration written as seconds (fractions allowed): `timeout_secs = 2.5`.
mod seconds {
    use super::*;

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        secs_to_duration(f64::deserialize(d)?, "s")
    }
}

/// A duration written as milliseconds: `cache_ms = 1000`.
mod millis {
    use super::*;

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        secs_to_duration(f64::deserialize(d)?, "ms")
    }
}

/// A list of durations in seconds.
mod seconds_list {
    use super::*;

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Duration>, D::Error> {
        Vec::<f64>::deserialize(d)?
            .into_iter()
            .map(|v| secs_to_duration(v, "s"))
            .collect()
    }
}

/// Two durations in milliseconds: `[low, high]`.
mod millis_pair {
    use super::*;

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<(Duration, Duration), D::Error> {
        let (a, b) = <(f64, f64)>::deserialize(d)?;
        Ok((secs_to_duration(a, "ms")?, secs_to_duration(b, "ms")?))
    }
}
