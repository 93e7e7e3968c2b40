use sea_orm::entity::prelude::*;

pub use super::vocab::TokenRights;

/// An API token's record. The JWT itself is never stored: only its id, so
/// revocation takes effect at once and a database leak yields no tokens.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// What the token may do.
    pub rights: TokenRights,
    /// The phones it may reach, a JSON array of ids; NULL means all.
    pub phone_ids: Option<String>,
    /// Written at most once a minute per token.
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
