//! Campaigns and their recipients. Every state change is a conditional
//! update on the current state, so the API (pause, resume, cancel) and the
//! phone's worker never overwrite each other's decisions.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};

use super::{
    entity::{
        bulk, bulk_recipient, message,
        vocab::{BulkStatus, MessageStatus, PauseKind, RecipientStatus},
    },
    messages::{self, NewOutbound},
    new_id, now_ms,
};

/// Rows per INSERT: well under SQLite's 32,766 bound variables.
const CHUNK: usize = 2_000;

/// A campaign to create.
pub struct NewBulk {
    pub account_id: String,
    pub phone_id: String,
    pub message: String,
    pub delay_ms: Option<i64>,
    /// numbers or sheet.
    pub source: &'static str,
    pub sheet_id: Option<String>,
}

/// One accepted recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    pub number: String,
    /// The filled-in text, when the template has placeholders.
    pub text: Option<String>,
    pub row: Option<i32>,
}

/// Writes a campaign and all its recipients; called inside a transaction
/// (with its bulk.created event), so that either the whole campaign exists
/// or none of it.
pub async fn create<C: ConnectionTrait>(
    txn: &C,
    new: NewBulk,
    recipients: Vec<NewRecipient>,
) -> Result<bulk::Model, DbErr> {
    let now = now_ms();
    let id = new_id("bk");
    let row = bulk::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(new.account_id),
        phone_id: Set(new.phone_id),
        status: Set(BulkStatus::Queued),
        message: Set(new.message),
        delay_ms: Set(new.delay_ms),
        total: Set(recipients.len() as i64),
        source: Set(new.source.into()),
        sheet_id: Set(new.sheet_id),
        pause_kind: Set(None),
        paused_reason: Set(None),
        failures: Set(0),
        last_sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
    .insert(txn)
    .await?;
    let mut seq = 0i32;
    let mut recipients = recipients.into_iter().peekable();
    while recipients.peek().is_some() {
        let chunk = recipients.by_ref().take(CHUNK).map(|r| {
            let model = bulk_recipient::ActiveModel {
                bulk_id: Set(id.clone()),
                seq: Set(seq),
                number: Set(r.number),
                text: Set(r.text),
                row: Set(r.row),
                status: Set(RecipientStatus::Pending),
                message_id: Set(None),
            };
            seq += 1;
            model
        });
        bulk_recipient::Entity::insert_many(chunk.collect::<Vec<_>>())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(row)
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<bulk::Model>, DbErr> {
    bulk::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_for_account(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<bulk::Model>, DbErr> {
    bulk::Entity::find_by_id(id.to_owned())
        .filter(bulk::Column::AccountId.eq(account_id))
        .one(db)
        .await
}

/// A page of an account's campaigns, newest first, after `after`
/// (created_at, id) of the previous page's last one.
pub async fn list(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: Option<&str>,
    limit: u64,
    after: Option<(i64, String)>,
) -> Result<Vec<bulk::Model>, DbErr> {
    let mut query = bulk::Entity::find().filter(bulk::Column::AccountId.eq(account_id));
    if let Some(phone_id) = phone_id {
        query = query.filter(bulk::Column::PhoneId.eq(phone_id));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(bulk::Column::CreatedAt.lt(created_at))
                .add(
                    Condition::all()
                        .add(bulk::Column::CreatedAt.eq(created_at))
                        .add(bulk::Column::Id.lt(id)),
                ),
        );
    }
    query
        .order_by_desc(bulk::Column::CreatedAt)
        .order_by_desc(bulk::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Recipients of a campaign by state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    /// Recipients the worker is done with.
    pub fn handled(&self) -> u64 {
        self.sent + self.delivered + self.read + self.failed + self.skipped
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "pending": self.pending,
            "sent": self.sent,
            "delivered": self.delivered,
            "read": self.read,
            "failed": self.failed,
            "skipped": self.skipped,
        })
    }
}

/// Counts by state: recipients without a message yet are pending, skipped
/// ones skipped; the rest are counted by their message's status.
pub async fn counts<C: ConnectionTrait>(db: &C, bulk_id: &str) -> Result<Counts, DbErr> {
    let mut all = counts_for(db, &[bulk_id]).await?;
    Ok(all.remove(bulk_id).unwrap_or_default())
}

/// [`counts`] of several campaigns in two queries (a page of a list).
pub async fn counts_for<C: ConnectionTrait>(
    db: &C,
    bulk_ids: &[&str],
) -> Result<HashMap<String, Counts>, DbErr> {
    let mut counts: HashMap<String, Counts> = bulk_ids
        .iter()
        .map(|id| ((*id).to_owned(), Counts::default()))
        .collect();
    if bulk_ids.is_empty() {
        return Ok(counts);
    }
    let by_recipient: Vec<(String, RecipientStatus, i64)> = bulk_recipient::Entity::find()
        .select_only()
        .column(bulk_recipient::Column::BulkId)
        .column(bulk_recipient::Column::Status)
        .column_as(bulk_recipient::Column::Seq.count(), "n")
        .filter(bulk_recipient::Column::BulkId.is_in(bulk_ids.iter().copied()))
        .filter(
            bulk_recipient::Column::Status
                .is_in([RecipientStatus::Pending, RecipientStatus::Skipped]),
        )
        .group_by(bulk_recipient::Column::BulkId)
        .group_by(bulk_recipient::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (id, status, n) in by_recipient {
        let c = counts.entry(id).or_default();
        match status {
            RecipientStatus::Pending => c.pending += n as u64,
            _ => c.skipped += n as u64,
        }
    }
    let by_message: Vec<(Option<String>, MessageStatus, i64)> = message::Entity::find()
        .select_only()
        .column(message::Column::BulkId)
        .column(message::Column::Status)
        .column_as(message::Column::Id.count(), "n")
        .filter(message::Column::BulkId.is_in(bulk_ids.iter().copied()))
        .group_by(message::Column::BulkId)
        .group_by(message::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (id, status, n) in by_message {
        let Some(id) = id else { continue };
        let c = counts.entry(id).or_default();
        let n = n as u64;
        match status {
            MessageStatus::Queued => c.pending += n,
            MessageStatus::Sent => c.sent += n,
            MessageStatus::Delivered => c.delivered += n,
            MessageStatus::Read => c.read += n,
            MessageStatus::Failed | MessageStatus::Received => c.failed += n,
        }
    }
    Ok(counts)
}

/// The number each campaign sends to next (see [`next_recipient`]), in two
/// queries: handed-over recipients come before pending ones in sending
/// order, so the first unfinished position is the next one.
pub async fn next_numbers(
    db: &DatabaseConnection,
    bulk_ids: &[&str],
) -> Result<HashMap<String, String>, DbErr> {
    if bulk_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let firsts: Vec<(String, Option<i32>)> = bulk_recipient::Entity::find()
        .select_only()
        .column(bulk_recipient::Column::BulkId)
        .column_as(bulk_recipient::Column::Seq.min(), "seq")
        .filter(bulk_recipient::Column::BulkId.is_in(bulk_ids.iter().copied()))
        .filter(
            bulk_recipient::Column::Status
                .is_in([RecipientStatus::Queued, RecipientStatus::Pending]),
        )
        .group_by(bulk_recipient::Column::BulkId)
        .into_tuple()
        .all(db)
        .await?;
    let mut which = Condition::any();
    let mut any = false;
    for (id, seq) in firsts {
        if let Some(seq) = seq {
            any = true;
            which = which.add(
                Condition::all()
                    .add(bulk_recipient::Column::BulkId.eq(id))
                    .add(bulk_recipient::Column::Seq.eq(seq)),
            );
        }
    }
    if !any {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = bulk_recipient::Entity::find()
        .select_only()
        .column(bulk_recipient::Column::BulkId)
        .column(bulk_recipient::Column::Number)
        .filter(which)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

fn active_condition() -> Condition {
    Condition::any()
        .add(bulk::Column::Status.is_in([BulkStatus::Queued, BulkStatus::Running]))
        .add(
            Condition::all()
                .add(bulk::Column::Status.eq(BulkStatus::Paused))
                .add(bulk::Column::PauseKind.eq(PauseKind::Disconnected)),
        )
}

/// A phone's campaigns that want to send (queued, running, or waiting for
/// the phone to reconnect), first come first served.
pub async fn active_for_phone(
    db: &DatabaseConnection,
    phone_id: &str,
) -> Result<Vec<bulk::Model>, DbErr> {
    bulk::Entity::find()
        .filter(bulk::Column::PhoneId.eq(phone_id))
        .filter(active_condition())
        .order_by_asc(bulk::Column::CreatedAt)
        .order_by_asc(bulk::Column::Id)
        .all(db)
        .await
}

/// [`active_for_phone`] for several phones at once, in the same order.
pub async fn active_for_phones(
    db: &DatabaseConnection,
    phone_ids: &[&str],
) -> Result<Vec<bulk::Model>, DbErr> {
    if phone_ids.is_empty() {
        return Ok(Vec::new());
    }
    bulk::Entity::find()
        .filter(bulk::Column::PhoneId.is_in(phone_ids.iter().copied()))
        .filter(active_condition())
        .order_by_asc(bulk::Column::CreatedAt)
        .order_by_asc(bulk::Column::Id)
        .all(db)
        .await
}

/// Phones with campaigns that want to send: their workers start at start-up.
pub async fn phones_with_active(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    bulk::Entity::find()
        .select_only()
        .column(bulk::Column::PhoneId)
        .distinct()
        .filter(active_condition())
        .into_tuple()
        .all(db)
        .await
}

/// When this phone last handed a campaign message to WhatsApp: the gap to
/// the next one holds across campaigns and restarts.
pub async fn last_sent_for_phone(
    db: &DatabaseConnection,
    phone_id: &str,
) -> Result<Option<i64>, DbErr> {
    Ok(bulk::Entity::find()
        .select_only()
        .column_as(bulk::Column::LastSentAt.max(), "last")
        .filter(bulk::Column::PhoneId.eq(phone_id))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

/// Numbers waiting in a phone's unfinished campaigns (for the trial cap).
pub async fn waiting_numbers(
    db: &DatabaseConnection,
    phone_id: &str,
) -> Result<Vec<String>, DbErr> {
    let ids: Vec<String> = bulk::Entity::find()
        .select_only()
        .column(bulk::Column::Id)
        .filter(bulk::Column::PhoneId.eq(phone_id))
        .filter(bulk::Column::Status.is_in([
            BulkStatus::Queued,
            BulkStatus::Running,
            BulkStatus::Paused,
        ]))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    bulk_recipient::Entity::find()
        .select_only()
        .column(bulk_recipient::Column::Number)
        .distinct()
        .filter(bulk_recipient::Column::BulkId.is_in(ids))
        .filter(
            bulk_recipient::Column::Status
                .is_in([RecipientStatus::Pending, RecipientStatus::Queued]),
        )
        .into_tuple()
        .all(db)
        .await
}

/// The next recipient to handle: one handed over and not finished first
/// (after a crash or a disconnect), else the first pending one.
pub async fn next_recipient(
    db: &DatabaseConnection,
    bulk_id: &str,
) -> Result<Option<bulk_recipient::Model>, DbErr> {
    for status in [RecipientStatus::Queued, RecipientStatus::Pending] {
        let next = bulk_recipient::Entity::find()
            .filter(bulk_recipient::Column::BulkId.eq(bulk_id))
            .filter(bulk_recipient::Column::Status.eq(status))
            .order_by_asc(bulk_recipient::Column::Seq)
            .one(db)
            .await?;
        if next.is_some() {
            return Ok(next);
        }
    }
    Ok(None)
}

/// Creates the recipient's outbox message and ties it to the recipient, in
/// one transaction: after a crash the message either exists (and is sent
/// once, by the outbox) or does not (and the recipient is still pending).
pub async fn hand_over(
    db: &DatabaseConnection,
    campaign: &bulk::Model,
    recipient: &bulk_recipient::Model,
    outbound: NewOutbound,
) -> Result<Option<message::Model>, DbErr> {
    let now = outbound.created_at.unwrap_or_else(now_ms);
    let txn = db.begin().await?;
    // Write first: claim the recipient (nothing happens if it was skipped).
    let claimed = bulk_recipient::Entity::update_many()
        .col_expr(
            bulk_recipient::Column::Status,
            Expr::value(RecipientStatus::Queued),
        )
        .filter(bulk_recipient::Column::BulkId.eq(&recipient.bulk_id))
        .filter(bulk_recipient::Column::Seq.eq(recipient.seq))
        .filter(bulk_recipient::Column::Status.eq(RecipientStatus::Pending))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(None);
    }
    let row = messages::insert_outbound(&txn, outbound).await?;
    bulk_recipient::Entity::update_many()
        .col_expr(
            bulk_recipient::Column::MessageId,
            Expr::value(row.id.clone()),
        )
        .filter(bulk_recipient::Column::BulkId.eq(&recipient.bulk_id))
        .filter(bulk_recipient::Column::Seq.eq(recipient.seq))
        .exec(&txn)
        .await?;
    bulk::Entity::update_many()
        .col_expr(bulk::Column::LastSentAt, Expr::value(now))
        .col_expr(bulk::Column::UpdatedAt, Expr::value(now))
        .filter(bulk::Column::Id.eq(&campaign.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(row))
}

/// The recipient's message left the outbox (sent or failed).
pub async fn recipient_done(db: &DatabaseConnection, bulk_id: &str, seq: i32) -> Result<(), DbErr> {
    bulk_recipient::Entity::update_many()
        .col_expr(
            bulk_recipient::Column::Status,
            Expr::value(RecipientStatus::Done),
        )
        .filter(bulk_recipient::Column::BulkId.eq(bulk_id))
        .filter(bulk_recipient::Column::Seq.eq(seq))
        .exec(db)
        .await
        .map(|_| ())
}

/// Failures in a row: set (0 after a success) and returned.
pub async fn set_failures(db: &DatabaseConnection, bulk_id: &str, n: i32) -> Result<(), DbErr> {
    bulk::Entity::update_many()
        .col_expr(bulk::Column::Failures, Expr::value(n))
        .filter(bulk::Column::Id.eq(bulk_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Moves a campaign from one of `from` to `to`; false when it was in none
/// of them (someone else changed it first).
pub async fn transition<C: ConnectionTrait>(
    db: &C,
    bulk_id: &str,
    from: &[BulkStatus],
    to: BulkStatus,
    pause: Option<(PauseKind, &str)>,
) -> Result<bool, DbErr> {
    let now = now_ms();
    let mut update = bulk::Entity::update_many()
        .col_expr(bulk::Column::Status, Expr::value(to))
        .col_expr(
            bulk::Column::PauseKind,
            Expr::value(pause.map(|(kind, _)| kind)),
        )
        .col_expr(
            bulk::Column::PausedReason,
            Expr::value(pause.map(|(_, reason)| reason.to_owned())),
        )
        .col_expr(bulk::Column::UpdatedAt, Expr::value(now));
    if matches!(to, BulkStatus::Completed | BulkStatus::Cancelled) {
        update = update.col_expr(bulk::Column::FinishedAt, Expr::value(now));
    }
    if to == BulkStatus::Running || to == BulkStatus::Queued {
        update = update.col_expr(bulk::Column::Failures, Expr::value(0));
    }
    let done = update
        .filter(bulk::Column::Id.eq(bulk_id))
        .filter(bulk::Column::Status.is_in(from.iter().copied()))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Recipients not yet handed over are skipped (the campaign was cancelled,
/// in the same transaction).
pub async fn skip_pending<C: ConnectionTrait>(txn: &C, bulk_id: &str) -> Result<(), DbErr> {
    bulk_recipient::Entity::update_many()
        .col_expr(
            bulk_recipient::Column::Status,
            Expr::value(RecipientStatus::Skipped),
        )
        .filter(bulk_recipient::Column::BulkId.eq(bulk_id))
        .filter(bulk_recipient::Column::Status.eq(RecipientStatus::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

/// Another campaign of the phone runs: any other one marked running goes
/// back to queued (an older campaign resumed and takes its turn back).
pub async fn requeue_others(
    db: &DatabaseConnection,
    phone_id: &str,
    running: &str,
) -> Result<(), DbErr> {
    bulk::Entity::update_many()
        .col_expr(bulk::Column::Status, Expr::value(BulkStatus::Queued))
        .filter(bulk::Column::PhoneId.eq(phone_id))
        .filter(bulk::Column::Status.eq(BulkStatus::Running))
        .filter(bulk::Column::Id.ne(running))
        .exec(db)
        .await
        .map(|_| ())
}

/// A recipient's state as the API counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientFilter {
    /// No message yet, or its message is still queued.
    Pending,
    Skipped,
    /// Its message has this status.
    Message(MessageStatus),
}

/// A page of a campaign's recipients in sending order after position
/// `after`, with their messages; `status` as the API counts them.
pub async fn recipients(
    db: &DatabaseConnection,
    bulk_id: &str,
    status: Option<RecipientFilter>,
    after: Option<i32>,
    limit: u64,
) -> Result<Vec<(bulk_recipient::Model, Option<message::Model>)>, DbErr> {
    let mut query = bulk_recipient::Entity::find()
        .find_also_related(message::Entity)
        .filter(bulk_recipient::Column::BulkId.eq(bulk_id));
    if let Some(after) = after {
        query = query.filter(bulk_recipient::Column::Seq.gt(after));
    }
    query = match status {
        None => query,
        Some(RecipientFilter::Pending) => query.filter(
            Condition::any()
                .add(bulk_recipient::Column::Status.eq(RecipientStatus::Pending))
                .add(message::Column::Status.eq(MessageStatus::Queued)),
        ),
        Some(RecipientFilter::Skipped) => {
            query.filter(bulk_recipient::Column::Status.eq(RecipientStatus::Skipped))
        }
        Some(RecipientFilter::Message(status)) => query.filter(message::Column::Status.eq(status)),
    };
    query
        .order_by_asc(bulk_recipient::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}
