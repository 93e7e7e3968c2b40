use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
pub(super) enum Events {
    Table,
    Cursor,
    Id,
    AccountId,
    PhoneId,
    Event,
    Payload,
    CreatedAt,
}

/// The append-only event log: phone.*, message.*, bulk.* events, read by
/// webhooks and streams through a monotonically increasing cursor.
pub(super) struct M0002Events;

impl MigrationName for M0002Events {
    fn name(&self) -> &str {
        "m0002_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Events {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Cursor))
                .col(string_uniq(Events::Id))
                .col(string(Events::AccountId))
                .col(string_null(Events::PhoneId))
                .col(string(Events::Event))
                .col(text(Events::Payload))
                .col(big_integer(Events::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_account_cursor")
                .table(Events::Table)
                .col(Events::AccountId)
                .col(Events::Cursor)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
