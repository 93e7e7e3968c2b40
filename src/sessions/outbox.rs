//! Turning an outbox row into a WhatsApp message and sending it.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use whatsapp_rust::{
    Client, Jid,
    prelude::SendOptions,
    waproto::{buffa::MessageField, whatsapp as wa},
};

use crate::{
    media,
    store::entity::{message, vocab::MessageKind},
};

/// Why WhatsApp did not take a message. The message is stored `failed`
/// with this reason (its `Display`); each has its documented answer
/// (docs/api.md, "What a send answers").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// WhatsApp says the number has no account.
    #[error("{0} is not on WhatsApp")]
    NotOnWhatsApp(String),
    /// The number cannot be addressed at all.
    #[error("invalid recipient {0}")]
    InvalidRecipient(String),
    /// WhatsApp (or the connection to it) refused or dropped the send.
    #[error("send failed: {0}")]
    Transport(String),
    /// The stored message cannot be turned into a WhatsApp message.
    #[error("{0}")]
    Unbuildable(String),
}

/// How long a number found on WhatsApp is trusted without asking again.
const KNOWN_FOR: Duration = Duration::from_secs(3600);

/// Numbers this session recently found on WhatsApp: a message to one of
/// them skips the lookup round trip before sending.
#[derive(Default)]
pub(super) struct Registered(HashMap<String, Instant>);

impl Registered {
    fn knows(&mut self, peer: &str) -> bool {
        match self.0.get(peer) {
            Some(at) if at.elapsed() < KNOWN_FOR => true,
            Some(_) => {
                self.0.remove(peer);
                false
            }
            None => false,
        }
    }

    fn found(&mut self, peer: &str) {
        if self.0.len() >= 100_000 {
            self.0.retain(|_, at| at.elapsed() < KNOWN_FOR);
        }
        self.0.insert(peer.to_owned(), Instant::now());
    }
}

/// Sends one message with its pre-chosen id. A number not known to be on
/// WhatsApp is looked up first, so that "not on WhatsApp" is said plainly.
pub(super) async fn send(
    client: &Arc<Client>,
    registered: &mut Registered,
    row: &message::Model,
) -> Result<(), SendFailure> {
    let group = row.peer.ends_with("@g.us");
    let address = if group {
        row.peer.clone()
    } else {
        format!("{}@s.whatsapp.net", row.peer)
    };
    let jid: Jid = address
        .parse()
        .map_err(|e| SendFailure::InvalidRecipient(format!("{}: {e:?}", row.peer)))?;
    if !group
        && !registered.knows(&row.peer)
        && let Ok(found) = client
            .contacts()
            .is_on_whatsapp(std::slice::from_ref(&jid))
            .await
    {
        if found.iter().all(|r| !r.is_registered) {
            return Err(SendFailure::NotOnWhatsApp(row.peer.clone()));
        }
        registered.found(&row.peer);
    }
    if let Some(sent) = send_change(client, jid.clone(), row).await {
        return sent;
    }
    let mut message = build(row).map_err(SendFailure::Unbuildable)?;
    if let Some(stored) = &row.context {
        let info = crate::context::decode(stored).map_err(SendFailure::Unbuildable)?;
        crate::context::attach(&mut message, info);
    }
    let options = SendOptions::default().with_message_id(row.wa_id.clone());
    client
        .send_message_with_options(jid, message, options)
        .await
        .map(|_| ())
        .map_err(|e| SendFailure::Transport(e.to_string()))
}

/// Edits and deletions for everyone go through whatsapp-rust's own paths
/// (they carry the stanza's `edit` attribute); None for other messages.
async fn send_change(
    client: &Arc<Client>,
    jid: Jid,
    row: &message::Model,
) -> Option<Result<(), SendFailure>> {
    let target = row.reply_to.clone().unwrap_or_default();
    let sent = match row.kind {
        MessageKind::Edit => {
            let text = wa::Message {
                conversation: row.text.clone(),
                ..Default::default()
            };
            // The edit's own id, chosen before sending like any message's.
            let mut options = whatsapp_rust::EditOptions::default();
            options.stanza_id = Some(row.wa_id.clone());
            client
                .edit_message_with_options(jid, target, text, options)
                .await
                .map(|_| ())
        }
        MessageKind::Revoke => {
            client
                .revoke_message(jid, target, whatsapp_rust::RevokeType::Sender)
                .await
        }
        _ => return None,
    };
    Some(sent.map_err(|e| SendFailure::Transport(e.to_string())))
}

fn build(row: &message::Model) -> Result<wa::Message, String> {
    match row.kind {
        // With a link preview, the extended text built when it was accepted.
        MessageKind::Text => match row.media_ref.as_deref() {
            Some(stored) => media::decode(stored),
            None => Ok(wa::Message {
                conversation: row.text.clone(),
                ..Default::default()
            }),
        },
        MessageKind::Location => Ok(wa::Message {
            location_message: MessageField::some(wa::message::LocationMessage {
                degrees_latitude: row.lat,
                degrees_longitude: row.lng,
                name: row.location_name.clone().filter(|n| !n.is_empty()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        MessageKind::Edit | MessageKind::Revoke | MessageKind::PollVote | MessageKind::Other => {
            Err(format!("unsupported message kind {}", row.kind.as_str()))
        }
        // Every other kind was built when the request was accepted (a
        // reaction, contact cards, a poll with its secret) or when its
        // file was uploaded (media, stickers, voice notes).
        kind => media::decode(
            row.media_ref
                .as_deref()
                .ok_or_else(|| format!("{} message without its WhatsApp message", kind.as_str()))?,
        ),
    }
}
