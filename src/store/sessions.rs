//! Console sessions, stored by the SHA-256 of the cookie's secret.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{entity::console_session, now_ms};

pub async fn create(
    db: &DatabaseConnection,
    id: &str,
    account_id: &str,
    expires_at: i64,
) -> Result<console_session::Model, DbErr> {
    console_session::ActiveModel {
        id: Set(id.to_owned()),
        account_id: Set(account_id.to_owned()),
        created_at: Set(now_ms()),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await
}

/// The session, while it has not expired.
pub async fn find_valid(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Option<console_session::Model>, DbErr> {
    console_session::Entity::find_by_id(id.to_owned())
        .filter(console_session::Column::ExpiresAt.gt(now_ms()))
        .one(db)
        .await
}

pub async fn delete(db: &DatabaseConnection, id: &str) -> Result<bool, DbErr> {
    let result = console_session::Entity::delete_by_id(id.to_owned())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Signs the account out everywhere; how many sessions ended.
pub async fn delete_for_account(db: &DatabaseConnection, account_id: &str) -> Result<u64, DbErr> {
    let result = console_session::Entity::delete_many()
        .filter(console_session::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Drops expired sessions (run at sign-in: no worker needed).
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let result = console_session::Entity::delete_many()
        .filter(console_session::Column::ExpiresAt.lte(now_ms()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
