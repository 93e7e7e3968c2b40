//! Chaos with exact accounting, one gateway process: for two minutes,
//! sends over REST and gRPC, inbound texts from virtual phones, a campaign
//! and webhook retries run while the gateway is SIGKILLed every 15 s (and
//! once SIGSTOPped for 10 s instead), and the PostgreSQL server under it is
//! restarted once (`pg_ctl restart -m immediate`: a crash of the server
//! and its recovery). That server is the test's own (initdb in a temporary
//! directory, run as the `postgres` user on a free port), never the
//! machine's shared one; without root or initdb the test runs on SQLite
//! and says the restart was skipped.
//!
//! Reactions and edits (through the outbox like sends) run alongside.
//! Then: every send answered 200 reached its recipient exactly once (and
//! every reaction and edit was applied exactly once), every
//! inbound text was stored exactly once and delivered to the webhook, every
//! campaign recipient got exactly one message. The counts are recorded for
//! scripts/test to print.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, http::StatusCode, routing::post};
use serde_json::{Value, json};
use tonic::transport::Channel;
use wadesk::proto::{self, send_service_client::SendServiceClient};
use wadesk_sim::{SimConfig, Simulator};

use crate::{
    phones::pair,
    process::Gateway,
    support::{Api, Db, Remote, record_count, send},
};

const RUN: Duration = Duration::from_secs(120);
const KILL_EVERY: Duration = Duration::from_secs(15);
const FROM: &str = "919812380000";

/// A PostgreSQL server of the test's own.
struct OwnPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    fn bin(name: &str) -> Option<PathBuf> {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
            .filter(|p| p.exists())
            .collect();
        versions.sort();
        versions.pop()
    }

    fn as_postgres(program: &Path) -> Command {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    }

    /// None with the reason when this machine cannot run one.
    fn start() -> Result<OwnPostgres, String> {
        let (Some(initdb), Some(_)) = (Self::bin("initdb"), Self::bin("pg_ctl")) else {
            return Err("no initdb/pg_ctl under /usr/lib/postgresql".into());
        };
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        // The server runs as postgres: it needs to reach its directory.
        let chmod = Command::new("chmod").arg("755").arg(dir.path()).status();
        std::fs::create_dir(&data).map_err(|e| e.to_string())?;
        let chown = Command::new("chown").arg("postgres").arg(&data).status();
        if !matches!((chmod, chown), (Ok(a), Ok(b)) if a.success() && b.success()) {
            return Err("cannot hand a directory to the postgres user (not root?)".into());
        }
        let out = Self::as_postgres(&initdb)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| format!("runuser: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = OwnPostgres { dir, port };
        server.pg_ctl(&["start"])?;
        Ok(server)
    }

    fn pg_ctl(&self, action: &[&str]) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().join("data").display()
        );
        let out = Self::as_postgres(&Self::bin("pg_ctl").unwrap())
            .args(["-w", "-D"])
            .arg(self.dir.path().join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("data").join("log"))
            .args(action)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {action:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

/// A webhook receiver that answers every third request 503 (so retries
/// happen all the time) and keeps the bodies it accepted.
struct Hooks {
    url: String,
    accepted: Arc<Mutex<Vec<Value>>>,
    requests: Arc<AtomicUsize>,
}

async fn hooks() -> Hooks {
    let accepted: Arc<Mutex<Vec<Value>>> = Arc::default();
    let requests: Arc<AtomicUsize> = Arc::default();
    let (a, r) = (accepted.clone(), requests.clone());
    let router = Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            let (accepted, requests) = (a.clone(), r.clone());
            async move {
                if requests.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                if let Ok(value) = serde_json::from_slice(&body) {
                    accepted.lock().unwrap().push(value);
                }
                StatusCode::OK
            }
        }),
    );
    let (base, _task) = crate::support::serve_http(router).await;
    Hooks {
        url: format!("{base}/hook"),
        accepted,
        requests,
    }
}

/// How a sender reaches the gateway.
enum Transport {
    Rest(Remote),
    /// Base URL and token; the key goes in `idempotency-key` metadata.
    Grpc(String, String),
}

impl Transport {
    /// One try of one send under `key`: answered 200 (OK) or not.
    async fn send(&self, phone: &str, to: &str, text: &str, key: &str) -> bool {
        match self {
            Transport::Rest(api) => api
                .request(reqwest::Method::POST, "/api/send")
                .header("idempotency-key", key)
                .timeout(Duration::from_secs(20))
                .json(&json!({"phone_id": phone, "to": to, "message": text}))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200),
            Transport::Grpc(base, token) => {
                let Ok(channel) = Channel::from_shared(base.clone())
                    .unwrap()
                    .connect_timeout(Duration::from_secs(2))
                    .timeout(Duration::from_secs(20))
                    .connect()
                    .await
                else {
                    return false;
                };
                let mut request = tonic::Request::new(proto::SendTextRequest {
                    phone_id: phone.to_owned(),
                    to: to.to_owned(),
                    message: text.to_owned(),
                    ..Default::default()
                });
                let metadata = request.metadata_mut();
                metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
                metadata.insert("idempotency-key", key.parse().unwrap());
                SendServiceClient::new(channel)
                    .send_text(request)
                    .await
                    .is_ok()
            }
        }
    }
}

/// Sends texts `{name}-{n}` until told to stop, each with its own
/// idempotency key, retried with that key until it is answered 200 (down,
/// restarting, stopped or the database away: the same request again);
/// returns the (recipient, text) pairs answered 200.
async fn sender(
    name: &'static str,
    transport: Transport,
    phone: String,
    peers: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, String)> {
    let mut accepted = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let to = peers[(n + name.len()) % peers.len()].clone();
        let text = format!("{name}-{n}");
        let key = format!("chaos-{name}-{n}");
        loop {
            if transport.send(&phone, &to, &text, &key).await {
                accepted.push((to.clone(), text.clone()));
                break;
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    accepted
}

/// What the changer had accepted: reactions (their message id, the
/// message reacted to) and edits (the message edited, its new text).
#[derive(Default)]
struct Changes {
    reactions: Vec<(String, String)>,
    edits: Vec<(String, String)>,
}

/// Reactions to and edits of `targets` (texts sent to `peer` before the
/// chaos), alternating, over REST with an idempotency key each, retried
/// with that key until answered 200.
async fn changer(
    api: Remote,
    phone: String,
    targets: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Changes {
    const EMOJIS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
    let mut changes = Changes::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let target = targets[n % targets.len()].clone();
        let (action, body) = if n % 2 == 1 {
            ("react", json!({"emoji": EMOJIS[n % EMOJIS.len()]}))
        } else {
            ("edit", json!({"text": format!("edit-{n}")}))
        };
        let key = format!("chaos-{action}-{n}");
        loop {
            let answer = api
                .request(
                    reqwest::Method::POST,
                    &format!("/api/phones/{phone}/messages/{target}/{action}"),
                )
                .header("idempotency-key", &key)
                .timeout(Duration::from_secs(20))
                .json(&body)
                .send()
                .await;
            if let Ok(answer) = answer
                && answer.status() == 200
                && let Ok(answer) = answer.json::<Value>().await
            {
                match action {
                    "react" => changes.reactions.push((
                        answer["message_id"].as_str().unwrap_or_default().to_owned(),
                        target.clone(),
                    )),
                    _ => changes.edits.push((target.clone(), format!("edit-{n}"))),
                }
                break;
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    changes
}

/// Inbound texts from virtual phones, whatever the gateway is doing (the
/// server keeps them for the linked device while it is away).
async fn inbound_sender(
    sim: Arc<Simulator>,
    from: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut texts = Vec::new();
    let mut k = 0;
    while !stop.load(Ordering::SeqCst) {
        k += 1;
        let text = format!("in-{k}");
        if sim
            .phone_send_text(&from[k % from.len()], FROM, &text)
            .await
            .is_ok()
        {
            texts.push(text);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    texts
}

fn texts_at(sim: &Simulator, number: &str, prefix: &str) -> Vec<String> {
    sim.phone_messages(number)
        .into_iter()
        .filter(|m| m.from == FROM)
        .filter_map(|m| m.text)
        .filter(|t| t.starts_with(prefix))
        .collect()
}

/// Every stored inbound text of the phone (all pages).
async fn stored_inbound(api: &Remote, phone: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut token = String::new();
    loop {
        let (status, page) = send(api.request(
            reqwest::Method::GET,
            &format!(
                "/api/phones/{phone}/messages?direction=inbound&page_size=100&page_token={token}"
            ),
        ))
        .await;
        assert_eq!(status, 200, "{page}");
        for m in page["messages"].as_array().unwrap() {
            if let Some(text) = m["text"].as_str() {
                texts.push(text.to_owned());
            }
        }
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if token.is_empty() {
            return texts;
        }
    }
}

fn counts(items: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for item in items {
        *map.entry(item).or_insert(0) += 1;
    }
    map
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_minutes_of_kills_with_exact_accounting() {
    let (postgres, db, db_note) = match OwnPostgres::start() {
        Ok(server) => {
            let db = Db::Postgres(server.admin_url());
            (
                Some(server),
                db,
                "its own PostgreSQL server, restarted once".to_owned(),
            )
        }
        Err(why) => {
            eprintln!("chaos: PostgreSQL restart skipped ({why}); running on SQLite");
            (
                None,
                Db::Sqlite,
                format!("SQLite (the PostgreSQL restart skipped: {why})"),
            )
        }
    };
    let sim = Arc::new(Simulator::start(SimConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let hooks = hooks().await;
    let gateway = Gateway::new(
        &db,
        &sim,
        &dir,
        &[
            ("WADESK__FETCH__ALLOW_RANGES", r#"["127.0.0.0/8"]"#),
            ("WADESK__WEBHOOKS__RETRY_SCHEDULE_SECS", "[1, 1, 2, 2, 5]"),
        ],
    )
    .await;
    let api = gateway.create_account(gateway.command());
    let mut child = gateway.start().await;
    let (status, body) = send(
        api.request(reqwest::Method::POST, "/api/phones")
            .json(&json!({"name": "Chaos"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let phone = body["phone"]["phone_id"].as_str().unwrap().to_owned();
    let out = gateway
        .command()
        .args(["phone", "set-plan", &phone, "pro"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pair(&api, &sim, &phone, FROM).await;
    let (status, body) = send(api.request(reqwest::Method::POST, "/api/webhook/set").json(
        &json!({"phone_id": phone, "webhook_url": hooks.url, "events": ["message.received"]}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    crate::support::secret(body["secret"].as_str().unwrap_or_default());

    let peers: Vec<String> = (1..=4).map(|i| (919812380100u64 + i).to_string()).collect();
    let inbound_from: Vec<String> = (1..=3).map(|i| (919812380200u64 + i).to_string()).collect();
    let campaign: Vec<String> = (1..=30)
        .map(|i| (919812380300u64 + i).to_string())
        .collect();
    for number in peers.iter().chain(&inbound_from).chain(&campaign) {
        sim.create_phone(number);
    }
    // Texts to react to and edit during the chaos.
    let changed_peer = "919812380150";
    sim.create_phone(changed_peer);
    let mut targets = Vec::new();
    for i in 0..4 {
        let (status, body) = send(api.request(reqwest::Method::POST, "/api/send").json(
            &json!({"phone_id": phone, "to": changed_peer, "message": format!("target-{i}")}),
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        targets.push(body["message_id"].as_str().unwrap().to_owned());
    }
    let (status, body) = send(api.request(reqwest::Method::POST, "/api/bulk-send").json(
        &json!({"phone_id": phone, "numbers": campaign, "message": "campaign", "delay": 2500}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let bulk_id = body["bulk_id"].as_str().unwrap().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let rest = tokio::spawn(sender(
        "rest",
        Transport::Rest(Remote {
            base: api.base.clone(),
            token: api.token.clone(),
            http: reqwest::Client::new(),
        }),
        phone.clone(),
        peers.clone(),
        stop.clone(),
    ));
    let grpc = tokio::spawn(sender(
        "grpc",
        Transport::Grpc(api.base.clone(), api.token.clone()),
        phone.clone(),
        peers.clone(),
        stop.clone(),
    ));
    let changes = tokio::spawn(changer(
        Remote {
            base: api.base.clone(),
            token: api.token.clone(),
            http: reqwest::Client::new(),
        },
        phone.clone(),
        targets.clone(),
        stop.clone(),
    ));
    let inbound = tokio::spawn(inbound_sender(
        sim.clone(),
        inbound_from.clone(),
        stop.clone(),
    ));

    let started = Instant::now();
    let (mut kills, mut stops, mut db_restarts) = (0, 0, 0);
    let mut slot = 0;
    while started.elapsed() < RUN {
        tokio::time::sleep(KILL_EVERY).await;
        slot += 1;
        match slot {
            3 => {
                signal(&child, "-STOP");
                tokio::time::sleep(Duration::from_secs(10)).await;
                signal(&child, "-CONT");
                stops += 1;
            }
            5 if postgres.is_some() => {
                postgres
                    .as_ref()
                    .unwrap()
                    .pg_ctl(&["-m", "immediate", "restart"])
                    .unwrap();
                db_restarts += 1;
            }
            _ => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                child = gateway.start().await;
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let rest = rest.await.unwrap();
    let grpc = grpc.await.unwrap();
    let inbound = inbound.await.unwrap();
    let changes = changes.await.unwrap();

    // Quiet again: let the outbox, the campaign and the webhook finish.
    let sent: Vec<(String, String)> = rest.iter().chain(&grpc).cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let all_sent = sent
            .iter()
            .all(|(to, text)| texts_at(&sim, to, text).iter().any(|t| t == text));
        let (_, bulk) =
            send(api.request(reqwest::Method::GET, &format!("/api/bulk-send/{bulk_id}"))).await;
        let campaign_done = bulk["bulk"]["status"] == "completed"
            && campaign
                .iter()
                .all(|n| !texts_at(&sim, n, "campaign").is_empty());
        let stored = stored_inbound(&api, &phone).await;
        let all_stored = inbound.iter().all(|t| stored.contains(t));
        let hooked: Vec<String> = hooks
            .accepted
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| p["message"]["text"].as_str().map(str::to_owned))
            .collect();
        let all_hooked = inbound.iter().all(|t| hooked.contains(t));
        let seen = sim.phone_messages(changed_peer);
        let all_reacted = changes
            .reactions
            .iter()
            .all(|(id, _)| seen.iter().any(|m| &m.id == id));
        let all_edited = changes.edits.iter().all(|(target, text)| {
            seen.iter().any(|m| {
                &m.id == target && (m.text.as_ref() == Some(text) || m.earlier_texts.contains(text))
            })
        });
        if all_sent && campaign_done && all_stored && all_hooked && all_reacted && all_edited {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the chaos, not everything arrived: sends {all_sent}, campaign {campaign_done}, inbound stored {all_stored}, webhook {all_hooked}, reactions {all_reacted}, edits {all_edited}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Anything sent twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut twice = Vec::new();
    for (to, text) in &sent {
        let got = texts_at(&sim, to, text)
            .iter()
            .filter(|t| *t == text)
            .count();
        if got != 1 {
            twice.push(format!("{text} to {to}: {got}"));
        }
    }
    // Each reaction arrived once, to the message it was for; each edit
    // was applied once (a phone shows every text a message had).
    let seen = sim.phone_messages(changed_peer);
    let mut changes_wrong = Vec::new();
    for (id, target) in &changes.reactions {
        let copies: Vec<_> = seen.iter().filter(|m| &m.id == id).collect();
        if copies.len() != 1 || copies[0].reacted_to.as_ref() != Some(target) {
            changes_wrong.push(format!("reaction {id}: {copies:?}"));
        }
    }
    for (target, text) in &changes.edits {
        let applied = seen
            .iter()
            .filter(|m| &m.id == target)
            .flat_map(|m| m.earlier_texts.iter().chain(m.text.as_ref()))
            .filter(|t| *t == text)
            .count();
        if applied != 1 {
            changes_wrong.push(format!("edit {text} of {target}: applied {applied} times"));
        }
    }
    let mut campaign_wrong = Vec::new();
    for n in &campaign {
        let got = texts_at(&sim, n, "campaign").len();
        if got != 1 {
            campaign_wrong.push(format!("{n}: {got}"));
        }
    }
    let stored = counts(stored_inbound(&api, &phone).await);
    let stored_wrong: Vec<String> = inbound
        .iter()
        .filter(|t| stored.get(*t) != Some(&1))
        .map(|t| format!("{t}: {:?}", stored.get(t)))
        .collect();
    let hooked = counts(
        hooks
            .accepted
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| p["message"]["text"].as_str().map(str::to_owned)),
    );
    let duplicate_deliveries: usize = hooked.values().map(|c| c - 1).sum();
    let (_, bulk) =
        send(api.request(reqwest::Method::GET, &format!("/api/bulk-send/{bulk_id}"))).await;
    let _ = child.kill();
    let _ = child.wait();
    sim.shutdown();

    let line = format!(
        "chaos ({db_note}; {} s): {kills} SIGKILLs, {stops} SIGSTOP of 10 s, {db_restarts} database restarts; \
         {} REST and {} gRPC sends answered 200, each received exactly once: {}; \
         {} reactions and {} edits answered 200, each arrived and was applied exactly once: {}; \
         {} inbound texts, each stored exactly once: {}, each delivered to the webhook: yes ({} webhook requests, {} answered 503 on purpose, {duplicate_deliveries} redelivered after a crash); \
         campaign of {}: each recipient got exactly one message: {} (status {})",
        RUN.as_secs(),
        rest.len(),
        grpc.len(),
        twice.is_empty(),
        changes.reactions.len(),
        changes.edits.len(),
        changes_wrong.is_empty(),
        inbound.len(),
        stored_wrong.is_empty(),
        hooks.requests.load(Ordering::SeqCst),
        hooks.requests.load(Ordering::SeqCst) / 3,
        campaign.len(),
        campaign_wrong.is_empty(),
        bulk["bulk"]["status"],
    );
    eprintln!("{line}");
    record_count("chaos", &line);
    assert!(
        twice.is_empty(),
        "sends not received exactly once: {twice:?}"
    );
    assert!(
        changes_wrong.is_empty(),
        "reactions and edits not applied exactly once: {changes_wrong:?}"
    );
    assert!(
        campaign_wrong.is_empty(),
        "campaign recipients: {campaign_wrong:?}"
    );
    assert!(
        stored_wrong.is_empty(),
        "inbound not stored exactly once: {stored_wrong:?}"
    );
    assert!(!sent.is_empty() && !inbound.is_empty(), "the load ran");
    assert_eq!(bulk["bulk"]["status"], "completed", "{bulk}");
    drop(postgres);
}
