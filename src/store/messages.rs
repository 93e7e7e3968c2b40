//! Messages: the durable outbox and the inbound store.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};

use super::{
    entity::{
        message,
        vocab::{Direction, MessageKind, MessageStatus, Source},
    },
    new_id, now_ms,
};
use crate::events::EventKind;

/// What a message says, in either direction: its kind and the fields of
/// that kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub kind: MessageKind,
    pub text: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub location_name: Option<String>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub media_size: Option<i64>,
    pub media_sha256: Option<String>,
    /// The uploaded (outbound) or received (inbound) media message, to
    /// send or download the file.
    pub media_ref: Option<String>,
    /// The WhatsApp id of the quoted message (a reply).
    pub reply_to: Option<String>,
    /// Mentioned numbers, a JSON array.
    pub mentions: Option<String>,
    /// Outbound: the WhatsApp ContextInfo to send with it (encoded).
    pub context: Option<String>,
    /// What the kind carries beyond these fields (JSON, see
    /// [`crate::details::Details`]).
    pub details: Option<String>,
}

impl Default for Body {
    /// An empty text.
    fn default() -> Body {
        Body {
            kind: MessageKind::Text,
            text: None,
            lat: None,
            lng: None,
            location_name: None,
            caption: None,
            file_name: None,
            mime_type: None,
            media_size: None,
            media_sha256: None,
            media_ref: None,
            reply_to: None,
            mentions: None,
            context: None,
            details: None,
        }
    }
}

impl Body {
    pub fn text(text: impl Into<String>) -> Body {
        Body {
            text: Some(text.into()),
            ..Body::default()
        }
    }

    pub fn location(lat: Option<f64>, lng: Option<f64>, name: Option<String>) -> Body {
        Body {
            kind: MessageKind::Location,
            lat,
            lng,
            location_name: name,
            ..Body::default()
        }
    }

    /// The row with this body; the caller sets the rest.
    fn row(self) -> message::ActiveModel {
        message::ActiveModel {
            kind: Set(self.kind),
            text: Set(self.text),
            lat: Set(self.lat),
            lng: Set(self.lng),
            location_name: Set(self.location_name),
            caption: Set(self.caption),
            file_name: Set(self.file_name),
            mime_type: Set(self.mime_type),
            media_size: Set(self.media_size),
            media_sha256: Set(self.media_sha256),
            media_ref: Set(self.media_ref),
            reply_to: Set(self.reply_to),
            mentions: Set(self.mentions),
            context: Set(self.context),
            details: Set(self.details),
            ..Default::default()
        }
    }
}

/// What to send.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub account_id: String,
    pub phone_id: String,
    pub peer: String,
    pub body: Body,
    pub idempotency_key: Option<String>,
    /// The digest of the request the key came with.
    pub idempotency_request: Option<String>,
    pub source: Source,
    pub bulk_id: Option<String>,
    /// When it was decided (default: now); a campaign's scheduled moment.
    pub created_at: Option<i64>,
}

impl Default for NewOutbound {
    /// A text from the API; the send path fills in the rest.
    fn default() -> NewOutbound {
        NewOutbound {
            account_id: String::new(),
            phone_id: String::new(),
            peer: String::new(),
            body: Body::default(),
            idempotency_key: None,
            idempotency_request: None,
            source: Source::Api,
            bulk_id: None,
            created_at: None,
        }
    }
}

/// A message a linked phone received.
#[derive(Debug, Clone)]
pub struct NewInbound {
    pub account_id: String,
    pub phone_id: String,
    /// WhatsApp's id: a replay of the same (phone, sender, id) is not stored
    /// twice.
    pub wa_id: String,
    /// The sender's number.
    pub peer: String,
    pub body: Body,
    pub chat: Option<String>,
    pub sender_lid: Option<String>,
    pub push_name: Option<String>,
    /// WhatsApp's time (Unix ms).
    pub sent_at: i64,
    /// Arrival order: what ListMessages sorts by.
    pub created_at: i64,
}

/// A WhatsApp-style message id (the web client's "3EB0" + 16 hex digits),
/// chosen before sending so that a retry after a crash reuses it.
pub fn new_wa_id() -> String {
    use rand::RngExt as _;
    let n: u64 = rand::rng().random();
    format!("3EB0{n:016X}")
}

/// Persists an outbound message in status queued.
pub async fn insert_outbound<C: sea_orm::ConnectionTrait>(
    db: &C,
    new: NewOutbound,
) -> Result<message::Model, DbErr> {
    let now = new.created_at.unwrap_or_else(now_ms);
    message::ActiveModel {
        id: Set(new_id("msg")),
        wa_id: Set(new_wa_id()),
        account_id: Set(new.account_id),
        phone_id: Set(new.phone_id),
        direction: Set(Direction::Outbound),
        peer: Set(new.peer),
        status: Set(MessageStatus::Queued),
        reason: Set(None),
        idempotency_key: Set(new.idempotency_key),
        idempotency_request: Set(new.idempotency_request),
        created_at: Set(now),
        updated_at: Set(now),
        chat: Set(None),
        sender_lid: Set(None),
        push_name: Set(None),
        sent_at: Set(None),
        source: Set(Some(new.source)),
        bulk_id: Set(new.bulk_id),
        ..new.body.row()
    }
    .insert(db)
    .await
}

/// Stores a received message; false when it was stored before (a replay:
/// WhatsApp delivers again what was not acknowledged). Writes first, with
/// no read before it (on SQLite a transaction that read first could not
/// upgrade to a write while another one commits): a replay hits the
/// unique index and inserts nothing.
pub async fn insert_inbound<C: sea_orm::ConnectionTrait>(
    db: &C,
    new: NewInbound,
) -> Result<bool, DbErr> {
    let row = message::ActiveModel {
        id: Set(new_id("msg")),
        wa_id: Set(new.wa_id),
        account_id: Set(new.account_id),
        phone_id: Set(new.phone_id),
        direction: Set(Direction::Inbound),
        peer: Set(new.peer),
        status: Set(MessageStatus::Received),
        reason: Set(None),
        idempotency_key: Set(None),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
        chat: Set(new.chat),
        sender_lid: Set(new.sender_lid),
        push_name: Set(new.push_name),
        sent_at: Set(Some(new.sent_at)),
        source: Set(None),
        bulk_id: Set(None),
        ..new.body.row()
    };
    let inserted = message::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                message::Column::PhoneId,
                message::Column::Direction,
                message::Column::Peer,
                message::Column::WaId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<message::Model>, DbErr> {
    message::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_by_idempotency(
    db: &DatabaseConnection,
    account_id: &str,
    key: &str,
) -> Result<Option<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::AccountId.eq(account_id))
        .filter(message::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
}

/// The votes on these polls of the phone, oldest first.
pub async fn votes_on(
    db: &DatabaseConnection,
    phone_id: &str,
    poll_ids: &[&str],
) -> Result<Vec<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Kind.eq(MessageKind::PollVote))
        .filter(message::Column::ReplyTo.is_in(poll_ids.iter().copied()))
        .order_by_asc(message::Column::CreatedAt)
        .all(db)
        .await
}

/// Kinds that are changes to other messages, not messages of a chat.
const CHANGES: [MessageKind; 4] = MessageKind::CHANGES;

/// The chat's received messages not marked read yet, up to `until`
/// (created_at, inclusive), oldest first.
pub async fn unread(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
    until: Option<i64>,
) -> Result<Vec<message::Model>, DbErr> {
    let mut query = message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Chat.is_null())
        .filter(message::Column::Direction.eq(Direction::Inbound))
        .filter(message::Column::ReadAt.is_null());
    if let Some(until) = until {
        query = query.filter(message::Column::CreatedAt.lte(until));
    }
    query.order_by_asc(message::Column::CreatedAt).all(db).await
}

/// Marks these messages read at `at`.
pub async fn set_read(db: &DatabaseConnection, ids: &[String], at: i64) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    message::Entity::update_many()
        .col_expr(message::Column::ReadAt, at.into())
        .filter(message::Column::Id.is_in(ids.iter().map(String::as_str)))
        .exec(db)
        .await?;
    Ok(())
}

/// A one-to-one chat as listed: the other party, its newest message's
/// time and how many received messages are unread.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ChatRow {
    pub peer: String,
    pub last_at: i64,
    pub unread: i64,
}

/// The phone's one-to-one chats, most recent first, below `before`
/// (a last_at, for paging), at most `limit`.
pub async fn chats(
    db: &DatabaseConnection,
    phone_id: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<ChatRow>, DbErr> {
    use sea_orm::{
        ExprTrait, QuerySelect,
        sea_query::{Expr, Func},
    };
    let unread_inbound = message::Column::Direction
        .eq(Direction::Inbound)
        .and(message::Column::ReadAt.is_null())
        .and(message::Column::Kind.is_not_in(CHANGES));
    let unread = Expr::case(unread_inbound, 1).finally(0);
    let mut query = message::Entity::find()
        .select_only()
        .column(message::Column::Peer)
        .column_as(
            Expr::from(Func::max(Expr::col(message::Column::CreatedAt))),
            "last_at",
        )
        .column_as(Expr::from(Func::sum(unread)), "unread")
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Chat.is_null())
        .group_by(message::Column::Peer);
    if let Some(before) = before {
        query =
            query.having(Expr::from(Func::max(Expr::col(message::Column::CreatedAt))).lt(before));
    }
    query
        .order_by_desc(Expr::cust("last_at"))
        .limit(limit)
        .into_model::<ChatRow>()
        .all(db)
        .await
}

/// The chat's newest message that is not a change (reaction, edit,
/// deletion) of another.
pub async fn last_in_chat(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
) -> Result<Option<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Chat.is_null())
        .filter(message::Column::Kind.is_not_in(CHANGES))
        .order_by_desc(message::Column::CreatedAt)
        .order_by_desc(message::Column::Id)
        .one(db)
        .await
}

/// Applies an edit to the phone's message `wa_id`: the new text, the old
/// one kept in `earlier_texts`. False when there is no such message.
pub async fn apply_edit<C: sea_orm::ConnectionTrait>(
    db: &C,
    phone_id: &str,
    wa_id: &str,
    text: &str,
    at: i64,
) -> Result<bool, DbErr> {
    let Some(row) = message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::WaId.eq(wa_id))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    if row.text.as_deref() == Some(text) {
        return Ok(true);
    }
    let mut earlier: Vec<String> = row
        .earlier_texts
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    earlier.extend(row.text.clone());
    let earlier = serde_json::to_string(&earlier).map_err(|e| DbErr::Custom(e.to_string()))?;
    message::Entity::update_many()
        .col_expr(message::Column::Text, text.into())
        .col_expr(message::Column::EarlierTexts, earlier.into())
        .col_expr(message::Column::EditedAt, at.into())
        .filter(message::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(true)
}

/// Marks the phone's message `wa_id` deleted for everyone and removes its
/// content (text, caption, place, media, earlier texts). False when there
/// is no such message.
pub async fn apply_revoke<C: sea_orm::ConnectionTrait>(
    db: &C,
    phone_id: &str,
    wa_id: &str,
    at: i64,
) -> Result<bool, DbErr> {
    let none_text: Option<String> = None;
    let none_f64: Option<f64> = None;
    let result = message::Entity::update_many()
        .col_expr(message::Column::RevokedAt, at.into())
        .col_expr(message::Column::Text, none_text.clone().into())
        .col_expr(message::Column::Caption, none_text.clone().into())
        .col_expr(message::Column::EarlierTexts, none_text.clone().into())
        .col_expr(message::Column::MediaRef, none_text.clone().into())
        .col_expr(message::Column::LocationName, none_text.into())
        .col_expr(message::Column::Lat, none_f64.into())
        .col_expr(message::Column::Lng, none_f64.into())
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::WaId.eq(wa_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn find_by_wa_id(
    db: &DatabaseConnection,
    phone_id: &str,
    wa_id: &str,
) -> Result<Option<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::WaId.eq(wa_id))
        .one(db)
        .await
}

/// A phone's messages waiting to be handed to WhatsApp, oldest first.
pub async fn queued_for_phone(
    db: &DatabaseConnection,
    phone_id: &str,
) -> Result<Vec<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Status.eq(MessageStatus::Queued))
        .order_by_asc(message::Column::CreatedAt)
        .all(db)
        .await
}

/// The different recipients of a phone's sends that did not fail.
fn reached_query(phone_id: &str) -> sea_orm::Select<message::Entity> {
    message::Entity::find()
        .select_only()
        .column(message::Column::Peer)
        .distinct()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Direction.eq(Direction::Outbound))
        .filter(message::Column::Status.ne(MessageStatus::Failed))
}

/// How many different recipients a phone has sent to.
pub async fn recipient_count(db: &DatabaseConnection, phone_id: &str) -> Result<u64, DbErr> {
    reached_query(phone_id).count(db).await
}

/// The different recipients a phone has sent to (for the trial cap).
pub async fn reached(db: &DatabaseConnection, phone_id: &str) -> Result<Vec<String>, DbErr> {
    reached_query(phone_id).into_tuple().all(db).await
}

pub async fn has_reached(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
) -> Result<bool, DbErr> {
    // The first such message answers it: counting them all would read every
    // message ever sent to a regular recipient, on every send.
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Direction.eq(Direction::Outbound))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Status.ne(MessageStatus::Failed))
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}

/// Which message a status change is for.
#[derive(Clone)]
pub enum Target {
    /// The message with this id (the outbox row just sent).
    Id(String),
    /// The phone's message with this WhatsApp id (receipts and acks).
    WaId { phone_id: String, wa_id: String },
}

/// One status change to record.
#[derive(Clone)]
pub struct Change {
    pub target: Target,
    pub status: MessageStatus,
    pub reason: Option<String>,
}

/// Moves a message forward, in one statement that checks the status it
/// moves from (whatever order changes arrive in, a message never moves
/// back): the updated row, or None for an unknown message or a step back.
pub async fn advance<C: sea_orm::ConnectionTrait>(
    db: &C,
    target: &Target,
    status: MessageStatus,
    reason: Option<String>,
) -> Result<Option<message::Model>, DbErr> {
    let from = status.moves_from();
    if from.is_empty() {
        return Ok(None);
    }
    let update = message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(status))
        .col_expr(message::Column::Reason, reason.into())
        .col_expr(message::Column::UpdatedAt, now_ms().into())
        .filter(message::Column::Status.is_in(from));
    let update = match target {
        Target::Id(id) => update.filter(message::Column::Id.eq(id.as_str())),
        Target::WaId { phone_id, wa_id } => update
            .filter(message::Column::PhoneId.eq(phone_id.as_str()))
            .filter(message::Column::WaId.eq(wa_id.as_str())),
    };
    Ok(update.exec_with_returning(db).await?.into_iter().next())
}

/// Records status changes ([`advance`]) and the message.status event of
/// each that moved, all in one transaction: a crash never leaves a status
/// without its event (webhooks and streams would miss it), whoever sees the
/// status finds the event in the log, and many changes cost one commit.
/// One answer per change, in order.
pub async fn advance_recorded(
    log: &super::events::EventLog,
    changes: Vec<Change>,
) -> Result<Vec<Option<message::Model>>, DbErr> {
    log.append_in(move |txn| {
        Box::pin(async move {
            let mut out = Vec::with_capacity(changes.len());
            for change in changes {
                let updated = advance(txn, &change.target, change.status, change.reason).await?;
                if let Some(updated) = &updated {
                    let payload = serde_json::json!({
                        "message_id": updated.wa_id,
                        "to": updated.peer,
                        "status": updated.status.as_str(),
                        "reason": updated.reason,
                    });
                    super::events::insert(
                        txn,
                        super::events::NewEvent {
                            account_id: &updated.account_id,
                            phone_id: Some(&updated.phone_id),
                            kind: EventKind::MessageStatus,
                            payload,
                        },
                    )
                    .await?;
                }
                out.push(updated);
            }
            Ok(out)
        })
    })
    .await
}

/// Which messages to list.
#[derive(Debug, Default)]
pub struct ListFilter<'a> {
    pub direction: Option<Direction>,
    pub peer: Option<&'a str>,
    /// Continue below this (created_at, id), newest first.
    pub before: Option<(i64, String)>,
}

/// A phone's messages, newest first, at most `limit`.
pub async fn list(
    db: &DatabaseConnection,
    phone_id: &str,
    filter: ListFilter<'_>,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    use sea_orm::Condition;
    let mut query = message::Entity::find().filter(message::Column::PhoneId.eq(phone_id));
    if let Some(direction) = filter.direction {
        query = query.filter(message::Column::Direction.eq(direction));
    }
    if let Some(peer) = filter.peer {
        query = query.filter(message::Column::Peer.eq(peer));
    }
    if let Some((created_at, id)) = filter.before {
        query = query.filter(
            Condition::any()
                .add(message::Column::CreatedAt.lt(created_at))
                .add(
                    Condition::all()
                        .add(message::Column::CreatedAt.eq(created_at))
                        .add(message::Column::Id.lt(id)),
                ),
        );
    }
    query
        .order_by_desc(message::Column::CreatedAt)
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The name `peer` last sent the phone a message with (any chat), if any.
pub async fn last_push_name(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
) -> Result<Option<String>, DbErr> {
    Ok(message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Direction.eq(Direction::Inbound))
        .filter(message::Column::PushName.is_not_null())
        .filter(message::Column::PushName.ne(""))
        .order_by_desc(message::Column::CreatedAt)
        .order_by_desc(message::Column::Id)
        .one(db)
        .await?
        .and_then(|m| m.push_name))
}

/// The group participants a trial phone's group messages reached.
pub async fn group_recipients(
    db: &DatabaseConnection,
    phone_id: &str,
) -> Result<Vec<String>, DbErr> {
    use super::migration::m0017_group_recipients::GroupRecipients as G;
    use sea_orm::{
        ConnectionTrait,
        sea_query::{ExprTrait as _, Query},
    };
    let query = Query::select()
        .column(G::Number)
        .from(G::Table)
        .and_where(Expr::col(G::PhoneId).eq(phone_id))
        .to_owned();
    let rows = db.query_all(&query).await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// Records group participants a trial phone's group message reached.
pub async fn add_group_recipients(
    db: &DatabaseConnection,
    phone_id: &str,
    numbers: &[String],
) -> Result<(), DbErr> {
    use super::migration::m0017_group_recipients::GroupRecipients as G;
    use sea_orm::{ConnectionTrait, sea_query::Query};
    if numbers.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert()
        .into_table(G::Table)
        .columns([G::PhoneId, G::Number, G::CreatedAt])
        .on_conflict(
            OnConflict::columns([G::PhoneId, G::Number])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let now = now_ms();
    for number in numbers {
        insert.values_panic([phone_id.into(), number.as_str().into(), now.into()]);
    }
    db.execute(&insert).await?;
    Ok(())
}

/// One group participant's receipt: (number, `delivered` or `read`, Unix ms).
pub type Receipt = (String, String, i64);

/// Records a participant's receipt of a group message (a read is never
/// taken back to delivered); answers every receipt of the message so far.
pub async fn record_receipt(
    db: &DatabaseConnection,
    phone_id: &str,
    wa_id: &str,
    number: &str,
    read: bool,
    at: i64,
) -> Result<Vec<Receipt>, DbErr> {
    use super::migration::m0018_receipts::MessageReceipts as R;
    use sea_orm::{ConnectionTrait, sea_query::Query};
    let status = if read { "read" } else { "delivered" };
    let mut on_conflict = OnConflict::columns([R::PhoneId, R::WaId, R::Number]);
    if read {
        on_conflict.update_columns([R::Status, R::At]);
    } else {
        on_conflict.do_nothing();
    }
    let insert = Query::insert()
        .into_table(R::Table)
        .columns([R::PhoneId, R::WaId, R::Number, R::Status, R::At])
        .values_panic([
            phone_id.into(),
            wa_id.into(),
            number.into(),
            status.into(),
            at.into(),
        ])
        .on_conflict(on_conflict.to_owned())
        .to_owned();
    match db.execute(&insert).await {
        Ok(_) => {}
        // SQLite answers "no rows" for DO NOTHING through some drivers.
        Err(DbErr::RecordNotInserted) => {}
        Err(err) => return Err(err),
    }
    receipts(db, phone_id, wa_id).await
}

/// Every participant's receipt of a group message, by number.
pub async fn receipts(
    db: &DatabaseConnection,
    phone_id: &str,
    wa_id: &str,
) -> Result<Vec<Receipt>, DbErr> {
    use super::migration::m0018_receipts::MessageReceipts as R;
    use sea_orm::{
        ConnectionTrait,
        sea_query::{ExprTrait as _, Query},
    };
    let query = Query::select()
        .columns([R::Number, R::Status, R::At])
        .from(R::Table)
        .and_where(Expr::col(R::PhoneId).eq(phone_id))
        .and_where(Expr::col(R::WaId).eq(wa_id))
        .order_by(R::Number, sea_orm::Order::Asc)
        .to_owned();
    db.query_all(&query)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get_by_index::<String>(0)?,
                row.try_get_by_index::<String>(1)?,
                row.try_get_by_index::<i64>(2)?,
            ))
        })
        .collect()
}
