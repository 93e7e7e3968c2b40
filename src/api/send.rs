use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::caller,
    error::{Error, Result},
    proto::{self, send_service_server::SendService},
};

pub struct SendApi(pub State);

const SENDING: &str = "sending messages (the WhatsApp session layer and outbox)";

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
        recipient(&req.phone_id, &req.to)?;
        validate::required("message", &req.message)?;
        validate::max_len("message", &req.message, 65_536)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
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
        recipient(&req.phone_id, &req.to)?;
        check_lat_lng(req.lat, req.lng)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(SENDING).into())
    }
}
