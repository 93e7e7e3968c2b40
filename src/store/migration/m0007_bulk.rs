use sea_orm_migration::{prelude::*, schema::*};

use super::m0001_spine::Phones;
use super::m0003_messages::Messages;

#[derive(DeriveIden)]
pub(super) enum Bulks {
    Table,
    Id,
    AccountId,
    PhoneId,
    Status,
    Message,
    DelayMs,
    Total,
    Source,
    SheetId,
    PauseKind,
    PausedReason,
    Failures,
    LastSentAt,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
pub(super) enum BulkRecipients {
    Table,
    BulkId,
    Seq,
    Number,
    Text,
    Row,
    Status,
    MessageId,
}

/// Bulk campaigns and one row per recipient; messages remember where they
/// came from (api, bulk, bot) and their campaign.
pub(super) struct M0007Bulk;

impl MigrationName for M0007Bulk {
    fn name(&self) -> &str {
        "m0007_bulk"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0007Bulk {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Bulks::Table)
                .col(string(Bulks::Id).primary_key())
                .col(string(Bulks::AccountId))
                .col(string(Bulks::PhoneId))
                .col(string(Bulks::Status))
                .col(text(Bulks::Message))
                .col(big_integer_null(Bulks::DelayMs))
                .col(big_integer(Bulks::Total))
                .col(string(Bulks::Source))
                .col(string_null(Bulks::SheetId))
                .col(string_null(Bulks::PauseKind))
                .col(text_null(Bulks::PausedReason))
                .col(integer(Bulks::Failures))
                .col(big_integer_null(Bulks::LastSentAt))
                .col(big_integer(Bulks::CreatedAt))
                .col(big_integer(Bulks::UpdatedAt))
                .col(big_integer_null(Bulks::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Bulks::Table, Bulks::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bulks_phone_status")
                .table(Bulks::Table)
                .col(Bulks::PhoneId)
                .col(Bulks::Status)
                .col(Bulks::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bulks_account_created")
                .table(Bulks::Table)
                .col(Bulks::AccountId)
                .col(Bulks::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BulkRecipients::Table)
                .col(string(BulkRecipients::BulkId))
                .col(integer(BulkRecipients::Seq))
                .col(string(BulkRecipients::Number))
                .col(text_null(BulkRecipients::Text))
                .col(integer_null(BulkRecipients::Row))
                .col(string(BulkRecipients::Status))
                .col(string_null(BulkRecipients::MessageId))
                .primary_key(
                    Index::create()
                        .col(BulkRecipients::BulkId)
                        .col(BulkRecipients::Seq),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(BulkRecipients::Table, BulkRecipients::BulkId)
                        .to(Bulks::Table, Bulks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The worker's "next recipient" and the counts by state.
        m.create_index(
            Index::create()
                .name("idx_bulk_recipients_status")
                .table(BulkRecipients::Table)
                .col(BulkRecipients::BulkId)
                .col(BulkRecipients::Status)
                .col(BulkRecipients::Seq)
                .to_owned(),
        )
        .await?;
        for col in [string_null(Messages::Source), string_null(Messages::BulkId)] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("idx_messages_bulk")
                .table(Messages::Table)
                .col(Messages::BulkId)
                .col(Messages::Status)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_messages_bulk")
                .table(Messages::Table)
                .to_owned(),
        )
        .await?;
        for col in [Messages::Source, Messages::BulkId] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(BulkRecipients::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Bulks::Table).to_owned())
            .await
    }
}
