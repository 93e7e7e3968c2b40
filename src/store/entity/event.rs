use sea_orm::entity::prelude::*;

/// One entry of the append-only event log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// Monotonically increasing position in the log.
    #[sea_orm(primary_key)]
    pub cursor: i64,
    /// evt_...: stable across redeliveries (a webhook's webhook-id).
    pub id: String,
    pub account_id: String,
    pub phone_id: Option<String>,
    /// e.g. phone.connected, message.received.
    pub event: String,
    /// The JSON payload a webhook receives.
    pub payload: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
