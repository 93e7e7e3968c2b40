use sea_orm::entity::prelude::*;

/// An event queued for one more attempt by RedeliverEvent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_redeliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
