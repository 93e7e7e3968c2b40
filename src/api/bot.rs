use tonic::{Request, Response, Status};

use super::{State, not_built, validate};
use crate::{
    auth::caller,
    error::Error,
    proto::{self, BotProvider, bot_service_server::BotService},
    store::phones::PLAN_PRO,
};

pub struct BotApi(pub State);

const BOT: &str = "the AI auto-reply bot";

#[tonic::async_trait]
impl BotService for BotApi {
    async fn set_bot(
        &self,
        request: Request<proto::SetBotRequest>,
    ) -> Result<Response<proto::SetBotResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        if !matches!(req.provider(), BotProvider::Gemini | BotProvider::Openai) {
            return Err(Error::invalid("provider", "must be gemini or openai").into());
        }
        if req.api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return Err(Error::invalid("api_key", "must not be empty").into());
        }
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        if phone.plan != PLAN_PRO {
            return Err(Error::PermissionDenied(
                "AI auto-reply is available on Pro plan only".into(),
            )
            .into());
        }
        Err(not_built(BOT).into())
    }

    async fn get_bot(
        &self,
        request: Request<proto::GetBotRequest>,
    ) -> Result<Response<proto::GetBotResponse>, Status> {
        let caller = caller(&request)?;
        validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        Err(not_built(BOT).into())
    }
}
