//! One task per phone owns its whatsapp-rust client: it receives the
//! client's events in order, turns them into phone status changes and
//! events, answers commands, and supervises the connection.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use whatsapp_rust::{
    Client,
    prelude::Event,
    wacore::pair_code::{PairCodeOptions, PairCodeUtils},
};

use super::outbox::SendFailure;
use super::{
    PairUpdate, PhoneEvent, Shared,
    engine::{self, ClientParts},
};
use crate::events::EventKind;
use crate::store::{
    self,
    entity::{
        message,
        vocab::{MessageStatus, PhoneStatus},
    },
    now_ms,
    phones::StatusChange,
};

pub(super) enum Command {
    /// Stop the client, keep the keys (shutdown, or the phone is deleted).
    Stop(oneshot::Sender<()>),
    /// Unlink from WhatsApp and delete the keys.
    Logout(oneshot::Sender<()>),
    /// Hand a queued outbox message to WhatsApp; answers with the row after.
    /// `fresh` is the row as inserted, with the drain count read before the
    /// insert: if no drain has read the outbox since, only this command can
    /// send it and the actor need not read it again.
    Send {
        id: String,
        fresh: Option<(Box<message::Model>, u64)>,
        reply: oneshot::Sender<Handed>,
    },
    /// Link by phone number: the code to type on the phone.
    PairCode {
        number: String,
        reply: oneshot::Sender<Result<String, crate::error::Error>>,
    },
}

/// What the event loop decided.
enum Flow {
    Continue,
    /// The session is over (logged out, replaced, banned, failed).
    End,
    /// Pairing ran out of time: stop the client, then report why.
    Expire(&'static str),
    /// Unlinked from the phone: stop the client, then delete its keys.
    Unlinked(String),
}

/// Why an unlinked phone's pairing attempt ended without a link.
const QR_EXPIRED: &str = "QR codes expired without a scan; start pairing again";
const CODE_EXPIRED: &str = "the pairing code expired without being entered; start pairing again";

/// Waits (at most 3 s) until the client's background tasks have let go of
/// it: only then has it stopped writing to the store.
async fn released(client: Arc<Client>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while Arc::strong_count(&client) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sleeps until the pairing deadline, or forever when there is none.
async fn until(deadline: Option<(tokio::time::Instant, &'static str)>) -> &'static str {
    match deadline {
        Some((at, reason)) => {
            tokio::time::sleep_until(at).await;
            reason
        }
        None => std::future::pending().await,
    }
}

pub(super) struct Actor {
    /// Numbers recently found on WhatsApp (no lookup before each send).
    pub registered: super::outbox::Registered,
    pub shared: Arc<Shared>,
    pub phone_id: String,
    pub account_id: String,
    pub commands: mpsc::Receiver<Command>,
    pub pairing: broadcast::Sender<PairUpdate>,
    pub last_qr: Arc<std::sync::Mutex<Option<PairUpdate>>>,
    pub client: watch::Sender<Option<Arc<Client>>>,
    pub connected: bool,
    /// A connection of this session was lost (the next one is a reconnect).
    pub lost: bool,
    pub failures: u32,
    /// Set before the actor writes a final status, so the manager never
    /// hands a new pairing request to a session that is on its way out.
    pub ending: Arc<std::sync::atomic::AtomicBool>,
    pub connected_since: Arc<std::sync::atomic::AtomicI64>,
    /// Outbox drains whose read is done (each sends every queued row it read).
    pub drains: Arc<std::sync::atomic::AtomicU64>,
    /// When an unlinked phone's pairing attempt gives up, and why: armed by
    /// the first QR code (`sessions.pair_timeout_secs`) or by a pairing code
    /// (its validity), disarmed by a successful link.
    pub pair_deadline: Option<(tokio::time::Instant, &'static str)>,
}

impl Actor {
    pub(super) async fn run(mut self) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let (events_tx, mut events) = mpsc::unbounded_channel();
            let (failures_tx, mut connect_failures) = mpsc::unbounded_channel();
            let parts = ClientParts {
                backend: Arc::new(wadesk_wastore::SeaOrmBackend::new(
                    self.shared.db.clone(),
                    self.phone_id.clone(),
                )),
                server_url: self.shared.server_url.clone(),
                http: self.shared.http.clone(),
                events: events_tx,
                connect_failures: failures_tx,
                inbound: super::inbound::InboundStore {
                    metrics: self.shared.metrics.clone(),
                    events: self.shared.events.clone(),
                    phone_id: self.phone_id.clone(),
                    account_id: self.account_id.clone(),
                },
            };
            let bot = match engine::build_bot(parts).await {
                Ok(bot) => bot,
                Err(err) => {
                    if self.count_failure(&format!("{err:#}")).await {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.shared.settings.max_backoff);
                    continue;
                }
            };
            let handle = bot.spawn();
            let client = handle.client();
            self.client.send_replace(Some(client.clone()));
            let mut watchdog = tokio::time::interval(self.shared.settings.watchdog_interval);
            watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut unlinked = None;
            let ended = loop {
                tokio::select! {
                    command = self.commands.recv() => match command {
                        None => break true,
                        Some(Command::Stop(done)) => {
                            self.end();
                            handle.shutdown().await;
                            self.shared.statuses.flush().await;
                            self.client.send_replace(None);
                            let _ = done.send(());
                            return;
                        }
                        Some(Command::Logout(done)) => {
                            self.end();
                            client.logout().await;
                            handle.shutdown().await;
                            self.shared.statuses.flush().await;
                            self.client.send_replace(None);
                            // The caller deletes the keys next: not while a
                            // background task of the client may still write one.
                            released(client).await;
                            self.logged_out("logged out through the API").await;
                            let _ = done.send(());
                            return;
                        }
                        Some(Command::Send { id, fresh, reply }) => {
                            let drains = self.drains.load(std::sync::atomic::Ordering::SeqCst);
                            let row = match fresh {
                                Some((row, seen)) if seen == drains => Ok(Some(*row)),
                                // A drain may have sent it already: ask the
                                // outbox, once every status it wrote is in.
                                _ => {
                                    self.shared.statuses.flush().await;
                                    store::messages::find(&self.shared.db, &id).await
                                }
                            };
                            match row {
                                Ok(Some(row)) => {
                                    // Answered once the status is stored;
                                    // meanwhile this session takes the next command.
                                    let outcome = self.send_row(&client, row).await;
                                    let db = self.shared.db.clone();
                                    self.shared.tasks.spawn(async move {
                                        let _ = reply.send(outcome.stored(&db).await);
                                    });
                                }
                                Ok(None) => {
                                    let _ = reply.send(Handed::NotStored(format!("message {id} is not in the outbox")));
                                }
                                Err(err) => {
                                    tracing::error!(error = %err, "reading outbox");
                                    let _ = reply.send(Handed::NotStored(format!("reading the outbox: {err}")));
                                }
                            }
                        }
                        Some(Command::PairCode { number, reply }) => {
                            let options = PairCodeOptions {
                                phone_number: number,
                                ..Default::default()
                            };
                            let result = client
                                .pair_with_code(options)
                                .await
                                .map_err(pair_code_error);
                            if result.is_ok() {
                                // The code, not the QR rotation, now bounds the attempt.
                                self.pair_deadline = Some((
                                    tokio::time::Instant::now()
                                        + PairCodeUtils::code_validity()
                                        + Duration::from_secs(5),
                                    CODE_EXPIRED,
                                ));
                            }
                            let _ = reply.send(result);
                        }
                    },
                    event = events.recv() => match event {
                        None => break false,
                        Some(event) => match self.on_event(&client, &event).await {
                            Flow::Continue => {}
                            Flow::End => break true,
                            Flow::Expire(reason) => {
                                self.expire(handle, reason).await;
                                return;
                            }
                            Flow::Unlinked(reason) => {
                                unlinked = Some(reason);
                                break true;
                            }
                        },
                    },
                    Some(reason) = connect_failures.recv() => {
                        if self.connect_failed(&reason).await {
                            break true;
                        }
                    }
                    reason = until(self.pair_deadline) => {
                        self.expire(handle, reason).await;
                        return;
                    }
                    _ = watchdog.tick() => self.check_alive(&client).await,
                }
            };
            handle.shutdown().await;
            self.client.send_replace(None);
            if let Some(reason) = unlinked {
                // Only once the client has stopped writing do its keys go:
                // its background tasks hold the client until they end.
                released(client).await;
                self.logged_out(&reason).await;
            }
            if ended {
                return;
            }
            if self.connected {
                // Its next connection is a reconnect.
                self.lost = true;
            }
            // The client stopped on its own: start a new one after a pause.
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.shared.settings.max_backoff);
        }
    }

    async fn on_event(&mut self, client: &Arc<Client>, event: &Event) -> Flow {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let mut text = format!("{event:?}");
            text.truncate(160);
            tracing::debug!(phone_id = %self.phone_id, event = %text, "session event");
        }
        match event {
            Event::ChatPresence(update) => {
                self.on_typing(client, update).await;
                Flow::Continue
            }
            Event::IncomingCall(call) => {
                self.on_call(client, call).await;
                Flow::Continue
            }
            Event::Presence(update) => {
                self.on_presence(client, update).await;
                Flow::Continue
            }
            Event::GroupUpdate(update) => {
                self.on_group(client, update).await;
                Flow::Continue
            }
            Event::PairingQrCode(qr) => {
                if self.pair_deadline.is_none()
                    && let Some(timeout) = self.shared.settings.pair_timeout
                {
                    self.pair_deadline = Some((tokio::time::Instant::now() + timeout, QR_EXPIRED));
                }
                let update = PairUpdate::Qr {
                    code: qr.code.clone(),
                    expires_at: now_ms() + qr.timeout.as_millis() as i64,
                };
                *self.last_qr.lock().unwrap_or_else(|e| e.into_inner()) = Some(update.clone());
                let _ = self.pairing.send(update);
                self.event(
                    EventKind::PhoneQr,
                    json!({"expires_in": qr.timeout.as_secs()}),
                )
                .await;
                Flow::Continue
            }
            Event::PairingQrCodesExhausted(exhausted) => {
                self.last_qr
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if exhausted.disconnected {
                    Flow::Expire(QR_EXPIRED)
                } else {
                    // A pairing code is outstanding on this connection and
                    // stays valid past the QR rotation: keep waiting for it.
                    Flow::Continue
                }
            }
            Event::PairSuccess(success) => {
                self.pair_deadline = None;
                let number = success.id.user.to_string();
                self.last_qr
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                let _ = self.pairing.send(PairUpdate::Paired {
                    number: number.clone(),
                });
                self.transition(
                    StatusChange::new(PhoneStatus::Connecting).number(number),
                    None,
                )
                .await;
                Flow::Continue
            }
            Event::PairError(err) => {
                let reason = format!("pairing failed: {}", err.error);
                let _ = self.pairing.send(PairUpdate::Failed {
                    reason: reason.clone(),
                });
                self.failed(&reason).await;
                Flow::End
            }
            Event::Connected(_) => {
                self.connected = true;
                if std::mem::take(&mut self.lost) {
                    self.shared.metrics.reconnected(&self.phone_id);
                }
                self.connected_since
                    .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
                self.failures = 0;
                let number = client.pn().map(|jid| jid.user.to_string());
                let mut change = StatusChange::new(PhoneStatus::Connected).last_seen(now_ms());
                if let Some(number) = &number {
                    change = change.number(number.clone());
                }
                self.transition(
                    change,
                    Some((EventKind::PhoneConnected, json!({"number": number}))),
                )
                .await;
                let _ = self.pairing.send(PairUpdate::Connected { number });
                self.drain_outbox(client).await;
                Flow::Continue
            }
            Event::Receipt(receipt) => {
                use whatsapp_rust::wacore::types::presence::ReceiptType;
                let status = match receipt.r#type {
                    ReceiptType::Delivered => MessageStatus::Delivered,
                    ReceiptType::Read | ReceiptType::ReadSelf | ReceiptType::Played => {
                        MessageStatus::Read
                    }
                    _ => return Flow::Continue,
                };
                // whatsapp-rust names the group as the receipt's chat.
                if receipt.source.chat.server == whatsapp_rust::wacore_binary::Server::Group {
                    self.group_receipt(client, receipt, status == MessageStatus::Read)
                        .await;
                    return Flow::Continue;
                }
                for id in &receipt.message_ids {
                    self.advance_by_wa_id(id.as_ref(), status, None);
                }
                Flow::Continue
            }
            Event::ServerAck(ack) => {
                if ack.class.as_deref() == Some("message")
                    && let Some(code) = ack.error.as_deref()
                {
                    let reason = format!("rejected by WhatsApp (error {code})");
                    self.advance_by_wa_id(&ack.id, MessageStatus::Failed, Some(reason));
                }
                Flow::Continue
            }
            Event::Disconnected(disconnected) => {
                if std::mem::take(&mut self.connected) {
                    self.lost = true;
                    let reason = format!("disconnected: {}", disconnected.reason);
                    self.transition(
                        StatusChange::new(PhoneStatus::Disconnected).reason(&reason),
                        Some((EventKind::PhoneDisconnected, json!({"reason": reason}))),
                    )
                    .await;
                }
                Flow::Continue
            }
            Event::LoggedOut(logged_out) => {
                self.end();
                Flow::Unlinked(format!("unlinked from the phone ({:?})", logged_out.reason))
            }
            Event::StreamReplaced(_) => {
                // Another client logged in with these keys. Reconnecting would
                // only kick it out in turn, so report it and stop.
                self.end();
                self.connected = false;
                let reason = "stream replaced: this WhatsApp session was opened by another client";
                self.transition(
                    StatusChange::new(PhoneStatus::Disconnected).reason(reason),
                    Some((EventKind::PhoneDisconnected, json!({"reason": reason}))),
                )
                .await;
                Flow::End
            }
            Event::TemporaryBan(ban) => {
                self.end();
                let until = now_ms() + ban.expire.num_milliseconds();
                let reason = format!("temporarily banned by WhatsApp ({:?})", ban.code);
                self.transition(
                    StatusChange::new(PhoneStatus::Banned)
                        .reason(&reason)
                        .ban_expires_at(until),
                    Some((
                        EventKind::PhoneBanned,
                        json!({"reason": reason, "ban_expires_at": until / 1000}),
                    )),
                )
                .await;
                Flow::End
            }
            Event::ConnectFailure(failure) => {
                let reason = format!(
                    "connect failure: {:?}{}",
                    failure.reason,
                    failure
                        .message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                );
                self.event(EventKind::PhoneConnectFailed, json!({"reason": reason}))
                    .await;
                if self.count_failure(&reason).await {
                    Flow::End
                } else {
                    Flow::Continue
                }
            }
            _ => Flow::Continue,
        }
    }

    /// Sends every message still queued for this phone (after a restart or a
    /// reconnect), oldest first; each exactly once, since only this task sends.
    async fn drain_outbox(&mut self, client: &Arc<Client>) {
        // Sends of this session whose status is still on its way would read
        // as queued: let them land first.
        self.shared.statuses.flush().await;
        let queued = store::messages::queued_for_phone(&self.shared.db, &self.phone_id).await;
        // Counted once the read is done: a row it saw was inserted after its
        // sender's ticket (taken before the insert) and before this count, so
        // that sender's command finds the count moved and reads the row again
        // rather than sending its copy (the commands wait while this runs).
        // Counting before the read would let a ticket taken between the two
        // trust a row the drain also sends.
        self.drains
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match queued {
            Ok(rows) => {
                for row in rows {
                    // The status writer records each outcome.
                    self.send_row(client, row).await;
                }
            }
            Err(err) => tracing::error!(phone_id = %self.phone_id, error = %err, "reading outbox"),
        }
    }

    /// Hands one queued message to WhatsApp; its outcome goes to the status
    /// writer (see [`Sent::stored`] to wait for it).
    pub(super) async fn send_row(&mut self, client: &Arc<Client>, row: message::Model) -> Sent {
        if row.status != MessageStatus::Queued {
            return Sent {
                row,
                stored: None,
                failure: None,
            };
        }
        let outcome = super::outbox::send(client, &mut self.registered, &row).await;
        if outcome.is_ok() {
            self.apply_change(&row).await;
        }
        let (status, failure) = match outcome {
            Ok(()) => (MessageStatus::Sent, None),
            Err(failure) => (MessageStatus::Failed, Some(failure)),
        };
        let target = store::messages::Target::Id(row.id.clone());
        let reason = failure.as_ref().map(ToString::to_string);
        let stored = self.shared.statuses.enqueue(target, status, reason);
        Sent {
            row,
            stored: Some(stored),
            failure,
        }
    }

    /// An edit or a deletion for everyone that went out changes the stored
    /// message it names (a failure is logged: the change was sent).
    async fn apply_change(&self, row: &message::Model) {
        let (Some(target), at) = (row.reply_to.as_deref(), now_ms()) else {
            return;
        };
        let db = &self.shared.db;
        let applied = match row.kind {
            crate::store::entity::vocab::MessageKind::Edit => {
                store::messages::apply_edit(
                    db,
                    &self.phone_id,
                    target,
                    row.text.as_deref().unwrap_or_default(),
                    at,
                )
                .await
            }
            crate::store::entity::vocab::MessageKind::Revoke => {
                store::messages::apply_revoke(db, &self.phone_id, target, at).await
            }
            _ => return,
        };
        if let Err(err) = applied {
            tracing::error!(phone_id = %self.phone_id, message_id = %target, error = %err, "recording an edit or deletion that was sent");
        }
    }

    /// A receipt or an ack: the message it names moves forward, with its
    /// message.status event (written by the status writer; not waited for).
    /// A participant's receipt of a group message: kept per participant;
    /// the message is delivered (read) once every other participant's
    /// receipt says so.
    async fn group_receipt(
        &self,
        client: &Arc<Client>,
        receipt: &whatsapp_rust::wacore::types::events::Receipt,
        read: bool,
    ) {
        let number = super::signals::number_of(client, &receipt.source.sender).await;
        let at = receipt.timestamp.timestamp_millis();
        let others = client
            .groups()
            .query_info(&receipt.source.chat)
            .await
            .map(|info| info.participants.len().saturating_sub(1))
            .ok();
        for id in &receipt.message_ids {
            let kept = store::messages::record_receipt(
                &self.shared.db,
                &self.phone_id,
                id.as_ref(),
                &number,
                read,
                at,
            )
            .await;
            let all = match kept {
                Ok(all) => all,
                Err(err) => {
                    tracing::error!(phone_id = %self.phone_id, error = %err, "storing a group receipt");
                    continue;
                }
            };
            let Some(others) = others.filter(|n| *n > 0) else {
                continue;
            };
            let read_by = all.iter().filter(|(_, s, _)| s == "read").count();
            if all.len() >= others {
                self.advance_by_wa_id(id.as_ref(), MessageStatus::Delivered, None);
            }
            if read_by >= others {
                self.advance_by_wa_id(id.as_ref(), MessageStatus::Read, None);
            }
        }
    }

    fn advance_by_wa_id(&self, wa_id: &str, status: MessageStatus, reason: Option<String>) {
        let target = store::messages::Target::WaId {
            phone_id: self.phone_id.clone(),
            wa_id: wa_id.to_owned(),
        };
        self.shared.statuses.record(target, status, reason);
    }

    /// A connected session that has heard nothing for too long is dead even
    /// if the socket says otherwise: reconnect it.
    async fn check_alive(&mut self, client: &Arc<Client>) {
        if !client.is_connected() {
            return;
        }
        let last = client.stats().last_data_received_ms as i64;
        if last > 0 {
            let _ = store::phones::touch_last_seen(&self.shared.db, &self.phone_id, last).await;
            self.shared.phones.invalidate(&self.phone_id);
        }
        let silent = now_ms() - last;
        if last > 0 && silent > self.shared.settings.dead_after.as_millis() as i64 {
            tracing::warn!(phone_id = %self.phone_id, silent_ms = silent, "session silent past the keepalive window; reconnecting");
            client.reconnect().await;
        }
    }

    /// Counts a failure; past the cap the phone is failed and the actor ends.
    async fn count_failure(&mut self, reason: &str) -> bool {
        self.failures += 1;
        tracing::warn!(phone_id = %self.phone_id, failures = self.failures, %reason, "session failure");
        if self.failures >= self.shared.settings.max_failures {
            self.failed(&format!(
                "gave up after {} failures in a row; last: {reason}",
                self.failures
            ))
            .await;
            return true;
        }
        false
    }

    /// A connection attempt failed before WhatsApp answered (DNS, refused,
    /// TLS): a `phone.connect_failed` event with the cause, counted as a
    /// failure. Past `sessions.max_failures` in a row the phone is failed
    /// with the last cause as its status reason, and a pairing in progress
    /// ends with it; true then.
    async fn connect_failed(&mut self, cause: &str) -> bool {
        let reason = format!("cannot reach WhatsApp: {cause}");
        self.event(EventKind::PhoneConnectFailed, json!({"reason": reason}))
            .await;
        if !self.count_failure(&reason).await {
            return false;
        }
        let _ = self.pairing.send(PairUpdate::Failed {
            reason: format!(
                "gave up after {} failed connection attempts; last: {reason}",
                self.failures
            ),
        });
        true
    }

    async fn failed(&mut self, reason: &str) {
        self.end();
        self.connected = false;
        self.transition(
            StatusChange::new(PhoneStatus::Failed).reason(reason),
            Some((EventKind::PhoneFailed, json!({"reason": reason}))),
        )
        .await;
    }

    /// whatsapp-rust keeps the keys on logout; an unlinked device's keys are
    /// useless and sensitive, so they go.
    async fn logged_out(&mut self, reason: &str) {
        self.end();
        self.connected = false;
        if let Err(err) = wadesk_wastore::delete_phone(&self.shared.db, &self.phone_id).await {
            tracing::error!(phone_id = %self.phone_id, error = %err, "deleting session keys");
        }
        self.transition(
            StatusChange::new(PhoneStatus::LoggedOut).reason(reason),
            Some((EventKind::PhoneLoggedOut, json!({"reason": reason}))),
        )
        .await;
    }

    /// Ends a pairing attempt that ran out of time: the client is stopped
    /// first, so a pairing started after the EXPIRED update gets a fresh one.
    async fn expire(&mut self, handle: whatsapp_rust::bot::BotHandle, reason: &str) {
        self.end();
        self.last_qr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        handle.shutdown().await;
        self.client.send_replace(None);
        self.transition(
            StatusChange::new(PhoneStatus::Pending).reason(reason),
            Some((EventKind::PhoneQrExpired, json!({"reason": reason}))),
        )
        .await;
        let _ = self.pairing.send(PairUpdate::Expired {
            reason: reason.to_owned(),
        });
    }

    fn end(&self) {
        self.ending.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// A status change and its event, in one transaction. Nobody waits on
    /// an actor's changes, so a failed write is logged (the next change or
    /// a restart writes the status again).
    async fn transition(
        &self,
        change: StatusChange,
        event: Option<(EventKind, serde_json::Value)>,
    ) {
        let event = event.map(|(kind, payload)| PhoneEvent {
            account_id: self.account_id.clone(),
            kind,
            payload,
        });
        if let Err(err) = self
            .shared
            .update_status(&self.phone_id, change, event)
            .await
        {
            tracing::error!(phone_id = %self.phone_id, error = %err, "updating phone status");
        }
    }

    pub(super) async fn event(&self, kind: EventKind, payload: serde_json::Value) {
        let new = store::events::NewEvent {
            account_id: &self.account_id,
            phone_id: Some(&self.phone_id),
            kind,
            payload,
        };
        if let Err(err) = self.shared.events.append(new).await {
            tracing::error!(phone_id = %self.phone_id, error = %err, event = %kind, "writing event");
        }
    }
}

/// A message handed to WhatsApp (or found already handled), its status on
/// its way to the database.
pub(super) struct Sent {
    row: message::Model,
    stored: Option<oneshot::Receiver<super::statuses::Stored>>,
    failure: Option<SendFailure>,
}

/// What a session did with a message it was handed.
#[derive(Debug)]
pub enum Handed {
    /// Handled, its status stored: the row as it is now, and why WhatsApp
    /// did not take it when it failed in this hand-over.
    Done {
        row: Box<message::Model>,
        failure: Option<SendFailure>,
    },
    /// The status (or the row) could not be read or written: the message's
    /// state is unknown to the caller (the cause is logged).
    NotStored(String),
}

impl Sent {
    /// The message once its new status is stored.
    pub(super) async fn stored(self, db: &sea_orm::DatabaseConnection) -> Handed {
        let failure = self.failure;
        let Some(stored) = self.stored else {
            return Handed::Done {
                row: Box::new(self.row),
                failure,
            };
        };
        match stored.await {
            Ok(Ok(Some(row))) => Handed::Done {
                row: Box::new(row),
                failure,
            },
            // It did not move (a receipt got there first): the stored row
            // says where it is.
            Ok(Ok(None)) => match store::messages::find(db, &self.row.id).await {
                Ok(row) => Handed::Done {
                    row: Box::new(row.unwrap_or(self.row)),
                    failure,
                },
                Err(err) => Handed::NotStored(format!("reading message {}: {err}", self.row.id)),
            },
            Ok(Err(err)) => Handed::NotStored(format!(
                "storing the status of message {}: {err}",
                self.row.id
            )),
            Err(_) => Handed::NotStored("the status writer stopped".into()),
        }
    }
}

/// The caller's errors (both were 500s, found by the schemathesis run of
/// issue 18): a pairing code asked for while the last one is still valid
/// (409), and a number WhatsApp does not know (400 naming `number`).
/// Anything else is ours.
fn pair_code_error(err: whatsapp_rust::pair_code::PairError) -> crate::error::Error {
    use whatsapp_rust::{IqError, pair_code::PairError, wacore::pair_code::PairCodeError};
    match err {
        PairError::RequestFailed(IqError::ServerError { code: 404, .. }) => {
            crate::error::Error::invalid("number", "is not a WhatsApp number")
        }
        PairError::PairCode(PairCodeError::CodeAlreadyOutstanding { remaining }) => {
            crate::error::Error::Conflict(format!(
                "a pairing code for this phone is still valid for {} s: enter that one, or ask again once it expires",
                remaining.as_secs()
            ))
        }
        other => crate::error::Error::Internal(
            anyhow::anyhow!("{other}").context("requesting a pairing code"),
        ),
    }
}
