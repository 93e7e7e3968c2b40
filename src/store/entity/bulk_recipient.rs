use sea_orm::entity::prelude::*;

use super::vocab::RecipientStatus;

/// One recipient of a campaign, in sending order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_recipients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bulk_id: String,
    /// Position in the campaign, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    /// Digits with country code.
    pub number: String,
    /// The text for this recipient when the template has placeholders
    /// (None: the template as is).
    #[sea_orm(column_type = "Text", nullable)]
    pub text: Option<String>,
    /// The sheet row it came from (1-based).
    pub row: Option<i32>,
    pub status: RecipientStatus,
    /// The outbox message (msg_...), once created.
    pub message_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::message::Entity",
        from = "Column::MessageId",
        to = "super::message::Column::Id"
    )]
    Message,
}

impl Related<super::message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
