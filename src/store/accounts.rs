use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{entity::account, new_id, now_ms};

/// A new account; `email` (already normalised) and `password_hash` are
/// optional (an account made for API tokens only has neither).
pub async fn create(db: &DatabaseConnection, name: &str) -> Result<account::Model, DbErr> {
    create_with_login(db, name, None, None).await
}

pub async fn create_with_login(
    db: &DatabaseConnection,
    name: &str,
    email: Option<&str>,
    password_hash: Option<String>,
) -> Result<account::Model, DbErr> {
    account::ActiveModel {
        id: Set(new_id("acc")),
        name: Set(name.to_owned()),
        created_at: Set(now_ms()),
        email: Set(email.map(str::to_owned)),
        password_hash: Set(password_hash),
    }
    .insert(db)
    .await
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id.to_owned()).one(db).await
}

/// The account with this (normalised) email.
pub async fn find_by_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(db)
        .await
}

/// Sets the account's email (None keeps it) and password hash; false when
/// there is no such account.
pub async fn set_login(
    db: &DatabaseConnection,
    id: &str,
    email: Option<&str>,
    password_hash: String,
) -> Result<bool, DbErr> {
    let mut update = account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, password_hash.into())
        .filter(account::Column::Id.eq(id));
    if let Some(email) = email {
        update = update.col_expr(account::Column::Email, email.into());
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}
