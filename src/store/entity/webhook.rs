use sea_orm::entity::prelude::*;

/// A phone's webhook and where its delivery stands.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// wh_...
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// At most one webhook per phone.
    #[sea_orm(unique)]
    pub phone_id: String,
    pub url: String,
    /// JSON array of event names; empty array for all.
    pub events: String,
    /// whsec_...: stored as given out, since it must sign (see
    /// docs/operations.md on why it is not encrypted). Never logged: this
    /// type's Debug hides it.
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Every event of the phone up to this cursor is done with: delivered,
    /// or filtered out.
    pub last_cursor: i64,
    /// Failed attempts on the next event so far.
    pub attempts: i32,
    /// When the next event may be tried again (None: now).
    pub next_attempt_at: Option<i64>,
    /// Start of the current run of failures (None: the last attempt worked).
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("phone_id", &self.phone_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<hidden>")
            .field("enabled", &self.enabled)
            .field("last_cursor", &self.last_cursor)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("failing_since", &self.failing_since)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
