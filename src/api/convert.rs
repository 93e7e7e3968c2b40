//! Storage rows to protobuf messages.

//! Every row -> proto conversion is a `From` here; enums map exhaustively,
//! so a new state fails to compile until it has its proto value.

use crate::{
    proto,
    sessions::PairUpdate,
    store::{
        self,
        entity::{message, phone, vocab},
    },
};

/// Maps a storage enum onto its proto enum, variant by variant.
macro_rules! enum_into_proto {
    ($from:ty => $to:ty { $($a:ident => $b:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(value: $from) -> $to {
                match value {
                    $(<$from>::$a => <$to>::$b,)*
                }
            }
        }
    };
}

enum_into_proto!(vocab::MessageStatus => proto::MessageStatus {
    Queued => Queued, Sent => Sent, Delivered => Delivered, Read => Read,
    Failed => Failed, Received => Received,
});
enum_into_proto!(vocab::PhoneStatus => proto::PhoneStatus {
    Pending => Pending, Connecting => Connecting, Connected => Connected,
    Disconnected => Disconnected, LoggedOut => LoggedOut, Banned => Banned, Failed => Failed,
});
enum_into_proto!(vocab::Plan => proto::Plan { Trial => Trial, Pro => Pro });
enum_into_proto!(vocab::Direction => proto::Direction { Inbound => Inbound, Outbound => Outbound });
enum_into_proto!(vocab::MessageKind => proto::MessageType {
    Text => Text, Image => Image, Video => Video, Document => Document, Audio => Audio,
    Location => Location, Sticker => Sticker, Contact => Contact, Reaction => Reaction,
    Edit => Edit, Revoke => Revoke, Poll => Poll, PollVote => PollVote, Voice => Voice,
    Other => Other,
});
enum_into_proto!(vocab::BulkStatus => proto::BulkStatus {
    Queued => Queued, Running => Running, Paused => Paused, Completed => Completed,
    Cancelled => Cancelled,
});

pub(super) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

impl From<&phone::Model> for proto::Phone {
    fn from(p: &phone::Model) -> Self {
        proto::Phone {
            phone_id: p.id.clone(),
            number: p.number.clone(),
            name: p.name.clone(),
            status: proto::PhoneStatus::from(p.status) as i32,
            plan: proto::Plan::from(p.plan) as i32,
        }
    }
}

/// JSON to google.protobuf.Struct (events' data).
pub(super) fn json_struct(value: serde_json::Value) -> prost_types::Struct {
    match json_value(value).kind {
        Some(prost_types::value::Kind::StructValue(s)) => s,
        _ => prost_types::Struct::default(),
    }
}

fn json_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match value {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        J::String(s) => Kind::StringValue(s),
        J::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_value).collect(),
        }),
        J::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.into_iter().map(|(k, v)| (k, json_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A message as the phone it belongs to sees it (its own number is one end).
impl From<(&phone::Model, message::Model)> for proto::Message {
    fn from((phone, row): (&phone::Model, message::Model)) -> Self {
        let own = phone.number.clone().unwrap_or_default();
        let details = crate::details::Details::of(row.details.as_deref());
        let (from, to) = match row.direction {
            vocab::Direction::Outbound => (own, row.peer.clone()),
            vocab::Direction::Inbound => (row.peer.clone(), own),
        };
        proto::Message {
            receipts: Vec::new(),
            message_id: row.wa_id,
            phone_id: row.phone_id,
            direction: proto::Direction::from(row.direction) as i32,
            from,
            to,
            r#type: proto::MessageType::from(row.kind) as i32,
            text: row.text.or(row.caption),
            media: row.mime_type.map(|mime_type| proto::Media {
                mime_type,
                size: row.media_size.unwrap_or_default().max(0) as u64,
                sha256: row.media_sha256.unwrap_or_default(),
                filename: row.file_name,
            }),
            location: row.lat.zip(row.lng).map(|(lat, lng)| proto::Location {
                lat,
                lng,
                name: row.location_name,
            }),
            status: proto::MessageStatus::from(row.status) as i32,
            reason: row.reason,
            timestamp: row.sent_at.unwrap_or(row.created_at) / 1000,
            bulk_id: row.bulk_id,
            sent_by_bot: row.source == Some(vocab::Source::Bot),
            reply_to: row.reply_to.clone(),
            edited_at: row.edited_at.map(timestamp),
            earlier_texts: row
                .earlier_texts
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
            revoked_at: row.revoked_at.map(timestamp),
            mentions: row
                .mentions
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or_default(),
            contacts: details
                .contacts
                .into_iter()
                .map(|c| proto::ContactCard {
                    name: c.name,
                    numbers: c.numbers,
                })
                .collect(),
            // Tallies are counted by the caller (see history::tallies).
            poll: details.poll.map(|p| proto::Poll {
                question: p.question,
                selectable_count: p.selectable,
                options: p
                    .options
                    .into_iter()
                    .map(|name| proto::PollOption {
                        name,
                        ..Default::default()
                    })
                    .collect(),
            }),
            forwarded: details.forwarded,
            vote: details.vote.unwrap_or_default(),
        }
    }
}

impl From<crate::bulk::recipients::Rejected> for proto::RejectedNumber {
    fn from(r: crate::bulk::recipients::Rejected) -> proto::RejectedNumber {
        proto::RejectedNumber {
            number: r.number,
            reason: r.reason.to_owned(),
            row: r.row,
            detail: r.detail,
        }
    }
}

impl From<crate::bulk::campaign::View> for proto::Bulk {
    fn from(view: crate::bulk::campaign::View) -> proto::Bulk {
        let row = view.campaign;
        let counts = view.counts;
        proto::Bulk {
            bulk_id: row.id,
            phone_id: row.phone_id,
            status: proto::BulkStatus::from(row.status) as i32,
            total: row.total as u32,
            counts: Some(proto::BulkCounts {
                pending: counts.pending as u32,
                sent: counts.sent as u32,
                delivered: counts.delivered as u32,
                read: counts.read as u32,
                failed: counts.failed as u32,
                skipped: counts.skipped as u32,
            }),
            current_recipient: view.current_recipient,
            expected_finish_at: view.expected_finish_at.map(timestamp),
            paused_reason: row.paused_reason,
            created_at: Some(timestamp(row.created_at)),
            message: row.message,
            delay: row.delay_ms.map(|d| d as u32),
            source: row.source,
            sheet_id: row.sheet_id,
            finished_at: row.finished_at.map(timestamp),
        }
    }
}

impl From<crate::bulk::campaign::RecipientView> for proto::BulkRecipient {
    fn from(r: crate::bulk::campaign::RecipientView) -> proto::BulkRecipient {
        proto::BulkRecipient {
            position: r.position,
            number: r.number,
            row: r.row,
            status: r.status.to_owned(),
            message_id: r.message.as_ref().map(|m| m.wa_id.clone()),
            reason: r.message.and_then(|m| m.reason),
        }
    }
}

impl From<&store::entity::bot::Model> for proto::Bot {
    fn from(b: &store::entity::bot::Model) -> proto::Bot {
        use store::bots::{PROVIDER_GEMINI, PROVIDER_OPENAI};
        let provider = match b.provider.as_str() {
            PROVIDER_OPENAI => proto::BotProvider::Openai,
            PROVIDER_GEMINI => proto::BotProvider::Gemini,
            _ => proto::BotProvider::Unspecified,
        };
        proto::Bot {
            phone_id: b.phone_id.clone(),
            provider: provider as i32,
            model: b.model.clone(),
            api_key: b.api_key_hint.clone(),
            system_prompt: b.system_prompt.clone(),
            is_enabled: b.enabled,
            last_error: b.last_error.clone(),
            last_reply_at: b.last_reply_at.map(timestamp),
            last_error_at: b.last_error_at.map(timestamp),
        }
    }
}

impl From<&store::entity::webhook::Model> for proto::Webhook {
    fn from(hook: &store::entity::webhook::Model) -> proto::Webhook {
        proto::Webhook {
            phone_id: hook.phone_id.clone(),
            webhook_url: hook.url.clone(),
            events: store::webhooks::event_names(hook),
            enabled: hook.enabled,
            disabled_reason: hook.disabled_reason.clone(),
            created_at: Some(timestamp(hook.created_at)),
            failing_since: hook.failing_since.map(timestamp),
        }
    }
}

impl From<store::entity::webhook_attempt::Model> for proto::Delivery {
    fn from(row: store::entity::webhook_attempt::Model) -> proto::Delivery {
        proto::Delivery {
            delivery_id: row.id,
            event_id: row.event_id,
            event: row.event,
            attempt: row.attempt.max(0) as u32,
            response_status_code: row.response_status_code.max(0) as u32,
            response_body: row.response_body,
            response_duration_ms: row.response_duration_ms.clamp(0, u32::MAX as i64) as u32,
            attempted_at: Some(timestamp(row.attempted_at)),
            next_attempt_at: row.next_attempt_at.map(timestamp),
            error: row.error,
            redelivery: row.redelivery,
        }
    }
}

impl From<(&str, PairUpdate)> for proto::PairPhoneResponse {
    fn from((phone_id, update): (&str, PairUpdate)) -> proto::PairPhoneResponse {
        let mut response = proto::PairPhoneResponse {
            phone_id: phone_id.to_owned(),
            ..Default::default()
        };
        let (kind, status) = match update {
            PairUpdate::Qr { code, expires_at } => {
                response.qr_image = crate::sessions::qr::data_url(&code);
                response.qr = code;
                response.expires_at = Some(timestamp(expires_at));
                (proto::PairEventType::Qr, proto::PhoneStatus::Pending)
            }
            PairUpdate::Paired { number } => {
                response.number = Some(number);
                (proto::PairEventType::Paired, proto::PhoneStatus::Connecting)
            }
            PairUpdate::Connected { number } => {
                response.number = number;
                (
                    proto::PairEventType::Connected,
                    proto::PhoneStatus::Connected,
                )
            }
            PairUpdate::Failed { reason } => {
                response.reason = Some(reason);
                (proto::PairEventType::Failed, proto::PhoneStatus::Failed)
            }
            PairUpdate::Expired { reason } => {
                response.reason = Some(reason);
                (proto::PairEventType::Expired, proto::PhoneStatus::Pending)
            }
        };
        response.r#type = kind as i32;
        response.status = status as i32;
        response
    }
}

impl From<store::entity::event::Model> for proto::SubscribeResponse {
    fn from(event: store::entity::event::Model) -> proto::SubscribeResponse {
        let data = serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null);
        proto::SubscribeResponse {
            cursor: event.cursor as u64,
            event_id: event.id,
            event: event.event,
            phone_id: event.phone_id.unwrap_or_default(),
            created_at: Some(timestamp(event.created_at)),
            data: Some(json_struct(data)),
        }
    }
}

enum_into_proto!(vocab::TokenRights => proto::TokenRights { Full => Full, Send => Send, Read => Read });

impl From<&store::entity::account::Model> for proto::Account {
    fn from(a: &store::entity::account::Model) -> Self {
        proto::Account {
            account_id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            created_at: Some(timestamp(a.created_at)),
            has_password: a.password_hash.is_some(),
        }
    }
}

impl From<&store::entity::token::Model> for proto::Token {
    fn from(t: &store::entity::token::Model) -> Self {
        proto::Token {
            token_id: t.id.clone(),
            name: t.name.clone(),
            created_at: Some(timestamp(t.created_at)),
            last_used_at: t.last_used_at.map(timestamp),
            expires_at: t.expires_at.map(timestamp),
            revoked_at: t.revoked_at.map(timestamp),
            rights: proto::TokenRights::from(t.rights) as i32,
            phone_ids: store::tokens::phone_scope(t).unwrap_or_default(),
        }
    }
}
