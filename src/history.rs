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

/// The tallies of the polls among `rows`, by poll id: each option with
/// its voters, every voter's latest vote counting.
pub(crate) async fn tallies(
    db: &DatabaseConnection,
    phone: &phone::Model,
    rows: &[message::Model],
) -> Result<std::collections::HashMap<String, Vec<(String, Vec<String>)>>> {
    use crate::{details::Details, store::entity::vocab::MessageKind};
    let polls: Vec<(&message::Model, crate::details::PollSpec)> = rows
        .iter()
        .filter(|r| r.kind == MessageKind::Poll)
        .filter_map(|r| Details::of(r.details.as_deref()).poll.map(|p| (r, p)))
        .collect();
    if polls.is_empty() {
        return Ok(Default::default());
    }
    let ids: Vec<&str> = polls.iter().map(|(r, _)| r.wa_id.as_str()).collect();
    let votes = store::messages::votes_on(db, &phone.id, &ids).await?;
    Ok(polls
        .into_iter()
        .map(|(row, spec)| {
            let cast: Vec<(String, Vec<String>)> = votes
                .iter()
                .filter(|v| v.reply_to.as_deref() == Some(row.wa_id.as_str()))
                .filter_map(|v| Some((v.peer.clone(), Details::of(v.details.as_deref()).vote?)))
                .collect();
            (row.wa_id.clone(), crate::polls::tally(&spec, &cast))
        })
        .collect())
}
