//! ContactService: which numbers are on WhatsApp, what a contact shows, and
//! the phone's blocklist ([`crate::contacts`]).

use tonic::{Request, Response, Status};

use super::{State, convert::timestamp, validate};
use crate::{
    auth::caller,
    contacts::{Check, ContactInfo, MAX_NUMBERS},
    error::Error,
    proto::{self, contact_service_server::ContactService},
};

pub(crate) struct ContactApi(pub State);

fn checked(check: Check) -> proto::NumberCheck {
    proto::NumberCheck {
        number: check.number,
        on_whatsapp: check.on_whatsapp,
        jid: check.jid,
        business: check.business,
        verified_name: check.verified_name,
        checked_at: Some(timestamp(check.checked_at)),
    }
}

fn shown(info: ContactInfo) -> proto::Contact {
    proto::Contact {
        number: info.number,
        jid: info.jid,
        on_whatsapp: info.on_whatsapp,
        push_name: info.push_name,
        about: info.about,
        picture_url: info.picture_url,
        picture_id: info.picture_id,
        business: info.business,
        verified_name: info.verified_name,
        business_profile: info.business_profile.map(|b| proto::BusinessProfile {
            description: b.description,
            email: b.email,
            websites: b.website,
            address: b.address,
            categories: b.categories.into_iter().map(|c| c.name).collect(),
        }),
        blocked: info.blocked,
    }
}

#[tonic::async_trait]
impl ContactService for ContactApi {
    async fn check_numbers(
        &self,
        request: Request<proto::CheckNumbersRequest>,
    ) -> Result<Response<proto::CheckNumbersResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        if req.numbers.is_empty() {
            return Err(Error::required("numbers").into());
        }
        if req.numbers.len() > MAX_NUMBERS {
            return Err(Error::invalid(
                "numbers",
                format!(
                    "holds {} numbers; one check takes at most {MAX_NUMBERS}",
                    req.numbers.len()
                ),
            )
            .into());
        }
        let numbers = req
            .numbers
            .iter()
            .enumerate()
            .map(|(i, n)| validate::phone_number(&format!("numbers[{i}]"), n))
            .collect::<crate::error::Result<Vec<_>>>()?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let results = self.0.contacts.check(&phone, &numbers).await?;
        let on_whatsapp = results.iter().filter(|c| c.on_whatsapp).count();
        Ok(Response::new(proto::CheckNumbersResponse {
            results: results.into_iter().map(checked).collect(),
            on_whatsapp: u32::try_from(on_whatsapp).unwrap_or(u32::MAX),
        }))
    }

    async fn get_contact(
        &self,
        request: Request<proto::GetContactRequest>,
    ) -> Result<Response<proto::GetContactResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let number = validate::phone_number("number", &req.number)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let info = self.0.contacts.get(&phone, &number).await?;
        Ok(Response::new(proto::GetContactResponse {
            contact: Some(shown(info)),
        }))
    }

    async fn block_contact(
        &self,
        request: Request<proto::BlockContactRequest>,
    ) -> Result<Response<proto::BlockContactResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let number = validate::phone_number("number", &req.number)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        self.0.contacts.set_blocked(&phone, &number, true).await?;
        Ok(Response::new(proto::BlockContactResponse {
            number,
            blocked: true,
        }))
    }

    async fn unblock_contact(
        &self,
        request: Request<proto::UnblockContactRequest>,
    ) -> Result<Response<proto::UnblockContactResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let number = validate::phone_number("number", &req.number)?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        self.0.contacts.set_blocked(&phone, &number, false).await?;
        Ok(Response::new(proto::UnblockContactResponse {
            number,
            blocked: false,
        }))
    }

    async fn list_blocked(
        &self,
        request: Request<proto::ListBlockedRequest>,
    ) -> Result<Response<proto::ListBlockedResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let blocked = self.0.contacts.blocked(&phone).await?;
        Ok(Response::new(proto::ListBlockedResponse {
            blocked: blocked
                .into_iter()
                .map(|(number, at)| proto::BlockedContact {
                    number,
                    blocked_at: at.map(|s| timestamp(s as i64 * 1000)),
                })
                .collect(),
        }))
    }
}
