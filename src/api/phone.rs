use std::pin::Pin;

use futures::Stream;
use sea_orm::ModelTrait;
use tonic::{Request, Response, Status};

use super::{State, convert, not_built, validate};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, phone_service_server::PhoneService},
    store,
};

pub struct PhoneApi(pub State);

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl PhoneService for PhoneApi {
    async fn create_phone(
        &self,
        request: Request<proto::CreatePhoneRequest>,
    ) -> Result<Response<proto::CreatePhoneResponse>, Status> {
        let caller = caller(&request)?;
        let name = validate::required("name", &request.get_ref().name)?;
        validate::max_len("name", name, 100)?;
        let phone = store::phones::create(&self.0.db, &caller.account_id, name)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(proto::CreatePhoneResponse {
            phone: Some((&phone).into()),
        }))
    }

    async fn list_phones(
        &self,
        request: Request<proto::ListPhonesRequest>,
    ) -> Result<Response<proto::ListPhonesResponse>, Status> {
        let caller = caller(&request)?;
        let phones = store::phones::list_for_account(&self.0.db, &caller.account_id)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(proto::ListPhonesResponse {
            phones: phones.iter().map(Into::into).collect(),
        }))
    }

    async fn get_phone(
        &self,
        request: Request<proto::GetPhoneRequest>,
    ) -> Result<Response<proto::GetPhoneResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Ok(Response::new(proto::GetPhoneResponse {
            phone: Some((&phone).into()),
            created_at: Some(convert::timestamp(phone.created_at)),
        }))
    }

    async fn get_phone_status(
        &self,
        request: Request<proto::GetPhoneStatusRequest>,
    ) -> Result<Response<proto::GetPhoneStatusResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Ok(Response::new(proto::GetPhoneStatusResponse {
            phone_id: phone.id.clone(),
            status: convert::phone_status(&phone.status) as i32,
            // The multi-device protocol carries no battery level.
            battery: None,
            last_seen: phone.last_seen.map(convert::timestamp),
            reason: phone.reason.clone(),
            ban_expires_at: phone.ban_expires_at.map(convert::timestamp),
        }))
    }

    type PairPhoneStream = Stream_<proto::PairPhoneResponse>;

    async fn pair_phone(
        &self,
        request: Request<proto::PairPhoneRequest>,
    ) -> Result<Response<Self::PairPhoneStream>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built("QR pairing (the WhatsApp session layer)").into())
    }

    async fn request_pair_code(
        &self,
        request: Request<proto::RequestPairCodeRequest>,
    ) -> Result<Response<proto::RequestPairCodeResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        validate::phone_number("number", &req.number)?;
        validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built("pairing by code (the WhatsApp session layer)").into())
    }

    async fn logout_phone(
        &self,
        request: Request<proto::LogoutPhoneRequest>,
    ) -> Result<Response<proto::LogoutPhoneResponse>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built("logout (the WhatsApp session layer)").into())
    }

    async fn delete_phone(
        &self,
        request: Request<proto::DeletePhoneRequest>,
    ) -> Result<Response<proto::DeletePhoneResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let phone_id = phone.id.clone();
        // No session can exist yet (no pairing in this version), so removing
        // the row removes everything the phone owns.
        phone.delete(&self.0.db).await.map_err(Error::from)?;
        Ok(Response::new(proto::DeletePhoneResponse { phone_id }))
    }
}
