use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::caller,
    error::{Error, Result},
    proto::{self, bulk_service_server::BulkService},
};

pub struct BulkApi(pub State);

const CAMPAIGNS: &str = "bulk campaigns (the campaign engine)";

/// Most numbers one campaign accepts.
const MAX_NUMBERS: usize = 100_000;

fn check_message_and_delay(message: &str, delay: Option<u32>) -> Result<()> {
    validate::required("message", message)?;
    validate::max_len("message", message, 65_536)?;
    if delay.is_some_and(|d| d > 3_600_000) {
        return Err(Error::invalid(
            "delay",
            "must be at most 3600000 ms (one hour)",
        ));
    }
    Ok(())
}

fn bulk_id(id: &str) -> Result<&str> {
    validate::required("bulk_id", id)
}

#[tonic::async_trait]
impl BulkService for BulkApi {
    async fn bulk_send(
        &self,
        request: Request<proto::BulkSendRequest>,
    ) -> Result<Response<proto::BulkSendResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        if req.numbers.is_empty() {
            return Err(Error::required("numbers").into());
        }
        if req.numbers.len() > MAX_NUMBERS {
            return Err(Error::invalid(
                "numbers",
                format!(
                    "at most {MAX_NUMBERS} numbers per campaign, got {}",
                    req.numbers.len()
                ),
            )
            .into());
        }
        check_message_and_delay(&req.message, req.delay)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built(CAMPAIGNS).into())
    }

    async fn bulk_send_sheet(
        &self,
        request: Request<proto::BulkSendSheetRequest>,
    ) -> Result<Response<proto::BulkSendSheetResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let sheet_id = validate::required("sheet_id", &req.sheet_id)?;
        if !sheet_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::invalid("sheet_id", "must be the ID from the sheet's URL").into());
        }
        check_message_and_delay(&req.message, req.delay)?;
        validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        Err(not_built("Google Sheets campaigns (the campaign engine)").into())
    }

    async fn get_bulk(
        &self,
        request: Request<proto::GetBulkRequest>,
    ) -> Result<Response<proto::GetBulkResponse>, Status> {
        caller(&request)?;
        bulk_id(&request.get_ref().bulk_id)?;
        Err(not_built(CAMPAIGNS).into())
    }

    async fn list_bulks(
        &self,
        request: Request<proto::ListBulksRequest>,
    ) -> Result<Response<proto::ListBulksResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        if !req.phone_id.is_empty() {
            validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        }
        Err(not_built(CAMPAIGNS).into())
    }

    async fn pause_bulk(
        &self,
        request: Request<proto::PauseBulkRequest>,
    ) -> Result<Response<proto::PauseBulkResponse>, Status> {
        caller(&request)?;
        bulk_id(&request.get_ref().bulk_id)?;
        Err(not_built(CAMPAIGNS).into())
    }

    async fn resume_bulk(
        &self,
        request: Request<proto::ResumeBulkRequest>,
    ) -> Result<Response<proto::ResumeBulkResponse>, Status> {
        caller(&request)?;
        bulk_id(&request.get_ref().bulk_id)?;
        Err(not_built(CAMPAIGNS).into())
    }

    async fn cancel_bulk(
        &self,
        request: Request<proto::CancelBulkRequest>,
    ) -> Result<Response<proto::CancelBulkResponse>, Status> {
        caller(&request)?;
        bulk_id(&request.get_ref().bulk_id)?;
        Err(not_built(CAMPAIGNS).into())
    }
}
