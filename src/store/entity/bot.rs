use sea_orm::entity::prelude::*;

/// A phone's AI auto-reply bot and where its reading of the event log stands.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bots")]
pub struct Model {
    /// One bot per phone.
    #[sea_orm(primary_key, auto_increment = false)]
    pub phone_id: String,
    pub account_id: String,
    /// gemini or openai.
    pub provider: String,
    pub model: String,
    /// The provider's api key, AES-256-GCM encrypted with a key derived from
    /// the server secret (see bot::crypto). Never logged: this type's Debug
    /// hides it.
    #[sea_orm(column_type = "Text")]
    pub api_key_enc: String,
    /// The api key's last four characters, what GetBot shows.
    pub api_key_hint: String,
    #[sea_orm(column_type = "Text")]
    pub system_prompt: String,
    pub enabled: bool,
    /// Every message.received event of the phone up to this cursor is done
    /// with: answered, or not for the bot.
    pub last_cursor: i64,
    /// The last provider (or sending) failure, until a reply works again.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub last_reply_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("phone_id", &self.phone_id)
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("api_key", &"<hidden>")
            .field("enabled", &self.enabled)
            .field("last_cursor", &self.last_cursor)
            .field("last_error", &self.last_error)
            .field("last_reply_at", &self.last_reply_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
