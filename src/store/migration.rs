//! Portable migrations (SQLite and PostgreSQL), run at start-up and by
//! `wadesk migrate`. Never edit a migration that has shipped: add one.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> = vec![
            Box::new(M0001Spine),
            Box::new(M0002Events),
            Box::new(M0003Messages),
            Box::new(M0004Media),
            Box::new(M0005Inbound),
            Box::new(M0006Webhooks),
            Box::new(M0007Bulk),
            Box::new(M0008Bot),
        ];
        // whatsapp-rust's session keys, one database with everything else.
        all.extend(wadesk_wastore::migrations());
        all
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    AccountId,
    Name,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Phones {
    Table,
    Id,
    AccountId,
    Name,
    Number,
    Status,
    Plan,
    Reason,
    LastSeen,
    BanExpiresAt,
    CreatedAt,
    UpdatedAt,
}

/// Accounts, API tokens and phones.
struct M0001Spine;

impl MigrationName for M0001Spine {
    fn name(&self) -> &str {
        "m0001_spine"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Spine {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Accounts::Table)
                .col(string(Accounts::Id).primary_key())
                .col(string(Accounts::Name))
                .col(big_integer(Accounts::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tokens::Table)
                .col(string(Tokens::Id).primary_key())
                .col(string(Tokens::AccountId))
                .col(string(Tokens::Name))
                .col(big_integer(Tokens::CreatedAt))
                .col(big_integer_null(Tokens::ExpiresAt))
                .col(big_integer_null(Tokens::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Tokens::Table, Tokens::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Phones::Table)
                .col(string(Phones::Id).primary_key())
                .col(string(Phones::AccountId))
                .col(string(Phones::Name))
                .col(string_null(Phones::Number))
                .col(string(Phones::Status))
                .col(string(Phones::Plan))
                .col(text_null(Phones::Reason))
                .col(big_integer_null(Phones::LastSeen))
                .col(big_integer_null(Phones::BanExpiresAt))
                .col(big_integer(Phones::CreatedAt))
                .col(big_integer(Phones::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Phones::Table, Phones::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_phones_account")
                .table(Phones::Table)
                .col(Phones::AccountId)
                .col(Phones::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tokens_account")
                .table(Tokens::Table)
                .col(Tokens::AccountId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Phones::Table.into_iden(),
            Tokens::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Events {
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
struct M0002Events;

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

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    WaId,
    AccountId,
    PhoneId,
    Direction,
    Peer,
    Kind,
    Text,
    Lat,
    Lng,
    LocationName,
    Status,
    Reason,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
    Caption,
    FileName,
    MimeType,
    MediaSize,
    MediaSha256,
    MediaRef,
    Chat,
    SenderLid,
    PushName,
    SentAt,
    Source,
    BulkId,
}

/// Messages: the outbox and the inbound store.
struct M0003Messages;

impl MigrationName for M0003Messages {
    fn name(&self) -> &str {
        "m0003_messages"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Messages {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(string(Messages::Id).primary_key())
                .col(string(Messages::WaId))
                .col(string(Messages::AccountId))
                .col(string(Messages::PhoneId))
                .col(string(Messages::Direction))
                .col(string(Messages::Peer))
                .col(string(Messages::Kind))
                .col(text_null(Messages::Text))
                .col(double_null(Messages::Lat))
                .col(double_null(Messages::Lng))
                .col(text_null(Messages::LocationName))
                .col(string(Messages::Status))
                .col(text_null(Messages::Reason))
                .col(string_null(Messages::IdempotencyKey))
                .col(big_integer(Messages::CreatedAt))
                .col(big_integer(Messages::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Messages::Table, Messages::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_messages_phone_wa",
                vec![Messages::PhoneId, Messages::WaId],
            ),
            (
                "idx_messages_phone_status",
                vec![Messages::PhoneId, Messages::Status, Messages::CreatedAt],
            ),
            (
                "idx_messages_phone_peer",
                vec![Messages::PhoneId, Messages::Direction, Messages::Peer],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Messages::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        // A retried request with the same key finds the first message.
        m.create_index(
            Index::create()
                .name("idx_messages_idempotency")
                .table(Messages::Table)
                .col(Messages::AccountId)
                .col(Messages::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }
}

/// Media on messages: caption, file name, type, size, hash, and the upload
/// reference an outbound media message is sent with.
struct M0004Media;

impl MigrationName for M0004Media {
    fn name(&self) -> &str {
        "m0004_media"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004Media {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            text_null(Messages::Caption),
            text_null(Messages::FileName),
            string_null(Messages::MimeType),
            big_integer_null(Messages::MediaSize),
            string_null(Messages::MediaSha256),
            text_null(Messages::MediaRef),
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
        // ListMessages pages newest first.
        m.create_index(
            Index::create()
                .name("idx_messages_phone_created")
                .table(Messages::Table)
                .col(Messages::PhoneId)
                .col(Messages::CreatedAt)
                .col(Messages::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_messages_phone_created")
                .table(Messages::Table)
                .to_owned(),
        )
        .await?;
        for col in [
            Messages::Caption,
            Messages::FileName,
            Messages::MimeType,
            Messages::MediaSize,
            Messages::MediaSha256,
            Messages::MediaRef,
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

#[derive(DeriveIden)]
enum Webhooks {
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
enum WebhookAttempts {
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
enum WebhookRedeliveries {
    Table,
    Seq,
    WebhookId,
    EventId,
    CreatedAt,
}

/// Webhooks (one per phone, with its delivery cursor and retry state), their
/// delivery attempts, and queued redeliveries. Deleting a phone or a webhook
/// deletes what hangs off it.
struct M0006Webhooks;

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

/// Inbound messages: the group they were written in, the sender's LID when
/// WhatsApp gave one, the sender's display name, WhatsApp's own timestamp;
/// events found by id.
struct M0005Inbound;

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

#[derive(DeriveIden)]
enum Bulks {
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
enum BulkRecipients {
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
struct M0007Bulk;

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

#[derive(DeriveIden)]
enum Bots {
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
struct M0008Bot;

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
