use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::{AuthContext, caller},
    error::{Error, Result},
    proto::{self, MessageStatus, send_service_server::SendService},
    store::{self, messages::NewOutbound, phones::PLAN_PRO},
};

pub struct SendApi(pub State);

const SENDING: &str = "sending media (fetching, checking and uploading the file)";

/// Unique recipients a trial phone may reach, in total.
pub const TRIAL_RECIPIENTS: u64 = 30;

/// What a send answers, for every kind.
struct Sent {
    message_id: String,
    to: String,
    status: MessageStatus,
}

impl SendApi {
    /// The path every send shares once its fields are valid: a connected
    /// phone, the plan's recipient cap, idempotency, then the durable
    /// outbox and the hand-over to the phone's session.
    async fn send<T>(
        &self,
        request: &Request<T>,
        caller: &AuthContext,
        phone_id: &str,
        to: String,
        mut outbound: NewOutbound,
    ) -> Result<Sent> {
        let phone = validate::connected_phone(&self.0, caller, phone_id).await?;
        let db = &self.0.db;
        let key = idempotency_key(request)?;
        if let Some(key) = &key
            && let Some(first) =
                store::messages::find_by_idempotency(db, &caller.account_id, key).await?
        {
            return Ok(sent(first));
        }
        if phone.plan != PLAN_PRO
            && !store::messages::has_reached(db, &phone.id, &to).await?
            && store::messages::recipient_count(db, &phone.id).await? >= TRIAL_RECIPIENTS
        {
            return Err(Error::PermissionDenied(format!(
                "trial phones reach at most {TRIAL_RECIPIENTS} unique recipients; upgrade to Pro to message {to}"
            )));
        }
        outbound.account_id = caller.account_id.clone();
        outbound.phone_id = phone.id.clone();
        outbound.peer = to;
        outbound.idempotency_key = key.clone();
        let row = match store::messages::insert_outbound(db, outbound).await {
            Ok(row) => row,
            // The same key raced in from a concurrent retry: answer with the first.
            Err(err) => match &key {
                Some(key) => store::messages::find_by_idempotency(db, &caller.account_id, key)
                    .await?
                    .ok_or(Error::from(err))?,
                None => return Err(err.into()),
            },
        };
        let id = row.id.clone();
        let after = self.0.sessions.send(&phone.id, &id).await?.unwrap_or(row);
        if after.status == "failed" {
            let reason = after.reason.as_deref().unwrap_or("unknown reason");
            if reason.contains("not on WhatsApp") {
                return Err(Error::invalid("to", reason));
            }
            return Err(Error::Internal(anyhow::anyhow!(
                "message {} to {} failed: {reason}",
                after.wa_id,
                after.peer
            )));
        }
        Ok(sent(after))
    }
}

fn sent(row: store::entity::message::Model) -> Sent {
    Sent {
        message_id: row.wa_id,
        to: row.peer,
        status: MessageStatus::from_str_name(&format!(
            "MESSAGE_STATUS_{}",
            row.status.to_ascii_uppercase()
        ))
        .unwrap_or(MessageStatus::Unspecified),
    }
}

/// The `Idempotency-Key` header (gRPC metadata `idempotency-key`).
fn idempotency_key<T>(request: &Request<T>) -> Result<Option<String>> {
    let Some(value) = request.metadata().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Error::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(Error::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The fields every send shares; the normalized recipient.
fn recipient(phone_id: &str, to: &str) -> Result<String> {
    validate::required("phone_id", phone_id)?;
    validate::phone_number("to", to)
}

fn check_lat_lng(lat: Option<f64>, lng: Option<f64>) -> Result<()> {
    let lat = lat.ok_or_else(|| Error::required("lat"))?;
    let lng = lng.ok_or_else(|| Error::required("lng"))?;
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(Error::invalid("lat", "must be between -90 and 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(Error::invalid("lng", "must be between -180 and 180"));
    }
    Ok(())
}

#[tonic::async_trait]
impl SendService for SendApi {
    async fn send_text(
        &self,
        request: Request<proto::SendTextRequest>,
    ) -> Result<Response<proto::SendTextResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        validate::required("message", &req.message)?;
        validate::max_len("message", &req.message, 65_536)?;
        let outbound = NewOutbound {
            kind: "text".into(),
            text: Some(req.message.clone()),
            ..Default::default()
        };
        let sent = self
            .send(&request, caller, &req.phone_id, to, outbound)
            .await?;
        Ok(Response::new(proto::SendTextResponse {
            message_id: sent.message_id,
            to: sent.to,
            status: sent.status as i32,
        }))
    }

    async fn send_image(
        &self,
        request: Request<proto::SendImageRequest>,
    ) -> Result<Response<proto::SendImageResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        recipient(&req.phone_id, &req.to)?;
        validate::http_url("url", &req.url)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
    }

    async fn send_video(
        &self,
        request: Request<proto::SendVideoRequest>,
    ) -> Result<Response<proto::SendVideoResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        recipient(&req.phone_id, &req.to)?;
        validate::http_url("url", &req.url)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
    }

    async fn send_document(
        &self,
        request: Request<proto::SendDocumentRequest>,
    ) -> Result<Response<proto::SendDocumentResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        recipient(&req.phone_id, &req.to)?;
        validate::http_url("url", &req.url)?;
        validate::max_len("filename", &req.filename, 255)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
    }

    async fn send_audio(
        &self,
        request: Request<proto::SendAudioRequest>,
    ) -> Result<Response<proto::SendAudioResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        recipient(&req.phone_id, &req.to)?;
        validate::http_url("url", &req.url)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
    }

    async fn send_location(
        &self,
        request: Request<proto::SendLocationRequest>,
    ) -> Result<Response<proto::SendLocationResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        check_lat_lng(req.lat, req.lng)?;
        validate::max_len("name", &req.name, 1000)?;
        let outbound = NewOutbound {
            kind: "location".into(),
            lat: req.lat,
            lng: req.lng,
            location_name: Some(req.name.clone()).filter(|n| !n.is_empty()),
            ..Default::default()
        };
        let sent = self
            .send(&request, caller, &req.phone_id, to, outbound)
            .await?;
        Ok(Response::new(proto::SendLocationResponse {
            message_id: sent.message_id,
            to: sent.to,
            status: sent.status as i32,
        }))
    }
}
