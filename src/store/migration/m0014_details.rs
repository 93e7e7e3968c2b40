use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// What a kind carries beyond the common columns (contact cards, a poll's
/// question and options, a vote's choices, a voice note's duration, the
/// forwarded flag), as JSON; and an index to find the changes (votes,
/// reactions, edits) that name a message.
pub(super) struct M0014Details;

#[derive(DeriveIden)]
enum Column {
    Details,
    PhoneId,
    ReplyTo,
}

impl MigrationName for M0014Details {
    fn name(&self) -> &str {
        "m0014_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0014Details {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .add_column(text_null(Column::Details))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_messages_phone_reply_to")
                .table(Messages::Table)
                .col(Column::PhoneId)
                .col(Column::ReplyTo)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_messages_phone_reply_to")
                .table(Messages::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .drop_column(Column::Details)
                .to_owned(),
        )
        .await
    }
}
