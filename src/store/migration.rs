//! Portable migrations (SQLite and PostgreSQL), run at start-up and by
//! `wadesk migrate`. Never edit a migration that has shipped: add one.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all: Vec<Box<dyn MigrationTrait>> = vec![Box::new(M0001Spine), Box::new(M0002Events)];
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
        m.drop_table(Table::drop().table(Events::Table).to_owned()).await
    }
}
