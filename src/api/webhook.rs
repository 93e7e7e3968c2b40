use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, webhook_service_server::WebhookService},
};

pub struct WebhookApi(pub State);

const WEBHOOKS: &str = "webhooks (the event log and delivery worker)";

/// Event names a webhook can filter on.
const EVENTS: &[&str] = &[
    "message.received",
    "message.status",
    "phone.qr",
    "phone.qr_expired",
    "phone.connected",
    "phone.disconnected",
    "phone.logged_out",
    "phone.banned",
    "phone.failed",
    "bulk.progress",
    "bulk.completed",
];

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn set_webhook(
        &self,
        request: Request<proto::SetWebhookRequest>,
    ) -> Result<Response<proto::SetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        validate::http_url("webhook_url", &req.webhook_url)?;
        if let Some(unknown) = req.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(Error::invalid(
                "events",
                format!("unknown event {unknown:?}; known: {}", EVENTS.join(", ")),
            )
            .into());
        }
        validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(WEBHOOKS).into())
    }

    async fn get_webhook(
        &self,
        request: Request<proto::GetWebhookRequest>,
    ) -> Result<Response<proto::GetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built(WEBHOOKS).into())
    }

    async fn delete_webhook(
        &self,
        request: Request<proto::DeleteWebhookRequest>,
    ) -> Result<Response<proto::DeleteWebhookResponse>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built(WEBHOOKS).into())
    }

    async fn list_deliveries(
        &self,
        request: Request<proto::ListDeliveriesRequest>,
    ) -> Result<Response<proto::ListDeliveriesResponse>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built(WEBHOOKS).into())
    }

    async fn redeliver_event(
        &self,
        request: Request<proto::RedeliverEventRequest>,
    ) -> Result<Response<proto::RedeliverEventResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        validate::required("event_id", &req.event_id)?;
        validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(WEBHOOKS).into())
    }
}
