use sea_orm_migration::{prelude::*, schema::*};

/// Each group participant's receipt of a message a phone sent to a group.
pub(super) struct M0018Receipts;

#[derive(DeriveIden)]
pub(crate) enum MessageReceipts {
    Table,
    PhoneId,
    WaId,
    Number,
    /// `delivered` or `read`.
    Status,
    At,
}

#[derive(DeriveIden)]
enum Phones {
    Table,
    Id,
}

impl MigrationName for M0018Receipts {
    fn name(&self) -> &str {
        "m0018_receipts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0018Receipts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(MessageReceipts::Table)
                .col(string(MessageReceipts::PhoneId))
                .col(string(MessageReceipts::WaId))
                .col(string(MessageReceipts::Number))
                .col(string(MessageReceipts::Status))
                .col(big_integer(MessageReceipts::At))
                .primary_key(
                    Index::create()
                        .col(MessageReceipts::PhoneId)
                        .col(MessageReceipts::WaId)
                        .col(MessageReceipts::Number),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(MessageReceipts::Table, MessageReceipts::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MessageReceipts::Table).to_owned())
            .await
    }
}
