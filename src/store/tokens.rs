use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::{entity::token, new_id, now_ms};

pub async fn create(
    db: &DatabaseConnection,
    account_id: &str,
    name: &str,
    expires_at: Option<i64>,
) -> Result<token::Model, DbErr> {
    token::ActiveModel {
        id: Set(new_id("tk")),
        account_id: Set(account_id.to_owned()),
        name: Set(name.to_owned()),
        created_at: Set(now_ms()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<token::Model>, DbErr> {
    token::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn list_for_account(
    db: &DatabaseConnection,
    account_id: &str,
) -> Result<Vec<token::Model>, DbErr> {
    token::Entity::find()
        .filter(token::Column::AccountId.eq(account_id))
        .order_by_asc(token::Column::CreatedAt)
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
