use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::caller,
    proto::{self, message_service_server::MessageService},
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
        validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(MESSAGES).into())
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
