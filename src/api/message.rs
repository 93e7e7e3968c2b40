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

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// Page tokens are opaque to callers: the last row's position, base64url.
fn encode_token(created_at: i64, id: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_token(token: &str) -> Result<(i64, String), Error> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let bad = || Error::invalid("page_token", "is not a token from a previous answer");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_owned()))
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
        let page_size = match req.page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
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
        timestamp: row.created_at / 1000,
        bulk_id: None,
        sent_by_bot: false,
    }
}
