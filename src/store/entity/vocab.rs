//! The domain's words, as the database stores them: each enum is a
//! string-backed column type (the stored strings are exactly the ones the
//! first migrations wrote), so every layer matches on a type and a new
//! state fails to compile where it is not handled.

use sea_orm::entity::prelude::*;

/// Where a message is in its life. Outbound: queued -> sent -> delivered ->
/// read, or failed from queued. Inbound: received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MessageStatus {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "sent")]
    Sent,
    #[sea_orm(string_value = "delivered")]
    Delivered,
    #[sea_orm(string_value = "read")]
    Read,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "received")]
    Received,
}

impl MessageStatus {
    /// The order statuses move in; failed and received are final.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed | MessageStatus::Received => 4,
        }
    }

    /// The statuses a message may move to `self` from: forward only
    /// (queued -> sent -> delivered -> read), and failed only from queued, so
    /// a late or repeated receipt never moves a message back.
    pub fn moves_from(self) -> Vec<MessageStatus> {
        if self == MessageStatus::Failed {
            return vec![MessageStatus::Queued];
        }
        [
            MessageStatus::Queued,
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
        ]
        .into_iter()
        .filter(|from| from.rank() < self.rank())
        .collect()
    }

    /// The stored (and documented) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Direction {
    #[sea_orm(string_value = "inbound")]
    Inbound,
    #[sea_orm(string_value = "outbound")]
    Outbound,
}

/// What a message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MessageKind {
    #[sea_orm(string_value = "text")]
    Text,
    #[sea_orm(string_value = "image")]
    Image,
    #[sea_orm(string_value = "video")]
    Video,
    #[sea_orm(string_value = "document")]
    Document,
    #[sea_orm(string_value = "audio")]
    Audio,
    #[sea_orm(string_value = "location")]
    Location,
    #[sea_orm(string_value = "sticker")]
    Sticker,
    #[sea_orm(string_value = "contact")]
    Contact,
    #[sea_orm(string_value = "reaction")]
    Reaction,
    /// A correction of an earlier text (its new text; `reply_to` names it).
    #[sea_orm(string_value = "edit")]
    Edit,
    /// "Delete for everyone" of an earlier message (`reply_to` names it).
    #[sea_orm(string_value = "revoke")]
    Revoke,
    /// A poll (question and options in `details`).
    #[sea_orm(string_value = "poll")]
    Poll,
    /// A vote on a poll (`reply_to` names it; the options chosen in `details`).
    #[sea_orm(string_value = "poll_vote")]
    PollVote,
    /// A voice note (recorded audio; its duration in `details`).
    #[sea_orm(string_value = "voice")]
    Voice,
    /// A message type the gateway does not describe.
    #[default]
    #[sea_orm(string_value = "other")]
    Other,
}

impl MessageKind {
    /// Kinds that change another message (`reply_to` names it) rather
    /// than being a message of the chat.
    pub const CHANGES: [MessageKind; 4] = [
        MessageKind::Reaction,
        MessageKind::Edit,
        MessageKind::Revoke,
        MessageKind::PollVote,
    ];

    /// A change to another message, not a message of the chat.
    pub fn is_change(self) -> bool {
        MessageKind::CHANGES.contains(&self)
    }

    /// The stored (and documented) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::Video => "video",
            MessageKind::Document => "document",
            MessageKind::Audio => "audio",
            MessageKind::Location => "location",
            MessageKind::Sticker => "sticker",
            MessageKind::Contact => "contact",
            MessageKind::Reaction => "reaction",
            MessageKind::Edit => "edit",
            MessageKind::Revoke => "revoke",
            MessageKind::Poll => "poll",
            MessageKind::PollVote => "poll_vote",
            MessageKind::Voice => "voice",
            MessageKind::Other => "other",
        }
    }
}

/// Who asked for an outbound message (stored null for the API: rows from
/// before the column existed are API sends too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Source {
    #[sea_orm(string_value = "api")]
    Api,
    #[sea_orm(string_value = "bulk")]
    Bulk,
    #[sea_orm(string_value = "bot")]
    Bot,
    /// The phone's reply to a caller it declined (call settings).
    #[sea_orm(string_value = "call")]
    Call,
}

impl Source {
    /// The stored (and documented) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Bulk => "bulk",
            Source::Bot => "bot",
            Source::Call => "call",
        }
    }
}

/// Where a phone's link to WhatsApp stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PhoneStatus {
    /// Created, never linked (or unlinked and ready to pair again).
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "connecting")]
    Connecting,
    #[sea_orm(string_value = "connected")]
    Connected,
    #[sea_orm(string_value = "disconnected")]
    Disconnected,
    #[sea_orm(string_value = "logged_out")]
    LoggedOut,
    #[sea_orm(string_value = "banned")]
    Banned,
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl PhoneStatus {
    /// The stored (and documented) name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneStatus::Pending => "pending",
            PhoneStatus::Connecting => "connecting",
            PhoneStatus::Connected => "connected",
            PhoneStatus::Disconnected => "disconnected",
            PhoneStatus::LoggedOut => "logged_out",
            PhoneStatus::Banned => "banned",
            PhoneStatus::Failed => "failed",
        }
    }
}

/// A phone's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Plan {
    /// At most [`crate::outbox::TRIAL_RECIPIENTS`] unique recipients, no AI.
    #[sea_orm(string_value = "trial")]
    Trial,
    #[sea_orm(string_value = "pro")]
    Pro,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Trial => "trial",
            Plan::Pro => "pro",
        }
    }
}

/// A campaign's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum BulkStatus {
    /// Waiting for its phone's worker (or behind an older campaign).
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "paused")]
    Paused,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl BulkStatus {
    /// Not finished: its waiting recipients count against the trial cap.
    pub const ACTIVE: [BulkStatus; 3] =
        [BulkStatus::Queued, BulkStatus::Running, BulkStatus::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Queued => "queued",
            BulkStatus::Running => "running",
            BulkStatus::Paused => "paused",
            BulkStatus::Completed => "completed",
            BulkStatus::Cancelled => "cancelled",
        }
    }
}

/// Why a campaign is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PauseKind {
    /// Paused through the API; only the API resumes it.
    #[sea_orm(string_value = "user")]
    User,
    /// Too many failed messages in a row; only the API resumes it.
    #[sea_orm(string_value = "failures")]
    Failures,
    /// The phone went away; resumes by itself when it is back.
    #[sea_orm(string_value = "disconnected")]
    Disconnected,
}

/// A campaign recipient's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum RecipientStatus {
    /// No message yet.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Its outbox message exists: the message's status tells the rest.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Its message left the outbox (sent or failed).
    #[sea_orm(string_value = "done")]
    Done,
    /// Not sent: the campaign was cancelled first.
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

/// Each word prints as it is stored.
macro_rules! display_as_stored {
    ($($ty:ty),*) => {
        $(impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        })*
    };
}

display_as_stored!(
    MessageStatus,
    MessageKind,
    PhoneStatus,
    Plan,
    BulkStatus,
    Source
);

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use MessageStatus::*;
        assert_eq!(Sent.moves_from(), vec![Queued]);
        assert_eq!(Read.moves_from(), vec![Queued, Sent, Delivered]);
        assert_eq!(Failed.moves_from(), vec![Queued]);
        assert!(Queued.moves_from().is_empty());
    }

    #[test]
    fn stored_names_are_the_documented_ones() {
        for status in MessageStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for kind in MessageKind::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
        }
        for status in PhoneStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for status in BulkStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for plan in Plan::iter() {
            assert_eq!(plan.to_value(), plan.as_str());
        }
        for source in Source::iter() {
            assert_eq!(source.to_value(), source.as_str());
        }
    }
}

/// What an API token may do: everything, read and send, or read only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum TokenRights {
    #[sea_orm(string_value = "full")]
    Full,
    #[sea_orm(string_value = "send")]
    Send,
    #[sea_orm(string_value = "read")]
    Read,
}
