use sea_orm::entity::prelude::*;

/// One delivery attempt: a POST of one event to a webhook, and its answer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    /// Insertion order: newest first in listings, and the page token.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// dlv_...
    pub id: String,
    pub webhook_id: String,
    /// The event's id (the webhook-id header).
    pub event_id: String,
    pub event: String,
    /// From 1, per event and webhook.
    pub attempt: i32,
    /// Asked for with RedeliverEvent.
    pub redelivery: bool,
    /// 0 when there was no answer.
    pub response_status_code: i32,
    /// The start of the answer's body (at most 1 KiB).
    pub response_body: String,
    pub response_duration_ms: i64,
    /// What went wrong without an HTTP answer, or with a non-2xx one.
    pub error: Option<String>,
    pub attempted_at: i64,
    /// When this event is tried again, if it is.
    pub next_attempt_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
