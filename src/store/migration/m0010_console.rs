use sea_orm_migration::{prelude::*, schema::*};

use super::m0001_spine::{Accounts, Tokens};

/// The console: accounts sign in with an email and a password (argon2id
/// hashes), into server-side sessions; tokens get rights, a phone scope and
/// the time they were last used.
pub(super) struct M0010Console;

#[derive(DeriveIden)]
enum AccountColumn {
    Email,
    PasswordHash,
}

#[derive(DeriveIden)]
enum TokenColumn {
    Rights,
    PhoneIds,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    Id,
    AccountId,
    CreatedAt,
    ExpiresAt,
}

impl MigrationName for M0010Console {
    fn name(&self) -> &str {
        "m0010_console"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0010Console {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_null(AccountColumn::Email),
            text_null(AccountColumn::PasswordHash),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        // Several NULLs are allowed by a unique index on both databases.
        m.create_index(
            Index::create()
                .name("idx_accounts_email")
                .table(Accounts::Table)
                .col(AccountColumn::Email)
                .unique()
                .to_owned(),
        )
        .await?;
        for column in [
            string(TokenColumn::Rights).default("full").to_owned(),
            text_null(TokenColumn::PhoneIds),
            big_integer_null(TokenColumn::LastUsedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Tokens::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(ConsoleSessions::Table)
                .col(string(ConsoleSessions::Id).primary_key())
                .col(string(ConsoleSessions::AccountId))
                .col(big_integer(ConsoleSessions::CreatedAt))
                .col(big_integer(ConsoleSessions::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ConsoleSessions::Table, ConsoleSessions::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_console_sessions_account")
                .table(ConsoleSessions::Table)
                .col(ConsoleSessions::AccountId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ConsoleSessions::Table).to_owned())
            .await?;
        for column in [
            TokenColumn::Rights.into_iden(),
            TokenColumn::PhoneIds.into_iden(),
            TokenColumn::LastUsedAt.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Tokens::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(
            Index::drop()
                .name("idx_accounts_email")
                .table(Accounts::Table)
                .to_owned(),
        )
        .await?;
        for column in [
            AccountColumn::Email.into_iden(),
            AccountColumn::PasswordHash.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
