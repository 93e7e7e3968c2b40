use sea_orm_migration::{prelude::*, schema::*};

use super::m0001_spine::Phones;
use super::m0003_messages::Messages;

#[derive(DeriveIden)]
pub(super) enum Bots {
    Table,
    PhoneId,
    AccountId,
    Provider,
    Model,
    ApiKeyEnc,
    ApiKeyHint,
    SystemPrompt,
    Enabled,
    LastCursor,
    LastError,
    LastErrorAt,
    LastReplyAt,
    CreatedAt,
    UpdatedAt,
}

/// The AI auto-reply bot of a phone (its api key encrypted), with its
/// cursor into the event log; a chat's recent messages found by peer.
pub(super) struct M0008Bot;

impl MigrationName for M0008Bot {
    fn name(&self) -> &str {
        "m0008_bot"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008Bot {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Bots::Table)
                .col(string(Bots::PhoneId).primary_key())
                .col(string(Bots::AccountId))
                .col(string(Bots::Provider))
                .col(string(Bots::Model))
                .col(text(Bots::ApiKeyEnc))
                .col(string(Bots::ApiKeyHint))
                .col(text(Bots::SystemPrompt))
                .col(boolean(Bots::Enabled))
                .col(big_integer(Bots::LastCursor))
                .col(text_null(Bots::LastError))
                .col(big_integer_null(Bots::LastErrorAt))
                .col(big_integer_null(Bots::LastReplyAt))
                .col(big_integer(Bots::CreatedAt))
                .col(big_integer(Bots::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Bots::Table, Bots::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The bot reads the last turns of one chat.
        m.create_index(
            Index::create()
                .name("idx_messages_phone_peer_created")
                .table(Messages::Table)
                .col(Messages::PhoneId)
                .col(Messages::Peer)
                .col(Messages::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_messages_phone_peer_created")
                .table(Messages::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Bots::Table).to_owned())
            .await
    }
}
