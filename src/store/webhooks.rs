//! Webhooks, their delivery attempts and queued redeliveries. The API
//! reaches a webhook only through its account and phone; the delivery
//! worker (which serves every account) uses the unscoped functions at the
//! end.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, NotSet, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};

use super::{
    entity::{webhook, webhook_attempt, webhook_redelivery},
    events, new_id, now_ms,
};

/// The event names a webhook receives; empty for all.
pub fn event_names(hook: &webhook::Model) -> Vec<String> {
    serde_json::from_str(&hook.events).unwrap_or_default()
}

pub async fn find_for_phone(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
) -> Result<Option<webhook::Model>, DbErr> {
    webhook::Entity::find()
        .filter(webhook::Column::AccountId.eq(account_id))
        .filter(webhook::Column::PhoneId.eq(phone_id))
        .one(db)
        .await
}

/// Webhooks whose signing secret is stored as written before secrets were
/// sealed (`whsec_...`): (id, phone id, secret).
pub async fn plain_secrets(
    db: &DatabaseConnection,
) -> Result<Vec<(String, String, String)>, DbErr> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Secret.starts_with("whsec_"))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w.phone_id, w.secret))
        .collect())
}

/// Replaces a plain secret with its sealed form, only if it is still the
/// plain one (a webhook set again meanwhile keeps its new secret).
pub async fn seal_secret(
    db: &DatabaseConnection,
    id: &str,
    plain: &str,
    sealed: &str,
) -> Result<(), DbErr> {
    webhook::Entity::update_many()
        .col_expr(
            webhook::Column::Secret,
            sea_orm::sea_query::Expr::value(sealed),
        )
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::Secret.eq(plain))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a phone's webhook with a new secret. A new webhook receives the
/// events from now on; setting an existing one (a new URL, or re-enabling a
/// disabled one) keeps its cursor, so events not yet delivered are not
/// lost, and the next attempt is due at once.
pub async fn set(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
    url: &str,
    names: &[String],
    secret: &str,
) -> Result<webhook::Model, DbErr> {
    let now = now_ms();
    let events = serde_json::to_string(names).unwrap_or_else(|_| "[]".into());
    if let Some(existing) = find_for_phone(db, account_id, phone_id).await? {
        let mut active = existing.into_active_model();
        active.url = Set(url.to_owned());
        active.events = Set(events);
        active.secret = Set(secret.to_owned());
        active.enabled = Set(true);
        active.disabled_reason = Set(None);
        active.attempts = Set(0);
        active.next_attempt_at = Set(None);
        active.failing_since = Set(None);
        active.updated_at = Set(now);
        return active.update(db).await;
    }
    webhook::ActiveModel {
        id: Set(new_id("wh")),
        account_id: Set(account_id.to_owned()),
        phone_id: Set(phone_id.to_owned()),
        url: Set(url.to_owned()),
        events: Set(events),
        secret: Set(secret.to_owned()),
        enabled: Set(true),
        disabled_reason: Set(None),
        last_cursor: Set(events::head(db).await?),
        attempts: Set(0),
        next_attempt_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Removes a phone's webhook with its attempts and queued redeliveries;
/// false if there was none.
pub async fn delete(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
) -> Result<bool, DbErr> {
    let result = webhook::Entity::delete_many()
        .filter(webhook::Column::AccountId.eq(account_id))
        .filter(webhook::Column::PhoneId.eq(phone_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// A webhook's attempts, newest first, optionally of one event, before the
/// `before` position (a previous page's last `seq`).
pub async fn list_attempts(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    event_id: Option<&str>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<webhook_attempt::Model>, DbErr> {
    let mut query =
        webhook_attempt::Entity::find().filter(webhook_attempt::Column::WebhookId.eq(&hook.id));
    if let Some(event_id) = event_id {
        query = query.filter(webhook_attempt::Column::EventId.eq(event_id));
    }
    if let Some(before) = before {
        query = query.filter(webhook_attempt::Column::Seq.lt(before));
    }
    query
        .order_by_desc(webhook_attempt::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Queues one more attempt of an event (RedeliverEvent).
pub async fn queue_redelivery(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    event_id: &str,
) -> Result<(), DbErr> {
    webhook_redelivery::ActiveModel {
        seq: NotSet,
        webhook_id: Set(hook.id.clone()),
        event_id: Set(event_id.to_owned()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await
    .map(drop)
}

// The delivery worker's side: every account.

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<webhook::Model>, DbErr> {
    webhook::Entity::find_by_id(id.to_owned()).one(db).await
}

/// Ids of the webhooks with something to do now: enabled and not waiting
/// for a retry, or with a redelivery queued.
pub async fn due(db: &DatabaseConnection, now: i64) -> Result<Vec<(String, bool)>, DbErr> {
    let mut out: Vec<(String, bool)> = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .filter(webhook::Column::Enabled.eq(true))
        .filter(
            Condition::any()
                .add(webhook::Column::NextAttemptAt.is_null())
                .add(webhook::Column::NextAttemptAt.lte(now)),
        )
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .map(|id| (id, false))
        .collect();
    let queued: Vec<String> = webhook_redelivery::Entity::find()
        .select_only()
        .column(webhook_redelivery::Column::WebhookId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    for id in queued {
        match out.iter_mut().find(|(have, _)| *have == id) {
            Some((_, redelivery)) => *redelivery = true,
            None => out.push((id, true)),
        }
    }
    Ok(out)
}

/// Whether any webhook is enabled or has a redelivery queued: without one,
/// the delivery worker has nothing to look for.
pub async fn any_work_possible(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let enabled = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .filter(webhook::Column::Enabled.eq(true))
        .into_tuple::<String>()
        .one(db)
        .await?;
    if enabled.is_some() {
        return Ok(true);
    }
    Ok(webhook_redelivery::Entity::find()
        .select_only()
        .column(webhook_redelivery::Column::WebhookId)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}

/// The earliest retry due after `now`, if any.
pub async fn next_retry_after(db: &DatabaseConnection, now: i64) -> Result<Option<i64>, DbErr> {
    Ok(webhook::Entity::find()
        .select_only()
        .column_as(webhook::Column::NextAttemptAt.min(), "min")
        .filter(webhook::Column::Enabled.eq(true))
        .filter(webhook::Column::NextAttemptAt.gt(now))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

/// The oldest redelivery queued for a webhook.
pub async fn next_redelivery(
    db: &DatabaseConnection,
    webhook_id: &str,
) -> Result<Option<webhook_redelivery::Model>, DbErr> {
    webhook_redelivery::Entity::find()
        .filter(webhook_redelivery::Column::WebhookId.eq(webhook_id))
        .order_by_asc(webhook_redelivery::Column::Seq)
        .one(db)
        .await
}

/// How many attempts of this event this webhook has made.
pub async fn count_attempts(
    db: &DatabaseConnection,
    webhook_id: &str,
    event_id: &str,
) -> Result<u64, DbErr> {
    webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::WebhookId.eq(webhook_id))
        .filter(webhook_attempt::Column::EventId.eq(event_id))
        .count(db)
        .await
}

/// One attempt, as the worker made it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub event_id: String,
    pub event: String,
    pub attempt: i32,
    pub redelivery: bool,
    pub response_status_code: i32,
    pub response_body: String,
    pub response_duration_ms: i64,
    pub error: Option<String>,
    pub attempted_at: i64,
    pub next_attempt_at: Option<i64>,
}

async fn insert_attempt<C: ConnectionTrait>(
    db: &C,
    webhook_id: &str,
    a: Attempt,
) -> Result<(), DbErr> {
    webhook_attempt::ActiveModel {
        seq: NotSet,
        id: Set(new_id("dlv")),
        webhook_id: Set(webhook_id.to_owned()),
        event_id: Set(a.event_id),
        event: Set(a.event),
        attempt: Set(a.attempt),
        redelivery: Set(a.redelivery),
        response_status_code: Set(a.response_status_code),
        response_body: Set(a.response_body),
        response_duration_ms: Set(a.response_duration_ms),
        error: Set(a.error),
        attempted_at: Set(a.attempted_at),
        next_attempt_at: Set(a.next_attempt_at),
    }
    .insert(db)
    .await
    .map(drop)
}

/// Records a redelivery attempt and takes it off the queue.
pub async fn redelivered(
    db: &DatabaseConnection,
    webhook_id: &str,
    queued: webhook_redelivery::Model,
    attempt: Attempt,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    insert_attempt(&txn, webhook_id, attempt).await?;
    webhook_redelivery::Entity::delete_by_id(queued.seq)
        .exec(&txn)
        .await?;
    txn.commit().await
}

/// What an attempt on the next event did to the webhook.
#[derive(Debug, Clone)]
pub enum Next {
    /// Delivered: move past this cursor, the failure run is over.
    Delivered { cursor: i64 },
    /// Failed: try again at `at`.
    Retry {
        attempts: i32,
        at: i64,
        failing_since: i64,
    },
    /// Failed for too long: stop delivering.
    Disable { reason: String, failing_since: i64 },
}

/// Records an attempt on the webhook's next event and its consequence, in
/// one transaction.
pub async fn attempted(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    attempt: Attempt,
    next: Next,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    attempted_in(&txn, hook, attempt, next).await?;
    txn.commit().await
}

/// [`attempted`] inside the caller's transaction (a disabling attempt and
/// its webhook.disabled event commit together).
pub async fn attempted_in<C: ConnectionTrait>(
    txn: &C,
    hook: &webhook::Model,
    attempt: Attempt,
    next: Next,
) -> Result<(), DbErr> {
    insert_attempt(txn, &hook.id, attempt).await?;
    let mut active = webhook::ActiveModel {
        id: Set(hook.id.clone()),
        updated_at: Set(now_ms()),
        ..Default::default()
    };
    match next {
        Next::Delivered { cursor } => {
            active.last_cursor = Set(cursor.max(hook.last_cursor));
            active.attempts = Set(0);
            active.next_attempt_at = Set(None);
            active.failing_since = Set(None);
        }
        Next::Retry {
            attempts,
            at,
            failing_since,
        } => {
            active.attempts = Set(attempts);
            active.next_attempt_at = Set(Some(at));
            active.failing_since = Set(Some(failing_since));
        }
        Next::Disable {
            reason,
            failing_since,
        } => {
            active.enabled = Set(false);
            active.disabled_reason = Set(Some(reason));
            active.attempts = Set(0);
            active.next_attempt_at = Set(None);
            active.failing_since = Set(Some(failing_since));
        }
    }
    active.update(txn).await.map(drop)
}

/// Drops a queued redelivery whose event no longer exists.
pub async fn redelivered_nothing(
    db: &DatabaseConnection,
    queued: webhook_redelivery::Model,
) -> Result<(), DbErr> {
    webhook_redelivery::Entity::delete_by_id(queued.seq)
        .exec(db)
        .await
        .map(drop)
}
