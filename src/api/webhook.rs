//! WebhookService: decode, call [`crate::webhooks::Webhooks`], convert.

use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, webhook_service_server::WebhookService},
    webhooks::hooks::Target,
};

pub(crate) struct WebhookApi(pub State);

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn set_webhook(
        &self,
        request: Request<proto::SetWebhookRequest>,
    ) -> Result<Response<proto::SetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let target = Target::parse(&req.webhook_url, &req.events)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let (hook, secret) = self.0.webhooks.set(&phone, target).await?;
        Ok(Response::new(proto::SetWebhookResponse {
            webhook: Some((&hook).into()),
            secret,
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<proto::GetWebhookRequest>,
    ) -> Result<Response<proto::GetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let hook = self.0.webhooks.get(&phone).await?;
        Ok(Response::new(proto::GetWebhookResponse {
            webhook: Some((&hook).into()),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<proto::DeleteWebhookRequest>,
    ) -> Result<Response<proto::DeleteWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        self.0.webhooks.delete(&phone).await?;
        Ok(Response::new(proto::DeleteWebhookResponse {
            phone_id: phone.id,
        }))
    }

    async fn list_deliveries(
        &self,
        request: Request<proto::ListDeliveriesRequest>,
    ) -> Result<Response<proto::ListDeliveriesResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let page_size = super::paging::size(req.page_size);
        let before = match req.page_token.as_str() {
            "" => None,
            token => Some(decode_token(token)?),
        };
        let event_id = Some(req.event_id.trim()).filter(|e| !e.is_empty());
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let hook = self.0.webhooks.get(&phone).await?;
        let mut rows = self
            .0
            .webhooks
            .deliveries(&hook, event_id, before, page_size as u64 + 1)
            .await?;
        let next_page_token = if rows.len() > page_size as usize {
            rows.truncate(page_size as usize);
            rows.last().map(|r| encode_token(r.seq)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListDeliveriesResponse {
            deliveries: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn redeliver_event(
        &self,
        request: Request<proto::RedeliverEventRequest>,
    ) -> Result<Response<proto::RedeliverEventResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let event_id = validate::required("event_id", &req.event_id)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let hook = self.0.webhooks.get(&phone).await?;
        let event_id = self.0.webhooks.redeliver(&hook, event_id).await?;
        Ok(Response::new(proto::RedeliverEventResponse { event_id }))
    }
}

/// Page tokens are opaque to callers: the last row's position, base64url.
fn encode_token(seq: i64) -> String {
    super::paging::encode(&format!("dlv:{seq}"))
}

fn decode_token(token: &str) -> Result<i64, Error> {
    super::paging::decode(token, |raw| raw.strip_prefix("dlv:")?.parse().ok())
}
