use sea_orm_migration::{prelude::*, schema::*};

use super::m0003_messages::Messages;

/// Media on messages: caption, file name, type, size, hash, and the upload
/// reference an outbound media message is sent with.
pub(super) struct M0004Media;

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
