//! BulkService: decode, call the campaign domain ([`crate::bulk`]),
//! convert.

use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    bulk::{campaign, recipients, sheet},
    error::Result,
    proto::{self, bulk_service_server::BulkService},
    store::bulks::NewBulk,
};

pub(crate) struct BulkApi(pub State);

/// Campaign ids are ours: a malformed one cannot exist.
fn page_token(token: &str) -> Result<Option<(i64, String)>> {
    if token.is_empty() {
        return Ok(None);
    }
    super::paging::decode(token, |raw| {
        let (at, id) = raw.strip_prefix("bk:")?.split_once(':')?;
        Some((at.parse().ok()?, id.to_owned()))
    })
    .map(Some)
}

/// The caller's campaign, within its token's phone scope.
async fn owned_bulk(
    engine: &crate::bulk::Engine,
    caller: &crate::auth::AuthContext,
    bulk_id: &str,
) -> crate::error::Result<crate::store::entity::bulk::Model> {
    let row = engine.owned(&caller.account_id, bulk_id).await?;
    caller.reach(&row.phone_id)?;
    Ok(row)
}

#[tonic::async_trait]
impl BulkService for BulkApi {
    async fn bulk_send(
        &self,
        request: Request<proto::BulkSendRequest>,
    ) -> Result<Response<proto::BulkSendResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let engine = &self.0.bulk;
        validate::required("phone_id", &req.phone_id)?;
        let template = recipients::template(&req.message, req.delay)?;
        let list =
            recipients::from_numbers(&req.numbers, &template, engine.settings().max_numbers)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let new = NewBulk {
            account_id: caller.account_id.clone(),
            phone_id: phone.id.clone(),
            message: req.message.clone(),
            delay_ms: req.delay.map(i64::from),
            source: "numbers",
            sheet_id: None,
        };
        let recipients::Recipients { accepted, rejected } = list;
        let count = accepted.len() as u32;
        let row = engine.create(&phone, new, accepted).await?;
        Ok(Response::new(proto::BulkSendResponse {
            bulk_id: row.id,
            accepted: count,
            rejected: rejected.into_iter().map(Into::into).collect(),
            status: proto::BulkStatus::from(row.status) as i32,
        }))
    }

    async fn bulk_send_sheet(
        &self,
        request: Request<proto::BulkSendSheetRequest>,
    ) -> Result<Response<proto::BulkSendSheetResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let engine = &self.0.bulk;
        validate::required("phone_id", &req.phone_id)?;
        let sheet_id = sheet::check_id(&req.sheet_id)?;
        let template = recipients::template(&req.message, req.delay)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let sheet = engine.read_sheet(sheet_id).await?;
        let list = recipients::from_sheet(&sheet, &template, engine.settings().max_numbers)?;
        let new = NewBulk {
            account_id: caller.account_id.clone(),
            phone_id: phone.id.clone(),
            message: req.message.clone(),
            delay_ms: req.delay.map(i64::from),
            source: "sheet",
            sheet_id: Some(sheet_id.to_owned()),
        };
        let recipients::Recipients { accepted, rejected } = list;
        let count = accepted.len() as u32;
        let row = engine.create(&phone, new, accepted).await?;
        Ok(Response::new(proto::BulkSendSheetResponse {
            bulk_id: row.id,
            accepted: count,
            rejected: rejected.into_iter().map(Into::into).collect(),
            status: proto::BulkStatus::from(row.status) as i32,
        }))
    }

    async fn get_bulk(
        &self,
        request: Request<proto::GetBulkRequest>,
    ) -> Result<Response<proto::GetBulkResponse>, Status> {
        let caller = caller(&request)?;
        let engine = &self.0.bulk;
        let row = owned_bulk(engine, caller, &request.get_ref().bulk_id).await?;
        Ok(Response::new(proto::GetBulkResponse {
            bulk: Some(engine.view(row).await?.into()),
        }))
    }

    async fn list_bulks(
        &self,
        request: Request<proto::ListBulksRequest>,
    ) -> Result<Response<proto::ListBulksResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let phone_id = if req.phone_id.is_empty() {
            caller.all_phones("phone_id")?;
            None
        } else {
            Some(
                validate::owned_phone(&self.0, caller, &req.phone_id)
                    .await?
                    .id,
            )
        };
        let size = super::paging::size(req.page_size);
        let after = page_token(&req.page_token)?;
        let mut views = self
            .0
            .bulk
            .list(
                &caller.account_id,
                phone_id.as_deref(),
                size as u64 + 1,
                after,
            )
            .await?;
        let next_page_token = if views.len() > size as usize {
            views.truncate(size as usize);
            views
                .last()
                .map(|v| {
                    let c = &v.campaign;
                    super::paging::encode(&format!("bk:{}:{}", c.created_at, c.id))
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListBulksResponse {
            bulks: views.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn pause_bulk(
        &self,
        request: Request<proto::PauseBulkRequest>,
    ) -> Result<Response<proto::PauseBulkResponse>, Status> {
        let caller = caller(&request)?;
        let engine = &self.0.bulk;
        let row = owned_bulk(engine, caller, &request.get_ref().bulk_id).await?;
        Ok(Response::new(proto::PauseBulkResponse {
            bulk: Some(engine.pause(row).await?.into()),
        }))
    }

    async fn resume_bulk(
        &self,
        request: Request<proto::ResumeBulkRequest>,
    ) -> Result<Response<proto::ResumeBulkResponse>, Status> {
        let caller = caller(&request)?;
        let engine = &self.0.bulk;
        let row = owned_bulk(engine, caller, &request.get_ref().bulk_id).await?;
        Ok(Response::new(proto::ResumeBulkResponse {
            bulk: Some(engine.resume(row).await?.into()),
        }))
    }

    async fn cancel_bulk(
        &self,
        request: Request<proto::CancelBulkRequest>,
    ) -> Result<Response<proto::CancelBulkResponse>, Status> {
        let caller = caller(&request)?;
        let engine = &self.0.bulk;
        let row = owned_bulk(engine, caller, &request.get_ref().bulk_id).await?;
        Ok(Response::new(proto::CancelBulkResponse {
            bulk: Some(engine.cancel(row).await?.into()),
        }))
    }

    async fn list_bulk_recipients(
        &self,
        request: Request<proto::ListBulkRecipientsRequest>,
    ) -> Result<Response<proto::ListBulkRecipientsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let engine = &self.0.bulk;
        let row = owned_bulk(engine, caller, &req.bulk_id).await?;
        let filter = campaign::recipient_filter(&req.status)?;
        let size = super::paging::size(req.page_size);
        let after = if req.page_token.is_empty() {
            None
        } else {
            Some(super::paging::decode(&req.page_token, |raw| {
                raw.strip_prefix("rcp:")?.parse::<i32>().ok()
            })?)
        };
        let mut rows = engine
            .recipients(&row, filter, after, size as u64 + 1)
            .await?;
        let next_page_token = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| super::paging::encode(&format!("rcp:{}", r.position)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(proto::ListBulkRecipientsResponse {
            recipients: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}
