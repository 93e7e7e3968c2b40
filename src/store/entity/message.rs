use sea_orm::entity::prelude::*;

use super::vocab::{Direction, MessageKind, MessageStatus, Source};

/// A message, outbound (the outbox) or inbound.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Our row id (msg_...).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The WhatsApp message id, chosen before sending so a retry after a
    /// crash reuses it.
    pub wa_id: String,
    pub account_id: String,
    pub phone_id: String,
    pub direction: Direction,
    /// The other party, digits with country code.
    pub peer: String,
    pub kind: MessageKind,
    pub text: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub location_name: Option<String>,
    pub status: MessageStatus,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Media caption (image, video, document).
    pub caption: Option<String>,
    /// Document file name.
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub media_size: Option<i64>,
    /// Hex SHA-256 of the media plaintext.
    pub media_sha256: Option<String>,
    /// Outbound media: the WhatsApp message built from the upload
    /// (protobuf, base64; see media::encode).
    #[sea_orm(column_type = "Text", nullable)]
    pub media_ref: Option<String>,
    /// Inbound group messages: the group's id.
    pub chat: Option<String>,
    /// Inbound: the sender's LID, when WhatsApp addressed it by one.
    pub sender_lid: Option<String>,
    /// Inbound: the sender's display name.
    pub push_name: Option<String>,
    /// Inbound: when the sender sent it, by WhatsApp's clock (ms).
    pub sent_at: Option<i64>,
    /// Outbound: who asked for it (null in rows from before the column:
    /// those are API sends).
    pub source: Option<Source>,
    /// Outbound from a campaign: its id (bk_...).
    pub bulk_id: Option<String>,
    /// Outbound with an idempotency key: the hex SHA-256 of the request it
    /// came with (null in rows from before the column).
    pub idempotency_request: Option<String>,
    /// The WhatsApp id of the message this one quotes (a reply).
    pub reply_to: Option<String>,
    /// The numbers it mentions, a JSON array of digits.
    #[sea_orm(column_type = "Text", nullable)]
    pub mentions: Option<String>,
    /// Outbound replies and mentions: WhatsApp's ContextInfo, built when
    /// the request was accepted (protobuf, base64; see media::encode_context).
    #[sea_orm(column_type = "Text", nullable)]
    pub context: Option<String>,
    /// When it was last edited (ms).
    pub edited_at: Option<i64>,
    /// Its texts before each edit, oldest first (a JSON array).
    #[sea_orm(column_type = "Text", nullable)]
    pub earlier_texts: Option<String>,
    /// When it was deleted for everyone (ms); its content is then removed.
    pub revoked_at: Option<i64>,
    /// Received: when this phone marked it read (sent its read receipt).
    pub read_at: Option<i64>,
    /// What the kind carries beyond the columns above, JSON (see
    /// [`crate::details::Details`]).
    #[sea_orm(column_type = "Text", nullable)]
    pub details: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
