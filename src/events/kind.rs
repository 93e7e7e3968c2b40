//! Every event the gateway emits, by name: one enum for the emitters, the
//! webhook filter, the Subscribe filter and the docs.

use std::collections::BTreeSet;

use crate::error::Error;

macro_rules! event_kinds {
    ($($variant:ident = $name:literal: $doc:literal,)*) => {
        /// An event's name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventKind {
            $(#[doc = $doc] $variant,)*
        }

        impl EventKind {
            /// Every event, in the order docs/api.md lists them.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The name in payloads, filters and the log (`message.received`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }

            /// What the event means (docs/api.md's table).
            pub fn describe(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $doc,)*
                }
            }
        }
    };
}

event_kinds! {
    MessageReceived = "message.received": "A person sent one of your phones a message (stored before WhatsApp is acknowledged).",
    MessageReaction = "message.reaction": "Someone reacted to a message of one of your phones' chats: `emoji` (empty: they took their reaction back) and the message reacted to, `reacted_to`.",
    MessageEdited = "message.edited": "Someone edited a message they sent one of your phones: `message.id` is the message, `text` its new text (the stored message has it; its earlier texts are kept).",
    MessageRevoked = "message.revoked": "Someone deleted a message they sent one of your phones for everyone: `message.id` is the message; the stored message loses its content.",
    PollVote = "poll.vote": "Someone voted on a poll of one of your phones' chats: `poll_id` names the poll, `options` the option names they chose now (empty: they took their vote back; null: the vote could not be opened). Each voter's latest vote counts in the poll's tallies (GetMessage).",
    ChatTyping = "chat.typing": "A contact is typing (`composing`), recording a voice note (`recording`) or stopped (`paused`) in a chat with one of your phones: `from` and `state`. Not stored as a message.",
    PresenceUpdate = "presence.update": "A contact the phone subscribed to (SubscribePresence) came online or went offline: `from`, `available`, and `last_seen` (Unix seconds) when it is offline and shares its last seen. Not stored as a message.",
    CallReceived = "call.received": "Someone is calling one of your phones: `from`, `call_id`, `video` (true for a video call), `timestamp`, and `rejected` (true when the phone declined it by its call settings; `replied`: the message_id of the text sent to the caller).",
    GroupJoined = "group.joined": "One of your phones was added to a group (or created one elsewhere, or joined by link): `group` (`id`, `subject`), `by` (who added it) and `reason`.",
    GroupLeft = "group.left": "One of your phones left a group or was removed from it: `group`, `by` and `reason`.",
    GroupUpdated = "group.updated": "A group's subject, description or settings changed: `group`, `change` (`subject`, `description`, `announce`, `locked`, `disappearing`, `join_approval`, `invite_link`), the new `value`, and `by` (who changed it).",
    GroupParticipants = "group.participants": "People were added to, removed from, promoted or demoted in a group one of your phones is in: `group`, `action` (`added`, `removed`, `promoted`, `demoted`), `participants` (numbers), `by` and `reason` (e.g. `invite` for a join by link).",
    GroupJoinRequest = "group.join_request": "People asked to join a group where one of your phones is an admin and joins need approval: `group` and `participants` (numbers); approve or reject them with ApproveJoinRequests / RejectJoinRequests.",
    MessageStatus = "message.status": "An outbound message moved: sent, delivered, read or failed (with its reason).",
    PhoneQr = "phone.qr": "A new QR code is showing for a phone being linked.",
    PhoneQrExpired = "phone.qr_expired": "Pairing ended without a scan or code; the phone can be paired again.",
    PhoneConnected = "phone.connected": "The phone is online; queued messages go out.",
    PhoneDisconnected = "phone.disconnected": "The connection dropped; the session reconnects by itself.",
    PhoneConnectFailed = "phone.connect_failed": "A connection attempt failed: WhatsApp could not be reached (DNS, refused, TLS, the websocket upgrade), its Noise handshake failed (`WhatsApp's handshake with host:port failed: ...`: no answer to the hello, or a certificate chain WhatsApp did not sign), or it refused the connection; `reason` says why. After `sessions.max_failures` in a row the phone is `failed` with that reason and a pairing stream ends with it.",
    PhoneLoggedOut = "phone.logged_out": "The phone was unlinked (from the phone or through the API); its keys are deleted.",
    PhoneBanned = "phone.banned": "WhatsApp banned the number (until `ban_expires_at` when temporary).",
    PhoneFailed = "phone.failed": "The session gave up after repeated failures.",
    BulkCreated = "bulk.created": "A campaign was accepted and stored.",
    BulkStarted = "bulk.started": "A campaign began sending.",
    BulkProgress = "bulk.progress": "A campaign's counts, at most every few seconds while it sends.",
    BulkPaused = "bulk.paused": "A campaign paused (through the API, after failures, or while its phone is away).",
    BulkResumed = "bulk.resumed": "A paused campaign goes on.",
    BulkCompleted = "bulk.completed": "Every recipient of a campaign was handled.",
    BulkCancelled = "bulk.cancelled": "A campaign was cancelled; its unsent recipients are skipped.",
    WebhookDisabled = "webhook.disabled": "A webhook failed for a day and was disabled.",
    BotError = "bot.error": "The AI auto-reply could not answer someone (the provider's error, or a cap).",
}

impl EventKind {
    /// The part before the dot (`message`, `phone`, ...).
    pub fn family(self) -> &'static str {
        self.as_str()
            .split_once('.')
            .map_or("", |(family, _)| family)
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl EventKind {
    /// The table docs/api.md lists the events in (a test keeps it equal).
    pub fn markdown_table() -> String {
        let mut table = String::from("| event | when |\n|---|---|\n");
        for kind in EventKind::ALL {
            table.push_str(&format!("| `{}` | {} |\n", kind.as_str(), kind.describe()));
        }
        table
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which events a webhook or a stream wants: empty means every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter(BTreeSet<EventKind>);

impl EventFilter {
    /// Parses names as callers write them: exact names (`message.received`),
    /// a family (`phone.*`) or `*`, in a list or comma-separated. An unknown
    /// name is the caller's error, named in `field`.
    pub fn parse(field: &str, raw: &[String]) -> Result<EventFilter, Error> {
        let mut kinds = BTreeSet::new();
        for name in raw.iter().flat_map(|r| r.split(',')).map(str::trim) {
            if name.is_empty() {
                continue;
            }
            if name == "*" {
                return Ok(EventFilter::default());
            }
            let matched: Vec<EventKind> = match name.strip_suffix(".*") {
                Some(family) => EventKind::ALL
                    .iter()
                    .copied()
                    .filter(|k| k.family() == family)
                    .collect(),
                None => EventKind::parse(name).into_iter().collect(),
            };
            if matched.is_empty() {
                return Err(Error::invalid(
                    field,
                    format!(
                        "unknown event {name:?}; known: {} (or a family such as phone.*, or *)",
                        EventKind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            kinds.extend(matched);
        }
        Ok(EventFilter(kinds))
    }

    /// Every event.
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, name: &str) -> bool {
        self.is_all() || self.0.iter().any(|k| k.as_str() == name)
    }

    /// The names it lets through, sorted (empty for every event): what the
    /// database filters on and a webhook stores.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|k| k.as_str().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[&str]) -> Result<EventFilter, Error> {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        EventFilter::parse("events", &raw)
    }

    #[test]
    fn names_families_and_everything() {
        let f = parse(&["message.received, phone.*"]).unwrap();
        assert!(f.matches("message.received"));
        assert!(f.matches("phone.qr_expired"));
        assert!(!f.matches("message.status"));
        assert!(parse(&["*", "message.status"]).unwrap().is_all());
        assert!(parse(&[]).unwrap().is_all());
        assert_eq!(parse(&["bot.*"]).unwrap().names(), vec!["bot.error"]);
    }

    #[test]
    fn unknown_names_are_refused_by_field() {
        let err = parse(&["message.recieved"]).unwrap_err().to_string();
        assert!(
            err.starts_with("events: unknown event \"message.recieved\""),
            "{err}"
        );
        assert!(parse(&["nope.*"]).is_err());
        assert!(parse(&["message."]).is_err());
    }

    #[test]
    fn docs_list_every_event_from_this_enum() {
        let docs = include_str!("../../docs/api.md");
        let table = EventKind::markdown_table();
        assert!(
            docs.contains(&table),
            "docs/api.md must contain the event table exactly as EventKind::markdown_table() prints it:\n{table}"
        );
    }

    #[test]
    fn every_name_parses_back_and_has_a_family() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
            assert!(!kind.family().is_empty());
        }
    }
}
