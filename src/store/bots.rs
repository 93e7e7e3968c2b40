//! AI bots, one per phone. The API reaches a bot through its account and
//! phone; the bot worker (which serves every account) uses the unscoped
//! functions at the end.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{
    entity::{
        bot, message, phone,
        vocab::{Direction, Source},
    },
    events, now_ms,
};

pub const PROVIDER_GEMINI: &str = "gemini";
pub const PROVIDER_OPENAI: &str = "openai";

pub async fn find_for_phone(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
) -> Result<Option<bot::Model>, DbErr> {
    bot::Entity::find_by_id(phone_id.to_owned())
        .filter(bot::Column::AccountId.eq(account_id))
        .one(db)
        .await
}

/// A bot's configuration as SetBot leaves it.
#[derive(Clone)]
pub struct Config {
    pub provider: String,
    pub model: String,
    /// Encrypted (bot::crypto); None keeps the stored key.
    pub api_key_enc: Option<(String, String)>,
    pub system_prompt: String,
    pub enabled: bool,
}

/// Creates or changes a phone's bot. A bot that starts answering (new, or
/// enabled again) answers messages from now on, not the ones that came
/// while it was off. A new key clears the last error.
pub async fn set(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
    config: Config,
) -> Result<bot::Model, DbErr> {
    let now = now_ms();
    if let Some(existing) = find_for_phone(db, account_id, phone_id).await? {
        let was_enabled = existing.enabled;
        let mut active = existing.into_active_model();
        active.provider = Set(config.provider);
        active.model = Set(config.model);
        if let Some((enc, hint)) = config.api_key_enc {
            active.api_key_enc = Set(enc);
            active.api_key_hint = Set(hint);
            active.last_error = Set(None);
            active.last_error_at = Set(None);
        }
        active.system_prompt = Set(config.system_prompt);
        if config.enabled && !was_enabled {
            active.last_cursor = Set(events::head(db).await?);
        }
        active.enabled = Set(config.enabled);
        active.updated_at = Set(now);
        return active.update(db).await;
    }
    let (enc, hint) = config.api_key_enc.unwrap_or_default();
    bot::ActiveModel {
        phone_id: Set(phone_id.to_owned()),
        account_id: Set(account_id.to_owned()),
        provider: Set(config.provider),
        model: Set(config.model),
        api_key_enc: Set(enc),
        api_key_hint: Set(hint),
        system_prompt: Set(config.system_prompt),
        enabled: Set(config.enabled),
        last_cursor: Set(events::head(db).await?),
        last_error: Set(None),
        last_error_at: Set(None),
        last_reply_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// The bots that answer, with their phones.
pub async fn enabled(db: &DatabaseConnection) -> Result<Vec<bot::Model>, DbErr> {
    bot::Entity::find()
        .filter(bot::Column::Enabled.eq(true))
        .order_by_asc(bot::Column::PhoneId)
        .all(db)
        .await
}

pub async fn find(db: &DatabaseConnection, phone_id: &str) -> Result<Option<bot::Model>, DbErr> {
    bot::Entity::find_by_id(phone_id.to_owned()).one(db).await
}

/// Moves a bot's cursor forward (never back: a bot enabled again meanwhile
/// starts from a newer one).
pub async fn advance_cursor(
    db: &DatabaseConnection,
    phone_id: &str,
    cursor: i64,
) -> Result<(), DbErr> {
    bot::Entity::update_many()
        .col_expr(bot::Column::LastCursor, cursor.into())
        .filter(bot::Column::PhoneId.eq(phone_id))
        .filter(bot::Column::LastCursor.lt(cursor))
        .exec(db)
        .await?;
    Ok(())
}

/// A reply went out: its time, and no error any more.
pub async fn replied(db: &DatabaseConnection, phone_id: &str, at: i64) -> Result<(), DbErr> {
    bot::Entity::update_many()
        .col_expr(bot::Column::LastReplyAt, Some(at).into())
        .col_expr(bot::Column::LastError, Option::<String>::None.into())
        .col_expr(bot::Column::LastErrorAt, Option::<i64>::None.into())
        .filter(bot::Column::PhoneId.eq(phone_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A reply failed.
pub async fn failed(
    db: &DatabaseConnection,
    phone_id: &str,
    error: &str,
    at: i64,
) -> Result<(), DbErr> {
    bot::Entity::update_many()
        .col_expr(bot::Column::LastError, Some(error.to_owned()).into())
        .col_expr(bot::Column::LastErrorAt, Some(at).into())
        .filter(bot::Column::PhoneId.eq(phone_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The newest `limit` messages of a phone's one-to-one chat with `peer`,
/// newest first; failed sends are left out (the person never saw them).
pub async fn chat(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Chat.is_null())
        .filter(message::Column::Status.ne("failed"))
        .order_by_desc(message::Column::CreatedAt)
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// How many bot replies a phone sent to `peer` since `since` (Unix ms).
pub async fn replies_since(
    db: &DatabaseConnection,
    phone_id: &str,
    peer: &str,
    since: i64,
) -> Result<u64, DbErr> {
    message::Entity::find()
        .filter(message::Column::PhoneId.eq(phone_id))
        .filter(message::Column::Direction.eq(Direction::Outbound))
        .filter(message::Column::Peer.eq(peer))
        .filter(message::Column::Source.eq(Source::Bot))
        .filter(message::Column::CreatedAt.gte(since))
        .count(db)
        .await
}

/// Whether `number` is a phone linked to this gateway (two bots must not
/// talk to each other forever).
pub async fn is_our_number(db: &DatabaseConnection, number: &str) -> Result<bool, DbErr> {
    Ok(phone::Entity::find()
        .filter(phone::Column::Number.eq(number))
        .one(db)
        .await?
        .is_some())
}
