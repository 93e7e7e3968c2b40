use sea_orm::entity::prelude::*;

use super::vocab::{BulkStatus, PauseKind};

/// A campaign: one message to many recipients, sent by the phone's worker.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulks")]
pub struct Model {
    /// bk_...
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub phone_id: String,
    pub status: BulkStatus,
    /// The template as given (placeholders are filled per recipient).
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// The gap between two messages; None: random between the configured
    /// bounds (2 to 5 s by default).
    pub delay_ms: Option<i64>,
    pub total: i64,
    /// numbers or sheet.
    pub source: String,
    pub sheet_id: Option<String>,
    /// Why it is paused.
    pub pause_kind: Option<PauseKind>,
    #[sea_orm(column_type = "Text", nullable)]
    pub paused_reason: Option<String>,
    /// Failed sends in a row.
    pub failures: i32,
    /// When its last message was handed to WhatsApp.
    pub last_sent_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
