//! What a phone's contacts signal besides messages: typing in a chat, being
//! online, and calls. Each is an event (`chat.typing`, `presence.update`,
//! `call.received`); a call is
//! declined as it rings when the phone's call settings say so, and the
//! caller then gets the phone's reply through the outbox.

use std::sync::Arc;

use serde_json::json;
use whatsapp_rust::{
    Client, Jid,
    wacore::types::{
        call::{CallAction, IncomingCall},
        events::{ChatPresenceUpdate, GroupUpdate, PresenceUpdate},
        presence::{ChatPresence, ChatPresenceMedia},
    },
};

use whatsapp_rust::wacore::stanza::groups::{
    GroupNotificationAction as Action, GroupParticipantInfo,
};

use super::actor::Actor;
use crate::{
    events::EventKind,
    store::{
        self,
        entity::vocab::{MessageStatus, Source},
        messages::{Body, NewOutbound},
    },
};

impl Actor {
    /// A contact's typing, recording or pause.
    pub(super) async fn on_typing(&self, client: &Arc<Client>, update: &ChatPresenceUpdate) {
        let state = match (&update.state, &update.media) {
            (ChatPresence::Composing, ChatPresenceMedia::Audio) => "recording",
            (ChatPresence::Composing, _) => "composing",
            (ChatPresence::Paused, _) => "paused",
        };
        let source = &update.source;
        let from = number_of(client, &source.sender).await;
        let group = source.is_group.then(|| source.chat.user.to_string());
        self.event(
            EventKind::ChatTyping,
            json!({"from": from, "state": state, "group": group}),
        )
        .await;
    }

    /// A contact the phone subscribed to came online or went offline
    /// (`last_seen`, Unix seconds, where the contact shares it).
    pub(super) async fn on_presence(&self, client: &Arc<Client>, update: &PresenceUpdate) {
        let from = number_of(client, &update.from).await;
        self.event(
            EventKind::PresenceUpdate,
            json!({
                "from": from,
                "available": !update.unavailable,
                "last_seen": update.last_seen.map(|t| t.timestamp()),
            }),
        )
        .await;
    }

    /// A change to a group the phone is in, as its event: the phone added
    /// or removed (`group.joined` / `group.left`), others added, removed,
    /// promoted or demoted (`group.participants`), the group's info and
    /// settings (`group.updated`), people asking to join
    /// (`group.join_request`). Other notifications are not events.
    pub(super) async fn on_group(&self, client: &Arc<Client>, update: &GroupUpdate) {
        let group = update.group_jid.user.to_string();
        let own = client.pn().map(|j| j.user.to_string());
        let by = match (&update.participant_pn, &update.participant) {
            (Some(pn), _) => Some(pn.user.to_string()),
            (None, Some(jid)) => Some(number_of(client, jid).await),
            (None, None) => None,
        };
        let numbers = |list: &[GroupParticipantInfo]| -> Vec<String> {
            list.iter()
                .map(|p| p.phone_number.as_ref().unwrap_or(&p.jid).user.to_string())
                .collect()
        };
        let (kind, detail) = match &update.action {
            Action::Subject { subject, .. } => {
                crate::groups::remember_subject(&group, subject);
                (
                    EventKind::GroupUpdated,
                    json!({"change": "subject", "value": subject}),
                )
            }
            Action::Description { description, .. } => (
                EventKind::GroupUpdated,
                json!({"change": "description", "value": description}),
            ),
            Action::Announce | Action::NotAnnounce => (
                EventKind::GroupUpdated,
                json!({"change": "announce", "value": matches!(update.action, Action::Announce)}),
            ),
            Action::Locked { .. } | Action::Unlocked => (
                EventKind::GroupUpdated,
                json!({"change": "locked", "value": matches!(update.action, Action::Locked { .. })}),
            ),
            Action::Ephemeral { expiration, .. } => (
                EventKind::GroupUpdated,
                json!({"change": "disappearing", "value": expiration}),
            ),
            Action::MembershipApprovalMode { enabled } => (
                EventKind::GroupUpdated,
                json!({"change": "join_approval", "value": enabled}),
            ),
            Action::RevokeInvite | Action::Invite { .. } => (
                EventKind::GroupUpdated,
                json!({"change": "invite_link", "value": null}),
            ),
            Action::CreatedMembershipRequests { requests, .. } => (
                EventKind::GroupJoinRequest,
                json!({"participants": numbers(requests)}),
            ),
            Action::Create { .. } => (EventKind::GroupJoined, json!({"reason": "create"})),
            Action::Add {
                participants,
                reason,
            }
            | Action::Remove {
                participants,
                reason,
            } => {
                let added = matches!(update.action, Action::Add { .. });
                let list = numbers(participants);
                if own.as_ref().is_some_and(|o| list.contains(o)) {
                    let kind = if added {
                        EventKind::GroupJoined
                    } else {
                        EventKind::GroupLeft
                    };
                    (kind, json!({"reason": reason}))
                } else {
                    let action = if added { "added" } else { "removed" };
                    (
                        EventKind::GroupParticipants,
                        json!({"action": action, "participants": list, "reason": reason}),
                    )
                }
            }
            Action::Promote { participants } | Action::Demote { participants } => {
                let action = if matches!(update.action, Action::Promote { .. }) {
                    "promoted"
                } else {
                    "demoted"
                };
                (
                    EventKind::GroupParticipants,
                    json!({"action": action, "participants": numbers(participants), "reason": null}),
                )
            }
            _ => return,
        };
        let subject = if kind == EventKind::GroupLeft {
            None
        } else {
            crate::groups::Groups::subject(client, &group).await
        };
        let mut payload = json!({
            "group": {"id": format!("{group}@g.us"), "subject": subject},
            "by": by,
        });
        if let (Some(body), Some(extra)) = (payload.as_object_mut(), detail.as_object()) {
            body.extend(extra.clone());
        }
        self.event(kind, payload).await;
    }

    /// An incoming call: declined when the phone's settings say so (not a
    /// call WhatsApp delivers late, which has ended), then its event.
    pub(super) async fn on_call(&mut self, client: &Arc<Client>, call: &IncomingCall) {
        let CallAction::Offer {
            call_id,
            call_creator,
            caller_pn,
            is_video,
            ..
        } = &call.action
        else {
            return;
        };
        let caller = caller_pn
            .as_ref()
            .filter(|j| !j.is_lid())
            .or(Some(call_creator).filter(|j| !j.is_lid()))
            .unwrap_or(&call.from);
        let from = number_of(client, caller).await;
        let phone = match store::phones::find(&self.shared.db, &self.phone_id).await {
            Ok(phone) => phone,
            Err(err) => {
                tracing::error!(phone_id = %self.phone_id, error = %err, "reading call settings");
                None
            }
        };
        let mut rejected = false;
        let mut replied = None;
        if let Some(phone) = phone.filter(|p| p.reject_calls && !call.offline) {
            match client.voip().reject(call).await {
                Ok(()) => rejected = true,
                Err(err) => {
                    tracing::warn!(phone_id = %self.phone_id, %call_id, error = %err, "declining a call")
                }
            }
            if rejected && let Some(text) = phone.call_reply.clone() {
                replied = self.reply_to_caller(client, &phone, &from, text).await;
            }
        }
        self.event(
            EventKind::CallReceived,
            json!({
                "from": from,
                "call_id": call_id,
                "video": is_video,
                "timestamp": call.timestamp.timestamp(),
                "offline": call.offline,
                "rejected": rejected,
                "replied": replied,
            }),
        )
        .await;
    }

    /// The phone's reply to a declined caller: admitted by the plan like
    /// any send, written to the outbox, then sent by this session (the one
    /// that sends the phone's outbox); its message id.
    async fn reply_to_caller(
        &mut self,
        client: &Arc<Client>,
        phone: &store::entity::phone::Model,
        caller: &str,
        text: String,
    ) -> Option<String> {
        let db = &self.shared.db;
        if let Err(err) = crate::plan::admit(db, phone, &[caller]).await {
            tracing::warn!(phone_id = %self.phone_id, error = %err, "not answering a declined caller");
            return None;
        }
        let row = store::messages::insert_outbound(
            db,
            NewOutbound {
                account_id: phone.account_id.clone(),
                phone_id: phone.id.clone(),
                peer: caller.to_owned(),
                body: Body::text(text),
                source: Source::Call,
                ..Default::default()
            },
        )
        .await;
        match row {
            Ok(row) => {
                self.shared
                    .metrics
                    .message(row.kind, row.source, MessageStatus::Queued);
                let id = row.wa_id.clone();
                self.send_row(client, row).await;
                Some(id)
            }
            Err(err) => {
                tracing::error!(phone_id = %self.phone_id, error = %err, "storing the reply to a declined call");
                None
            }
        }
    }
}

/// A contact's number: a phone-number jid's user, or the number a LID maps
/// to (the LID's digits when the session does not know it).
pub(super) async fn number_of(client: &Client, jid: &Jid) -> String {
    if jid.is_lid()
        && let Ok(Some(entry)) = client.get_lid_pn_entry(&jid.to_non_ad()).await
    {
        return entry.phone_number.to_string();
    }
    jid.user.to_string()
}
