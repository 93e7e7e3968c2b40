use tonic::{Request, Response, Status};

use super::{State, convert::timestamp, validate};
use crate::{
    auth::caller,
    error::Error,
    events::EventFilter,
    fetch::FetchError,
    proto::{self, webhook_service_server::WebhookService},
    store::{
        self,
        entity::{webhook, webhook_attempt},
    },
    webhooks::sign,
};

pub struct WebhookApi(pub State);

fn no_webhook(phone_id: &str) -> Error {
    Error::NotFound(format!("phone {phone_id} has no webhook"))
}

impl WebhookApi {
    /// The caller's phone's webhook, or 404.
    async fn webhook(
        &self,
        caller: &crate::auth::AuthContext,
        phone_id: &str,
    ) -> Result<webhook::Model, Error> {
        let phone = validate::owned_phone(&self.0, caller, phone_id).await?;
        store::webhooks::find_for_phone(&self.0.db, &caller.account_id, &phone.id)
            .await?
            .ok_or_else(|| no_webhook(&phone.id))
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn set_webhook(
        &self,
        request: Request<proto::SetWebhookRequest>,
    ) -> Result<Response<proto::SetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let url = validate::http_url("webhook_url", &req.webhook_url)?;
        validate::max_len("webhook_url", url.as_str(), 2048)?;
        // Stored as the names it lets through (a family such as phone.* is
        // expanded); none: every event.
        let events = EventFilter::parse("events", &req.events)?.names();
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        self.0
            .fetcher
            .check_url_resolved(&url)
            .await
            .map_err(|err| match err {
                FetchError::Refused(msg) => Error::invalid("webhook_url", msg),
                other => Error::invalid("webhook_url", other.to_string()),
            })?;
        let secret = sign::new_secret();
        let hook = store::webhooks::set(
            &self.0.db,
            &caller.account_id,
            &phone.id,
            url.as_str(),
            &events,
            &secret,
        )
        .await
        .map_err(Error::from)?;
        self.0.webhooks.kick();
        tracing::info!(phone_id = %phone.id, webhook_id = %hook.id, "webhook set");
        Ok(Response::new(proto::SetWebhookResponse {
            webhook: Some(webhook_proto(&hook)),
            secret,
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<proto::GetWebhookRequest>,
    ) -> Result<Response<proto::GetWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let hook = self.webhook(caller, &request.get_ref().phone_id).await?;
        Ok(Response::new(proto::GetWebhookResponse {
            webhook: Some(webhook_proto(&hook)),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<proto::DeleteWebhookRequest>,
    ) -> Result<Response<proto::DeleteWebhookResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        if !store::webhooks::delete(&self.0.db, &caller.account_id, &phone.id)
            .await
            .map_err(Error::from)?
        {
            return Err(no_webhook(&phone.id).into());
        }
        tracing::info!(phone_id = %phone.id, "webhook deleted");
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
        let hook = self.webhook(caller, &req.phone_id).await?;
        let mut rows = store::webhooks::list_attempts(
            &self.0.db,
            &hook,
            event_id,
            before,
            page_size as u64 + 1,
        )
        .await
        .map_err(Error::from)?;
        let next_page_token = if rows.len() > page_size as usize {
            rows.truncate(page_size as usize);
            rows.last().map(|r| encode_token(r.seq)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListDeliveriesResponse {
            deliveries: rows.into_iter().map(delivery_proto).collect(),
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
        let hook = self.webhook(caller, &req.phone_id).await?;
        let event = store::events::find(&self.0.db, &caller.account_id, event_id)
            .await
            .map_err(Error::from)?
            .filter(|e| e.phone_id.as_deref() == Some(hook.phone_id.as_str()))
            .ok_or_else(|| Error::NotFound(format!("event {event_id} not found")))?;
        store::webhooks::queue_redelivery(&self.0.db, &hook, &event.id)
            .await
            .map_err(Error::from)?;
        self.0.webhooks.kick();
        Ok(Response::new(proto::RedeliverEventResponse {
            event_id: event.id,
        }))
    }
}

fn webhook_proto(hook: &webhook::Model) -> proto::Webhook {
    proto::Webhook {
        phone_id: hook.phone_id.clone(),
        webhook_url: hook.url.clone(),
        events: store::webhooks::event_names(hook),
        enabled: hook.enabled,
        disabled_reason: hook.disabled_reason.clone(),
        created_at: Some(timestamp(hook.created_at)),
        failing_since: hook.failing_since.map(timestamp),
    }
}

fn delivery_proto(row: webhook_attempt::Model) -> proto::Delivery {
    proto::Delivery {
        delivery_id: row.id,
        event_id: row.event_id,
        event: row.event,
        attempt: row.attempt.max(0) as u32,
        response_status_code: row.response_status_code.max(0) as u32,
        response_body: row.response_body,
        response_duration_ms: row.response_duration_ms.clamp(0, u32::MAX as i64) as u32,
        attempted_at: Some(timestamp(row.attempted_at)),
        next_attempt_at: row.next_attempt_at.map(timestamp),
        error: row.error,
        redelivery: row.redelivery,
    }
}

/// Page tokens are opaque to callers: the last row's position, base64url.
fn encode_token(seq: i64) -> String {
    super::paging::encode(&format!("dlv:{seq}"))
}

fn decode_token(token: &str) -> Result<i64, Error> {
    super::paging::decode(token, |raw| raw.strip_prefix("dlv:")?.parse().ok())
}
