//! Serving one webhook: its queued redeliveries, then its phone's events
//! after its cursor, one at a time, until it is caught up or an attempt
//! fails (the retry is then due later, and recorded).

use sea_orm::{DatabaseConnection, DbErr};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Settings, deliver};
use crate::events::EventKind;
use crate::metrics::AttemptOutcome;
use crate::{
    fetch::Fetcher,
    sealed::KeyBox,
    store::{
        self,
        entity::{event, webhook},
        events,
        events::EventLog,
        webhooks::{self as hooks, Attempt, Next},
    },
};

/// What every webhook task shares.
pub(super) struct Ctx {
    pub db: DatabaseConnection,
    pub events: EventLog,
    pub fetcher: Fetcher,
    /// Opens the sealed signing secrets.
    pub keys: KeyBox,
    pub settings: Settings,
    pub metrics: crate::metrics::Metrics,
}

/// How a task ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Nothing more to send.
    CaughtUp,
    /// The next event waits for its retry.
    Waiting,
    /// Deleted or disabled.
    Gone,
    /// The worker is stopping.
    Stopped,
    /// A storage error (logged); tried again later.
    Failed,
}

pub(super) async fn serve(ctx: &Ctx, webhook_id: &str, cancel: &CancellationToken) -> Outcome {
    match serve_inner(ctx, webhook_id, cancel).await {
        Ok(outcome) => outcome,
        Err(err) => {
            tracing::error!(webhook_id, error = %err, "webhook delivery");
            // Do not spin on a failing database.
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
            Outcome::Failed
        }
    }
}

async fn serve_inner(
    ctx: &Ctx,
    webhook_id: &str,
    cancel: &CancellationToken,
) -> Result<Outcome, DbErr> {
    let db = &ctx.db;
    // Redeliveries: one attempt each, whatever the webhook's state.
    while let Some(queued) = hooks::next_redelivery(db, webhook_id).await? {
        let Some(hook) = hooks::find(db, webhook_id).await? else {
            return Ok(Outcome::Gone);
        };
        let Some(event) = events::find(db, &hook.account_id, &queued.event_id).await? else {
            hooks::redelivered_nothing(db, queued).await?;
            continue;
        };
        let number = hooks::count_attempts(db, webhook_id, &event.id).await? as i32 + 1;
        let attempted_at = store::now_ms();
        let Some(answer) = send(ctx, &hook, &event, cancel).await else {
            return Ok(Outcome::Stopped);
        };
        log(&hook, &event, number, &answer);
        let attempt = record(&event, number, true, &answer, attempted_at, None);
        hooks::redelivered(db, webhook_id, queued, attempt).await?;
    }

    loop {
        if cancel.is_cancelled() {
            return Ok(Outcome::Stopped);
        }
        let Some(hook) = hooks::find(db, webhook_id).await? else {
            return Ok(Outcome::Gone);
        };
        if !hook.enabled {
            return Ok(Outcome::Gone);
        }
        if hook.next_attempt_at.is_some_and(|at| at > store::now_ms()) {
            return Ok(Outcome::Waiting);
        }
        let filter = events::Filter {
            account_id: hook.account_id.clone(),
            phone_id: Some(hook.phone_id.clone()),
            names: hooks::event_names(&hook),
        };
        let Some(event) = events::list_after(db, &filter, hook.last_cursor, 1)
            .await?
            .pop()
        else {
            return Ok(Outcome::CaughtUp);
        };

        let number = hook.attempts + 1;
        let attempted_at = store::now_ms();
        let Some(answer) = send(ctx, &hook, &event, cancel).await else {
            return Ok(Outcome::Stopped);
        };
        log(&hook, &event, number, &answer);
        if answer.delivered() {
            let attempt = record(&event, number, false, &answer, attempted_at, None);
            let next = Next::Delivered {
                cursor: event.cursor,
            };
            hooks::attempted(db, &hook, attempt, next).await?;
            continue;
        }

        let now = store::now_ms();
        let failing_since = hook.failing_since.unwrap_or(attempted_at);
        if now - failing_since >= ctx.settings.disable_after.as_millis() as i64 {
            disable(
                &ctx.events,
                &hook,
                &event,
                number,
                &answer,
                attempted_at,
                failing_since,
            )
            .await?;
            return Ok(Outcome::Gone);
        }
        let pause = ctx.settings.pause(number as u32, answer.retry_after);
        let at = now + pause.as_millis() as i64;
        let attempt = record(&event, number, false, &answer, attempted_at, Some(at));
        let next = Next::Retry {
            attempts: number,
            at,
            failing_since,
        };
        hooks::attempted(db, &hook, attempt, next).await?;
        return Ok(Outcome::Waiting);
    }
}

/// Records the last failed attempt, disables the webhook and says so in the
/// phone's event log, all in one transaction.
async fn disable(
    log: &EventLog,
    hook: &webhook::Model,
    event: &event::Model,
    number: i32,
    answer: &deliver::Answer,
    attempted_at: i64,
    failing_since: i64,
) -> Result<(), DbErr> {
    let since = chrono::DateTime::from_timestamp_millis(failing_since)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let reason = format!(
        "failing since {since}: {number} attempts on event {} without a 2xx answer (last: {})",
        event.id,
        summary(answer)
    );
    tracing::warn!(webhook_id = %hook.id, phone_id = %hook.phone_id, %reason, "webhook disabled");
    let attempt = record(event, number, false, answer, attempted_at, None);
    let next = Next::Disable {
        reason: reason.clone(),
        failing_since,
    };
    let payload = json!({
        "webhook_url": hook.url,
        "reason": reason,
        "failing_since": failing_since / 1000,
    });
    let hook = hook.clone();
    log.append_in(move |txn| {
        Box::pin(async move {
            hooks::attempted_in(txn, &hook, attempt, next).await?;
            events::insert(
                txn,
                events::NewEvent {
                    account_id: &hook.account_id,
                    phone_id: Some(&hook.phone_id),
                    kind: EventKind::WebhookDisabled,
                    payload,
                },
            )
            .await
            .map(drop)
        })
    })
    .await
}

/// One attempt (None when the worker stops first: not counted), counted
/// by its outcome.
async fn send(
    ctx: &Ctx,
    hook: &webhook::Model,
    event: &event::Model,
    cancel: &CancellationToken,
) -> Option<deliver::Answer> {
    // Sealed since secrets are sealed at rest; one still in plain text was
    // written before and is sealed at the next start.
    let secret = if KeyBox::is_sealed(&hook.secret) {
        match ctx.keys.open(&hook.phone_id, &hook.secret) {
            Ok(secret) => secret,
            Err(why) => {
                return Some(deliver::Answer {
                    error: Some(why.to_owned()),
                    ..deliver::Answer::default()
                });
            }
        }
    } else {
        hook.secret.clone()
    };
    let answer = tokio::select! {
        () = cancel.cancelled() => None,
        answer = deliver::post(
            &ctx.fetcher,
            ctx.settings.timeout,
            &hook.url,
            &secret,
            &event.id,
            &event.payload,
        ) => Some(answer),
    }?;
    let outcome = if answer.delivered() {
        AttemptOutcome::Delivered
    } else if answer.status != 0 {
        AttemptOutcome::Rejected
    } else {
        AttemptOutcome::NoAnswer
    };
    ctx.metrics.webhook_attempt(outcome, answer.duration);
    Some(answer)
}

fn record(
    event: &event::Model,
    number: i32,
    redelivery: bool,
    answer: &deliver::Answer,
    attempted_at: i64,
    next_attempt_at: Option<i64>,
) -> Attempt {
    Attempt {
        event_id: event.id.clone(),
        event: event.event.clone(),
        attempt: number,
        redelivery,
        response_status_code: i32::from(answer.status),
        response_body: answer.body.clone(),
        response_duration_ms: answer.duration.as_millis() as i64,
        error: answer.error.clone(),
        attempted_at,
        next_attempt_at,
    }
}

fn summary(answer: &deliver::Answer) -> String {
    match (&answer.error, answer.status) {
        (Some(error), 0) => error.clone(),
        (Some(error), status) => format!("HTTP {status}: {error}"),
        (None, status) => format!("HTTP {status}"),
    }
}

/// One line per attempt; the URL may carry the receiver's own token, and
/// the secret never appears, so neither is logged.
fn log(hook: &webhook::Model, event: &event::Model, number: i32, answer: &deliver::Answer) {
    if answer.delivered() {
        tracing::debug!(webhook_id = %hook.id, event_id = %event.id, attempt = number, status = answer.status, "webhook delivered");
    } else {
        tracing::info!(webhook_id = %hook.id, phone_id = %hook.phone_id, event_id = %event.id, attempt = number, result = %summary(answer), "webhook attempt failed");
    }
}
