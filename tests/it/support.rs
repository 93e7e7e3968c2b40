//! Test harness: a real gateway on 127.0.0.1:0 over a real database, a
//! SQLite file or a fresh PostgreSQL database.

use std::{net::SocketAddr, sync::Once};

use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use wadesk::{
    config::Config,
    server::{self, Core, Running},
    store,
};

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite,
    /// An admin URL of a PostgreSQL server; each test gets its own database.
    Postgres(String),
}

pub const POSTGRES_ENV: &str = "WADESK_TEST_POSTGRES_URL";

impl Db {
    /// The PostgreSQL server from the environment, or None with the reason
    /// printed (the PostgreSQL suite skips only when the variable is unset).
    pub fn postgres() -> Option<Db> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(Db::Postgres(url)),
            _ => {
                static ONCE: Once = Once::new();
                ONCE.call_once(|| {
                    eprintln!("skipping the PostgreSQL suite: {POSTGRES_ENV} is not set (e.g. postgres://postgres@127.0.0.1:5432/test)")
                });
                None
            }
        }
    }
}

/// Runs each listed `async fn name(db: Db)` once on SQLite and once on
/// PostgreSQL.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::support::Db::postgres() {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}

pub struct TestApp {
    pub config: Config,
    pub addr: SocketAddr,
    /// Where /metrics is served when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub base: String,
    pub token: String,
    pub account_id: String,
    pub core: Core,
    pub http: reqwest::Client,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(dir.path());
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        // Media and webhook servers in tests listen on IPv4 loopback.
        config.fetch.allow_ranges = vec!["127.0.0.0/8".into()];
        // Tests poll; the limiter has its own test with the limit set.
        config.limits.requests_per_minute = 0;
        config.limits.auth_failures_per_minute = 0;
        // Never WhatsApp: a loopback port where nothing listens, unless a
        // test points it at its simulator (a simulator build refuses any
        // other server anyway).
        config.whatsapp.server_url = "ws://127.0.0.1:9/ws/chat".into();
        if let Db::Postgres(admin_url) = &db {
            config.database_url = fresh_postgres_database(admin_url).await;
        }
        tweak(&mut config);
        let core = Core::open(config.clone()).await.expect("open core");
        let account = store::accounts::create(&core.db, "test").await.unwrap();
        let token = issue_token(&core, &account.id, None).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = server::spawn(&core, listener).await.expect("server starts");
        let addr = running.addr;
        TestApp {
            config,
            addr,
            metrics_addr: running.metrics_addr,
            base: format!("http://{addr}"),
            token,
            account_id: account.id,
            core,
            http: reqwest::Client::new(),
            running: Some(running),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with this app's token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    /// Appends a message.received event for `phone` straight to the event
    /// log, `text` in its payload (as an inbound message would).
    pub async fn append_event(
        &self,
        phone: &str,
        text: &str,
    ) -> wadesk::store::entity::event::Model {
        self.core
            .events
            .append(wadesk::store::events::NewEvent {
                account_id: &self.account_id,
                phone_id: Some(phone),
                kind: wadesk::events::EventKind::MessageReceived,
                payload: serde_json::json!({"text": text}),
            })
            .await
            .unwrap()
    }

    /// A phone of this app's account, through the API.
    pub async fn create_phone(&self, name: &str) -> String {
        let (status, body) = self
            .post("/api/phones", serde_json::json!({ "name": name }))
            .await;
        assert_eq!(status, 200, "{body}");
        body["phone"]["phone_id"].as_str().unwrap().to_owned()
    }

    /// Stops the server and starts a new one on the same data directory and
    /// database, as after a process restart.
    pub async fn restart(self) -> TestApp {
        self.restart_after(async {}).await
    }

    /// Like `restart`, running `while_down` between the stop and the start.
    pub async fn restart_after(mut self, while_down: impl Future<Output = ()>) -> TestApp {
        if let Some(running) = self.running.take() {
            running.stop().await.unwrap();
        }
        while_down.await;
        let core = Core::open(self.config.clone()).await.expect("reopen core");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = server::spawn(&core, listener)
            .await
            .expect("server restarts");
        self.addr = running.addr;
        self.metrics_addr = running.metrics_addr;
        self.base = format!("http://{}", running.addr);
        self.core = core;
        self.running = Some(running);
        self
    }

    /// Polls the phone status until `want` (or panics after `secs`).
    pub async fn wait_status(&self, phone_id: &str, want: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (_, body) = self.get(&format!("/api/phones/{phone_id}/status")).await;
            if body["status"] == want {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "phone {phone_id} never reached {want}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.unwrap();
        }
    }
}

/// Anything the tests can send authenticated requests to.
pub trait Api {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder;
}

impl Api for TestApp {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        TestApp::request(self, method, path)
    }
}

/// A gateway running as another process.
pub struct Remote {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api for Remote {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }
}

pub async fn issue_token(core: &Core, account_id: &str, expires_at_secs: Option<i64>) -> String {
    let record = store::tokens::create(
        &core.db,
        account_id,
        "test",
        expires_at_secs.map(|s| s * 1000),
    )
    .await
    .unwrap();
    let token = core
        .keys
        .issue(account_id, &record.id, expires_at_secs)
        .unwrap();
    secret(&token);
    token
}

/// Sends and returns the status with the JSON body (Null when not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if status >= 400 {
        captured(&text);
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new database on the server for one test. Databases left by earlier
/// runs (older than an hour) are dropped first, so the server does not fill up.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    let now = chrono::Utc::now().timestamp();
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'wadesk_t_%'",
        ))
        .await
        .unwrap();
    for row in rows {
        let name: String = row.try_get("", "datname").unwrap();
        let created = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        if now - created > 3600 {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let name = format!("wadesk_t_{now}_{}", rand_suffix());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL with a database name");
    format!("{base}/{name}")
}

fn rand_suffix() -> String {
    use rand::RngExt as _;
    let n: u64 = rand::rng().random();
    format!("{n:x}")
}

/// Where the suite keeps what it captured for the secrets check
/// (scripts/check-secrets, run by scripts/test after the suite): every log
/// line of the in-process gateways (debug for wadesk), every panic message,
/// every error body the tests received, the stderr of the gateway
/// processes, and the secrets the tests made (tokens, webhook secrets, AI
/// api keys), which must appear in none of them.
pub fn capture_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn capture_file(name: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(capture_dir().join(format!("{name}-{}.log", std::process::id())))
        .unwrap()
}

/// Records a secret a test made or was given, for the secrets check.
pub fn secret(value: &str) {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(capture_dir().join(format!("secrets-{}.txt", std::process::id())))
        .unwrap();
    writeln!(file, "{value}").unwrap();
}

/// Adds text (an error body) to the capture.
pub fn captured(text: &str) {
    use std::io::Write as _;
    let mut file = capture_file("answers");
    writeln!(file, "{text}").unwrap();
}

/// The stderr of a gateway process, captured.
pub fn process_stderr() -> std::process::Stdio {
    capture_file("process").into()
}

/// Captures the gateway's logs (and panics) for the secrets check, and
/// also shows them when RUST_LOG is set.
pub fn init_logs() {
    use tracing_subscriber::{EnvFilter, Layer as _, fmt, layer::SubscriberExt as _};
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let file = std::sync::Arc::new(capture_file("logs"));
        let capture = fmt::layer()
            .with_writer(file.clone())
            .with_ansi(false)
            .with_filter(EnvFilter::new("info,wadesk=debug,wadesk_gateway=debug"));
        let console = std::env::var_os("RUST_LOG").is_some().then(|| {
            fmt::layer()
                .with_test_writer()
                .with_filter(EnvFilter::from_default_env())
        });
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(capture).with(console),
        );
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            use std::io::Write as _;
            let _ = writeln!(&*file, "panic: {info}");
            previous(info);
        }));
    });
}

/// A bare whatsapp-rust client linked to a virtual phone of the simulator: the
/// other person in a chat with one of the gateway's phones.
pub struct Peer {
    handle: Option<whatsapp_rust::prelude::BotHandle>,
    pub client: std::sync::Arc<whatsapp_rust::prelude::Client>,
    events: tokio::sync::mpsc::UnboundedReceiver<std::sync::Arc<whatsapp_rust::prelude::Event>>,
}

impl Peer {
    /// The first event `f` maps to `Some`; panics after `timeout`.
    async fn wait_for<T>(
        &mut self,
        timeout: std::time::Duration,
        what: &str,
        mut f: impl FnMut(&whatsapp_rust::prelude::Event) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) => {
                    if let Some(v) = f(&ev) {
                        return v;
                    }
                }
                Ok(None) => panic!("peer events ended while waiting for {what}"),
                Err(_) => panic!("timed out after {timeout:?} waiting for the peer's {what}"),
            }
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

/// Creates the virtual phone `number`, links a fresh client to it by QR and
/// waits until that client is Connected. Its media goes to the simulator's
/// plain-HTTP media host.
pub async fn paired_client(sim: &wadesk_sim::Simulator, number: &str, push_name: &str) -> Peer {
    use std::time::Duration;
    use whatsapp_rust::prelude::*;
    use whatsapp_rust::transport::TokioWebSocketTransportFactory;

    sim.create_phone(number);
    let media_host = sim.http_url().trim_start_matches("http://").to_string();
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend(wacore::store::InMemoryBackend::new())
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(sim.ws_url()))
        .with_http_client(wadesk::sessions::engine::ReqwestHttp::new(
            reqwest::Client::new(),
            vec![media_host],
        ))
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .skip_history_sync()
        .with_push_name(push_name)
        .with_event_delivery(EventDelivery::Ordered { capacity: 4096 })
        .on_event(move |ev, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ev);
            }
        })
        .build()
        .await
        .expect("peer client builds");
    let handle = bot.spawn();
    let mut peer = Peer {
        client: handle.client(),
        handle: Some(handle),
        events,
    };
    let qr = peer
        .wait_for(Duration::from_secs(10), "QR code", |ev| match ev {
            Event::PairingQrCode(q) => Some(q.code.clone()),
            _ => None,
        })
        .await;
    sim.scan(&qr, number)
        .await
        .expect("the virtual phone scans");
    peer.wait_for(Duration::from_secs(30), "Connected", |ev| match ev {
        Event::Connected(_) => Some(()),
        Event::LoggedOut(l) => panic!("logged out instead of connecting: {l:?}"),
        _ => None,
    })
    .await;
    peer
}

/// Writes a figure the test script prints after the suite (fuzz cases
/// tried, SSRF cases, ...): one file per name under target/tmp/counts.
pub fn record_count(name: &str, line: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("counts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n")).unwrap();
}

/// Polls `check` every 25 ms until it gives a value (or panics after 30 s,
/// saying what never happened).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Puts a phone on the Pro plan, as `wadesk phone set-plan` does, and lets
/// the running server see it at once (not after auth.cache_ms).
pub async fn make_pro(app: &TestApp, phone_id: &str) {
    let db = &app.core.db;
    let phone = store::phones::find(db, phone_id).await.unwrap().unwrap();
    store::phones::set_plan(db, phone, store::entity::vocab::Plan::Pro)
        .await
        .unwrap();
    app.core.sessions.phones().invalidate(phone_id);
}

/// Serves `router` on a free loopback port: the one HTTP server the tests
/// stand up for what the gateway calls out to (webhook receivers, AI
/// providers, media files, sheets). Answers its base URL and the task
/// (abort it to stop serving).
pub async fn serve_http(router: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (format!("http://{addr}"), task)
}
