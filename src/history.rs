//! A phone's messages as its owner reads them: one by its WhatsApp id, or a
//! page of them newest first, by direction and chat.

use sea_orm::DatabaseConnection;

use crate::{
    error::{Error, Result},
    store::{
        self,
        entity::{message, phone},
        messages::ListFilter,
    },
};

/// One message of the phone by its WhatsApp message id, or 404.
pub(crate) async fn find(
    db: &DatabaseConnection,
    phone: &phone::Model,
    message_id: &str,
) -> Result<message::Model> {
    let message_id = message_id.trim();
    store::messages::find_by_wa_id(db, &phone.id, message_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("message {message_id} not found")))
}

/// A page of the phone's messages, newest first.
pub(crate) async fn list(
    db: &DatabaseConnection,
    phone: &phone::Model,
    filter: ListFilter<'_>,
    limit: u64,
) -> Result<Vec<message::Model>> {
    Ok(store::messages::list(db, &phone.id, filter, limit).await?)
}
