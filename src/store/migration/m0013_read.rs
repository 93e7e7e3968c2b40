use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// When a received message was marked read (its read receipt sent), for
/// the chats' unread counts.
pub(super) struct M0013Read;

#[derive(DeriveIden)]
enum Column {
    ReadAt,
}

impl MigrationName for M0013Read {
    fn name(&self) -> &str {
        "m0013_read"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0013Read {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .add_column(big_integer_null(Column::ReadAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .drop_column(Column::ReadAt)
                .to_owned(),
        )
        .await
    }
}
