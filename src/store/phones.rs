//! Phones, always looked up through their account.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, sea_query::Expr,
};

use super::{
    entity::{
        phone,
        vocab::{PhoneStatus, Plan},
    },
    new_id, now_ms,
};

pub async fn create(
    db: &DatabaseConnection,
    account_id: &str,
    name: &str,
) -> Result<phone::Model, DbErr> {
    let now = now_ms();
    phone::ActiveModel {
        id: Set(new_id("ph")),
        account_id: Set(account_id.to_owned()),
        name: Set(name.to_owned()),
        number: Set(None),
        status: Set(PhoneStatus::Pending),
        plan: Set(Plan::Trial),
        reason: Set(None),
        last_seen: Set(None),
        ban_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        reject_calls: Set(false),
        call_reply: Set(None),
    }
    .insert(db)
    .await
}

/// Sets how the phone answers calls; the phone as it is now (None: no such
/// phone of the account).
pub async fn set_calls(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
    reject: bool,
    reply: Option<String>,
) -> Result<Option<phone::Model>, DbErr> {
    let updated = phone::Entity::update_many()
        .col_expr(phone::Column::RejectCalls, reject.into())
        .col_expr(phone::Column::CallReply, reply.into())
        .col_expr(phone::Column::UpdatedAt, now_ms().into())
        .filter(phone::Column::Id.eq(phone_id))
        .filter(phone::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(None);
    }
    find_for_account(db, account_id, phone_id).await
}

/// The phone if it exists and belongs to the account; another account's
/// phone is indistinguishable from a missing one.
pub async fn find_for_account(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
) -> Result<Option<phone::Model>, DbErr> {
    phone::Entity::find_by_id(phone_id.to_owned())
        .filter(phone::Column::AccountId.eq(account_id))
        .one(db)
        .await
}

pub async fn list_for_account(
    db: &DatabaseConnection,
    account_id: &str,
) -> Result<Vec<phone::Model>, DbErr> {
    phone::Entity::find()
        .filter(phone::Column::AccountId.eq(account_id))
        .order_by_asc(phone::Column::CreatedAt)
        .order_by_asc(phone::Column::Id)
        .all(db)
        .await
}

/// Operator action (CLI): not account-scoped on purpose.
pub async fn find(db: &DatabaseConnection, phone_id: &str) -> Result<Option<phone::Model>, DbErr> {
    phone::Entity::find_by_id(phone_id.to_owned()).one(db).await
}

pub async fn set_plan(
    db: &DatabaseConnection,
    phone: phone::Model,
    plan: Plan,
) -> Result<phone::Model, DbErr> {
    let mut active: phone::ActiveModel = phone.into();
    active.plan = Set(plan);
    active.updated_at = Set(now_ms());
    active.update(db).await
}

/// A status change, with what comes with it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    status: PhoneStatus,
    reason: Option<String>,
    number: Option<String>,
    last_seen: Option<i64>,
    ban_expires_at: Option<i64>,
}

impl StatusChange {
    pub fn new(status: PhoneStatus) -> StatusChange {
        StatusChange {
            status,
            reason: None,
            number: None,
            last_seen: None,
            ban_expires_at: None,
        }
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    pub fn number(mut self, number: String) -> Self {
        self.number = Some(number);
        self
    }

    pub fn last_seen(mut self, ms: i64) -> Self {
        self.last_seen = Some(ms);
        self
    }

    pub fn ban_expires_at(mut self, ms: i64) -> Self {
        self.ban_expires_at = Some(ms);
        self
    }
}

/// Applies a status change; the reason is cleared unless the change has one.
pub async fn update_status<C: sea_orm::ConnectionTrait>(
    db: &C,
    phone_id: &str,
    change: StatusChange,
) -> Result<(), DbErr> {
    let mut update = phone::Entity::update_many()
        .col_expr(phone::Column::Status, Expr::value(change.status))
        .col_expr(phone::Column::Reason, change.reason.into())
        .col_expr(phone::Column::BanExpiresAt, change.ban_expires_at.into())
        .col_expr(phone::Column::UpdatedAt, now_ms().into());
    if let Some(number) = change.number {
        update = update.col_expr(phone::Column::Number, Some(number).into());
    }
    if let Some(ms) = change.last_seen {
        update = update.col_expr(phone::Column::LastSeen, Some(ms).into());
    }
    update
        .filter(phone::Column::Id.eq(phone_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records when the session last heard from WhatsApp.
pub async fn touch_last_seen(
    db: &DatabaseConnection,
    phone_id: &str,
    ms: i64,
) -> Result<(), DbErr> {
    phone::Entity::update_many()
        .col_expr(phone::Column::LastSeen, Some(ms).into())
        .filter(phone::Column::Id.eq(phone_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Phones with a linked device whose session should run: everything paired
/// that was not logged out, banned or given up on.
pub async fn list_linked(db: &DatabaseConnection) -> Result<Vec<phone::Model>, DbErr> {
    phone::Entity::find()
        .filter(phone::Column::Number.is_not_null())
        .filter(phone::Column::Status.is_in([
            PhoneStatus::Connected,
            PhoneStatus::Connecting,
            PhoneStatus::Disconnected,
        ]))
        .order_by_asc(phone::Column::CreatedAt)
        .all(db)
        .await
}

/// Deletes a phone of the account (rows that reference it go through the
/// foreign keys' cascades); false when there was none.
pub async fn delete_for_account(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
) -> Result<bool, DbErr> {
    let deleted = phone::Entity::delete_many()
        .filter(phone::Column::Id.eq(phone_id))
        .filter(phone::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}
