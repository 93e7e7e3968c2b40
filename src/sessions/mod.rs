//! Phone sessions: one actor per phone owns its whatsapp-rust client.
//!
//! The manager is the only way in: it starts an actor when a phone is paired
//! or, at start-up, for every linked phone (they reconnect with their stored
//! keys, no re-pairing), and reaches actors through their command channel.

mod actor;
pub mod engine;
pub mod inbound;
mod outbox;
pub mod qr;
mod signals;
pub mod statuses;

use std::{collections::HashMap, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;
use whatsapp_rust::Client;

use crate::{
    config::Config,
    error::Error,
    events::EventKind,
    store::{
        self,
        entity::{message, phone, vocab::PhoneStatus},
        events::EventLog,
    },
};
pub use actor::Handed;
use actor::{Actor, Command};
pub use outbox::SendFailure;

/// What a pairing stream shows.
#[derive(Debug, Clone)]
pub enum PairUpdate {
    /// A QR code to show, valid until `expires_at` (Unix ms).
    Qr { code: String, expires_at: i64 },
    /// Scanned; logging in as `number`.
    Paired { number: String },
    /// Connected: pairing is done.
    Connected { number: Option<String> },
    /// Pairing failed.
    Failed { reason: String },
    /// Pairing ran out of time (no QR scan, or the code was not entered);
    /// the phone is `pending` again and can be paired anew.
    Expired { reason: String },
}

/// Supervision knobs (config `[sessions]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often a session's liveness is checked.
    pub watchdog_interval: Duration,
    /// A connected session silent for longer is reconnected.
    pub dead_after: Duration,
    /// Failures in a row before a phone is marked failed.
    pub max_failures: u32,
    /// Longest pause between restarts of a client that stopped.
    pub max_backoff: Duration,
    /// How long QR codes are shown before a pairing attempt gives up;
    /// `None`: until whatsapp-rust's own codes run out.
    pub pair_timeout: Option<Duration>,
    /// How long a send waits for the session's answer.
    pub send_timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        let s = &config.sessions;
        Settings {
            watchdog_interval: s.watchdog,
            dead_after: s.dead_after,
            max_failures: s.max_failures,
            max_backoff: s.max_backoff,
            pair_timeout: (!s.pair_timeout.is_zero()).then_some(s.pair_timeout),
            send_timeout: s.send_timeout,
        }
    }
}

/// What every actor shares.
pub struct Shared {
    pub db: DatabaseConnection,
    /// Every event of the sessions is appended here.
    pub events: EventLog,
    /// The API's copies of phone rows: every status write here drops one.
    pub phones: store::cache::Cache<phone::Model>,
    pub server_url: String,
    pub http: Arc<engine::ReqwestHttp>,
    pub settings: Settings,
    /// Every message status change of the sessions goes through here.
    pub statuses: statuses::Statuses,
    /// Background work of the sessions (answers on their way, the status
    /// writer), awaited at shutdown.
    pub tasks: TaskTracker,
    /// Reconnects, received messages and status changes are counted here.
    pub metrics: crate::metrics::Metrics,
}

struct Handle {
    commands: mpsc::Sender<Command>,
    pairing: broadcast::Sender<PairUpdate>,
    last_qr: Arc<std::sync::Mutex<Option<PairUpdate>>>,
    client: watch::Receiver<Option<Arc<Client>>>,
    task: tokio::task::JoinHandle<()>,
    ending: Arc<std::sync::atomic::AtomicBool>,
    /// Unix ms of the current connection, 0 when not connected.
    connected_since: Arc<std::sync::atomic::AtomicI64>,
    drains: Arc<std::sync::atomic::AtomicU64>,
}

/// Taken before a message goes into the outbox, so that the session can be
/// handed the inserted row without reading it again ([`SessionManager::send_inserted`]).
pub struct OutboxTicket {
    commands: mpsc::Sender<Command>,
    drains: u64,
}

/// What only a running session knows.
#[derive(Debug, Clone)]
pub struct Live {
    pub push_name: String,
    pub connected_since: Option<i64>,
    pub reconnects: u64,
}

impl Handle {
    /// Running and not on its way out.
    fn live(&self) -> bool {
        !self.task.is_finished() && !self.ending.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub struct SessionManager {
    shared: Arc<Shared>,
    sessions: std::sync::Mutex<HashMap<String, Handle>>,
}

/// A phone event that goes with a status change.
pub struct PhoneEvent {
    pub account_id: String,
    pub kind: EventKind,
    pub payload: serde_json::Value,
}

impl Shared {
    /// Writes a phone's status, and its event if it has one, in one
    /// transaction; the API's copy of the phone goes with it.
    pub async fn update_status(
        &self,
        phone_id: &str,
        change: store::phones::StatusChange,
        event: Option<PhoneEvent>,
    ) -> Result<(), sea_orm::DbErr> {
        let written = match event {
            None => store::phones::update_status(&self.db, phone_id, change).await,
            Some(event) => {
                let phone_id = phone_id.to_owned();
                self.events
                    .append_in(move |txn| {
                        Box::pin(async move {
                            store::phones::update_status(txn, &phone_id, change).await?;
                            store::events::insert(
                                txn,
                                store::events::NewEvent {
                                    account_id: &event.account_id,
                                    phone_id: Some(&phone_id),
                                    kind: event.kind,
                                    payload: event.payload,
                                },
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .await
            }
        };
        self.phones.invalidate(phone_id);
        written
    }
}

impl SessionManager {
    /// Phone rows as the API last read them (see [`store::cache`]).
    pub fn phones(&self) -> &store::cache::Cache<phone::Model> {
        &self.shared.phones
    }

    /// The sessions of this process; their background work runs on
    /// `tasks` (awaited at shutdown).
    pub fn new(
        events: EventLog,
        config: &Config,
        tasks: TaskTracker,
        metrics: &crate::metrics::Metrics,
    ) -> Arc<SessionManager> {
        let db = events.db().clone();
        let server_url = if config.whatsapp.server_url.is_empty() {
            engine::WHATSAPP_URL.to_owned()
        } else {
            config.whatsapp.server_url.clone()
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Arc::new(SessionManager {
            shared: Arc::new(Shared {
                statuses: statuses::Statuses::start(events.clone(), &tasks, metrics),
                metrics: metrics.clone(),
                tasks,
                db,
                events,
                phones: store::cache::Cache::new(config.auth.cache),
                server_url,
                http: Arc::new(engine::ReqwestHttp::new(
                    http,
                    config.whatsapp.plain_http_media_hosts.clone(),
                )),
                settings: Settings::from_config(config),
            }),
            sessions: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Starts every linked phone's session; they reconnect with stored keys.
    pub async fn start_linked(&self) -> Result<usize, Error> {
        let phones = store::phones::list_linked(&self.shared.db).await?;
        let count = phones.len();
        // "connected" was true before the process stopped, not now: until each
        // session is back online the API says it is reconnecting.
        for phone in phones.iter().filter(|p| p.status == PhoneStatus::Connected) {
            self.shared
                .update_status(
                    &phone.id,
                    store::phones::StatusChange::new(PhoneStatus::Connecting)
                        .reason("reconnecting after the gateway restarted"),
                    None,
                )
                .await?;
        }
        for phone in phones {
            self.ensure_started(&phone);
        }
        Ok(count)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The running actor of a phone, started if needed. Returns a pairing
    /// subscription taken before the actor can emit anything, and the last
    /// QR code if one is still showing.
    fn ensure_started(
        &self,
        phone: &phone::Model,
    ) -> (broadcast::Receiver<PairUpdate>, Option<PairUpdate>) {
        let mut sessions = self.lock();
        if let Some(handle) = sessions.get(&phone.id)
            && handle.live()
        {
            let last = handle
                .last_qr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return (handle.pairing.subscribe(), last);
        }
        let (commands_tx, commands) = mpsc::channel(16);
        let (pairing, rx) = broadcast::channel(32);
        let last_qr = Arc::new(std::sync::Mutex::new(None));
        let (client_tx, client) = watch::channel(None);
        let ending = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connected_since = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let drains = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let actor = Actor {
            drains: drains.clone(),
            ending: ending.clone(),
            connected_since: connected_since.clone(),
            shared: self.shared.clone(),
            phone_id: phone.id.clone(),
            account_id: phone.account_id.clone(),
            commands,
            pairing: pairing.clone(),
            last_qr: last_qr.clone(),
            client: client_tx,
            connected: false,
            lost: false,
            failures: 0,
            pair_deadline: None,
            registered: Default::default(),
        };
        // Every log line of the session names its phone.
        let span = tracing::info_span!("session", phone_id = %phone.id);
        let task = tokio::spawn(tracing::Instrument::instrument(actor.run(), span));
        sessions.insert(
            phone.id.clone(),
            Handle {
                commands: commands_tx,
                pairing,
                last_qr,
                client,
                task,
                ending,
                connected_since,
                drains,
            },
        );
        (rx, None)
    }

    /// Starts pairing (or joins one in progress). A phone that is already
    /// connected gets a single Connected update.
    pub fn pair(&self, phone: &phone::Model) -> (broadcast::Receiver<PairUpdate>, Vec<PairUpdate>) {
        let (rx, last) = self.ensure_started(phone);
        let mut first: Vec<PairUpdate> = last.into_iter().collect();
        if phone.status == PhoneStatus::Connected
            && self.client(&phone.id).is_some_and(|c| c.is_connected())
        {
            first = vec![PairUpdate::Connected {
                number: phone.number.clone(),
            }];
        }
        (rx, first)
    }

    /// Links by phone number: returns the code to type on the phone.
    pub async fn pair_code(&self, phone: &phone::Model, number: &str) -> Result<String, Error> {
        self.ensure_started(phone);
        let commands = self.commands(&phone.id)?;
        let (reply, answer) = oneshot::channel();
        commands
            .send(Command::PairCode {
                number: number.to_owned(),
                reply,
            })
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("session of {} stopped", phone.id)))?;
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("session of {} stopped", phone.id)))?
    }

    /// Unlinks the phone and deletes its keys. A phone with no running
    /// session just has its keys deleted.
    pub async fn logout(&self, phone: &phone::Model) -> Result<(), Error> {
        if let Ok(commands) = self.commands(&phone.id) {
            let (done, finished) = oneshot::channel();
            if commands.send(Command::Logout(done)).await.is_ok() {
                let _ = finished.await;
            }
        }
        self.lock().remove(&phone.id);
        wadesk_wastore::delete_phone(&self.shared.db, &phone.id)
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("deleting session keys: {e}")))?;
        self.shared
            .update_status(
                &phone.id,
                store::phones::StatusChange::new(PhoneStatus::LoggedOut)
                    .reason("logged out through the API"),
                None,
            )
            .await?;
        Ok(())
    }

    /// Stops a phone's session (keys kept) and forgets it.
    pub async fn stop(&self, phone_id: &str) {
        let handle = self.lock().remove(phone_id);
        if let Some(handle) = handle {
            let (done, finished) = oneshot::channel();
            if handle.commands.send(Command::Stop(done)).await.is_ok() {
                let _ = finished.await;
            }
            let _ = handle.task.await;
        }
    }

    /// Stops every session at once, waiting for all of them, then ends the
    /// status writer once what they queued is written.
    pub async fn shutdown(&self) {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        futures::future::join_all(ids.iter().map(|id| self.stop(id))).await;
        self.shared.statuses.flush().await;
        self.shared.statuses.close();
    }

    /// The connected client of a phone, if its session is running.
    pub fn client(&self, phone_id: &str) -> Option<Arc<Client>> {
        self.lock()
            .get(phone_id)
            .and_then(|h| h.client.borrow().clone())
    }

    /// Push name, connection start and reconnect count of a running session.
    pub fn live(&self, phone_id: &str) -> Option<Live> {
        let sessions = self.lock();
        let handle = sessions.get(phone_id).filter(|h| h.live())?;
        let client = handle.client.borrow().clone()?;
        let since = handle
            .connected_since
            .load(std::sync::atomic::Ordering::Relaxed);
        Some(Live {
            push_name: client.push_name(),
            connected_since: (since > 0 && client.is_connected()).then_some(since),
            reconnects: client.stats().reconnects,
        })
    }

    fn commands(&self, phone_id: &str) -> Result<mpsc::Sender<Command>, Error> {
        self.lock()
            .get(phone_id)
            .filter(|h| h.live())
            .map(|h| h.commands.clone())
            .ok_or_else(|| Error::NotFound(format!("phone {phone_id} has no running session")))
    }

    pub fn running(&self) -> usize {
        self.lock()
            .values()
            .filter(|h| !h.task.is_finished())
            .count()
    }
}

/// Why a message handed to a session was not (yet) sent: it stays queued
/// in the outbox, which sends it when the phone's session runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// The phone has no running session (offline, or not linked yet).
    NoSession,
    /// The session stopped before it answered.
    SessionStopped,
    /// The session did not answer within `sessions.send_timeout`; it may
    /// still send the message (its status tells, and message.status says).
    TimedOut,
}

/// What became of a message handed to a session.
#[derive(Debug)]
pub enum Handover {
    /// The session handled it (see [`actor::Handed`]).
    Handled(actor::Handed),
    NotSent(NotSent),
}

impl SessionManager {
    /// Hands a queued outbox message to the phone's session and waits (at
    /// most `sessions.send_timeout`) for the outcome.
    pub async fn send(&self, phone_id: &str, id: &str) -> Handover {
        let Ok(commands) = self.commands(phone_id) else {
            return Handover::NotSent(NotSent::NoSession);
        };
        self.hand_over(commands, id.to_owned(), None).await
    }

    /// To take before inserting a message into the outbox; None without a
    /// running session (the message then waits in the outbox).
    pub fn outbox_ticket(&self, phone_id: &str) -> Option<OutboxTicket> {
        self.lock()
            .get(phone_id)
            .filter(|h| h.live())
            .map(|h| OutboxTicket {
                commands: h.commands.clone(),
                drains: h.drains.load(std::sync::atomic::Ordering::SeqCst),
            })
    }

    /// As [`send`](Self::send), for a row inserted after `ticket` was taken:
    /// the session sends the row it is given unless an outbox drain has read
    /// the outbox since (then it reads the row, which the drain may have sent).
    pub async fn send_inserted(&self, ticket: OutboxTicket, row: message::Model) -> Handover {
        let id = row.id.clone();
        self.hand_over(ticket.commands, id, Some((Box::new(row), ticket.drains)))
            .await
    }

    async fn hand_over(
        &self,
        commands: mpsc::Sender<Command>,
        id: String,
        fresh: Option<(Box<message::Model>, u64)>,
    ) -> Handover {
        let (reply, answer) = oneshot::channel();
        if commands
            .send(Command::Send { id, fresh, reply })
            .await
            .is_err()
        {
            return Handover::NotSent(NotSent::SessionStopped);
        }
        match tokio::time::timeout(self.shared.settings.send_timeout, answer).await {
            Ok(Ok(handed)) => Handover::Handled(handed),
            Ok(Err(_)) => Handover::NotSent(NotSent::SessionStopped),
            Err(_) => Handover::NotSent(NotSent::TimedOut),
        }
    }
}
