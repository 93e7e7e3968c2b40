use sea_orm_migration::{prelude::*, schema::*};

/// The participants a trial phone's group messages reached: the trial cap
/// counts each of them, like a number messaged on its own.
pub(super) struct M0017GroupRecipients;

#[derive(DeriveIden)]
pub(crate) enum GroupRecipients {
    Table,
    PhoneId,
    Number,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Phones {
    Table,
    Id,
}

impl MigrationName for M0017GroupRecipients {
    fn name(&self) -> &str {
        "m0017_group_recipients"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0017GroupRecipients {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(GroupRecipients::Table)
                .col(string(GroupRecipients::PhoneId))
                .col(string(GroupRecipients::Number))
                .col(big_integer(GroupRecipients::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(GroupRecipients::PhoneId)
                        .col(GroupRecipients::Number),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(GroupRecipients::Table, GroupRecipients::PhoneId)
                        .to(Phones::Table, Phones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(GroupRecipients::Table).to_owned())
            .await
    }
}
