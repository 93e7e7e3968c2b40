use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, Direction, MessageStatus, MessageType, message_service_server::MessageService},
    store::{
        self,
        entity::{message, phone},
    },
};

pub struct MessageApi(pub State);

/// A message's position in ListMessages' order.
fn encode_token(created_at: i64, id: &str) -> String {
    super::paging::encode(&format!("{created_at}:{id}"))
}

fn decode_token(token: &str) -> Result<(i64, String), Error> {
    super::paging::decode(token, |raw| {
        let (at, id) = raw.split_once(':')?;
        Some((at.parse().ok()?, id.to_owned()))
    })
}

#[tonic::async_trait]
impl MessageService for MessageApi {
    async fn get_message(
        &self,
        request: Request<proto::GetMessageRequest>,
    ) -> Result<Response<proto::GetMessageResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        validate::required("message_id", &req.message_id)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let row = store::messages::find_by_wa_id(&self.0.db, &phone.id, req.message_id.trim())
            .await
            .map_err(Error::from)?
            .ok_or_else(|| {
                Error::NotFound(format!("message {} not found", req.message_id.trim()))
            })?;
        Ok(Response::new(proto::GetMessageResponse {
            message: Some(message_proto(&phone, row)),
        }))
    }

    async fn list_messages(
        &self,
        request: Request<proto::ListMessagesRequest>,
    ) -> Result<Response<proto::ListMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let direction = match Direction::try_from(req.direction) {
            Ok(Direction::Unspecified) => None,
            Ok(Direction::Inbound) => Some("inbound"),
            Ok(Direction::Outbound) => Some("outbound"),
            Err(_) => return Err(Error::invalid("direction", "unknown direction").into()),
        };
        let chat = match req.chat.trim() {
            "" => None,
            chat => Some(validate::phone_number("chat", chat)?),
        };
        let page_size = super::paging::size(req.page_size);
        let before = match req.page_token.as_str() {
            "" => None,
            token => Some(decode_token(token)?),
        };
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let filter = store::messages::ListFilter {
            direction,
            peer: chat.as_deref(),
            before,
        };
        let mut rows = store::messages::list(&self.0.db, &phone.id, filter, page_size as u64 + 1)
            .await
            .map_err(Error::from)?;
        let next_page_token = if rows.len() > page_size as usize {
            rows.truncate(page_size as usize);
            rows.last()
                .map(|last| encode_token(last.created_at, &last.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListMessagesResponse {
            messages: rows.into_iter().map(|r| message_proto(&phone, r)).collect(),
            next_page_token,
        }))
    }

    type SubscribeStream =
        Pin<Box<dyn Stream<Item = Result<proto::SubscribeResponse, Status>> + Send + 'static>>;

    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let names = EventNames::parse(&req.events)?;
        let cursor = i64::try_from(req.cursor)
            .map_err(|_| Error::invalid("cursor", "is larger than any cursor"))?;
        let phone_id = match req.phone_id.trim() {
            "" => None,
            id => Some(validate::owned_phone(&self.0, caller, id).await?.id),
        };
        let db = self.0.db.clone();
        // Subscribe to new events before choosing the start, so nothing
        // appended in between is missed.
        let live = self.0.tail.subscribe().await.map_err(Error::from)?;
        let start = match cursor {
            0 => store::events::head(&db).await.map_err(Error::from)?,
            n => n,
        };
        let filter = store::events::Filter {
            account_id: caller.account_id.clone(),
            phone_id,
            names: names.exact_only(),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        tokio::spawn(follow(
            db,
            filter,
            names,
            start,
            live,
            tx,
            self.0.shutdown.clone(),
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// Events buffered per subscriber before it counts as too slow.
const STREAM_BUFFER: usize = 256;
/// How long a subscriber may leave a full buffer unread.
const SLOW_SUBSCRIBER: std::time::Duration = std::time::Duration::from_secs(30);
/// Events read from the log per query.
const PAGE: u64 = 200;

/// Replays the log after `after`, then follows it live, until the
/// subscriber goes away or stops reading. Live events come from the
/// database's [`store::events::Tail`] (one query per append for every
/// stream); a subscriber that falls behind it reads the log again from its
/// own cursor. Memory per subscriber is the bounded buffer plus one page:
/// the log itself is the backlog.
async fn follow(
    db: sea_orm::DatabaseConnection,
    filter: store::events::Filter,
    names: EventNames,
    mut after: i64,
    mut live: tokio::sync::broadcast::Receiver<std::sync::Arc<store::entity::event::Model>>,
    tx: tokio::sync::mpsc::Sender<Result<proto::SubscribeResponse, Status>>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        // Catch up from the log.
        loop {
            let page = match store::events::list_after(&db, &filter, after, PAGE).await {
                Ok(page) => page,
                Err(err) => {
                    let _ = tx.send(Err(Error::from(err).into())).await;
                    return;
                }
            };
            let full = page.len() as u64 == PAGE;
            for event in page {
                after = event.cursor;
                if names.matches(&event.event) && !deliver(&tx, event, &shutdown).await {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        // Then live, until this subscriber falls behind the tail.
        loop {
            let event = tokio::select! {
                received = live.recv() => match received {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => {
                    let _ = tx.try_send(Err(stopping(after)));
                    return;
                }
            };
            if event.cursor <= after {
                continue; // read from the log already
            }
            let ours = event.account_id == filter.account_id
                && filter
                    .phone_id
                    .as_ref()
                    .is_none_or(|p| event.phone_id.as_ref() == Some(p));
            if !ours {
                continue;
            }
            after = event.cursor;
            if names.matches(&event.event) && !deliver(&tx, (*event).clone(), &shutdown).await {
                return;
            }
        }
    }
}

fn stopping(after: i64) -> Status {
    Status::unavailable(format!(
        "the server is shutting down; resume with cursor={after}"
    ))
}

/// Hands one event to the subscriber's buffer; false when the stream is
/// over (gone, too slow, or the server stopping).
async fn deliver(
    tx: &tokio::sync::mpsc::Sender<Result<proto::SubscribeResponse, Status>>,
    event: store::entity::event::Model,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    let reserve = tokio::select! {
        reserved = tokio::time::timeout(SLOW_SUBSCRIBER, tx.reserve()) => reserved,
        _ = shutdown.cancelled() => {
            let _ = tx.try_send(Err(stopping(event.cursor - 1)));
            return false;
        }
    };
    match reserve {
        Ok(Ok(permit)) => {
            permit.send(Ok(event_proto(event)));
            true
        }
        Ok(Err(_)) => false, // the subscriber is gone
        Err(_) => {
            tracing::info!(
                cursor = event.cursor - 1,
                "event subscriber too slow; disconnected"
            );
            let status = Status::resource_exhausted(format!(
                "this subscriber did not keep up; resume with cursor={}",
                event.cursor - 1
            ));
            let _ = tokio::time::timeout(SLOW_SUBSCRIBER, tx.send(Err(status))).await;
            false
        }
    }
}

fn event_proto(event: store::entity::event::Model) -> proto::SubscribeResponse {
    let data = serde_json::from_str(&event.payload).unwrap_or(serde_json::Value::Null);
    proto::SubscribeResponse {
        cursor: event.cursor as u64,
        event_id: event.id,
        event: event.event,
        phone_id: event.phone_id.unwrap_or_default(),
        created_at: Some(super::convert::timestamp(event.created_at)),
        data: Some(super::convert::json_struct(data)),
    }
}

/// The event names a subscriber asked for: exact names and `family.*`.
#[derive(Debug, Default)]
struct EventNames {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl EventNames {
    fn parse(raw: &[String]) -> Result<EventNames, Error> {
        let mut names = EventNames::default();
        for name in raw.iter().flat_map(|r| r.split(',')).map(str::trim) {
            if name.is_empty() {
                continue;
            }
            let (base, wildcard) = match name.strip_suffix(".*") {
                Some(base) => (base, true),
                None => (name, false),
            };
            let valid = name == "*"
                || (!base.is_empty()
                    && base.len() <= 64
                    && base.split('.').all(|part| {
                        !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }));
            if !valid {
                return Err(Error::invalid(
                    "events",
                    format!("{name:?} is not an event name (e.g. message.received or phone.*)"),
                ));
            }
            match (name, wildcard) {
                ("*", _) => return Ok(EventNames::default()),
                (_, true) => names.prefixes.push(format!("{base}.")),
                (_, false) => names.exact.push(name.to_owned()),
            }
        }
        Ok(names)
    }

    /// The names the database can filter on (only when there is no wildcard).
    fn exact_only(&self) -> Vec<String> {
        if self.prefixes.is_empty() {
            self.exact.clone()
        } else {
            Vec::new()
        }
    }

    fn matches(&self, name: &str) -> bool {
        (self.exact.is_empty() && self.prefixes.is_empty())
            || self.exact.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

fn message_proto(phone: &phone::Model, row: message::Model) -> proto::Message {
    let outbound = row.direction == "outbound";
    let own = phone.number.clone().unwrap_or_default();
    let (from, to) = if outbound {
        (own, row.peer.clone())
    } else {
        (row.peer.clone(), own)
    };
    let enum_of = |prefix: &str, value: &str| format!("{prefix}_{}", value.to_ascii_uppercase());
    proto::Message {
        message_id: row.wa_id,
        phone_id: row.phone_id,
        direction: if outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        } as i32,
        from,
        to,
        r#type: MessageType::from_str_name(&enum_of("MESSAGE_TYPE", &row.kind))
            .unwrap_or(MessageType::Other) as i32,
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
        status: MessageStatus::from_str_name(&enum_of("MESSAGE_STATUS", &row.status))
            .unwrap_or(MessageStatus::Unspecified) as i32,
        reason: row.reason,
        timestamp: row.sent_at.unwrap_or(row.created_at) / 1000,
        bulk_id: None,
        sent_by_bot: false,
    }
}
