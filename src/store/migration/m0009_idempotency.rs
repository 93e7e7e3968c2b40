use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// What an idempotency key was first used for (a digest of the request), so
/// a key reused for a different request is refused instead of replayed.
pub(super) struct M0009Idempotency;

#[derive(DeriveIden)]
enum Column {
    IdempotencyRequest,
}

impl MigrationName for M0009Idempotency {
    fn name(&self) -> &str {
        "m0009_idempotency"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009Idempotency {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .add_column(string_null(Column::IdempotencyRequest))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .drop_column(Column::IdempotencyRequest)
                .to_owned(),
        )
        .await
    }
}
