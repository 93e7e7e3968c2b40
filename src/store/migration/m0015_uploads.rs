use sea_orm_migration::{prelude::*, schema::*};

/// Files uploaded to send later (`POST /api/media`).
pub(super) struct M0015Uploads;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    AccountId,
    MimeType,
    Size,
    Sha256,
    FileName,
    CreatedAt,
    ExpiresAt,
}

impl MigrationName for M0015Uploads {
    fn name(&self) -> &str {
        "m0015_uploads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0015Uploads {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Uploads::Table)
                .col(string(Uploads::Id).primary_key())
                .col(string(Uploads::AccountId))
                .col(string(Uploads::MimeType))
                .col(big_integer(Uploads::Size))
                .col(string(Uploads::Sha256))
                .col(string_null(Uploads::FileName))
                .col(big_integer(Uploads::CreatedAt))
                .col(big_integer(Uploads::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_uploads_expires")
                .table(Uploads::Table)
                .col(Uploads::ExpiresAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Uploads::Table).to_owned())
            .await
    }
}
