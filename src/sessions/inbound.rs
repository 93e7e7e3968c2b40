//! Inbound messages are stored before WhatsApp is told we have them:
//! whatsapp-rust's inbound durability hook runs for each decrypted batch
//! and holds back the acknowledgements until this commit returns, so a
//! crash or a failed write means WhatsApp delivers the messages again
//! (buffered by the session store's pending-inbound table meanwhile).
//! Each message and its `message.received` event are written in one
//! transaction; replays are recognised by (phone, sender, id) through a
//! unique index and skipped.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;
use serde_json::json;
use whatsapp_rust::{
    Client, Jid, Server,
    types::durability_hook::{InboundDurabilityHook, InboundMessage},
    wacore::proto_helpers::MessageExt as _,
    waproto::whatsapp as wa,
};

use crate::{
    events::EventKind,
    media,
    store::{
        self,
        entity::vocab::{MessageKind, MessageStatus},
        events::{EventLog, NewEvent},
        messages::{Body, NewInbound},
        now_ms,
    },
};

/// The durability hook of one phone's session.
pub struct InboundStore {
    pub metrics: crate::metrics::Metrics,
    pub events: EventLog,
    pub phone_id: String,
    pub account_id: String,
}

/// What the store keeps of one inbound message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub wa_id: String,
    /// Sender, digits with country code (or the LID's digits when WhatsApp
    /// gave no phone number).
    pub from: String,
    pub sender_lid: Option<String>,
    /// The group, for group messages (the digits of its id).
    pub chat: Option<String>,
    /// The group's subject, for group messages (where WhatsApp said).
    pub group_subject: Option<String>,
    pub push_name: Option<String>,
    pub kind: MessageKind,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub media_size: Option<i64>,
    pub media_sha256: Option<String>,
    /// The media message itself, to download the file later.
    pub media_ref: Option<String>,
    pub location: Option<(f64, f64, Option<String>)>,
    pub timestamp_ms: i64,
    /// The message this one replies to (its WhatsApp id).
    pub reply_to: Option<String>,
    /// Numbers it mentions.
    pub mentions: Vec<String>,
    /// Contact cards, a poll, a vote's choices, a voice note's length,
    /// forwarded.
    pub details: crate::details::Details,
    /// A vote as it arrived, until it is opened.
    pub sealed_vote: Option<crate::polls::SealedVote>,
}

#[async_trait::async_trait]
impl InboundDurabilityHook for InboundStore {
    async fn on_messages(
        &self,
        client: Arc<Client>,
        batch: &[InboundMessage],
    ) -> anyhow::Result<()> {
        let mut parsed = Vec::with_capacity(batch.len());
        for item in batch {
            if let Some(mut p) = parse(item) {
                resolve_sender(&client, item, &mut p).await;
                if let Some(group) = &p.chat {
                    p.group_subject = crate::groups::Groups::subject(&client, group).await;
                }
                if p.sealed_vote.is_some() {
                    self.open_vote(&client, item, &mut p).await;
                }
                parsed.push(p);
            }
        }
        if parsed.is_empty() {
            return Ok(());
        }
        let (phone_id, account_id) = (self.phone_id.clone(), self.account_id.clone());
        let stored = self
            .events
            .append_in(move |txn| {
                Box::pin(async move { commit(txn, &account_id, &phone_id, parsed).await })
            })
            .await;
        match stored {
            Ok(kinds) => {
                if !kinds.is_empty() {
                    tracing::debug!(phone_id = %self.phone_id, stored = kinds.len(), "inbound messages stored");
                }
                for kind in kinds {
                    self.metrics.message(kind, None, MessageStatus::Received);
                }
                Ok(())
            }
            Err(err) => {
                // Not acknowledged: WhatsApp delivers the batch again.
                tracing::error!(phone_id = %self.phone_id, error = %err, "storing inbound messages");
                Err(err.into())
            }
        }
    }
}

impl InboundStore {
    /// A vote's choices, opened with the secret of the poll it names (a
    /// stored poll of this phone). One that cannot be opened is kept
    /// without choices and the reason logged: the vote is not lost.
    async fn open_vote(&self, client: &Client, item: &InboundMessage, p: &mut Parsed) {
        let Some(vote) = p.sealed_vote.take() else {
            return;
        };
        let poll = store::messages::find_by_wa_id(self.events.db(), &self.phone_id, &vote.poll_id)
            .await
            .ok()
            .flatten()
            .filter(|row| row.kind == MessageKind::Poll);
        let opened = match poll {
            None => Err(format!("no poll {} on this phone", vote.poll_id)),
            Some(row) => {
                let spec = crate::details::Details::of(row.details.as_deref()).poll;
                let secret = row.media_ref.as_deref().and_then(crate::polls::secret);
                // Who created the poll (this phone, or the other party) and
                // who voted, by phone number as the voter's phone keyed it
                // (whatsapp-rust retries under their LIDs).
                let creator = match row.direction {
                    crate::store::entity::vocab::Direction::Outbound => client.pn(),
                    crate::store::entity::vocab::Direction::Inbound => {
                        format!("{}@s.whatsapp.net", row.peer).parse().ok()
                    }
                };
                let voter: Jid = match format!("{}@s.whatsapp.net", p.from).parse() {
                    Ok(jid) => jid,
                    Err(_) => item.info.source.sender.clone(),
                };
                match (spec, secret, creator) {
                    (Some(spec), Some(secret), Some(creator)) => {
                        crate::polls::open(client, &vote, &spec, &secret, &creator, &voter).await
                    }
                    _ => Err(format!(
                        "poll {} has no secret to open votes with",
                        vote.poll_id
                    )),
                }
            }
        };
        match opened {
            Ok(options) => p.details.vote = Some(options),
            Err(why) => {
                tracing::warn!(phone_id = %self.phone_id, message_id = %p.wa_id, poll = %vote.poll_id, %why, "a poll vote could not be opened")
            }
        }
    }
}

/// Writes the new messages of a batch and their events; returns the kinds
/// of those that were new.
async fn commit(
    txn: &DatabaseTransaction,
    account_id: &str,
    phone_id: &str,
    batch: Vec<Parsed>,
) -> Result<Vec<MessageKind>, sea_orm::DbErr> {
    let mut stored = Vec::new();
    let received = now_ms();
    for (i, p) in batch.into_iter().enumerate() {
        let payload = payload(&p);
        let kind = p.kind;
        // What an edit or a deletion changes: the original's id and new text.
        let change = matches!(kind, MessageKind::Edit | MessageKind::Revoke)
            .then(|| {
                p.reply_to
                    .clone()
                    .map(|t| (t, p.text.clone().unwrap_or_default()))
            })
            .flatten();
        let (lat, lng, location_name) = match p.location {
            Some((lat, lng, name)) => (Some(lat), Some(lng), name),
            None => (None, None, None),
        };
        let new = NewInbound {
            account_id: account_id.to_owned(),
            phone_id: phone_id.to_owned(),
            wa_id: p.wa_id,
            peer: p.from,
            body: Body {
                kind: p.kind,
                text: p.text,
                lat,
                lng,
                location_name,
                caption: p.caption,
                file_name: p.file_name,
                mime_type: p.mime_type,
                media_size: p.media_size,
                media_sha256: p.media_sha256,
                media_ref: p.media_ref,
                reply_to: p.reply_to,
                mentions: (!p.mentions.is_empty())
                    .then(|| serde_json::to_string(&p.mentions).unwrap_or_default()),
                context: None,
                details: p.details.stored(),
            },
            chat: p.chat,
            sender_lid: p.sender_lid,
            push_name: p.push_name,
            sent_at: p.timestamp_ms,
            // Arrival order (a batch shares one clock reading): what
            // ListMessages sorts by. WhatsApp's own time is sent_at.
            created_at: received + i as i64,
        };
        if !store::messages::insert_inbound(txn, new).await? {
            continue;
        }
        if let Some((target, text)) = &change {
            match kind {
                MessageKind::Edit => {
                    store::messages::apply_edit(txn, phone_id, target, text, received).await?;
                }
                _ => {
                    store::messages::apply_revoke(txn, phone_id, target, received).await?;
                }
            }
        }
        store::events::insert(
            txn,
            NewEvent {
                account_id,
                phone_id: Some(phone_id),
                kind: match kind {
                    MessageKind::Reaction => EventKind::MessageReaction,
                    MessageKind::Edit => EventKind::MessageEdited,
                    MessageKind::Revoke => EventKind::MessageRevoked,
                    MessageKind::PollVote => EventKind::PollVote,
                    _ => EventKind::MessageReceived,
                },
                payload,
            },
        )
        .await?;
        stored.push(kind);
    }
    Ok(stored)
}

/// The webhook body: the reference's fields, then ours beside them. A
/// group message also names its chat (the group) and the group's subject;
/// `from` is the participant who wrote it.
pub fn payload(p: &Parsed) -> serde_json::Value {
    let mut body = json!({
        "from": p.from,
        "message": message_payload(p),
        "push_name": p.push_name,
        "lid": p.sender_lid,
        "group": null,
    });
    if let Some(group) = &p.chat {
        let id = format!("{group}@g.us");
        body["chat"] = json!(id);
        body["group"] = json!({"id": id, "subject": p.group_subject});
    }
    body
}

/// The payload's `message`: a change (reaction, edit, deletion) names the
/// message it changes; a message carries its content.
fn message_payload(p: &Parsed) -> serde_json::Value {
    let timestamp = p.timestamp_ms / 1000;
    match p.kind {
        MessageKind::Reaction => json!({
            "id": p.wa_id,
            "type": "reaction",
            "emoji": p.text,
            "reacted_to": p.reply_to,
            "timestamp": timestamp,
        }),
        MessageKind::Edit => json!({
            "id": p.reply_to,
            "type": "edit",
            "text": p.text,
            "change_id": p.wa_id,
            "timestamp": timestamp,
        }),
        MessageKind::Revoke => json!({
            "id": p.reply_to,
            "type": "revoke",
            "change_id": p.wa_id,
            "timestamp": timestamp,
        }),
        MessageKind::PollVote => json!({
            "id": p.wa_id,
            "type": "poll_vote",
            "poll_id": p.reply_to,
            "options": p.details.vote,
            "timestamp": timestamp,
        }),
        _ => {
            let mut message = json!({
                "id": p.wa_id,
                "type": p.kind.as_str(),
                "text": p.text.as_ref().or(p.caption.as_ref()),
                "timestamp": timestamp,
            });
            if let Some(mime) = &p.mime_type {
                message["media"] = json!({
                    "mime_type": mime,
                    "size": p.media_size,
                    "sha256": p.media_sha256,
                    "filename": p.file_name,
                });
            }
            if let Some((lat, lng, name)) = &p.location {
                message["location"] = json!({"lat": lat, "lng": lng, "name": name});
            }
            if let Some(reply_to) = &p.reply_to {
                message["reply_to"] = json!(reply_to);
            }
            if !p.mentions.is_empty() {
                message["mentions"] = json!(p.mentions);
            }
            let d = &p.details;
            if !d.contacts.is_empty() {
                message["contacts"] = json!(d.contacts);
            }
            if let Some(poll) = &d.poll {
                message["poll"] = json!({
                    "question": poll.question,
                    "options": poll.options,
                    "selectable_count": poll.selectable,
                });
            }
            if let Some(seconds) = d.seconds {
                message["seconds"] = json!(seconds);
            }
            if d.forwarded {
                message["forwarded"] = json!(true);
            }
            message
        }
    }
}

/// The parts of an inbound message we keep; `None` for what is not a
/// person's message (our own, status updates, channels, protocol traffic).
pub fn parse(item: &InboundMessage) -> Option<Parsed> {
    let info = &item.info;
    let source = &info.source;
    if source.is_from_me {
        return None;
    }
    if matches!(source.chat.server, Server::Broadcast | Server::Newsletter) {
        return None;
    }
    let m = item.message.get_base_message();
    let (kind, mut p) = describe(m)?;
    p.kind = kind;
    if let Some(info) = crate::context::of(m).filter(|_| !kind.is_change()) {
        p.reply_to = info.stanza_id.clone().filter(|id| !id.is_empty());
        p.mentions = crate::context::mentioned(info);
        p.details.forwarded = info.is_forwarded == Some(true);
    }
    p.wa_id = info.id.to_string();
    p.from = source.sender.user.to_string();
    p.chat = (source.chat.server == Server::Group).then(|| source.chat.user.to_string());
    p.push_name = Some(info.push_name.clone()).filter(|n| !n.is_empty());
    p.timestamp_ms = info.timestamp.timestamp_millis();
    if source.sender.is_lid() {
        p.sender_lid = Some(source.sender.user.to_string());
        if let Some(alt) = source.sender_alt.as_ref().filter(|j| j.is_pn()) {
            p.from = alt.user.to_string();
        }
    }
    Some(p)
}

/// A LID sender without a phone number in the envelope: ask the session's
/// LID-to-number map.
async fn resolve_sender(client: &Client, item: &InboundMessage, p: &mut Parsed) {
    let sender = &item.info.source.sender;
    if !sender.is_lid() || p.from != sender.user.as_str() {
        return;
    }
    let lid: Jid = sender.to_non_ad();
    if let Ok(Some(entry)) = client.get_lid_pn_entry(&lid).await {
        p.from = entry.phone_number.to_string();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An edit (with its new text) or a deletion for everyone, and the id of
/// the message it changes.
fn change(m: &wa::Message) -> Option<(MessageKind, String, Option<String>)> {
    use wa::message::protocol_message::Type;
    use wacore::proto_helpers::MessageExt as _;
    let pm = m.protocol_message.as_option()?;
    let target = pm.key.as_option()?.id.clone()?;
    match pm.r#type? {
        Type::MESSAGE_EDIT => {
            let text = pm
                .edited_message
                .as_option()
                .and_then(|e| e.get_base_message().text_content().map(str::to_owned));
            Some((MessageKind::Edit, target, text))
        }
        Type::REVOKE => Some((MessageKind::Revoke, target, None)),
        _ => None,
    }
}

/// Type and content of a message.
fn describe(m: &wa::Message) -> Option<(MessageKind, Parsed)> {
    let mut p = Parsed::default();
    macro_rules! media {
        ($kind:expr, $field:ident, $msg:expr) => {{
            let x = $msg;
            p.mime_type = x.mimetype.clone();
            p.media_size = x.file_length.map(|n| n as i64);
            p.media_sha256 = x.file_sha256.as_deref().map(hex);
            p.media_ref = Some(media::encode(&wa::Message {
                $field: m.$field.clone(),
                ..Default::default()
            }));
            $kind
        }};
    }
    let kind = if let Some(text) = m.conversation.as_ref().or(m
        .extended_text_message
        .as_option()
        .and_then(|e| e.text.as_ref()))
    {
        p.text = Some(text.clone());
        MessageKind::Text
    } else if let Some(x) = m.image_message.as_option() {
        p.caption = x.caption.clone();
        media!(MessageKind::Image, image_message, x)
    } else if let Some(x) = m.video_message.as_option() {
        p.caption = x.caption.clone();
        media!(MessageKind::Video, video_message, x)
    } else if let Some(x) = m.audio_message.as_option() {
        if x.ptt == Some(true) {
            p.details.seconds = x.seconds;
            media!(MessageKind::Voice, audio_message, x)
        } else {
            media!(MessageKind::Audio, audio_message, x)
        }
    } else if let Some(x) = m.document_message.as_option() {
        p.caption = x.caption.clone();
        p.file_name = x.file_name.clone();
        media!(MessageKind::Document, document_message, x)
    } else if let Some(x) = m.sticker_message.as_option() {
        media!(MessageKind::Sticker, sticker_message, x)
    } else if let Some(x) = m.location_message.as_option() {
        p.location = Some((
            x.degrees_latitude.unwrap_or_default(),
            x.degrees_longitude.unwrap_or_default(),
            x.name.clone(),
        ));
        MessageKind::Location
    } else if let Some(cards) = crate::cards::of(m) {
        p.details.contacts = cards;
        p.media_ref = Some(media::encode(&wa::Message {
            contact_message: m.contact_message.clone(),
            contacts_array_message: m.contacts_array_message.clone(),
            ..Default::default()
        }));
        MessageKind::Contact
    } else if let Some(poll) = crate::polls::of(m) {
        p.text = Some(poll.question.clone());
        p.details.poll = Some(poll);
        // With its secret: votes on it are opened with it.
        p.media_ref = Some(media::encode(&wa::Message {
            poll_creation_message: m.poll_creation_message.clone(),
            poll_creation_message_v2: m.poll_creation_message_v2.clone(),
            poll_creation_message_v3: m.poll_creation_message_v3.clone(),
            message_context_info: m.message_context_info.clone(),
            ..Default::default()
        }));
        MessageKind::Poll
    } else if let Some(vote) = crate::polls::vote_of(m) {
        p.reply_to = Some(vote.poll_id.clone());
        p.sealed_vote = Some(vote);
        MessageKind::PollVote
    } else if let Some(x) = m.reaction_message.as_option() {
        p.text = Some(x.text.clone().unwrap_or_default());
        p.reply_to = x.key.as_option().and_then(|k| k.id.clone());
        MessageKind::Reaction
    } else if let Some((kind, target, text)) = change(m) {
        p.reply_to = Some(target);
        p.text = text;
        kind
    } else if m.protocol_message.is_set()
        || m.sender_key_distribution_message.is_set()
        || m.message_context_info.is_set() && *m == only_context(m)
    {
        // Revokes, edits, key distribution: traffic, not a person's message.
        return None;
    } else {
        MessageKind::Other
    };
    Some((kind, p))
}

/// `m` with nothing but its context info (a message that carries no content).
fn only_context(m: &wa::Message) -> wa::Message {
    wa::Message {
        message_context_info: m.message_context_info.clone(),
        ..Default::default()
    }
}
