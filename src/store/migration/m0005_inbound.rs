use sea_orm_migration::{prelude::*, schema::*};

use super::m0002_events::Events;
use super::m0003_messages::Messages;

/// Inbound messages: the group they were written in, the sender's LID when
/// WhatsApp gave one, the sender's display name, WhatsApp's own timestamp;
/// events found by id.
pub(super) struct M0005Inbound;

impl MigrationName for M0005Inbound {
    fn name(&self) -> &str {
        "m0005_inbound"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005Inbound {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            string_null(Messages::Chat),
            string_null(Messages::SenderLid),
            text_null(Messages::PushName),
            big_integer_null(Messages::SentAt),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // A redelivered inbound message is recognised by the database.
        m.create_index(
            Index::create()
                .name("idx_messages_unique_wa")
                .table(Messages::Table)
                .col(Messages::PhoneId)
                .col(Messages::Direction)
                .col(Messages::Peer)
                .col(Messages::WaId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_id")
                .table(Events::Table)
                .col(Events::Id)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_events_id")
                .table(Events::Table)
                .to_owned(),
        )
        .await?;
        for col in [
            Messages::Chat,
            Messages::SenderLid,
            Messages::PushName,
            Messages::SentAt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
