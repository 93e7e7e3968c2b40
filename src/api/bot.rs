use tonic::{Request, Response, Status};

use super::{State, convert::timestamp, validate};
use crate::{
    auth::{AuthContext, caller},
    error::{Error, Result},
    proto::{self, BotProvider, bot_service_server::BotService},
    store::{
        self,
        bots::{PROVIDER_GEMINI, PROVIDER_OPENAI},
        entity::{bot, phone},
    },
};

pub struct BotApi(pub State);

impl BotApi {
    /// The caller's Pro phone.
    async fn pro_phone(&self, caller: &AuthContext, phone_id: &str) -> Result<phone::Model> {
        let phone = validate::owned_phone(&self.0, caller, phone_id).await?;
        crate::plan::require_ai(&phone)?;
        Ok(phone)
    }
}

fn provider_name(provider: BotProvider) -> Option<&'static str> {
    match provider {
        BotProvider::Gemini => Some(PROVIDER_GEMINI),
        BotProvider::Openai => Some(PROVIDER_OPENAI),
        BotProvider::Unspecified => None,
    }
}

/// A model ID as providers spell them (`gemini-2.5-flash`, `gpt-4o-mini`,
/// `ft:gpt-4o-mini:org::id`): printable, no spaces.
fn check_model(model: &str) -> Result<()> {
    validate::max_len("model", model, 200)?;
    if model
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        return Err(Error::invalid(
            "model",
            "must be a model ID such as gemini-2.5-flash or gpt-4o-mini",
        ));
    }
    Ok(())
}

fn shown(b: &bot::Model) -> proto::Bot {
    let provider = match b.provider.as_str() {
        PROVIDER_OPENAI => BotProvider::Openai,
        PROVIDER_GEMINI => BotProvider::Gemini,
        _ => BotProvider::Unspecified,
    };
    proto::Bot {
        phone_id: b.phone_id.clone(),
        provider: provider as i32,
        model: b.model.clone(),
        api_key: b.api_key_hint.clone(),
        system_prompt: b.system_prompt.clone(),
        is_enabled: b.enabled,
        last_error: b.last_error.clone(),
        last_reply_at: b.last_reply_at.map(timestamp),
        last_error_at: b.last_error_at.map(timestamp),
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
        let provider = provider_name(req.provider())
            .ok_or_else(|| Error::invalid("provider", "must be gemini or openai"))?;
        let api_key = req.api_key.as_deref().map(str::trim);
        if api_key.is_some_and(str::is_empty) {
            return Err(Error::invalid("api_key", "must not be empty").into());
        }
        if let Some(key) = api_key {
            validate::max_len("api_key", key, 1000)?;
            if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid("api_key", "must not contain spaces").into());
            }
        }
        let model = req
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        if let Some(model) = model {
            check_model(model)?;
        }
        if let Some(prompt) = &req.system_prompt {
            validate::max_len("system_prompt", prompt, 20_000)?;
        }
        let phone = self.pro_phone(caller, &req.phone_id).await?;
        let db = &self.0.db;
        let existing = store::bots::find_for_phone(db, &caller.account_id, &phone.id)
            .await
            .map_err(Error::from)?;
        if existing.is_none() && api_key.is_none() {
            return Err(Error::invalid(
                "api_key",
                "is required the first time a phone's bot is set",
            )
            .into());
        }
        let bot_state = &self.0.bot;
        let model = match (model, &existing) {
            (Some(model), _) => model.to_owned(),
            (None, Some(old)) if old.provider == provider => old.model.clone(),
            (None, _) => bot_state.settings.default_model(provider).to_owned(),
        };
        let config = store::bots::Config {
            provider: provider.to_owned(),
            model,
            api_key_enc: api_key.map(|key| {
                (
                    bot_state.keys.seal(&phone.id, key),
                    crate::bot::crypto::mask(key),
                )
            }),
            system_prompt: req
                .system_prompt
                .clone()
                .or_else(|| existing.as_ref().map(|b| b.system_prompt.clone()))
                .unwrap_or_default(),
            enabled: req
                .is_enabled
                .or(existing.as_ref().map(|b| b.enabled))
                .unwrap_or(true),
        };
        let saved = store::bots::set(db, &caller.account_id, &phone.id, config)
            .await
            .map_err(Error::from)?;
        tracing::info!(phone_id = %phone.id, provider, model = %saved.model, enabled = saved.enabled, "bot set");
        bot_state.kick.kick();
        Ok(Response::new(proto::SetBotResponse {
            bot: Some(shown(&saved)),
        }))
    }

    async fn get_bot(
        &self,
        request: Request<proto::GetBotRequest>,
    ) -> Result<Response<proto::GetBotResponse>, Status> {
        let caller = caller(&request)?;
        let phone = self.pro_phone(caller, &request.get_ref().phone_id).await?;
        let bot = store::bots::find_for_phone(&self.0.db, &caller.account_id, &phone.id)
            .await
            .map_err(Error::from)?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "phone {} has no bot; set one with POST /api/bot/set",
                    phone.id
                ))
            })?;
        Ok(Response::new(proto::GetBotResponse {
            bot: Some(shown(&bot)),
        }))
    }
}
