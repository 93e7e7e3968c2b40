use sea_orm_migration::{prelude::*, schema::*};

use super::m0001_spine::Phones;

#[derive(DeriveIden)]
pub(super) enum Messages {
    Table,
    Id,
    WaId,
    AccountId,
    PhoneId,
    Direction,
    Peer,
    Kind,
    Text,
    Lat,
    Lng,
    LocationName,
    Status,
    Reason,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
    Caption,
    FileName,
    MimeType,
    MediaSize,
    MediaSha256,
    MediaRef,
    Chat,
    SenderLid,
    PushName,
    SentAt,
    Source,
    BulkId,
}

/// Messages: the outbox and the inbound store.
pub(super) struct M0003Messages;

impl MigrationName for M0003Messages {
    fn name(&self) -> &str {
        "m0003_messages"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Messages {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(string(Messages::Id).primary_key())
                .col(string(Messages::WaId))
                .col(string(Messages::AccountId))
                .col(string(Messages::PhoneId))
                .col(string(Messages::Direction))
                .col(string(Messages::Peer))
                .col(string(Messages::Kind))
                .col(text_null(Messages::Text))
                .col(double_null(Messages::Lat))
                .col(double_null(Messages::Lng))
                .col(text_null(Messages::LocationName))
                .col(string(Messages::Status))
                .col(text_null(Messages::Reason))
                .col(string_null(Messages::IdempotencyKey))
                .col(big_integer(Messages::CreatedAt))
                .col(big_integer(Messages::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Messages::Table, Messages::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_messages_phone_wa",
                vec![Messages::PhoneId, Messages::WaId],
            ),
            (
                "idx_messages_phone_status",
                vec![Messages::PhoneId, Messages::Status, Messages::CreatedAt],
            ),
            (
                "idx_messages_phone_peer",
                vec![Messages::PhoneId, Messages::Direction, Messages::Peer],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Messages::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        // A retried request with the same key finds the first message.
        m.create_index(
            Index::create()
                .name("idx_messages_idempotency")
                .table(Messages::Table)
                .col(Messages::AccountId)
                .col(Messages::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }
}
