use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
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

const MESSAGES: &str = "the message store (inbound and outbound messages)";

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
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built(MESSAGES).into())
    }

    type SubscribeStream =
        Pin<Box<dyn Stream<Item = Result<proto::SubscribeResponse, Status>> + Send + 'static>>;

    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        if !req.phone_id.is_empty() {
            validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        }
        Err(not_built("event streams (the event log)").into())
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
        text: row.text,
        media: None,
        location: row.lat.zip(row.lng).map(|(lat, lng)| proto::Location {
            lat,
            lng,
            name: row.location_name,
        }),
        status: MessageStatus::from_str_name(&enum_of("MESSAGE_STATUS", &row.status))
            .unwrap_or(MessageStatus::Unspecified) as i32,
        reason: row.reason,
        timestamp: row.created_at / 1000,
        bulk_id: None,
        sent_by_bot: false,
    }
}
