use std::pin::Pin;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::{State, convert, validate};
use crate::{
    auth::caller,
    proto::{self, phone_service_server::PhoneService},
    sessions::PairUpdate,
};

pub(crate) struct PhoneApi(pub State);

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl PhoneService for PhoneApi {
    async fn create_phone(
        &self,
        request: Request<proto::CreatePhoneRequest>,
    ) -> Result<Response<proto::CreatePhoneResponse>, Status> {
        let caller = caller(&request)?;
        if caller.phones.is_some() {
            return Err(crate::error::Error::PermissionDenied(
                "this token is limited to some phones: creating a phone takes a token without a phone scope".into(),
            )
            .into());
        }
        let phone = self
            .0
            .phones
            .create(&caller.account_id, &request.get_ref().name)
            .await?;
        Ok(Response::new(proto::CreatePhoneResponse {
            phone: Some((&phone).into()),
        }))
    }

    async fn list_phones(
        &self,
        request: Request<proto::ListPhonesRequest>,
    ) -> Result<Response<proto::ListPhonesResponse>, Status> {
        let caller = caller(&request)?;
        let phones = self.0.phones.list(&caller.account_id).await?;
        Ok(Response::new(proto::ListPhonesResponse {
            phones: phones
                .iter()
                .filter(|p| caller.covers(&p.id))
                .map(Into::into)
                .collect(),
        }))
    }

    async fn get_phone(
        &self,
        request: Request<proto::GetPhoneRequest>,
    ) -> Result<Response<proto::GetPhoneResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let usage = crate::plan::trial_usage(&self.0.db, &phone).await?;
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(proto::GetPhoneResponse {
            phone: Some((&phone).into()),
            created_at: Some(convert::timestamp(phone.created_at)),
            trial_recipients_used: usage.map(|(used, _)| count(used)),
            trial_recipients_limit: usage.map(|(_, limit)| count(limit)),
        }))
    }

    async fn get_phone_status(
        &self,
        request: Request<proto::GetPhoneStatusRequest>,
    ) -> Result<Response<proto::GetPhoneStatusResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let live = self.0.sessions.live(&phone.id);
        Ok(Response::new(proto::GetPhoneStatusResponse {
            phone_id: phone.id.clone(),
            status: proto::PhoneStatus::from(phone.status) as i32,
            // The multi-device protocol carries no battery level.
            battery: None,
            last_seen: phone.last_seen.map(convert::timestamp),
            reason: phone.reason.clone(),
            ban_expires_at: phone.ban_expires_at.map(convert::timestamp),
            push_name: live.as_ref().map(|l| l.push_name.clone()),
            connected_since: live
                .as_ref()
                .and_then(|l| l.connected_since)
                .map(convert::timestamp),
            reconnects: live.map(|l| l.reconnects).unwrap_or_default(),
        }))
    }

    type PairPhoneStream = Stream_<proto::PairPhoneResponse>;

    async fn pair_phone(
        &self,
        request: Request<proto::PairPhoneRequest>,
    ) -> Result<Response<Self::PairPhoneStream>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let (updates, first) = self.0.sessions.pair(&phone);
        let phone_id = phone.id.clone();
        let rest = tokio_stream::wrappers::BroadcastStream::new(updates)
            .filter_map(|update| std::future::ready(update.ok()));
        let updates = futures::stream::iter(first).chain(rest).boxed();
        // Yield updates until (and including) the one that ends pairing.
        let stream = futures::stream::unfold((updates, false), |(mut updates, ended)| async move {
            if ended {
                return None;
            }
            let update = updates.next().await?;
            let ends = !matches!(update, PairUpdate::Qr { .. } | PairUpdate::Paired { .. });
            Some((update, (updates, ends)))
        })
        .map(move |update| Ok(proto::PairPhoneResponse::from((phone_id.as_str(), update))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn request_pair_code(
        &self,
        request: Request<proto::RequestPairCodeRequest>,
    ) -> Result<Response<proto::RequestPairCodeResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let number = validate::phone_number("number", &req.number)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let code = self.0.phones.pair_code(&phone, &number).await?;
        Ok(Response::new(proto::RequestPairCodeResponse {
            phone_id: phone.id,
            code,
        }))
    }

    async fn logout_phone(
        &self,
        request: Request<proto::LogoutPhoneRequest>,
    ) -> Result<Response<proto::LogoutPhoneResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        self.0.sessions.logout(&phone).await?;
        Ok(Response::new(proto::LogoutPhoneResponse {
            phone_id: phone.id,
            status: proto::PhoneStatus::LoggedOut as i32,
        }))
    }

    async fn delete_phone(
        &self,
        request: Request<proto::DeletePhoneRequest>,
    ) -> Result<Response<proto::DeletePhoneResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        self.0.phones.delete(&phone).await?;
        Ok(Response::new(proto::DeletePhoneResponse {
            phone_id: phone.id,
        }))
    }

    async fn get_call_settings(
        &self,
        request: Request<proto::GetCallSettingsRequest>,
    ) -> Result<Response<proto::GetCallSettingsResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Ok(Response::new(proto::GetCallSettingsResponse {
            settings: Some(call_settings(phone)),
        }))
    }

    async fn set_call_settings(
        &self,
        request: Request<proto::SetCallSettingsRequest>,
    ) -> Result<Response<proto::SetCallSettingsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let reply = req.reply.trim();
        validate::max_len("reply", reply, crate::rules::CALL_REPLY_MAX)?;
        if !reply.is_empty() && !req.reject_calls {
            return Err(crate::error::Error::invalid(
                "reply",
                "is sent to callers whose call was declined: set reject_calls too",
            )
            .into());
        }
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let reply = Some(reply.to_owned()).filter(|r| !r.is_empty());
        let phone = crate::store::phones::set_calls(
            &self.0.db,
            &phone.account_id,
            &phone.id,
            req.reject_calls,
            reply,
        )
        .await
        .map_err(crate::error::Error::from)?
        .ok_or_else(|| crate::error::Error::NotFound(format!("phone {} not found", phone.id)))?;
        // The API reads phones through a cache: the next read sees this.
        self.0.sessions.phones().invalidate(&phone.id);
        Ok(Response::new(proto::SetCallSettingsResponse {
            settings: Some(call_settings(phone)),
        }))
    }
}

fn call_settings(phone: crate::store::entity::phone::Model) -> proto::CallSettings {
    proto::CallSettings {
        phone_id: phone.id,
        reject_calls: phone.reject_calls,
        reply: phone.call_reply,
    }
}
