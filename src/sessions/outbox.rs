//! Turning an outbox row into a WhatsApp message and sending it.

use std::sync::Arc;

use whatsapp_rust::{
    Client, Jid,
    prelude::SendOptions,
    waproto::{buffa::MessageField, whatsapp as wa},
};

use crate::{media, store::entity::message};

/// Sends one message with its pre-chosen id; the error is the reason to
/// record on the message.
pub async fn send(client: &Arc<Client>, row: &message::Model) -> Result<(), String> {
    let jid: Jid = format!("{}@s.whatsapp.net", row.peer)
        .parse()
        .map_err(|e| format!("invalid recipient {}: {e:?}", row.peer))?;
    if let Ok(found) = client
        .contacts()
        .is_on_whatsapp(std::slice::from_ref(&jid))
        .await
        && found.iter().all(|r| !r.is_registered)
    {
        return Err(format!("{} is not on WhatsApp", row.peer));
    }
    let message = build(row)?;
    let options = SendOptions::default().with_message_id(row.wa_id.clone());
    client
        .send_message_with_options(jid, message, options)
        .await
        .map(|_| ())
        .map_err(|e| format!("send failed: {e}"))
}

fn build(row: &message::Model) -> Result<wa::Message, String> {
    match row.kind.as_str() {
        "text" => Ok(wa::Message {
            conversation: row.text.clone(),
            ..Default::default()
        }),
        "location" => Ok(wa::Message {
            location_message: MessageField::some(wa::message::LocationMessage {
                degrees_latitude: row.lat,
                degrees_longitude: row.lng,
                name: row.location_name.clone().filter(|n| !n.is_empty()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        kind if media::Kind::from_name(kind).is_some() => media::decode(
            row.media_ref
                .as_deref()
                .ok_or("media message without its uploaded file")?,
        ),
        other => Err(format!("unsupported message kind {other}")),
    }
}
