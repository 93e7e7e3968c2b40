use sea_orm_migration::{prelude::*, schema::*};

use super::m0001_spine::Phones;
use super::m0002_events::Events;

#[derive(DeriveIden)]
pub(super) enum Webhooks {
    Table,
    Id,
    AccountId,
    PhoneId,
    Url,
    Events,
    Secret,
    Enabled,
    DisabledReason,
    LastCursor,
    Attempts,
    NextAttemptAt,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(super) enum WebhookAttempts {
    Table,
    Seq,
    Id,
    WebhookId,
    EventId,
    Event,
    Attempt,
    Redelivery,
    ResponseStatusCode,
    ResponseBody,
    ResponseDurationMs,
    Error,
    AttemptedAt,
    NextAttemptAt,
}

#[derive(DeriveIden)]
pub(super) enum WebhookRedeliveries {
    Table,
    Seq,
    WebhookId,
    EventId,
    CreatedAt,
}

/// Webhooks (one per phone, with its delivery cursor and retry state), their
/// delivery attempts, and queued redeliveries. Deleting a phone or a webhook
/// deletes what hangs off it.
pub(super) struct M0006Webhooks;

impl MigrationName for M0006Webhooks {
    fn name(&self) -> &str {
        "m0006_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0006Webhooks {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(string(Webhooks::Id).primary_key())
                .col(string(Webhooks::AccountId))
                .col(string_uniq(Webhooks::PhoneId))
                .col(text(Webhooks::Url))
                .col(text(Webhooks::Events))
                .col(string(Webhooks::Secret))
                .col(boolean(Webhooks::Enabled))
                .col(text_null(Webhooks::DisabledReason))
                .col(big_integer(Webhooks::LastCursor))
                .col(integer(Webhooks::Attempts))
                .col(big_integer_null(Webhooks::NextAttemptAt))
                .col(big_integer_null(Webhooks::FailingSince))
                .col(big_integer(Webhooks::CreatedAt))
                .col(big_integer(Webhooks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Webhooks::Table, Webhooks::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(big_pk_auto(WebhookAttempts::Seq))
                .col(string_uniq(WebhookAttempts::Id))
                .col(string(WebhookAttempts::WebhookId))
                .col(string(WebhookAttempts::EventId))
                .col(string(WebhookAttempts::Event))
                .col(integer(WebhookAttempts::Attempt))
                .col(boolean(WebhookAttempts::Redelivery))
                .col(integer(WebhookAttempts::ResponseStatusCode))
                .col(text(WebhookAttempts::ResponseBody))
                .col(big_integer(WebhookAttempts::ResponseDurationMs))
                .col(text_null(WebhookAttempts::Error))
                .col(big_integer(WebhookAttempts::AttemptedAt))
                .col(big_integer_null(WebhookAttempts::NextAttemptAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookAttempts::Table, WebhookAttempts::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_webhook_attempts_webhook",
                vec![WebhookAttempts::WebhookId, WebhookAttempts::Seq],
            ),
            (
                "idx_webhook_attempts_event",
                vec![WebhookAttempts::WebhookId, WebhookAttempts::EventId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookAttempts::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(WebhookRedeliveries::Table)
                .col(big_pk_auto(WebhookRedeliveries::Seq))
                .col(string(WebhookRedeliveries::WebhookId))
                .col(string(WebhookRedeliveries::EventId))
                .col(big_integer(WebhookRedeliveries::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookRedeliveries::Table, WebhookRedeliveries::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The worker looks up the events of one phone after a cursor.
        m.create_index(
            Index::create()
                .name("idx_events_phone")
                .table(Events::Table)
                .col(Events::PhoneId)
                .col(Events::Cursor)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_events_phone")
                .table(Events::Table)
                .to_owned(),
        )
        .await?;
        for table in [
            WebhookRedeliveries::Table.into_iden(),
            WebhookAttempts::Table.into_iden(),
            Webhooks::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
