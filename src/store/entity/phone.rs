use sea_orm::entity::prelude::*;

use super::vocab::{PhoneStatus, Plan};

/// A WhatsApp number linked (or to be linked) to the gateway.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "phones")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Digits with country code, once paired.
    pub number: Option<String>,
    pub status: PhoneStatus,
    pub plan: Plan,
    /// Why the phone is failed, disconnected or logged out.
    pub reason: Option<String>,
    pub last_seen: Option<i64>,
    pub ban_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Decline incoming calls as they ring.
    pub reject_calls: bool,
    /// Sent to a caller whose call was declined (none: nothing is sent).
    #[sea_orm(column_type = "Text", nullable)]
    pub call_reply: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
