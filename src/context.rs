//! Replies and mentions: WhatsApp's `ContextInfo`, which a message carries
//! in its text or media part. Outbound, it is built when a send is accepted
//! (the quoted message is read then, so the outbox needs no lookup) and
//! stored with the message; inbound, the quoted id and the mentioned
//! numbers are read from it.

use whatsapp_rust::waproto::{buffa::MessageField, whatsapp as wa};

use crate::{
    error::{Error, Result},
    store::entity::{
        message,
        vocab::{Direction, MessageKind},
    },
};

/// What a send says besides its content: the message it answers and the
/// numbers it mentions (both already checked as values).
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The `message_id` (WhatsApp id) of a stored message of the chat.
    pub reply_to: Option<String>,
    /// Numbers, digits with country code.
    pub mentions: Vec<String>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        self.reply_to.is_none() && self.mentions.is_empty()
    }
}

fn jid(number: &str) -> String {
    format!("{number}@s.whatsapp.net")
}

/// The ContextInfo of a send: `quoted` is the stored message it answers
/// (checked to be of the same chat), `own_number` the sending phone's.
pub(crate) fn build(
    quoted: Option<&message::Model>,
    own_number: Option<&str>,
    mentions: &[String],
) -> wa::ContextInfo {
    let mut info = wa::ContextInfo {
        mentioned_jid: mentions.iter().map(|n| jid(n)).collect(),
        ..Default::default()
    };
    if let Some(quoted) = quoted {
        info.stanza_id = Some(quoted.wa_id.clone());
        // Who wrote the quoted message: the other party, or this phone.
        let author = match quoted.direction {
            Direction::Inbound => Some(quoted.peer.as_str()),
            Direction::Outbound => own_number,
        };
        info.participant = author.map(jid);
        info.quoted_message = MessageField::some(quoted_content(quoted));
    }
    info
}

/// What a quote shows of a stored message: its text, caption or place.
fn quoted_content(row: &message::Model) -> wa::Message {
    match row.kind {
        MessageKind::Location => wa::Message {
            location_message: MessageField::some(wa::message::LocationMessage {
                degrees_latitude: row.lat,
                degrees_longitude: row.lng,
                name: row.location_name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        // The media message itself when it is kept (a quote then shows its
        // thumbnail), else its caption as text.
        _ => row
            .media_ref
            .as_deref()
            .and_then(|stored| crate::media::decode(stored).ok())
            .map(|mut media| {
                use wacore::proto_helpers::MessageExt as _;
                // A poll's secret stays with the poll.
                media.message_context_info = MessageField::none();
                *media.prepare_for_quote()
            })
            .unwrap_or_else(|| wa::Message {
                conversation: row.text.clone().or_else(|| row.caption.clone()),
                ..Default::default()
            }),
    }
}

/// A change to a stored message, sent as a message of its own.
pub(crate) enum Change {
    /// An emoji (empty: take the reaction back).
    React(String),
    /// A new text.
    Edit(String),
    /// Delete for everyone.
    Revoke,
}

impl Change {
    /// The stored message the change is for (400 naming `message_id` with
    /// the reason when it cannot take it).
    pub(crate) async fn target(
        &self,
        db: &sea_orm::DatabaseConnection,
        phone: &crate::store::entity::phone::Model,
        id: &str,
    ) -> Result<message::Model> {
        match self {
            Change::React(_) => reaction_target(db, phone, id).await,
            Change::Edit(_) => own_target(db, phone, id, true).await,
            Change::Revoke => own_target(db, phone, id, false).await,
        }
    }

    /// The change as the outbox sends it.
    pub(crate) fn body(&self, target: &message::Model) -> crate::store::messages::Body {
        match self {
            Change::React(emoji) => reaction(target, emoji),
            Change::Edit(text) => edit(target, text),
            Change::Revoke => revoke(target),
        }
    }
}

/// The message a forward sends on: a stored message of the phone (sent or
/// received) with content to send (400 naming `message_id` otherwise).
pub(crate) async fn forward_source(
    db: &sea_orm::DatabaseConnection,
    phone: &crate::store::entity::phone::Model,
    id: &str,
) -> Result<message::Model> {
    let row = crate::store::messages::find_by_wa_id(db, &phone.id, id)
        .await?
        .ok_or_else(|| Error::invalid("message_id", format!("no message {id} on this phone")))?;
    let why = if row.revoked_at.is_some() {
        Some("was deleted for everyone".to_owned())
    } else if row.kind.is_change() {
        Some(format!("is a {}, not a message", row.kind.as_str()))
    } else if row.kind == MessageKind::Poll {
        Some("is a poll: WhatsApp does not forward polls, send a new one".to_owned())
    } else if row.kind == MessageKind::Other {
        Some("is of a type the gateway does not describe".to_owned())
    } else if !matches!(row.kind, MessageKind::Text | MessageKind::Location)
        && row.media_ref.is_none()
    {
        Some("has no content kept to send on".to_owned())
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::invalid("message_id", format!("message {id} {why}"))),
        None => Ok(row),
    }
}

/// A forward of `source`: its content as it is now (an edited text's new
/// text, a file by its WhatsApp upload, not fetched again), marked
/// forwarded as WhatsApp marks it.
pub(crate) fn forward(source: &message::Model) -> crate::store::messages::Body {
    let mut details = crate::details::Details::of(source.details.as_deref());
    details.forwarded = true;
    details.vote = None;
    let info = wa::ContextInfo {
        is_forwarded: Some(true),
        forwarding_score: Some(1),
        ..Default::default()
    };
    crate::store::messages::Body {
        kind: source.kind,
        text: source.text.clone(),
        lat: source.lat,
        lng: source.lng,
        location_name: source.location_name.clone(),
        caption: source.caption.clone(),
        file_name: source.file_name.clone(),
        mime_type: source.mime_type.clone(),
        media_size: source.media_size,
        media_sha256: source.media_sha256.clone(),
        media_ref: source.media_ref.clone(),
        reply_to: None,
        mentions: None,
        context: Some(encode(&info)),
        details: details.stored(),
    }
}

/// How long after sending WhatsApp lets a text be edited.
pub(crate) const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The message an edit or a deletion for everyone is for: one this phone
/// sent (400 naming `message_id` with the reason otherwise). An edit needs
/// a text message within [`EDIT_WINDOW_MS`] of sending.
pub(crate) async fn own_target(
    db: &sea_orm::DatabaseConnection,
    phone: &crate::store::entity::phone::Model,
    id: &str,
    edit: bool,
) -> Result<message::Model> {
    let row = crate::store::messages::find_by_wa_id(db, &phone.id, id)
        .await?
        .filter(|row| row.chat.is_none())
        .ok_or_else(|| {
            Error::invalid(
                "message_id",
                format!("no message {id} in this phone's chats"),
            )
        })?;
    let why = if row.direction != Direction::Outbound {
        Some("is not one this phone sent: only your own messages can be edited or deleted for everyone".to_owned())
    } else if row.revoked_at.is_some() {
        Some("was deleted for everyone already".to_owned())
    } else if row.kind.is_change() {
        Some(format!("is a {}, not a message", row.kind.as_str()))
    } else if edit && row.kind != MessageKind::Text {
        Some(format!(
            "is a {} message: only text messages can be edited",
            row.kind.as_str()
        ))
    } else if edit && crate::store::now_ms() - row.created_at > EDIT_WINDOW_MS {
        Some(format!(
            "was sent {} minutes ago: WhatsApp allows edits for 15 minutes",
            (crate::store::now_ms() - row.created_at) / 60_000
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::invalid("message_id", format!("message {id} {why}"))),
        None => Ok(row),
    }
}

/// An edit of `target` as the outbox sends it (its new text; `reply_to`
/// names the message edited).
pub(crate) fn edit(target: &message::Model, text: &str) -> crate::store::messages::Body {
    crate::store::messages::Body {
        kind: MessageKind::Edit,
        text: Some(text.to_owned()),
        reply_to: Some(target.wa_id.clone()),
        ..Default::default()
    }
}

/// A deletion for everyone of `target`, as the outbox sends it.
pub(crate) fn revoke(target: &message::Model) -> crate::store::messages::Body {
    crate::store::messages::Body {
        kind: MessageKind::Revoke,
        reply_to: Some(target.wa_id.clone()),
        ..Default::default()
    }
}

/// The message a reaction is for: a stored message of the phone's
/// one-to-one chats, not itself a reaction (400 naming `message_id`).
pub(crate) async fn reaction_target(
    db: &sea_orm::DatabaseConnection,
    phone: &crate::store::entity::phone::Model,
    id: &str,
) -> Result<message::Model> {
    crate::store::messages::find_by_wa_id(db, &phone.id, id)
        .await?
        .filter(|row| row.chat.is_none() && !row.kind.is_change())
        .ok_or_else(|| {
            Error::invalid(
                "message_id",
                format!("no message {id} in this phone's chats"),
            )
        })
}

/// A reaction to `target` (a stored message of a one-to-one chat) as the
/// outbox sends it: the WhatsApp message is built now, with the key of the
/// message reacted to, and kept like an uploaded media message.
pub(crate) fn reaction(target: &message::Model, emoji: &str) -> crate::store::messages::Body {
    let key = wa::MessageKey {
        remote_jid: Some(jid(&target.peer)),
        from_me: Some(target.direction == Direction::Outbound),
        id: Some(target.wa_id.clone()),
        ..Default::default()
    };
    let message = wacore::proto_helpers::build_reaction_message(key, emoji, crate::store::now_ms());
    crate::store::messages::Body {
        kind: MessageKind::Reaction,
        text: Some(emoji.to_owned()),
        reply_to: Some(target.wa_id.clone()),
        media_ref: Some(crate::media::encode(&message)),
        ..Default::default()
    }
}

/// Puts `info` on the part of `message` that carries it (whatsapp-rust's
/// own rule: a plain text becomes an extended text, as WhatsApp Web does).
pub(crate) fn attach(message: &mut wa::Message, info: wa::ContextInfo) {
    use wacore::proto_helpers::MessageExt as _;
    message.set_context_info(info);
}

/// The ContextInfo a received message carries, if any.
pub(crate) fn of(message: &wa::Message) -> Option<&wa::ContextInfo> {
    macro_rules! first {
        ($($field:ident),+) => {
            None$(.or_else(|| message.$field.as_option().and_then(|m| m.context_info.as_option())))+
        };
    }
    first!(
        extended_text_message,
        image_message,
        video_message,
        audio_message,
        document_message,
        sticker_message,
        location_message,
        contact_message,
        contacts_array_message,
        poll_creation_message,
        poll_creation_message_v2,
        poll_creation_message_v3
    )
}

/// The numbers a ContextInfo mentions (the user part of each jid).
pub(crate) fn mentioned(info: &wa::ContextInfo) -> Vec<String> {
    info.mentioned_jid
        .iter()
        .filter_map(|j| j.split('@').next())
        .map(|user| user.split(':').next().unwrap_or(user).to_owned())
        .filter(|user| !user.is_empty())
        .collect()
}

pub(crate) fn encode(info: &wa::ContextInfo) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use whatsapp_rust::waproto::buffa::Message as _;
    STANDARD.encode(info.encode_to_vec())
}

pub(crate) fn decode(stored: &str) -> std::result::Result<wa::ContextInfo, String> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use whatsapp_rust::waproto::buffa::Message as _;
    let bytes = STANDARD
        .decode(stored)
        .map_err(|e| format!("stored message context: {e}"))?;
    wa::ContextInfo::decode_from_slice(&bytes).map_err(|e| format!("stored message context: {e}"))
}

/// The quoted message, which must be a stored message of the same chat
/// (400 naming `reply_to` otherwise: its id is the caller's to fix).
pub(crate) fn check_quoted(
    quoted: Option<message::Model>,
    reply_to: &str,
    to: &str,
) -> Result<message::Model> {
    match quoted {
        Some(row) if row.peer == to && row.chat.is_none() => Ok(row),
        Some(_) => Err(Error::invalid(
            "reply_to",
            format!("message {reply_to} is not in the chat with {to}"),
        )),
        None => Err(Error::invalid(
            "reply_to",
            format!("no message {reply_to} on this phone"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_reply_becomes_an_extended_text_that_survives_storage() {
        let mut message = wa::Message {
            conversation: Some("hi @919876543210".into()),
            ..Default::default()
        };
        let info = wa::ContextInfo {
            stanza_id: Some("3EB0AA".into()),
            participant: Some(jid("919800000001")),
            mentioned_jid: vec![jid("919876543210")],
            ..Default::default()
        };
        let stored = decode(&encode(&info)).unwrap();
        attach(&mut message, stored);
        assert!(message.conversation.is_none());
        let found = of(&message).expect("context on the extended text");
        assert_eq!(found.stanza_id.as_deref(), Some("3EB0AA"));
        assert_eq!(mentioned(found), ["919876543210"]);
        assert_eq!(
            message
                .extended_text_message
                .as_option()
                .unwrap()
                .text
                .as_deref(),
            Some("hi @919876543210")
        );
    }
}
