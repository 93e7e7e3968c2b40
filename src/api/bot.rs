//! BotService: decode, call [`crate::bot::setup::Bots`], convert.

use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::caller,
    bot::setup::BotChange,
    proto::{self, BotProvider, bot_service_server::BotService},
    store::bots::{PROVIDER_GEMINI, PROVIDER_OPENAI},
};

pub(crate) struct BotApi(pub State);

fn provider_name(provider: BotProvider) -> Option<&'static str> {
    match provider {
        BotProvider::Gemini => Some(PROVIDER_GEMINI),
        BotProvider::Openai => Some(PROVIDER_OPENAI),
        BotProvider::Unspecified => None,
    }
}

#[tonic::async_trait]
impl BotService for BotApi {
    async fn set_bot(
        &self,
        request: Request<proto::SetBotRequest>,
    ) -> Result<Response<proto::SetBotResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let change = BotChange::parse(
            provider_name(req.provider()),
            req.api_key.as_deref(),
            req.model.as_deref(),
            req.system_prompt.as_deref(),
            req.is_enabled,
        )?;
        let phone = validate::owned_phone(&self.0, caller, &req.phone_id).await?;
        let saved = self.0.bot.set(&phone, change).await?;
        Ok(Response::new(proto::SetBotResponse {
            bot: Some((&saved).into()),
        }))
    }

    async fn get_bot(
        &self,
        request: Request<proto::GetBotRequest>,
    ) -> Result<Response<proto::GetBotResponse>, Status> {
        let caller = caller(&request)?;
        let phone = validate::owned_phone(&self.0, caller, &request.get_ref().phone_id).await?;
        let bot = self.0.bot.get(&phone).await?;
        Ok(Response::new(proto::GetBotResponse {
            bot: Some((&bot).into()),
        }))
    }
}
