use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
pub(super) enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum Tokens {
    Table,
    Id,
    AccountId,
    Name,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub(super) enum Phones {
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
pub(super) struct M0001Spine;

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
