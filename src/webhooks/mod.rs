//! Webhook delivery: every event of a phone, POSTed to its webhook, signed
//! (Standard Webhooks), retried until answered with 2xx.
//!
//! State lives in the database, not in this process: each webhook row holds
//! a cursor into the event log (everything up to it is done with) and the
//! retry state of the next event (failed attempts, when the next one is
//! due, since when it has been failing). So a restart, even a crash, loses
//! nothing: the worker starts again from the cursor, and an event whose
//! answer was not recorded is sent again (at least once; receivers drop
//! duplicates by webhook-id).
//!
//! Order: one event in flight per webhook, oldest first; while one is being
//! retried the later ones wait behind it. Receivers see a phone's events in
//! the order they happened (a message.status never before its message),
//! and a failing endpoint gets one request per retry, not one per event.
//! Different webhooks do not wait for each other (up to
//! `webhooks.concurrency` at once).

mod deliver;
mod endpoint;
pub(crate) mod hooks;
pub(crate) mod schedule;
pub(crate) mod sign;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use tokio::{
    sync::{Notify, Semaphore},
    task::{JoinHandle, JoinSet},
};
use tokio_util::sync::CancellationToken;

use crate::{
    fetch::Fetcher,
    sealed::KeyBox,
    store::{self, events::EventLog},
};
pub(crate) use hooks::Webhooks;

/// Seals the signing secrets still stored in plain text (written before
/// secrets were sealed at rest); run at start, before any delivery.
pub(crate) async fn seal_stored_secrets(
    db: &sea_orm::DatabaseConnection,
    keys: &KeyBox,
) -> Result<usize, sea_orm::DbErr> {
    let plain = store::webhooks::plain_secrets(db).await?;
    for (id, phone_id, secret) in &plain {
        store::webhooks::seal_secret(db, id, secret, &keys.seal(phone_id, secret)).await?;
    }
    if !plain.is_empty() {
        tracing::info!(
            count = plain.len(),
            "webhook signing secrets sealed at rest"
        );
    }
    Ok(plain.len())
}
pub(crate) use schedule::Settings;

/// Wakes the worker up after a webhook changed or a redelivery was queued.
#[derive(Clone, Default)]
pub struct Kick(Arc<Notify>);

impl Kick {
    pub fn kick(&self) {
        self.0.notify_one();
    }
}

/// The running worker.
pub(crate) struct Worker {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the one delivery worker of this process.
    pub(crate) fn spawn(
        events: EventLog,
        fetcher: Fetcher,
        keys: KeyBox,
        settings: Settings,
        kick: Kick,
        metrics: crate::metrics::Metrics,
        cancel: CancellationToken,
    ) -> Worker {
        let ctx = Arc::new(endpoint::Ctx {
            db: events.db().clone(),
            events,
            fetcher,
            keys,
            settings,
            metrics,
        });
        let task = tokio::spawn(run(ctx, kick, cancel.clone()));
        Worker { cancel, task }
    }

    /// Stops: attempts in flight are abandoned (their events go again after
    /// a restart), recording in progress finishes; waits for all of it.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "webhook worker ended badly");
        }
    }
}

/// Without any wake-up, look again this often: a safety net (and what
/// notices events that another process appended).
const IDLE_POLL: Duration = Duration::from_secs(30);

/// Picks the webhooks with work and runs one task per webhook.
async fn run(ctx: Arc<endpoint::Ctx>, kick: Kick, cancel: CancellationToken) {
    let mut appended = ctx.events.watch();
    let permits = Arc::new(Semaphore::new(ctx.settings.concurrency));
    let mut tasks: JoinSet<endpoint::Outcome> = JoinSet::new();
    // Webhook ids by the task serving them.
    let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
    // Webhooks found caught up since events were last appended: they need
    // no look until more are. Busy ones that may have looked too early are
    // `stale`, and do not become idle when they finish.
    let mut idle: HashSet<String> = HashSet::new();
    let mut stale: HashSet<String> = HashSet::new();
    let mut last_sweep = tokio::time::Instant::now();
    // Whether any webhook could have work. Without one (a gateway used
    // without webhooks), appended events cost no queries here; a SetWebhook
    // or RedeliverEvent (kick) and the idle poll look again.
    let mut any = true;
    let mut recount = true;
    loop {
        let now = store::now_ms();
        if last_sweep.elapsed() >= IDLE_POLL {
            idle.clear();
            last_sweep = tokio::time::Instant::now();
            recount = true;
        }
        let mut wake_at = tokio::time::Instant::now() + IDLE_POLL;
        if recount {
            match store::webhooks::any_work_possible(&ctx.db).await {
                Ok(found) => {
                    any = found;
                    recount = false;
                }
                Err(err) => {
                    tracing::error!(error = %err, "webhook worker: counting webhooks");
                    any = true;
                }
            }
        }
        let look = any || !busy.is_empty();
        match if look {
            store::webhooks::due(&ctx.db, now).await
        } else {
            Ok(Vec::new())
        } {
            Ok(due) => {
                for (id, redelivery) in due {
                    if busy.values().any(|b| *b == id) || (idle.contains(&id) && !redelivery) {
                        continue;
                    }
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        break; // a finishing task brings us back here
                    };
                    idle.remove(&id);
                    let ctx = ctx.clone();
                    let cancel = cancel.clone();
                    let webhook_id = id.clone();
                    let task = tasks.spawn(async move {
                        let outcome = endpoint::serve(&ctx, &webhook_id, &cancel).await;
                        drop(permit);
                        outcome
                    });
                    busy.insert(task.id(), id);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "webhook worker: finding due webhooks");
                wake_at = tokio::time::Instant::now() + Duration::from_secs(1);
            }
        }
        match if look {
            store::webhooks::next_retry_after(&ctx.db, now).await
        } else {
            Ok(None)
        } {
            Ok(Some(at)) => {
                let wait = Duration::from_millis((at - store::now_ms()).max(0) as u64);
                wake_at = wake_at.min(tokio::time::Instant::now() + wait);
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = %err, "webhook worker: finding retries"),
        }
        let mut forget = || {
            idle.clear();
            stale.extend(busy.values().cloned());
        };
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = appended.changed() => {
                if changed.is_err() {
                    break;
                }
                forget();
            }
            () = kick.0.notified() => {
                forget();
                recount = true;
            }
            Some(done) = tasks.join_next_with_id() => match done {
                Ok((task, outcome)) => {
                    if let Some(id) = busy.remove(&task)
                        && !stale.remove(&id)
                        && matches!(outcome, endpoint::Outcome::CaughtUp)
                    {
                        idle.insert(id);
                    }
                }
                Err(err) => {
                    if let Some(id) = busy.remove(&err.id()) {
                        stale.remove(&id);
                    }
                    tracing::error!(error = %err, "webhook task ended badly");
                }
            },
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = done {
            tracing::error!(error = %err, "webhook task ended badly");
        }
    }
}
