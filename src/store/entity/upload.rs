use sea_orm::entity::prelude::*;

/// A file a caller uploaded to send later (`POST /api/media`): kept under
/// `data_dir/uploads/{id}` until it expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    /// md_...; the file's name on disk.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// From the content, never from the caller.
    pub mime_type: String,
    pub size: i64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// The name the caller gave (a document's default name).
    pub file_name: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
