use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    error::Error,
    events::{
        EventFilter,
        follow::{self, Ended},
    },
    proto::{self, Direction, message_service_server::MessageService},
    store::{self, entity::vocab},
};

pub(crate) struct MessageApi(pub State);

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

impl MessageApi {
    /// Rows as the API shows them, polls with their tallies.
    async fn described(
        &self,
        phone: &crate::store::entity::phone::Model,
        rows: Vec<crate::store::entity::message::Model>,
    ) -> Result<Vec<proto::Message>, Error> {
        let mut tallies = crate::history::tallies(&self.0.db, phone, &rows).await?;
        // Each participant's receipt of a message to a group.
        let mut receipts = std::collections::HashMap::new();
        for row in rows.iter().filter(|r| r.peer.ends_with("@g.us")) {
            let got = crate::store::messages::receipts(&self.0.db, &phone.id, &row.wa_id).await?;
            receipts.insert(row.wa_id.clone(), got);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let counted = tallies.remove(&row.wa_id);
                let got = receipts.remove(&row.wa_id).unwrap_or_default();
                let mut message = proto::Message::from((phone, row));
                message.receipts = got
                    .into_iter()
                    .map(|(number, status, at)| proto::GroupReceipt {
                        number,
                        status: if status == "read" {
                            proto::MessageStatus::Read
                        } else {
                            proto::MessageStatus::Delivered
                        } as i32,
                        at: Some(super::convert::timestamp(at)),
                    })
                    .collect();
                if let (Some(poll), Some(counted)) = (message.poll.as_mut(), counted) {
                    for (option, (_, voters)) in poll.options.iter_mut().zip(counted) {
                        option.votes = voters.len() as u32;
                        option.voters = voters;
                    }
                }
                message
            })
            .collect())
    }
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
        let row = crate::history::find(&self.0.db, &phone, &req.message_id).await?;
        let message = self.described(&phone, vec![row]).await?.pop();
        Ok(Response::new(proto::GetMessageResponse { message }))
    }

    async fn list_chats(
        &self,
        request: Request<proto::ListChatsRequest>,
    ) -> Result<Response<proto::ListChatsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let size = super::paging::size(req.page_size);
        let before = match req.page_token.as_str() {
            "" => None,
            token => Some(super::paging::decode(token, |raw| {
                raw.strip_prefix("chat:")?.parse::<i64>().ok()
            })?),
        };
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let mut chats = self.0.chats.list(&phone, before, size as u64 + 1).await?;
        let next_page_token = if chats.len() > size as usize {
            chats.truncate(size as usize);
            chats
                .last()
                .map(|(c, _)| super::paging::encode(&format!("chat:{}", c.last_at)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListChatsResponse {
            chats: chats
                .into_iter()
                .map(|(chat, last)| proto::Chat {
                    name: last.as_ref().and_then(|m| m.push_name.clone()),
                    last_message: last.map(|m| proto::Message::from((&phone, m))),
                    unread: u32::try_from(chat.unread).unwrap_or_default(),
                    chat: chat.peer,
                })
                .collect(),
            next_page_token,
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
        let mut rows =
            crate::history::list(&self.0.db, &phone, filter, page_size as u64 + 1).await?;
        let next_page_token = if rows.len() > page_size as usize {
            rows.truncate(page_size as usize);
            rows.last()
                .map(|last| encode_token(last.created_at, &last.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListMessagesResponse {
            messages: self.described(&phone, rows).await?,
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
            "" => {
                caller.all_phones("phone_id")?;
                None
            }
            id => Some(validate::owned_phone(&self.0, caller, id).await?.id),
        };
        let filter = store::events::Filter {
            account_id: caller.account_id.clone(),
            phone_id,
            names: names.names(),
        };
        let at = follow::Follower {
            tail: &self.0.tail,
            shutdown: &self.0.shutdown,
            tasks: &self.0.tasks,
        };
        let events = follow::subscribe(at, filter, names, cursor).await?;
        Ok(Response::new(Box::pin(events.map(|item| match item {
            Ok(event) => Ok(event.into()),
            Err(ended) => Err(ended_status(ended)),
        }))))
    }
}

/// How a subscription ended, as gRPC says it (the stream then closes).
fn ended_status(ended: Ended) -> Status {
    match ended {
        Ended::TooSlow { cursor } => Status::resource_exhausted(format!(
            "this subscriber did not keep up; resume with cursor={cursor}"
        )),
        Ended::Stopping { cursor } => Status::unavailable(format!(
            "the server is shutting down; resume with cursor={cursor}"
        )),
        Ended::Failed(err) => err.into(),
    }
}
