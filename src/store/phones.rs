//! Phones, always looked up through their account.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::{entity::phone, new_id, now_ms};

pub const PLAN_TRIAL: &str = "trial";
pub const PLAN_PRO: &str = "pro";
pub const STATUS_PENDING: &str = "pending";

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
        status: Set(STATUS_PENDING.to_owned()),
        plan: Set(PLAN_TRIAL.to_owned()),
        reason: Set(None),
        last_seen: Set(None),
        ban_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
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
    plan: &str,
) -> Result<phone::Model, DbErr> {
    let mut active: phone::ActiveModel = phone.into();
    active.plan = Set(plan.to_owned());
    active.updated_at = Set(now_ms());
    active.update(db).await
}
