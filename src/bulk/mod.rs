//! Bulk campaigns: accepted in one transaction, then sent by one worker per
//! phone, paced like a person, through the outbox.
//!
//! Everything the worker needs is in the database: the campaign's state,
//! each recipient's state, and the outbox message a recipient was handed
//! over with. A crash at any moment leaves either a pending recipient (sent
//! after restart) or a recipient with its outbox message (sent once by the
//! outbox, never created twice), so nobody gets the message twice and
//! nobody is skipped.
//!
//! A phone runs its campaigns one at a time, oldest first; the gap between
//! two messages holds across campaigns and restarts (`last_sent_at`).

pub(crate) mod campaign;
pub(crate) mod recipients;
pub(crate) mod sheet;
pub(crate) mod template;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use rand::RngExt as _;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use campaign::Change;

use crate::{
    config,
    error::Result,
    events::EventKind,
    fetch::Fetcher,
    send::{Content, Message, Outcome, Sender},
    sessions::SessionManager,
    store::{
        self, bulks,
        entity::{
            bulk, phone,
            vocab::{BulkStatus, PauseKind, RecipientStatus, Source},
        },
        events::{EventLog, NewEvent},
        now_ms,
    },
};

/// Campaign knobs (config `[bulk]` and `[sheets]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most recipients one campaign accepts.
    pub max_numbers: usize,
    /// Bounds of the random gap when a campaign gives no delay.
    pub random_delay: (Duration, Duration),
    /// Failed sends in a row that pause a campaign.
    pub max_failures: u32,
    /// Least time between two bulk.progress events of a campaign.
    pub progress_interval: Duration,
    /// Where sheets are exported from.
    pub sheets_base_url: url::Url,
    /// Largest sheet CSV read.
    pub sheet_max_bytes: u64,
}

impl Settings {
    pub fn from_config(bulk: &config::Bulk, sheets: &config::Sheets) -> anyhow::Result<Settings> {
        let sheets_base_url = url::Url::parse(&sheets.base_url)
            .map_err(|e| anyhow::anyhow!("sheets.base_url {:?}: {e}", sheets.base_url))?;
        Ok(Settings {
            max_numbers: bulk.max_numbers,
            random_delay: bulk.random_delay,
            max_failures: bulk.max_failures,
            progress_interval: bulk.progress_interval,
            sheets_base_url,
            sheet_max_bytes: sheets.max_bytes,
        })
    }

    /// The gap before a campaign's next message.
    fn gap(&self, campaign: &bulk::Model) -> Duration {
        match campaign.delay_ms {
            Some(ms) => Duration::from_millis(ms.max(0) as u64),
            None => {
                let (low, high) = self.random_delay;
                let ms = rand::rng().random_range(low.as_millis() as u64..=high.as_millis() as u64);
                Duration::from_millis(ms)
            }
        }
    }

    /// The average gap of a campaign, for finish estimates.
    pub fn mean_gap(&self, campaign: &bulk::Model) -> Duration {
        match campaign.delay_ms {
            Some(ms) => Duration::from_millis(ms.max(0) as u64),
            None => (self.random_delay.0 + self.random_delay.1) / 2,
        }
    }
}

/// Starts and wakes the per-phone workers.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    events: EventLog,
    fetcher: Fetcher,
    sender: Sender,
    sessions: Arc<SessionManager>,
    settings: Settings,
    shutdown: CancellationToken,
    workers: Mutex<HashMap<String, Arc<Notify>>>,
    tasks: Mutex<JoinSet<()>>,
}

impl Engine {
    pub fn new(
        events: EventLog,
        fetcher: Fetcher,
        sender: Sender,
        sessions: Arc<SessionManager>,
        settings: Settings,
        shutdown: CancellationToken,
    ) -> Engine {
        Engine(Arc::new(Inner {
            db: events.db().clone(),
            events,
            fetcher,
            sender,
            sessions,
            settings,
            shutdown,
            workers: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
        }))
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// Starts a worker for every phone with unfinished campaigns.
    pub async fn start(&self) -> anyhow::Result<usize> {
        let phones = bulks::phones_with_active(&self.0.db).await?;
        for phone_id in &phones {
            self.kick(phone_id);
        }
        Ok(phones.len())
    }

    /// Wakes a phone's worker (starting it if needed): a campaign of this
    /// phone was created or changed.
    pub fn kick(&self, phone_id: &str) {
        if self.0.shutdown.is_cancelled() {
            return;
        }
        let mut workers = self.0.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(notify) = workers.get(phone_id) {
            notify.notify_one();
            return;
        }
        let notify = Arc::new(Notify::new());
        workers.insert(phone_id.to_owned(), notify.clone());
        let worker = Worker {
            engine: self.0.clone(),
            phone_id: phone_id.to_owned(),
            notify,
            last_sent: None,
            next_gap: None,
            last_progress: HashMap::new(),
            phone: None,
        };
        self.0
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spawn(worker.run());
    }

    /// Waits for every worker to stop (after the shutdown token fired).
    pub async fn stop(&self) {
        self.0.shutdown.cancel();
        let mut tasks =
            std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while tasks.join_next().await.is_some() {}
    }
}

struct Worker {
    engine: Arc<Inner>,
    phone_id: String,
    notify: Arc<Notify>,
    /// When the last campaign message went out (Unix ms).
    last_sent: Option<i64>,
    /// The gap chosen for the next message (kept while waiting, so a wake-up
    /// does not draw a new random gap).
    next_gap: Option<Duration>,
    last_progress: HashMap<String, tokio::time::Instant>,
    /// The phone, once read.
    phone: Option<phone::Model>,
}

/// How long a worker waits before looking again when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_secs(1);

impl Worker {
    async fn run(mut self) {
        match bulks::last_sent_for_phone(&self.engine.db, &self.phone_id).await {
            Ok(last) => self.last_sent = last,
            Err(err) => {
                tracing::error!(phone_id = %self.phone_id, error = %err, "reading campaigns")
            }
        }
        while !self.engine.shutdown.is_cancelled() {
            let pause = match self.step().await {
                Ok(Some(pause)) => pause,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(phone_id = %self.phone_id, error = %err, "campaign worker");
                    IDLE_POLL
                }
            };
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = self.engine.shutdown.cancelled() => {}
            }
        }
    }

    /// One decision: returns how long to wait before the next one (None:
    /// go on at once).
    async fn step(&mut self) -> Result<Option<Duration>> {
        let db = &self.engine.db;
        let active = bulks::active_for_phone(db, &self.phone_id).await?;
        let Some(campaign) = active.into_iter().next() else {
            // Nothing to do: sleep until a campaign arrives (the poll only
            // guards against a lost wake-up).
            return Ok(Some(Duration::from_secs(60)));
        };
        let connected = self
            .engine
            .sessions
            .client(&self.phone_id)
            .is_some_and(|c| c.is_connected());
        if !connected {
            if campaign.status != BulkStatus::Paused {
                self.engine
                    .change(
                        &campaign,
                        pause_unless_paused(
                            PauseKind::Disconnected,
                            "the phone is not connected; the campaign resumes when it reconnects"
                                .into(),
                            "phone disconnected".into(),
                        ),
                    )
                    .await?;
            }
            return Ok(Some(IDLE_POLL));
        }
        if campaign.status != BulkStatus::Running {
            // Resumed through the API, or back after an older campaign:
            // that was already said.
            let event = if campaign.status == BulkStatus::Paused {
                Some(EventKind::BulkResumed)
            } else if campaign.last_sent_at.is_none() {
                Some(EventKind::BulkStarted)
            } else {
                None
            };
            let started = Change {
                from: &[BulkStatus::Queued, BulkStatus::Paused],
                to: BulkStatus::Running,
                pause: None,
                event: event.map(|kind| (kind, json!({"total": campaign.total}))),
            };
            if !self.engine.change(&campaign, started).await? {
                return Ok(None);
            }
            bulks::requeue_others(db, &self.phone_id, &campaign.id).await?;
        }
        let Some(recipient) = bulks::next_recipient(db, &campaign.id).await? else {
            let done = Change {
                from: &[BulkStatus::Running],
                to: BulkStatus::Completed,
                pause: None,
                event: Some((EventKind::BulkCompleted, json!({}))),
            };
            self.engine.change(&campaign, done).await?;
            return Ok(None);
        };
        let outcome = if recipient.status == RecipientStatus::Queued {
            // Handed over before a crash or a disconnect: the outbox has it.
            let Some(id) = recipient.message_id.clone() else {
                return Ok(None);
            };
            let Some(row) = store::messages::find(db, &id).await? else {
                return Ok(None);
            };
            self.engine.sender.resend(row).await?
        } else {
            let gap = *self
                .next_gap
                .get_or_insert_with(|| self.engine.settings.gap(&campaign));
            if let Some(last) = self.last_sent {
                let wait = last + gap.as_millis() as i64 - now_ms();
                if wait > 0 {
                    return Ok(Some(Duration::from_millis(wait as u64)));
                }
            }
            // Read once per worker: a campaign message needs only the phone's
            // ids (its recipients were admitted when the campaign was made).
            let phone = match &self.phone {
                Some(phone) => phone.clone(),
                None => {
                    let Some(phone) = store::phones::find(db, &self.phone_id).await? else {
                        return Ok(Some(IDLE_POLL));
                    };
                    self.phone.insert(phone).clone()
                }
            };
            // The gap runs from this moment: the time spent writing and
            // sending does not stretch it.
            let at = now_ms();
            let text = recipient
                .text
                .clone()
                .unwrap_or_else(|| campaign.message.clone());
            let outcome = self
                .engine
                .sender
                .send(Message {
                    phone: &phone,
                    to: recipient.number.clone(),
                    content: Content::text(text),
                    source: Source::Bulk,
                    idempotency: None,
                    campaign: Some((&campaign, &recipient, at)),
                    context: Default::default(),
                })
                .await?;
            if matches!(outcome, Outcome::Skipped) {
                return Ok(None); // skipped meanwhile
            }
            self.next_gap = None;
            self.last_sent = Some(at);
            outcome
        };
        if self.finish(&campaign, recipient.seq, outcome).await? {
            Ok(None)
        } else {
            Ok(Some(IDLE_POLL))
        }
    }

    /// Records what became of a recipient's message; false when it is still
    /// in the outbox.
    async fn finish(&mut self, campaign: &bulk::Model, seq: i32, outcome: Outcome) -> Result<bool> {
        let db = &self.engine.db;
        let (row, failed) = match outcome {
            Outcome::Sent(row) | Outcome::Replayed(row) => (row, false),
            Outcome::Failed { row, .. } => (row, true),
            // Not sent (the phone went away mid-send): the outbox keeps it
            // and sends it on reconnect; the next step sees the connection.
            Outcome::Queued { .. } | Outcome::Skipped => return Ok(false),
        };
        bulks::recipient_done(db, &campaign.id, seq).await?;
        if failed {
            let failures = campaign.failures + 1;
            bulks::set_failures(db, &campaign.id, failures).await?;
            if failures as u32 >= self.engine.settings.max_failures {
                let reason = format!(
                    "paused after {failures} failed messages in a row; the last one to {}: {}",
                    row.peer,
                    row.reason.as_deref().unwrap_or("unknown reason")
                );
                self.engine
                    .change(
                        campaign,
                        pause_unless_paused(PauseKind::Failures, reason.clone(), reason),
                    )
                    .await?;
            }
        } else if campaign.failures != 0 {
            bulks::set_failures(db, &campaign.id, 0).await?;
        }
        let due = self
            .last_progress
            .get(&campaign.id)
            .is_none_or(|at| at.elapsed() >= self.engine.settings.progress_interval);
        if due {
            self.last_progress
                .insert(campaign.id.clone(), tokio::time::Instant::now());
            let counts = bulks::counts(db, &campaign.id).await?;
            self.engine
                .events
                .append(NewEvent {
                    account_id: &campaign.account_id,
                    phone_id: Some(&campaign.phone_id),
                    kind: EventKind::BulkProgress,
                    payload: json!({
                        "bulk_id": campaign.id,
                        "total": campaign.total,
                        "counts": counts.json(),
                        "last_recipient": row.peer,
                    }),
                })
                .await?;
        }
        Ok(true)
    }
}

/// The worker's own pause (the phone disconnected, failures in a row): from
/// queued or running only, so that it never replaces its owner's pause.
fn pause_unless_paused(kind: PauseKind, reason: String, said: String) -> Change {
    Change {
        from: &[BulkStatus::Queued, BulkStatus::Running],
        to: BulkStatus::Paused,
        pause: Some((kind, reason)),
        event: Some((EventKind::BulkPaused, json!({"reason": said}))),
    }
}
