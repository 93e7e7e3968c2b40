//! The append-only event log.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, NotSet, QueryFilter,
    QueryOrder, Set,
};

use super::{entity::event, new_id, now_ms};

/// Appends an event; its payload is the JSON a webhook receives.
pub async fn append(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: Option<&str>,
    name: &str,
    payload: &serde_json::Value,
) -> Result<event::Model, DbErr> {
    event::ActiveModel {
        cursor: NotSet,
        id: Set(new_id("evt")),
        account_id: Set(account_id.to_owned()),
        phone_id: Set(phone_id.map(str::to_owned)),
        event: Set(name.to_owned()),
        payload: Set(payload.to_string()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await
}

/// A phone's events after `cursor`, oldest first.
pub async fn list_for_phone(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
    after: i64,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::AccountId.eq(account_id))
        .filter(event::Column::PhoneId.eq(phone_id))
        .filter(event::Column::Cursor.gt(after))
        .order_by_asc(event::Column::Cursor)
        .all(db)
        .await
}
