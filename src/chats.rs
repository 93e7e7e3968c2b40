//! A phone's one-to-one chats: listed with their newest message and unread
//! count, marked read (read receipts to the other side), and told that the
//! phone is typing. Read receipts and typing are signals, not messages:
//! they go straight to the phone's session (a phone that is not connected
//! cannot send them) and are not kept in the outbox.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use whatsapp_rust::{Client, Jid};

use crate::{
    error::{Error, Result},
    sessions::SessionManager,
    store::{
        self,
        entity::{message, phone},
        messages::ChatRow,
    },
};

/// What the phone shows the other side of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typing {
    Composing,
    Recording,
    Paused,
}

#[derive(Clone)]
pub(crate) struct Chats {
    db: DatabaseConnection,
    sessions: Arc<SessionManager>,
}

fn jid(peer: &str) -> Result<Jid> {
    format!("{peer}@s.whatsapp.net")
        .parse()
        .map_err(|e| Error::invalid("chat", format!("{peer}: {e:?}")))
}

impl Chats {
    pub(crate) fn new(db: DatabaseConnection, sessions: Arc<SessionManager>) -> Chats {
        Chats { db, sessions }
    }

    fn client(&self, phone: &phone::Model) -> Result<Arc<Client>> {
        self.sessions
            .client(&phone.id)
            .filter(|c| c.is_connected())
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))
    }

    /// The phone's chats, most recent first, each with its newest message.
    pub(crate) async fn list(
        &self,
        phone: &phone::Model,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<(ChatRow, Option<message::Model>)>> {
        let rows = store::messages::chats(&self.db, &phone.id, before, limit).await?;
        let mut chats = Vec::with_capacity(rows.len());
        for row in rows {
            let last = store::messages::last_in_chat(&self.db, &phone.id, &row.peer).await?;
            chats.push((row, last));
        }
        Ok(chats)
    }

    /// A received message of a one-to-one chat, to mark read up to (400
    /// naming `message_id` otherwise).
    pub(crate) async fn received(&self, phone: &phone::Model, id: &str) -> Result<message::Model> {
        let row = store::messages::find_by_wa_id(&self.db, &phone.id, id)
            .await?
            .filter(|row| row.chat.is_none())
            .ok_or_else(|| {
                Error::invalid(
                    "message_id",
                    format!("no message {id} in this phone's chats"),
                )
            })?;
        if row.direction != store::entity::vocab::Direction::Inbound {
            return Err(Error::invalid(
                "message_id",
                format!(
                    "message {id} was sent by this phone: only received messages are marked read"
                ),
            ));
        }
        Ok(row)
    }

    /// Sends read receipts for the chat's received messages not read yet,
    /// up to `until` (created_at) or all, and records them read; how many.
    pub(crate) async fn mark_read(
        &self,
        phone: &phone::Model,
        peer: &str,
        until: Option<i64>,
    ) -> Result<u32> {
        let unread = store::messages::unread(&self.db, &phone.id, peer, until).await?;
        if unread.is_empty() {
            return Ok(0);
        }
        let client = self.client(phone)?;
        let ids: Vec<&str> = unread.iter().map(|m| m.wa_id.as_str()).collect();
        client
            .mark_as_read(&jid(peer)?, None, &ids)
            .await
            .map_err(|e| Error::Unavailable(format!("sending read receipts failed: {e}")))?;
        let rows: Vec<String> = unread.iter().map(|m| m.id.clone()).collect();
        store::messages::set_read(&self.db, &rows, store::now_ms()).await?;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }

    /// Shows the other side that the phone is typing (or recording, or
    /// has stopped).
    pub(crate) async fn typing(
        &self,
        phone: &phone::Model,
        peer: &str,
        state: Typing,
    ) -> Result<()> {
        use whatsapp_rust::ChatStateType;
        let client = self.client(phone)?;
        let state = match state {
            Typing::Composing => ChatStateType::Composing,
            Typing::Recording => ChatStateType::Recording,
            Typing::Paused => ChatStateType::Paused,
        };
        client
            .chatstate()
            .send(&jid(peer)?, state)
            .await
            .map_err(|e| Error::Unavailable(format!("sending the typing state failed: {e}")))
    }
}
