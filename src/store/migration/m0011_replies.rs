use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// Replies and mentions: the message a message quotes (its WhatsApp id),
/// the numbers it mentions, and, for outbound ones, the WhatsApp context
/// built when the request was accepted (so the outbox needs no lookup).
pub(super) struct M0011Replies;

#[derive(DeriveIden)]
enum Column {
    ReplyTo,
    Mentions,
    Context,
}

impl MigrationName for M0011Replies {
    fn name(&self) -> &str {
        "m0011_replies"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0011Replies {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_null(Column::ReplyTo),
            text_null(Column::Mentions),
            text_null(Column::Context),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Column::ReplyTo, Column::Mentions, Column::Context] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
