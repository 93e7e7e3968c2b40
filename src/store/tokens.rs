use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::{
    entity::token::{self, TokenRights},
    new_id, now_ms,
};

/// A token with full rights over every phone of the account.
pub async fn create(
    db: &DatabaseConnection,
    account_id: &str,
    name: &str,
    expires_at: Option<i64>,
) -> Result<token::Model, DbErr> {
    create_scoped(db, account_id, name, expires_at, TokenRights::Full, None).await
}

/// A token limited to `rights` and, when given, to `phone_ids`.
pub async fn create_scoped(
    db: &DatabaseConnection,
    account_id: &str,
    name: &str,
    expires_at: Option<i64>,
    rights: TokenRights,
    phone_ids: Option<&[String]>,
) -> Result<token::Model, DbErr> {
    let phone_ids = phone_ids
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| DbErr::Custom(err.to_string()))?;
    token::ActiveModel {
        id: Set(new_id("tk")),
        account_id: Set(account_id.to_owned()),
        name: Set(name.to_owned()),
        created_at: Set(now_ms()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        rights: Set(rights),
        phone_ids: Set(phone_ids),
        last_used_at: Set(None),
    }
    .insert(db)
    .await
}

/// The phones a token is limited to (None: all of the account's).
pub fn phone_scope(record: &token::Model) -> Option<Vec<String>> {
    // Written by create_scoped only; an unreadable value scopes to nothing.
    record
        .phone_ids
        .as_deref()
        .map(|ids| serde_json::from_str(ids).unwrap_or_default())
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<token::Model>, DbErr> {
    token::Entity::find_by_id(id.to_owned()).one(db).await
}

/// The account's token by id (another account's is None, as a missing one).
pub async fn find_for_account(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<token::Model>, DbErr> {
    token::Entity::find_by_id(id.to_owned())
        .filter(token::Column::AccountId.eq(account_id))
        .one(db)
        .await
}

pub async fn list_for_account(
    db: &DatabaseConnection,
    account_id: &str,
) -> Result<Vec<token::Model>, DbErr> {
    token::Entity::find()
        .filter(token::Column::AccountId.eq(account_id))
        .order_by_asc(token::Column::CreatedAt)
        .order_by_asc(token::Column::Id)
        .all(db)
        .await
}

/// Marks a token revoked; false when it does not exist or was already revoked.
pub async fn revoke(db: &DatabaseConnection, id: &str) -> Result<bool, DbErr> {
    let result = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, now_ms().into())
        .filter(token::Column::Id.eq(id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records that the token was used at `at`.
pub async fn touch(db: &DatabaseConnection, id: &str, at: i64) -> Result<(), DbErr> {
    token::Entity::update_many()
        .col_expr(token::Column::LastUsedAt, at.into())
        .filter(token::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
