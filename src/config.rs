//! Configuration: embedded commented defaults, then wadesk.toml, then
//! WADESK__* environment variables.

use std::{net::SocketAddr, path::PathBuf};

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
    pub webhooks: Webhooks,
    pub bulk: Bulk,
    pub sheets: Sheets,
    pub bot: Bot,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub listen: SocketAddr,
    pub cors_origins: Vec<String>,
}

#[derive(Clone, Deserialize)]
pub struct Auth {
    pub secret: String,
    pub cache_ms: u64,
}

impl std::fmt::Debug for Auth {
    /// Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("secret", &if self.secret.is_empty() { "" } else { "<set>" })
            .field("cache_ms", &self.cache_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    pub requests_per_minute: u32,
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
    pub watchdog_secs: u64,
    pub dead_after_secs: u64,
    pub max_failures: u32,
    pub max_backoff_secs: u64,
    pub pair_timeout_secs: u64,
    pub send_timeout_secs: u64,
}

/// Outbound requests to URLs callers give (media, webhooks, sheets).
#[derive(Debug, Clone, Deserialize)]
pub struct Fetch {
    pub allow_ranges: Vec<String>,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub max_redirects: usize,
}

/// Webhook delivery (`[webhooks]`). Durations are seconds, fractions
/// allowed.
#[derive(Debug, Clone, Deserialize)]
pub struct Webhooks {
    /// One attempt's limit: connecting, sending and the answer.
    pub timeout_secs: f64,
    /// Pause before each retry of a failed delivery; the last repeats.
    pub retry_schedule_secs: Vec<f64>,
    /// Each pause is moved by up to this fraction either way.
    pub jitter: f64,
    /// The longest pause a receiver's `Retry-After` can ask for.
    pub max_retry_after_secs: f64,
    /// An endpoint failing without a break for this long is disabled.
    pub disable_after_secs: f64,
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
    pub debounce_ms: u64,
    pub timeout_secs: f64,
    pub retries: u32,
    pub retry_backoff_ms: u64,
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
    /// positive, a number of seconds that must be finite. Start-up stops at
    /// the first bad one, naming its key (a zero used to become one
    /// silently in some places, and an infinite interval panicked).
    pub fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("sessions.watchdog_secs", self.sessions.watchdog_secs),
            ("sessions.dead_after_secs", self.sessions.dead_after_secs),
            (
                "sessions.max_failures",
                u64::from(self.sessions.max_failures),
            ),
            ("sessions.max_backoff_secs", self.sessions.max_backoff_secs),
            (
                "sessions.send_timeout_secs",
                self.sessions.send_timeout_secs,
            ),
            ("bulk.max_numbers", self.bulk.max_numbers as u64),
            ("bulk.max_failures", u64::from(self.bulk.max_failures)),
            ("bot.history_turns", self.bot.history_turns),
            ("webhooks.concurrency", self.webhooks.concurrency as u64),
        ];
        for (key, value) in positive {
            anyhow::ensure!(value > 0, "{key} must be at least 1 (it is 0)");
        }
        let seconds = [
            (
                "bulk.progress_interval_secs",
                self.bulk.progress_interval_secs,
            ),
            ("bot.timeout_secs", self.bot.timeout_secs),
            ("webhooks.timeout_secs", self.webhooks.timeout_secs),
            (
                "webhooks.max_retry_after_secs",
                self.webhooks.max_retry_after_secs,
            ),
            (
                "webhooks.disable_after_secs",
                self.webhooks.disable_after_secs,
            ),
        ];
        for (key, value) in seconds {
            anyhow::ensure!(
                (0.0..1e9).contains(&value),
                "{key} must be a number of seconds between 0 and 1e9 (it is {value})"
            );
        }
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
        config.sessions.watchdog_secs = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("sessions.watchdog_secs must be at least 1"),
            "{err}"
        );
        let mut config = Config::for_data_dir("/tmp/none");
        config.bulk.progress_interval_secs = f64::INFINITY;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("bulk.progress_interval_secs"), "{err}");
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bulk {
    pub max_numbers: usize,
    pub random_delay_ms: (u64, u64),
    pub max_failures: u32,
    pub progress_interval_secs: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sheets {
    pub base_url: String,
    pub max_bytes: u64,
}
