use sea_orm_migration::{prelude::*, schema::*};

/// A phone's answer to calls: decline them itself, and the text it then
/// sends the caller.
pub(super) struct M0016Calls;

#[derive(DeriveIden)]
enum Phones {
    Table,
    RejectCalls,
    CallReply,
}

impl MigrationName for M0016Calls {
    fn name(&self) -> &str {
        "m0016_calls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0016Calls {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            boolean(Phones::RejectCalls).default(false).to_owned(),
            text_null(Phones::CallReply),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Phones::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Phones::RejectCalls, Phones::CallReply] {
            m.alter_table(
                Table::alter()
                    .table(Phones::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
