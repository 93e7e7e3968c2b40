use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// Edits and deletions for everyone: when a message was last edited (its
/// earlier texts kept, a JSON array), and when it was revoked (its content
/// then removed).
pub(super) struct M0012Edits;

#[derive(DeriveIden)]
enum Column {
    EditedAt,
    EarlierTexts,
    RevokedAt,
}

impl MigrationName for M0012Edits {
    fn name(&self) -> &str {
        "m0012_edits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0012Edits {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            big_integer_null(Column::EditedAt),
            text_null(Column::EarlierTexts),
            big_integer_null(Column::RevokedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Column::EditedAt, Column::EarlierTexts, Column::RevokedAt] {
            m.alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
