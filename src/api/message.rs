use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    error::Error,
    events::EventFilter,
    proto::{self, Direction, message_service_server::MessageService},
    store::{self, entity::vocab},
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
            message: Some(proto::Message::from((&phone, row))),
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
            Ok(Direction::Inbound) => Some(vocab::Direction::Inbound),
            Ok(Direction::Outbound) => Some(vocab::Direction::Outbound),
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
            messages: rows
                .into_iter()
                .map(|r| proto::Message::from((&phone, r)))
                .collect(),
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
        let names = EventFilter::parse("events", &req.events)?;
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
            names: names.names(),
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
    names: EventFilter,
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
