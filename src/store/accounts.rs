use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, Set};

use super::{entity::account, new_id, now_ms};

pub async fn create(db: &DatabaseConnection, name: &str) -> Result<account::Model, DbErr> {
    account::ActiveModel {
        id: Set(new_id("acc")),
        name: Set(name.to_owned()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id.to_owned()).one(db).await
}
