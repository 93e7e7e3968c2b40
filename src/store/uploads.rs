//! Uploaded files' records (the files are under `data_dir/uploads`).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::{entity::upload, now_ms};

pub async fn insert(db: &DatabaseConnection, row: upload::Model) -> Result<upload::Model, DbErr> {
    upload::ActiveModel {
        id: Set(row.id),
        account_id: Set(row.account_id),
        mime_type: Set(row.mime_type),
        size: Set(row.size),
        sha256: Set(row.sha256),
        file_name: Set(row.file_name),
        created_at: Set(row.created_at),
        expires_at: Set(row.expires_at),
    }
    .insert(db)
    .await
}

/// The account's upload, while it has not expired.
pub async fn find_valid(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find_by_id(id.to_owned())
        .filter(upload::Column::AccountId.eq(account_id))
        .filter(upload::Column::ExpiresAt.gt(now_ms()))
        .one(db)
        .await
}

/// Deletes the account's upload record; whether there was one.
pub async fn delete(db: &DatabaseConnection, account_id: &str, id: &str) -> Result<bool, DbErr> {
    let result = upload::Entity::delete_many()
        .filter(upload::Column::Id.eq(id))
        .filter(upload::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Up to `limit` expired uploads' ids (their files are deleted first, then
/// these records).
pub async fn expired(db: &DatabaseConnection, limit: u64) -> Result<Vec<String>, DbErr> {
    upload::Entity::find()
        .select_only()
        .column(upload::Column::Id)
        .filter(upload::Column::ExpiresAt.lte(now_ms()))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

pub async fn delete_ids(db: &DatabaseConnection, ids: &[String]) -> Result<(), DbErr> {
    upload::Entity::delete_many()
        .filter(upload::Column::Id.is_in(ids.iter().map(String::as_str)))
        .exec(db)
        .await?;
    Ok(())
}
